/*
 * embedding_ops.c
 *		Distances, norms and arithmetic on embeddings: the functions behind
 *		<#>, <->, <=>, + and -.
 *
 * All arithmetic is done by the shared kernels of core/vecmath.c; the index
 * scans call the same distance kernels, so ORDER BY through an ipivf index
 * and through a sort see the same value for every row.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "utils/float.h"

#include "core/vecmath.h"
#include "embedding.h"

PG_FUNCTION_INFO_V1(embedding_inner_product);
Datum
embedding_inner_product(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *b = PG_GETARG_EMBEDDING(1);

	embedding_check_same_dims(a, b);
	PG_RETURN_FLOAT8(vec_inner_product(a->x, b->x, a->dims));
}

/* <#>: negative inner product, so that ascending order ranks best first */
PG_FUNCTION_INFO_V1(embedding_negative_inner_product);
Datum
embedding_negative_inner_product(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *b = PG_GETARG_EMBEDDING(1);

	embedding_check_same_dims(a, b);
	PG_RETURN_FLOAT8(-vec_inner_product(a->x, b->x, a->dims));
}

PG_FUNCTION_INFO_V1(embedding_l2_distance);
Datum
embedding_l2_distance(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *b = PG_GETARG_EMBEDDING(1);

	embedding_check_same_dims(a, b);
	PG_RETURN_FLOAT8(vec_l2_distance(a->x, b->x, a->dims));
}

/*
 * embedding_cosine_distance: 1 − cos(a, b).  NaN when either side is the
 * zero vector, whose direction is undefined (NaN sorts after every number in
 * PostgreSQL, so such rows come last in ORDER BY).
 */
PG_FUNCTION_INFO_V1(embedding_cosine_distance);
Datum
embedding_cosine_distance(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *b = PG_GETARG_EMBEDDING(1);

	embedding_check_same_dims(a, b);
	PG_RETURN_FLOAT8(vec_cosine_distance(a->x, b->x, a->dims));
}

PG_FUNCTION_INFO_V1(embedding_l2_norm);
Datum
embedding_l2_norm(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	double		sum = 0.0;

	/* double accumulation: the norm of a large-valued vector must not overflow */
	for (int k = 0; k < a->dims; k++)
		sum += (double) a->x[k] * a->x[k];
	PG_RETURN_FLOAT8(sqrt(sum));
}

PG_FUNCTION_INFO_V1(embedding_dims);
Datum
embedding_dims(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);

	PG_RETURN_INT32(a->dims);
}

/* normalize: a/‖a‖; the zero vector stays zero (it has no direction) */
PG_FUNCTION_INFO_V1(embedding_normalize);
Datum
embedding_normalize(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *result = embedding_new(a->dims);
	double		sum = 0.0;

	for (int k = 0; k < a->dims; k++)
		sum += (double) a->x[k] * a->x[k];
	if (sum > 0.0)
	{
		double		norm = sqrt(sum);

		for (int k = 0; k < a->dims; k++)
			result->x[k] = (float) (a->x[k] / norm);
	}
	PG_RETURN_EMBEDDING(result);
}

PG_FUNCTION_INFO_V1(embedding_add);
Datum
embedding_add(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *b = PG_GETARG_EMBEDDING(1);
	Embedding  *result;

	embedding_check_same_dims(a, b);
	result = embedding_new(a->dims);
	vec_add(result->x, a->x, b->x, a->dims);
	if (!vec_all_finite(result->x, result->dims))
		embedding_overflow_error();
	PG_RETURN_EMBEDDING(result);
}

PG_FUNCTION_INFO_V1(embedding_sub);
Datum
embedding_sub(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *b = PG_GETARG_EMBEDDING(1);
	Embedding  *result;

	embedding_check_same_dims(a, b);
	result = embedding_new(a->dims);
	vec_sub(result->x, a->x, b->x, a->dims);
	if (!vec_all_finite(result->x, result->dims))
		embedding_overflow_error();
	PG_RETURN_EMBEDDING(result);
}

/* *: elementwise product; overflow and underflow refused as float4 * does */
PG_FUNCTION_INFO_V1(embedding_mul);
Datum
embedding_mul(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *b = PG_GETARG_EMBEDDING(1);
	Embedding  *result;
	int			range;

	embedding_check_same_dims(a, b);
	result = embedding_new(a->dims);
	range = vec_mul(result->x, a->x, b->x, a->dims);
	if (range > 0)
		embedding_overflow_error();
	if (range < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: underflow"),
				 errhint("A product of two nonzero components is below the smallest real (about 1.4e-45); rescale the embeddings.")));
	PG_RETURN_EMBEDDING(result);
}

/* <+>: L1 (taxicab) distance, as pgvector's l1_distance */
PG_FUNCTION_INFO_V1(embedding_l1_distance);
Datum
embedding_l1_distance(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *b = PG_GETARG_EMBEDDING(1);

	embedding_check_same_dims(a, b);
	PG_RETURN_FLOAT8(vec_l1_distance(a->x, b->x, a->dims));
}
