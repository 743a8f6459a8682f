/*
 * update.c
 *		irec_update(): keep an iALS model current as interactions arrive by
 *		re-solving, in place, the rows whose interactions changed
 *		(DESIGN §6.3: a user's embedding follows their feedback; the main
 *		model is retrained now and then).
 *
 * A changed user's row is the iALS user step against the current items,
 *	 (α0·G_I + Σ(α−α0)·ψψᵀ + λ_c·I)·x = Σ α·ψ,
 * solved exactly (Cholesky) from all of the user's rows in the source, so
 * it equals what a final user half-step over the whole data gives that
 * user; an item's row is the item step against the users likewise.  Which
 * rows changed comes from explicit id lists, a time column (`since`), or
 * the change log that irec_track_changes keeps with triggers.
 *
 * Order: items the model does not know yet are solved first (against the
 * users who have them), so that the users' step sees them; then the users;
 * then the changed items, against the updated users.  Rows whose
 * interactions are all gone are deleted.  The stored item Gramian is
 * recomputed from the items table whenever items changed, and the
 * registry's counts follow, so fold-in, serving and the next update see
 * one consistent model.  Writes are ordinary row changes (an ipivf index
 * on the items takes them like any other), inside the caller's
 * transaction: an error or cancel leaves the model as it was.
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/typcache.h"

#include "core/ials.h"
#include "core/sparse.h"
#include "embedding.h"
#include "irec.h"
#include "model.h"

/* Ids solved per query: bounds the rows held in memory at once. */
#define UPDATE_IDS_PER_BATCH 4096

typedef enum Side
{
	SIDE_USERS,
	SIDE_ITEMS
} Side;

typedef struct UpdateCounts
{
	int64		updated;
	int64		added;
	int64		removed;
} UpdateCounts;

typedef struct Update
{
	ModelInfo	model;
	int			threads;
	float	   *item_gram;		/* current item Gramian, or NULL: recompute */
	bool		items_changed;	/* item rows written: the stored Gramian is stale */
	int64		n_users;		/* rows of the users table */
	int64		n_items;		/* rows of the items table */
	UpdateCounts users;
	UpdateCounts items;
} Update;

static const char *
side_table(const Update *u, Side side)
{
	return side == SIDE_USERS ? u->model.users_table : u->model.items_table;
}

static const char *
side_id_column(Side side)
{
	return side == SIDE_USERS ? "user_id" : "item_id";
}

static Oid
side_type(const Update *u, Side side)
{
	return side == SIDE_USERS ? u->model.user_type : u->model.item_type;
}

static const char *
source_column(const Update *u, Side side)
{
	return quote_identifier(side == SIDE_USERS ? u->model.user_column : u->model.item_column);
}

/*
 * side_gramian: Σ e·eᵀ over a model table's embeddings (dims × dims),
 * read in batches through a cursor, with interrupt checks between them.
 */
static float *
side_gramian(const Update *u, Side side)
{
	int			d = u->model.dims;
	size_t		block = 8192;
	float	   *rows = palloc(sizeof(float) * block * d);
	float	   *gram = palloc0(sizeof(float) * d * d);
	float	   *part = palloc(sizeof(float) * d * d);
	float	   *partials = palloc(sizeof(float) * u->threads * d * d);
	char	   *sql = psprintf("SELECT embedding FROM %s", side_table(u, side));
	Portal		portal = SPI_cursor_open(NULL, SPI_prepare(sql, 0, NULL), NULL, NULL, false);

	for (;;)
	{
		SPI_cursor_fetch(portal, true, (long) block);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			Embedding  *e = DatumGetEmbedding(SPI_getbinval(SPI_tuptable->vals[r],
															SPI_tuptable->tupdesc, 1, &isnull));

			if (e->dims != d)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("an embedding of %s has %d dimensions, not %d",
								side_table(u, side), e->dims, d),
						 errhint("Retrain the model: its tables were changed after training.")));
			memcpy(rows + r * d, e->x, sizeof(float) * d);
		}
		ials_gramian(rows, SPI_processed, d, u->threads, part, partials);
		for (int k = 0; k < d * d; k++)
			gram[k] += part[k];
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	pfree(rows);
	pfree(part);
	pfree(partials);
	return gram;
}

/* One-dimensional array of `count` ids of `type`. */
static ArrayType *
id_array(Datum *ids, int count, Oid type)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	return construct_array(ids, count, type, typlen, typbyval, typalign);
}

