/*
 * sampler.c
 *		Alias tables and the rank-adaptive sampler (see sampler.h).
 */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"

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
