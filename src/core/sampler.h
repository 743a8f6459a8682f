/*
 * sampler.h
 *		Negative samplers of the survey's §4: uniform, popularity^β (alias
 *		tables: O(1) per draw), the rank-adaptive sampler of §4.2.4 and the
 *		quadratic-kernel sampler of §4.3.1.
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

/*
 * The quadratic-kernel sampler (Blanc & Rendle, ICML 2018; survey §4.3.1),
 * for a batch of contexts φ_1..φ_B that share their negatives:
 *
 *	 q(j) ∝ Σ_b K(φ_b, ψ_j),  K(φ, ψ) = 1 + α⟨φ, ψ⟩²,  so  q(j) ∝ B + α·ψ_jᵀCψ_j
 *
 * with C = Σ_b φ_bφ_bᵀ.  K is a cheap, positive stand-in for e^⟨φ,ψ⟩ that
 * puts more negatives on the items the batch scores far from zero.  A binary
 * tree over buckets of items keeps at each node the Gram matrix Σψψᵀ of its
 * items (packed upper triangle), so a node's mass B·|node| + α⟨C, M_node⟩
 * costs O(d²) and a draw descends in O(d² log n); at a bucket the items'
 * own masses are one small sgemm.  The tree is built from a snapshot of the
 * item embeddings (kernel_sampler_refresh); the q it reports is exactly the
 * distribution it draws from, which is what the logQ correction needs, even
 * while the live embeddings move on.
 */
typedef struct KernelSampler
{
	size_t		n_items;
	int			dims;
	double		scale;			/* α */
	int			bucket;			/* items per leaf */
	size_t		n_buckets;
	size_t		packed;			/* d(d+1)/2 */
	float	   *snapshot;		/* n_items × dims: the embeddings the tree was built from */
	float	   *node_gram;		/* (2·n_buckets − 1) × packed, pre-order */
} KernelSampler;

/* A batch's part of q: C, full and packed with doubled off-diagonals. */
typedef struct KernelContext
{
	double		count;			/* B */
	float	   *gram;			/* dims × dims */
	float	   *packed;			/* packed, off-diagonals × 2: ⟨C, M⟩ is one dot product */
	double	   *masses;			/* bucket: one bucket's item masses */
	float	   *work;			/* bucket × dims */
} KernelContext;

size_t		kernel_sampler_bytes(size_t n_items, int dims);
void		kernel_sampler_init(KernelSampler *sampler, size_t n_items, int dims, double scale,
								void *memory);
/* Rebuild the tree from `items`; -1 when a thread fails. */
int			kernel_sampler_refresh(KernelSampler *sampler, const float *items, int threads);

/* Floats of scratch one KernelContext needs; at most kernel_context_max_floats(dims). */
size_t		kernel_context_floats(const KernelSampler *sampler);
size_t		kernel_context_max_floats(int dims);
/* Set context from `count` rows of `contexts` (count × dims) in `scratch`. */
void		kernel_context_set(const KernelSampler *sampler, KernelContext *context,
							   const float *contexts, int count, float *scratch);

/*
 * kernel_sampler_draw: m independent draws (with replacement) from q, into
 * ids (grouped by bucket, not in draw order) and each one's q(j) into q.
 */
void		kernel_sampler_draw(const KernelSampler *sampler, const KernelContext *context,
								int m, Rng *rng, int32_t *ids, double *q);

/* The exact probability that a draw returns `item` (for tests). */
double		kernel_sampler_probability(const KernelSampler *sampler, const KernelContext *context,
									   int32_t item);

#endif							/* IREC_SAMPLER_H */
