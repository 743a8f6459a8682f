/*
 * sampler.c
 *		Alias tables, the rank-adaptive and the quadratic-kernel samplers
 *		(see sampler.h).
 */
#include "sampler.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "vecmath.h"

size_t
alias_table_bytes(size_t n)
{
	return n * (sizeof(float) + sizeof(int32_t) + sizeof(double) + 2 * sizeof(int32_t));
}

int
alias_build(AliasTable *table, const double *weight, size_t n, void *memory)
{
	char	   *p = (char *) memory;
	int32_t    *small;
	int32_t    *large;
	size_t		n_small = 0;
	size_t		n_large = 0;
	double		total = 0.0;
	double	   *scaled;

	table->n = n;
	table->q = (double *) p;
	p += sizeof(double) * n;
	table->probability = (float *) p;
	p += sizeof(float) * n;
	table->alias = (int32_t *) p;
	p += sizeof(int32_t) * n;
	small = (int32_t *) p;
	p += sizeof(int32_t) * n;
	large = (int32_t *) p;

	for (size_t j = 0; j < n; j++)
		total += weight[j];
	if (!(total > 0.0))
		return -1;
	/* q(j) doubles as the scaled work array n·q(j), restored at the end */
	scaled = table->q;
	for (size_t j = 0; j < n; j++)
	{
		scaled[j] = weight[j] / total * n;
		if (scaled[j] < 1.0)
			small[n_small++] = (int32_t) j;
		else
			large[n_large++] = (int32_t) j;
	}
	while (n_small > 0 && n_large > 0)
	{
		int32_t		s = small[--n_small];
		int32_t		l = large[n_large - 1];

		table->probability[s] = (float) scaled[s];
		table->alias[s] = l;
		scaled[l] = (scaled[l] + scaled[s]) - 1.0;
		if (scaled[l] < 1.0)
		{
			n_large--;
			small[n_small++] = l;
		}
	}
	while (n_large > 0)
	{
		int32_t		l = large[--n_large];

		table->probability[l] = 1.0f;
		table->alias[l] = l;
	}
	while (n_small > 0)
	{
		/* rounding leftovers: probability 1 */
		int32_t		s = small[--n_small];

		table->probability[s] = 1.0f;
		table->alias[s] = s;
	}
	for (size_t j = 0; j < n; j++)
		table->q[j] = weight[j] / total;
	return 0;
}

size_t
rank_sampler_bytes(size_t n_items, int dims)
{
	return sizeof(int32_t) * n_items * (size_t) dims + sizeof(float) * dims;
}

void
rank_sampler_init(RankSampler *sampler, size_t n_items, int dims, double rank_scale,
				  void *memory)
{
	sampler->n_items = n_items;
	sampler->dims = dims;
	sampler->rank_scale = rank_scale;
	sampler->sorted = (int32_t *) memory;
	sampler->factor_std = (float *) ((char *) memory + sizeof(int32_t) * n_items * (size_t) dims);
}

typedef struct SortJob
{
	RankSampler *sampler;
	const float *items;
} SortJob;

/* qsort has no context argument: sort (value, index) pairs instead */
typedef struct KeyedItem
{
	float		value;
	int32_t		item;
} KeyedItem;

static int
descending(const void *a, const void *b)
{
	const KeyedItem *x = (const KeyedItem *) a;
	const KeyedItem *y = (const KeyedItem *) b;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return x->item - y->item;
}

static int
sort_factors(void *context, size_t begin, size_t end, int thread)
{
	SortJob    *job = (SortJob *) context;
	RankSampler *s = job->sampler;
	KeyedItem  *keyed = malloc(sizeof(KeyedItem) * s->n_items);

	if (keyed == NULL)
		return -1;
	for (size_t f = begin; f < end; f++)
	{
		double		sum = 0.0;
		double		sum_sq = 0.0;

		for (size_t j = 0; j < s->n_items; j++)
		{
			float		v = job->items[j * s->dims + f];

			keyed[j].value = v;
			keyed[j].item = (int32_t) j;
			sum += v;
			sum_sq += (double) v * v;
		}
		qsort(keyed, s->n_items, sizeof(KeyedItem), descending);
		for (size_t j = 0; j < s->n_items; j++)
			s->sorted[f * s->n_items + j] = keyed[j].item;
		s->factor_std[f] = (float) sqrt(fmax(0.0, sum_sq / s->n_items - (sum / s->n_items) * (sum / s->n_items)));
	}
	free(keyed);
	return 0;
}

