/*
 * interactions.c
 *		The glue's one reader of interaction tables (see interactions.h).
 *
 * The query does the relational work: NULL filtering, summing duplicate
 * (user, item) rows, and numbering ids densely with dense_rank(), all in one
 * statement and so under one snapshot.  C only copies the result into flat
 * arrays.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "interactions.h"
#include "irec.h"

#define FETCH_BATCH 10000

/* Bytes per interaction the loader and the CSR copies need, for estimates. */
#define BYTES_PER_INTERACTION 40.0

static Oid
check_column(Oid relid, const char *column, const char *role, bool is_weight)
{
	AttrNumber	attnum;
	Oid			type;

	if (column == NULL || column[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s column name must not be empty", role),
				 errhint("Pass the name of a column of the interactions table, or leave the argument out for the default.")));
	attnum = get_attnum(relid, column);
	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation %s does not exist",
						column, get_rel_name(relid)),
				 errhint("Name the %s column with the %s_column argument.", role, role)));
	type = get_atttype(relid, attnum);
	if (is_weight)
	{
		if (type != INT2OID && type != INT4OID && type != INT8OID &&
			type != FLOAT4OID && type != FLOAT8OID && type != NUMERICOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("weight column \"%s\" has type %s, not a number",
							column, format_type_be(type)),
					 errhint("Use a smallint, integer, bigint, real, double precision or numeric column.")));
	}
	else if (type != INT4OID && type != INT8OID && type != TEXTOID &&
			 type != VARCHAROID && type != UUIDOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s column \"%s\" has type %s", role, column, format_type_be(type)),
				 errhint("Id columns must be integer, bigint, text or uuid; cast other types in a view.")));
	return type == VARCHAROID ? TEXTOID : type;
}

void
interactions_check_source(const InteractionSource *source, Oid *user_type,
						  Oid *item_type)
{
	char		kind = get_rel_relkind(source->relid);

	if (kind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source->relid),
				 errhint("Pass an existing table, view or materialized view.")));
	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE &&
		kind != RELKIND_VIEW && kind != RELKIND_MATVIEW &&
		kind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table, view or materialized view",
						get_rel_name(source->relid)),
				 errhint("Train from a relation that holds one row per interaction.")));
	*user_type = check_column(source->relid, source->user_column, "user", false);
	*item_type = check_column(source->relid, source->item_column, "item", false);
	if (source->weight_column)
		(void) check_column(source->relid, source->weight_column, "weight", true);
	if (strcmp(source->user_column, source->item_column) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user and item columns must differ"),
				 errhint("Name two different columns for users and items.")));
}

static char *
quoted_relation(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Run a one-row query and return its first column as int64. */
static void
count_rows(const InteractionSource *source, const char *relation,
		   int64 *rows, int64 *skipped)
{
	StringInfoData sql;
	bool		isnull;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE %s IS NULL OR %s IS NULL",
					 quote_identifier(source->user_column),
					 quote_identifier(source->item_column));
	if (source->weight_column)
		appendStringInfo(&sql, " OR %s IS NULL", quote_identifier(source->weight_column));
	appendStringInfo(&sql, ") FROM %s", relation);
	if (SPI_execute(sql.data, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not count the rows of %s", relation);
	*rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*skipped = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_freetuptable(SPI_tuptable);
}

/* ERROR naming the first row whose weight is negative, NaN or infinite. */
static void
check_weights(const InteractionSource *source, const char *relation)
{
	StringInfoData sql;
	const char *u = quote_identifier(source->user_column);
	const char *i = quote_identifier(source->item_column);
	const char *w = quote_identifier(source->weight_column);

	initStringInfo(&sql);
	/* NaN compares greater than every number in PostgreSQL, so this catches it */
	appendStringInfo(&sql,
					 "SELECT %s::text, %s::text, %s::text FROM %s "
					 "WHERE %s IS NOT NULL AND %s IS NOT NULL AND %s IS NOT NULL "
					 "AND NOT (%s::float8 >= 0 AND %s::float8 < 'Infinity'::float8) LIMIT 1",
					 u, i, w, relation, u, i, w, w, w);
	if (SPI_execute(sql.data, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not check the weights of %s", relation);
	if (SPI_processed > 0)
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid weight %s for user %s and item %s",
						SPI_getvalue(row, desc, 3), SPI_getvalue(row, desc, 1),
						SPI_getvalue(row, desc, 2)),
				 errdetail("Weights must be finite and not negative."),
				 errhint("Filter or fix such rows, for example through a view.")));
	}
	SPI_freetuptable(SPI_tuptable);
}

static void
idmap_init(IdMap *map, Oid type, MemoryContext context)
{
	map->count = 0;
	map->type = type;
	get_typlenbyvalalign(type, &map->typlen, &map->typbyval, &map->typalign);
	map->ids = MemoryContextAllocHuge(context, sizeof(Datum) * 1024);
}

/*
 * idmap_note: record the id of dense index `index` the first time it is
 * seen.  Indices arrive in any order, so the arrays (ids and the seen flags)
 * grow by doubling to cover the largest index so far; limit bounds them.
 */
