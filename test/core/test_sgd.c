/*
 * test_sgd.c
 *		Sampling-based losses: gradients against finite differences, the
 *		samplers' empirical frequencies against their q, and sampled softmax
 *		approaching the full softmax as m grows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/sampler.h"
#include "core/sgd.h"
#include "core/sparse.h"
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
	float		item_sum[D];
	float		residual_sum[D];
} GramianCase;

/* the pairwise loss's Gramian step: user_gram stands for G_W */
static double
pairwise_gramian_fn(float *p, float *g, void *context)
{
	GramianCase *gc = (GramianCase *) context;

	return pairwise_gramian_gradients(p, p + D, D, 2.5f, 9.0, gc->item_gram, gc->item_sum,
									  gc->user_gram, gc->residual_sum, 4.0f, g, g + D);
}

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
	fill(gc.item_sum, D, &state, 3.0);
	fill(gc.residual_sum, D, &state, 3.0);
	fill(params, 2 * D, &state, 1.0);
	check_gradient(pairwise_gramian_fn, params, 2 * D, &gc, 2e-3);
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

/*
 * The kernel sampler: its q is the brute-force Σ_b (1 + α⟨φ_b, ψ_j⟩²),
 * normalized; the q each draw reports is that of its item; and over 1.2M
 * draws the frequencies match q.  After a refresh from other embeddings, q
 * follows them.
 */
static void
test_kernel_sampler(void)
{
	enum
	{
		N = 103, DIMS = 6, NB = 5, NM = 64
	};
	float		items[N * DIMS];
	float		contexts[NB * DIMS];
	double		alpha = 0.7;
	void	   *memory = malloc(kernel_sampler_bytes(N, DIMS));
	KernelSampler sampler;
	KernelContext context;
	float	   *scratch;
	double		brute[N];
	double		brute_total = 0.0;
	long		counts[N] = {0};
	int32_t		ids[NM];
	double		q[NM];
	long		draws = 0;
	Rng			rng;
	unsigned long long state = 31;

	fill(items, N * DIMS, &state, 2.0);
	fill(contexts, NB * DIMS, &state, 2.0);
	kernel_sampler_init(&sampler, N, DIMS, alpha, memory);
	CHECK(sampler.n_buckets > 8);	/* a real tree: several levels */
	scratch = malloc(sizeof(float) * kernel_context_floats(&sampler));
	CHECK(kernel_sampler_refresh(&sampler, items, 2) == 0);
	kernel_context_set(&sampler, &context, contexts, NB, scratch);
	for (int j = 0; j < N; j++)
	{
		brute[j] = 0.0;
		for (int b = 0; b < NB; b++)
		{
			double		score = vec_dot_double(contexts + b * DIMS, items + j * DIMS, DIMS);

			brute[j] += 1.0 + alpha * score * score;
		}
		brute_total += brute[j];
	}
	for (int j = 0; j < N; j++)
		CHECK_NEAR(kernel_sampler_probability(&sampler, &context, j), brute[j] / brute_total,
				   1e-5 * brute[j] / brute_total);
	rng_seed(&rng, 8, 9);
	while (draws < 1200000)
	{
		kernel_sampler_draw(&sampler, &context, NM, &rng, ids, q);
		for (int k = 0; k < NM; k++)
		{
			CHECK(ids[k] >= 0 && ids[k] < N);
			counts[ids[k]]++;
			if (draws < 5000)
				CHECK_NEAR(q[k], kernel_sampler_probability(&sampler, &context, ids[k]), 1e-12);
		}
		draws += NM;
	}
	for (int j = 0; j < N; j++)
	{
		double		p = brute[j] / brute_total;

		CHECK_NEAR((double) counts[j] / draws, p, 5 * sqrt(p * (1 - p) / draws) + 1e-9);
	}
	/* a refresh from new embeddings: q is theirs */
	for (int k = 0; k < DIMS; k++)
		items[7 * DIMS + k] *= 10.0f;
	CHECK(kernel_sampler_refresh(&sampler, items, 1) == 0);
	{
		double		total = 0.0;
		double		seven = 0.0;

		for (int j = 0; j < N; j++)
		{
			double		mass = 0.0;

			for (int b = 0; b < NB; b++)
			{
				double		score = vec_dot_double(contexts + b * DIMS, items + j * DIMS, DIMS);

				mass += 1.0 + alpha * score * score;
			}
			total += mass;
			if (j == 7)
				seven = mass;
		}
		CHECK_NEAR(kernel_sampler_probability(&sampler, &context, 7), seven / total, 1e-5 * seven / total);
	}
	free(scratch);
	free(memory);
}

