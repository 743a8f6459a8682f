/*
 * sgd.c
 *		Sampling-based trainers (see sgd.h).
 */
#include "sgd.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ials.h"
#include "pairwise.h"
#include "parallel.h"
#include "rng.h"
#include "spectrum.h"
#include "vecmath.h"

/* A masked logit: far below any real one, yet finite (vec_exp needs finite input). */
#define MASKED_LOGIT (-1e30f)

#define MAXALIGN_SGD(x) (((x) + 15) & ~(size_t) 15)

struct SgdState
{
	SgdConfig	config;
	const SgdData *data;
	size_t		nnz;
	int32_t    *pos_user;		/* nnz */
	int32_t    *pos_item;		/* nnz */
	float	   *pos_alpha;		/* nnz */
	int32_t    *sorted_cols;	/* by_user columns, sorted within each row */
	uint32_t   *order;			/* nnz: this epoch's permutation */
	double	   *batch_loss;		/* per batch of the epoch */
	size_t		n_batches;
	int			epoch;
	AliasTable	popularity;		/* q over items (popularity and in-batch) */
	float	   *log_q;			/* ln q(j) per item, for the softmax's logQ correction */
	RankSampler rank;
	KernelSampler kernel;
	float	   *item_gram;		/* dims × dims (gramian) */
	float	   *user_gram;
	float	   *gram_partials;	/* threads × dims × dims */
	/* pairwise Gramian SGD: the items' sum, G_W and t (pairwise.h), their scratch */
	float	   *item_sum;
	float	   *weighted_user_gram;
	float	   *residual_sum;
	float	   *pairwise_scratch;
	IalsConfig	pairwise_config;	/* dims, threads; no regularization: the loss is the data term */
	char	   *thread_scratch;
	size_t		thread_bytes;
};

/* Per-thread buffers, as floats. */
static size_t
thread_floats(const SgdConfig *c)
{
	size_t		d = (size_t) c->dims;
	size_t		b = (size_t) c->batch_size;
	size_t		m = (size_t) (c->sampler == SAMPLER_IN_BATCH ? c->batch_size : c->negatives);
	size_t		floats = 4 * b * d + 2 * m * d + b * (m + 1) + 3 * b + 2 * m + 8 * d + 64;

	/* ctx, pos, g_ctx, g_pos (B×d); neg, g_neg (m×d); work (B×(m+1)); ids and log q */
	if (c->sampler == SAMPLER_TWO_PASS)
	{
		size_t		candidates = (size_t) c->candidates;

		/* the draws, then two_pass_select's buffer */
		floats += candidates + 16 + two_pass_buffer_floats((int) b, (int) candidates, (int) d);
	}
	if (c->sampler == SAMPLER_KERNEL)
		/* the batch's kernel context, and q (doubles) */
		floats += kernel_context_max_floats(c->dims) + 2 * m + 16;
	return floats;
}

size_t
sgd_scratch_bytes(const SgdConfig *c, const SgdData *data)
{
	size_t		nnz = data->by_user->nnz;
	size_t		n_items = data->by_user->n_cols;
	size_t		d = (size_t) c->dims;
	size_t		n_batches = nnz / (size_t) c->batch_size + 1;
	size_t		bytes = 0;

	bytes += nnz * (3 * sizeof(int32_t) + sizeof(float) + sizeof(uint32_t));
	bytes += n_batches * sizeof(double);
	bytes += alias_table_bytes(n_items);
	if (c->sampler == SAMPLER_RANK_ADAPTIVE)
		bytes += rank_sampler_bytes(n_items, c->dims);
	if (c->sampler == SAMPLER_KERNEL)
		bytes += kernel_sampler_bytes(n_items, c->dims);
	bytes += sizeof(float) * d * d * (2 + (size_t) c->threads);
	if (c->pairwise)
		bytes += sizeof(float) * (d * d + 2 * d + 32 + pairwise_loss_scratch_floats(&(IalsConfig) {
			.dims = c->dims,.threads = c->threads}, data->by_user->n_rows));
	bytes += (size_t) c->threads * thread_floats(c) * sizeof(float);
	bytes += sizeof(double) * n_items;	/* sampler weights while building, then ln q */
	bytes += sizeof(SgdState);
	return bytes + 256;
}

static int
compare_int32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/* Unnormalized q(j) of the sampler: popularity^β, popularity (in-batch), or 1. */
static double
sampler_weight(const SgdConfig *c, const CsrMatrix *by_item, size_t j)
{
	double		count = (double) (by_item->row_start[j + 1] - by_item->row_start[j]);

	return c->sampler == SAMPLER_IN_BATCH ? count
		: c->sampler == SAMPLER_POPULARITY || c->sampler == SAMPLER_TWO_PASS
		? pow(count, c->popularity_exponent) : 1.0;
}

