/*
 * ials.h
 *		Implicit alternating least squares with the Gramian trick
 *		(DESIGN §5.1, Algorithm 4 of the survey; refinements of Rendle et al.
 *		2021: frequency-scaled regularization, warm-started CG).
 *
 * Loss, for contexts (users) c and items i with observed set S:
 *
 *	 L = Σ_(c,i)∈S α_ci (⟨φ_c,ψ_i⟩ − 1)²  +  α0 Σ_(c,i)∉S ⟨φ_c,ψ_i⟩²
 *	   + Σ_c λ_c ‖φ_c‖²  +  Σ_i λ_i ‖ψ_i‖²,
 *	 λ_c = λ·(|I_c| + α0·|I|)^ν   (and symmetrically for items).
 *
 * Holding the items fixed, each user's φ_c solves
 *	 (α0·G + Σ_i∈I_c (α_ci − α0)·ψ_i ψ_iᵀ + λ_c·I) φ_c = Σ_i∈I_c α_ci·ψ_i,
 * with G = Σ_i ψ_i ψ_iᵀ shared by all users: the all-pairs negatives cost
 * O(|I|·d²) once per half-step instead of O(|C|·|I|·d).  The same code
 * solves items against users with the transposed interactions.
 *
 * Embeddings are row-major n × dims float arrays.  Nothing here allocates:
 * the caller passes scratch space sized by ials_scratch_floats.
 */
#ifndef IREC_IALS_H
#define IREC_IALS_H

#include <stddef.h>
#include <stdint.h>

#include "sparse.h"

typedef enum IalsSolver
{
	IALS_SOLVER_CHOLESKY,		/* exact: LAPACK Cholesky per row */
	IALS_SOLVER_CG				/* cg_steps of conjugate gradient, warm-started */
} IalsSolver;

typedef struct IalsConfig
{
	int			dims;
	double		regularization; /* λ > 0 */
	double		regularization_exponent;	/* ν ≥ 0 */
	double		unobserved_weight;	/* α0 ≥ 0 */
	IalsSolver	solver;
	int			cg_steps;
	int			threads;
} IalsConfig;

enum
{
	IALS_OK = 0,
	IALS_ERR_NOT_POSITIVE_DEFINITE = 1
};

/* Floats of scratch space ials_solve_rows needs per thread. */
size_t		ials_scratch_floats(const IalsConfig *config);

/*
 * ials_gramian: gram (dims × dims, full symmetric) = factorsᵀ·factors.
 * The rows are split into one block per thread, each block's Gramian is a
 * BLAS ssyrk into its own slice of partials (threads × dims × dims floats),
 * and the slices are added in thread order: deterministic for a given thread
 * count.
 */
void		ials_gramian(const float *factors, size_t n, int dims, int threads,
						 float *gram, float *partials);

/*
 * ials_gramian_blocked: the same, block_rows rows at a time (the block's
 * Gramian added to gram), calling between_blocks(arg) between two blocks:
 * at large dims one Gramian is seconds of BLAS, and the PostgreSQL glue
 * checks for interrupts there.  With block_rows >= n it is ials_gramian.
 */
void		ials_gramian_blocked(const float *factors, size_t n, int dims, int threads,
								 float *gram, float *partials, size_t block_rows,
								 void (*between_blocks) (void *arg), void *arg);

/*
 * ials_solve_rows: recompute target rows [begin, end) of the side whose
 * interactions are the rows of m (values = confidences α), against `other`
 * (m->n_cols × dims) and its Gramian.  With the CG solver the current
 * target rows are the warm start.  scratch holds config->threads ×
 * ials_scratch_floats(config) floats.  Returns IALS_OK or an error code.
 */
int			ials_solve_rows(const IalsConfig *config, const CsrMatrix *m,
							const float *other, const float *gram,
							float *target, size_t begin, size_t end,
							float *scratch);

/*
 * ials_solve_rows_with_loss: ials_solve_rows, and each solved row's share
 * of the loss (its observed terms and its regularization) into
 * row_loss[row], computed while the row's data is still in the caches.
 */
int			ials_solve_rows_with_loss(const IalsConfig *config, const CsrMatrix *m,
									  const float *other, const float *gram,
									  float *target, size_t begin, size_t end,
									  float *scratch, double *row_loss);

