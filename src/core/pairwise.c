/*
 * pairwise.c
 *		ALS for the pairwise square loss (see pairwise.h for the math).
 */
#include "pairwise.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "parallel.h"
#include "vecmath.h"

/* Interactions gathered per sgemm rank update. */
#define PAIRWISE_GATHER_BLOCK 256

size_t
pairwise_scratch_floats(const IalsConfig *config)
{
	size_t		d = (size_t) config->dims;

	/* A, b, the gathered rows plain and scaled, their weights */
	return (d * d + d + 2 * PAIRWISE_GATHER_BLOCK * d + PAIRWISE_GATHER_BLOCK + 15) / 16 * 16;
}

size_t
pairwise_sums_scratch_floats(const IalsConfig *config, size_t n_users)
{
	size_t		d = (size_t) config->dims;
	size_t		threads = (size_t) (config->threads > 0 ? config->threads : 1);

	/* √W·φ per user, the Gramian's partials, R per user */
	return n_users * d + threads * d * d + n_users + 16;
}

size_t
pairwise_loss_scratch_floats(const IalsConfig *config, size_t n_users)
{
	size_t		d = (size_t) config->dims;

	/* G_W, t, the sums' scratch, then the users' observed terms (doubles) */
	return d * d + d + pairwise_sums_scratch_floats(config, n_users) + 2 * n_users + 16;
}

void
pairwise_row_sum(const float *rows, size_t n, int dims, float *sum)
{
	for (int k = 0; k < dims; k++)
	{
		double		total = 0.0;

		for (size_t r = 0; r < n; r++)
			total += rows[r * dims + k];
		sum[k] = (float) total;
	}
}

/*
 * a += Σ_j w_j·h_j h_jᵀ and b += Σ_j v_j·h_j over row `row` of m (h_j the
 * rows of other at its columns, w_j = weight_scale·α_j, v_j from
 * rhs_coefficient), in gathered blocks: one sgemm and one sgemv each.
 */
typedef float (*RhsCoefficient) (float alpha, const float *h, const void *arg);

static void
add_data_terms(const CsrMatrix *m, const float *other, size_t row, int d, float weight_scale,
			   RhsCoefficient rhs_coefficient, const void *arg, float *a, float *b, float *scratch)
{
	float	   *gathered = scratch;
	float	   *scaled = gathered + (size_t) PAIRWISE_GATHER_BLOCK * d;
	float	   *coefficient = scaled + (size_t) PAIRWISE_GATHER_BLOCK * d;
	size_t		start = m->row_start[row];
	size_t		end = m->row_start[row + 1];

	for (size_t block = start; block < end; block += PAIRWISE_GATHER_BLOCK)
	{
		int			count = (int) (end - block < PAIRWISE_GATHER_BLOCK ? end - block : PAIRWISE_GATHER_BLOCK);

		for (int j = 0; j < count; j++)
		{
			const float *h = other + (size_t) m->col[block + j] * d;
			float		alpha = m->value[block + j];

			memcpy(gathered + (size_t) j * d, h, sizeof(float) * d);
			for (int k = 0; k < d; k++)
				scaled[(size_t) j * d + k] = weight_scale * alpha * h[k];
			coefficient[j] = rhs_coefficient(alpha, h, arg);
		}
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, count, 1.0f,
					scaled, d, gathered, d, 1.0f, a, d);
		cblas_sgemv(CblasRowMajor, CblasTrans, count, d, 1.0f, gathered, d,
					coefficient, 1, 1.0f, b, 1);
	}
}

/* ---------- the user step ---------- */

static float
user_rhs(float alpha, const float *h, const void *arg)
{
	return alpha;
}

typedef struct UserJob
{
	const IalsConfig *config;
	const CsrMatrix *by_user;
	const float *items;
	const float *item_gram;
	const float *item_sum;
	float	   *users;
	size_t		first;
	float	   *scratch;
} UserJob;

