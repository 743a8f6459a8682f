/*
 * test_vecmath.c
 *		The vector kernels against straightforward double-precision sums.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

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
		double		dot = 0, l2 = 0, l1 = 0, aa = 0, bb = 0;

		fill(a, n, &state);
		fill(b, n, &state);
		for (size_t k = 0; k < n; k++)
		{
			l1 += fabs((double) a[k] - b[k]);
			dot += (double) a[k] * b[k];
			l2 += ((double) a[k] - b[k]) * ((double) a[k] - b[k]);
			aa += (double) a[k] * a[k];
			bb += (double) b[k] * b[k];
		}
		CHECK_NEAR(vec_dot(a, b, n), dot, 1e-5 * (1 + sqrt(aa * bb)));
		CHECK_NEAR(vec_l2_squared(a, b, n), l2, 1e-5 * (1 + l2));
		CHECK_NEAR(vec_norm_squared(a, n), aa, 1e-5 * (1 + aa));
		CHECK_NEAR(vec_cosine_distance(a, b, n), 1 - dot / sqrt(aa * bb), 1e-9);
		CHECK_NEAR(vec_l1_distance(a, b, n), l1, 1e-5 * (1 + l1));
		CHECK(vec_mul(c, a, b, n) == 0);
		for (size_t k = 0; k < n; k++)
			CHECK(c[k] == a[k] * b[k]);
		CHECK(vec_compare(a, n, a, n) == 0);
		CHECK(vec_compare(a, n, b, n) == -vec_compare(b, n, a, n));
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

/*
 * The distances the SQL operators return, at every magnitude float holds:
 * within float rounding of the exact value, where a float sum would have
 * overflowed (1e20-scale vectors) or underflowed (1e-25-scale vectors).
 */
static void
test_distances_any_magnitude(void)
{
	static const double scales[] = {1e-44, 1e-30, 1e-25, 1e-19, 1.0, 1e19, 1e20, 1e30, 3e38};
	unsigned long long state = 7;

	for (int s = 0; s < 9; s++)
		for (int t = 0; t < 9; t++)
			for (size_t n = 1; n <= 67; n += 11)
			{
				float		a[67];
				float		b[67];
				double		dot = 0, l2 = 0, l1 = 0, aa = 0, bb = 0, mag = 0;

				for (size_t k = 0; k < n; k++)
				{
					a[k] = (float) ((unit_rand_uniform(&state) * 2 - 1) * scales[s]);
					b[k] = (float) ((unit_rand_uniform(&state) * 2 - 1) * scales[t]);
					dot += (double) a[k] * b[k];
					mag += fabs((double) a[k] * b[k]);
					l2 += ((double) a[k] - b[k]) * ((double) a[k] - b[k]);
					l1 += fabs((double) a[k] - b[k]);
					aa += (double) a[k] * a[k];
					bb += (double) b[k] * b[k];
				}
				CHECK(isfinite(vec_inner_product(a, b, n)));
				CHECK_NEAR(vec_inner_product(a, b, n), dot, 1e-5 * mag);
				CHECK_NEAR(vec_l2_distance(a, b, n), sqrt(l2), 1e-5 * sqrt(l2));
				CHECK(isfinite(vec_l1_distance(a, b, n)));
				CHECK_NEAR(vec_l1_distance(a, b, n), l1, 1e-5 * l1);
				CHECK(vec_l1_distance(a, b, n) == vec_l1_distance(b, a, n));
				if (aa > 0 && bb > 0)
					CHECK_NEAR(vec_cosine_distance(a, b, n), 1 - dot / sqrt(aa * bb), 1e-9);
				{
					double		direct = vec_cosine_distance(a, b, n);
					double		from_sums = vec_cosine_from_sums(vec_dot_double(a, b, n),
																 vec_norm_squared_double(a, n),
																 vec_norm_squared_double(b, n));

					CHECK(direct == from_sums || (isnan(direct) && isnan(from_sums) && (aa == 0 || bb == 0)));
				}
			}
	/* one component at the top of the range: the float sum overflows */
	{
		float		big[2] = {FLT_MAX, FLT_MAX};
		float		minus[2] = {-FLT_MAX, -FLT_MAX};

		CHECK_NEAR(vec_l2_distance(big, minus, 2), 2 * sqrt(2.0) * FLT_MAX, 1e-6 * FLT_MAX);
		CHECK_NEAR(vec_inner_product(big, big, 2), 2.0 * FLT_MAX * FLT_MAX, 1e-6 * FLT_MAX * FLT_MAX);
		CHECK_NEAR(vec_cosine_distance(big, minus, 2), 2.0, 1e-12);
		CHECK(vec_l1_distance(big, minus, 2) == 4.0 * FLT_MAX);
	}
	/* denormal differences keep their value: L1 has no products to underflow */
	{
		float		tiny[2] = {1e-45f, 0.0f};
		float		zero[2] = {0.0f, 0.0f};

		CHECK(vec_l1_distance(tiny, zero, 2) == (double) 1e-45f);
	}
}