/*
 * write_rows: insert or replace the embeddings of `count` ids, and delete
 * the ids in `gone`; counts what happened.
 */
static void
write_rows(Update *u, Side side, Datum *ids, const float *x, int count,
		   Datum *gone, int n_gone, UpdateCounts *counts)
{
	Oid			type = side_type(u, side);
	Oid			emb_type = irec_embedding_type_oid();
	int			d = u->model.dims;

	if (count > 0)
	{
		Datum	   *embs = palloc(sizeof(Datum) * count);
		Datum		values[2];
		Oid			types[2] = {get_array_type(type), get_array_type(emb_type)};
		char	   *sql;

		for (int k = 0; k < count; k++)
		{
			Embedding  *e = embedding_new(d);

			memcpy(e->x, x + (size_t) k * d, sizeof(float) * d);
			embs[k] = PointerGetDatum(e);
		}
		values[0] = PointerGetDatum(id_array(ids, count, type));
		values[1] = PointerGetDatum(id_array(embs, count, emb_type));
		sql = psprintf("INSERT INTO %s AS t (%s, embedding) "
					   "SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) "
					   "ON CONFLICT (%s) DO UPDATE SET embedding = EXCLUDED.embedding "
					   "RETURNING (t.xmax = 0)",
					   side_table(u, side), side_id_column(side), side_id_column(side));
		if (SPI_execute_with_args(sql, 2, types, values, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not write the embeddings of %s", side_table(u, side));
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;

			if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull)))
				counts->added++;
			else
				counts->updated++;
		}
	}
	if (n_gone > 0)
	{
		Datum		values[1] = {PointerGetDatum(id_array(gone, n_gone, type))};
		Oid			types[1] = {get_array_type(type)};
		char	   *sql = psprintf("DELETE FROM %s WHERE %s = ANY ($1)",
								   side_table(u, side), side_id_column(side));

		if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete rows of %s", side_table(u, side));
		counts->removed += (int64) SPI_processed;
	}
}

static char *
id_text(Oid type, Datum id)
{
	Oid			output;
	bool		varlena;

	getTypeOutputInfo(type, &output, &varlena);
	return OidOutputFunctionCall(output, id);
}

/* One interaction row of a batch: the id's and the counterpart's positions. */
typedef struct UpdatePair
{
	int32		id;
	int32		other;
	double		weight;
} UpdatePair;

static int
compare_pairs(const void *a, const void *b)
{
	int32		x = ((const UpdatePair *) a)->other;
	int32		y = ((const UpdatePair *) b)->other;

	return (x > y) - (x < y);
}

/*
 * solve_batch: re-solve the rows of `ids` (distinct, of the side's type)
 * from all their interactions in the source, against the other side's
 * current embeddings and Gramian `gram`; ids without interactions (with
 * known counterparts) are deleted.
 */
