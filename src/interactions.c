/*
 * interactions.c
 *		The glue's one reader of interaction tables (see interactions.h).
 *
 * Two paths with one result: NULL filtering, summing duplicate (user,
 * item) rows and numbering ids densely in ascending order, all under the
 * statement's snapshot.  A plain table with integer ids that this backend
 * may read in full is scanned straight from its heap and the relational
 * work done by radix sorts (load_directly, core/id_sort.h): about 2M rows
 * a second on bench_train.sh's data, against 0.35M through SQL.  Every
 * other source goes through one SQL statement that does it with GROUP BY
 * and dense_rank() (load_with_query).
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/acl.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "core/id_sort.h"
#include "interactions.h"
#include "irec.h"

#define FETCH_BATCH 10000

/* Bytes per interaction the loader and the CSR copies need, for estimates. */
#define BYTES_PER_INTERACTION 40.0
/*
 * Bytes per row the direct reader holds at its peak: the ids and weight as
 * read (24), the sort's keys and payloads twice over (24), the ranks (8),
 * the merged pairs (16).
 */
#define BYTES_PER_ROW_DIRECT 72.0
/* Rows between interrupt checks while reading the heap. */
#define ROWS_PER_INTERRUPT_CHECK 65536

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

Oid
interactions_check_column(Oid relid, const char *column, const char *role)
{
	return check_column(relid, column, role, false);
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

		map->ids[index] = irec_datum_copy_detoasted(id, map->typbyval, map->typlen);
		MemoryContextSwitchTo(old);
		(*seen)[index] = true;
		if ((size_t) index + 1 > map->count)
			map->count = index + 1;
	}
}

/*
 * interactions_heap_readable: whether relid is a plain table whose rows
 * this backend may read straight from the heap with the same result as a
 * SQL query: SELECT on the whole table, no row security in force, no
 * inheritance children (a SELECT reads them too) and no Citus (a
 * distributed table's rows are on the workers).
 */
bool
interactions_heap_readable(Oid relid)
{
	if (get_rel_relkind(relid) != RELKIND_RELATION)
		return false;
	if (has_subclass(relid))
		return false;
	if (OidIsValid(get_extension_oid("citus", true)))
		return false;
	/* column privileges alone: the SQL path checks them column by column */
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return false;
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	return true;
}

bool
interactions_weight_type_readable(Oid relid, const char *weight_column)
{
	Oid			weight_type;

	if (weight_column == NULL)
		return true;
	weight_type = get_atttype(relid, get_attnum(relid, weight_column));
	return weight_type == INT2OID || weight_type == INT4OID || weight_type == INT8OID ||
		weight_type == FLOAT4OID || weight_type == FLOAT8OID;
}

/*
 * can_read_directly: the heap is readable (above), the ids are integers and
 * the weight a fixed-size number.  Anything else takes the SQL path.
 */
static bool
can_read_directly(const InteractionSource *source, Oid user_type, Oid item_type)
{
	if ((user_type != INT4OID && user_type != INT8OID) ||
		(item_type != INT4OID && item_type != INT8OID))
		return false;
	return interactions_weight_type_readable(source->relid, source->weight_column) &&
		interactions_heap_readable(source->relid);
}

static int64
id_value(Datum value, Oid type)
{
	return type == INT8OID ? DatumGetInt64(value) : (int64) DatumGetInt32(value);
}

static Datum
id_datum(int64 value, Oid type)
{
	return type == INT8OID ? Int64GetDatum(value) : Int32GetDatum((int32) value);
}

double
interactions_weight_value(Datum value, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return (double) DatumGetInt16(value);
		case INT4OID:
			return (double) DatumGetInt32(value);
		case INT8OID:
			return (double) DatumGetInt64(value);
		case FLOAT4OID:
			return (double) DatumGetFloat4(value);
		default:
			return DatumGetFloat8(value);
	}
}

static char *
datum_text(Datum value, Oid type)
{
	Oid			output;
	bool		varlena;

	getTypeOutputInfo(type, &output, &varlena);
	return OidOutputFunctionCall(output, value);
}

