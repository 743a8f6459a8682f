/*
 * validation.c
 *		Early stopping on a held-out interactions table (see validation.h).
 *
 * The validation pairs are mapped to the training data's dense indices by
 * one query that ranks the training source's ids exactly as the loader
 * does (interactions.c: dense_rank over the non-NULL pairs), so no id is
 * compared in C.  Each epoch the validation users' rows are gathered and
 * ranked against every item with their training items excluded, as
 * irec_evaluate does.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "irec.h"
#include "validation.h"

/* Users per evaluation call: interrupts are checked between calls. */
#define VALIDATION_USERS_PER_CALL 2048

static char *
relation_sql_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
}

void
validation_load(Validation *v, Oid relid, const InteractionSource *train,
				const Interactions *data, const CsrMatrix *by_user, int dims,
				int k, int threads, int max_epochs, MemoryContext context)
{
	InteractionSource source = {relid, train->user_column, train->item_column, NULL};
	Oid			user_type;
	Oid			item_type;
	const char *u = quote_identifier(train->user_column);
	const char *i = quote_identifier(train->item_column);
	StringInfoData sql;
	size_t		n_rows;
	size_t		n_relevant = 0;
	size_t		n_seen = 0;
	size_t		max_relevant = 0;
	size_t		n_users = 0;
	bool	   *marked;
	size_t	   *relevant_start;
	int32	   *relevant;
	size_t	   *seen_start;
	int32	   *seen;
	MemoryContext old;

	interactions_check_source(&source, &user_type, &item_type);
	if (user_type != data->users.type || item_type != data->items.type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the validation table's id columns have other types than the training source's"),
				 errdetail("Training ids are %s and %s; validation ids are %s and %s.",
						   format_type_be(data->users.type), format_type_be(data->items.type),
						   format_type_be(user_type), format_type_be(item_type)),
				 errhint("Hold out validation rows from the same table, e.g. with irec_split.")));

	/* (training user row, training item row) of every distinct validation pair */
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH p AS (SELECT s.%s%s AS u, s.%s%s AS i FROM %s s "
					 "WHERE s.%s IS NOT NULL AND s.%s IS NOT NULL%s%s%s GROUP BY 1, 2), "
					 "users AS (SELECT x.u, (pg_catalog.row_number() OVER (ORDER BY x.u) - 1)::int4 AS idx "
					 "FROM (SELECT DISTINCT p.u FROM p) x), "
					 "items AS (SELECT x.i, (pg_catalog.row_number() OVER (ORDER BY x.i) - 1)::int4 AS idx "
					 "FROM (SELECT DISTINCT p.i FROM p) x) "
					 "SELECT users.idx, pg_catalog.array_agg(DISTINCT items.idx) "
					 "FROM %s v JOIN users ON users.u = v.%s%s JOIN items ON items.i = v.%s%s "
					 "GROUP BY 1 ORDER BY 1",
					 u, user_type == TEXTOID ? "::text" : "", i, item_type == TEXTOID ? "::text" : "",
					 data->source_name, u, i,
					 train->weight_column ? " AND s." : "",
					 train->weight_column ? quote_identifier(train->weight_column) : "",
					 train->weight_column ? " IS NOT NULL" : "",
					 relation_sql_name(relid),
					 u, user_type == TEXTOID ? "::text" : "", i, item_type == TEXTOID ? "::text" : "");
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the validation table");
	n_rows = SPI_processed;

	old = MemoryContextSwitchTo(context);
	marked = palloc0(sizeof(bool) * data->items.count);
	relevant_start = palloc(sizeof(size_t) * (n_rows + 1));
	seen_start = palloc(sizeof(size_t) * (n_rows + 1));
	v->user_rows = palloc(sizeof(int32) * Max(n_rows, 1));
	for (size_t r = 0; r < n_rows; r++)
	{
		bool		isnull;
		int32		row = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		ArrayType  *array = DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));

		/* the source may have changed since it was loaded: keep what still maps */
		if (row < 0 || (size_t) row >= by_user->n_rows)
			continue;
		n_relevant += ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
		n_seen += by_user->row_start[row + 1] - by_user->row_start[row];
	}
	relevant = MemoryContextAllocHuge(context, sizeof(int32) * Max(n_relevant, 1));
	seen = MemoryContextAllocHuge(context, sizeof(int32) * Max(n_seen, 1));
	n_relevant = 0;
	n_seen = 0;
	for (size_t r = 0; r < n_rows; r++)
	{
		bool		isnull;
		int32		row = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		ArrayType  *array = DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
		int32	   *ids = (int32 *) ARR_DATA_PTR(array);
		int			count = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
		size_t		first = n_relevant;

		if (row < 0 || (size_t) row >= by_user->n_rows)
			continue;
		for (size_t j = by_user->row_start[row]; j < by_user->row_start[row + 1]; j++)
			marked[by_user->col[j]] = true;
		for (int a = 0; a < count; a++)
			if (ids[a] >= 0 && (size_t) ids[a] < data->items.count && !marked[ids[a]])
				relevant[n_relevant++] = ids[a];
		for (size_t j = by_user->row_start[row]; j < by_user->row_start[row + 1]; j++)
			marked[by_user->col[j]] = false;
		if (n_relevant == first)
			continue;			/* only training pairs: nothing to find */
		relevant_start[n_users] = first;
		seen_start[n_users] = n_seen;
		memcpy(seen + n_seen, by_user->col + by_user->row_start[row],
			   sizeof(int32) * (by_user->row_start[row + 1] - by_user->row_start[row]));
		n_seen += by_user->row_start[row + 1] - by_user->row_start[row];
		max_relevant = Max(max_relevant, n_relevant - first);
		v->user_rows[n_users++] = row;
	}
	relevant_start[n_users] = n_relevant;
	seen_start[n_users] = n_seen;
	SPI_freetuptable(SPI_tuptable);
	if (n_users == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("the validation table %s has no pair of a known user and item outside the training data",
						relation_sql_name(relid)),
				 errhint("Validate on held-out rows of the same users and items, e.g. the _test table of irec_split.")));

	v->pairs = (int64) n_relevant;
	v->problem.dims = dims;
	v->problem.k = k;
	v->problem.threads = threads;
	v->problem.n_items = data->items.count;
	v->problem.n_users = n_users;
	v->problem.relevant_start = relevant_start;
	v->problem.relevant = relevant;
	v->problem.seen_start = seen_start;
	v->problem.seen = seen;
	v->problem.max_relevant = max_relevant;
	v->users = MemoryContextAllocHuge(context, sizeof(float) * n_users * dims);
	v->problem.users = v->users;
	v->per_user = MemoryContextAllocHuge(context, sizeof(double) * n_users * EVAL_N_METRICS);
	v->scratch = MemoryContextAllocHuge(context, evaluate_scratch_bytes(&v->problem) * threads);
	v->scores = palloc(sizeof(double) * max_epochs);
	v->best = -INFINITY;
	v->best_epoch = -1;
	v->best_users = MemoryContextAllocHuge(context, sizeof(float) * Max(data->users.count, 1) * dims);
	v->best_items = MemoryContextAllocHuge(context, sizeof(float) * data->items.count * dims);
	pfree(marked);
	MemoryContextSwitchTo(old);
}