static void
solve_batch(Update *u, Side side, Datum *ids, int n_ids, const float *gram)
{
	ModelInfo  *m = &u->model;
	Side		other = side == SIDE_USERS ? SIDE_ITEMS : SIDE_USERS;
	Oid			type = side_type(u, side);
	int			d = m->dims;
	StringInfoData sql;
	Datum		values[2];
	Oid			types[2] = {get_array_type(type), get_array_type(side_type(u, other))};
	const char *weight = m->weight_column ? quote_identifier(m->weight_column) : NULL;
	uint64		rows;
	int32	   *col;
	float	   *alpha;
	float	   *others;			/* the counterparts' embeddings, n_others × d */
	Datum	   *other_ids;
	uint64		n_others;
	int16		other_typlen;
	bool		other_typbyval;
	UpdatePair *pairs;
	UpdatePair *sorted;
	size_t		n_pairs = 0;
	size_t	   *per_id;
	size_t	   *row_start;
	Datum	   *solved_ids;
	float	   *x;
	float	   *scratch;
	Datum	   *gone;
	int			n_rows = 0;
	int			n_gone = 0;
	int32		nnz = 0;
	CsrMatrix	csr;
	IalsConfig	config;

	/*
	 * First the other side's embeddings these ids interact with, each read
	 * once; then the pairs, with every pair's weights summed (each row
	 * weighs 1 without a weight column) as training reads them, and the
	 * counterpart as a position in the first list (NULL: the model does not
	 * know it).  Keeping the wide embeddings out of the pairs' join and sort
	 * is what makes large batches cheap.
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT o.%s, o.embedding FROM %s o WHERE o.%s IN "
					 "(SELECT s.%s FROM %s s WHERE s.%s = ANY ($1))",
					 side_id_column(other), side_table(u, other), side_id_column(other),
					 source_column(u, other), m->source, source_column(u, side));
	values[0] = PointerGetDatum(id_array(ids, n_ids, type));
	if (SPI_execute_with_args(sql.data, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the embeddings the rows to update interact with");
	n_others = SPI_processed;
	get_typlenbyval(side_type(u, other), &other_typlen, &other_typbyval);
	others = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * Max(n_others, 1) * d);
	other_ids = palloc(sizeof(Datum) * Max(n_others, 1));
	for (uint64 r = 0; r < n_others; r++)
	{
		bool		isnull;
		Embedding  *e = DatumGetEmbedding(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));

		if (e->dims != d)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("an embedding of %s has %d dimensions, not %d", side_table(u, other), e->dims, d),
					 errhint("Retrain the model: its tables were changed after training.")));
		memcpy(others + r * d, e->x, sizeof(float) * d);
		other_ids[r] = datumCopy(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull),
								 other_typbyval, other_typlen);
	}
	SPI_freetuptable(SPI_tuptable);

	/*
	 * Then the rows themselves as (position of the id in the batch,
	 * position of the counterpart in that list or NULL, weight): plain
	 * integers, grouped, summed per pair and checked here rather than by a
	 * GROUP BY and ORDER BY in the query.
	 */
	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT x.n, k.position, %s FROM pg_catalog.unnest($1) WITH ORDINALITY AS x(id, n) "
					 "JOIN %s s ON s.%s = x.id "
					 "LEFT JOIN pg_catalog.unnest($2) WITH ORDINALITY AS k(other, position) ON k.other = s.%s "
					 "WHERE s.%s = ANY ($1) AND s.%s IS NOT NULL%s%s%s",
					 weight ? psprintf("s.%s::float8", weight) : "1::float8",
					 m->source, source_column(u, side), source_column(u, other),
					 source_column(u, side), source_column(u, other),
					 weight ? " AND s." : "", weight ? weight : "", weight ? " IS NOT NULL" : "");
	values[1] = PointerGetDatum(id_array(other_ids, (int) n_others, side_type(u, other)));
	if (SPI_execute_with_args(sql.data, 2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the interactions of the rows to update");
	rows = SPI_processed;

	/* counting sort of the known pairs by the id's position */
	pairs = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(UpdatePair) * Max(rows, 1));
	per_id = palloc0(sizeof(size_t) * (n_ids + 1));
	for (uint64 r = 0; r < rows; r++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		unknown;
		int64		n = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
		Datum		position = SPI_getbinval(tuple, desc, 2, &unknown);
		double		w = DatumGetFloat8(SPI_getbinval(tuple, desc, 3, &isnull));

		if (!(w >= 0) || !isfinite(w))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s %s has a negative, NaN or infinite weight in %s",
							side == SIDE_USERS ? "user" : "item",
							id_text(type, ids[n - 1]), m->source),
					 errhint("Weights must be finite and non-negative, as irec_train requires.")));
		if (unknown)
			continue;
		pairs[n_pairs].id = (int32) (n - 1);
		pairs[n_pairs].other = (int32) (DatumGetInt64(position) - 1);
		pairs[n_pairs++].weight = w;
		per_id[n]++;
	}
	SPI_freetuptable(SPI_tuptable);
	for (int k = 0; k < n_ids; k++)
		per_id[k + 1] += per_id[k];
	sorted = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(UpdatePair) * Max(n_pairs, 1));
	{
		size_t	   *next = palloc(sizeof(size_t) * (n_ids + 1));

		memcpy(next, per_id, sizeof(size_t) * (n_ids + 1));
		for (size_t r = 0; r < n_pairs; r++)
			sorted[next[pairs[r].id]++] = pairs[r];
		pfree(next);
	}

	/* one CSR row per id with known pairs, repeated pairs summed; the others go */
	col = palloc(sizeof(int32) * Max(n_pairs, 1));
	alpha = palloc(sizeof(float) * Max(n_pairs, 1));
	row_start = palloc(sizeof(size_t) * (n_ids + 1));
	solved_ids = palloc(sizeof(Datum) * n_ids);
	gone = palloc(sizeof(Datum) * n_ids);
	row_start[0] = 0;
	for (int k = 0; k < n_ids; k++)
	{
		UpdatePair *group = sorted + per_id[k];
		size_t		count = per_id[k + 1] - per_id[k];

		if (count == 0)
		{
			gone[n_gone++] = ids[k];
			continue;
		}
		qsort(group, count, sizeof(UpdatePair), compare_pairs);
		for (size_t j = 0; j < count;)
		{
			double		w = 0;
			int32		o = group[j].other;

			for (; j < count && group[j].other == o; j++)
				w += group[j].weight;
			col[nnz] = o;
			alpha[nnz++] = (float) (m->log_confidence ? 1.0 + m->alpha * log1p(w / m->epsilon)
									: 1.0 + m->alpha * w);
		}
		solved_ids[n_rows++] = ids[k];
		row_start[n_rows] = nnz;
		if ((k & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	x = palloc0(sizeof(float) * Max(n_rows, 1) * d);
	if (n_rows > 0)
	{
		config.dims = d;
		config.regularization = m->regularization;
		config.regularization_exponent = m->regularization_exponent;
		config.unobserved_weight = m->unobserved_weight;
		config.solver = IALS_SOLVER_CHOLESKY;
		config.cg_steps = 0;
		config.threads = n_rows >= 256 ? u->threads : 1;
		csr.n_rows = n_rows;
		/* |other side| for λ_c = λ·(|row| + α0·|other|)^ν */
		csr.n_cols = (size_t) (side == SIDE_USERS ? u->n_items : u->n_users);
		csr.nnz = nnz;
		csr.row_start = row_start;
		csr.col = col;
		csr.value = alpha;
		scratch = MemoryContextAllocHuge(CurrentMemoryContext,
										 sizeof(float) * config.threads * ials_scratch_floats(&config));
		if (ials_solve_rows(&config, &csr, others, gram, x, 0, n_rows, scratch) != IALS_OK)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("iALS solve failed: a row's system is not positive definite"),
					 errhint("Retrain the model with a larger regularization.")));
		pfree(scratch);
	}
	write_rows(u, side, solved_ids, x, n_rows, gone, n_gone, side == SIDE_USERS ? &u->users : &u->items);
}

