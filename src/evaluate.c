/*
 * evaluate.c
 *		Ranking metrics as SQL functions, and irec_evaluate() /
 *		irec_evaluate_popularity(): full-ranking evaluation of a model (or of
 *		the popularity baseline) on a test table (DESIGN §2.3).
 *
 * SQL does the relational part in one statement (ids to dense indices,
 * each user's held-out and training items as arrays); the core scores all
 * users against all items with sgemm on every core and counts ranks.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"

#include "core/evaluate.h"
#include "core/ials.h"
#include "core/metrics.h"
#include "embedding.h"
#include "interactions.h"
#include "irec.h"
#include "model.h"

/* Users per core call: interrupts are checked between calls. */
#define EVAL_USERS_PER_CALL 2048

/*
 * ranks_from_array: the metric functions' input, an integer[] of 1-based
 * ranks with NULL for a relevant item that was not ranked.  Validated: no
 * rank below 1 or above max_rank (when positive), none repeated.
 */
static int64 *
ranks_from_array(ArrayType *array, size_t *count, int64 max_rank)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int64	   *ranks;
	int64	   *sorted;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ranks must be a one-dimensional array"),
				 errhint("Pass the 1-based ranks of the relevant items as a flat integer array.")));
	deconstruct_array(array, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &n);
	ranks = palloc(sizeof(int64) * Max(n, 1));
	sorted = palloc(sizeof(int64) * Max(n, 1));
	for (int k = 0; k < n; k++)
	{
		ranks[k] = nulls[k] ? 0 : DatumGetInt32(elems[k]);
		if (!nulls[k] && (ranks[k] < 1 || (max_rank > 0 && ranks[k] > max_rank)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rank %lld is out of range", (long long) ranks[k]),
					 errhint("Ranks are 1-based positions%s; use NULL for a relevant item that was not ranked.",
							 max_rank > 0 ? " within the catalogue" : "")));
		sorted[k] = ranks[k];
	}
	if (metrics_sort_ranks(sorted, n) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ranks must be distinct"),
				 errhint("Two relevant items cannot hold the same position.")));
	pfree(sorted);
	*count = n;
	return ranks;
}

static int64
cutoff_arg(FunctionCallInfo fcinfo, int arg, const char *name)
{
	int32		n = PG_GETARG_INT32(arg);

	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at least 1, not %d", name, n),
				 errhint("Metrics are computed over the first n positions of a ranking.")));
	return n;
}

#define METRIC_FUNCTION(sqlname, fn) \
PG_FUNCTION_INFO_V1(sqlname); \
Datum \
sqlname(PG_FUNCTION_ARGS) \
{ \
	int64		n = cutoff_arg(fcinfo, 1, "n"); \
	size_t		count; \
	int64	   *ranks = ranks_from_array(PG_GETARG_ARRAYTYPE_P(0), &count, 0); \
	double		value = fn(ranks, count, n); \
 \
	if (isnan(value)) \
		PG_RETURN_NULL(); \
	PG_RETURN_FLOAT8(value); \
}

METRIC_FUNCTION(irec_precision, metric_precision)
METRIC_FUNCTION(irec_recall, metric_recall)
METRIC_FUNCTION(irec_ap, metric_average_precision)
METRIC_FUNCTION(irec_ndcg, metric_ndcg)

PG_FUNCTION_INFO_V1(irec_auc);
Datum
irec_auc(PG_FUNCTION_ARGS)
{
	int64		n_items = cutoff_arg(fcinfo, 1, "n_items");
	size_t		count;
	int64	   *ranks = ranks_from_array(PG_GETARG_ARRAYTYPE_P(0), &count, n_items);
	double		value;

	if ((int64) count > n_items)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%zu relevant items do not fit a catalogue of %lld", count, (long long) n_items),
				 errhint("The catalogue size must be at least the number of relevant items.")));
	value = metric_auc(ranks, count, n_items);
	if (isnan(value))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(value);
}

