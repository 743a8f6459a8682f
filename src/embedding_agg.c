/*
 * embedding_agg.c
 *		sum(embedding) and avg(embedding).
 *
 * The transition state is a float8[] {count, s_1, ..., s_d} rather than
 * `internal`, so the aggregates are PARALLEL SAFE with a combine function and
 * Citus can split them into worker partials (DESIGN "SQL contract").  The
 * initial state is '{0}'; the first row fixes the dimension.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/float.h"

#include "core/agg_state.h"
#include "embedding.h"

/* Validate a state array and return its element pointer and dims. */
static float8 *
state_values(ArrayType *state, int *dims)
{
	if (ARR_NDIM(state) != 1 || ARR_HASNULL(state) ||
		ARR_ELEMTYPE(state) != FLOAT8OID ||
		agg_state_dims(AGG_STATE_EMBEDDING_SUM, (double *) ARR_DATA_PTR(state),
					   ARR_DIMS(state)[0], dims) != AGG_STATE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid embedding aggregate state"),
				 errhint("The state must be a one-dimensional double precision array {count, sums...} "
						 "without NULLs, as made by embedding_accum.")));
	return (float8 *) ARR_DATA_PTR(state);
}

static ArrayType *
state_new(int dims)
{
	Datum	   *zeros = palloc(sizeof(Datum) * (dims + 1));

	for (int k = 0; k <= dims; k++)
		zeros[k] = Float8GetDatum(0.0);
	return construct_array(zeros, dims + 1, FLOAT8OID, 8, FLOAT8PASSBYVAL,
						   TYPALIGN_DOUBLE);
}

/*
 * embedding_accum: add one embedding to the state.  As an aggregate
 * transition function it updates the state in place (like PostgreSQL's
 * float8_accum), avoiding an O(d) copy per row; called directly it copies.
 */
PG_FUNCTION_INFO_V1(embedding_accum);
Datum
embedding_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	Embedding  *value = PG_GETARG_EMBEDDING(1);
	int			dims;
	float8	   *sums = state_values(state, &dims);
	MemoryContext aggcontext;

	if (dims == 0 || !AggCheckCallContext(fcinfo, &aggcontext))
	{
		ArrayType  *fresh;
		float8	   *fresh_sums;
		MemoryContext old = NULL;

		if (dims != 0)
			embedding_check_aggregated_dims(dims, value->dims);
		if (AggCheckCallContext(fcinfo, &aggcontext))
			old = MemoryContextSwitchTo(aggcontext);
		fresh = state_new(value->dims);
		if (old)
			MemoryContextSwitchTo(old);
		fresh_sums = (float8 *) ARR_DATA_PTR(fresh);
		if (dims != 0)
			memcpy(fresh_sums, sums, sizeof(float8) * (dims + 1));
		state = fresh;
		sums = fresh_sums;
		dims = value->dims;
	}
	embedding_check_aggregated_dims(dims, value->dims);
	sums[0] += 1.0;
	for (int k = 0; k < dims; k++)
		sums[k + 1] += value->x[k];
	PG_RETURN_ARRAYTYPE_P(state);
}

/* embedding_combine: merge two partial states (parallel query, Citus). */
PG_FUNCTION_INFO_V1(embedding_combine);
Datum
embedding_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *left = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *right = PG_GETARG_ARRAYTYPE_P(1);
	int			left_dims;
	int			right_dims;
	float8	   *left_sums = state_values(left, &left_dims);
	float8	   *right_sums = state_values(right, &right_dims);
	ArrayType  *result;
	float8	   *sums;

	if (right_dims == 0)
		PG_RETURN_ARRAYTYPE_P(left);
	if (left_dims == 0)
		PG_RETURN_ARRAYTYPE_P(right);
	embedding_check_aggregated_dims(left_dims, right_dims);
	result = state_new(left_dims);
	sums = (float8 *) ARR_DATA_PTR(result);
	memcpy(sums, left_sums, sizeof(float8) * (left_dims + 1));
	agg_state_add(AGG_STATE_EMBEDDING_SUM, sums, right_sums, left_dims + 1);
	PG_RETURN_ARRAYTYPE_P(result);
}

static Datum
state_to_embedding(ArrayType *state, bool average)
{
	int			dims;
	float8	   *sums = state_values(state, &dims);
	Embedding  *result;

	if (dims == 0 || sums[0] == 0.0)
		return (Datum) 0;
	result = embedding_new(dims);
	for (int k = 0; k < dims; k++)
	{
		double		value = average ? sums[k + 1] / sums[0] : sums[k + 1];

		if (!isfinite(value) || fabs(value) > FLT_MAX)
			embedding_overflow_error();
		result->x[k] = (float) value;
	}
	return PointerGetDatum(result);
}

PG_FUNCTION_INFO_V1(embedding_sum_final);
Datum
embedding_sum_final(PG_FUNCTION_ARGS)
{
	Datum		result = state_to_embedding(PG_GETARG_ARRAYTYPE_P(0), false);

	if (result == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(embedding_avg_final);
Datum
embedding_avg_final(PG_FUNCTION_ARGS)
{
	Datum		result = state_to_embedding(PG_GETARG_ARRAYTYPE_P(0), true);

	if (result == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}
