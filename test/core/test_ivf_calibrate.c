/*
 * test_ivf_calibrate.c
 *		The build's calibration of the default probes (ivf_calibrate.h): the
 *		neighbours it gathers batch by batch against a brute-force top k
 *		(each query's own row and skipped rows left out, for every metric it
 *		takes), and the probes it picks against a direct count of the lists
 *		each neighbour waits for in the scan's visiting order.
 */
#include <stdlib.h>
#include <string.h>

#include "core/ivf.h"
#include "core/ivf_calibrate.h"
#include "core/vecmath.h"
#include "unit.h"

#define N 3000
#define D 8
#define Q 40
#define KN 10
#define LISTS 25

static double
metric_score(IvfMetric metric, const float *q, const float *x)
{
	double		dot = 0, xx = 0;

	for (int j = 0; j < D; j++)
	{
		dot += (double) q[j] * x[j];
		xx += (double) x[j] * x[j];
	}
	if (metric == IVF_METRIC_COSINE)
		return dot / sqrt(xx);
	if (metric == IVF_METRIC_L2)
		return 2 * dot - xx;
	return dot;
}

static int
compare_desc(const void *a, const void *b)
{
	double		x = *(const double *) a, y = *(const double *) b;

	return (x < y) - (x > y);
}

typedef struct Scored
{
	double		score;
	int			list;
} Scored;

static int
compare_scored(const void *a, const void *b)
{
	return compare_desc(&((const Scored *) a)->score, &((const Scored *) b)->score);
}

static int polls;

static void
count_poll(void)
{
	polls++;
}

static void
make_data(float *x, uint64_t *ids, int32_t *lists, float *centroids, float *radius)
{
	unsigned long long state = 17;

	for (int i = 0; i < N * D; i++)
		x[i] = (float) (unit_rand_uniform(&state) * 2.0 - 1.0);
	for (int i = 0; i < N; i++)
	{
		ids[i] = 1000 + (uint64_t) i;
		lists[i] = (int32_t) (unit_rand_uniform(&state) * LISTS);
	}
	/* every 97th row is dead: no query may count it */
	for (int i = 0; i < N; i += 97)
		ids[i] = IVF_TRUTH_SKIP;
	for (int l = 0; l < LISTS; l++)
	{
		for (int j = 0; j <= D; j++)
			centroids[l * (D + 1) + j] = j < D ? (float) (unit_rand_uniform(&state) - 0.5) : 0.0f;
		radius[l] = (float) unit_rand_uniform(&state);
	}
}