/* What an evaluation reads, as SQL over relations with quoted names. */
typedef struct EvalSources
{
	char	   *items_sql;		/* (item_id, embedding) */
	char	   *users_sql;		/* (user_id, embedding) */
	char	   *train;			/* relation with the users' training interactions */
	const char *train_user;
	const char *train_item;
	char	   *test;
	const char *test_user;
	const char *test_item;
	char	   *fold_in;		/* NULL, or a relation with held-out users' histories */
	char	   *fold_in_weight; /* SQL for a fold-in row's weight */
	const ModelInfo *model;		/* for fold-in: hyper-parameters and Gramian */
	int			dims;
	int			k;
	int			threads;
} EvalSources;

/* Id types that compare with each other in SQL without casts. */
static int
id_family(Oid type)
{
	if (type == INT4OID || type == INT8OID || type == INT2OID)
		return 1;
	if (type == TEXTOID || type == VARCHAROID)
		return 2;
	if (type == UUIDOID)
		return 3;
	return 0;
}

static void
check_id_column(Oid relid, const char *column, Oid expected, const char *role,
				const char *reference)
{
	AttrNumber	attnum = get_attnum(relid, column);
	Oid			type;

	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation %s does not exist", column, get_rel_name(relid)),
				 errhint("Name the %s column of the test table with %s_column.", role, role)));
	type = get_atttype(relid, attnum);
	if (id_family(type) == 0 || id_family(type) != id_family(expected))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s column \"%s\" of %s has type %s, but the %s's %s ids are %s",
						role, column, get_rel_name(relid), format_type_be(type), reference,
						role, format_type_be(expected)),
				 errhint("Evaluate on a table whose ids have the %s's id types.", reference)));
}

static void
set_result(double *sum, int64 *count, double value)
{
	if (!isnan(value))
	{
		*sum += value;
		(*count)++;
	}
}

/*
 * fold_in_users: embeddings for held-out users from their histories, by the
 * iALS user step against the model's items and stored Gramian (DESIGN §6.3),
 * all of them in one parallel core call.
 */
static void
fold_in_users(const EvalSources *src, const float *items, size_t n_items, float *users,
			  const int32 *seen, const size_t *fold_rows, const size_t *fold_start,
			  const size_t *fold_length, const float *fold_alpha, size_t n_fold, int threads)
{
	const ModelInfo *model = src->model;
	IalsConfig	config;
	CsrMatrix	histories;
	float	   *solved;
	float	   *scratch;
	float	   *gram = model_item_gramian(model);

	config.dims = src->dims;
	config.regularization = model->regularization;
	config.regularization_exponent = model->regularization_exponent;
	config.unobserved_weight = model->unobserved_weight;
	config.solver = IALS_SOLVER_CHOLESKY;
	config.cg_steps = 0;
	config.threads = threads;
	/* each history is a run of seen[]: gather them into one CSR */
	histories.n_rows = n_fold;
	histories.n_cols = n_items;
	histories.nnz = 0;
	for (size_t f = 0; f < n_fold; f++)
		histories.nnz += fold_length[f];
	histories.row_start = palloc(sizeof(size_t) * (n_fold + 1));
	histories.col = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * Max(histories.nnz, 1));
	histories.value = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * Max(histories.nnz, 1));
	{
		size_t		at = 0;

		for (size_t f = 0; f < n_fold; f++)
		{
			size_t		length = fold_length[f];

			histories.row_start[f] = at;
			memcpy(histories.col + at, seen + fold_start[f], sizeof(int32) * length);
			memcpy(histories.value + at, fold_alpha + fold_start[f], sizeof(float) * length);
			at += length;
		}
		histories.row_start[n_fold] = at;
	}
	solved = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * n_fold * src->dims);
	memset(solved, 0, sizeof(float) * n_fold * src->dims);
	scratch = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * threads * ials_scratch_floats(&config));
	if (ials_solve_rows(&config, &histories, items, gram, solved, 0, n_fold, scratch) != IALS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("fold-in failed: a system is not positive definite"),
				 errhint("Train the model with a larger regularization.")));
	for (size_t f = 0; f < n_fold; f++)
		memcpy(users + fold_rows[f] * src->dims, solved + f * src->dims, sizeof(float) * src->dims);
	CHECK_FOR_INTERRUPTS();
}

