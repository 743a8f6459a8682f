/*
 * spectrum.h
 *		The leading singular values of an interaction matrix scaled by how
 *		often an L2 term acts on each row, which set sampled softmax's
 *		default regularization (sgd.h).
 *
 * Why: the SGD trainers add λ·x to a row's gradient every time the row is
 * touched, so over an epoch a user is pulled to zero with weight λ·n_u and
 * an item with λ·w_i (its positives plus its draws as a negative).  Around
 * the all-zero model the loss is bilinear, −Σ_(u,i)∈S s_ui + Σ_u n_u·mean_j
 * s_uj, and its Hessian there is [[λD_u, −B], [−Bᵀ, λD_i]] with B = R −
 * n_u·1ᵀ/|I| (the positives, centred by the uniform average that the logQ
 * correction makes the sampled denominator estimate).  So the zero model is
 * a saddle in exactly the directions whose singular value σ of
 *
 *		M = D_u^(−1/2) · (R − n·1ᵀ/|I|) · D_i^(−1/2)
 *
 * exceeds λ (times the temperature): a model with λ above σ_d keeps fewer
 * than d useful directions, and above σ_2 only popularity survives.
 * Measured on five data sets, the best λ sat at 0.7–1 × σ_64.
 */
#ifndef IREC_SPECTRUM_H
#define IREC_SPECTRUM_H

#include <stddef.h>
#include <stdint.h>

#include "sparse.h"

/*
 * Floats of scratch normalized_singular_values needs for k values
 * (with its oversampling, for n_users × n_items).
 */
size_t		spectrum_scratch_floats(size_t n_users, size_t n_items, int k);

/*
 * normalized_singular_values: the k largest singular values of M above
 * (descending, into sigma[0 .. k−1]; zeros past the matrix's rank), by
 * randomized subspace iteration (Halko, Martinsson & Tropp 2011) with
 * `iterations` power steps and a block of k + oversampling columns.
 * by_user and by_item hold the same positives in both orientations (values
 * ignored); user_weight[u] = D_u, item_weight[i] = D_i, all positive.
 * between_steps(arg), when given, runs between power steps (interrupt
 * checks).  Deterministic for a seed and any thread count.  Returns 0, or
 * −1 when LAPACK fails.
 */
int			normalized_singular_values(const CsrMatrix *by_user, const CsrMatrix *by_item,
									   const double *user_weight, const double *item_weight,
									   int k, int iterations, int threads, uint64_t seed,
									   float *scratch, double *sigma,
									   void (*between_steps) (void *arg), void *arg);

#endif							/* IREC_SPECTRUM_H */
