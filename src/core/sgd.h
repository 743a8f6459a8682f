/*
 * sgd.h
 *		Sampling-based training of dot-product models (DESIGN §4, §5.1.3):
 *		sampled softmax (Algorithm 3), BPR, WARP and LambdaRank-weighted
 *		BPR (Algorithm 2, §4.2.2–4.2.3),
 *		pointwise logistic SGD with sampled negatives (Algorithm 1) and SGD
 *		on the pointwise square loss with Gramians (Algorithm 5).
 *
 * Parallelism is Hogwild (Recht et al. 2011): threads take mini-batches of
 * the shuffled positives and update the shared embeddings without locks.
 * Updates of one step touch a handful of rows out of many, so collisions are
 * rare and harmless to convergence, and there is no gradient buffer to merge
 * (per-thread buffers would cost a full copy of the model per thread).  With
 * one thread the result is deterministic for a seed.
 *
 * Step sizes are Adagrad per row: a row's rate is η/√(accumulated mean
 * squared gradient), so rows seen often (popular items) take smaller steps.
 */
#ifndef IREC_SGD_H
#define IREC_SGD_H

#include <stddef.h>
#include <stdint.h>

#include "sampler.h"
#include "sparse.h"

typedef enum SgdAlgorithm
{
	SGD_SOFTMAX,
	SGD_BPR,
	SGD_WARP,
	SGD_POINTWISE,
	SGD_GRAMIAN,
	SGD_LAMBDARANK
} SgdAlgorithm;

typedef enum SamplerKind
{
	SAMPLER_UNIFORM,
	SAMPLER_POPULARITY,			/* q(j) ∝ |C_j|^β */
	SAMPLER_IN_BATCH,			/* the batch's own positives, q(j) = |C_j| / |S| */
	SAMPLER_RANK_ADAPTIVE,		/* §4.2.4, for BPR */
	SAMPLER_KERNEL,				/* §4.3.1, softmax: q(j) ∝ Σ_b 1 + ⟨φ_b, ψ_j⟩²/T² over the batch */
	SAMPLER_TWO_PASS			/* §4.3.2, softmax: the m of M popularity^β draws that weigh most */
} SamplerKind;

typedef struct SgdConfig
{
	SgdAlgorithm algorithm;
	SamplerKind sampler;
	int			dims;
	int			negatives;		/* m: shared per batch (softmax), per positive (pointwise),
								 * draws estimating ranks (lambdarank) */
	double		popularity_exponent;	/* β */
	int			logq;			/* softmax: subtract ln(m·q(j)) from negative logits */
	double		temperature;	/* softmax: logits are scores / temperature */
	double		regularization; /* L2 weight λ on touched rows */
	double		learning_rate;	/* η of Adagrad */
	int			batch_size;
	int			threads;
	uint64_t	seed;
	double		unobserved_weight;	/* gramian: α0 */
	int			max_trials;		/* warp: draws before giving up on a violator */
	double		rank_scale;		/* rank-adaptive sampler: mean rank */
	int			candidates;		/* two-pass: M, the first pass's draws */
	int			pairwise;		/* gramian: the pairwise square loss (pairwise.h) */
} SgdConfig;

/*
 * The two-pass sampler's M when left out: four times the m it keeps (the
 * catalogue when smaller).  The kept m then carry most of the M-sample
 * softmax's negative mass, at about a third of uniform m = 1,024's cost for
 * m = 128 (README, bench_sgd.sh).
 */
#define TWO_PASS_CANDIDATES_PER_NEGATIVE 4

typedef struct SgdModel
{
	size_t		n_users;
	size_t		n_items;
	float	   *users;			/* n_users × dims */
	float	   *items;			/* n_items × dims */
	float	   *user_acc;		/* n_users Adagrad accumulators */
	float	   *item_acc;		/* n_items */
} SgdModel;

typedef struct SgdData
{
	const CsrMatrix *by_user;	/* positives; values = confidence α (gramian) */
	const CsrMatrix *by_item;
} SgdData;

/* Everything the trainer allocates, in bytes, taken from the caller. */
size_t		sgd_scratch_bytes(const SgdConfig *config, const SgdData *data);

typedef struct SgdState SgdState;

/*
 * sgd_begin: lay the trainer's state out in scratch (sgd_scratch_bytes);
 * returns NULL when the sampler cannot be built (no positives).
 */
SgdState   *sgd_begin(const SgdConfig *config, const SgdData *data, void *scratch);

/*
 * sgd_epoch_begin: shuffle the positives for `epoch`, refresh the samplers
 * and Gramians that depend on the model; returns the number of batches.
 */