/*
 * run_evaluation: load, score, average.  Returns the result tuple's values:
 * recall, precision, ndcg, ap, auc, users_evaluated, users_skipped.
 */
static void
run_evaluation(const EvalSources *src, Datum *values, bool *nulls)
{
	StringInfoData sql;
	MemoryContext eval_context;
	MemoryContext old;
	EvalProblem problem;
	size_t		n_items;
	size_t		n_rows;
	float	   *items;
	float	   *users;
	size_t	   *relevant_start;
	size_t	   *seen_start;
	int32	   *relevant;
	int32	   *seen;
	size_t		n_relevant = 0;
	size_t		n_seen = 0;
	size_t		n_users = 0;
	size_t		max_relevant = 0;
	size_t	   *fold_rows;		/* users to fold in, by position */
	size_t	   *fold_start;		/* their histories within seen */
	size_t	   *fold_length;
	float	   *fold_alpha;		/* confidences, parallel to seen */
	size_t		n_fold = 0;
	int64		test_users;
	double	   *per_user;
	void	   *scratch;
	double		sums[EVAL_N_METRICS] = {0};
	int64		counts[EVAL_N_METRICS] = {0};
	bool		isnull;
	int			threads = irec_thread_count(src->threads);

	eval_context = AllocSetContextCreate(CurrentMemoryContext, "irec evaluation",
										 ALLOCSET_DEFAULT_SIZES);

	/* the item matrix, row = dense index = position in item_id order */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT x.embedding FROM (%s) x ORDER BY x.item_id", src->items_sql);
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the items");
	n_items = SPI_processed;
	if (n_items == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("there are no items to rank"),
				 errhint("Train the model on a table with interactions before evaluating it.")));
	irec_check_memory((double) n_items * src->dims * sizeof(float) +
					  (double) threads * EVAL_USERS_PER_CALL * 8.0 +
					  (double) threads * 32.0 * n_items * sizeof(float),
					  "this evaluation");
	items = MemoryContextAllocHuge(eval_context, sizeof(float) * n_items * src->dims);
	for (size_t r = 0; r < n_items; r++)
	{
		Embedding  *e = DatumGetEmbedding(SPI_getbinval(SPI_tuptable->vals[r],
													   SPI_tuptable->tupdesc, 1, &isnull));

		if (isnull || e->dims != src->dims)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("item embedding %zu is NULL or has the wrong dimensions", r + 1),
					 errhint("Retrain the model: its items table was changed after training.")));
		memcpy(items + r * src->dims, e->x, sizeof(float) * src->dims);
	}
	SPI_freetuptable(SPI_tuptable);

	/* distinct test users, for users_skipped */
	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.count(DISTINCT t.%s) FROM %s t WHERE t.%s IS NOT NULL",
					 quote_identifier(src->test_user), src->test, quote_identifier(src->test_item));
	if (SPI_execute(sql.data, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not count the test users");
	test_users = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);

	/*
	 * Per test user: the embedding (NULL for a user to fold in), held-out
	 * item indices, excluded item indices (training rows, or the fold-in
	 * history), and the fold-in weights.
	 */
	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH items AS (SELECT x.item_id, (pg_catalog.row_number() OVER (ORDER BY x.item_id) - 1)::int4 AS idx "
					 "FROM (%s) x), "
					 "rel AS (SELECT t.%s AS uid, pg_catalog.array_agg(DISTINCT i.idx ORDER BY i.idx) AS rel "
					 "FROM %s t JOIN items i ON i.item_id = t.%s WHERE t.%s IS NOT NULL GROUP BY 1), "
					 "seen AS (SELECT s.%s AS uid, pg_catalog.array_agg(DISTINCT i.idx ORDER BY i.idx) AS seen "
					 "FROM %s s JOIN items i ON i.item_id = s.%s WHERE s.%s IN (SELECT uid FROM rel) GROUP BY 1) ",
					 src->items_sql,
					 quote_identifier(src->test_user), src->test, quote_identifier(src->test_item),
					 quote_identifier(src->test_user),
					 quote_identifier(src->train_user), src->train, quote_identifier(src->train_item),
					 quote_identifier(src->train_user));
	if (src->fold_in)
		appendStringInfo(&sql,
						 ", hist AS (SELECT f.uid, pg_catalog.array_agg(i.idx ORDER BY i.idx) AS items, "
						 "pg_catalog.array_agg(f.w ORDER BY i.idx) AS weights "
						 "FROM (SELECT f.%s AS uid, f.%s AS iid, pg_catalog.sum(%s)::float8 AS w FROM %s f "
						 "WHERE f.%s IS NOT NULL AND f.%s IS NOT NULL GROUP BY 1, 2) f "
						 "JOIN items i ON i.item_id = f.iid WHERE f.uid IN (SELECT uid FROM rel) GROUP BY 1) "
						 "SELECT u.embedding, rel.rel, COALESCE(seen.seen, hist.items), "
						 "CASE WHEN u.user_id IS NULL THEN hist.weights END "
						 "FROM rel LEFT JOIN (%s) u ON u.user_id = rel.uid LEFT JOIN seen ON seen.uid = rel.uid "
						 "LEFT JOIN hist ON hist.uid = rel.uid "
						 "WHERE u.user_id IS NOT NULL OR hist.uid IS NOT NULL ORDER BY rel.uid",
						 quote_identifier(src->test_user), quote_identifier(src->test_item),
						 src->fold_in_weight, src->fold_in,
						 quote_identifier(src->test_user), quote_identifier(src->test_item),
						 src->users_sql);
	else
		appendStringInfo(&sql,
						 "SELECT u.embedding, rel.rel, seen.seen, NULL::float8[] "
						 "FROM rel JOIN (%s) u ON u.user_id = rel.uid LEFT JOIN seen ON seen.uid = rel.uid "
						 "ORDER BY rel.uid",
						 src->users_sql);
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the test interactions");
	n_rows = SPI_processed;

	old = MemoryContextSwitchTo(eval_context);
	users = MemoryContextAllocHuge(eval_context, sizeof(float) * Max(n_rows, 1) * src->dims);
	relevant_start = palloc(sizeof(size_t) * (n_rows + 1));
	seen_start = palloc(sizeof(size_t) * (n_rows + 1));
	MemoryContextSwitchTo(old);
	/* first pass: sizes */
	for (size_t r = 0; r < n_rows; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		Datum		d;

		d = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull);
		n_relevant += ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(d)), ARR_DIMS(DatumGetArrayTypeP(d)));
		d = SPI_getbinval(row, SPI_tuptable->tupdesc, 3, &isnull);
		if (!isnull)
			n_seen += ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(d)), ARR_DIMS(DatumGetArrayTypeP(d)));
	}
	relevant = MemoryContextAllocHuge(eval_context, sizeof(int32) * Max(n_relevant, 1));
	seen = MemoryContextAllocHuge(eval_context, sizeof(int32) * Max(n_seen, 1));
	n_relevant = 0;
	n_seen = 0;
	fold_rows = palloc(sizeof(size_t) * (n_rows + 1));
	fold_start = palloc(sizeof(size_t) * (n_rows + 1));
	fold_length = palloc(sizeof(size_t) * (n_rows + 1));
	fold_alpha = MemoryContextAllocHuge(eval_context, sizeof(float) * Max(n_seen, 1));
	for (size_t r = 0; r < n_rows; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		bool		fold;
		Datum		emb_datum = SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &fold);
		Embedding  *e = fold ? NULL : DatumGetEmbedding(emb_datum);
		ArrayType  *rel = DatumGetArrayTypeP(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
		Datum		seen_datum = SPI_getbinval(row, SPI_tuptable->tupdesc, 3, &isnull);
		int32	   *rel_items = (int32 *) ARR_DATA_PTR(rel);
		int			rel_count = ArrayGetNItems(ARR_NDIM(rel), ARR_DIMS(rel));
		int32	   *seen_items = NULL;
		int			seen_count = 0;
		size_t		first_relevant = n_relevant;

		if (e && e->dims != src->dims)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("a user embedding has %d dimensions, not %d", e->dims, src->dims),
					 errhint("Retrain the model: its users table was changed after training.")));
		if (!isnull)
		{
			ArrayType  *s = DatumGetArrayTypeP(seen_datum);

			seen_items = (int32 *) ARR_DATA_PTR(s);
			seen_count = ArrayGetNItems(ARR_NDIM(s), ARR_DIMS(s));
		}
		/* held-out items the user also has in training are not held out */
		for (int a = 0; a < rel_count; a++)
		{
			bool		in_training = false;

			/* array_agg(DISTINCT) returns sorted arrays: binary search */
			int			low = 0;
			int			high = seen_count;

			while (low < high)
			{
				int			mid = (low + high) / 2;

				if (seen_items[mid] < rel_items[a])
					low = mid + 1;
				else
					high = mid;
			}
			in_training = low < seen_count && seen_items[low] == rel_items[a];
			if (!in_training)
				relevant[n_relevant++] = rel_items[a];
		}
		if (n_relevant == first_relevant)
			continue;			/* nothing left to find: skipped */
		relevant_start[n_users] = first_relevant;
		seen_start[n_users] = n_seen;
		memcpy(seen + n_seen, seen_items, sizeof(int32) * seen_count);
		if (e)
			memcpy(users + n_users * src->dims, e->x, sizeof(float) * src->dims);
		else
		{
			/* fold this user in from its history: confidences as in training */
			ArrayType  *w = DatumGetArrayTypeP(SPI_getbinval(row, SPI_tuptable->tupdesc, 4, &isnull));
			float8	   *weights = (float8 *) ARR_DATA_PTR(w);

			for (int a = 0; a < seen_count; a++)
				fold_alpha[n_seen + a] = (float) (src->model->log_confidence
												  ? 1.0 + src->model->alpha * log1p(weights[a] / src->model->epsilon)
												  : 1.0 + src->model->alpha * weights[a]);
			fold_rows[n_fold] = n_users;
			fold_start[n_fold] = n_seen;
			fold_length[n_fold] = seen_count;
			n_fold++;
		}
		n_seen += seen_count;
		max_relevant = Max(max_relevant, n_relevant - first_relevant);
		n_users++;
	}
	relevant_start[n_users] = n_relevant;
	seen_start[n_users] = n_seen;
	SPI_freetuptable(SPI_tuptable);
	if (n_fold > 0)
		fold_in_users(src, items, n_items, users, seen, fold_rows, fold_start, fold_length,
					  fold_alpha, n_fold, threads);

	problem.dims = src->dims;
	problem.k = src->k;
	problem.threads = threads;
	problem.n_items = n_items;
	problem.items = items;
	problem.n_users = n_users;
	problem.users = users;
	problem.relevant_start = relevant_start;
	problem.relevant = relevant;
	problem.seen_start = seen_start;
	problem.seen = seen;
	problem.max_relevant = max_relevant;
	per_user = MemoryContextAllocHuge(eval_context, sizeof(double) * Max(n_users, 1) * EVAL_N_METRICS);
	scratch = MemoryContextAllocHuge(eval_context, evaluate_scratch_bytes(&problem) * threads);
	for (size_t first = 0; first < n_users; first += EVAL_USERS_PER_CALL)
	{
		evaluate_users(&problem, first, Min(n_users, first + EVAL_USERS_PER_CALL), per_user, scratch);
		CHECK_FOR_INTERRUPTS();
	}
	for (size_t u = 0; u < n_users; u++)
		for (int m = 0; m < EVAL_N_METRICS; m++)
			set_result(&sums[m], &counts[m], per_user[u * EVAL_N_METRICS + m]);
	for (int m = 0; m < EVAL_N_METRICS; m++)
	{
		nulls[m] = counts[m] == 0;
		values[m] = Float8GetDatum(counts[m] ? sums[m] / counts[m] : 0.0);
	}
	values[5] = Int64GetDatum((int64) n_users);
	values[6] = Int64GetDatum(test_users - (int64) n_users);
	nulls[5] = nulls[6] = false;
	MemoryContextDelete(eval_context);
}

