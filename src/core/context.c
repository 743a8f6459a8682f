/*
 * context.c
 *		iALS block steps for sum and product models over composite contexts
 *		(context.h has the math).
 */
#include "context.h"

#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "parallel.h"
#include "rng.h"
#include "vecmath.h"

/* Observed pairs gathered per block for one matrix product. */
#define CONTEXT_GATHER_BLOCK 64

size_t
context_scratch_floats(int dims)
{
	size_t		d = (size_t) dims;

	/*
	 * Cholesky: a, s (product), b, x, r, r_sum, gathered, scaled, r rows,
	 * coefficients, weights; CG: the unobserved block, s, 8 vectors, r rows
	 */
	return 2 * d * d + 4 * d + 3 * CONTEXT_GATHER_BLOCK * d + 2 * CONTEXT_GATHER_BLOCK;
}

/* r: the part of φ(c) that the fields other than `skip` make (skip < 0: all of φ). */
static void
context_rest(ContextModelKind kind, const ContextData *data, const float *const *fields,
			 int dims, size_t c, int skip, float *r)
{
	const int32_t *values = data->values + c * (size_t) data->n_fields;

	for (int k = 0; k < dims; k++)
		r[k] = kind == CONTEXT_MODEL_SUM ? 0.0f : 1.0f;
	for (int f = 0; f < data->n_fields; f++)
	{
		const float *w;

		/* an absent value (NULL in the data) contributes nothing */
		if (f == skip || values[f] < 0)
			continue;
		w = fields[f] + (size_t) values[f] * dims;
		if (kind == CONTEXT_MODEL_SUM)
			vec_axpy(r, 1.0f, w, dims);
		else
			for (int k = 0; k < dims; k++)
				r[k] *= w[k];
	}
}

void
context_phi(ContextModelKind kind, const ContextData *data, const float *const *fields,
			int dims, float *phi)
{
	for (size_t c = 0; c < data->n_contexts; c++)
		context_rest(kind, data, fields, dims, c, -1, phi + c * (size_t) dims);
}

void
context_init(ContextModelKind kind, const ContextData *data, int dims, double std,
			 uint64_t seed, float *const *fields, float *items)
{
	double		field_std = kind == CONTEXT_MODEL_SUM ? std / sqrt((double) data->n_fields) : std;

	for (int f = 0; f < data->n_fields; f++)
	{
		float	   *w = fields[f];
		size_t		n = data->n_values[f];

		/* streams 3, 4, ...: ials_init_rows uses 1 and 2 for users and items */
		ials_init_rows(w, 0, n, dims, field_std, seed, 3 + (uint64_t) f);
		if (kind == CONTEXT_MODEL_PRODUCT && f > 0)
			for (size_t k = 0; k < n * (size_t) dims; k++)
				w[k] += 1.0f;
	}
	ials_init_rows(items, 0, data->n_items, dims, std, seed, 2);
}

double
context_value_regularization(const IalsConfig *config, ContextModelKind kind, const ContextData *data,
							 int f, size_t observed, size_t contexts)
{
	if (kind == CONTEXT_MODEL_PRODUCT && f > 0)
		return data->product_prior;
	return ials_row_regularization(config, observed, data->n_items * contexts);
}

typedef struct FieldJob
{
	const IalsConfig *config;
	ContextModelKind kind;
	const ContextData *data;
	int			f;
	float	   *const *fields;
	const float *items;
	const float *item_gram;
	size_t		first;
	float	   *scratch;
} FieldJob;

/*
 * Add a gathered block to the system: a += Σ_j weight_j·x_j x_jᵀ (the full
 * matrix) and b += Σ_j coefficient_j·x_j.
 */
static void
add_block(int d, int count, const float *gathered, const float *weight, const float *coefficient,
		  float *scaled, float *a, float *b)
{
	if (count == 0)
		return;
	cblas_sgemv(CblasRowMajor, CblasTrans, count, d, 1.0f, gathered, d, coefficient, 1, 1.0f, b, 1);
	for (int j = 0; j < count; j++)
		for (int k = 0; k < d; k++)
			scaled[(size_t) j * d + k] = weight[j] * gathered[(size_t) j * d + k];
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, count,
				1.0f, scaled, d, gathered, d, 1.0f, a, d);
}