size_t		sgd_epoch_begin(SgdState *state, SgdModel *model, int epoch);

/*
 * sgd_run_batches: train on batches [begin, end) of the epoch on all
 * threads; adds the batches' summed loss and positive count to the state.
 * Returns 0.
 */
int			sgd_run_batches(SgdState *state, SgdModel *model, size_t begin, size_t end);

/*
 * The epoch's training loss, summed over its positives (for Gramian SGD
 * with the all-pairs term over the final embeddings, the same objective
 * iALS reports).  Call after the epoch's batches.
 */
double		sgd_epoch_loss(SgdState *state, SgdModel *model);

/*
 * The losses and their gradients with respect to the embeddings, one step
 * each, exposed so that tests can check them against finite differences.
 * Gradients are accumulated (+=) into the g_* buffers (softmax_batch's
 * are written); regularization is not included (the update adds λ·x).
 */

/*
 * Sampled softmax for a batch of B positives (rows of ctx, pos) with m
 * shared negatives (rows of neg): loss_b = −l_b+ + ln(e^{l_b+} + Σ_k e^{l_bk}),
 * l = score/T, minus ln(m·q_k) on negatives when log_q is given.  Negatives
 * equal to the row's positive (accidental hits) are masked.  The gradients
 * are written (=), not added.  work holds B × (m + 1) floats.  Returns the
 * summed loss.
 */
double		softmax_batch(const float *ctx, const float *pos, const int32_t *pos_ids,
						  const float *neg, const int32_t *neg_ids, const float *log_q,
						  int batch, int m, int dims, float temperature,
						  float *g_ctx, float *g_pos, float *g_neg, float *work);

/*
 * The two-pass sampler's second pass (Bai et al. 2017; survey §4.3.2).  The
 * first pass drew n_draws = M items from q (ln q per item in log_q_item);
 * the sampled softmax over all of them, corrected by ln(M·q(j)), estimates
 * each row's partition function without bias, but costs three sgemms over
 * M.  This scores the M against the batch (one sgemm) and draws `keep` = m
 * of them with replacement, with probability r(j) ∝ half of j's share of
 * the batch's softmax mass (Σ_b p_b(j) over the M-sample) and half evenly:
 * importance sampling of the M-sample's sum, which stays unbiased with the
 * correction ln(M·q(j)) + ln(m·r(j)) and has little variance where the
 * batch agrees.  (Keeping only the m heaviest, without the correction,
 * loses the bulk of the partition sum: measured on lastfm-2k it trained
 * worse models than uniform draws.)  Repeated draws are merged, c copies
 * being one negative with its correction less ln c.  With M ≤ m unique
 * items, all are kept.  draws is sorted and deduplicated in place; buffer
 * holds two_pass_buffer_floats floats.  Writes ids, rows (from items) and
 * corrections; returns how many.
 */
int			two_pass_select(const float *ctx, const float *pos, const int32_t *pos_ids, int count,
							const float *items, int dims, float temperature,
							const float *log_q_item, int32_t *draws, int n_draws, int keep,
							Rng *rng, float *buffer, int32_t *neg_ids, float *neg, float *log_q);
size_t		two_pass_buffer_floats(int count, int n_draws, int dims);

/* BPR: −ln σ(φ·ψ_i − φ·ψ_j). */
double		bpr_gradients(const float *ctx, const float *pos, const float *neg, int dims,
						  float *g_ctx, float *g_pos, float *g_neg);

/*
 * WARP: L(⌊(n−1)/trials⌋)·max(0, 1 − φ·ψ_i + φ·ψ_j), L(k) = Σ_{r≤k} 1/r, for
 * a violator found after `trials` draws among n_items.
 */
double		warp_gradients(const float *ctx, const float *pos, const float *neg, int dims,
						   int trials, size_t n_items,
						   float *g_ctx, float *g_pos, float *g_neg);

/*
 * LambdaRank-style weights for pairwise SGD (survey §4.2.2; LambdaFM, Yuan
 * et al. 2016): a BPR step on (c, i, j) is weighted by |ΔNDCG|, the change
 * in NDCG of swapping the positive i and the negative j in c's ranking,
 * |1/log₂(1 + r_i) − 1/log₂(1 + r_j)| for ranks r counted from 1.  So pairs
 * near the top of the ranking, where the metric is decided, weigh most.
 * The trainer divides a batch's weights by their mean (sgd.c says why).
 * Measured (d = 64, seeded 80/20 splits): NDCG@20 0.2051 against BPR's
 * 0.2364 on lastfm-2k, 0.174 against 0.307 on planted data.  By its
 * formula the weight is small for a positive deep in the ranking unless its
 * negative ranks near the top, which uniform draws seldom do.
 */