bool
validation_epoch(Validation *v, int epoch, const float *users, size_t n_users,
				 const float *items, size_t n_items, bool quiet)
{
	int			d = v->problem.dims;
	double		sum = 0.0;
	int64		counted = 0;

	for (size_t u = 0; u < v->problem.n_users; u++)
		memcpy(v->users + u * d, users + (size_t) v->user_rows[u] * d, sizeof(float) * d);
	v->problem.items = items;
	for (size_t first = 0; first < v->problem.n_users; first += VALIDATION_USERS_PER_CALL)
	{
		evaluate_users(&v->problem, first, Min(v->problem.n_users, first + VALIDATION_USERS_PER_CALL),
					   v->per_user, v->scratch);
		CHECK_FOR_INTERRUPTS();
	}
	for (size_t u = 0; u < v->problem.n_users; u++)
	{
		double		value = v->per_user[u * EVAL_N_METRICS + v->metric];

		if (!isnan(value))
		{
			sum += value;
			counted++;
		}
	}
	v->scores[epoch] = counted > 0 ? sum / counted : 0.0;
	if (!quiet)
		ereport(NOTICE,
				(errmsg("epoch %d: validation %s@%d %.4f%s", epoch + 1, v->metric_name, v->problem.k,
						v->scores[epoch], v->scores[epoch] > v->best ? " (best)" : "")));
	if (v->scores[epoch] > v->best)
	{
		v->best = v->scores[epoch];
		v->best_epoch = epoch;
		memcpy(v->best_users, users, sizeof(float) * n_users * d);
		memcpy(v->best_items, items, sizeof(float) * n_items * d);
	}
	return epoch - v->best_epoch >= v->patience;
}

void
validation_restore(const Validation *v, float *users, size_t n_users, float *items, size_t n_items)
{
	int			d = v->problem.dims;

	if (v->best_epoch < 0)
		return;
	memcpy(users, v->best_users, sizeof(float) * n_users * d);
	memcpy(items, v->best_items, sizeof(float) * n_items * d);
}