/* ERROR for a summed weight beyond float's range (both paths). */
static void
check_summed_weight(double weight)
{
	if (!isfinite(weight) || weight > FLT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("summed weight of a (user, item) pair is out of range"),
				 errhint("Scale the weights down or aggregate them differently; repeated pairs are summed.")));
}

static void
no_interactions(const char *relation, int64 rows, int64 skipped)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("%s has no interactions to train on", relation),
			 errdetail("It has %lld rows, %lld of them with a NULL user, item or weight.",
					   (long long) rows, (long long) skipped),
			 errhint("Train from a table with at least one row whose user, item and weight are not NULL.")));
}

static void
too_many_interactions(const char *relation)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("%s has more than %d interactions", relation, PG_INT32_MAX),
			 errhint("Train on a sample, or with engine => 'sql' on Citus.")));
}

/*
 * load_directly: one sequential scan of the heap under the statement's
 * snapshot (what the SQL query would see), then the relational work in C:
 * ids numbered in ascending order and repeated pairs summed in row order,
 * by radix sorts (core/id_sort.h).  The result equals the SQL path's but
 * for the order of pairs, which here is (user, item) and so does not depend
 * on where rows sit in the heap.
 */
static void
load_directly(const InteractionSource *source, Oid user_type, Oid item_type,
			  const char *relation, MemoryContext context, Interactions *out)
{
	Relation	rel = table_open(source->relid, AccessShareLock);
	AttrNumber	user_att = get_attnum(source->relid, source->user_column);
	AttrNumber	item_att = get_attnum(source->relid, source->item_column);
	AttrNumber	weight_att = source->weight_column ? get_attnum(source->relid, source->weight_column)
		: InvalidAttrNumber;
	Oid			weight_type = source->weight_column ? get_atttype(source->relid, weight_att) : InvalidOid;
	int			needed = Max(Max(user_att, item_att), weight_att);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	size_t		capacity = 65536;
	size_t		n = 0;
	int64	   *users = irec_alloc_large(context, sizeof(int64) * capacity);
	int64	   *items = irec_alloc_large(context, sizeof(int64) * capacity);
	double	   *weights = irec_alloc_large(context, sizeof(double) * capacity);
	int32	   *user_rank;
	int32	   *item_rank;
	int64	   *distinct;
	uint64	   *work;
	uint32	   *work_payload;
	double	   *sums;
	size_t		count;

	out->rows = 0;
	out->skipped_rows = 0;
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		double		weight = 1.0;

		out->rows++;
		if ((out->rows % ROWS_PER_INTERRUPT_CHECK) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, needed);
		if (slot->tts_isnull[user_att - 1] || slot->tts_isnull[item_att - 1] ||
			(weight_att != InvalidAttrNumber && slot->tts_isnull[weight_att - 1]))
		{
			out->skipped_rows++;
			continue;
		}
		if (weight_att != InvalidAttrNumber)
		{
			weight = interactions_weight_value(slot->tts_values[weight_att - 1], weight_type);
			if (!(weight >= 0.0 && weight < INFINITY))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid weight %s for user %s and item %s",
								datum_text(slot->tts_values[weight_att - 1], weight_type),
								datum_text(slot->tts_values[user_att - 1], user_type),
								datum_text(slot->tts_values[item_att - 1], item_type)),
						 errdetail("Weights must be finite and not negative."),
						 errhint("Filter or fix such rows, for example through a view.")));
		}
		if (n == capacity)
		{
			if (n >= (size_t) PG_INT32_MAX)
				too_many_interactions(relation);
			capacity *= 2;
			irec_check_memory((double) capacity * BYTES_PER_ROW_DIRECT, "loading the interactions");
			users = irec_realloc_large(users, sizeof(int64) * capacity);
			items = irec_realloc_large(items, sizeof(int64) * capacity);
			weights = irec_realloc_large(weights, sizeof(double) * capacity);
		}
		users[n] = id_value(slot->tts_values[user_att - 1], user_type);
		items[n] = id_value(slot->tts_values[item_att - 1], item_type);
		weights[n] = weight;
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, NoLock);
	if (n == 0)
		no_interactions(relation, out->rows, out->skipped_rows);
	irec_check_memory((double) n * BYTES_PER_ROW_DIRECT, "loading the interactions");

	work = irec_alloc_large(context, sizeof(uint64) * 2 * n);
	work_payload = irec_alloc_large(context, sizeof(uint32) * 2 * n);
	distinct = irec_alloc_large(context, sizeof(int64) * n);
	user_rank = irec_alloc_large(context, sizeof(int32) * n);
	item_rank = irec_alloc_large(context, sizeof(int32) * n);

	/* the ids, numbered as dense_rank() numbers them */
	count = dense_rank_i64(users, n, user_rank, distinct, work, work_payload);
	pfree(out->users.ids);
	out->users.ids = MemoryContextAllocHuge(context, sizeof(Datum) * count);
	for (size_t k = 0; k < count; k++)
		out->users.ids[k] = id_datum(distinct[k], user_type);
	out->users.count = count;
	CHECK_FOR_INTERRUPTS();
	count = dense_rank_i64(items, n, item_rank, distinct, work, work_payload);
	pfree(out->items.ids);
	out->items.ids = MemoryContextAllocHuge(context, sizeof(Datum) * count);
	for (size_t k = 0; k < count; k++)
		out->items.ids[k] = id_datum(distinct[k], item_type);
	out->items.count = count;
	pfree(users);
	pfree(items);
	pfree(distinct);
	CHECK_FOR_INTERRUPTS();

	/* repeated pairs summed, as GROUP BY sums them */
	out->user_index = irec_alloc_large(context, sizeof(int32) * n);
	out->item_index = irec_alloc_large(context, sizeof(int32) * n);
	sums = irec_alloc_large(context, sizeof(double) * n);
	out->nnz = merge_pairs(user_rank, item_rank, weights, n, out->user_index, out->item_index,
						   sums, work, work_payload);
	pfree(work);
	pfree(work_payload);
	pfree(user_rank);
	pfree(item_rank);
	pfree(weights);
	out->weight = irec_alloc_large(context, sizeof(float) * out->nnz);
	for (size_t k = 0; k < out->nnz; k++)
	{
		check_summed_weight(sums[k]);
		out->weight[k] = (float) sums[k];
	}
	pfree(sums);
}