int
rank_sampler_refresh(RankSampler *sampler, const float *items, int threads)
{
	SortJob		job = {sampler, items};

	return parallel_for(threads, (size_t) sampler->dims, 1, sort_factors, &job);
}

/* P(rank = r) for the truncated geometric distribution of mean ≈ rank_scale. */
static double
rank_probability(const RankSampler *s, size_t r)
{
	double		p = 1.0 / (s->rank_scale + 1.0);

	return p * pow(1.0 - p, (double) r) / (1.0 - pow(1.0 - p, (double) s->n_items));
}

static double
factor_weight(const RankSampler *s, const float *context, int f)
{
	return fabs((double) context[f]) * s->factor_std[f];
}

int32_t
rank_sampler_draw(const RankSampler *s, const float *context, Rng *rng)
{
	double		total = 0.0;
	double		u;
	int			f = 0;
	double		p = 1.0 / (s->rank_scale + 1.0);
	size_t		r;

	for (int k = 0; k < s->dims; k++)
		total += factor_weight(s, context, k);
	if (total > 0.0)
	{
		u = rng_uniform(rng) * total;
		for (f = 0; f < s->dims - 1; f++)
		{
			u -= factor_weight(s, context, f);
			if (u < 0.0)
				break;
		}
	}
	else
		f = (int) (rng_uniform(rng) * s->dims);
	/* geometric rank by inversion, truncated to the catalogue by rejection */
	do
	{
		double		v = 1.0 - rng_uniform(rng);

		r = (size_t) floor(log(v) / log(1.0 - p));
	} while (r >= s->n_items);
	if (context[f] < 0.0f)
		r = s->n_items - 1 - r;
	return s->sorted[(size_t) f * s->n_items + r];
}

double
rank_sampler_probability(const RankSampler *s, const float *context, int32_t item)
{
	double		total = 0.0;
	double		probability = 0.0;

	for (int k = 0; k < s->dims; k++)
		total += factor_weight(s, context, k);
	for (int f = 0; f < s->dims; f++)
	{
		double		pf = total > 0.0 ? factor_weight(s, context, f) / total : 1.0 / s->dims;
		size_t		position = 0;

		if (pf == 0.0)
			continue;
		while (s->sorted[(size_t) f * s->n_items + position] != item)
			position++;
		if (context[f] < 0.0f)
			position = s->n_items - 1 - position;
		probability += pf * rank_probability(s, position);
	}
	return probability;
}

/* ---------- the quadratic-kernel sampler ---------- */

/*
 * Items per leaf: the tree holds about 2n/bucket Gram matrices of d²/2
 * floats, so a bucket of d/4 items keeps it at about four times the item
 * table, and the leaf's own work (bucket × d² flops) near a descent's.
 */
static int
kernel_bucket(size_t n_items, int dims)
{
	size_t		bucket = (size_t) (dims / 4 > 8 ? dims / 4 : 8);

	return (int) (bucket < n_items ? bucket : (n_items > 0 ? n_items : 1));
}

size_t
kernel_sampler_bytes(size_t n_items, int dims)
{
	size_t		bucket = (size_t) kernel_bucket(n_items, dims);
	size_t		n_buckets = (n_items + bucket - 1) / bucket;
	size_t		packed = (size_t) dims * (dims + 1) / 2;

	return sizeof(float) * (n_items * (size_t) dims + (2 * n_buckets) * packed) + 64;
}

void
kernel_sampler_init(KernelSampler *sampler, size_t n_items, int dims, double scale, void *memory)
{
	sampler->n_items = n_items;
	sampler->dims = dims;
	sampler->scale = scale;
	sampler->bucket = kernel_bucket(n_items, dims);
	sampler->n_buckets = (n_items + sampler->bucket - 1) / sampler->bucket;
	sampler->packed = (size_t) dims * (dims + 1) / 2;
	sampler->snapshot = (float *) memory;
	sampler->node_gram = sampler->snapshot + n_items * (size_t) dims;
}

/* Items of buckets [lo, hi). */
static inline size_t
bucket_items(const KernelSampler *s, size_t lo, size_t hi)
{
	size_t		end = hi * s->bucket < s->n_items ? hi * s->bucket : s->n_items;

	return end - lo * s->bucket;
}