/*
 * ials_solve_rows_polled: ials_solve_rows_with_loss (row_loss may be
 * NULL) in blocks of at most about max_block_flops each (0: no bound),
 * calling poll(poll_arg) between the calling thread's blocks and stopping
 * early once it returns nonzero.  The rows solved are [begin, *done); the
 * caller goes on from *done.
 */
int			ials_solve_rows_polled(const IalsConfig *config, const CsrMatrix *m,
								   const float *other, const float *gram,
								   float *target, size_t begin, size_t end,
								   float *scratch, double *row_loss, double max_block_flops,
								   int (*poll) (void *arg), void *poll_arg, size_t *done);

/*
 * ials_loss_from_item_rows: ials_loss after an item half-step that
 * recorded its rows' shares (ials_solve_rows_with_loss over by_item
 * against users): those shares, the users' regularization and the
 * all-pairs term.  Saves ials_loss's second pass over the interactions.
 */
double		ials_loss_from_item_rows(const IalsConfig *config, const CsrMatrix *by_user,
									 const float *users, const float *user_gram,
									 const float *item_gram, const double *item_row_loss,
									 size_t n_items);

/*
 * ials_loss: the loss L above.  users/items are the current embeddings and
 * user_gram/item_gram their Gramians; by_user and by_item the two
 * orientations of the interactions.  row_loss is scratch of n_users +
 * n_items doubles (the per-row terms are summed in a fixed order).
 */
double		ials_loss(const IalsConfig *config, const CsrMatrix *by_user,
					  const CsrMatrix *by_item, const float *users,
					  const float *items, const float *user_gram,
					  const float *item_gram, double *row_loss);

/*
 * ials_init_rows: N(0, std²) initial embeddings for rows [first, first +
 * rows) of one side (1 users, 2 items) into x (rows × dims).  Every row has
 * its own random stream, so the SQL engine can draw any row alone and get
 * what the in-memory engine draws.
 */
void		ials_init_rows(float *x, size_t first, size_t rows, int dims, double std,
						   uint64_t seed, uint64_t side);

/*
 * ials_cholesky_solve: x = a⁻¹·b for the symmetric positive definite d × d
 * matrix a (its upper triangle, row-major, is read; a and b are
 * overwritten).  Returns IALS_OK or IALS_ERR_NOT_POSITIVE_DEFINITE.
 */
int			ials_cholesky_solve(float *a, float *b, int d, float *x);

/*
 * ials_row_observed_loss: row `row` of m's observed terms of the loss,
 * Σ_j [α(ŷ−1)² − α0·ŷ²] with ŷ = ⟨x, other_j⟩ (the all-pairs term adds
 * α0·ŷ² for every pair).
 */
double		ials_row_observed_loss(const IalsConfig *config, const CsrMatrix *m,
								   const float *other, size_t row, const float *x);

/* λ·(count + α0·n_other)^ν: the frequency-scaled regularization of a row. */
double		ials_row_regularization(const IalsConfig *config, size_t count,
									size_t n_other);

/*
 * Defaults from the data's shape, for α0 and λ left out (README, "Defaults
 * that transfer"; chosen on grids over α0 × λ on eight real and generated
 * data sets of very different shapes, test/bench/bench_tune.sh).  With n̄
 * the mean interactions per user: α0 = min(1, 135·√n̄/|I|), the unobserved
 * pairs of a user weighing as 135·√n̄ observed ones, and λ such that the
 * mean row's regularization weight λ·(n̄ + α0·|I|)^ν is 3·√n̄, with λ at most
 * 0.03.  The grids put the best λ·mass at about 13 for n̄ = 27 and at 30–46
 * for n̄ = 132, with the model collapsing at about twice the best; a square
 * root of n̄ fits them all where a constant or a proportion does not (the
 * noise of a row fitted to n observations shrinks as 1/√n).
 */
double		ials_default_unobserved_weight(size_t n_items, double mean_user_interactions);
double		ials_default_regularization(double unobserved_weight, size_t n_items,
										double mean_user_interactions, double exponent);

#endif							/* IREC_IALS_H */
