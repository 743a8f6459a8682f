/*
 * ials.c
 *		iALS half-steps, Gramian and loss (see ials.h for the math).
 */
#include "ials.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "parallel.h"
#include "rng.h"
#include "vecmath.h"

/*
 * LAPACK's Fortran interface.  The trailing size_t is the hidden length of
 * the CHARACTER argument that gfortran-compiled LAPACK expects.
 */
extern void spotrf_(const char *uplo, const int *n, float *a, const int *lda,
					int *info, size_t uplo_len);
extern void spotrs_(const char *uplo, const int *n, const int *nrhs,
					const float *a, const int *lda, float *b, const int *ldb,
					int *info, size_t uplo_len);

/* Interactions gathered per block for one sgemm rank update (Cholesky path). */
#define IALS_GATHER_BLOCK 256
/*
 * Rows solved together by CG, their Gramian products one sgemm.  Between
 * two CG steps of a row the block's other rows run theirs, so the item
 * rows a block gathers (about n̄·d floats per row) should stay in L2 from
 * one step to the next: at 32 rows of 27 interactions that is 440 KB at
 * dims 128.  Measured on one thread of a Zen 4 core (1 MB L2), Gowalla
 * shape: 32 rows took 10–15% less time per epoch than 64 at dims 128 and
 * 4% less at dims 256, and the same at dims 64 and 512 (16 rows made the
 * sgemm too short at dims 256).
 *
 * From dims 1024 up the block grows to d/2 rows (at most 1024): each sgemm
 * packs all of G (d² floats, 4 MB at dims 1024, more than L2) for only
 * 2·rows·d² flops, and a block's gathered rows overflow L2 at those dims
 * whatever its height.  Core benchmark (`run_core.sh --cg D`), Gowalla
 * shape, both threads of a Zen 4 EPYC, alternating runs, s per epoch:
 * dims 1024, 32 rows 6.3–7.2 (four runs), 128 rows 5.5–6.1 (five), 256
 * rows 5.5–5.8 (four), 512 rows 5.4–5.8 (six, median 5.4); dims 2048, 32
 * rows 25.3, 256 rows 17.9–18.4 (three), 1024 rows 17.2–17.7 (two).  At
 * dims 512 taller blocks lose (two runs each): 32 rows 1.52–1.53, 128 rows
 * 1.66–1.69, 256 rows 1.81–1.91.  The backend bounds a block's flops so
 * that it polls for interrupts often enough (ials_solve_rows_polled, with
 * FLOPS_PER_CHUNK over the threads: about 600 rows at dims 1024, so the
 * block stays d/2; 37 at dims 4096).
 */
#define IALS_CG_BLOCK 32
#define IALS_CG_BLOCK_MAX 1024

static inline int
cg_block_rows(int dims)
{
	int			rows = dims >= 1024 ? dims / 2 : IALS_CG_BLOCK;

	return rows > IALS_CG_BLOCK_MAX ? IALS_CG_BLOCK_MAX : rows;
}

size_t
ials_scratch_floats(const IalsConfig *config)
{
	size_t		d = (size_t) config->dims;

	/* Cholesky: A (d×d), b, two gather blocks and their weights */
	size_t		cholesky = d * d + d + 2 * IALS_GATHER_BLOCK * d + IALS_GATHER_BLOCK;
	/* CG: r, p and A·p for a block of rows, their ‖r‖² and λ */
	size_t		block = (size_t) cg_block_rows(config->dims);
	size_t		cg = 3 * block * d + 2 * block;

	/* a multiple of 16 floats, so that each thread's part starts on a line */
	return ((cholesky > cg ? cholesky : cg) + 15) / 16 * 16;
}

typedef struct GramianJob
{
	const float *factors;
	size_t		n;
	int			dims;
	int			threads;
	float	   *partials;
} GramianJob;

static int
gramian_block(void *context, size_t begin, size_t end, int thread)
{
	GramianJob *job = (GramianJob *) context;
	size_t		dd = (size_t) job->dims * job->dims;

	/* one block per slice: begin indexes the slice, not a thread */
	for (size_t slice = begin; slice < end; slice++)
	{
		size_t		first = job->n * slice / job->threads;
		size_t		last = job->n * (slice + 1) / job->threads;
		float	   *out = job->partials + dd * slice;

		memset(out, 0, sizeof(float) * dd);
		if (last > first)
			cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, job->dims,
						(int) (last - first), 1.0f,
						job->factors + first * job->dims, job->dims,
						0.0f, out, job->dims);
	}
	return 0;
}

