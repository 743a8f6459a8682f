/*
 * context.h
 *		iALS for multilinear models over composite contexts (DESIGN §5.1.2,
 *		Algorithm 4 of the survey): a context c is a tuple of field values
 *		(user, weekday, previous item, ...), each value v of field f has its
 *		own embedding w_f(v), and
 *
 *	 sum model:      φ(c) = Σ_f w_f(c_f)
 *	 product model:  φ(c) = ⊙_f w_f(c_f)   (PARAFAC, elementwise)
 *
 * scored against items by ŷ(c,i) = ⟨φ(c), ψ_i⟩ under iALS's loss (ials.h)
 * over the observed contexts C and all items:
 *
 *	 L = Σ_(c,i)∈S α_ci (ŷ − 1)² + α0 Σ_c∈C Σ_(c,i)∉S ŷ²
 *	   + Σ_f Σ_v λ_v ‖w_f(v) − m_f‖² + Σ_i λ_i ‖ψ_i‖²,
 *
 * m_f = 0, except in the product model for every field after the first:
 * there m_f = 1, so that a value with little evidence leaves the first
 * field's embedding as it is instead of scaling it toward 0 (with m_f = 0
 * the three-way product is regularized far more strongly than a matrix
 * factorization, and at iALS's λ the model collapses: Recall@20 0.05
 * against 0.14 on MovieLens with the previous item as a field).
 *
 * The model is linear in each block (one field's embeddings, or the
 * items') with the others fixed, so each block has an exact least-squares
 * step, and the Gramian trick keeps the unobserved pairs at O(d²) per
 * parameter row.  With r_c the other fields' part of φ(c) (their sum, or
 * their elementwise product), a value v that occurs in the contexts C_v
 * solves
 *
 *	 sum:     (α0·|C_v|·G + Σ (α−α0)·ψψᵀ + λ_v·I) w
 *	            = Σ (α − (α−α0)·⟨r_c,ψ⟩)·ψ − α0·G·Σ_c r_c
 *	 product: (α0·(G ∘ Σ_c r_c r_cᵀ) + Σ (α−α0)·xxᵀ + λ_v·I) w = Σ α·x + λ_v·m_f,
 *	          x = r_c ⊙ ψ_i,
 *
 * the sums Σ without a range running over the observed (c,i) with c ∈ C_v,
 * G the item Gramian.  The item step is iALS's own (ials_solve_rows) with
 * the contexts' φ as the other side.  Regularization is frequency-scaled as
 * in ials.h, over a row's whole mass: λ_v = λ·(n_v + α0·|I|·|C_v|)^ν with
 * n_v the observed pairs of v's contexts, λ_i = λ·(|S_i| + α0·|C|)^ν.
 *
 * Per epoch: O(|S|·d² + Σ_f |values_f|·d³ + |C|·d²) per field, the cost
 * class of matrix factorization.  Nothing here allocates; the caller passes
 * scratch sized by context_scratch_floats.
 */
#ifndef IREC_CONTEXT_H
#define IREC_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "ials.h"
#include "sparse.h"

typedef enum ContextModelKind
{
	CONTEXT_MODEL_SUM = 0,
	CONTEXT_MODEL_PRODUCT = 1
} ContextModelKind;

/* The observed contexts and their interactions. */
typedef struct ContextData
{
	int			n_fields;
	size_t		n_contexts;
	size_t		n_items;
	const size_t *n_values;		/* per field */
	const int32_t *values;		/* n_contexts × n_fields: each context's value per
								 * field, −1 where absent (it then contributes
								 * nothing: 0 to a sum, 1 to a product) */
	const CsrMatrix *by_context;	/* contexts × items, values the confidences α */
	const CsrMatrix *by_item;	/* items × contexts, the same entries */
	const CsrMatrix *by_value;	/* n_fields matrices: values × contexts holding them */
	double		product_prior;	/* product model: λ of the later fields' values */
} ContextData;

/*
 * context_value_regularization: λ_v of a value of field f that occurs in
 * `contexts` contexts with `observed` pairs in all: iALS's frequency-scaled
 * λ·(observed + α0·|I|·contexts)^ν, except for the product model's later
 * fields, whose values all take data->product_prior.
 */
double		context_value_regularization(const IalsConfig *config, ContextModelKind kind,
										 const ContextData *data, int f, size_t observed,
										 size_t contexts);

/* Floats of scratch space one thread of context_solve_field needs. */
size_t		context_scratch_floats(int dims);

/*
 * context_phi: φ(c) of every context into phi (n_contexts × dims), fields[f]
 * holding field f's embeddings (n_values[f] × dims).
 */
void		context_phi(ContextModelKind kind, const ContextData *data, const float *const *fields,
						int dims, float *phi);

/*
 * context_init: initial embeddings.  Sum model: every field N(0, (std/√F)²),
 * so φ starts at the scale of a user-only model's.  Product model: the
 * first field N(0, std²), the others 1 + N(0, std²), so φ starts near the
 * first field's rows instead of vanishing as a product of small numbers.
 * Items N(0, std²).  Deterministic per (seed, field, row).
 */
void		context_init(ContextModelKind kind, const ContextData *data, int dims, double std,
						 uint64_t seed, float *const *fields, float *items);

/*
 * context_solve_field: the exact (Cholesky) step of values [begin, end) of
 * field f, with every other block fixed; item_gram is the items' Gramian.
 * scratch holds config->threads × context_scratch_floats(dims) floats.
 * Values in no context are left as they are.  Returns IALS_OK or an
 * IALS_ERR_ code.
 */
int			context_solve_field(const IalsConfig *config, ContextModelKind kind,
								const ContextData *data, int f, float *const *fields,
								const float *items, const float *item_gram,
								size_t begin, size_t end, float *scratch);

/*
 * context_loss: L above.  phi: the contexts' φ (context_phi); phi_gram and
 * item_gram: the Gramians of φ and of the items, whose inner product is the
 * all-pairs term (O(d²) instead of O(|C|·d²)).  row_loss: scratch of
 * n_contexts doubles.
 */
double		context_loss(const IalsConfig *config, ContextModelKind kind, const ContextData *data,
						 const float *const *fields, const float *items, const float *phi,
						 const float *phi_gram, const float *item_gram, double *row_loss);

#endif							/* IREC_CONTEXT_H */
