/*
 * test_id_sort.c
 *		The loader's radix sorts against slow references: dense ranks
 *		against counting the smaller distinct ids, merged pairs against a
 *		quadratic search, on ids of every sign and magnitude.
 */
#include <stdlib.h>
#include <string.h>

#include "core/id_sort.h"
#include "core/rng.h"
#include "unit.h"

static int
compare_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

static void
test_radix_sort_matches_qsort_and_is_stable(void)
{
	size_t		n = 5000;
	uint64_t   *keys = malloc(sizeof(uint64_t) * n);
	uint64_t   *expected = malloc(sizeof(uint64_t) * n);
	uint32_t   *payload = malloc(sizeof(uint32_t) * n);
	uint64_t   *tmp = malloc(sizeof(uint64_t) * n);
	uint32_t   *tmp_payload = malloc(sizeof(uint32_t) * n);
	Rng			rng;

	rng_seed(&rng, 5, 0);
	for (int spread = 0; spread < 3; spread++)
	{
		for (size_t r = 0; r < n; r++)
		{
			uint64_t	x = rng_next(&rng);

			/* few distinct keys (many ties), a 16-bit range, any 64 bits */
			keys[r] = spread == 0 ? x % 7 : spread == 1 ? x & 0xffff : x;
			expected[r] = keys[r];
			payload[r] = (uint32_t) r;
		}
		qsort(expected, n, sizeof(uint64_t), compare_u64);
		radix_sort_u64(keys, payload, n, tmp, tmp_payload);
		CHECK(memcmp(keys, expected, sizeof(uint64_t) * n) == 0);
		for (size_t r = 1; r < n; r++)
			if (keys[r] == keys[r - 1])
				CHECK(payload[r] > payload[r - 1]);
	}
	free(keys);
	free(expected);
	free(payload);
	free(tmp);
	free(tmp_payload);
}

static void
test_dense_rank_against_counting(void)
{
	static const int64_t extremes[] = {INT64_MIN, -1, 0, 1, INT64_MAX, -4294967296LL, 4294967296LL};
	size_t		n = 600;
	int64_t    *ids = malloc(sizeof(int64_t) * n);
	int32_t    *rank = malloc(sizeof(int32_t) * n);
	int64_t    *distinct = malloc(sizeof(int64_t) * n);
	uint64_t   *work = malloc(sizeof(uint64_t) * 2 * n);
	uint32_t   *work_payload = malloc(sizeof(uint32_t) * 2 * n);
	Rng			rng;
	size_t		count;

	rng_seed(&rng, 9, 0);
	for (int narrow = 0; narrow < 2; narrow++)
	{
		/* every magnitude (sorted), then serial-like ids with gaps (the range table) */
		for (size_t r = 0; r < n; r++)
			ids[r] = narrow ? 1000000007LL + (int64_t) (rng_next(&rng) % 900)
				: r % 3 == 0 ? extremes[rng_next(&rng) % 7]
				: (int64_t) (rng_next(&rng) % 200) - 100;
		count = dense_rank_i64(ids, n, rank, distinct, work, work_payload);
		for (size_t k = 1; k < count; k++)
			CHECK(distinct[k - 1] < distinct[k]);
		for (size_t r = 0; r < n; r++)
		{
			int32_t		smaller = 0;

			/* the rank is the number of distinct ids below this one */
			for (size_t k = 0; k < count; k++)
				smaller += distinct[k] < ids[r];
			CHECK(rank[r] == smaller);
			CHECK(distinct[rank[r]] == ids[r]);
		}
		/* every id is among the distinct ones, and nothing else is */
		for (size_t k = 0; k < count; k++)
		{
			int			seen = 0;

			for (size_t r = 0; r < n && !seen; r++)
				seen = ids[r] == distinct[k];
			CHECK(seen);
		}
	}
	free(ids);
	free(rank);
	free(distinct);
	free(work);
	free(work_payload);
}

static void
test_merge_pairs_sums_repeats(void)
{
	size_t		n = 400;
	int32_t    *rows = malloc(sizeof(int32_t) * n);
	int32_t    *cols = malloc(sizeof(int32_t) * n);
	double	   *values = malloc(sizeof(double) * n);
	int32_t    *out_rows = malloc(sizeof(int32_t) * n);
	int32_t    *out_cols = malloc(sizeof(int32_t) * n);
	double	   *out_values = malloc(sizeof(double) * n);
	uint64_t   *work = malloc(sizeof(uint64_t) * 2 * n);
	uint32_t   *work_payload = malloc(sizeof(uint32_t) * 2 * n);
	Rng			rng;
	size_t		count;
	double		total = 0.0;
	double		merged_total = 0.0;

	rng_seed(&rng, 13, 0);
	for (size_t r = 0; r < n; r++)
	{
		/* a big row index too: the pair key keeps all 32 bits of each */
		rows[r] = r % 50 == 0 ? 2000000000 : (int32_t) (rng_next(&rng) % 12);
		cols[r] = (int32_t) (rng_next(&rng) % 15);
		values[r] = (double) (rng_next(&rng) % 5) + 0.25;
		total += values[r];
	}
	count = merge_pairs(rows, cols, values, n, out_rows, out_cols, out_values, work, work_payload);
	for (size_t k = 0; k < count; k++)
	{
		double		sum = 0.0;

		if (k > 0)
			CHECK(out_rows[k - 1] < out_rows[k] ||
				  (out_rows[k - 1] == out_rows[k] && out_cols[k - 1] < out_cols[k]));
		for (size_t r = 0; r < n; r++)
			if (rows[r] == out_rows[k] && cols[r] == out_cols[k])
				sum += values[r];
		CHECK(sum > 0.0);
		CHECK_NEAR(out_values[k], sum, 1e-12);
		merged_total += out_values[k];
	}
	/* no pair lost: the merged values add up to all the input */
	CHECK_NEAR(merged_total, total, 1e-9);
	free(rows);
	free(cols);
	free(values);
	free(out_rows);
	free(out_cols);
	free(out_values);
	free(work);
	free(work_payload);
}

int
main(void)
{
	RUN_TEST(test_radix_sort_matches_qsort_and_is_stable);
	RUN_TEST(test_dense_rank_against_counting);
	RUN_TEST(test_merge_pairs_sums_repeats);
	return unit_tests_failed != 0;
}