static void
check_metric(IvfMetric metric)
{
	float	   *x = malloc(sizeof(float) * N * D);
	uint64_t   *ids = malloc(sizeof(uint64_t) * N);
	int32_t    *lists = malloc(sizeof(int32_t) * N);
	float		centroids[LISTS * (D + 1)];
	float		radius[LISTS];
	float		queries[Q * D];
	uint64_t	query_ids[Q];
	IvfTruth	truth;
	void	   *memory;
	size_t		batch = 700;
	Scored	   *scored = malloc(sizeof(Scored) * N);
	size_t		needing[LISTS + 2] = {0};
	size_t		held = 0;
	int			expected = 0;
	double		coverage;

	make_data(x, ids, lists, centroids, radius);
	/* queries: rows 5, 80, 155, ... (their own rows are in the data) */
	for (int q = 0; q < Q; q++)
	{
		memcpy(queries + q * D, x + (5 + 75 * q) * D, sizeof(float) * D);
		query_ids[q] = ids[5 + 75 * q];
	}
	memory = malloc(ivf_truth_bytes(Q, KN, 2, batch));
	ivf_truth_init(&truth, metric, D, queries, query_ids, Q, KN, 2, batch, memory);
	for (size_t first = 0; first < N; first += batch)
	{
		size_t		n = N - first < batch ? N - first : batch;

		ivf_truth_add(&truth, x + first * D, ids + first, lists + first, n);
	}

	for (int q = 0; q < Q; q++)
	{
		int			m = 0;
		double		got[KN];
		double		priority[LISTS];
		IvfQuery	query;
		float		unit[D];

		for (int i = 0; i < N; i++)
			if (ids[i] != IVF_TRUTH_SKIP && ids[i] != query_ids[q])
			{
				scored[m].score = metric_score(metric, queries + q * D, x + i * D);
				scored[m++].list = lists[i];
			}
		qsort(scored, m, sizeof(Scored), compare_scored);
		CHECK(truth.count[q] == KN);
		for (int j = 0; j < KN; j++)
			got[j] = truth.best[q * KN + j];
		qsort(got, KN, sizeof(double), compare_desc);
		for (int j = 0; j < KN; j++)
			CHECK_NEAR(got[j], scored[j].score, 1e-5 * (1 + fabs(scored[j].score)));
		/* the lists: the multiset of the brute force's top k */
		for (int j = 0; j < KN; j++)
		{
			int			found = 0;

			for (int i = 0; i < KN; i++)
				found += truth.best_list[q * KN + i] == scored[j].list;
			for (int i = 0; i < KN; i++)
				found -= scored[i].list == scored[j].list;
			CHECK(found == 0);
		}

		/* the lists each neighbour waits for, in the visiting order */
		ivf_query_init(&query, metric, queries + q * D, D, unit);
		for (int l = 0; l < LISTS; l++)
			priority[l] = ivf_list_priority(&query, centroids + l * (D + 1), radius[l]);
		for (int j = 0; j < KN; j++)
		{
			int			position = 1;

			for (int l = 0; l < LISTS; l++)
				position += priority[l] > priority[scored[j].list];
			needing[position]++;
		}
	}
	for (int p = 1; p <= LISTS; p++)
	{
		held += needing[p];
		if (held >= 0.9 * Q * KN)
		{
			expected = p;
			break;
		}
	}
	CHECK(expected > 1);
	polls = 0;
	CHECK(ivf_truth_probes(&truth, centroids, radius, LISTS, 0.9, Q, &coverage, count_poll) == expected);
	CHECK(coverage >= 0.9);
	CHECK(polls == Q);				/* once per query */
	/* the whole of them needs every list that holds one; too few queries: no answer */
	CHECK(ivf_truth_probes(&truth, centroids, radius, LISTS, 1.0, 1, &coverage, count_poll) >= expected);
	CHECK_NEAR(coverage, 1.0, 0.0);
	CHECK(ivf_truth_probes(&truth, centroids, radius, LISTS, 0.9, Q + 1, &coverage, count_poll) == 0);
	free(x);
	free(ids);
	free(lists);
	free(scored);
	free(memory);
}

/* every metric the truth scores with an sgemm */
static void
test_every_metric(void)
{
	const IvfMetric metrics[] = {IVF_METRIC_IP, IVF_METRIC_L2, IVF_METRIC_COSINE};

	for (int m = 0; m < 3; m++)
		check_metric(metrics[m]);
}

/* a query with fewer than k rows to rank counts nothing */
static void
test_too_few_rows(void)
{
	float		x[3 * D] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0};
	uint64_t	ids[3] = {1, 2, 3};
	int32_t		lists[3] = {0, 1, 0};
	uint64_t	query_ids[1] = {1};
	float		centroids[2 * (D + 1)] = {0};
	float		radius[2] = {1, 1};
	IvfTruth	truth;
	void	   *memory = malloc(ivf_truth_bytes(1, KN, 1, 3));

	ivf_truth_init(&truth, IVF_METRIC_IP, D, x, query_ids, 1, KN, 1, 3, memory);
	ivf_truth_add(&truth, x, ids, lists, 3);
	CHECK(truth.count[0] == 2);
	CHECK(ivf_truth_probes(&truth, centroids, radius, 2, 0.9, 1, NULL, count_poll) == 0);
	free(memory);
}

int
main(void)
{
	RUN_TEST(test_every_metric);
	RUN_TEST(test_too_few_rows);
	return unit_tests_failed != 0;
}