/*
 * evaluate_and_finish: run the evaluation, form the result row in the
 * caller's memory context, and leave SPI and the pinned search_path.
 */
static Datum
evaluate_and_finish(FunctionCallInfo fcinfo, const EvalSources *src, MemoryContext caller, int path_level)
{
	Datum		values[7];
	bool		nulls[7];
	TupleDesc	desc;
	Datum		result;
	MemoryContext old;

	run_evaluation(src, values, nulls);
	old = MemoryContextSwitchTo(caller);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "irec: evaluation must return a row");
	result = HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
	MemoryContextSwitchTo(old);
	SPI_finish();
	irec_restore_search_path(path_level);
	return result;
}

static void context_sources(FunctionCallInfo fcinfo, const ModelInfo *model, Oid test_relid,
							EvalSources *src);

static const char *
column_arg(FunctionCallInfo fcinfo, int arg, const char *fallback)
{
	return PG_ARGISNULL(arg) ? fallback : text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

static char *
relation_name(Oid relid)
{
	char		kind = get_rel_relkind(relid);

	if (kind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errhint("Pass an existing table, view or materialized view.")));
	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE &&
		kind != RELKIND_VIEW && kind != RELKIND_MATVIEW && kind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table, view or materialized view", get_rel_name(relid)),
				 errhint("Pass a table, view or materialized view holding the test interactions.")));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