void
ials_gramian(const float *factors, size_t n, int dims, int threads,
			 float *gram, float *partials)
{
	ials_gramian_blocked(factors, n, dims, threads, gram, partials, n, NULL, NULL);
}

void
ials_gramian_blocked(const float *factors, size_t n, int dims, int threads,
					 float *gram, float *partials, size_t block_rows,
					 void (*between_blocks) (void *arg), void *arg)
{
	size_t		dd = (size_t) dims * dims;
	size_t		first = 0;

	if (threads < 1)
		threads = 1;
	if (block_rows < 1)
		block_rows = 1;
	memset(gram, 0, sizeof(float) * dd);
	do
	{
		size_t		rows = n - first < block_rows ? n - first : block_rows;
		GramianJob	job = {factors + first * dims, rows, dims, threads, partials};

		parallel_for(threads, (size_t) threads, 1, gramian_block, &job);
		for (int t = 0; t < threads; t++)
			vec_axpy(gram, 1.0f, partials + dd * t, dd);
		first += rows;
		if (first < n && between_blocks)
			between_blocks(arg);
	} while (first < n);
	/* mirror the upper triangle: the solvers use the full matrix */
	for (int r = 0; r < dims; r++)
		for (int c = 0; c < r; c++)
			gram[(size_t) r * dims + c] = gram[(size_t) c * dims + r];
}

/*
 * Each row from its own stream, two components per Box–Muller draw (its
 * cosine and its sine are independent standard normals), in float from
 * one 64-bit draw split into two 24-bit uniforms: the radius then reaches
 * 5.8σ at most, which an initialization does not miss.  One double draw
 * per component (rng_normal) took 0.229 s for 70,839 rows at dims 128 on
 * one thread of a Zen 4 core, more than an epoch of training on both;
 * this takes 0.075 s.
 */
void
ials_init_rows(float *x, size_t first, size_t rows, int dims, double std, uint64_t seed,
			   uint64_t side)
{
	const float fstd = (float) std;

	for (size_t r = 0; r < rows; r++)
	{
		Rng			rng;
		float	   *row = x + r * dims;
		int			k;

		rng_seed(&rng, seed, side * 0x100000000ULL + first + r);
		for (k = 0; k + 1 < dims; k += 2)
		{
			uint64_t	bits = rng_next(&rng);
			/* two 24-bit uniforms: (0, 1] for the log, [0, 1) for the angle */
			float		u1 = ((float) (bits >> 40) + 1.0f) * (1.0f / 16777216.0f);
			float		angle = (float) ((bits >> 8) & 0xFFFFFF) * (6.2831853f / 16777216.0f);
			float		radius = fstd * sqrtf(-2.0f * logf(u1));

			row[k] = radius * cosf(angle);
			row[k + 1] = radius * sinf(angle);
		}
		if (k < dims)
			row[k] = (float) (std * rng_normal(&rng));
	}
}

double
ials_row_regularization(const IalsConfig *config, size_t count, size_t n_other)
{
	double		base = (double) count + config->unobserved_weight * (double) n_other;

	if (config->regularization_exponent == 0.0)
		return config->regularization;
	return config->regularization * pow(base, config->regularization_exponent);
}

/*
 * solve_cholesky: build the row's normal equations with blocked sgemm rank
 * updates and solve them with LAPACK.
 */