/* Products that leave float are reported, as PostgreSQL's float4 * does. */
static void
test_mul_range(void)
{
	float		a[3] = {1e37f, 2.0f, 0.0f};
	float		b[3] = {1e37f, 3.0f, 5.0f};
	float		small[3] = {1e-37f, 2.0f, 0.0f};
	float		out[3];

	CHECK(vec_mul(out, a, b, 3) == 1);
	CHECK(vec_mul(out, small, small, 3) == -1);
	/* a zero factor is no underflow */
	a[0] = 4.0f;
	CHECK(vec_mul(out, a, b, 3) == 0 && out[0] == 4e37f && out[1] == 6.0f && out[2] == 0.0f);
	/* the result may overwrite an operand */
	CHECK(vec_mul(a, a, b, 3) == 0 && a[1] == 6.0f);
}

/* The comparison order: components first, then length; −0 equals +0. */
static void
test_compare(void)
{
	float		x123[3] = {1, 2, 3};
	float		x12[2] = {1, 2};
	float		x234[3] = {2, 3, 4};
	float		x13[2] = {1, 3};
	float		zero[1] = {0.0f};
	float		minus_zero[1] = {-0.0f};

	CHECK(vec_compare(x12, 2, x123, 3) < 0);
	CHECK(vec_compare(x123, 3, x12, 2) > 0);
	CHECK(vec_compare(x12, 2, x234, 3) < 0);
	CHECK(vec_compare(x13, 2, x123, 3) > 0);
	CHECK(vec_compare(x123, 3, x123, 3) == 0);
	CHECK(vec_compare(zero, 1, minus_zero, 1) == 0);
}

/*
 * A kernel gives the same bits for the same values wherever they lie in
 * memory: the index scores vectors on its pages, a sort scores them in heap
 * tuples, and both must order rows identically.
 */
static void
test_same_bits_at_any_alignment(void)
{
	unsigned long long state = 11;
	float	   *buffer_a = malloc(sizeof(float) * (2000 + 32));
	float	   *buffer_b = malloc(sizeof(float) * (2000 + 32));

	for (size_t n = 1; n <= 2000; n = n * 3 + 1)
	{
		float	   *a = malloc(sizeof(float) * n);
		float	   *b = malloc(sizeof(float) * n);
		double		ip, l2, l1, cosine;
		float		dot, squared;

		fill(a, n, &state);
		fill(b, n, &state);
		ip = vec_inner_product(a, b, n);
		l2 = vec_l2_distance(a, b, n);
		cosine = vec_cosine_distance(a, b, n);
		l1 = vec_l1_distance(a, b, n);
		dot = vec_dot(a, b, n);
		squared = vec_l2_squared(a, b, n);
		for (int shift_a = 0; shift_a < 16; shift_a++)
			for (int shift_b = 0; shift_b < 16; shift_b += 3)
			{
				float	   *pa = buffer_a + shift_a;
				float	   *pb = buffer_b + shift_b;

				memcpy(pa, a, sizeof(float) * n);
				memcpy(pb, b, sizeof(float) * n);
				CHECK(vec_dot(pa, pb, n) == dot);
				CHECK(vec_l2_squared(pa, pb, n) == squared);
				CHECK(vec_inner_product(pa, pb, n) == ip);
				CHECK(vec_inner_product(pb, pa, n) == ip);
				CHECK(vec_l2_distance(pa, pb, n) == l2);
				CHECK(vec_l2_distance(pb, pa, n) == l2);
				CHECK(vec_cosine_distance(pa, pb, n) == cosine);
				CHECK(vec_l1_distance(pa, pb, n) == l1);
				CHECK(vec_l1_distance(pb, pa, n) == l1);
			}
		free(a);
		free(b);
	}
	free(buffer_a);
	free(buffer_b);
}