/*
 * The other fields' part r_c of one of value v's contexts, into r, and its
 * share of what the unobserved block needs: Σ r_c for the sum model, S =
 * Σ r_c r_cᵀ for the product (a block of CONTEXT_GATHER_BLOCK rows of r at
 * a time into r_rows; flush_rest adds what is left).
 */
static void
add_rest(const FieldJob *job, size_t c, float *r, float *r_sum, float *r_rows, int *r_count, float *s)
{
	const int	d = job->config->dims;

	context_rest(job->kind, job->data, (const float *const *) job->fields, d, c, job->f, r);
	if (job->kind == CONTEXT_MODEL_SUM)
	{
		vec_axpy(r_sum, 1.0f, r, d);
		return;
	}
	memcpy(r_rows + (size_t) *r_count * d, r, sizeof(float) * d);
	if (++*r_count == CONTEXT_GATHER_BLOCK)
	{
		cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, d, *r_count, 1.0f, r_rows, d, 1.0f, s, d);
		*r_count = 0;
	}
}

static void
flush_rest(const FieldJob *job, const float *r_rows, int r_count, float *s)
{
	const int	d = job->config->dims;

	if (job->kind == CONTEXT_MODEL_PRODUCT && r_count > 0)
		cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, d, r_count, 1.0f, r_rows, d, 1.0f, s, d);
}

static int
solve_value(const FieldJob *job, size_t v, float *scratch)
{
	const IalsConfig *config = job->config;
	const ContextData *data = job->data;
	const CsrMatrix *contexts = &data->by_value[job->f];
	const int	d = config->dims;
	const size_t dd = (size_t) d * d;
	const float alpha0 = (float) config->unobserved_weight;
	const bool	sum = job->kind == CONTEXT_MODEL_SUM;
	float	   *a = scratch;
	float	   *s = a + dd;
	float	   *b = s + dd;
	float	   *x = b + d;
	float	   *r = x + d;
	float	   *r_sum = r + d;
	float	   *gathered = r_sum + d;
	float	   *scaled = gathered + (size_t) CONTEXT_GATHER_BLOCK * d;
	float	   *r_rows = scaled + (size_t) CONTEXT_GATHER_BLOCK * d;
	float	   *coefficient = r_rows + (size_t) CONTEXT_GATHER_BLOCK * d;
	float	   *weight = coefficient + CONTEXT_GATHER_BLOCK;
	size_t		first = contexts->row_start[v];
	size_t		last = contexts->row_start[v + 1];
	size_t		observed = 0;
	int			count = 0;
	int			r_count = 0;
	double		lambda;

	if (last == first)
		return IALS_OK;
	memset(a, 0, sizeof(float) * dd);
	memset(s, 0, sizeof(float) * dd);
	memset(b, 0, sizeof(float) * d);
	memset(r_sum, 0, sizeof(float) * d);
	for (size_t k = first; k < last; k++)
	{
		size_t		c = (size_t) contexts->col[k];
		const CsrMatrix *m = data->by_context;

		add_rest(job, c, r, r_sum, r_rows, &r_count, s);
		for (size_t e = m->row_start[c]; e < m->row_start[c + 1]; e++)
		{
			const float *psi = job->items + (size_t) m->col[e] * d;
			float		alpha = m->value[e];
			float	   *row = gathered + (size_t) count * d;

			if (sum)
			{
				memcpy(row, psi, sizeof(float) * d);
				coefficient[count] = alpha - (alpha - alpha0) * vec_dot(r, psi, d);
			}
			else
			{
				for (int j = 0; j < d; j++)
					row[j] = r[j] * psi[j];
				coefficient[count] = alpha;
			}
			weight[count] = alpha - alpha0;
			observed++;
			if (++count == CONTEXT_GATHER_BLOCK)
			{
				add_block(d, count, gathered, weight, coefficient, scaled, a, b);
				count = 0;
			}
		}
	}
	add_block(d, count, gathered, weight, coefficient, scaled, a, b);
	if (sum)
	{
		/* the unobserved pairs of |C_v| contexts, and their offsets r_c */
		float		scale = alpha0 * (float) (last - first);

		for (size_t k = 0; k < dd; k++)
			a[k] += scale * job->item_gram[k];
		cblas_ssymv(CblasRowMajor, CblasUpper, d, -alpha0, job->item_gram, d, r_sum, 1, 1.0f, b, 1);
	}
	else
	{
		flush_rest(job, r_rows, r_count, s);
		/* α0·(G ∘ S), upper triangle (Cholesky reads only that) */
		for (int i = 0; i < d; i++)
			for (int j = i; j < d; j++)
				a[(size_t) i * d + j] += alpha0 * job->item_gram[(size_t) i * d + j] * s[(size_t) i * d + j];
	}
	lambda = context_value_regularization(config, job->kind, data, job->f, observed, last - first);
	for (int i = 0; i < d; i++)
		a[(size_t) i * d + i] += (float) lambda;
	/* the product model's later fields are pulled toward 1, not 0 (context.h) */
	if (!sum && job->f > 0)
		for (int i = 0; i < d; i++)
			b[i] += (float) lambda;
	return ials_cholesky_solve(a, b, d, job->fields[job->f] + v * (size_t) d);
}