static int
solve_cholesky(const IalsConfig *config, const CsrMatrix *m, const float *other,
			   const float *gram, size_t row, float *x, float *scratch)
{
	const int	d = config->dims;
	const float alpha0 = (float) config->unobserved_weight;
	float	   *a = scratch;
	float	   *b = a + (size_t) d * d;
	float	   *gathered = b + d;
	float	   *scaled = gathered + (size_t) IALS_GATHER_BLOCK * d;
	float	   *confidence = scaled + (size_t) IALS_GATHER_BLOCK * d;
	size_t		start = m->row_start[row];
	size_t		end = m->row_start[row + 1];
	float		lambda = (float) ials_row_regularization(config, end - start, m->n_cols);
	int			full = 0;

	/*
	 * Only the upper triangle (row-major) is built and factored; the
	 * general-weight fallback below fills the rest when it needs it.
	 */
	for (int r = 0; r < d; r++)
	{
		const float *g = gram + (size_t) r * d;
		float	   *row = a + (size_t) r * d;

		for (int c = r; c < d; c++)
			row[c] = alpha0 * g[c];
		row[r] += lambda;
	}
	memset(b, 0, sizeof(float) * d);

	for (size_t block = start; block < end; block += IALS_GATHER_BLOCK)
	{
		int			count = (int) ((end - block) < IALS_GATHER_BLOCK ? end - block : IALS_GATHER_BLOCK);
		int			all_positive = 1;

		for (int j = 0; j < count; j++)
		{
			const float *h = other + (size_t) m->col[block + j] * d;
			float		alpha = m->value[block + j];

			memcpy(gathered + (size_t) j * d, h, sizeof(float) * d);
			confidence[j] = alpha;
			all_positive &= alpha >= alpha0;
		}
		/* b += Σ α·h */
		cblas_sgemv(CblasRowMajor, CblasTrans, count, d, 1.0f, gathered, d,
					confidence, 1, 1.0f, b, 1);

		/*
		 * A += Σ (α−α0)·h·hᵀ: with every weight α−α0 ≥ 0 (the usual case,
		 * α ≥ 1 > α0) as one ssyrk of the rows scaled by √(α−α0), half the
		 * flops of a general product; else as sgemm of scaled × plain rows.
		 */
		if (all_positive)
		{
			for (int j = 0; j < count; j++)
			{
				float		root = sqrtf(confidence[j] - alpha0);

				for (int k = 0; k < d; k++)
					scaled[(size_t) j * d + k] = root * gathered[(size_t) j * d + k];
			}
			cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, d, count,
						1.0f, scaled, d, 1.0f, a, d);
		}
		else
		{
			/* sgemm updates the whole matrix: complete the lower triangle once */
			if (!full)
			{
				for (int r = 1; r < d; r++)
					for (int c = 0; c < r; c++)
						a[(size_t) r * d + c] = a[(size_t) c * d + r];
				full = 1;
			}
			for (int j = 0; j < count; j++)
				for (int k = 0; k < d; k++)
					scaled[(size_t) j * d + k] = (confidence[j] - alpha0) * gathered[(size_t) j * d + k];
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, count,
						1.0f, scaled, d, gathered, d, 1.0f, a, d);
		}
	}
	return ials_cholesky_solve(a, b, d, x);
}

int
ials_cholesky_solve(float *a, float *b, int d, float *x)
{
	int			info = 0;
	int			one = 1;

	/* LAPACK reads the upper triangle of the row-major matrix as the lower
	 * triangle of a column-major one: factor 'L' */
	spotrf_("L", &d, a, &d, &info, 1);
	if (info != 0)
		return IALS_ERR_NOT_POSITIVE_DEFINITE;
	spotrs_("L", &d, &one, a, &d, b, &d, &info, 1);
	if (info != 0)
		return IALS_ERR_NOT_POSITIVE_DEFINITE;
	memcpy(x, b, sizeof(float) * d);
	return IALS_OK;
}

double
ials_row_observed_loss(const IalsConfig *config, const CsrMatrix *m, const float *other,
					   size_t row, const float *x)
{
	const int	d = config->dims;
	const double alpha0 = config->unobserved_weight;
	double		loss = 0.0;

	for (size_t j = m->row_start[row]; j < m->row_start[row + 1]; j++)
	{
		double		score = vec_dot(x, other + (size_t) m->col[j] * d, d);
		double		alpha = m->value[j];

		loss += alpha * (score - 1.0) * (score - 1.0) - alpha0 * score * score;
	}
	return loss;
}

/*
 * row_loss_terms: a solved row's share of the loss, its observed terms
 * plus λ_row‖x‖².  Called right after the row's solve, while the other
 * side's rows it touched are still in the caches.
 */
static double
row_loss_terms(const IalsConfig *config, const CsrMatrix *m, const float *other,
			   size_t row, const float *x)
{
	size_t		count = m->row_start[row + 1] - m->row_start[row];

	return ials_row_observed_loss(config, m, other, row, x) +
		ials_row_regularization(config, count, m->n_cols) * vec_norm_squared(x, config->dims);
}