static int
threads_arg(FunctionCallInfo fcinfo, int arg)
{
	int			threads = PG_ARGISNULL(arg) ? 0 : PG_GETARG_INT32(arg);

	if (threads < 0 || threads > 64)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threads must be between 0 and 64, not %d", threads),
				 errhint("Use 0 for all cores.")));
	return threads;
}

/*
 * irec_evaluate(model, test, k, user_column, item_column, threads): the
 * model's users in the test table are ranked against all items, their
 * training items (rows of the model's source) excluded.
 */
PG_FUNCTION_INFO_V1(irec_evaluate);
Datum
irec_evaluate(PG_FUNCTION_ARGS)
{
	ModelInfo	model;
	EvalSources src;
	Oid			test_relid;
	MemoryContext caller = CurrentMemoryContext;
	int			path_level;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model, test and k of irec_evaluate must not be NULL"),
				 errhint("Pass a model name, a test table and a cutoff, like irec_evaluate('m', 'test', 20).")));
	src.k = (int) cutoff_arg(fcinfo, 2, "k");
	src.threads = threads_arg(fcinfo, 5);
	test_relid = PG_GETARG_OID(1);
	path_level = irec_restrict_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	model_lookup_any(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	if (model.context_model != NULL)
	{
		context_sources(fcinfo, &model, test_relid, &src);
		PG_RETURN_DATUM(evaluate_and_finish(fcinfo, &src, caller, path_level));
	}
	src.test = relation_name(test_relid);
	src.test_user = column_arg(fcinfo, 3, model.user_column);
	src.test_item = column_arg(fcinfo, 4, model.item_column);
	check_id_column(test_relid, src.test_user, model.user_type, "user", "model");
	check_id_column(test_relid, src.test_item, model.item_type, "item", "model");
	src.items_sql = psprintf("SELECT item_id, embedding FROM %s", model.items_table);
	src.users_sql = psprintf("SELECT user_id, embedding FROM %s", model.users_table);
	src.train = model.source;
	src.train_user = model.user_column;
	src.train_item = model.item_column;
	src.dims = model.dims;
	src.model = &model;
	src.fold_in = NULL;
	if (!PG_ARGISNULL(6))
	{
		Oid			fold_relid = PG_GETARG_OID(6);

		src.fold_in = relation_name(fold_relid);
		check_id_column(fold_relid, src.test_user, model.user_type, "user", "model");
		check_id_column(fold_relid, src.test_item, model.item_type, "item", "model");
		/* the model's weight column when the history has it, else 1 per row */
		src.fold_in_weight = "1";
		if (model.weight_column && get_attnum(fold_relid, model.weight_column) != InvalidAttrNumber)
			src.fold_in_weight = psprintf("f.%s", quote_identifier(model.weight_column));
	}
	PG_RETURN_DATUM(evaluate_and_finish(fcinfo, &src, caller, path_level));
}

