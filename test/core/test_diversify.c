/*
 * test_diversify.c
 *		Maximal marginal relevance against a slow reference that evaluates
 *		the objective from scratch at every pick, and on planted
 *		near-duplicates: diversity 0 is the relevance order, and the mean
 *		pairwise similarity of the list falls as diversity grows.
 */
#include <stdlib.h>
#include <string.h>

#include "core/diversify.h"
#include "unit.h"

static double
ref_cosine(const float *a, const float *b, int d)
{
	double		ab = 0, aa = 0, bb = 0;

	for (int i = 0; i < d; i++)
	{
		ab += (double) a[i] * b[i];
		aa += (double) a[i] * a[i];
		bb += (double) b[i] * b[i];
	}
	return aa == 0 || bb == 0 ? 0 : ab / sqrt(aa * bb);
}

/* The objective recomputed in full for every candidate at every step. */
static void
reference(const float *v, size_t n, int d, const double *rel, double div, size_t k, size_t *order)
{
	double		lo = rel[0], hi = rel[0];
	char	   *used = calloc(n, 1);

	for (size_t i = 1; i < n; i++)
	{
		lo = fmin(lo, rel[i]);
		hi = fmax(hi, rel[i]);
	}
	for (size_t p = 0; p < k && p < n; p++)
	{
		size_t		best = n;
		double		best_value = 0;

		for (size_t i = 0; i < n; i++)
		{
			double		sim = 0, value;

			if (used[i])
				continue;
			for (size_t q = 0; q < p; q++)
				sim = fmax(sim, ref_cosine(v + i * d, v + order[q] * d, d));
			value = (1 - div) * (hi > lo ? (rel[i] - lo) / (hi - lo) : 0) - div * sim;
			if (best == n || value > best_value + 1e-12)
			{
				best = i;
				best_value = value;
			}
		}
		order[p] = best;
		used[best] = 1;
	}
	free(used);
}

static void
test_matches_reference(void)
{
	unsigned long long state = 7;
	const int	d = 16;
	const size_t n = 60;
	float	   *v = malloc(sizeof(float) * n * d);
	double	   *rel = malloc(sizeof(double) * n);
	double	   *scratch = malloc(sizeof(double) * 2 * n);
	size_t		got[20], want[20];
	double		levels[] = {0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0};

	for (int round = 0; round < 20; round++)
	{
		for (size_t i = 0; i < n * d; i++)
			v[i] = (float) (unit_rand_uniform(&state) * 2 - 1);
		for (size_t i = 0; i < n; i++)
			rel[i] = 10 - 5 * unit_rand_uniform(&state) * (round + 1);
		if (round == 3)
			memset(v + 5 * d, 0, sizeof(float) * d);	/* a zero vector */
		for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++)
		{
			size_t		k = 20;

			CHECK(mmr_select(v, n, d, rel, levels[l], k, got, scratch) == k);
			reference(v, n, d, rel, levels[l], k, want);
			CHECK(memcmp(got, want, sizeof(size_t) * k) == 0);
		}
	}
	/* k beyond the pool: every candidate once */
	CHECK(mmr_select(v, 5, d, rel, 0.5, 20, got, scratch) == 5);
	free(v);
	free(rel);
	free(scratch);
}

/* diversity 0: the relevance order, ties by index; all-equal relevance keeps the pool order */
static void
test_zero_is_relevance_order(void)
{
	float		v[6 * 2] = {1, 0, 1, 0.01f, 0, 1, 1, 0, -1, 0, 0, -1};
	double		rel[6] = {3, 5, 5, 1, 4, 2};
	double		same[6] = {1, 1, 1, 1, 1, 1};
	size_t		order[6];
	size_t		want[6] = {1, 2, 4, 0, 5, 3};
	double		scratch[12];

	mmr_select(v, 6, 2, rel, 0.0, 6, order, scratch);
	CHECK(memcmp(order, want, sizeof(want)) == 0);
	mmr_select(v, 6, 2, same, 0.0, 6, order, scratch);
	for (size_t i = 0; i < 6; i++)
		CHECK(order[i] == i);
}

/*
 * Five orthogonal clusters of eight near-duplicates (the same direction,
 * lengths apart), the most relevant cluster first.
 * The list's mean pairwise similarity never rises with diversity, and at
 * diversity 0.5 the top 5 come from five different clusters.
 */
static void
test_planted_duplicates(void)
{
	const int	d = 8;
	const size_t n = 40;
	float		v[40 * 8];
	double		rel[40];
	size_t		order[10];
	double		scratch[80];
	double		previous = 2;
	double		first = 0;

	for (size_t i = 0; i < n; i++)
	{
		size_t		cluster = i / 8;

		for (int j = 0; j < d; j++)
			v[i * d + j] = (float) (j == (int) cluster ? 1.0 + 0.001 * (i % 8) : 0.0);
		rel[i] = 10.0 - cluster - 0.01 * (i % 8);
	}
	for (int step = 0; step <= 10; step++)
	{
		double		div = step / 10.0;
		double		mean;

		mmr_select(v, n, d, rel, div, 10, order, scratch);
		mean = mean_pairwise_cosine(v, order, 10, d);
		CHECK(mean <= previous + 1e-12);
		previous = mean;
		if (step == 0)
			first = mean;
		if (step == 0)
			for (size_t p = 0; p < 8; p++)
				CHECK(order[p] == p);	/* the whole first cluster */
		if (step == 5)
		{
			int			clusters[5] = {0};

			for (size_t p = 0; p < 5; p++)
				clusters[order[p] / 8]++;
			for (int c = 0; c < 5; c++)
				CHECK(clusters[c] == 1);
		}
	}
	CHECK(previous < first - 0.2);
}

int
main(void)
{
	RUN_TEST(test_matches_reference);
	RUN_TEST(test_zero_is_relevance_order);
	RUN_TEST(test_planted_duplicates);
	return unit_tests_failed != 0;
}