/* Re-solve every id of `ids` (a one-dimensional array of the side's type), in batches. */
static void
solve_side_rows(Update *u, Side side, ArrayType *ids)
{
	Datum	   *values;
	int			count;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	float	   *gram;
	MemoryContext batch_context = AllocSetContextCreate(CurrentMemoryContext, "irec update batch",
														ALLOCSET_DEFAULT_SIZES);

	if (ids == NULL)
		return;
	get_typlenbyvalalign(ARR_ELEMTYPE(ids), &typlen, &typbyval, &typalign);
	deconstruct_array(ids, ARR_ELEMTYPE(ids), typlen, typbyval, typalign, &values, NULL, &count);
	if (count == 0)
		return;
	if (side == SIDE_USERS)
	{
		if (u->item_gram == NULL)
			u->item_gram = u->items_changed ? side_gramian(u, SIDE_ITEMS) : model_item_gramian(&u->model);
		gram = u->item_gram;
	}
	else
		gram = side_gramian(u, SIDE_USERS);
	for (int begin = 0; begin < count; begin += UPDATE_IDS_PER_BATCH)
	{
		MemoryContext old = MemoryContextSwitchTo(batch_context);

		solve_batch(u, side, values + begin, Min(count - begin, UPDATE_IDS_PER_BATCH), gram);
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_context);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(batch_context);
	if (side == SIDE_USERS)
		u->n_users = u->model.n_users + u->users.added - u->users.removed;
	else
	{
		u->n_items = u->model.n_items + u->items.added - u->items.removed;
		u->items_changed = true;
		u->item_gram = NULL;
	}
}

/*
 * The change log of a model: <schema>.<model>_changes beside <model>_users
 * (irec_track_changes creates it).  NULL when there is none.
 */
