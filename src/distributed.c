/*
 * distributed.c
 *		iALS as SQL aggregates (DESIGN "Aggregates for the distributed path";
 *		CITUS-NOTES.md): the Gramian of a set of embeddings, the per-row
 *		accumulation A = Σ(α−α0)·h·hᵀ, b = Σ α·h, and the solve that turns
 *		an accumulation and the other side's Gramian into the row's new
 *		embedding.
 *
 * The states are double precision[], not internal: PostgreSQL's parallel
 * aggregation and Citus (which ships partial states between nodes through
 * the type's text form) can both combine them, and float8 text output is
 * exact.  Layouts:
 *	 Gramian:	{d, G[0..d²)}				(full symmetric matrix, row-major)
 *	 accum:		{d, count, A[0..d²), b[0..d)}
 * The initial state is '{}'; the first row fixes d.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "core/agg_state.h"
#include "core/ials.h"
#include "embedding.h"

extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);
extern void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
					double *b, const int *ldb, int *info, size_t uplo_len);

static ArrayType *
new_state(int n)
{
	ArrayType  *array;
	Size		bytes = ARR_OVERHEAD_NONULLS(1) + sizeof(float8) * n;

	array = (ArrayType *) palloc0(bytes);
	SET_VARSIZE(array, bytes);
	array->ndim = 1;
	array->dataoffset = 0;
	array->elemtype = FLOAT8OID;
	ARR_DIMS(array)[0] = n;
	ARR_LBOUND(array)[0] = 1;
	return array;
}

/* The state's values; n is its length, 0 for the initial '{}'. */
static float8 *
state_values(ArrayType *state, int *n)
{
	if (ARR_NDIM(state) == 0)
	{
		*n = 0;
		return NULL;
	}
	if (ARR_NDIM(state) != 1 || ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid irec aggregate state"),
				 errhint("States are one-dimensional double precision arrays without NULLs.")));
	*n = ARR_DIMS(state)[0];
	return (float8 *) ARR_DATA_PTR(state);
}

static void
check_state_size(int d)
{
	if (d > AGG_STATE_MAX_GRAMIAN_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("embeddings of %d dimensions are too large for irec's Gramian aggregates", d),
				 errdetail("The aggregates keep a %d × %d double precision matrix; the limit is %d dimensions.",
						   d, d, AGG_STATE_MAX_GRAMIAN_DIMS),
				 errhint("Use irec_train with engine => 'memory' for such models.")));
}

/* The checked dimension of a non-empty state of `layout`. */
static int
state_dims(AggStateLayout layout, const float8 *values, int n)
{
	int			d = 0;

	switch (agg_state_dims(layout, values, n, &d))
	{
		case AGG_STATE_OK:
			return d;
		case AGG_STATE_BAD_DIMS:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("invalid irec aggregate state: dimension %g", values[0]),
					 errhint("Pass states made by irec_gramian or irec_ials_accum.")));
			break;
		case AGG_STATE_BAD_COUNT:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("invalid irec aggregate state: row count %g", values[1]),
					 errhint("Pass states made by irec_ials_accum.")));
			break;
		case AGG_STATE_BAD_LENGTH:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("invalid irec aggregate state: %d values for dimension %d", n, (int) values[0]),
					 errhint("Pass states made by irec_gramian or irec_ials_accum.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("invalid irec aggregate state: %d values", n),
					 errhint("Pass states made by irec_gramian or irec_ials_accum.")));
	}
	return 0;
}

/*
 * Transition functions modify their state in place when called as an
 * aggregate (as PostgreSQL's float8_accum does), so a group costs O(d²) per
 * row and no copies.
 */
static ArrayType *
writable_state(FunctionCallInfo fcinfo, ArrayType *state, int n, int needed)
{
	MemoryContext aggcontext;

	if (n == needed && AggCheckCallContext(fcinfo, &aggcontext))
		return state;
	if (n == 0)
	{
		MemoryContext old = NULL;
		ArrayType  *fresh;

		if (AggCheckCallContext(fcinfo, &aggcontext))
			old = MemoryContextSwitchTo(aggcontext);
		fresh = new_state(needed);
		if (old)
			MemoryContextSwitchTo(old);
		return fresh;
	}
	/* called directly: do not scribble on the argument */
	{
		ArrayType  *copy = new_state(needed);

		memcpy(ARR_DATA_PTR(copy), ARR_DATA_PTR(state), sizeof(float8) * needed);
		return copy;
	}
}