/*
 * The two-pass sampler's second pass.  Each candidate j is kept c times
 * with E[c] = m·r(j), r(j) = ½·w(j)/Σw + ½/K, where w(j) = Σ_b p_b(j) over
 * the M-sample softmax (recomputed here in double from its definition), and
 * its correction adds ln(m·r(j)/c): so E[Σ_kept e^(first-pass correction −
 * correction)] is 1 for every candidate, which makes each row's partition
 * estimate unbiased for the M-sample's.  And when it keeps every candidate,
 * the loss is the M-sample softmax with every draw a negative.
 */
static void
test_two_pass_select(void)
{
	enum
	{
		N = 30, DIMS = 4, NB = 6, NM = 40, KEEP = 7
	};
	float		items[N * DIMS];
	float		ctx[NB * DIMS];
	float		pos[NB * DIMS];
	int32_t		pos_ids[NB];
	float		log_q_item[N];
	int32_t		draws[NM];
	int32_t		original[NM];
	float	   *buffer = malloc(sizeof(float) * two_pass_buffer_floats(NB, NM, DIMS));
	int32_t		neg_ids[NM];
	float		neg[NM * DIMS];
	float		log_q[NM];
	double		weight[N] = {0};
	double		weight_total = 0.0;
	double		seen[N] = {0};
	int			copies[N] = {0};
	int			unique = 0;
	double		q_total = 0.0;
	unsigned long long state = 77;
	Rng			rng;
	int			reps = 40000;

	fill(items, N * DIMS, &state, 3.0);
	fill(ctx, NB * DIMS, &state, 3.0);
	for (int j = 0; j < N; j++)
		q_total += 1.0 + j % 5;
	for (int j = 0; j < N; j++)
		log_q_item[j] = (float) log((1.0 + j % 5) / q_total);
	for (int b = 0; b < NB; b++)
	{
		pos_ids[b] = (b * 7) % N;
		memcpy(pos + b * DIMS, items + pos_ids[b] * DIMS, sizeof(float) * DIMS);
	}
	rng_seed(&rng, 4, 4);
	for (int k = 0; k < NM; k++)
		original[k] = (int32_t) (rng_uniform(&rng) * N);
	for (int k = 0; k < NM; k++)
		copies[original[k]]++;
	for (int j = 0; j < N; j++)
		unique += copies[j] > 0;
	CHECK(unique > KEEP);
	/* the weights from their definition */
	for (int b = 0; b < NB; b++)
	{
		double		l_pos = vec_dot_double(ctx + b * DIMS, pos + b * DIMS, DIMS);
		double		z = exp(l_pos);
		double		e[N] = {0};

		for (int j = 0; j < N; j++)
			if (copies[j] > 0 && j != pos_ids[b])
			{
				e[j] = exp(vec_dot_double(ctx + b * DIMS, items + j * DIMS, DIMS)
						   - (log((double) NM) + log_q_item[j] - log((double) copies[j])));
				z += e[j];
			}
		for (int j = 0; j < N; j++)
			weight[j] += e[j] / z;
	}
	for (int j = 0; j < N; j++)
		weight_total += weight[j];
	for (int rep = 0; rep < reps; rep++)
	{
		int			kept;

		memcpy(draws, original, sizeof(draws));
		kept = two_pass_select(ctx, pos, pos_ids, NB, items, DIMS, 1.0f, log_q_item, draws, NM, KEEP,
							   &rng, buffer, neg_ids, neg, log_q);
		CHECK(kept >= 1 && kept <= KEEP);
		for (int k = 0; k < kept; k++)
		{
			int			j = neg_ids[k];
			double		first = log((double) NM) + log_q_item[j] - log((double) copies[j]);
			double		r = 0.5 * weight[j] / weight_total + 0.5 / unique;

			CHECK(copies[j] > 0);
			/* the correction says how many copies were drawn: a whole number */
			{
				double		c = KEEP * r / exp(log_q[k] - first);

				CHECK_NEAR(c, round(c), 1e-3 * c);
			}
			seen[j] += exp(first - log_q[k]);
			if (rep == 0)
				CHECK(memcmp(neg + k * DIMS, items + j * DIMS, sizeof(float) * DIMS) == 0);
		}
	}
	for (int j = 0; j < N; j++)
		if (copies[j] > 0)
		{
			double		r = 0.5 * weight[j] / weight_total + 0.5 / unique;
			/* Σ over reps of c/(m·r): mean 1, variance (1 − r)/(m·r) per rep */
			double		sd = sqrt((1.0 - r) / (KEEP * r) / reps);

			CHECK_NEAR(seen[j] / reps, 1.0, 5 * sd);
		}

	/* keeping all: the loss of the M-sample softmax over every draw */
	{
		float		g_ctx[NB * DIMS];
		float		g_pos[NB * DIMS];
		float		g_neg[NM * DIMS];
		float		work[NB * (NM + 1)];
		float		all_neg[NM * DIMS];
		float		all_lq[NM];
		double		expected;
		double		got;
		int			kept;

		for (int k = 0; k < NM; k++)
		{
			memcpy(all_neg + k * DIMS, items + original[k] * DIMS, sizeof(float) * DIMS);
			all_lq[k] = (float) (log((double) NM) + log_q_item[original[k]]);
		}
		expected = softmax_batch(ctx, pos, pos_ids, all_neg, original, all_lq, NB, NM, DIMS, 1.0f,
								 g_ctx, g_pos, g_neg, work);
		memcpy(draws, original, sizeof(draws));
		kept = two_pass_select(ctx, pos, pos_ids, NB, items, DIMS, 1.0f, log_q_item, draws, NM, NM,
							   &rng, buffer, neg_ids, neg, log_q);
		CHECK(kept == unique);
		got = softmax_batch(ctx, pos, pos_ids, neg, neg_ids, log_q, NB, kept, DIMS, 1.0f,
							g_ctx, g_pos, g_neg, work);
		CHECK_NEAR(got, expected, 1e-4 * fabs(expected));
	}
	free(buffer);
}