SgdState *
sgd_begin(const SgdConfig *c, const SgdData *data, void *scratch)
{
	char	   *p = (char *) scratch;
	SgdState   *s;
	const CsrMatrix *by_user = data->by_user;
	size_t		n_items = by_user->n_cols;
	size_t		d = (size_t) c->dims;
	double	   *weights;

	/* the state itself lives at the start of the scratch */
	s = (SgdState *) p;
	p += MAXALIGN_SGD(sizeof(SgdState));
	s->config = *c;
	s->data = data;
	s->nnz = by_user->nnz;
	s->pos_user = (int32_t *) p;
	p += sizeof(int32_t) * s->nnz;
	s->pos_item = (int32_t *) p;
	p += sizeof(int32_t) * s->nnz;
	s->sorted_cols = (int32_t *) p;
	p += sizeof(int32_t) * s->nnz;
	s->pos_alpha = (float *) p;
	p += sizeof(float) * s->nnz;
	s->order = (uint32_t *) p;
	p += sizeof(uint32_t) * s->nnz;
	s->n_batches = (s->nnz + c->batch_size - 1) / c->batch_size;
	s->batch_loss = (double *) p;
	p += sizeof(double) * (s->nnz / c->batch_size + 1);

	for (size_t r = 0; r < by_user->n_rows; r++)
		for (size_t k = by_user->row_start[r]; k < by_user->row_start[r + 1]; k++)
		{
			s->pos_user[k] = (int32_t) r;
			s->pos_item[k] = by_user->col[k];
			s->pos_alpha[k] = by_user->value[k];
			s->sorted_cols[k] = by_user->col[k];
		}
	for (size_t r = 0; r < by_user->n_rows; r++)
		qsort(s->sorted_cols + by_user->row_start[r], by_user->row_start[r + 1] - by_user->row_start[r],
			  sizeof(int32_t), compare_int32);

	/* q over items: popularity^β, or plain popularity for in-batch negatives */
	weights = (double *) p;
	p += sizeof(double) * n_items;
	for (size_t j = 0; j < n_items; j++)
		weights[j] = sampler_weight(c, data->by_item, j);
	if (alias_build(&s->popularity, weights, n_items, p) != 0)
		return NULL;
	p += alias_table_bytes(n_items);
	/* the weights are spent: their space keeps ln q, looked up per draw */
	s->log_q = (float *) weights;
	for (size_t j = 0; j < n_items; j++)
		s->log_q[j] = (float) log(s->popularity.q[j]);
	if (c->sampler == SAMPLER_RANK_ADAPTIVE)
	{
		rank_sampler_init(&s->rank, n_items, c->dims, c->rank_scale, p);
		p += rank_sampler_bytes(n_items, c->dims);
	}
	if (c->sampler == SAMPLER_KERNEL)
	{
		/* aligned for the tree's floats; K = 1 + (score/T)², the logits' own scale */
		p = (char *) (((uintptr_t) p + 63) & ~(uintptr_t) 63);
		kernel_sampler_init(&s->kernel, n_items, c->dims, 1.0 / (c->temperature * c->temperature), p);
		p += kernel_sampler_bytes(n_items, c->dims);
	}
	/* floats from here on: keep them aligned */
	p = (char *) (((uintptr_t) p + 63) & ~(uintptr_t) 63);
	s->item_gram = (float *) p;
	s->user_gram = s->item_gram + d * d;
	s->gram_partials = s->user_gram + d * d;
	p = (char *) (s->gram_partials + d * d * (size_t) c->threads);
	if (c->pairwise)
	{
		memset(&s->pairwise_config, 0, sizeof(s->pairwise_config));
		s->pairwise_config.dims = c->dims;
		s->pairwise_config.threads = c->threads;
		s->weighted_user_gram = (float *) p;
		s->item_sum = s->weighted_user_gram + d * d;
		s->residual_sum = s->item_sum + d;
		s->pairwise_scratch = (float *) (((uintptr_t) (s->residual_sum + d) + 63) & ~(uintptr_t) 63);
		p = (char *) (s->pairwise_scratch + pairwise_loss_scratch_floats(&s->pairwise_config, by_user->n_rows));
		p = (char *) (((uintptr_t) p + 63) & ~(uintptr_t) 63);
	}
	s->thread_scratch = p;
	s->thread_bytes = thread_floats(c) * sizeof(float);
	s->epoch = 0;
	return s;
}

size_t
sgd_epoch_begin(SgdState *s, SgdModel *model, int epoch)
{
	Rng			rng;

	s->epoch = epoch;
	rng_seed(&rng, s->config.seed, 0x5EED0000ULL + (uint64_t) epoch);
	for (size_t k = 0; k < s->nnz; k++)
		s->order[k] = (uint32_t) k;
	for (size_t k = s->nnz; k > 1; k--)
	{
		size_t		j = (size_t) (rng_uniform(&rng) * k);
		uint32_t	t = s->order[k - 1];

		s->order[k - 1] = s->order[j];
		s->order[j] = t;
	}
	memset(s->batch_loss, 0, sizeof(double) * s->n_batches);
	if (s->config.sampler == SAMPLER_RANK_ADAPTIVE)
		rank_sampler_refresh(&s->rank, model->items, s->config.threads);
	if (s->config.sampler == SAMPLER_KERNEL)
		kernel_sampler_refresh(&s->kernel, model->items, s->config.threads);
	if (s->config.algorithm == SGD_GRAMIAN)
	{
		ials_gramian(model->items, model->n_items, s->config.dims, s->config.threads,
					 s->item_gram, s->gram_partials);
		if (s->config.pairwise)
		{
			pairwise_row_sum(model->items, model->n_items, s->config.dims, s->item_sum);
			pairwise_user_sums(&s->pairwise_config, s->data->by_user,
							   model->users, model->items, s->weighted_user_gram, s->residual_sum,
							   s->pairwise_scratch);
		}
		else
			ials_gramian(model->users, model->n_users, s->config.dims, s->config.threads,
						 s->user_gram, s->gram_partials);
	}
	return s->n_batches;
}

double
sgd_epoch_loss(SgdState *s, SgdModel *model)
{
	double		total = 0.0;

	for (size_t b = 0; b < s->n_batches; b++)
		total += s->batch_loss[b];
	if (s->config.algorithm == SGD_GRAMIAN && s->config.pairwise)
	{
		/* the exact loss (data term) of the epoch's final embeddings (pairwise.h) */
		ials_gramian(model->items, model->n_items, s->config.dims, s->config.threads,
					 s->item_gram, s->gram_partials);
		pairwise_row_sum(model->items, model->n_items, s->config.dims, s->item_sum);
		return pairwise_loss(&s->pairwise_config, s->data->by_user, s->data->by_item, model->users, model->items,
							 s->item_gram, s->item_sum, s->pairwise_scratch);
	}
	if (s->config.algorithm == SGD_GRAMIAN)
	{
		/*
		 * The batches summed the observed terms α(ŷ−1)² − α0·ŷ²; the
		 * all-pairs term α0·Σ ŷ² = α0·⟨G_C, G_I⟩ comes from the Gramians of
		 * the epoch's final embeddings, as in iALS's loss.
		 */
		size_t		dd = (size_t) s->config.dims * s->config.dims;
		double		all_pairs = 0.0;

		ials_gramian(model->items, model->n_items, s->config.dims, s->config.threads,
					 s->item_gram, s->gram_partials);
		ials_gramian(model->users, model->n_users, s->config.dims, s->config.threads,
					 s->user_gram, s->gram_partials);
		for (size_t k = 0; k < dd; k++)
			all_pairs += (double) s->user_gram[k] * s->item_gram[k];
		total += s->config.unobserved_weight * all_pairs;
	}
	return total;
}