/* load_with_query: the SQL path, for every other kind of source. */
static void
load_with_query(const InteractionSource *source, Oid user_type, Oid item_type,
				const char *relation, MemoryContext context, Interactions *out)
{
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

	count_rows(source, relation, &out->rows, &out->skipped_rows);
	if (out->rows - out->skipped_rows <= 0)
		no_interactions(relation, out->rows, out->skipped_rows);
	if (source->weight_column)
		check_weights(source, relation);
	irec_check_memory((double) (out->rows - out->skipped_rows) * BYTES_PER_INTERACTION,
					  "loading the interactions");

	/* the rows that survive filtering bound pairs, users and items */
	if (out->rows - out->skipped_rows > PG_INT32_MAX)
		too_many_interactions(relation);
	capacity = (size_t) (out->rows - out->skipped_rows);
	out->user_index = MemoryContextAllocHuge(context, sizeof(int32) * capacity);
	out->item_index = MemoryContextAllocHuge(context, sizeof(int32) * capacity);
	out->weight = MemoryContextAllocHuge(context, sizeof(float) * capacity);
	user_seen = MemoryContextAllocZero(context, user_capacity);
	item_seen = MemoryContextAllocZero(context, item_capacity);
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
			check_summed_weight(weight);
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
}

void
interactions_load(const InteractionSource *source, MemoryContext context,
				  Interactions *out)
{
	Oid			user_type;
	Oid			item_type;
	char	   *relation;

	interactions_check_source(source, &user_type, &item_type);
	relation = quoted_relation(source->relid);
	out->source_name = MemoryContextStrdup(context, relation);
	idmap_init(&out->users, user_type, context);
	idmap_init(&out->items, item_type, context);
	if (can_read_directly(source, user_type, item_type))
		load_directly(source, user_type, item_type, relation, context, out);
	else
		load_with_query(source, user_type, item_type, relation, context, out);

	if (out->items.count < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has interactions with only %zu item", relation, out->items.count),
				 errhint("A recommender needs at least two items to rank.")));
}