/*
 * solve_cg_block: cg_steps of conjugate gradient from the current x (the
 * previous epoch's embedding), as in Rendle et al. 2021, for `count`
 * consecutive rows at once.  Each row runs its own CG on
 * A = α0·G + Σ(α−α0)·h·hᵀ + λ·I without forming A: the Gramian term of all
 * the block's rows is one sgemm (G is read once per block, not once per row
 * and step), the data term one fused pass over the row's interactions
 * (vec_sparse_rank1_apply), O(nnz·d) per product.  A row whose residual
 * vanished stops moving; the others go on.
 */
static int
solve_cg_block(const IalsConfig *config, const CsrMatrix *m, const float *other,
			   const float *gram, size_t first, int count, float *target,
			   float *scratch)
{
	const int	d = config->dims;
	const float alpha0 = (float) config->unobserved_weight;
	float	   *x = target + first * d;
	float	   *r = scratch;
	const size_t block = (size_t) cg_block_rows(d);
	float	   *p = r + block * d;
	float	   *ap = p + block * d;
	float	   *rs = ap + block * d;
	float	   *lambda = rs + block;
	int			active = 0;

	/* r = b − A·x with b = Σ α·h: −α0·G·x, then −λ·x + Σ (α − (α−α0)·hᵀx)·h */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, d, d,
				-alpha0, x, d, gram, d, 0.0f, r, d);
	for (int i = 0; i < count; i++)
	{
		size_t		row = first + i;
		size_t		start = m->row_start[row];
		size_t		n = m->row_start[row + 1] - start;
		float	   *ri = r + (size_t) i * d;

		lambda[i] = (float) ials_row_regularization(config, n, m->n_cols);
		vec_axpy(ri, -lambda[i], x + (size_t) i * d, d);
		vec_sparse_rank1_apply(ri, x + (size_t) i * d, other, m->col + start,
							   m->value + start, n, m->col + start + n,
							   i + 1 < count ? m->row_start[row + 2] - (start + n) : 0,
							   d, alpha0, 1.0f, -1.0f);
		memcpy(p + (size_t) i * d, ri, sizeof(float) * d);
		rs[i] = vec_dot(ri, ri, d);
		active += rs[i] > 1e-20f;
	}
	for (int step = 0; step < config->cg_steps && active > 0; step++)
	{
		/* ap = A·p: the block's Gramian term in one product */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, d, d,
					alpha0, p, d, gram, d, 0.0f, ap, d);
		active = 0;
		for (int i = 0; i < count; i++)
		{
			size_t		row = first + i;
			size_t		start = m->row_start[row];
			size_t		end = m->row_start[row + 1];
			float	   *pi = p + (size_t) i * d;
			float	   *api = ap + (size_t) i * d;
			float	   *ri = r + (size_t) i * d;
			float		step_size;
			float		rs_next;
			float		pap;

			if (!(rs[i] > 1e-20f))
				continue;
			vec_axpy(api, lambda[i], pi, d);
			vec_sparse_rank1_apply(api, pi, other, m->col + start, m->value + start,
								   end - start, m->col + end,
								   i + 1 < count ? m->row_start[row + 2] - end : 0,
								   d, alpha0, 0.0f, 1.0f);
			pap = vec_dot(pi, api, d);
			if (!(pap > 0.0f))
				return IALS_ERR_NOT_POSITIVE_DEFINITE;
			step_size = rs[i] / pap;
			vec_axpy(x + (size_t) i * d, step_size, pi, d);
			vec_axpy(ri, -step_size, api, d);
			rs_next = vec_dot(ri, ri, d);
			vec_axpby(pi, 1.0f, ri, rs_next / rs[i], d);
			rs[i] = rs_next;
			active += rs_next > 1e-20f;
		}
	}
	return IALS_OK;
}

typedef struct SolveJob
{
	const IalsConfig *config;
	const CsrMatrix *m;
	const float *other;
	const float *gram;
	float	   *target;
	size_t		first_row;
	float	   *scratch;
	size_t		scratch_per_thread;
	double	   *row_loss;		/* per solved row, or NULL */
} SolveJob;