/*
 * The tree is stored in pre-order over bucket ranges: node i covers [lo, hi),
 * its left child i + 1 covers [lo, mid) and, a subtree of k leaves having
 * 2k − 1 nodes, its right child i + 2(mid − lo) covers [mid, hi).
 */
static inline size_t
split_of(size_t lo, size_t hi)
{
	return lo + (hi - lo) / 2;
}

static size_t
leaf_node(const KernelSampler *s, size_t bucket)
{
	size_t		node = 0;
	size_t		lo = 0;
	size_t		hi = s->n_buckets;

	while (hi - lo > 1)
	{
		size_t		mid = split_of(lo, hi);

		if (bucket < mid)
		{
			node += 1;
			hi = mid;
		}
		else
		{
			node += 2 * (mid - lo);
			lo = mid;
		}
	}
	return node;
}

/* Upper triangle of the symmetric d × d matrix full, row by row. */
static void
pack_upper(const float *full, int d, float *packed, float off_diagonal)
{
	size_t		p = 0;

	for (int r = 0; r < d; r++)
	{
		packed[p++] = full[(size_t) r * d + r];
		for (int c = r + 1; c < d; c++)
			packed[p++] = off_diagonal * full[(size_t) r * d + c];
	}
}

static int
build_leaves(void *context, size_t begin, size_t end, int thread)
{
	KernelSampler *s = (KernelSampler *) context;
	int			d = s->dims;
	float	   *full = malloc(sizeof(float) * (size_t) d * d);

	if (full == NULL)
		return -1;
	for (size_t b = begin; b < end; b++)
	{
		size_t		count = bucket_items(s, b, b + 1);

		cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int) count, 1.0f,
					s->snapshot + b * s->bucket * (size_t) d, d, 0.0f, full, d);
		pack_upper(full, d, s->node_gram + leaf_node(s, b) * s->packed, 1.0f);
	}
	free(full);
	return 0;
}

/* Inner nodes: the sum of their children, after the leaves. */
static void
sum_inner(KernelSampler *s, size_t node, size_t lo, size_t hi)
{
	size_t		mid;
	float	   *out;
	const float *left;
	const float *right;

	if (hi - lo <= 1)
		return;
	mid = split_of(lo, hi);
	sum_inner(s, node + 1, lo, mid);
	sum_inner(s, node + 2 * (mid - lo), mid, hi);
	out = s->node_gram + node * s->packed;
	left = s->node_gram + (node + 1) * s->packed;
	right = s->node_gram + (node + 2 * (mid - lo)) * s->packed;
	for (size_t p = 0; p < s->packed; p++)
		out[p] = left[p] + right[p];
}

int
kernel_sampler_refresh(KernelSampler *sampler, const float *items, int threads)
{
	memcpy(sampler->snapshot, items, sizeof(float) * sampler->n_items * (size_t) sampler->dims);
	if (parallel_for(threads, sampler->n_buckets, 16, build_leaves, sampler) != 0)
		return -1;
	sum_inner(sampler, 0, 0, sampler->n_buckets);
	return 0;
}

static size_t
context_floats(int dims, int bucket)
{
	size_t		d = (size_t) dims;

	return d * d + d * (d + 1) / 2 + (size_t) bucket * (d + 2) + 32;
}

size_t
kernel_context_floats(const KernelSampler *sampler)
{
	return context_floats(sampler->dims, sampler->bucket);
}

size_t
kernel_context_max_floats(int dims)
{
	/* the bucket is largest when the catalogue is not smaller than it */
	return context_floats(dims, kernel_bucket(SIZE_MAX, dims));
}

void
kernel_context_set(const KernelSampler *s, KernelContext *context, const float *contexts,
				   int count, float *scratch)
{
	int			d = s->dims;

	context->count = count;
	context->gram = scratch;
	context->packed = scratch + (size_t) d * d;
	/* the doubles on an 8-byte boundary */
	context->masses = (double *) (((uintptr_t) (context->packed + s->packed) + 7) & ~(uintptr_t) 7);
	context->work = (float *) (context->masses + s->bucket);
	cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, d, count, 1.0f, contexts, d, 0.0f,
				context->gram, d);
	for (int r = 0; r < d; r++)
		for (int c = 0; c < r; c++)
			context->gram[(size_t) r * d + c] = context->gram[(size_t) c * d + r];
	/* ⟨C, M⟩ over the upper triangles: the off-diagonal terms twice */
	pack_upper(context->gram, d, context->packed, 2.0f);
}

