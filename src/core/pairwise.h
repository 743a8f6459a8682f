/*
 * pairwise.h
 *		ALS for the pairwise square loss through the Gramian (survey §5.2):
 *		every observed (c, i) is compared with every item j,
 *
 *	 L = Σ_(c,i)∈S α_ci · (1/n) Σ_j∈I (⟨φ_c, ψ_i − ψ_j⟩ − 1)²
 *	   + Σ_c λ_c ‖φ_c‖² + Σ_j λ_j ‖ψ_j‖²,			n = |I|,
 *
 * with λ_row the frequency-scaled regularization of ials.h.  Expanding the
 * square, the sum over all j needs only the item Gramian G = Σ_j ψ_jψ_jᵀ
 * and the item sum z = Σ_j ψ_j: per user, with W_c = Σ_i α_ci,
 * s_c = Σ_i α_ci ψ_i and R_c = Σ_i α_ci (⟨φ_c, ψ_i⟩ − 1),
 *
 *	 L_c = Σ_i α_ci (⟨φ_c,ψ_i⟩ − 1)² − (2/n)·R_c·⟨φ_c, z⟩ + (W_c/n)·φ_cᵀGφ_c,
 *
 * so the whole loss is Σ_S α(ŷ − 1)² − (2/n)·tᵀz + (1/n)·⟨G_W, G⟩ + the
 * regularization, with t = Σ_c R_c φ_c and G_W = Σ_c W_c φ_cφ_cᵀ: the extra
 * cost over iALS is O(|S|·d) per epoch.
 *
 * User step (items fixed; exact, the users separate):
 *	 (Σ_i α_ci ψ_iψ_iᵀ − (s_c zᵀ + z s_cᵀ)/n + (W_c/n)·G + λ_c·I) φ_c = s_c − (W_c/n)·z.
 *
 * Item step (users fixed).  The loss couples the items (ψ_i − ψ_j), so each
 * item k is solved with the others held at their values before the step
 * (a Jacobi step over items; all items in parallel):
 *	 (G_W + (n−2)·Σ_c∈C_k α_ck φ_cφ_cᵀ + n·λ_k·I) ψ_k
 *	   = t + Σ_c∈C_k α_ck φ_c (⟨φ_c, z⟩ − 2⟨φ_c, ψ_k⟩ + n).
 * The coupling is a weighted graph Laplacian over items, whose only slow
 * mode for Jacobi is a shift of every item by the same vector, which leaves
 * all differences ψ_i − ψ_j and so the data term unchanged; the unit test
 * checks the loss after a few epochs against exact joint item steps.
 *
 * Both steps solve exactly (Cholesky); O(|S|·d² + (|C| + |I|)·d³) per
 * epoch, iALS's Cholesky cost class.
 */
#ifndef IREC_PAIRWISE_H
#define IREC_PAIRWISE_H

#include <stddef.h>

#include "ials.h"
#include "sparse.h"

/* Floats of scratch per thread for the solves. */
size_t		pairwise_scratch_floats(const IalsConfig *config);

/* Scratch floats of pairwise_user_sums and of pairwise_loss. */
size_t		pairwise_sums_scratch_floats(const IalsConfig *config, size_t n_users);
size_t		pairwise_loss_scratch_floats(const IalsConfig *config, size_t n_users);

/* z = Σ_j ψ_j over n rows (summed in double). */
void		pairwise_row_sum(const float *rows, size_t n, int dims, float *sum);

/*
 * pairwise_user_sums: for the item step, G_W = Σ_c W_c φ_cφ_cᵀ (full
 * symmetric) and t = Σ_c R_c φ_c from the users and the items before the
 * step.  scratch: pairwise_sums_scratch_floats.
 */
void		pairwise_user_sums(const IalsConfig *config, const CsrMatrix *by_user,
							   const float *users, const float *items,
							   float *weighted_gram, float *residual_sum, float *scratch);

/*
 * pairwise_solve_users: rows [begin, end) of users (by_user's rows) against
 * items, their Gramian and sum.  scratch: threads × pairwise_scratch_floats.
 */
int			pairwise_solve_users(const IalsConfig *config, const CsrMatrix *by_user,
								 const float *items, const float *item_gram,
								 const float *item_sum, float *users,
								 size_t begin, size_t end, float *scratch);

/*
 * pairwise_solve_items: rows [begin, end) of items (by_item's rows) against
 * users, with G_W and t from pairwise_user_sums and z the item sum, all
 * taken before the step.  Items are updated in place: item k's own value
 * before the step is read only by its own solve.
 */
int			pairwise_solve_items(const IalsConfig *config, const CsrMatrix *by_item,
								 const float *users, const float *weighted_gram,
								 const float *residual_sum, const float *item_sum,
								 float *items, size_t begin, size_t end, float *scratch);

/*
 * pairwise_loss: L above.  item_gram and item_sum are the items'; scratch:
 * pairwise_loss_scratch_floats.
 */
double		pairwise_loss(const IalsConfig *config, const CsrMatrix *by_user,
						  const CsrMatrix *by_item, const float *users, const float *items,
						  const float *item_gram, const float *item_sum, float *scratch);

/*
 * The L2 weight per step of Gramian SGD on this loss, for λ left out: each
 * positive's share of the mean user's regularization weight under iALS's
 * shape rule (ials.h), λ·(n̄ + α0·|I|)^ν / n̄ with that rule's α0, λ and
 * ν = 1, i.e. 3/√n̄ unless the rule's cap binds.  A step adds λ·x once per
 * positive, so a user's rows take about the weight an ALS solve gives
 * them.  The constant 0.0001 of pointwise Gramian SGD left this loss
 * unregularized: NDCG@20 0.158 on lastfm-2k, 0.177 on MovieLens ≥ 4 and
 * 0.012 on an 822k-positive generated set, against 0.250, 0.225 and 0.084
 * (20 epochs) with this rule (d = 64, seeded 80/20 splits).
 */
double		pairwise_sgd_default_regularization(size_t n_items, double mean_user_interactions);

#endif							/* IREC_PAIRWISE_H */