/*
 * Adagrad step on one row: g += λx, acc += mean(g²), x −= η/√acc · g.  The
 * gradient row g is consumed (it holds g + λx afterwards).
 */
static void
adagrad_update(float *x, float *acc, float *g, int dims, float eta, float lambda)
{
	float		rate;

	vec_axpy(g, lambda, x, dims);
	*acc += vec_norm_squared(g, dims) / dims;
	rate = eta / sqrtf(*acc + 1e-12f);
	vec_axpy(x, -rate, g, dims);
}

static int
is_positive(const SgdState *s, int32_t user, int32_t item)
{
	const CsrMatrix *m = s->data->by_user;
	const int32_t *cols = s->sorted_cols + m->row_start[user];
	size_t		n = m->row_start[user + 1] - m->row_start[user];
	size_t		low = 0;
	size_t		high = n;

	while (low < high)
	{
		size_t		mid = (low + high) / 2;

		if (cols[mid] < item)
			low = mid + 1;
		else
			high = mid;
	}
	return low < n && cols[low] == item;
}

static int32_t
draw_item(const SgdState *s, const float *context, Rng *rng)
{
	switch (s->config.sampler)
	{
		case SAMPLER_RANK_ADAPTIVE:
			return rank_sampler_draw(&s->rank, context, rng);
		case SAMPLER_UNIFORM:
			{
				int32_t		j = (int32_t) (rng_uniform(rng) * s->popularity.n);

				return j < (int32_t) s->popularity.n ? j : (int32_t) s->popularity.n - 1;
			}
		default:
			return alias_draw(&s->popularity, rng);
	}
}

/* ---------- losses and gradients ---------- */

static inline float
sigmoid(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

/* ln σ(x), stable for large |x| */
static inline double
log_sigmoid(double x)
{
	return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x));
}

double
softmax_batch(const float *ctx, const float *pos, const int32_t *pos_ids,
			  const float *neg, const int32_t *neg_ids, const float *log_q,
			  int batch, int m, int dims, float temperature,
			  float *g_ctx, float *g_pos, float *g_neg, float *work)
{
	float		inv_t = 1.0f / temperature;
	float	   *pos_coef = work + (size_t) batch * m;
	double		loss = 0.0;

	/* logits of the negatives: one sgemm for the whole batch */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, m, dims, inv_t,
				ctx, dims, neg, dims, 0.0f, work, m);
	for (int b = 0; b < batch; b++)
	{
		float	   *row = work + (size_t) b * m;
		float		l_pos = vec_dot(ctx + (size_t) b * dims, pos + (size_t) b * dims, dims) * inv_t;
		/* an accidental hit is not a negative */
		float		top = vec_logits_max(row, log_q, neg_ids, pos_ids[b], MASKED_LOGIT, m);
		double		e_pos;
		double		z;

		if (l_pos > top)
			top = l_pos;
		e_pos = exp((double) l_pos - top);
		z = e_pos + vec_exp_sum(row, m, top);
		loss += -(double) l_pos + top + log(z);
		/* row becomes d loss / d score of each negative: p_k / T */
		vec_scale(row, (float) (inv_t / z), m);
		/* d loss / d s_pos = (p_pos − 1)/T */
		pos_coef[b] = ((float) (e_pos / z) - 1.0f) * inv_t;
	}
	/* g_ctx = P·neg ; g_neg = Pᵀ·ctx (P already holds p/T): written, not added */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, dims, m, 1.0f,
				work, m, neg, dims, 0.0f, g_ctx, dims);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, dims, batch, 1.0f,
				work, m, ctx, dims, 0.0f, g_neg, dims);
	for (int b = 0; b < batch; b++)
	{
		vec_axpy(g_ctx + (size_t) b * dims, pos_coef[b], pos + (size_t) b * dims, dims);
		memcpy(g_pos + (size_t) b * dims, ctx + (size_t) b * dims, sizeof(float) * dims);
		vec_scale(g_pos + (size_t) b * dims, pos_coef[b], dims);
	}
	return loss;
}

double
bpr_gradients(const float *ctx, const float *pos, const float *neg, int dims,
			  float *g_ctx, float *g_pos, float *g_neg)
{
	float		x = vec_dot(ctx, pos, dims) - vec_dot(ctx, neg, dims);
	float		g = sigmoid(x) - 1.0f;	/* d(−ln σ(x))/dx */

	vec_axpy(g_ctx, g, pos, dims);
	vec_axpy(g_ctx, -g, neg, dims);
	vec_axpy(g_pos, g, ctx, dims);
	vec_axpy(g_neg, -g, ctx, dims);
	return -log_sigmoid(x);
}

double
lambdarank_weight(double rank_pos, double rank_neg)
{
	return fabs(1.0 / log2(1.0 + rank_pos) - 1.0 / log2(1.0 + rank_neg));
}