/* B·|node| + α⟨C, M_node⟩: the node's unnormalized q. */
static inline double
node_mass(const KernelSampler *s, const KernelContext *context, size_t node, size_t lo, size_t hi)
{
	double		quadratic = vec_dot(context->packed, s->node_gram + node * s->packed, (int) s->packed);

	return context->count * (double) bucket_items(s, lo, hi) + s->scale * fmax(quadratic, 0.0);
}

/* Each item's mass in bucket b, B + α·ψᵀCψ, into masses; returns their sum. */
static double
bucket_masses(const KernelSampler *s, const KernelContext *context, size_t b, double *masses)
{
	int			d = s->dims;
	size_t		count = bucket_items(s, b, b + 1);
	const float *rows = s->snapshot + b * s->bucket * (size_t) d;
	float	   *projected = context->work;
	double		total = 0.0;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) count, d, d, 1.0f,
				rows, d, context->gram, d, 0.0f, projected, d);
	for (size_t j = 0; j < count; j++)
	{
		double		quadratic = vec_dot(projected + j * d, rows + j * d, d);

		masses[j] = context->count + s->scale * fmax(quadratic, 0.0);
		total += masses[j];
	}
	return total;
}

typedef struct KernelDraw
{
	const KernelSampler *sampler;
	const KernelContext *context;
	Rng		   *rng;
	int32_t    *ids;
	double	   *q;
	int			n;
} KernelDraw;

/*
 * k draws below node (buckets [lo, hi), reached with probability path):
 * the number going left is Binomial(k, left mass / both masses), which
 * makes the k draws independent draws from q, each node's masses computed
 * once however many draws pass through it.
 */
static void
descend(KernelDraw *draw, size_t node, size_t lo, size_t hi, int k, double path)
{
	const KernelSampler *s = draw->sampler;

	if (hi - lo == 1)
	{
		double	   *masses = draw->context->masses;
		double		total = bucket_masses(s, draw->context, lo, masses);
		size_t		count = bucket_items(s, lo, hi);

		for (int t = 0; t < k; t++)
		{
			double		u = rng_uniform(draw->rng) * total;
			size_t		j = 0;

			while (j + 1 < count && (u -= masses[j]) >= 0.0)
				j++;
			draw->ids[draw->n] = (int32_t) (lo * s->bucket + j);
			draw->q[draw->n] = path * masses[j] / total;
			draw->n++;
		}
	}
	else
	{
		size_t		mid = split_of(lo, hi);
		size_t		left = node + 1;
		size_t		right = node + 2 * (mid - lo);
		double		left_mass = node_mass(s, draw->context, left, lo, mid);
		double		p_left = left_mass / (left_mass + node_mass(s, draw->context, right, mid, hi));
		int			k_left = 0;

		for (int t = 0; t < k; t++)
			k_left += rng_uniform(draw->rng) < p_left;
		if (k_left > 0)
			descend(draw, left, lo, mid, k_left, path * p_left);
		if (k - k_left > 0)
			descend(draw, right, mid, hi, k - k_left, path * (1.0 - p_left));
	}
}

void
kernel_sampler_draw(const KernelSampler *sampler, const KernelContext *context, int m, Rng *rng,
					int32_t *ids, double *q)
{
	KernelDraw	draw = {sampler, context, rng, ids, q, 0};

	if (m > 0)
		descend(&draw, 0, 0, sampler->n_buckets, m, 1.0);
}

double
kernel_sampler_probability(const KernelSampler *s, const KernelContext *context, int32_t item)
{
	size_t		bucket = (size_t) item / s->bucket;
	size_t		node = 0;
	size_t		lo = 0;
	size_t		hi = s->n_buckets;
	double		path = 1.0;
	double	   *masses = context->masses;
	double		total;

	while (hi - lo > 1)
	{
		size_t		mid = split_of(lo, hi);
		size_t		left = node + 1;
		size_t		right = node + 2 * (mid - lo);
		double		left_mass = node_mass(s, context, left, lo, mid);
		double		p_left = left_mass / (left_mass + node_mass(s, context, right, mid, hi));

		if (bucket < mid)
		{
			path *= p_left;
			node = left;
			hi = mid;
		}
		else
		{
			path *= 1.0 - p_left;
			node = right;
			lo = mid;
		}
	}
	total = bucket_masses(s, context, bucket, masses);
	return path * masses[(size_t) item - bucket * s->bucket] / total;
}