static int
solve_user_block(void *context, size_t begin, size_t end, int thread)
{
	UserJob    *job = (UserJob *) context;
	const int	d = job->config->dims;
	const CsrMatrix *m = job->by_user;
	double		n = (double) m->n_cols;
	float	   *a = job->scratch + pairwise_scratch_floats(job->config) * (size_t) thread;
	float	   *s = a + (size_t) d * d;
	float	   *rest = s + d;

	for (size_t i = begin; i < end; i++)
	{
		size_t		row = job->first + i;
		size_t		count = m->row_start[row + 1] - m->row_start[row];
		float		lambda = (float) ials_row_regularization(job->config, count, m->n_cols);
		double		total_weight = 0.0;
		float		share;
		int			rc;

		for (size_t j = m->row_start[row]; j < m->row_start[row + 1]; j++)
			total_weight += m->value[j];
		share = (float) (total_weight / n);
		/* A = (W/n)·G + λ·I + Σ α ψψᵀ; s = Σ α ψ */
		for (size_t k = 0; k < (size_t) d * d; k++)
			a[k] = share * job->item_gram[k];
		for (int k = 0; k < d; k++)
			a[(size_t) k * d + k] += lambda;
		memset(s, 0, sizeof(float) * d);
		add_data_terms(m, job->items, row, d, 1.0f, user_rhs, NULL, a, s, rest);
		/* − (s zᵀ + z sᵀ)/n; b = s − (W/n)·z */
		cblas_sger(CblasRowMajor, d, d, (float) (-1.0 / n), s, 1, job->item_sum, 1, a, d);
		cblas_sger(CblasRowMajor, d, d, (float) (-1.0 / n), job->item_sum, 1, s, 1, a, d);
		vec_axpy(s, -share, job->item_sum, d);
		rc = ials_cholesky_solve(a, s, d, job->users + row * d);
		if (rc != IALS_OK)
			return rc;
	}
	return IALS_OK;
}

int
pairwise_solve_users(const IalsConfig *config, const CsrMatrix *by_user, const float *items,
					 const float *item_gram, const float *item_sum, float *users,
					 size_t begin, size_t end, float *scratch)
{
	UserJob		job = {config, by_user, items, item_gram, item_sum, users, begin, scratch};

	if (end <= begin)
		return IALS_OK;
	return parallel_for(config->threads, end - begin, 16, solve_user_block, &job);
}

/* ---------- the sums over users for the item step ---------- */

typedef struct SumsJob
{
	const IalsConfig *config;
	const CsrMatrix *by_user;
	const float *users;
	const float *items;
	float	   *scaled;			/* √W_c·φ_c */
	float	   *residual;		/* R_c */
	double	   *observed;		/* Σ α(ŷ − 1)² per user, or NULL */
} SumsJob;

static int
user_sums_block(void *context, size_t begin, size_t end, int thread)
{
	SumsJob    *job = (SumsJob *) context;
	const int	d = job->config->dims;
	const CsrMatrix *m = job->by_user;

	for (size_t u = begin; u < end; u++)
	{
		const float *phi = job->users + u * d;
		double		weight = 0.0;
		double		residual = 0.0;
		double		observed = 0.0;
		float		root;

		for (size_t j = m->row_start[u]; j < m->row_start[u + 1]; j++)
		{
			double		alpha = m->value[j];
			double		error = vec_dot(phi, job->items + (size_t) m->col[j] * d, d) - 1.0;

			weight += alpha;
			residual += alpha * error;
			observed += alpha * error * error;
		}
		job->residual[u] = (float) residual;
		if (job->observed)
			job->observed[u] = observed;
		root = (float) sqrt(weight > 0.0 ? weight : 0.0);
		for (int k = 0; k < d; k++)
			job->scaled[u * d + k] = root * phi[k];
	}
	return 0;
}

static void
user_sums(const IalsConfig *config, const CsrMatrix *by_user, const float *users,
		  const float *items, float *weighted_gram, float *residual_sum, float *scratch,
		  double *observed)
{
	size_t		n_users = by_user->n_rows;
	int			d = config->dims;
	int			threads = config->threads > 0 ? config->threads : 1;
	float	   *scaled = scratch;
	float	   *partials = scaled + n_users * (size_t) d;
	float	   *residual = partials + (size_t) threads * d * d;
	SumsJob		job = {config, by_user, users, items, scaled, residual, observed};

	parallel_for(config->threads, n_users, 256, user_sums_block, &job);
	ials_gramian(scaled, n_users, d, threads, weighted_gram, partials);
	memset(residual_sum, 0, sizeof(float) * d);
	if (n_users > 0)
		cblas_sgemv(CblasRowMajor, CblasTrans, (int) n_users, d, 1.0f, users, d,
					residual, 1, 0.0f, residual_sum, 1);
}

void
pairwise_user_sums(const IalsConfig *config, const CsrMatrix *by_user, const float *users,
				   const float *items, float *weighted_gram, float *residual_sum, float *scratch)
{
	user_sums(config, by_user, users, items, weighted_gram, residual_sum, scratch, NULL);
}

/* ---------- the item step ---------- */

typedef struct ItemRhs
{
	const float *item_sum;		/* z */
	const float *item;			/* ψ_k before the step */
	int			dims;
	double		n;
} ItemRhs;