void
lambdarank_ranks(const float *ctx, const float *items, size_t n_items, int dims,
				 int32_t pos, int32_t neg, int samples, Rng *rng,
				 double *rank_pos, double *rank_neg)
{
	float		s_pos = vec_dot(ctx, items + (size_t) pos * dims, dims);
	float		s_neg = vec_dot(ctx, items + (size_t) neg * dims, dims);
	int			above_pos = 0;
	int			above_neg = 0;

	for (int t = 0; t < samples; t++)
	{
		size_t		k = (size_t) (rng_uniform(rng) * n_items);
		float		score;

		if (k >= n_items)
			k = n_items - 1;
		score = vec_dot(ctx, items + k * dims, dims);
		above_pos += score > s_pos;
		above_neg += score > s_neg;
	}
	*rank_pos = 1.0 + (double) n_items * above_pos / samples;
	*rank_neg = 1.0 + (double) n_items * above_neg / samples;
	/*
	 * The pair's own order is known exactly: the one scoring lower ranks
	 * at least one below the other.  (Else two items above every draw
	 * would both be estimated at rank 1 and the pair at the very top, the
	 * one that matters most, would weigh 0.)
	 */
	if (s_neg > s_pos && *rank_pos < *rank_neg + 1.0)
		*rank_pos = *rank_neg + 1.0;
	else if (s_pos > s_neg && *rank_neg < *rank_pos + 1.0)
		*rank_neg = *rank_pos + 1.0;
}

static double
warp_rank_weight(int trials, size_t n_items)
{
	size_t		rank = trials > 0 ? (n_items - 1) / (size_t) trials : 0;
	double		weight = 0.0;

	for (size_t r = 1; r <= rank; r++)
		weight += 1.0 / r;
	return weight;
}

double
warp_gradients(const float *ctx, const float *pos, const float *neg, int dims,
			   int trials, size_t n_items, float *g_ctx, float *g_pos, float *g_neg)
{
	float		margin = 1.0f - vec_dot(ctx, pos, dims) + vec_dot(ctx, neg, dims);
	float		w = (float) warp_rank_weight(trials, n_items);

	if (margin <= 0.0f)
		return 0.0;
	vec_axpy(g_ctx, w, neg, dims);
	vec_axpy(g_ctx, -w, pos, dims);
	vec_axpy(g_pos, -w, ctx, dims);
	vec_axpy(g_neg, w, ctx, dims);
	return w * margin;
}

double
pointwise_gradients(const float *ctx, const float *pos, const float *negs, int m, int dims,
					float *g_ctx, float *g_pos, float *g_negs)
{
	float		s = vec_dot(ctx, pos, dims);
	float		g = sigmoid(s) - 1.0f;	/* d(−ln σ(s))/ds */
	double		loss = -log_sigmoid(s);

	vec_axpy(g_ctx, g, pos, dims);
	vec_axpy(g_pos, g, ctx, dims);
	for (int k = 0; k < m; k++)
	{
		const float *neg = negs + (size_t) k * dims;
		float		sn = vec_dot(ctx, neg, dims);
		float		gn = sigmoid(sn);	/* d(−ln(1 − σ(s)))/ds */

		loss += -log_sigmoid(-sn);
		vec_axpy(g_ctx, gn, neg, dims);
		vec_axpy(g_negs + (size_t) k * dims, gn, ctx, dims);
	}
	return loss;
}

double
gramian_gradients(const float *ctx, const float *pos, int dims, float alpha, float alpha0,
				  const float *item_gram, const float *user_gram, float user_count,
				  float item_count, float *g_ctx, float *g_pos)
{
	float		y = vec_dot(ctx, pos, dims);
	float		observed = 2.0f * (alpha * (y - 1.0f) - alpha0 * y);
	double		loss = alpha * (y - 1.0) * (y - 1.0) - alpha0 * (double) y * y;
	double		quad_c = 0.0;
	double		quad_i = 0.0;

	for (int r = 0; r < dims; r++)
	{
		float		gc = vec_dot(item_gram + (size_t) r * dims, ctx, dims);
		float		gi = vec_dot(user_gram + (size_t) r * dims, pos, dims);

		quad_c += (double) ctx[r] * gc;
		quad_i += (double) pos[r] * gi;
		g_ctx[r] += observed * pos[r] + 2.0f * alpha0 * gc / user_count;
		g_pos[r] += observed * ctx[r] + 2.0f * alpha0 * gi / item_count;
	}
	return loss + alpha0 * (quad_c / user_count + quad_i / item_count);
}

/* ---------- the batch workers ---------- */

typedef struct BatchJob
{
	SgdState   *state;
	SgdModel   *model;
	size_t		first_batch;
} BatchJob;

/* Ask for a row's cache lines ahead of its use (rows drawn at random miss the caches). */
static inline void
prefetch_row(const float *row, int dims)
{
	for (int at = 0; at < dims; at += 16)
		__builtin_prefetch(row + at, 1);
}

static void
gather(float *out, const float *table, const int32_t *ids, int count, int dims)
{
	for (int k = 0; k < count; k++)
	{
		if (k + 8 < count)
			prefetch_row(table + (size_t) ids[k + 8] * dims, dims);
		memcpy(out + (size_t) k * dims, table + (size_t) ids[k] * dims, sizeof(float) * dims);
	}
}

/* Share of the second pass's draws spread evenly over the candidates. */
#define TWO_PASS_EVEN_SHARE 0.5

