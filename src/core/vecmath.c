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
vec_cosine_distance(const float *a, const float *b, size_t dims)
{
	double		ab = 0.0;
	double		aa = 0.0;
	double		bb = 0.0;
	double		similarity;

	for (size_t k = 0; k < dims; k++)
	{
		ab += (double) a[k] * b[k];
		aa += (double) a[k] * a[k];
		bb += (double) b[k] * b[k];
	}
	if (aa == 0.0 || bb == 0.0)
		return NAN;
	similarity = ab / sqrt(aa * bb);
	if (similarity > 1.0)
		similarity = 1.0;
	else if (similarity < -1.0)
		similarity = -1.0;
	return 1.0 - similarity;
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