/*
 * A context model's evaluation: each distinct context of the test table
 * (its rows' tuple of field values) is ranked like a user, φ built from
 * the fields' tables in one join (irec_context_combine: a value the model
 * lacks contributes nothing; a context with no known value is skipped), and the items that the
 * context's first field value (the user, usually) has in the training
 * source are excluded.  The evaluation core is the plain models': the
 * relations it reads are subqueries keyed by the context's text form.
 */
static void
context_sources(FunctionCallInfo fcinfo, const ModelInfo *model, Oid test_relid, EvalSources *src)
{
	const char *schema = quote_identifier(irec_extension_schema());
	const char *first = quote_identifier(model->context_columns[0]);
	const char *item;
	StringInfoData fields;
	StringInfoData any_known;
	StringInfoData all_null;
	StringInfoData object;
	StringInfoData joins;
	char	   *test;

	if (!PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" is a context model: user_column does not apply", model->name),
				 errhint("The test table names the context fields as the training source did.")));
	if (!PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("fold_in does not apply to context model \"%s\"", model->name),
				 errhint("Leave fold_in out; contexts whose values the model lacks are skipped or scored by their known fields.")));
	src->test_item = column_arg(fcinfo, 4, model->item_column);
	check_id_column(test_relid, src->test_item, model->item_type, "item", "model");
	item = quote_identifier(src->test_item);
	initStringInfo(&fields);
	initStringInfo(&any_known);
	initStringInfo(&all_null);
	initStringInfo(&object);
	initStringInfo(&joins);
	for (int f = 0; f < model->n_context_fields; f++)
	{
		const char *column = quote_identifier(model->context_columns[f]);
		Oid			table = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(model->context_tables[f])),
											 AccessShareLock, false);
		Oid			type = get_atttype(table, get_attnum(table, model->context_columns[f]));

		if (get_attnum(test_relid, model->context_columns[f]) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("test relation %s has no column \"%s\", a field of context model \"%s\"",
							relation_name(test_relid), model->context_columns[f], model->name),
					 errhint("The test table needs the context columns the model was trained on, and the item column.")));
		check_id_column(test_relid, model->context_columns[f], type, "context", "model");
		appendStringInfo(&fields, "%st.%s", f ? ", " : "", column);
		appendStringInfo(&all_null, "%st.%s IS NULL", f ? " AND " : "", column);
		appendStringInfo(&object, "%se%d.embedding", f ? ", " : "", f);
		appendStringInfo(&joins, " LEFT JOIN %s e%d ON e%d.%s = x.%s", model->context_tables[f], f, f,
						 column, column);
		appendStringInfo(&any_known, "%se%d.%s IS NOT NULL", f ? " OR " : "", f, column);
	}
	test = psprintf("(SELECT ROW(%s)::text AS irec_context, %s, t.%s AS irec_item FROM %s t WHERE NOT (%s))",
					fields.data, fields.data, item, relation_name(test_relid), all_null.data);
	src->test = test;
	src->test_user = "irec_context";
	src->test_item = "irec_item";
	src->items_sql = psprintf("SELECT item_id, embedding FROM %s", model->items_table);
	/* φ of every distinct context that has a value the model knows, in one join */
	src->users_sql = psprintf("SELECT x.irec_context AS user_id, %s.irec_context_combine(%s, ARRAY[%s]) AS embedding "
							  "FROM (SELECT DISTINCT * FROM (SELECT t.irec_context, %s FROM %s t) t) x%s "
							  "WHERE %s",
							  schema, quote_literal_cstr(model->context_model), object.data, fields.data, test,
							  joins.data, any_known.data);
	src->train = psprintf("(SELECT x.irec_context, s.%s AS irec_item FROM "
						  "(SELECT DISTINCT t.irec_context, t.%s FROM %s t) x JOIN %s s ON s.%s = x.%s)",
						  quote_identifier(model->item_column), first, test, model->source, first, first);
	src->train_user = "irec_context";
	src->train_item = "irec_item";
	src->dims = model->dims;
	src->model = model;
	src->fold_in = NULL;
}