/*
 * Value v's system applied to p, without forming it: the unobserved part
 * (sum: α0·|C_v|·G·p; product: the prepared α0·(G ∘ S)·p), λ_v·p, and the
 * observed pairs Σ (α−α0)⟨x,p⟩x, x = ψ (sum) or r_c ⊙ ψ (product), taken
 * context by context.  O(d² + Σ_c (F·d + |S_c|·2d)).
 */
static void
apply_value_system(const FieldJob *job, size_t v, const float *unobserved, float unobserved_scale,
				   double lambda, const float *p, float *out, float *r, float *rp)
{
	const ContextData *data = job->data;
	const CsrMatrix *contexts = &data->by_value[job->f];
	const CsrMatrix *m = data->by_context;
	const int	d = job->config->dims;
	const float alpha0 = (float) job->config->unobserved_weight;
	const bool	sum = job->kind == CONTEXT_MODEL_SUM;

	cblas_ssymv(CblasRowMajor, CblasUpper, d, unobserved_scale, unobserved, d, p, 1, 0.0f, out, 1);
	vec_axpy(out, (float) lambda, p, d);
	for (size_t k = contexts->row_start[v]; k < contexts->row_start[v + 1]; k++)
	{
		size_t		c = (size_t) contexts->col[k];
		const float *q = p;

		if (!sum)
		{
			/* ⟨r⊙ψ, p⟩ = ⟨ψ, r⊙p⟩, and the sum of (…)·r⊙ψ is r ⊙ (the sum of (…)·ψ) */
			context_rest(job->kind, data, (const float *const *) job->fields, d, c, job->f, r);
			for (int j = 0; j < d; j++)
				rp[j] = r[j] * p[j];
			q = rp;
			memset(r + d, 0, sizeof(float) * d);
		}
		for (size_t e = m->row_start[c]; e < m->row_start[c + 1]; e++)
		{
			const float *psi = job->items + (size_t) m->col[e] * d;
			float		w = (m->value[e] - alpha0) * vec_dot(psi, q, d);

			vec_axpy(sum ? out : r + d, w, psi, d);
		}
		if (!sum)
			for (int j = 0; j < d; j++)
				out[j] += r[j] * r[d + j];
	}
}

/*
 * solve_value_cg: cg_steps of conjugate gradient on value v's system,
 * warm-started from its current embedding (as iALS's CG, Rendle et al.
 * 2021).  The right-hand side and the unobserved block are formed once
 * (O(|C_v|·d²) for the product's G ∘ S, O(d²) for the sum's); the d³
 * factorization is what it saves.
 */