static void
check_finite(double value, const char *what)
{
	if (!isfinite(value))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be finite", what),
				 errhint("Pass finite numbers; NaN and infinity cannot weigh an interaction.")));
}

/* irec_gramian transition: G += w·h·hᵀ (w = 1 without a weight argument). */
PG_FUNCTION_INFO_V1(irec_gramian_accum);
Datum
irec_gramian_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	Embedding  *h = PG_GETARG_EMBEDDING(1);
	double		w = PG_NARGS() > 2 ? PG_GETARG_FLOAT8(2) : 1.0;
	int			n;
	float8	   *values = state_values(state, &n);
	int			d = h->dims;
	float8	   *g;

	check_finite(w, "weight");
	check_state_size(d);
	if (n > 0)
		embedding_check_aggregated_dims(state_dims(AGG_STATE_GRAMIAN, values, n), d);
	state = writable_state(fcinfo, state, n, 1 + d * d);
	g = (float8 *) ARR_DATA_PTR(state);
	g[0] = d;
	for (int r = 0; r < d; r++)
	{
		double		hr = w * h->x[r];
		float8	   *row = g + 1 + (size_t) r * d;

		for (int c = 0; c < d; c++)
			row[c] += hr * h->x[c];
	}
	PG_RETURN_ARRAYTYPE_P(state);
}

/* Element-wise sum of two states of either layout. */
static Datum
combine(FunctionCallInfo fcinfo, AggStateLayout layout)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	int			na;
	int			nb;
	float8	   *va = state_values(a, &na);
	float8	   *vb = state_values(b, &nb);
	ArrayType  *result;

	if (nb == 0)
		PG_RETURN_ARRAYTYPE_P(a);
	if (na == 0)
		PG_RETURN_ARRAYTYPE_P(b);
	embedding_check_aggregated_dims(state_dims(layout, va, na), state_dims(layout, vb, nb));
	result = new_state(na);
	memcpy(ARR_DATA_PTR(result), va, sizeof(float8) * na);
	agg_state_add(layout, (double *) ARR_DATA_PTR(result), vb, na);
	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(irec_gramian_combine);
Datum
irec_gramian_combine(PG_FUNCTION_ARGS)
{
	return combine(fcinfo, AGG_STATE_GRAMIAN);
}

/* irec_gramian final: the d×d matrix as a flat double precision[] (NULL for no rows). */
PG_FUNCTION_INFO_V1(irec_gramian_final);
Datum
irec_gramian_final(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	int			n;
	float8	   *values = state_values(state, &n);
	int			d;
	ArrayType  *result;

	if (n == 0)
		PG_RETURN_NULL();
	d = state_dims(AGG_STATE_GRAMIAN, values, n);
	result = new_state(d * d);
	memcpy(ARR_DATA_PTR(result), values + 1, sizeof(float8) * d * d);
	PG_RETURN_ARRAYTYPE_P(result);
}