double		lambdarank_weight(double rank_pos, double rank_neg);

/*
 * The ranks of items pos and neg among all n_items for context ctx,
 * estimated from `samples` uniform draws: 1 + n_items · (share of draws
 * scoring above), an unbiased estimate of 1 + the number of items above;
 * then the lower-scoring of the two is put at least one below the other
 * (their own order is known exactly).
 */
void		lambdarank_ranks(const float *ctx, const float *items, size_t n_items, int dims,
							 int32_t pos, int32_t neg, int samples, Rng *rng,
							 double *rank_pos, double *rank_neg);

/* Pointwise logistic: −ln σ(φ·ψ_i) − Σ_k ln(1 − σ(φ·ψ_k)) over m negatives. */
double		pointwise_gradients(const float *ctx, const float *pos, const float *negs, int m,
								int dims, float *g_ctx, float *g_pos, float *g_negs);

/*
 * Gramian SGD for one positive (c, i) with confidence α (Algorithm 5):
 * α(ŷ−1)² − α0·ŷ² + α0·(φᵀG_Iφ/|I_c| + ψᵀG_Cψ/|C_i|), the all-pairs term
 * spread over the user's and the item's positives through the Gramians.
 */
double		gramian_gradients(const float *ctx, const float *pos, int dims, float alpha,
							  float alpha0, const float *item_gram, const float *user_gram,
							  float user_count, float item_count,
							  float *g_ctx, float *g_pos);

/*
 * Gramian SGD for the pairwise square loss (pairwise.h), one positive (c, i)
 * with confidence α among n items: φ descends α[(ŷ−1)² − (2/n)(ŷ−1)⟨φ,z⟩
 * + (1/n)φᵀGφ], c's share of the loss, with the items' Gramian G and sum z
 * held for the epoch; ψ_i descends the part through ŷ, plus its share of
 * the gradient every item takes as a compared item, (2/n)(G_W ψ − t) with
 * G_W and t the sums over users of pairwise_user_sums, spread over its
 * |C_i| positives.  Returns the objective whose gradients these are (for
 * tests; the epoch's loss is pairwise_loss).
 */
double		pairwise_gramian_gradients(const float *ctx, const float *pos, int dims, float alpha,
									   double n_items, const float *item_gram, const float *item_sum,
									   const float *weighted_user_gram, const float *residual_sum,
									   float item_count, float *g_ctx, float *g_pos);

/*
 * The softmax's default λ (spectrum.h says why): the L2 term pulls a user
 * to zero with weight n_u per epoch and an item with its positives plus its
 * draws as a negative, which the trainer weighs to uniform draws' expected
 * count whatever the sampler (so λ is the same for every sampler but
 * in-batch, whose draws per batch are the batch); the all-zero model stays
 * a saddle in every direction whose singular value σ of the so-weighted,
 * centred interaction matrix exceeds λ·T.
 * λ = SOFTMAX_REGULARIZATION_PER_SIGMA · σ_k / T with
 * k = min(dims, SOFTMAX_SPECTRUM_RANK): measured on five data sets of very
 * different shapes (400 to 41k items, 5 to 94 positives per item), the best
 * λ lay at 0.7–1 × σ_64, while 0.3.0's constant 0.2 ranged from 0.8 × σ_64
 * (best) to 3.2 × σ_64 (a model that collapsed to popularity).
 */
#define SOFTMAX_REGULARIZATION_PER_SIGMA 0.8
/* The drawn negatives per batch the rule counts (the default m; see sgd.c). */
#define SOFTMAX_REFERENCE_NEGATIVES 1024
#define SOFTMAX_SPECTRUM_RANK 64
#define SOFTMAX_SPECTRUM_ITERATIONS 6
/* With fewer than two items or no positives there is no spectrum to read. */
#define SOFTMAX_FALLBACK_REGULARIZATION 0.2

/* Floats of scratch softmax_default_regularization needs. */
size_t		softmax_default_scratch_floats(const SgdConfig *config, const SgdData *data);

/*
 * softmax_default_regularization: λ for config (its sampler, negatives,
 * batch size, temperature, dims and seed; regularization is ignored) on
 * data.  between_steps(arg) runs between power steps.  Returns −1 when
 * LAPACK fails.
 */
double		softmax_default_regularization(const SgdConfig *config, const SgdData *data,
										   float *scratch, void (*between_steps) (void *arg),
										   void *arg);

#endif							/* IREC_SGD_H */