int
two_pass_select(const float *ctx, const float *pos, const int32_t *pos_ids, int count,
				const float *items, int dims, float temperature, const float *log_q_item,
				int32_t *draws, int n_draws, int keep, Rng *rng, float *buffer,
				int32_t *neg_ids, float *neg, float *log_q)
{
	int			d = dims;
	float		inv_t = 1.0f / temperature;
	float	   *rows = buffer;
	float	   *logits = rows + (size_t) n_draws * d;
	float	   *correction = logits + (size_t) count * n_draws;
	double	   *cumulative = (double *) (((uintptr_t) (correction + n_draws) + 7) & ~(uintptr_t) 7);
	int32_t    *picked = (int32_t *) (cumulative + n_draws);
	double		log_draws = log((double) n_draws);
	double		total = 0.0;
	int			unique = 0;
	int			kept = 0;

	qsort(draws, n_draws, sizeof(int32_t), compare_int32);
	for (int k = 0; k < n_draws;)
	{
		int			copies = 1;

		while (k + copies < n_draws && draws[k + copies] == draws[k])
			copies++;
		draws[unique] = draws[k];
		correction[unique] = (float) (log_draws + log_q_item[draws[k]] - log((double) copies));
		unique++;
		k += copies;
	}
	gather(rows, items, draws, unique, d);
	if (unique <= keep)
	{
		/* all of them: the first pass's own sampled softmax */
		memcpy(neg_ids, draws, sizeof(int32_t) * unique);
		memcpy(log_q, correction, sizeof(float) * unique);
		memcpy(neg, rows, sizeof(float) * unique * d);
		return unique;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count, unique, d, inv_t,
				ctx, d, rows, d, 0.0f, logits, unique);
	for (int k = 0; k < unique; k++)
		cumulative[k] = 0.0;
	for (int b = 0; b < count; b++)
	{
		float	   *row = logits + (size_t) b * unique;
		float		l_pos = vec_dot(ctx + (size_t) b * d, pos + (size_t) b * d, d) * inv_t;
		float		top = vec_logits_max(row, correction, draws, pos_ids[b], MASKED_LOGIT, unique);
		float		z;

		if (l_pos > top)
			top = l_pos;
		z = expf(l_pos - top) + vec_exp_sum(row, unique, top);
		for (int k = 0; k < unique; k++)
			cumulative[k] += row[k] / z;
	}
	for (int k = 0; k < unique; k++)
		total += cumulative[k];
	/* r(k): the weights' share, mixed with an even share; then cumulative */
	for (int k = 0; k < unique; k++)
	{
		double		r = (1.0 - TWO_PASS_EVEN_SHARE) * (total > 0.0 ? cumulative[k] / total : 1.0 / unique)
			+ TWO_PASS_EVEN_SHARE / unique;

		cumulative[k] = (k > 0 ? cumulative[k - 1] : 0.0) + r;
	}
	for (int t = 0; t < keep; t++)
	{
		double		u = rng_uniform(rng) * cumulative[unique - 1];
		int			low = 0;
		int			high = unique - 1;

		while (low < high)
		{
			int			mid = (low + high) / 2;

			if (cumulative[mid] <= u)
				low = mid + 1;
			else
				high = mid;
		}
		picked[t] = low;
	}
	qsort(picked, keep, sizeof(int32_t), compare_int32);
	for (int t = 0; t < keep;)
	{
		int			from = picked[t];
		int			copies = 1;
		double		r = (cumulative[from] - (from > 0 ? cumulative[from - 1] : 0.0)) / cumulative[unique - 1];

		while (t + copies < keep && picked[t + copies] == from)
			copies++;
		neg_ids[kept] = draws[from];
		/* both passes' corrections: ln(M·q(j)/c₁) + ln(m·r(j)/c₂) */
		log_q[kept] = (float) (correction[from] + log(keep * r / copies));
		memcpy(neg + (size_t) kept * d, rows + (size_t) from * d, sizeof(float) * d);
		kept++;
		t += copies;
	}
	return kept;
}

size_t
two_pass_buffer_floats(int count, int n_draws, int dims)
{
	/* rows, logits, corrections, cumulative shares (doubles), picks */
	return (size_t) n_draws * dims + (size_t) count * n_draws + 4 * (size_t) n_draws + 16;
}

/* The two-pass sampler's first pass (popularity^β draws), then two_pass_select. */
static int
two_pass_negatives(SgdState *s, SgdModel *model, const float *ctx, const float *pos,
				   const int32_t *pos_ids, int count, float *buffer, Rng *rng,
				   int32_t *neg_ids, float *neg, float *log_q)
{
	const SgdConfig *c = &s->config;
	int32_t    *draws = (int32_t *) buffer;

	for (int k = 0; k < c->candidates; k++)
		draws[k] = alias_draw(&s->popularity, rng);
	return two_pass_select(ctx, pos, pos_ids, count, model->items, c->dims, (float) c->temperature,
						   s->log_q, draws, c->candidates, c->negatives, rng,
						   buffer + ((c->candidates + 15) & ~15), neg_ids, neg, log_q);
}

