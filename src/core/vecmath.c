/*
 * vecmath.c
 *		Dense float vector kernels (see vecmath.h).
 *
 * One kernel per operation, used everywhere (STYLE "one way to do a thing").
 * Reductions accumulate in float: with -fassociative-math the compiler keeps
 * 8 or 16 partial sums in SIMD registers, which is both faster and, by
 * pairwise-like summation, no less accurate than a serial float sum.
 */
#include "vecmath.h"

#include <math.h>

float
vec_dot(const float *a, const float *b, size_t dims)
{
	float		sum = 0.0f;

	for (size_t k = 0; k < dims; k++)
		sum += a[k] * b[k];
	return sum;
}

float
vec_l2_squared(const float *a, const float *b, size_t dims)
{
	float		sum = 0.0f;

	for (size_t k = 0; k < dims; k++)
	{
		float		diff = a[k] - b[k];

		sum += diff * diff;
	}
	return sum;
}

float
vec_norm_squared(const float *a, size_t dims)
{
	float		sum = 0.0f;

	for (size_t k = 0; k < dims; k++)
		sum += a[k] * a[k];
	return sum;
}

double
vec_dot_double(const float *a, const float *b, size_t dims)
{
	double		sum = 0.0;

	for (size_t k = 0; k < dims; k++)
		sum += (double) a[k] * b[k];
	return sum;
}

double
vec_norm_squared_double(const float *a, size_t dims)
{
	double		sum = 0.0;

	for (size_t k = 0; k < dims; k++)
		sum += (double) a[k] * a[k];
	return sum;
}

/* A float sum is kept when it is finite and at least this large. */
#define FLOAT_SUM_SAFE 1e-30f

double
vec_inner_product(const float *a, const float *b, size_t dims)
{
	float		sum = vec_dot(a, b, dims);

	if (isfinite(sum) && fabsf(sum) >= FLOAT_SUM_SAFE)
		return sum;
	return vec_dot_double(a, b, dims);
}

double
vec_l2_distance(const float *a, const float *b, size_t dims)
{
	float		sum = vec_l2_squared(a, b, dims);
	double		exact = 0.0;

	if (isfinite(sum) && sum >= FLOAT_SUM_SAFE)
		return sqrt((double) sum);
	for (size_t k = 0; k < dims; k++)
	{
		double		diff = (double) a[k] - b[k];

		exact += diff * diff;
	}
	return sqrt(exact);
}

double
vec_l1_distance(const float *a, const float *b, size_t dims)
{
	float		sum = 0.0f;
	double		exact = 0.0;

	for (size_t k = 0; k < dims; k++)
		sum += fabsf(a[k] - b[k]);
	if (isfinite(sum))
		return sum;
	for (size_t k = 0; k < dims; k++)
		exact += fabs((double) a[k] - b[k]);
	return exact;
}

double
vec_cosine_from_sums(double ab, double aa, double bb)
{
	double		similarity;

	if (aa == 0.0 || bb == 0.0)
		return NAN;
	similarity = ab / sqrt(aa * bb);
	if (similarity > 1.0)
		similarity = 1.0;
	else if (similarity < -1.0)
		similarity = -1.0;
	return 1.0 - similarity;
}

double
vec_cosine_distance(const float *a, const float *b, size_t dims)
{
	return vec_cosine_from_sums(vec_dot_double(a, b, dims), vec_norm_squared_double(a, dims),
								vec_norm_squared_double(b, dims));
}

void
vec_add(float *out, const float *a, const float *b, size_t dims)
{
	for (size_t k = 0; k < dims; k++)
		out[k] = a[k] + b[k];
}

void
vec_sub(float *out, const float *a, const float *b, size_t dims)
{
	for (size_t k = 0; k < dims; k++)
		out[k] = a[k] - b[k];
}

int
vec_mul(float *out, const float *a, const float *b, size_t dims)
{
	int			finite = 1;
	int			vanished = 0;

	/* the checks are branch-free so that the product loop still vectorizes */
	for (size_t k = 0; k < dims; k++)
	{
		float		product = a[k] * b[k];

		finite &= isfinite(product) != 0;
		vanished |= (product == 0.0f) & (a[k] != 0.0f) & (b[k] != 0.0f);
		out[k] = product;
	}
	if (!finite)
		return 1;
	return vanished ? -1 : 0;
}

int
vec_compare(const float *a, size_t a_dims, const float *b, size_t b_dims)
{
	size_t		common = a_dims < b_dims ? a_dims : b_dims;

	for (size_t k = 0; k < common; k++)
	{
		if (a[k] < b[k])
			return -1;
		if (a[k] > b[k])
			return 1;
	}
	if (a_dims != b_dims)
		return a_dims < b_dims ? -1 : 1;
	return 0;
}

size_t
vec_count_greater(const float *x, size_t n, float threshold)
{
	/* a 32-bit lane counter lets the compare-and-add vectorize 16 wide */
	size_t		total = 0;

	for (size_t block = 0; block < n; block += 1u << 30)
	{
		size_t		end = n - block < (1u << 30) ? n : block + (1u << 30);
		unsigned	count = 0;

		for (size_t k = block; k < end; k++)
			count += x[k] > threshold;
		total += count;
	}
	return total;
}

size_t
vec_count_greater_equal(const float *x, size_t n, float threshold)
{
	size_t		total = 0;

	for (size_t block = 0; block < n; block += 1u << 30)
	{
		size_t		end = n - block < (1u << 30) ? n : block + (1u << 30);
		unsigned	count = 0;

		for (size_t k = block; k < end; k++)
			count += x[k] >= threshold;
		total += count;
	}
	return total;
}

int
vec_all_finite(const float *a, size_t dims)
{
	int			finite = 1;

	for (size_t k = 0; k < dims; k++)
		finite &= isfinite(a[k]) != 0;
	return finite;
}
