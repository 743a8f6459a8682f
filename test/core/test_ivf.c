/*
 * test_ivf.c
 *		Index clustering: assignment against brute force, k-means objective
 *		decreasing, and list bounds never below a member's score (the score
 *		as the SQL operator computes it, no tolerance), for data and queries
 *		of every magnitude float can hold; the same for each member's
 *		compact code (ivf_code.h), whose bound must also be tighter.
 */
#include <stdlib.h>
#include <string.h>

#include "core/ivf.h"
#include "core/ivf_code.h"
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

static double
augmented_distance(const float *x, const float *c, float m, IvfMetric metric)
{
	return ivf_assign_distance(metric, x, c, D, m);
}

/* points scaled by data_scale; cosine points normalized (the list geometry) */
static void
check_metric_at(IvfMetric metric, double data_scale, double query_scale)
{
	float	   *x = malloc(sizeof(float) * N * D);
	float	   *geometry = malloc(sizeof(float) * N * D);
	float		centroids[K * (D + 1)];
	float		again[K * (D + 1)];
	int32_t    *assignment = malloc(sizeof(int32_t) * N);
	void	   *scratch = malloc(ivf_kmeans_scratch_bytes(N, D, K, 2));
	float		m;
	float		m2;
	double		objective_1 = 0;
	double		objective_10 = 0;

	make_points(x, 3);
	for (int i = 0; i < N * D; i++)
		x[i] = (float) (x[i] * data_scale);
	for (int i = 0; i < N; i++)
		ivf_list_geometry(metric, x + i * D, D, geometry + i * D);
	/* more iterations never worsen the k-means objective */
	ivf_kmeans(geometry, N, D, K, 1, metric, 5, 2, centroids, &m, scratch);
	ivf_assign(centroids, K, D, metric, m, geometry, N, assignment, 2, scratch);
	for (int i = 0; i < N; i++)
		objective_1 += augmented_distance(geometry + i * D, centroids + assignment[i] * (D + 1), m, metric);
	ivf_kmeans(geometry, N, D, K, 10, metric, 5, 2, centroids, &m, scratch);
	ivf_assign(centroids, K, D, metric, m, geometry, N, assignment, 2, scratch);
	for (int i = 0; i < N; i++)
		objective_10 += augmented_distance(geometry + i * D, centroids + assignment[i] * (D + 1), m, metric);
	CHECK(isfinite(objective_10) && objective_10 > 0);
	CHECK(objective_10 <= objective_1 * (1 + 1e-5));
	for (int i = 0; i < K * (D + 1); i++)
		CHECK(isfinite(centroids[i]));

	/* deterministic for a seed, whatever the thread count */
	ivf_kmeans(geometry, N, D, K, 10, metric, 5, 1, again, &m2, scratch);
	CHECK(memcmp(centroids, again, sizeof(centroids)) == 0 && m == m2);

	/* assignment is the nearest augmented centroid (the sgemm works in float) */
	for (int i = 0; i < N; i++)
	{
		double		mine = augmented_distance(geometry + i * D, centroids + assignment[i] * (D + 1), m, metric);

		for (int c = 0; c < K; c++)
			CHECK(mine <= augmented_distance(geometry + i * D, centroids + c * (D + 1), m, metric) * (1 + 1e-4) +
				  1e-6 * (double) m * m);
	}

	/* bounds: no member of a list scores above its bound, for random queries */
	{
		float		radius[K] = {0};
		float		max_norm[K] = {0};
		unsigned long long state = 99;
		int			tight = 0;
		int			code_tighter = 0;
		int			code_compared = 0;
		IvfCode    *codes = malloc(IVF_CODE_SIZE(D) * N);

		for (int i = 0; i < N; i++)
		{
			int			c = assignment[i];
			IvfCode    *code = (IvfCode *) ((char *) codes + IVF_CODE_SIZE(D) * i);

			ivf_code_encode(metric, x + i * D, centroids + c * (D + 1), D, code);
			CHECK(ivf_code_covers(metric, code, x + i * D, centroids + c * (D + 1), D));

			radius[c] = fmaxf(radius[c], ivf_round_up(ivf_member_radius(geometry + i * D, centroids + c * (D + 1), D)));
			max_norm[c] = fmaxf(max_norm[c], ivf_round_up(ivf_member_norm(geometry + i * D, D)));
		}
		for (int t = 0; t < 50; t++)
		{
			float		q[D];
			float		unit[D];
			IvfQuery	query;
			IvfCodeQuery code_query;
			int16_t		table[D];
			IvfCodeList lists[K];
			double		best[K];

			for (int j = 0; j < D; j++)
				q[j] = (float) ((unit_rand_uniform(&state) * 4 - 2) * query_scale);
			/* some queries are members themselves: the bound is then nearly tight */
			if (t % 5 == 0)
				for (int j = 0; j < D; j++)
					q[j] = x[t * D + j];
			ivf_query_init(&query, metric, q, D, unit);
			ivf_code_query_init(&code_query, &query, table);
			for (int c = 0; c < K; c++)
			{
				double		bound;
				double		priority;

				/* the scan's combined form gives the two functions' values */
				ivf_list_bound_and_priority(&query, centroids + c * (D + 1), radius[c], max_norm[c],
											&bound, &priority);
				CHECK(bound == ivf_list_bound(&query, centroids + c * (D + 1), radius[c], max_norm[c]));
				CHECK(priority == ivf_list_priority(&query, centroids + c * (D + 1), radius[c]));
				best[c] = -INFINITY;
				ivf_code_list_init(&lists[c], &code_query, centroids + c * (D + 1), max_norm[c],
								   ivf_list_bound(&query, centroids + c * (D + 1), radius[c], max_norm[c]));
			}
			for (int i = 0; i < N; i++)
			{
				int			c = assignment[i];
				double		score = ivf_score(&query, x + i * D);
				double		bound = ivf_list_bound(&query, centroids + c * (D + 1), radius[c], max_norm[c]);

				CHECK(score <= bound);
				{
					double		code_bound = ivf_code_bound(&code_query, &lists[c],
															(IvfCode *) ((char *) codes + IVF_CODE_SIZE(D) * i));

					const IvfCode *one[1] = {(IvfCode *) ((char *) codes + IVF_CODE_SIZE(D) * i)};
					double		batch_bound;

					/* never below the score, never above the list's bound */
					CHECK(score <= code_bound && code_bound <= bound);
					/* the scan's batch form holds as well */
					ivf_code_bounds(&code_query, &lists[c], one, 1, &batch_bound);
					CHECK(score <= batch_bound && batch_bound <= bound);
					CHECK(fabs(batch_bound - code_bound) <= 1e-6 * (fabs(code_bound) + 1e-30) ||
						  batch_bound == code_bound);
					/* and at ordinary magnitudes far closer to the score */
					if (data_scale == 1.0 && query_scale == 1.0 && bound - score > 1e-3)
					{
						code_compared++;
						code_tighter += code_bound - score < 0.05 * (bound - score);
					}
				}
				if (score > best[c])
					best[c] = score;
				/* the score is minus the SQL operator's value, bit for bit */
				if (metric == IVF_METRIC_IP)
					CHECK(score == vec_inner_product(x + i * D, q, D));
				else if (metric == IVF_METRIC_L2)
					CHECK(score == -vec_l2_distance(x + i * D, q, D));
				else if (metric == IVF_METRIC_L1)
					CHECK(score == -vec_l1_distance(x + i * D, q, D));
				else
					CHECK(score == -vec_cosine_distance(x + i * D, q, D));
			}
			/*
			 * and the bounds are useful: finite, within the plain norm bound
			 * for inner product, near the best member somewhere for the others
			 */
			for (int c = 0; c < K; c++)
			{
				double		bound = ivf_list_bound(&query, centroids + c * (D + 1), radius[c], max_norm[c]);

				CHECK(isfinite(bound));
				if (metric == IVF_METRIC_IP)
					CHECK(bound <= query.norm * max_norm[c] * (1 + 1e-5));
				if (fabs(bound - best[c]) <= 1e-3 * (fabs(bound) + fabs(best[c])) + 1e-3)
					tight++;
			}
		}
		CHECK(metric == IVF_METRIC_IP || tight > 0);
		CHECK(code_tighter >= 0.9 * code_compared);
		free(codes);
	}
	free(x);
	free(geometry);
	free(assignment);
	free(scratch);
}