static double
softmax_step(SgdState *s, SgdModel *model, size_t first, int count, float *buffer, Rng *rng)
{
	const SgdConfig *c = &s->config;
	int			d = c->dims;
	int			m = c->sampler == SAMPLER_IN_BATCH ? count : c->negatives;
	float	   *ctx = buffer;
	float	   *pos = ctx + (size_t) c->batch_size * d;
	float	   *g_ctx = pos + (size_t) c->batch_size * d;
	float	   *g_pos = g_ctx + (size_t) c->batch_size * d;
	float	   *neg = g_pos + (size_t) c->batch_size * d;
	float	   *g_neg = neg + (size_t) m * d;
	float	   *work = g_neg + (size_t) m * d;
	int32_t    *ctx_ids = (int32_t *) (work + (size_t) c->batch_size * (m + 1));
	int32_t    *pos_ids = ctx_ids + c->batch_size;
	int32_t    *neg_ids = pos_ids + c->batch_size;
	float	   *log_q = (float *) (neg_ids + m);
	/* the samplers' own scratch, 64-byte aligned */
	float	   *sampler_scratch = (float *) (((uintptr_t) (log_q + m) + 63) & ~(uintptr_t) 63);
	float		eta = (float) c->learning_rate;
	float		lambda = (float) c->regularization;
	float		log_m = (float) log((double) m);
	/* ln(m/n): an item's expected copies among m uniform draws */
	float		log_uniform_draws = (float) (log((double) m) - log((double) model->n_items));
	double		loss;

	for (int b = 0; b < count; b++)
	{
		uint32_t	k = s->order[first + b];

		ctx_ids[b] = s->pos_user[k];
		pos_ids[b] = s->pos_item[k];
	}
	gather(ctx, model->users, ctx_ids, count, d);
	gather(pos, model->items, pos_ids, count, d);
	if (c->sampler == SAMPLER_TWO_PASS)
		m = two_pass_negatives(s, model, ctx, pos, pos_ids, count, sampler_scratch, rng,
							   neg_ids, neg, log_q);
	else if (c->sampler == SAMPLER_KERNEL)
	{
		KernelContext context;
		double	   *q = (double *) (((uintptr_t) (sampler_scratch + kernel_context_floats(&s->kernel)) + 7)
								   & ~(uintptr_t) 7);

		kernel_context_set(&s->kernel, &context, ctx, count, sampler_scratch);
		kernel_sampler_draw(&s->kernel, &context, m, rng, neg_ids, q);
		for (int k = 0; k < m; k++)
			log_q[k] = (float) log(m * q[k]);
		gather(neg, model->items, neg_ids, m, d);
	}
	else
	{
		for (int k = 0; k < m; k++)
		{
			neg_ids[k] = c->sampler == SAMPLER_IN_BATCH ? pos_ids[k] : draw_item(s, NULL, rng);
			/* logQ correction: ln(m·q(j)) */
			log_q[k] = log_m + s->log_q[neg_ids[k]];
		}
		gather(neg, model->items, neg_ids, m, d);
	}
	loss = softmax_batch(ctx, pos, pos_ids, neg, neg_ids, c->logq ? log_q : NULL, count, m, d,
						 (float) c->temperature, g_ctx, g_pos, g_neg, work);
	for (int b = 0; b < count; b++)
	{
		adagrad_update(model->users + (size_t) ctx_ids[b] * d, &model->user_acc[ctx_ids[b]],
					   g_ctx + (size_t) b * d, d, eta, lambda);
		adagrad_update(model->items + (size_t) pos_ids[b] * d, &model->item_acc[pos_ids[b]],
					   g_pos + (size_t) b * d, d, eta, lambda);
	}
	/*
	 * A drawn copy's L2 pull is weighted by m/n over its expected copies,
	 * e^log_q (log_q is the logQ correction, ln of that expectation, or for
	 * two-pass the log of its unbiased importance weight's inverse): every
	 * item then takes λ·m/n per batch in expectation, as under uniform
	 * draws, whatever the sampler, and the objective is the same for all of
	 * them.  Unweighted, an item drawn c times per batch took c pulls, so
	 * popularity proposals shrank the head items the test sets ask for
	 * (lastfm-2k, NDCG@20 at m = 1,024: popularity^0.75 0.2487 → 0.3144,
	 * in-batch 0.1880 → 0.2955; README).  Uniform draws are unchanged
	 * (weight 1, not computed, so that their results stay bit-identical).
	 */
	for (int k = 0; k < m; k++)
	{
		/* rows drawn at random: ask for a later one while this one is updated */
		if (k + 8 < m)
			prefetch_row(model->items + (size_t) neg_ids[k + 8] * d, d);
		adagrad_update(model->items + (size_t) neg_ids[k] * d, &model->item_acc[neg_ids[k]],
					   g_neg + (size_t) k * d, d, eta,
					   c->sampler == SAMPLER_UNIFORM ? lambda
					   : lambda * expf(log_uniform_draws - log_q[k]));
	}
	return loss;
}

/*
 * LambdaRank-weighted BPR for a batch: first every positive's negative and
 * |ΔNDCG| weight from the model as the batch finds it, then the steps with
 * the weights divided by the batch's mean weight.  The ratios between pairs
 * are LambdaRank's; the mean is BPR's (the raw weights average far below 1,
 * pairs deep in the ranking weighing next to nothing, and training slowed
 * to a crawl: NDCG@20 half of BPR's on planted data in 12 epochs).
 */
static double
lambdarank_step(SgdState *s, SgdModel *model, size_t first, int count, float *buffer, Rng *rng)
{
	const SgdConfig *c = &s->config;
	int			d = c->dims;
	float	   *g_ctx = buffer;
	float	   *g_pos = g_ctx + d;
	float	   *g_neg = g_pos + d;
	float	   *weights = g_neg + d;
	int32_t    *negatives = (int32_t *) (weights + count);
	float		eta = (float) c->learning_rate;
	float		lambda = (float) c->regularization;
	double		total = 0.0;
	double		loss = 0.0;
	int			pairs = 0;

	for (int b = 0; b < count; b++)
	{
		uint32_t	k = s->order[first + b];
		int32_t		u = s->pos_user[k];
		int32_t		i = s->pos_item[k];
		const float *phi = model->users + (size_t) u * d;
		int32_t		j = draw_item(s, phi, rng);
		double		rank_pos;
		double		rank_neg;

		/* a negative the user actually has is no negative: draw again */
		for (int tries = 0; tries < 8 && (j == i || is_positive(s, u, j)); tries++)
			j = draw_item(s, phi, rng);
		negatives[b] = j;
		weights[b] = 0.0f;
		if (j == i)
			continue;
		lambdarank_ranks(phi, model->items, model->n_items, d, i, j, c->negatives, rng,
						 &rank_pos, &rank_neg);
		weights[b] = (float) lambdarank_weight(rank_pos, rank_neg);
		total += weights[b];
		pairs++;
	}
	if (!(total > 0.0))
		return 0.0;
	for (int b = 0; b < count; b++)
	{
		uint32_t	k = s->order[first + b];
		int32_t		u = s->pos_user[k];
		int32_t		i = s->pos_item[k];
		int32_t		j = negatives[b];
		float	   *phi = model->users + (size_t) u * d;
		float	   *psi = model->items + (size_t) i * d;
		float		weight = (float) (weights[b] * pairs / total);

		if (j == i || weights[b] == 0.0f)
			continue;
		memset(buffer, 0, sizeof(float) * 3 * d);
		loss += weights[b] * bpr_gradients(phi, psi, model->items + (size_t) j * d, d, g_ctx, g_pos, g_neg);
		vec_scale(buffer, weight, 3 * (size_t) d);
		adagrad_update(phi, &model->user_acc[u], g_ctx, d, eta, lambda);
		adagrad_update(psi, &model->item_acc[i], g_pos, d, eta, lambda);
		adagrad_update(model->items + (size_t) j * d, &model->item_acc[j], g_neg, d, eta, lambda);
	}
	return loss;
}

