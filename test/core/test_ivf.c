/*
 * test_ivf.c
 *		Index clustering: assignment against brute force, k-means objective
 *		decreasing, and list bounds never below a member's true score.
 */
#include <stdlib.h>
#include <string.h>

#include "core/ivf.h"
#include "core/vecmath.h"
#include "unit.h"

#define N 2000
#define D 8
#define K 12

static void
make_points(float *x, unsigned long long seed)
{
	unsigned long long state = seed;

	for (int i = 0; i < N; i++)
	{
		/* a few clusters with varying norms */
		int			c = i % 5;

		for (int j = 0; j < D; j++)
			x[i * D + j] = (float) ((j == c ? 2.0 : 0.0) + (unit_rand_uniform(&state) - 0.5) * (1 + i % 3));
	}
}

static float
augmented_distance(const float *x, const float *c, float m, IvfMetric metric)
{
	float		extra = metric == IVF_METRIC_IP ? sqrtf(fmaxf(0.0f, m * m - vec_norm_squared(x, D))) : 0.0f;
	float		s = (extra - c[D]) * (extra - c[D]);

	for (int j = 0; j < D; j++)
		s += (x[j] - c[j]) * (x[j] - c[j]);
	return s;
}

static void
check_metric(IvfMetric metric)
{
	float	   *x = malloc(sizeof(float) * N * D);
	float		centroids[K * (D + 1)];
	float		again[K * (D + 1)];
	int32_t    *assignment = malloc(sizeof(int32_t) * N);
	void	   *scratch = malloc(ivf_kmeans_scratch_bytes(N, D, K, 2));
	float		m;
	float		m2;
	double		objective_1 = 0;
	double		objective_10 = 0;

	make_points(x, 3);
	if (metric == IVF_METRIC_COSINE)
		for (int i = 0; i < N; i++)
		{
			float		norm = sqrtf(vec_norm_squared(x + i * D, D));

			for (int j = 0; j < D; j++)
				x[i * D + j] /= norm;
		}
	/* more iterations never worsen the k-means objective */
	ivf_kmeans(x, N, D, K, 1, metric, 5, 2, centroids, &m, scratch);
	ivf_assign(centroids, K, D, metric, m, x, N, assignment, 2, scratch);
	for (int i = 0; i < N; i++)
		objective_1 += augmented_distance(x + i * D, centroids + assignment[i] * (D + 1), m, metric);
	ivf_kmeans(x, N, D, K, 10, metric, 5, 2, centroids, &m, scratch);
	ivf_assign(centroids, K, D, metric, m, x, N, assignment, 2, scratch);
	for (int i = 0; i < N; i++)
		objective_10 += augmented_distance(x + i * D, centroids + assignment[i] * (D + 1), m, metric);
	CHECK(objective_10 <= objective_1 * (1 + 1e-5));

	/* deterministic for a seed, whatever the thread count */
	ivf_kmeans(x, N, D, K, 10, metric, 5, 1, again, &m2, scratch);
	CHECK(memcmp(centroids, again, sizeof(centroids)) == 0 && m == m2);

	/* assignment is the nearest augmented centroid */
	for (int i = 0; i < N; i++)
	{
		float		mine = augmented_distance(x + i * D, centroids + assignment[i] * (D + 1), m, metric);

		for (int c = 0; c < K; c++)
			CHECK(mine <= augmented_distance(x + i * D, centroids + c * (D + 1), m, metric) + 1e-4f);
	}

	/* bounds: no member of a list scores above its bound, for random queries */
	{
		float		radius[K] = {0};
		float		max_norm[K] = {0};
		unsigned long long state = 99;

		for (int i = 0; i < N; i++)
		{
			int			c = assignment[i];
			float		r = sqrtf(vec_l2_squared(x + i * D, centroids + c * (D + 1), D));
			float		norm = sqrtf(vec_norm_squared(x + i * D, D));

			radius[c] = fmaxf(radius[c], r);
			max_norm[c] = fmaxf(max_norm[c], norm);
		}
		for (int t = 0; t < 50; t++)
		{
			float		q[D];
			float		q_norm;

			for (int j = 0; j < D; j++)
				q[j] = (float) (unit_rand_uniform(&state) * 4 - 2);
			q_norm = sqrtf(vec_norm_squared(q, D));
			for (int i = 0; i < N; i++)
			{
				int			c = assignment[i];
				float		bound = ivf_list_bound(metric, q, q_norm, centroids + c * (D + 1), D,
												   radius[c], max_norm[c]);

				CHECK(ivf_score(metric, q, x + i * D, D) <= bound + 1e-4f);
			}
		}
	}
	free(x);
	free(assignment);
	free(scratch);
}

static void
test_inner_product(void)
{
	check_metric(IVF_METRIC_IP);
}

static void
test_l2(void)
{
	check_metric(IVF_METRIC_L2);
}

static void
test_cosine(void)
{
	check_metric(IVF_METRIC_COSINE);
}

int
main(void)
{
	RUN_TEST(test_inner_product);
	RUN_TEST(test_l2);
	RUN_TEST(test_cosine);
	return unit_tests_failed != 0;
}