static int
solve_block(void *context, size_t begin, size_t end, int thread)
{
	SolveJob   *job = (SolveJob *) context;
	const int	d = job->config->dims;
	float	   *scratch = job->scratch + job->scratch_per_thread * (size_t) thread;

	if (job->config->solver == IALS_SOLVER_CG)
	{
		const size_t block = (size_t) cg_block_rows(d);

		for (size_t i = begin; i < end; i += block)
		{
			int			count = (int) (end - i < block ? end - i : block);
			size_t		first = job->first_row + i;
			int			rc = solve_cg_block(job->config, job->m, job->other, job->gram,
											first, count, job->target, scratch);

			if (rc != IALS_OK)
				return rc;
			if (job->row_loss != NULL)
				for (size_t row = first; row < first + count; row++)
					job->row_loss[row] = row_loss_terms(job->config, job->m, job->other, row,
														job->target + row * d);
		}
		return IALS_OK;
	}
	for (size_t i = begin; i < end; i++)
	{
		size_t		row = job->first_row + i;
		int			rc = solve_cholesky(job->config, job->m, job->other, job->gram,
										row, job->target + row * d, scratch);

		if (rc != IALS_OK)
			return rc;
		if (job->row_loss != NULL)
			job->row_loss[row] = row_loss_terms(job->config, job->m, job->other, row,
												job->target + row * d);
	}
	return IALS_OK;
}

int
ials_solve_rows(const IalsConfig *config, const CsrMatrix *m, const float *other,
				const float *gram, float *target, size_t begin, size_t end,
				float *scratch)
{
	return ials_solve_rows_with_loss(config, m, other, gram, target, begin, end, scratch, NULL);
}

int
ials_solve_rows_with_loss(const IalsConfig *config, const CsrMatrix *m, const float *other,
						  const float *gram, float *target, size_t begin, size_t end,
						  float *scratch, double *row_loss)
{
	size_t		done;

	return ials_solve_rows_polled(config, m, other, gram, target, begin, end, scratch, row_loss,
								  0.0, NULL, NULL, &done);
}

int
ials_solve_rows_polled(const IalsConfig *config, const CsrMatrix *m, const float *other,
					   const float *gram, float *target, size_t begin, size_t end,
					   float *scratch, double *row_loss, double max_block_flops,
					   int (*poll) (void *arg), void *poll_arg, size_t *done)
{
	SolveJob	job = {config, m, other, gram, target, begin, scratch,
	ials_scratch_floats(config), row_loss};

	size_t		rows = end - begin;
	size_t		threads = (size_t) (config->threads > 0 ? config->threads : 1);
	size_t		block;
	size_t		per_thread;
	size_t		grain;
	size_t		solved;
	int			rc;

	*done = begin;
	if (end <= begin)
		return IALS_OK;

	/*
	 * Blocks of up to cg_block_rows() rows (CG's Gramian products are one
	 * sgemm per block, and G is read once per block: at large dims a block
	 * of a few rows would make that product memory-bound), as many per
	 * thread as that takes, of equal size, so that the threads finish
	 * together; with many blocks per thread the dynamic claiming also
	 * evens out rows of uneven length.  With a bound on a block's flops
	 * (the interval between two polls), rows of the mean length count.
	 */
	block = (size_t) cg_block_rows(config->dims);
	if (max_block_flops > 0.0)
	{
		double		d = config->dims;
		double		nnz = (double) (m->row_start[end] - m->row_start[begin]) / (double) rows;
		double		row_flops = config->solver == IALS_SOLVER_CG
			? (config->cg_steps + 1) * (2.0 * d * d + 4.0 * nnz * d)
			: 2.0 * nnz * d * d + d * d * d / 3.0 + 2.0 * d * d;
		double		fit = max_block_flops / row_flops;

		if (fit < (double) block)
			block = fit < 1.0 ? 1 : (size_t) fit;
	}
	per_thread = (rows + threads * block - 1) / (threads * block);
	grain = (rows + threads * per_thread - 1) / (threads * per_thread);
	rc = parallel_for_polled(config->threads, rows, grain, solve_block, &job, poll, poll_arg,
							 &solved);
	*done = begin + solved;
	return rc;
}

typedef struct LossJob
{
	const IalsConfig *config;
	const CsrMatrix *by_user;
	const CsrMatrix *by_item;
	const float *users;
	const float *items;
	double	   *row_loss;
} LossJob;