/* One positive at a time: BPR, WARP, pointwise, Gramian. */
static double
single_step(SgdState *s, SgdModel *model, uint32_t k, float *buffer, Rng *rng)
{
	const SgdConfig *c = &s->config;
	int			d = c->dims;
	int32_t		u = s->pos_user[k];
	int32_t		i = s->pos_item[k];
	float	   *phi = model->users + (size_t) u * d;
	float	   *psi = model->items + (size_t) i * d;
	float	   *g_ctx = buffer;
	float	   *g_pos = g_ctx + d;
	float	   *g_neg = g_pos + d;
	float		eta = (float) c->learning_rate;
	float		lambda = (float) c->regularization;
	double		loss = 0.0;

	memset(buffer, 0, sizeof(float) * 3 * d);
	switch (c->algorithm)
	{
		case SGD_BPR:
			{
				int32_t		j = draw_item(s, phi, rng);

				/* a negative the user actually has is no negative: draw again */
				for (int tries = 0; tries < 8 && (j == i || is_positive(s, u, j)); tries++)
					j = draw_item(s, phi, rng);
				if (j == i)
					return 0.0;
				loss = bpr_gradients(phi, psi, model->items + (size_t) j * d, d, g_ctx, g_pos, g_neg);
				adagrad_update(phi, &model->user_acc[u], g_ctx, d, eta, lambda);
				adagrad_update(psi, &model->item_acc[i], g_pos, d, eta, lambda);
				adagrad_update(model->items + (size_t) j * d, &model->item_acc[j], g_neg, d, eta, lambda);
				break;
			}
		case SGD_WARP:
			{
				float		s_pos = vec_dot(phi, psi, d);

				for (int trials = 1; trials <= c->max_trials; trials++)
				{
					int32_t		j = draw_item(s, phi, rng);
					const float *negv = model->items + (size_t) j * d;

					if (j == i || is_positive(s, u, j))
						continue;
					if (vec_dot(phi, negv, d) > s_pos - 1.0f)
					{
						loss = warp_gradients(phi, psi, negv, d, trials, model->n_items, g_ctx, g_pos, g_neg);
						adagrad_update(phi, &model->user_acc[u], g_ctx, d, eta, lambda);
						adagrad_update(psi, &model->item_acc[i], g_pos, d, eta, lambda);
						adagrad_update(model->items + (size_t) j * d, &model->item_acc[j], g_neg, d, eta, lambda);
						break;
					}
				}
				break;
			}
		case SGD_POINTWISE:
			{
				int			m = c->negatives;
				float	   *negs = g_neg + d;
				float	   *g_negs = negs + (size_t) m * d;
				int32_t    *ids = (int32_t *) (g_negs + (size_t) m * d);

				for (int n = 0; n < m; n++)
				{
					ids[n] = draw_item(s, phi, rng);
					memcpy(negs + (size_t) n * d, model->items + (size_t) ids[n] * d, sizeof(float) * d);
				}
				memset(g_negs, 0, sizeof(float) * (size_t) m * d);
				loss = pointwise_gradients(phi, psi, negs, m, d, g_ctx, g_pos, g_negs);
				adagrad_update(phi, &model->user_acc[u], g_ctx, d, eta, lambda);
				adagrad_update(psi, &model->item_acc[i], g_pos, d, eta, lambda);
				for (int n = 0; n < m; n++)
					adagrad_update(model->items + (size_t) ids[n] * d, &model->item_acc[ids[n]],
								   g_negs + (size_t) n * d, d, eta, lambda);
				break;
			}
		case SGD_GRAMIAN:
			{
				const CsrMatrix *bu = s->data->by_user;
				const CsrMatrix *bi = s->data->by_item;
				float		user_count = (float) (bu->row_start[u + 1] - bu->row_start[u]);
				float		item_count = (float) (bi->row_start[i + 1] - bi->row_start[i]);

				float		y = vec_dot(phi, psi, d);
				float		alpha = s->pos_alpha[k];

				if (c->pairwise)
					/* sgd_epoch_loss computes the epoch's loss itself */
					pairwise_gramian_gradients(phi, psi, d, alpha, (double) model->n_items, s->item_gram,
											   s->item_sum, s->weighted_user_gram, s->residual_sum,
											   item_count, g_ctx, g_pos);
				else
				{
					/* the observed terms; sgd_epoch_loss adds the all-pairs term */
					loss = alpha * (y - 1.0) * (y - 1.0) - c->unobserved_weight * (double) y * y;
					gramian_gradients(phi, psi, d, alpha, (float) c->unobserved_weight,
									  s->item_gram, s->user_gram, user_count, item_count, g_ctx, g_pos);
				}
				adagrad_update(phi, &model->user_acc[u], g_ctx, d, eta, lambda);
				adagrad_update(psi, &model->item_acc[i], g_pos, d, eta, lambda);
				break;
			}
		default:
			break;
	}
	return loss;
}

static int
batch_worker(void *context, size_t begin, size_t end, int thread)
{
	BatchJob   *job = (BatchJob *) context;
	SgdState   *s = job->state;
	float	   *buffer = (float *) (s->thread_scratch + s->thread_bytes * (size_t) thread);

	for (size_t batch = job->first_batch + begin; batch < job->first_batch + end; batch++)
	{
		size_t		first = batch * s->config.batch_size;
		int			count = (int) (s->nnz - first < (size_t) s->config.batch_size
								   ? s->nnz - first : (size_t) s->config.batch_size);
		Rng			rng;
		double		loss = 0.0;

		rng_seed(&rng, s->config.seed, ((uint64_t) s->epoch << 40) ^ (uint64_t) batch);
		if (s->config.algorithm == SGD_SOFTMAX)
			loss = softmax_step(s, job->model, first, count, buffer, &rng);
		else if (s->config.algorithm == SGD_LAMBDARANK)
			loss = lambdarank_step(s, job->model, first, count, buffer, &rng);
		else
			for (int b = 0; b < count; b++)
				loss += single_step(s, job->model, s->order[first + b], buffer, &rng);
		s->batch_loss[batch] = loss;
	}
	return 0;
}