/*
 * irec_evaluate_popularity(train, test, k, user_column, item_column,
 * threads): the same protocol for the most-popular baseline, which scores
 * every item by its number of training users.
 */
PG_FUNCTION_INFO_V1(irec_evaluate_popularity);
Datum
irec_evaluate_popularity(PG_FUNCTION_ARGS)
{
	EvalSources src;
	Oid			user_type;
	Oid			item_type;
	InteractionSource train;
	MemoryContext caller = CurrentMemoryContext;
	int			path_level;
	const char *schema;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("train, test and k of irec_evaluate_popularity must not be NULL"),
				 errhint("Pass a training table, a test table and a cutoff, like irec_evaluate_popularity('train', 'test', 20).")));
	src.k = (int) cutoff_arg(fcinfo, 2, "k");
	src.threads = threads_arg(fcinfo, 5);
	train.relid = PG_GETARG_OID(0);
	train.user_column = column_arg(fcinfo, 3, "user_id");
	train.item_column = column_arg(fcinfo, 4, "item_id");
	train.weight_column = NULL;
	interactions_check_source(&train, &user_type, &item_type);
	path_level = irec_restrict_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	schema = quote_identifier(irec_extension_schema());
	src.train = relation_name(train.relid);
	src.test = relation_name(PG_GETARG_OID(1));
	src.train_user = src.test_user = train.user_column;
	src.train_item = src.test_item = train.item_column;
	src.fold_in = NULL;
	src.model = NULL;
	if (!PG_ARGISNULL(6))
	{
		/* held-out users' histories are excluded like training rows */
		check_id_column(PG_GETARG_OID(6), src.test_user, user_type, "user", "training table");
		check_id_column(PG_GETARG_OID(6), src.test_item, item_type, "item", "training table");
		src.train = psprintf("(SELECT %s, %s FROM %s UNION ALL SELECT %s, %s FROM %s)",
							 quote_identifier(src.train_user), quote_identifier(src.train_item), src.train,
							 quote_identifier(src.train_user), quote_identifier(src.train_item),
							 relation_name(PG_GETARG_OID(6)));
	}
	check_id_column(PG_GETARG_OID(1), src.test_user, user_type, "user", "training table");
	check_id_column(PG_GETARG_OID(1), src.test_item, item_type, "item", "training table");
	/* popularity as a 1-dimensional model: item = [count], user = [1] */
	src.items_sql = psprintf("SELECT s.%s AS item_id, ARRAY[pg_catalog.count(DISTINCT s.%s)::float8]::%s.embedding AS embedding "
							 "FROM %s s WHERE s.%s IS NOT NULL AND s.%s IS NOT NULL GROUP BY 1",
							 quote_identifier(src.train_item), quote_identifier(src.train_user), schema,
							 src.train, quote_identifier(src.train_item), quote_identifier(src.train_user));
	src.users_sql = psprintf("SELECT d.uid AS user_id, '[1]'::%s.embedding AS embedding "
							 "FROM (SELECT DISTINCT t.%s AS uid FROM %s t) d",
							 schema, quote_identifier(src.test_user), src.test);
	src.dims = 1;
	PG_RETURN_DATUM(evaluate_and_finish(fcinfo, &src, caller, path_level));
}
