/*
 * test_sgd.c
 *		Sampling-based losses: gradients against finite differences, the
 *		samplers' empirical frequencies against their q, and sampled softmax
 *		approaching the full softmax as m grows.
 */
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/sampler.h"
#include "core/sgd.h"
#include "core/vecmath.h"
#include "unit.h"

#define D 5

static void
fill(float *x, int n, unsigned long long *state, double scale)
{
	for (int k = 0; k < n; k++)
		x[k] = (float) ((unit_rand_uniform(state) - 0.5) * scale);
}

/*
 * Central differences of a loss over every coordinate of the embeddings in
 * `params` (one flat array), against the analytic gradient.
 */
typedef double (*LossFn) (float *params, float *grad, void *context);

static void
check_gradient(LossFn fn, float *params, int n, void *context, double tolerance)
{
	float	   *grad = calloc(n, sizeof(float));
	float	   *dummy = calloc(n, sizeof(float));

	fn(params, grad, context);
	for (int k = 0; k < n; k++)
	{
		float		saved = params[k];
		double		h = 1e-3;
		double		up;
		double		down;

		params[k] = saved + (float) h;
		up = fn(params, dummy, context);
		params[k] = saved - (float) h;
		down = fn(params, dummy, context);
		params[k] = saved;
		CHECK_NEAR(grad[k], (up - down) / (2 * h), tolerance * (1 + fabs(grad[k])));
	}
	free(grad);
	free(dummy);
}

/* params: ctx (B×D), pos (B×D), neg (M×D) */
#define B 3
#define M 4
static const int32_t pos_ids[B] = {10, 11, 12};
static const int32_t neg_ids[M] = {20, 11, 21, 22};	/* 11 is an accidental hit for row 1 */
static const float log_q[M] = {0.3f, -0.2f, 0.1f, 0.0f};

static double
softmax_fn(float *p, float *g, void *context)
{
	float		work[B * (M + 1)];
	float		temperature = *(float *) context;

	return softmax_batch(p, p + B * D, pos_ids, p + 2 * B * D, neg_ids, log_q, B, M, D,
						 temperature, g, g + B * D, g + 2 * B * D, work);
}

static void
test_softmax_gradient(void)
{
	float		params[(2 * B + M) * D];
	unsigned long long state = 4;
	float		temperatures[2] = {1.0f, 0.5f};

	fill(params, (2 * B + M) * D, &state, 2.0);
	for (int t = 0; t < 2; t++)
		check_gradient(softmax_fn, params, (2 * B + M) * D, &temperatures[t], 2e-3);
}

static double
bpr_fn(float *p, float *g, void *context)
{
	return bpr_gradients(p, p + D, p + 2 * D, D, g, g + D, g + 2 * D);
}

static double
warp_fn(float *p, float *g, void *context)
{
	return warp_gradients(p, p + D, p + 2 * D, D, 3, 100, g, g + D, g + 2 * D);
}

static double
pointwise_fn(float *p, float *g, void *context)
{
	return pointwise_gradients(p, p + D, p + 2 * D, 3, D, g, g + D, g + 2 * D);
}

typedef struct GramianCase
{
	float		item_gram[D * D];
	float		user_gram[D * D];
} GramianCase;

static double
gramian_fn(float *p, float *g, void *context)
{
	GramianCase *gc = (GramianCase *) context;

	return gramian_gradients(p, p + D, D, 2.5f, 0.3f, gc->item_gram, gc->user_gram, 4.0f, 7.0f, g, g + D);
}

static void
test_pairwise_and_pointwise_gradients(void)
{
	float		params[5 * D];
	unsigned long long state = 8;
	GramianCase gc;

	fill(params, 5 * D, &state, 2.0);
	check_gradient(bpr_fn, params, 3 * D, NULL, 2e-3);
	/* WARP: pick a point inside the margin, where the hinge is differentiable */
	fill(params, 3 * D, &state, 0.5);
	check_gradient(warp_fn, params, 3 * D, NULL, 2e-3);
	fill(params, 5 * D, &state, 2.0);
	check_gradient(pointwise_fn, params, 5 * D, NULL, 2e-3);
	/* Gramian: symmetric positive semi-definite matrices */
	{
		float		a[D * D];

		fill(a, D * D, &state, 1.0);
		for (int r = 0; r < D; r++)
			for (int c = 0; c < D; c++)
			{
				double		si = 0;
				double		su = 0;

				for (int k = 0; k < D; k++)
				{
					si += a[r * D + k] * a[c * D + k];
					su += a[k * D + r] * a[k * D + c];
				}
				gc.item_gram[r * D + c] = (float) si;
				gc.user_gram[r * D + c] = (float) su;
			}
	}
	fill(params, 2 * D, &state, 1.0);
	check_gradient(gramian_fn, params, 2 * D, &gc, 2e-3);
}