/*
 * loss_block: per-user terms Σ_S [α(ŷ−1)² − α0·ŷ²] + λ_c‖φ‖², then
 * per-item λ_i‖ψ‖².  Items are numbered after the users in the job's index
 * space.  The all-pairs term is added by ials_loss.
 */
static int
loss_block(void *context, size_t begin, size_t end, int thread)
{
	LossJob    *job = (LossJob *) context;
	const int	d = job->config->dims;
	size_t		n_users = job->by_user->n_rows;

	for (size_t i = begin; i < end; i++)
	{
		double		loss;

		if (i < n_users)
			loss = row_loss_terms(job->config, job->by_user, job->items, i, job->users + i * d);
		else
		{
			size_t		item = i - n_users;
			const CsrMatrix *m = job->by_item;

			loss = ials_row_regularization(job->config, m->row_start[item + 1] - m->row_start[item],
										   n_users) * vec_norm_squared(job->items + item * d, d);
		}
		job->row_loss[i] = loss;
	}
	return 0;
}

double
ials_loss(const IalsConfig *config, const CsrMatrix *by_user,
		  const CsrMatrix *by_item, const float *users, const float *items,
		  const float *user_gram, const float *item_gram, double *row_loss)
{
	LossJob		job = {config, by_user, by_item, users, items, row_loss};
	size_t		n = by_user->n_rows + by_item->n_rows;
	size_t		dd = (size_t) config->dims * config->dims;
	double		total = 0.0;
	double		all_pairs = 0.0;

	parallel_for(config->threads, n, 256, loss_block, &job);
	for (size_t i = 0; i < n; i++)
		total += row_loss[i];
	/* Σ_c Σ_i ⟨φ_c,ψ_i⟩² = Σ_c φ_cᵀ G_I φ_c = ⟨G_C, G_I⟩_F: O(d²), the Gramian trick */
	for (size_t k = 0; k < dd; k++)
		all_pairs += (double) user_gram[k] * item_gram[k];
	return total + config->unobserved_weight * all_pairs;
}

double
ials_loss_from_item_rows(const IalsConfig *config, const CsrMatrix *by_user,
						 const float *users, const float *user_gram, const float *item_gram,
						 const double *item_row_loss, size_t n_items)
{
	size_t		dd = (size_t) config->dims * config->dims;
	double		total = 0.0;
	double		all_pairs = 0.0;

	for (size_t i = 0; i < n_items; i++)
		total += item_row_loss[i];
	for (size_t u = 0; u < by_user->n_rows; u++)
		total += ials_row_regularization(config, by_user->row_start[u + 1] - by_user->row_start[u],
										 n_items) *
			vec_norm_squared(users + u * config->dims, config->dims);
	for (size_t k = 0; k < dd; k++)
		all_pairs += (double) user_gram[k] * item_gram[k];
	return total + config->unobserved_weight * all_pairs;
}

/*
 * The rule's constants (ials.h): the unobserved pairs of a user weigh as
 * 135·√n̄ observed ones, and the mean row's regularization weight is 3·√n̄,
 * with λ at most 0.03.
 */
#define IALS_UNOBSERVED_MASS_PER_ROOT 135.0
#define IALS_REGULARIZATION_MASS_PER_ROOT 3.0
#define IALS_REGULARIZATION_MAX 0.03

double
ials_default_unobserved_weight(size_t n_items, double mean_user_interactions)
{
	double		mean = mean_user_interactions > 1.0 ? mean_user_interactions : 1.0;
	double		a0 = IALS_UNOBSERVED_MASS_PER_ROOT * sqrt(mean) / (double) (n_items > 0 ? n_items : 1);

	return a0 < 1.0 ? a0 : 1.0;
}

double
ials_default_regularization(double unobserved_weight, size_t n_items,
							double mean_user_interactions, double exponent)
{
	double		mean = mean_user_interactions > 1.0 ? mean_user_interactions : 1.0;
	double		mass = mean_user_interactions + unobserved_weight * (double) n_items;
	double		total;

	if (mass < 1.0)
		mass = 1.0;
	/* the mean row's regularization weight λ·mass^ν */
	total = IALS_REGULARIZATION_MASS_PER_ROOT * sqrt(mean);
	if (total > IALS_REGULARIZATION_MAX * mass)
		total = IALS_REGULARIZATION_MAX * mass;
	return total / pow(mass, exponent);
}