/*
 * Every kernel build this CPU runs (portable, AVX2, AVX-512) against double
 * sums and against each other: sums to rounding, counts exactly, and the
 * same top-10 by inner product over 2,000 random items.  A build the CPU
 * lacks cannot run here; the line on stderr says which ones were checked.
 */
static int
top10_by_dot(const float *items, size_t n, const float *q, int dims, int *out)
{
	float		best[10];

	for (int t = 0; t < 10; t++)
	{
		best[t] = -FLT_MAX;
		out[t] = -1;
	}
	for (size_t i = 0; i < n; i++)
	{
		float		s = vec_dot(items + i * dims, q, dims);
		int			t = 9;

		if (s <= best[9])
			continue;
		while (t > 0 && best[t - 1] < s)
		{
			best[t] = best[t - 1];
			out[t] = out[t - 1];
			t--;
		}
		best[t] = s;
		out[t] = (int) i;
	}
	return 0;
}

static void
test_simd_variants_agree(void)
{
	static const size_t lengths[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 128, 257, 512, 1000};
	enum {n_items = 2000, dims = 64, n_queries = 20};
	unsigned long long state = 99;
	float	   *a = malloc(sizeof(float) * 1000);
	float	   *b = malloc(sizeof(float) * 1000);
	float	   *y = malloc(sizeof(float) * 1000);
	float	   *items = malloc(sizeof(float) * n_items * dims);
	float	   *queries = malloc(sizeof(float) * n_queries * dims);
	int			reference[n_queries][10];
	VecSimdLevel best = vec_simd_best();
	VecSimdLevel before = vec_simd_level();

	fill(items, (size_t) n_items * dims, &state);
	fill(queries, (size_t) n_queries * dims, &state);
	CHECK(vec_simd_use(VEC_SIMD_PORTABLE));
	for (int q = 0; q < n_queries; q++)
		top10_by_dot(items, n_items, queries + q * dims, dims, reference[q]);
	CHECK(before == best);		/* the library chose the best at load */
	CHECK(!vec_simd_use(VEC_SIMD_LEVELS));
	for (int level = VEC_SIMD_PORTABLE; level <= (int) best; level++)
	{
		CHECK(vec_simd_use((VecSimdLevel) level));
		CHECK(vec_simd_level() == (VecSimdLevel) level);
		for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++)
		{
			size_t		n = lengths[l];
			double		dot = 0, l2 = 0, norm = 0, scale_dot = 0, scale_l2 = 0;
			size_t		greater = 0, greater_equal = 0;

			fill(a, n, &state);
			fill(b, n, &state);
			b[n / 2] = a[n / 2];	/* a tie for the counts */
			for (size_t k = 0; k < n; k++)
			{
				double		diff = (double) a[k] - b[k];

				dot += (double) a[k] * b[k];
				scale_dot += fabs((double) a[k] * b[k]);
				l2 += diff * diff;
				norm += (double) a[k] * a[k];
				greater += a[k] > a[n / 2];
				greater_equal += a[k] >= a[n / 2];
			}
			scale_l2 = l2 + 1e-30;
			CHECK_NEAR(vec_dot(a, b, n), dot, 1e-6 * scale_dot + 1e-7);
			CHECK_NEAR(vec_l2_squared(a, b, n), l2, 1e-6 * scale_l2);
			CHECK_NEAR(vec_norm_squared(a, n), norm, 1e-6 * norm);
			CHECK_NEAR(vec_dot_double(a, b, n), dot, 1e-12 * scale_dot);
			CHECK_NEAR(vec_norm_squared_double(a, n), norm, 1e-12 * norm);
			CHECK(vec_count_greater(a, n, a[n / 2]) == greater);
			/* the index's integer sums: exact, so every variant agrees to the bit */
			for (int extreme = 0; extreme < 3; extreme++)
			{
				int16_t		ints[2000];
				uint8_t		codes[2000];
				size_t		m = l + 1 == sizeof(lengths) / sizeof(lengths[0]) ? 2000 : n;	/* up to IPIVF_MAX_DIMS */
				int64_t		expected = 0;

				for (size_t k = 0; k < m; k++)
				{
					/* random; then the largest magnitudes, where 32-bit sums would overflow */
					ints[k] = extreme == 0 ? (int16_t) ((int) (unit_rand_uniform(&state) * 65535) - 32767)
						: extreme == 1 ? 32767 : -32767;
					codes[k] = extreme == 0 ? (uint8_t) ((k * 37 + l * 11) % 256) : 255;
					expected += (int64_t) ints[k] * codes[k];
				}
				CHECK(vec_dot_s16u8(ints, codes, m) == expected);
				{
					const uint8_t *rows[3] = {codes, codes, codes};
					int64_t		many[3];

					vec_dot_s16u8_many(ints, rows, 3, m, many);
					for (int r = 0; r < 3; r++)
						CHECK(many[r] == expected);
				}
			}
			CHECK(vec_count_greater_equal(a, n, a[n / 2]) == greater_equal);

			memcpy(y, b, sizeof(float) * n);
			vec_axpy(y, 0.75f, a, n);
			for (size_t k = 0; k < n; k++)
				CHECK_NEAR(y[k], (double) b[k] + 0.75 * a[k], 2e-7);
			memcpy(y, b, sizeof(float) * n);
			vec_axpby(y, -0.5f, a, 2.0f, n);
			for (size_t k = 0; k < n; k++)
				CHECK_NEAR(y[k], -0.5 * a[k] + 2.0 * b[k], 4e-7);
			/*
			 * iALS's fused data term over 7 rows (a block of four and three
			 * single ones), some repeated, against double sums
			 */
			{
				static const int32_t cols[7] = {3, 0, 5, 3, 1, 4, 2};
				float		weights[7] = {1.0f, 3.0f, 0.5f, 2.0f, 1.0f, 7.0f, 1.5f};
				float	   *base = malloc(sizeof(float) * 6 * n);
				unsigned long long rows_state = 7;	/* apart from the shared stream */

				for (size_t k = 0; k < 6 * n; k++)
					base[k] = (float) (unit_rand_uniform(&rows_state) - 0.5);
				for (int mode = 0; mode < 2; mode++)
				{
					float		add = mode == 0 ? 0.0f : 1.0f;
					float		scale = mode == 0 ? 1.0f : -1.0f;

					memcpy(y, b, sizeof(float) * n);
					/* the next call's rows, which only the kernels' prefetches see */
					vec_sparse_rank1_apply(y, a, base, cols, weights, 7, cols + 2, mode == 0 ? 0 : 5,
										   n, 0.1f, add, scale);
					for (size_t k = 0; k < n; k++)
					{
						double		expected = b[k];
						double		size = fabs(b[k]);

						for (int j = 0; j < 7; j++)
						{
							const float *h = base + (size_t) cols[j] * n;
							double		t = 0.0;
							double		t_size = 0.0;

							for (size_t c = 0; c < n; c++)
							{
								t += (double) h[c] * a[c];
								t_size += fabs((double) h[c] * a[c]);
							}
							expected += (add * weights[j] + scale * (weights[j] - 0.1) * t) * h[k];
							size += (fabs(weights[j]) + fabs(weights[j] - 0.1) * t_size) * fabs(h[k]);
						}
						CHECK_NEAR(y[k], expected, 1e-6 * (size + 1.0));
					}
				}
				free(base);
			}
			memcpy(y, a, sizeof(float) * n);
			vec_exp(y, n);
			for (size_t k = 0; k < n; k++)
				CHECK_NEAR(y[k], exp((double) a[k]), 1e-6 * exp((double) a[k]));
			/* the softmax's row passes: mask and shift, max, shifted exp and sum, scale */
			{
				int32_t    *ids = malloc(sizeof(int32_t) * n);
				float		top;
				double		expected_top = -3.4028235e38;
				double		expected_sum = 0.0;
				float		sum;

				for (size_t k = 0; k < n; k++)
					ids[k] = (int32_t) (k % 7);
				memcpy(y, a, sizeof(float) * n);
				top = vec_logits_max(y, b, ids, 3, -1e30f, n);
				for (size_t k = 0; k < n; k++)
				{
					double		want = ids[k] == 3 ? -1e30 : (double) a[k] - b[k];

					CHECK_NEAR(y[k], want, 1e-6 * fabs(want));
					if (want > expected_top)
						expected_top = want;
				}
				CHECK_NEAR(top, expected_top, 1e-6 * fabs(expected_top));
				memcpy(y, a, sizeof(float) * n);
				top = vec_logits_max(y, NULL, ids, -1, -1e30f, n);
				expected_top = -3.4028235e38;
				for (size_t k = 0; k < n; k++)
				{
					CHECK(y[k] == a[k]);
					if (a[k] > expected_top)
						expected_top = a[k];
				}
				CHECK(top == (float) expected_top);
				sum = vec_exp_sum(y, n, top);
				for (size_t k = 0; k < n; k++)
				{
					double		want = exp((double) a[k] - top);

					CHECK_NEAR(y[k], want, 1e-6 * want + 1e-30);
					expected_sum += want;
				}
				CHECK_NEAR(sum, expected_sum, 1e-5 * expected_sum);
				memcpy(y, a, sizeof(float) * n);
				vec_scale(y, 0.37f, n);
				for (size_t k = 0; k < n; k++)
					CHECK_NEAR(y[k], 0.37 * a[k], 1e-6 * fabs(a[k]));
				free(ids);
			}
		}
		for (int q = 0; q < n_queries; q++)
		{
			int			top[10];

			top10_by_dot(items, n_items, queries + q * dims, dims, top);
			CHECK(memcmp(top, reference[q], sizeof(top)) == 0);
		}
		fprintf(stderr, "# simd variant %s checked\n", vec_simd_name((VecSimdLevel) level));
	}
	for (int level = (int) best + 1; level < VEC_SIMD_LEVELS; level++)
	{
		CHECK(!vec_simd_use((VecSimdLevel) level));
		fprintf(stderr, "# simd variant %s not supported by this CPU: not run\n",
				vec_simd_name((VecSimdLevel) level));
	}
	CHECK(vec_simd_use(before));
	free(a);
	free(b);
	free(y);
	free(items);
	free(queries);
}

int
main(void)
{
	RUN_TEST(test_kernels_match_reference);
	RUN_TEST(test_cosine_edge_cases);
	RUN_TEST(test_all_finite);
	RUN_TEST(test_distances_any_magnitude);
	RUN_TEST(test_same_bits_at_any_alignment);
	RUN_TEST(test_mul_range);
	RUN_TEST(test_compare);
	RUN_TEST(test_simd_variants_agree);
	return unit_tests_failed != 0;
}