static char *
change_log_table(const ModelInfo *m)
{
	List	   *names = stringToQualifiedNameList(m->users_table);
	char	   *users = strVal(llast(names));
	size_t		len = strlen(users);
	char	   *base;
	char	   *log;
	RangeVar   *rv;

	if (len <= 6 || strcmp(users + len - 6, "_users") != 0)
		return NULL;
	base = pnstrdup(users, len - 6);
	log = psprintf("%s_changes", base);
	rv = makeRangeVar(list_length(names) > 1 ? strVal(linitial(names)) : NULL, log, -1);
	if (!OidIsValid(RangeVarGetRelid(rv, NoLock, true)))
		return NULL;
	return quote_qualified_identifier(rv->schemaname, log);
}

/* A one-dimensional array argument, NULL elements refused. */
static ArrayType *
ids_arg(FunctionCallInfo fcinfo, int arg, const char *name)
{
	ArrayType  *a;

	if (PG_ARGISNULL(arg))
		return NULL;
	a = PG_GETARG_ARRAYTYPE_P(arg);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name),
				 errhint("Pass the ids as a flat array, like ARRAY[3, 17, 42].")));
	if (array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain NULL", name),
				 errhint("Remove NULL elements, for example with array_remove(%s, NULL).", name)));
	return a;
}

/* Datum of an array column (NULL → NULL pointer), copied out of SPI's memory. */
static ArrayType *
array_column(int column, MemoryContext context)
{
	bool		isnull;
	Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, column, &isnull);
	MemoryContext old;
	ArrayType  *copy;

	if (isnull)
		return NULL;
	old = MemoryContextSwitchTo(context);
	copy = DatumGetArrayTypePCopy(value);
	MemoryContextSwitchTo(old);
	return copy;
}

/* The `since` condition on the time column: timestamps compared as such, numbers as Unix seconds. */
static char *
since_condition(const ModelInfo *m, const char *time_column)
{
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(m->source)),
										 AccessShareLock, false);
	AttrNumber	att = get_attnum(relid, time_column);
	Oid			type;

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in %s", time_column, m->source),
				 errhint("time_column names the column of the model's source that holds when a row arrived.")));
	type = get_atttype(relid, att);
	switch (type)
	{
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
		case DATEOID:
			return psprintf("s.%s >= $1::%s", quote_identifier(time_column), format_type_be(type));
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			return psprintf("s.%s >= pg_catalog.floor(pg_catalog.date_part('epoch', $1))::%s",
							quote_identifier(time_column), format_type_be(type));
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of %s has type %s, which since cannot be compared with",
							time_column, m->source, format_type_be(type)),
					 errhint("Use a timestamp, date, or a number of Unix seconds.")));
	}
	return NULL;				/* not reached */
}

/*
 * update_model: the work of every irec_update form; users/items: id arrays
 * (or NULL), since/time_column: the time condition (has_since false: none),
 * with_items: with since or the change log, re-solve the changed items too.
 */