/* irec_ials_accum transition: count++, A += (α−α0)·h·hᵀ, b += α·h. */
PG_FUNCTION_INFO_V1(irec_ials_accum_transition);
Datum
irec_ials_accum_transition(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	Embedding  *h = PG_GETARG_EMBEDDING(1);
	double		alpha = PG_GETARG_FLOAT8(2);
	double		alpha0 = PG_GETARG_FLOAT8(3);
	int			n;
	float8	   *values = state_values(state, &n);
	int			d = h->dims;
	float8	   *v;
	float8	   *a;
	float8	   *b;

	check_finite(alpha, "confidence");
	check_finite(alpha0, "unobserved_weight");
	check_state_size(d);
	if (n > 0)
		embedding_check_aggregated_dims(state_dims(AGG_STATE_IALS_ACCUM, values, n), d);
	state = writable_state(fcinfo, state, n, 2 + d * d + d);
	v = (float8 *) ARR_DATA_PTR(state);
	v[0] = d;
	v[1] += 1;
	a = v + 2;
	b = a + (size_t) d * d;
	for (int r = 0; r < d; r++)
	{
		double		hr = (alpha - alpha0) * h->x[r];
		float8	   *row = a + (size_t) r * d;

		for (int c = 0; c < d; c++)
			row[c] += hr * h->x[c];
		b[r] += alpha * h->x[r];
	}
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(irec_ials_accum_combine);
Datum
irec_ials_accum_combine(PG_FUNCTION_ARGS)
{
	return combine(fcinfo, AGG_STATE_IALS_ACCUM);
}

/*
 * irec_ials_solve(accum, gram, regularization, regularization_exponent,
 * unobserved_weight, n_other): the row's embedding x solving
 *	 (α0·G + A + λ_c·I)·x = b,	λ_c = λ·(count + α0·n_other)^ν,
 * the iALS row update of DESIGN §5.1, by a double-precision Cholesky.
 */
PG_FUNCTION_INFO_V1(irec_ials_solve);
Datum
irec_ials_solve(PG_FUNCTION_ARGS)
{
	ArrayType  *accum = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *gram = PG_GETARG_ARRAYTYPE_P(1);
	double		lambda = PG_GETARG_FLOAT8(2);
	double		nu = PG_GETARG_FLOAT8(3);
	double		alpha0 = PG_GETARG_FLOAT8(4);
	int64		n_other = PG_GETARG_INT64(5);
	int			n;
	int			ng;
	float8	   *v = state_values(accum, &n);
	float8	   *g = state_values(gram, &ng);
	int			d;
	double	   *m;
	double	   *rhs;
	double		lambda_c;
	int			info = 0;
	int			one = 1;
	Embedding  *result;

	if (n == 0)
		PG_RETURN_NULL();
	d = state_dims(AGG_STATE_IALS_ACCUM, v, n);
	if (ng != d * d)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the Gramian has %d values, not %d × %d", ng, d, d),
				 errhint("Pass irec_gramian(embedding) of the other side.")));
	if (!(lambda > 0) || !isfinite(lambda) || !(nu >= 0) || !isfinite(nu) ||
		!(alpha0 >= 0) || !isfinite(alpha0) || n_other < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid iALS parameters"),
				 errhint("regularization must be positive, the exponent and the unobserved weight not negative.")));
	lambda_c = lambda * (nu == 0 ? 1.0 : pow(v[1] + alpha0 * (double) n_other, nu));
	m = palloc(sizeof(double) * d * d);
	rhs = palloc(sizeof(double) * d);
	for (int k = 0; k < d * d; k++)
		m[k] = alpha0 * g[k] + v[2 + k];
	for (int k = 0; k < d; k++)
	{
		m[(size_t) k * d + k] += lambda_c;
		rhs[k] = v[2 + d * d + k];
	}
	dpotrf_("L", &d, m, &d, &info, 1);
	if (info == 0)
		dpotrs_("L", &d, &one, m, &d, rhs, &d, &info, 1);
	if (info != 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("iALS solve failed: the row's system is not positive definite"),
				 errhint("Increase regularization.")));
	result = embedding_new(d);
	for (int k = 0; k < d; k++)
	{
		if (!isfinite(rhs[k]) || fabs(rhs[k]) > FLT_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("iALS solve overflowed"),
					 errhint("Increase regularization.")));
		result->x[k] = (float) rhs[k];
	}
	PG_RETURN_EMBEDDING(result);
}

/*
 * irec_init_embedding(seed, side, index, dims, std): the initial embedding
 * irec_train's in-memory engine gives dense row `index` of `side` (1 users,
 * 2 items), so the SQL engine starts from the same point.
 */
PG_FUNCTION_INFO_V1(irec_init_embedding);
Datum
irec_init_embedding(PG_FUNCTION_ARGS)
{
	int64		seed = PG_GETARG_INT64(0);
	int32		side = PG_GETARG_INT32(1);
	int64		index = PG_GETARG_INT64(2);
	int32		dims = PG_GETARG_INT32(3);
	double		std = PG_GETARG_FLOAT8(4);
	Embedding  *result;

	embedding_check_dims(dims);
	if (index < 0 || !(std > 0) || !isfinite(std))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid index or standard deviation"),
				 errhint("The index must not be negative and the standard deviation must be positive and finite.")));
	result = embedding_new(dims);
	ials_init_rows(result->x, (size_t) index, 1, dims, std, (uint64) seed, (uint64) side);
	PG_RETURN_EMBEDDING(result);
}