static const double scales[] = {1.0, 1e-30, 1e-22, 1e19, 1e30, 1e37};

static void
check_metric(IvfMetric metric)
{
	for (int a = 0; a < 6; a++)
		for (int b = 0; b < 6; b += 2)
			check_metric_at(metric, scales[a], scales[b]);
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

static void
test_l1(void)
{
	check_metric(IVF_METRIC_L1);
}

/* A zero query: cosine scores are NaN and the query says so; others score 0. */
static void
test_zero_query(void)
{
	float		zero[D] = {0};
	float		x[D] = {1, 2, 3, 4, 5, 6, 7, 8};
	float		unit[D];
	float		centroid[D + 1] = {1, 1, 1, 1, 1, 1, 1, 1, 0};
	IvfQuery	query;

	ivf_query_init(&query, IVF_METRIC_COSINE, zero, D, unit);
	CHECK(query.unordered);
	CHECK(isnan(ivf_score(&query, x)));
	ivf_query_init(&query, IVF_METRIC_COSINE, x, D, unit);
	CHECK(!query.unordered);
	CHECK(isnan(ivf_score(&query, zero)));
	ivf_query_init(&query, IVF_METRIC_IP, zero, D, unit);
	CHECK(ivf_score(&query, x) == 0.0);
	CHECK(ivf_list_bound(&query, centroid, INFINITY, INFINITY) == 0.0);
	/* infinite stored bounds (norms past FLT_MAX) give infinite, never NaN, bounds */
	ivf_query_init(&query, IVF_METRIC_IP, x, D, unit);
	CHECK(ivf_list_bound(&query, centroid, INFINITY, INFINITY) == INFINITY);
	ivf_query_init(&query, IVF_METRIC_L2, x, D, unit);
	CHECK(ivf_list_bound(&query, centroid, INFINITY, 1.0f) == 0.0);
	ivf_query_init(&query, IVF_METRIC_L1, x, D, unit);
	CHECK(ivf_list_bound(&query, centroid, INFINITY, 1.0f) == 0.0);
	CHECK(ivf_score(&query, x) == 0.0);
}

int
main(void)
{
	RUN_TEST(test_inner_product);
	RUN_TEST(test_l2);
	RUN_TEST(test_cosine);
	RUN_TEST(test_l1);
	RUN_TEST(test_zero_query);
	return unit_tests_failed != 0;
}