/*
 * LambdaRank: |ΔNDCG| by hand (ranks 1 and 3: 1 − 1/log₂4 = ½); the
 * sampled rank of the higher-scoring item of the pair averages to its exact
 * rank, 1 + the items above it; the lower-scoring one always ranks at least
 * one below it, and on average no better than its exact rank.
 */
static void
test_lambdarank(void)
{
	enum
	{
		N = 50, DIMS = 4, SAMPLES = 16
	};
	float		items[N * DIMS];
	float		ctx[DIMS];
	unsigned long long state = 91;
	int32_t		pos = 3;
	int32_t		neg = 10;
	int			above_pos = 0;
	int			above_neg = 0;
	double		sum_pos = 0.0;
	double		sum_neg = 0.0;
	int			reps = 40000;
	int			ordered = 1;
	Rng			rng;

	CHECK_NEAR(lambdarank_weight(1.0, 3.0), 0.5, 1e-12);
	CHECK_NEAR(lambdarank_weight(3.0, 1.0), 0.5, 1e-12);
	CHECK_NEAR(lambdarank_weight(7.0, 7.0), 0.0, 1e-12);
	CHECK(lambdarank_weight(1.0, 2.0) > lambdarank_weight(20.0, 40.0));

	fill(items, N * DIMS, &state, 2.0);
	fill(ctx, DIMS, &state, 2.0);
	for (int k = 0; k < N; k++)
	{
		float		score = vec_dot(ctx, items + k * DIMS, DIMS);

		above_pos += score > vec_dot(ctx, items + pos * DIMS, DIMS);
		above_neg += score > vec_dot(ctx, items + neg * DIMS, DIMS);
	}
	/* here the negative scores above the positive */
	CHECK(above_neg < above_pos);
	rng_seed(&rng, 6, 6);
	for (int r = 0; r < reps; r++)
	{
		double		rank_pos;
		double		rank_neg;

		lambdarank_ranks(ctx, items, N, DIMS, pos, neg, SAMPLES, &rng, &rank_pos, &rank_neg);
		sum_pos += rank_pos;
		sum_neg += rank_neg;
		ordered &= rank_pos >= rank_neg + 1.0;
	}
	CHECK(ordered);
	{
		double		p_neg = (double) above_neg / N;
		double		p_pos = (double) above_pos / N;
		double		sd_pos = N * sqrt(p_pos * (1 - p_pos) / SAMPLES / reps);

		CHECK_NEAR(sum_neg / reps, 1.0 + above_neg, 5 * N * sqrt(p_neg * (1 - p_neg) / SAMPLES / reps) + 1e-9);
		CHECK(sum_pos / reps >= 1.0 + above_pos - 5 * sd_pos);
	}
}

/*
 * A drawn negative's L2 pull is weighted so that every item takes λ·m/n
 * per batch in expectation, as under uniform draws, whatever the sampler.
 * With the logits flattened (a huge temperature makes every softmax
 * gradient ~1e-8) and Adagrad's accumulators preloaded (a step is then
 * η/√A times its gradient, λ'·x), an item's x shrinks by a factor
 * 1 − (η/√A)·λ'/λ·λ per pull: −ln(x)·√A/(ηλ) counts its pulls, one per
 * positive plus its draws' weights.  Popularity draws (β = 1) on items
 * whose positives fall off as 1/rank: the head's and the tail's draw
 * weights both average m/n per batch; unweighted, the head took five
 * times that.
 */