/* Alias tables draw each item with probability q(j). */
static void
test_alias_frequencies(void)
{
	double		weights[6] = {5, 1, 0, 3, 0.5, 10};
	void	   *memory = malloc(alias_table_bytes(6));
	AliasTable	table;
	long		counts[6] = {0};
	Rng			rng;
	long		draws = 2000000;

	CHECK(alias_build(&table, weights, 6, memory) == 0);
	rng_seed(&rng, 1, 2);
	for (long t = 0; t < draws; t++)
		counts[alias_draw(&table, &rng)]++;
	for (int j = 0; j < 6; j++)
	{
		CHECK_NEAR(table.q[j], weights[j] / 19.5, 1e-12);
		/* 5 standard deviations of a binomial proportion */
		CHECK_NEAR((double) counts[j] / draws, table.q[j],
				   5 * sqrt(table.q[j] * (1 - table.q[j]) / draws) + 1e-9);
	}
	CHECK(counts[2] == 0);
	{
		double		zeros[2] = {0, 0};

		CHECK(alias_build(&table, zeros, 2, memory) == -1);
	}
	free(memory);
}

/* The rank-adaptive sampler's draws follow its own stated distribution. */
static void
test_rank_sampler_frequencies(void)
{
	enum
	{
		N = 40, DIMS = 3
	};
	float		items[N * DIMS];
	float		context[DIMS] = {0.8f, -0.5f, 0.1f};
	void	   *memory = malloc(rank_sampler_bytes(N, DIMS));
	RankSampler sampler;
	long		counts[N] = {0};
	Rng			rng;
	unsigned long long state = 12;
	long		draws = 1000000;
	double		total = 0.0;

	fill(items, N * DIMS, &state, 2.0);
	rank_sampler_init(&sampler, N, DIMS, 5.0, memory);
	CHECK(rank_sampler_refresh(&sampler, items, 2) == 0);
	rng_seed(&rng, 3, 4);
	for (long t = 0; t < draws; t++)
		counts[rank_sampler_draw(&sampler, context, &rng)]++;
	for (int j = 0; j < N; j++)
	{
		double		q = rank_sampler_probability(&sampler, context, j);

		total += q;
		CHECK_NEAR((double) counts[j] / draws, q, 5 * sqrt(q * (1 - q) / draws) + 1e-9);
	}
	CHECK_NEAR(total, 1.0, 1e-9);
	free(memory);
}

/*
 * With uniform q and logQ correction, the sampled softmax loss is an
 * estimate of the full softmax loss that tightens as m grows (negatives
 * drawn with replacement; here the average over many batches).
 */
static void
test_sampled_softmax_approaches_full(void)
{
	enum
	{
		N = 50
	};
	float		ctx[D];
	float		items[N * D];
	unsigned long long state = 21;
	double		full;
	double		z = 0.0;
	int			positive = 7;
	double		previous_error = INFINITY;

	fill(ctx, D, &state, 2.0);
	fill(items, N * D, &state, 2.0);
	for (int j = 0; j < N; j++)
		z += exp(vec_dot(ctx, items + j * D, D));
	full = -vec_dot(ctx, items + positive * D, D) + log(z);

	for (int m = 50; m <= 3200; m *= 4)
	{
		float	   *neg = malloc(sizeof(float) * m * D);
		int32_t    *ids = malloc(sizeof(int32_t) * m);
		float	   *lq = malloc(sizeof(float) * m);
		float	   *work = malloc(sizeof(float) * (m + 1));
		float	   *g_neg = calloc((size_t) m * D, sizeof(float));
		float		g_ctx[D] = {0};
		float		g_pos[D] = {0};
		int32_t		pos_id = -1;	/* no accidental-hit masking: the full sum includes j = i */
		Rng			rng;
		double		mean = 0.0;
		int			reps = 200;

		rng_seed(&rng, 5, (uint64_t) m);
		for (int r = 0; r < reps; r++)
		{
			for (int k = 0; k < m; k++)
			{
				ids[k] = (int32_t) (rng_uniform(&rng) * N);
				memcpy(neg + k * D, items + ids[k] * D, sizeof(float) * D);
				lq[k] = (float) log((double) m / N);
			}
			/*
			 * The full softmax's normalizer Σ_j e^{s_j} includes the positive;
			 * the sampled one adds e^{s_i} to the estimate of that sum, so
			 * compare with ln(e^{s_i} + Σ_j e^{s_j}).
			 */
			mean += softmax_batch(ctx, items + positive * D, &pos_id, neg, ids, lq, 1, m, D, 1.0f,
								  g_ctx, g_pos, g_neg, work) / reps;
		}
		{
			double		target = -vec_dot(ctx, items + positive * D, D) +
				log(z + exp(vec_dot(ctx, items + positive * D, D)));
			double		error = fabs(mean - target);

			CHECK(error < previous_error + 1e-3);
			previous_error = error;
			if (m == 3200)
			{
				CHECK(error < 0.01);
				/* and the full loss itself is within the positive's own share */
				CHECK(fabs(mean - full) < log(2.0));
			}
		}
		free(neg);
		free(ids);
		free(lq);
		free(work);
		free(g_neg);
	}
}

int
main(void)
{
	RUN_TEST(test_softmax_gradient);
	RUN_TEST(test_pairwise_and_pointwise_gradients);
	RUN_TEST(test_alias_frequencies);
	RUN_TEST(test_rank_sampler_frequencies);
	RUN_TEST(test_sampled_softmax_approaches_full);
	return unit_tests_failed != 0;
}