int
sgd_run_batches(SgdState *state, SgdModel *model, size_t begin, size_t end)
{
	BatchJob	job = {state, model, begin};

	if (end <= begin)
		return 0;
	return parallel_for(state->config.threads, end - begin, 1, batch_worker, &job) == 0
		? 0 : -1;
}

double
pairwise_gramian_gradients(const float *ctx, const float *pos, int dims, float alpha, double n_items,
						   const float *item_gram, const float *item_sum,
						   const float *weighted_user_gram, const float *residual_sum,
						   float item_count, float *g_ctx, float *g_pos)
{
	double		y = vec_dot(ctx, pos, dims);
	double		ctx_sum = vec_dot(ctx, item_sum, dims);
	double		quad_c = 0.0;
	double		quad_i = 0.0;
	double		linear_i = vec_dot(pos, residual_sum, dims);
	float		observed = (float) (alpha * (2.0 * (y - 1.0) - 2.0 / n_items * ctx_sum));
	float		shift = (float) (-2.0 / n_items * alpha * (y - 1.0));
	float		spread = (float) (2.0 / (n_items * item_count));

	for (int r = 0; r < dims; r++)
	{
		float		gc = vec_dot(item_gram + (size_t) r * dims, ctx, dims);
		float		gi = vec_dot(weighted_user_gram + (size_t) r * dims, pos, dims);

		quad_c += (double) ctx[r] * gc;
		quad_i += (double) pos[r] * gi;
		/* φ: α[2(ŷ−1)ψ − (2/n)(⟨φ,z⟩ψ + (ŷ−1)z) + (2/n)Gφ] */
		g_ctx[r] += observed * pos[r] + shift * item_sum[r] + (float) (2.0 / n_items * alpha) * gc;
		/* ψ: α[2(ŷ−1) − (2/n)⟨φ,z⟩]φ + (2/n)(G_W ψ − t)/|C_i| */
		g_pos[r] += observed * ctx[r] + spread * (gi - residual_sum[r]);
	}
	return alpha * ((y - 1.0) * (y - 1.0) - 2.0 / n_items * (y - 1.0) * ctx_sum + quad_c / n_items)
		+ (quad_i - 2.0 * linear_i) / (n_items * item_count);
}

/* ---------- the softmax's default regularization ---------- */

static int
spectrum_rank(const SgdConfig *config, const SgdData *data)
{
	size_t		k = config->dims < SOFTMAX_SPECTRUM_RANK ? (size_t) config->dims : SOFTMAX_SPECTRUM_RANK;

	/* centring leaves at most min(|U|, |I| − 1) directions */
	if (k + 1 > data->by_item->n_rows)
		k = data->by_item->n_rows > 1 ? data->by_item->n_rows - 1 : 1;
	if (k > data->by_user->n_rows)
		k = data->by_user->n_rows;
	return (int) (k > 0 ? k : 1);
}

size_t
softmax_default_scratch_floats(const SgdConfig *config, const SgdData *data)
{
	size_t		n_users = data->by_user->n_rows;
	size_t		n_items = data->by_item->n_rows;
	int			k = spectrum_rank(config, data);

	/* the weights (doubles), σ, and the spectrum's own scratch */
	return 2 * (n_users + n_items + (size_t) k) + spectrum_scratch_floats(n_users, n_items, k);
}

double
softmax_default_regularization(const SgdConfig *config, const SgdData *data, float *scratch,
							   void (*between_steps) (void *arg), void *arg)
{
	const CsrMatrix *by_user = data->by_user;
	const CsrMatrix *by_item = data->by_item;
	size_t		n_users = by_user->n_rows;
	size_t		n_items = by_item->n_rows;
	size_t		nnz = by_user->nnz;
	int			k = spectrum_rank(config, data);
	double	   *user_weight = (double *) scratch;
	double	   *item_weight = user_weight + n_users;
	double	   *sigma = item_weight + n_items;
	float	   *rest = scratch + 2 * (n_users + n_items + (size_t) k);
	/*
	 * Drawn negatives count as SOFTMAX_REFERENCE_NEGATIVES per batch, whatever
	 * m is: the rule was fitted at m = 1,024, and at m = 128 the best λ stayed
	 * there (lastfm-2k and MovieLens ≥ 4 at ½, 1 and 1.7 times it), while
	 * counting m's fewer draws raised λ 1.7–2× and cost 4–18% NDCG@20.
	 */
	double		per_batch = config->sampler == SAMPLER_IN_BATCH ? config->batch_size
		: SOFTMAX_REFERENCE_NEGATIVES;
	double		value = 0.0;

	if (n_users == 0 || n_items < 2 || nnz == 0)
		return SOFTMAX_FALLBACK_REGULARIZATION;
	for (size_t u = 0; u < n_users; u++)
		user_weight[u] = (double) (by_user->row_start[u + 1] - by_user->row_start[u]);
	/*
	 * an item's L2 term per epoch: its positives, and its draws as a
	 * negative, which softmax_step weighs to uniform draws' expectation
	 * whatever the sampler, per_batch · (nnz / batch size) / n
	 */
	for (size_t j = 0; j < n_items; j++)
		item_weight[j] = (double) (by_item->row_start[j + 1] - by_item->row_start[j])
			+ per_batch * ((double) nnz / config->batch_size) / (double) n_items;
	if (normalized_singular_values(by_user, by_item, user_weight, item_weight, k,
								   SOFTMAX_SPECTRUM_ITERATIONS, config->threads, config->seed,
								   rest, sigma, between_steps, arg) != 0)
		return -1.0;
	/* the k-th value, or the smallest nonzero one when the matrix has fewer */
	for (int j = k - 1; j >= 0 && value <= 0.0; j--)
		value = sigma[j];
	if (!(value > 0.0))
		return SOFTMAX_FALLBACK_REGULARIZATION;
	/* logits are scores / T, so the Hessian's coupling and σ scale with 1/T */
	return SOFTMAX_REGULARIZATION_PER_SIGMA * value / config->temperature;
}