static Datum
update_model(FunctionCallInfo fcinfo, ArrayType *users, ArrayType *items,
			 bool has_since, Datum since, char *time_column, bool with_items)
{
	Update		u;
	char	   *name;
	int			path_level;
	struct timespec start;
	struct timespec end;
	MemoryContext caller = CurrentMemoryContext;
	ArrayType  *new_items = NULL;
	int64		new_added;
	TupleDesc	desc;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	StringInfoData sql;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be NULL"),
				 errhint("Pass the name of a trained model; SELECT name FROM irec_models lists them.")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (has_since != (time_column != NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("since and time_column go together"),
				 errhint("Pass since => a timestamp and time_column => the source's column of arrival times.")));
	if (has_since && (users || items))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pass either id lists (users, items) or since, not both"),
				 errhint("since re-solves every user with rows newer than it; the lists name the rows to re-solve.")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "irec_update must return a row");

	path_level = irec_restrict_search_path();
	/*
	 * The queries here are small lookups or one pass over the changed rows:
	 * JIT compiling them (their cost estimates can pass jit_above_cost)
	 * costs more than running them.  Restored with the search path.
	 */
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	/* a batch's pairs (UPDATE_IDS_PER_BATCH rows' interactions) sort and hash in memory */
	if (work_mem < 65536)
		(void) set_config_option("work_mem", "65536", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	memset(&u, 0, sizeof(u));
	model_lookup(name, &u.model);
	if (strcmp(u.model.algorithm, "ials") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" was trained with %s; irec_update re-solves iALS models",
						name, u.model.algorithm),
				 errhint("Retrain it with irec_train(..., warm_start => true), which starts from its embeddings.")));
	if (strcmp(u.model.loss, "pointwise") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" was trained with the %s loss; irec_update re-solves the pointwise iALS loss",
						name, u.model.loss),
				 errhint("Retrain it with irec_train(..., warm_start => true), which starts from its embeddings.")));
	if (users)
		model_check_id_type(name, "user", ARR_ELEMTYPE(users), u.model.user_type);
	if (items)
		model_check_id_type(name, "item", ARR_ELEMTYPE(items), u.model.item_type);

	/*
	 * One updater at a time per model (the Gramian is read, changed and
	 * written back), and only its owner: the registry's row lock, which the
	 * registry's policies grant to the owner alone.
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT 1 FROM %s WHERE name = $1 FOR UPDATE",
					 quote_qualified_identifier(irec_extension_schema(), "irec_models"));
	{
		Oid			types[1] = {TEXTOID};
		Datum		args[1] = {CStringGetTextDatum(u.model.name)};

		if (SPI_execute_with_args(sql.data, 1, types, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not lock model %s", name);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("only the owner of model \"%s\" may update it", name),
					 errhint("irec_models.owner names the role that trained it.")));
	}
	LockRelationOid(u.model.users_relid, RowExclusiveLock);
	LockRelationOid(u.model.items_relid, RowExclusiveLock);
	/* the registry row may have changed while we waited for the lock */
	model_lookup(name, &u.model);
	u.threads = irec_thread_count(0);
	/* the registry's counts are the tables' (training and every update keep them so) */
	u.n_users = u.model.n_users;
	u.n_items = u.model.n_items;

	/* which rows changed: distinct ids of the model's types */
	resetStringInfo(&sql);
	if (users || items)
	{
		Oid			types[2] = {users ? ARR_ELEMTYPE(users) : INT4OID, items ? ARR_ELEMTYPE(items) : INT4OID};
		Datum		args[2];
		char		argnulls[2] = {users ? ' ' : 'n', items ? ' ' : 'n'};

		types[0] = get_array_type(types[0]);
		types[1] = get_array_type(types[1]);
		args[0] = PointerGetDatum(users);
		args[1] = PointerGetDatum(items);
		appendStringInfo(&sql,
						 "SELECT (SELECT pg_catalog.array_agg(DISTINCT x) FROM pg_catalog.unnest($1::%s[]) x), "
						 "(SELECT pg_catalog.array_agg(DISTINCT x) FROM pg_catalog.unnest($2::%s[]) x)",
						 format_type_be_qualified(u.model.user_type), format_type_be_qualified(u.model.item_type));
		if (SPI_execute_with_args(sql.data, 2, types, args, argnulls, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the ids to update");
	}
	else if (has_since)
	{
		Oid			types[1] = {TIMESTAMPTZOID};
		Datum		args[1] = {since};

		appendStringInfo(&sql,
						 "SELECT pg_catalog.array_agg(DISTINCT s.%s) FILTER (WHERE s.%s IS NOT NULL), "
						 "%s FROM %s s WHERE %s",
						 quote_identifier(u.model.user_column), quote_identifier(u.model.user_column),
						 with_items ? psprintf("pg_catalog.array_agg(DISTINCT s.%s) FILTER (WHERE s.%s IS NOT NULL)",
											   quote_identifier(u.model.item_column),
											   quote_identifier(u.model.item_column)) : "NULL",
						 u.model.source, since_condition(&u.model, time_column));
		if (SPI_execute_with_args(sql.data, 1, types, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the rows that arrived since");
	}
	else
	{
		char	   *log = change_log_table(&u.model);

		if (log == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" keeps no change log, and no users, items or since were given", name),
					 errhint("Pass users => ARRAY[...], since => ... with time_column, "
							 "or start a change log with irec_track_changes('%s').", name)));
		/* consumes the log: rows logged after this statement's snapshot stay for the next update */
		appendStringInfo(&sql,
						 "WITH done AS (DELETE FROM %s RETURNING user_id, item_id) "
						 "SELECT pg_catalog.array_agg(DISTINCT user_id) FILTER (WHERE user_id IS NOT NULL)::%s[], %s FROM done",
						 log, format_type_be_qualified(u.model.user_type),
						 with_items ? psprintf("pg_catalog.array_agg(DISTINCT item_id) FILTER (WHERE item_id IS NOT NULL)::%s[]",
											   format_type_be_qualified(u.model.item_type)) : "NULL");
		if (SPI_execute(sql.data, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the change log of model %s", name);
	}
	users = array_column(1, caller);
	items = array_column(2, caller);

	/* items the model does not know yet, solved first so that the users' step sees them */
	if (items)
	{
		Oid			types[1] = {get_array_type(u.model.item_type)};
		Datum		args[1] = {PointerGetDatum(items)};

		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "SELECT pg_catalog.array_agg(x) FROM pg_catalog.unnest($1) x "
						 "WHERE NOT EXISTS (SELECT 1 FROM %s i WHERE i.item_id = x)",
						 u.model.items_table);
		if (SPI_execute_with_args(sql.data, 1, types, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not find the new items");
		new_items = array_column(1, caller);
	}
	solve_side_rows(&u, SIDE_ITEMS, new_items);
	new_added = u.items.added;
	solve_side_rows(&u, SIDE_USERS, users);
	solve_side_rows(&u, SIDE_ITEMS, items);
	/* the items the first pass added were re-solved, not updated, by the second */
	u.items.updated -= new_added;
	if (u.items_changed)
	{
		float	   *gram = side_gramian(&u, SIDE_ITEMS);

		model_store_item_gramian(u.model.name, gram, u.model.dims);
	}
	if (u.users.updated + u.users.added + u.users.removed + u.items.updated + u.items.added + u.items.removed > 0)
	{
		Oid			types[3] = {TEXTOID, INT8OID, INT8OID};
		Datum		args[3] = {CStringGetTextDatum(u.model.name), Int64GetDatum(u.n_users),
		Int64GetDatum(u.n_items)};

		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "UPDATE %s SET n_users = $2, n_items = $3, updated_at = pg_catalog.now() WHERE name = $1",
						 quote_qualified_identifier(irec_extension_schema(), "irec_models"));
		if (SPI_execute_with_args(sql.data, 3, types, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update the registry row of model %s", name);
	}
	SPI_finish();
	irec_restore_search_path(path_level);

	clock_gettime(CLOCK_MONOTONIC, &end);
	values[0] = Int64GetDatum(u.users.updated);
	values[1] = Int64GetDatum(u.users.added);
	values[2] = Int64GetDatum(u.users.removed);
	values[3] = Int64GetDatum(u.items.updated);
	values[4] = Int64GetDatum(u.items.added);
	values[5] = Int64GetDatum(u.items.removed);
	values[6] = Float8GetDatum((double) (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) * 1e-9);
	desc = BlessTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* irec_update(model, since, time_column, with_items): rows newer than since, or the change log */
PG_FUNCTION_INFO_V1(irec_update);
Datum
irec_update(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("with_items must not be NULL"),
				 errhint("Pass true to also re-solve the items whose interactions changed.")));
	return update_model(fcinfo, NULL, NULL, !PG_ARGISNULL(1), PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1),
						PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)), PG_GETARG_BOOL(3));
}

/* irec_update(model, users): these users */
PG_FUNCTION_INFO_V1(irec_update_users);
Datum
irec_update_users(PG_FUNCTION_ARGS)
{
	ArrayType  *users = ids_arg(fcinfo, 1, "users");

	if (users == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("users must not be NULL"),
				 errhint("Pass the users whose interactions changed, like ARRAY[3, 17].")));
	return update_model(fcinfo, users, NULL, false, (Datum) 0, NULL, false);
}

/* irec_update(model, items): these items */
PG_FUNCTION_INFO_V1(irec_update_items);
Datum
irec_update_items(PG_FUNCTION_ARGS)
{
	ArrayType  *items = ids_arg(fcinfo, 1, "items");

	if (items == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("items must not be NULL"),
				 errhint("Pass the items whose interactions changed, like ARRAY[3, 17].")));
	return update_model(fcinfo, NULL, items, false, (Datum) 0, NULL, false);
}

/* irec_update(model, users, items): these users, then these items */
PG_FUNCTION_INFO_V1(irec_update_users_items);
Datum
irec_update_users_items(PG_FUNCTION_ARGS)
{
	ArrayType  *users = ids_arg(fcinfo, 1, "users");
	ArrayType  *items = ids_arg(fcinfo, 2, "items");

	if (users == NULL && items == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("users and items must not both be NULL"),
				 errhint("Pass the users and items whose interactions changed.")));
	return update_model(fcinfo, users, items, false, (Datum) 0, NULL, false);
}