static int
solve_value_cg(const FieldJob *job, size_t v, float *scratch)
{
	const IalsConfig *config = job->config;
	const ContextData *data = job->data;
	const CsrMatrix *contexts = &data->by_value[job->f];
	const CsrMatrix *m = data->by_context;
	const int	d = config->dims;
	const size_t dd = (size_t) d * d;
	const float alpha0 = (float) config->unobserved_weight;
	const bool	sum = job->kind == CONTEXT_MODEL_SUM;
	float	   *unobserved = scratch;
	float	   *s = unobserved + dd;
	float	   *b = s + dd;
	float	   *residual = b + d;
	float	   *r = residual + d;	/* r and the next d: apply's per-context work */
	float	   *r_sum = r + 2 * d;
	float	   *direction = r_sum + d;
	float	   *ap = direction + d;
	float	   *rp = ap + d;
	float	   *r_rows = rp + d;	/* CONTEXT_GATHER_BLOCK rows of r, for S */
	float	   *x = job->fields[job->f] + v * (size_t) d;
	int			r_count = 0;
	size_t		first = contexts->row_start[v];
	size_t		last = contexts->row_start[v + 1];
	size_t		observed = 0;
	double		lambda;
	float		rr;
	const float *unobserved_matrix = unobserved;
	float		unobserved_scale = 1.0f;

	if (last == first)
		return IALS_OK;
	memset(b, 0, sizeof(float) * d);
	memset(r_sum, 0, sizeof(float) * d);
	if (!sum)
		memset(s, 0, sizeof(float) * dd);
	for (size_t k = first; k < last; k++)
	{
		size_t		c = (size_t) contexts->col[k];

		add_rest(job, c, r, r_sum, r_rows, &r_count, s);
		for (size_t e = m->row_start[c]; e < m->row_start[c + 1]; e++)
		{
			const float *psi = job->items + (size_t) m->col[e] * d;
			float		alpha = m->value[e];

			if (sum)
				vec_axpy(b, alpha - (alpha - alpha0) * vec_dot(r, psi, d), psi, d);
			else
				for (int j = 0; j < d; j++)
					b[j] += alpha * r[j] * psi[j];
			observed++;
		}
	}
	lambda = context_value_regularization(config, job->kind, data, job->f, observed, last - first);
	if (sum)
	{
		/* α0·|C_v|·G: the item Gramian, scaled as it is applied */
		unobserved_matrix = job->item_gram;
		unobserved_scale = alpha0 * (float) (last - first);
		cblas_ssymv(CblasRowMajor, CblasUpper, d, -alpha0, job->item_gram, d, r_sum, 1, 1.0f, b, 1);
	}
	else
	{
		flush_rest(job, r_rows, r_count, s);
		for (int i = 0; i < d; i++)
			for (int j = i; j < d; j++)
				unobserved[(size_t) i * d + j] = alpha0 * job->item_gram[(size_t) i * d + j] * s[(size_t) i * d + j];
		if (job->f > 0)
			for (int i = 0; i < d; i++)
				b[i] += (float) lambda;
	}
	/* residual = b − A·x, the first direction */
	apply_value_system(job, v, unobserved_matrix, unobserved_scale, lambda, x, ap, r, rp);
	for (int j = 0; j < d; j++)
		residual[j] = direction[j] = b[j] - ap[j];
	rr = vec_dot(residual, residual, d);
	for (int step = 0; step < config->cg_steps && rr > 1e-20f; step++)
	{
		float		pap;
		float		step_size;
		float		rr_next;

		apply_value_system(job, v, unobserved_matrix, unobserved_scale, lambda, direction, ap, r, rp);
		pap = vec_dot(direction, ap, d);
		if (!(pap > 0.0f))
			return IALS_ERR_NOT_POSITIVE_DEFINITE;
		step_size = rr / pap;
		vec_axpy(x, step_size, direction, d);
		vec_axpy(residual, -step_size, ap, d);
		rr_next = vec_dot(residual, residual, d);
		vec_axpby(direction, 1.0f, residual, rr_next / rr, d);
		rr = rr_next;
	}
	return IALS_OK;
}