static void
idmap_note(IdMap *map, size_t *capacity, bool **seen, int64 index, Datum id,
		   size_t limit, MemoryContext context)
{
	if (index < 0 || (size_t) index >= limit)
		elog(ERROR, "dense id index %lld out of range", (long long) index);
	if ((size_t) index >= *capacity)
	{
		size_t		grown = *capacity;

		while (grown <= (size_t) index)
			grown *= 2;
		map->ids = repalloc_huge(map->ids, sizeof(Datum) * grown);
		*seen = repalloc_huge(*seen, grown);
		memset(*seen + *capacity, 0, grown - *capacity);
		*capacity = grown;
	}
	if (!(*seen)[index])
	{
		MemoryContext old = MemoryContextSwitchTo(context);

		map->ids[index] = datumCopy(id, map->typbyval, map->typlen);
		MemoryContextSwitchTo(old);
		(*seen)[index] = true;
		if ((size_t) index + 1 > map->count)
			map->count = index + 1;
	}
}

void
interactions_load(const InteractionSource *source, MemoryContext context,
				  Interactions *out)
{
	Oid			user_type;
	Oid			item_type;
	char	   *relation;
	StringInfoData sql;
	SPIPlanPtr	plan;
	Portal		portal;
	size_t		capacity;
	size_t		user_capacity = 1024;
	size_t		item_capacity = 1024;
	bool	   *user_seen;
	bool	   *item_seen;
	const char *u = quote_identifier(source->user_column);
	const char *i = quote_identifier(source->item_column);

	interactions_check_source(source, &user_type, &item_type);
	relation = quoted_relation(source->relid);
	out->source_name = MemoryContextStrdup(context, relation);

	count_rows(source, relation, &out->rows, &out->skipped_rows);
	if (out->rows - out->skipped_rows <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s has no interactions to train on", relation),
				 errdetail("It has %lld rows, %lld of them with a NULL user, item or weight.",
						   (long long) out->rows, (long long) out->skipped_rows),
				 errhint("Train from a table with at least one row whose user, item and weight are not NULL.")));
	if (source->weight_column)
		check_weights(source, relation);
	irec_check_memory((double) (out->rows - out->skipped_rows) * BYTES_PER_INTERACTION,
					  "loading the interactions");

	/* the rows that survive filtering bound pairs, users and items */
	if (out->rows - out->skipped_rows > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has more than %d interactions", relation, PG_INT32_MAX),
				 errhint("Train on a sample, or with engine => 'sql' on Citus.")));
	capacity = (size_t) (out->rows - out->skipped_rows);
	out->user_index = MemoryContextAllocHuge(context, sizeof(int32) * capacity);
	out->item_index = MemoryContextAllocHuge(context, sizeof(int32) * capacity);
	out->weight = MemoryContextAllocHuge(context, sizeof(float) * capacity);
	user_seen = MemoryContextAllocZero(context, user_capacity);
	item_seen = MemoryContextAllocZero(context, item_capacity);
	idmap_init(&out->users, user_type, context);
	idmap_init(&out->items, item_type, context);
	out->nnz = 0;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.dense_rank() OVER (ORDER BY p.u) - 1, "
					 "pg_catalog.dense_rank() OVER (ORDER BY p.i) - 1, p.w, p.u, p.i "
					 "FROM (SELECT s.%s%s AS u, s.%s%s AS i, ",
					 u, user_type == TEXTOID ? "::text" : "",
					 i, item_type == TEXTOID ? "::text" : "");
	if (source->weight_column)
		appendStringInfo(&sql, "pg_catalog.sum(s.%s::float8)", quote_identifier(source->weight_column));
	else
		appendStringInfoString(&sql, "pg_catalog.count(*)::float8");
	appendStringInfo(&sql, " AS w FROM %s s WHERE s.%s IS NOT NULL AND s.%s IS NOT NULL",
					 relation, u, i);
	if (source->weight_column)
		appendStringInfo(&sql, " AND s.%s IS NOT NULL", quote_identifier(source->weight_column));
	appendStringInfoString(&sql, " GROUP BY 1, 2) p");

	plan = SPI_prepare(sql.data, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the interaction query: %s",
			 SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_BATCH);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	row = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int64		user = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
			int64		item = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
			double		weight = DatumGetFloat8(SPI_getbinval(row, desc, 3, &isnull));

			if (out->nnz >= capacity)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("%s changed while it was being read", relation),
						 errhint("Train again, or train from a snapshot of the table.")));
			if (!isfinite(weight) || weight > FLT_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("summed weight of a (user, item) pair is out of range"),
						 errhint("Scale the weights down or aggregate them differently; repeated pairs are summed.")));
			idmap_note(&out->users, &user_capacity, &user_seen, user,
					   SPI_getbinval(row, desc, 4, &isnull), capacity, context);
			idmap_note(&out->items, &item_capacity, &item_seen, item,
					   SPI_getbinval(row, desc, 5, &isnull), capacity, context);
			out->user_index[out->nnz] = (int32) user;
			out->item_index[out->nnz] = (int32) item;
			out->weight[out->nnz] = (float) weight;
			out->nnz++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	pfree(user_seen);
	pfree(item_seen);

	if (out->items.count < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has interactions with only %zu item", relation, out->items.count),
				 errhint("A recommender needs at least two items to rank.")));
}