static void
test_negative_l2_is_sampler_free(void)
{
	enum
	{
		USERS = 400, ITEMS = 100, PER_USER = 10, DIMS = 4
	};
	int32_t		rows[USERS * PER_USER];
	int32_t		cols[USERS * PER_USER];
	size_t		nnz = 0;
	unsigned long long state = 77;
	CsrMatrix	by_user;
	CsrMatrix	by_item;
	SgdData		data = {&by_user, &by_item};
	SgdConfig	config;
	SgdModel	model = {USERS, ITEMS, NULL, NULL, NULL, NULL};
	const double eta = 1000.0;
	const double lambda = 0.1;
	const double acc = 1e12;
	double		harmonic = 0.0;
	double		head = 0.0;
	double		tail = 0.0;
	double		expected;
	size_t		batches;
	void	   *scratch;
	SgdState   *sgd;

	for (int j = 0; j < ITEMS; j++)
		harmonic += 1.0 / (j + 1);
	for (int u = 0; u < USERS; u++)
	{
		char		taken[ITEMS] = {0};

		for (int k = 0; k < PER_USER; k++)
		{
			int			j;

			/* item j with probability ∝ 1/(j + 1), each at most once per user */
			do
			{
				double		x = unit_rand_uniform(&state) * harmonic;

				for (j = 0; j < ITEMS - 1 && x >= 1.0 / (j + 1); j++)
					x -= 1.0 / (j + 1);
			} while (taken[j]);
			taken[j] = 1;
			rows[nnz] = u;
			cols[nnz] = j;
			nnz++;
		}
	}
	CHECK(unit_csr(USERS, ITEMS, nnz, rows, cols, NULL, &by_user) == 0);
	CHECK(unit_csr(ITEMS, USERS, nnz, cols, rows, NULL, &by_item) == 0);

	memset(&config, 0, sizeof(config));
	config.algorithm = SGD_SOFTMAX;
	config.sampler = SAMPLER_POPULARITY;
	config.dims = DIMS;
	config.negatives = 64;
	config.popularity_exponent = 1.0;
	config.logq = 1;
	config.temperature = 1e6;
	config.regularization = lambda;
	config.learning_rate = eta;
	config.batch_size = 20;
	config.threads = 1;
	config.seed = 5;
	scratch = malloc(sgd_scratch_bytes(&config, &data));
	sgd = sgd_begin(&config, &data, scratch);
	CHECK(sgd != NULL);
	model.users = malloc(sizeof(float) * USERS * DIMS);
	model.items = malloc(sizeof(float) * ITEMS * DIMS);
	model.user_acc = malloc(sizeof(float) * USERS);
	model.item_acc = malloc(sizeof(float) * ITEMS);
	for (int k = 0; k < USERS * DIMS; k++)
		model.users[k] = 1.0f;
	for (int k = 0; k < ITEMS * DIMS; k++)
		model.items[k] = 1.0f;
	for (int u = 0; u < USERS; u++)
		model.user_acc[u] = (float) acc;
	for (int j = 0; j < ITEMS; j++)
		model.item_acc[j] = (float) acc;
	batches = sgd_epoch_begin(sgd, &model, 0);
	CHECK(sgd_run_batches(sgd, &model, 0, batches) == 0);

	/* per batch, m/n pulls of every item in expectation */
	expected = (double) batches * config.negatives / ITEMS;
	for (int j = 0; j < ITEMS; j++)
	{
		double		pulls = -log((double) model.items[(size_t) j * DIMS]) * sqrt(acc) / (eta * lambda);
		double		positives = (double) (by_item.row_start[j + 1] - by_item.row_start[j]);

		/* every coordinate alike */
		CHECK_NEAR(model.items[(size_t) j * DIMS + DIMS - 1], model.items[(size_t) j * DIMS], 1e-6);
		if (j < 10)
			head += (pulls - positives) / 10;
		else if (j >= ITEMS / 2)
			tail += (pulls - positives) / (ITEMS / 2);
	}
	CHECK_NEAR(head, expected, 0.1 * expected);
	CHECK_NEAR(tail, expected, 0.1 * expected);

	free(scratch);
	free(model.users);
	free(model.items);
	free(model.user_acc);
	free(model.item_acc);
	unit_csr_free(&by_user);
	unit_csr_free(&by_item);
}

int
main(void)
{
	RUN_TEST(test_softmax_gradient);
	RUN_TEST(test_pairwise_and_pointwise_gradients);
	RUN_TEST(test_alias_frequencies);
	RUN_TEST(test_rank_sampler_frequencies);
	RUN_TEST(test_sampled_softmax_approaches_full);
	RUN_TEST(test_kernel_sampler);
	RUN_TEST(test_two_pass_select);
	RUN_TEST(test_lambdarank);
	RUN_TEST(test_negative_l2_is_sampler_free);
	return unit_tests_failed != 0;
}