static int
field_block(void *context, size_t begin, size_t end, int thread)
{
	FieldJob   *job = (FieldJob *) context;
	float	   *scratch = job->scratch + context_scratch_floats(job->config->dims) * (size_t) thread;

	for (size_t i = begin; i < end; i++)
	{
		int			rc = job->config->solver == IALS_SOLVER_CG
			? solve_value_cg(job, job->first + i, scratch)
			: solve_value(job, job->first + i, scratch);

		if (rc != IALS_OK)
			return rc;
	}
	return IALS_OK;
}

int
context_solve_field(const IalsConfig *config, ContextModelKind kind, const ContextData *data,
					int f, float *const *fields, const float *items, const float *item_gram,
					size_t begin, size_t end, float *scratch)
{
	FieldJob	job = {config, kind, data, f, fields, items, item_gram, begin, scratch};

	if (end <= begin)
		return IALS_OK;
	return parallel_for(config->threads, end - begin, 16, field_block, &job);
}

typedef struct LossJob
{
	const IalsConfig *config;
	const ContextData *data;
	const float *items;
	const float *phi;
	double	   *row_loss;
} LossJob;

/* Each context's observed terms (ials.h), φ in place of a user's row. */
static int
loss_block(void *context, size_t begin, size_t end, int thread)
{
	LossJob    *job = (LossJob *) context;
	const int	d = job->config->dims;

	for (size_t c = begin; c < end; c++)
		job->row_loss[c] = ials_row_observed_loss(job->config, job->data->by_context, job->items, c,
												  job->phi + c * (size_t) d);
	return 0;
}

double
context_loss(const IalsConfig *config, ContextModelKind kind, const ContextData *data,
			 const float *const *fields, const float *items, const float *phi,
			 const float *phi_gram, const float *item_gram, double *row_loss)
{
	const int	d = config->dims;
	LossJob		job = {config, data, items, phi, row_loss};
	double		loss = 0.0;
	double		all_pairs = 0.0;

	parallel_for(config->threads, data->n_contexts, 256, loss_block, &job);
	for (size_t c = 0; c < data->n_contexts; c++)
		loss += row_loss[c];
	/* α0·Σ_c φ_cᵀGφ_c = α0·⟨G, ΦᵀΦ⟩: the all-pairs term from the two Gramians */
	for (size_t k = 0; k < (size_t) d * d; k++)
		all_pairs += (double) item_gram[k] * phi_gram[k];
	loss += config->unobserved_weight * all_pairs;
	for (int f = 0; f < data->n_fields; f++)
	{
		const CsrMatrix *contexts = &data->by_value[f];

		for (size_t v = 0; v < data->n_values[f]; v++)
		{
			size_t		observed = 0;
			const float *w = fields[f] + v * (size_t) d;

			if (contexts->row_start[v + 1] == contexts->row_start[v])
				continue;
			for (size_t k = contexts->row_start[v]; k < contexts->row_start[v + 1]; k++)
			{
				size_t		c = (size_t) contexts->col[k];

				observed += data->by_context->row_start[c + 1] - data->by_context->row_start[c];
			}
			{
				double		lambda = context_value_regularization(config, kind, data, f, observed,
																	  contexts->row_start[v + 1] - contexts->row_start[v]);
				double		norm = 0.0;

				/* ‖w‖², or ‖w − 1‖² for the product model's later fields */
				if (kind == CONTEXT_MODEL_PRODUCT && f > 0)
					for (int k = 0; k < d; k++)
						norm += ((double) w[k] - 1.0) * ((double) w[k] - 1.0);
				else
					norm = vec_dot_double(w, w, d);
				loss += lambda * norm;
			}
		}
	}
	for (size_t i = 0; i < data->n_items; i++)
	{
		const float *h = items + i * (size_t) d;
		size_t		observed = data->by_item->row_start[i + 1] - data->by_item->row_start[i];

		loss += ials_row_regularization(config, observed, data->n_contexts) * vec_dot_double(h, h, d);
	}
	return loss;
}