/* α·(⟨φ, z⟩ − 2⟨φ, ψ_k⟩ + n) */
static float
item_rhs(float alpha, const float *phi, const void *arg)
{
	const ItemRhs *r = (const ItemRhs *) arg;

	return (float) (alpha * (vec_dot(phi, r->item_sum, r->dims) - 2.0 * vec_dot(phi, r->item, r->dims) + r->n));
}

typedef struct ItemJob
{
	const IalsConfig *config;
	const CsrMatrix *by_item;
	const float *users;
	const float *weighted_gram;
	const float *residual_sum;
	const float *item_sum;
	float	   *items;
	size_t		first;
	float	   *scratch;
} ItemJob;

static int
solve_item_block(void *context, size_t begin, size_t end, int thread)
{
	ItemJob    *job = (ItemJob *) context;
	const int	d = job->config->dims;
	const CsrMatrix *m = job->by_item;
	double		n = (double) m->n_rows;
	float	   *a = job->scratch + pairwise_scratch_floats(job->config) * (size_t) thread;
	float	   *b = a + (size_t) d * d;
	float	   *rest = b + d;

	for (size_t i = begin; i < end; i++)
	{
		size_t		row = job->first + i;
		size_t		count = m->row_start[row + 1] - m->row_start[row];
		float		lambda = (float) ials_row_regularization(job->config, count, m->n_cols);
		ItemRhs		rhs = {job->item_sum, job->items + row * d, d, n};
		int			rc;

		/* A = G_W + n·λ·I + (n − 2)·Σ α φφᵀ; b = t + Σ α φ (⟨φ,z⟩ − 2⟨φ,ψ_k⟩ + n) */
		memcpy(a, job->weighted_gram, sizeof(float) * d * d);
		for (int k = 0; k < d; k++)
			a[(size_t) k * d + k] += (float) (n * lambda);
		memcpy(b, job->residual_sum, sizeof(float) * d);
		add_data_terms(m, job->users, row, d, (float) (n - 2.0), item_rhs, &rhs, a, b, rest);
		rc = ials_cholesky_solve(a, b, d, job->items + row * d);
		if (rc != IALS_OK)
			return rc;
	}
	return IALS_OK;
}

int
pairwise_solve_items(const IalsConfig *config, const CsrMatrix *by_item, const float *users,
					 const float *weighted_gram, const float *residual_sum,
					 const float *item_sum, float *items, size_t begin, size_t end,
					 float *scratch)
{
	ItemJob		job = {config, by_item, users, weighted_gram, residual_sum, item_sum, items,
	begin, scratch};

	if (end <= begin)
		return IALS_OK;
	return parallel_for(config->threads, end - begin, 16, solve_item_block, &job);
}

/* ---------- the loss ---------- */

double
pairwise_loss(const IalsConfig *config, const CsrMatrix *by_user, const CsrMatrix *by_item,
			  const float *users, const float *items, const float *item_gram,
			  const float *item_sum, float *scratch)
{
	size_t		n_users = by_user->n_rows;
	size_t		n_items = by_item->n_rows;
	int			d = config->dims;
	float	   *weighted_gram = scratch;
	float	   *residual_sum = weighted_gram + (size_t) d * d;
	float	   *rest = residual_sum + d;
	double	   *observed = (double *) (((uintptr_t) (rest + pairwise_sums_scratch_floats(config, n_users)) + 7)
									   & ~(uintptr_t) 7);
	double		n = (double) n_items;
	double		total = 0.0;
	double		cross = 0.0;
	double		quadratic = 0.0;

	user_sums(config, by_user, users, items, weighted_gram, residual_sum, rest, observed);
	for (size_t u = 0; u < n_users; u++)
		total += observed[u] + ials_row_regularization(config, by_user->row_start[u + 1] - by_user->row_start[u],
														n_items) * vec_norm_squared_double(users + u * d, d);
	for (size_t i = 0; i < n_items; i++)
		total += ials_row_regularization(config, by_item->row_start[i + 1] - by_item->row_start[i], n_users) *
			vec_norm_squared_double(items + i * d, d);
	for (int k = 0; k < d; k++)
		cross += (double) residual_sum[k] * item_sum[k];
	for (size_t k = 0; k < (size_t) d * d; k++)
		quadratic += (double) weighted_gram[k] * item_gram[k];
	return total - 2.0 / n * cross + quadratic / n;
}

double
pairwise_sgd_default_regularization(size_t n_items, double mean_user_interactions)
{
	double		mean = mean_user_interactions > 1.0 ? mean_user_interactions : 1.0;
	double		alpha0 = ials_default_unobserved_weight(n_items, mean);
	double		mass = mean + alpha0 * (double) n_items;

	return ials_default_regularization(alpha0, n_items, mean, 1.0) * mass / mean;
}
