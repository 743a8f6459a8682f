/*
 * sampler.h
 *		Negative samplers of the survey's §4: uniform, popularity^β (alias
 *		tables: O(1) per draw), and the rank-adaptive sampler of §4.2.4.
 */
#ifndef IREC_SAMPLER_H
#define IREC_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* A discrete distribution over n items, drawn from in O(1) (Vose's alias method). */
typedef struct AliasTable
{
	size_t		n;
	float	   *probability;	/* n */
	int32_t    *alias;			/* n */
	double	   *q;				/* n: the normalized distribution itself */
} AliasTable;

/* Bytes an alias table over n items needs. */
size_t		alias_table_bytes(size_t n);

/*
 * alias_build: the table of q(j) ∝ weight[j] over memory of
 * alias_table_bytes(n) bytes.  Returns -1 when every weight is 0.
 */
int			alias_build(AliasTable *table, const double *weight, size_t n, void *memory);

static inline int32_t
alias_draw(const AliasTable *table, Rng *rng)
{
	double		u = rng_uniform(rng) * table->n;
	size_t		column = (size_t) u;

	if (column >= table->n)
		column = table->n - 1;
	return (u - column) < table->probability[column] ? (int32_t) column : table->alias[column];
}

/*
 * The rank-adaptive sampler (Rendle & Freudenthaler 2014, survey §4.2.4):
 * items sorted by each factor, refreshed once per epoch; a draw for context
 * φ picks a factor f with probability ∝ |φ_f|·σ_f, a rank r from a geometric
 * distribution with mean `rank_scale`, and the item at rank r of factor f in
 * the direction of sign(φ_f).  Informative negatives: items that score high.
 */
typedef struct RankSampler
{
	size_t		n_items;
	int			dims;
	double		rank_scale;
	int32_t    *sorted;			/* dims × n_items, by factor value, descending */
	float	   *factor_std;		/* dims */
} RankSampler;

size_t		rank_sampler_bytes(size_t n_items, int dims);
void		rank_sampler_init(RankSampler *sampler, size_t n_items, int dims,
							  double rank_scale, void *memory);
/* Re-sort the per-factor lists from the current item embeddings; -1 when out of memory. */
int			rank_sampler_refresh(RankSampler *sampler, const float *items, int threads);
int32_t		rank_sampler_draw(const RankSampler *sampler, const float *context, Rng *rng);

/*
 * rank_sampler_probability: the exact probability that rank_sampler_draw
 * returns `item` for `context` (for tests: the empirical frequencies must
 * match it).
 */
double		rank_sampler_probability(const RankSampler *sampler, const float *context, int32_t item);

#endif							/* IREC_SAMPLER_H */
