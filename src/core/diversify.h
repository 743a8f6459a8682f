/*
 * diversify.h
 *		Maximal marginal relevance (Carbonell & Goldstein, 1998): re-rank a
 *		pool of candidates so that each pick trades its relevance against
 *		its similarity to the picks before it (DESIGN §2.2: diversity is
 *		what a plain top-n lacks).
 */
#ifndef IREC_CORE_DIVERSIFY_H
#define IREC_CORE_DIVERSIFY_H

#include <stddef.h>

/*
 * mmr_select: choose up to k of the n candidates (rows of vectors, n × dims;
 * relevance[i] higher is better), greedily maximizing
 *	 (1 − diversity)·rel(i) − diversity·max(0, max_{j picked} cos(v_i, v_j)),
 * where rel is the relevance rescaled to [0, 1] over the pool (so that
 * diversity means the same whatever the scores' scale); dissimilar picks
 * cost nothing, opposite ones earn nothing.  Ties go to the lower index: with candidates given best
 * first, the first pick is always the most relevant, and diversity 0 gives
 * the relevance order.  Zero vectors have similarity 0 with everything.
 * Writes the picked indices to order (k entries) and returns how many
 * (min(k, n)).  scratch: 2·n doubles.
 */
size_t		mmr_select(const float *vectors, size_t n, int dims, const double *relevance,
					   double diversity, size_t k, size_t *order, double *scratch);

/* Mean cosine similarity over the pairs of the given rows (0 for fewer than two). */
double		mean_pairwise_cosine(const float *vectors, const size_t *rows, size_t count, int dims);

#endif							/* IREC_CORE_DIVERSIFY_H */
