/*
 * test_vecmath.c
 *		The vector kernels against straightforward double-precision sums.
 */
#include <stdlib.h>

#include "core/vecmath.h"
#include "unit.h"

static void
fill(float *x, size_t n, unsigned long long *state)
{
	for (size_t k = 0; k < n; k++)
		x[k] = (float) (unit_rand_uniform(state) * 2.0 - 1.0);
}

/* Every length from 1 to 130 (covers SIMD tails) and a long one. */
static void
test_kernels_match_reference(void)
{
	unsigned long long state = 42;
	static const size_t extra[] = {1000, 16000};

	for (size_t i = 0; i < 132; i++)
	{
		size_t		n = i < 130 ? i + 1 : extra[i - 130];
		float	   *a = malloc(n * sizeof(float));
		float	   *b = malloc(n * sizeof(float));
		float	   *c = malloc(n * sizeof(float));
		double		dot = 0, l2 = 0, aa = 0, bb = 0;

		fill(a, n, &state);
		fill(b, n, &state);
		for (size_t k = 0; k < n; k++)
		{
			dot += (double) a[k] * b[k];
			l2 += ((double) a[k] - b[k]) * ((double) a[k] - b[k]);
			aa += (double) a[k] * a[k];
			bb += (double) b[k] * b[k];
		}
		CHECK_NEAR(vec_dot(a, b, n), dot, 1e-5 * (1 + sqrt(aa * bb)));
		CHECK_NEAR(vec_l2_squared(a, b, n), l2, 1e-5 * (1 + l2));
		CHECK_NEAR(vec_norm_squared(a, n), aa, 1e-5 * (1 + aa));
		CHECK_NEAR(vec_cosine_distance(a, b, n), 1 - dot / sqrt(aa * bb), 1e-9);
		vec_add(c, a, b, n);
		for (size_t k = 0; k < n; k++)
			CHECK(c[k] == a[k] + b[k]);
		vec_sub(c, a, b, n);
		for (size_t k = 0; k < n; k++)
			CHECK(c[k] == a[k] - b[k]);
		free(a);
		free(b);
		free(c);
	}
}

static void
test_cosine_edge_cases(void)
{
	float		zero[3] = {0, 0, 0};
	float		x[3] = {1, 2, 3};
	float		minus_x[3] = {-1, -2, -3};
	float		y[3] = {2, 4, 6};

	CHECK(isnan(vec_cosine_distance(zero, x, 3)));
	CHECK(isnan(vec_cosine_distance(zero, zero, 3)));
	CHECK_NEAR(vec_cosine_distance(x, y, 3), 0.0, 1e-12);
	CHECK_NEAR(vec_cosine_distance(x, minus_x, 3), 2.0, 1e-12);
	CHECK(vec_cosine_distance(x, y, 3) >= 0.0);
}

static void
test_all_finite(void)
{
	float		x[5] = {1, 2, 3, 4, 5};

	CHECK(vec_all_finite(x, 5));
	x[3] = INFINITY;
	CHECK(!vec_all_finite(x, 5));
	x[3] = NAN;
	CHECK(!vec_all_finite(x, 5));
	x[3] = 0;
	x[4] = -INFINITY;
	CHECK(!vec_all_finite(x, 5));
}

int
main(void)
{
	RUN_TEST(test_kernels_match_reference);
	RUN_TEST(test_cosine_edge_cases);
	RUN_TEST(test_all_finite);
	return unit_tests_failed != 0;
}
