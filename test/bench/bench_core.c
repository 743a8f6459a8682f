/*
 * bench_core.c
 *		Speed of the core against in-process baselines: the machine's sgemm
 *		peak (OpenBLAS, one and all threads), the evaluation kernel on a
 *		Gowalla-shaped problem, and iALS half-steps (CG vs Cholesky).
 *
 *		test/bench/run_core.sh builds and runs it.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/evaluate.h"
#include "core/ials.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "core/sgd.h"
#include "core/vecmath.h"
#include "core/sparse.h"
#include "core/synthetic.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
fill(float *x, size_t n, Rng *rng, double scale)
{
	for (size_t k = 0; k < n; k++)
		x[k] = (float) (rng_normal(rng) * scale);
}

typedef struct SgemmJob
{
	const float *a;
	const float *b;
	float	   *c;
	int			m;
	int			n;
	int			k;
} SgemmJob;

static int
sgemm_rows(void *context, size_t begin, size_t end, int thread)
{
	SgemmJob   *j = (SgemmJob *) context;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) (end - begin), j->n, j->k, 1.0f,
				j->a + begin * j->k, j->k, j->b, j->k, 0.0f, j->c + begin * j->n, j->n);
	return 0;
}

/*
 * Flops of one exact (Cholesky) half-step: Σ_rows [nnz·d² (syrk) + d³/3
 * (factorization) + 2d² (solves)], and of a CG half-step with s steps:
 * Σ_rows (s + 1)·(2d² + 4·nnz·d).
 */
static double
half_step_flops(const CsrMatrix *m, int d, IalsSolver solver, int steps)
{
	double		flops = 0;

	for (size_t r = 0; r < m->n_rows; r++)
	{
		double		nnz = (double) (m->row_start[r + 1] - m->row_start[r]);

		if (solver == IALS_SOLVER_CG)
			flops += (steps + 1) * (2.0 * d * d + 4.0 * nnz * d);
		else
			flops += nnz * d * d + (double) d * d * d / 3 + 2.0 * d * d;
	}
	return flops;
}

/* Gowalla-shaped generated positives (α = 2 each), by user and by item. */
static size_t
generate(size_t n_users, size_t n_items, size_t n_interactions, CsrMatrix *by_user, CsrMatrix *by_item)
{
	SyntheticConfig sc = {n_users, n_items, n_interactions, 16, 0.8, 0.5, 4.0, 11};
	void	   *work = malloc(synthetic_workspace_bytes(&sc));
	int32_t    *u = malloc(sizeof(int32_t) * n_interactions);
	int32_t    *i = malloc(sizeof(int32_t) * n_interactions);
	float	   *w = malloc(sizeof(float) * n_interactions);
	size_t		nnz = synthetic_generate(&sc, u, i, w, n_interactions, work);

	for (size_t k = 0; k < nnz; k++)
		w[k] = 2.0f;
	by_user->row_start = malloc(sizeof(size_t) * (n_users + 1));
	by_user->col = malloc(sizeof(int32_t) * nnz);
	by_user->value = malloc(sizeof(float) * nnz);
	by_item->row_start = malloc(sizeof(size_t) * (n_items + 1));
	by_item->col = malloc(sizeof(int32_t) * nnz);
	by_item->value = malloc(sizeof(float) * nnz);
	csr_build(n_users, n_items, nnz, u, i, w, by_user);
	csr_build(n_items, n_users, nnz, i, u, w, by_item);
	free(work);
	free(u);
	free(i);
	free(w);
	return nnz;
}

/* iALS epochs on generated data of a given shape, both solvers, d = 64 and 128: the median epoch. */
static void
bench_ials(const char *label, size_t n_users, size_t n_items, size_t n_interactions,
		   int threads, double peak, int epochs, int only_dims)
{
	CsrMatrix	by_user;
	CsrMatrix	by_item;
	static const int dims_list[] = {64, 128};

	size_t		nnz = generate(n_users, n_items, n_interactions, &by_user, &by_item);
	for (int di = 0; di < 2; di++)
		for (int solver = 0; solver < 2; solver++)
		{
			int			d = only_dims > 0 ? only_dims : dims_list[di];

			/* only_dims: CG at those dims, once */
			if (only_dims > 0 && (di > 0 || solver > 0))
				continue;
			IalsConfig	config = {d, 0.01, 1.0, 0.1, solver ? IALS_SOLVER_CHOLESKY : IALS_SOLVER_CG, 3, threads};
			/* on 64-byte lines, as the backend allocates them (train_common.c) */
			float	   *users = aligned_alloc(64, (sizeof(float) * n_users * d + 63) / 64 * 64);
			float	   *items = aligned_alloc(64, (sizeof(float) * n_items * d + 63) / 64 * 64);
			float	   *gram = malloc(sizeof(float) * d * d);
			float	   *partials = malloc(sizeof(float) * threads * d * d);
			float	   *scratch = malloc(sizeof(float) * threads * ials_scratch_floats(&config));
			Rng			rng;
			double		t0;
			double		seconds;
			double		flops = 0;

			rng_seed(&rng, 3, 0);
			fill(users, n_users * d, &rng, 0.1 / sqrt(d));
			fill(items, n_items * d, &rng, 0.1 / sqrt(d));
			/* the median epoch: this machine's neighbours come and go */
			{
				double		times[16];

				for (int e = 0; e < epochs && e < 16; e++)
				{
					t0 = now();
					ials_gramian(items, n_items, d, threads, gram, partials);
					ials_solve_rows(&config, &by_user, items, gram, users, 0, n_users, scratch);
					ials_gramian(users, n_users, d, threads, gram, partials);
					ials_solve_rows(&config, &by_item, users, gram, items, 0, n_items, scratch);
					times[e] = now() - t0;
					for (int k = e; k > 0 && times[k] < times[k - 1]; k--)
					{
						double		swap = times[k];

						times[k] = times[k - 1];
						times[k - 1] = swap;
					}
				}
				seconds = times[(epochs < 16 ? epochs : 16) / 2];
			}
			flops = half_step_flops(&by_user, d, config.solver, 3) + half_step_flops(&by_item, d, config.solver, 3) +
				2.0 * (n_users + n_items) * d * d;
			printf("iALS %s, nnz %zu, d=%d, %-8s: %.3f s/epoch, %.1f GFLOP/s (%.0f%% of sgemm peak)\n",
				   label, nnz, d, solver ? "cholesky" : "cg", seconds, flops / seconds / 1e9,
				   100.0 * flops / seconds / 1e9 / peak);
			free(users);
			free(items);
			free(gram);
			free(partials);
			free(scratch);
		}
	free(by_user.row_start);
	free(by_user.col);
	free(by_user.value);
	free(by_item.row_start);
	free(by_item.col);
	free(by_item.value);
}

/* OpenBLAS's own square sgemm (2048) on `threads` threads: the best of five, GFLOP/s. */
static double
square_sgemm_peak(int threads)
{
	int			n = 2048;
	float	   *a = malloc(sizeof(float) * n * n);
	float	   *b = malloc(sizeof(float) * n * n);
	float	   *out = malloc(sizeof(float) * n * n);
	double		best = 0.0;
	Rng			rng;

	rng_seed(&rng, 1, 0);
	fill(a, (size_t) n * n, &rng, 0.1);
	fill(b, (size_t) n * n, &rng, 0.1);
	openblas_set_num_threads(threads);
	for (int rep = 0; rep < 5; rep++)
	{
		double		t0 = now();
		double		seconds;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, out, n);
		seconds = now() - t0;
		if (2.0 * n * n * n / seconds / 1e9 > best)
			best = 2.0 * n * n * n / seconds / 1e9;
	}
	openblas_set_num_threads(1);
	free(a);
	free(b);
	free(out);
	return best;
}

/*
 * Sampled softmax epochs (the shipped defaults: uniform sampler, batches of
 * 256 sharing m = 1,024 negatives, d = 64 or the dims given after --softmax)
 * on the Gowalla-shaped problem:
 * positives per second and GFLOP/s on 6·m·d flops per positive (three
 * sgemms per batch), against the square sgemm peak of the same process.
 */
static void
bench_softmax(int threads, double peak, int dims)
{
	CsrMatrix	by_user;
	CsrMatrix	by_item;
	size_t		nnz = generate(29858, 40981, 810128, &by_user, &by_item);
	SgdData		data = {&by_user, &by_item};
	SgdConfig	config = {SGD_SOFTMAX, SAMPLER_UNIFORM, dims, 1024, 0.0, 1, 0.2, 0.002, 0.1, 256, threads, 42,
						  0.0, 0, 0.0};
	void	   *scratch = malloc(sgd_scratch_bytes(&config, &data));
	SgdState   *state = sgd_begin(&config, &data, scratch);
	SgdModel	model = {by_user.n_rows, by_user.n_cols};
	int			d = config.dims;
	double		times[5];
	Rng			rng;

	model.users = malloc(sizeof(float) * model.n_users * d);
	model.items = malloc(sizeof(float) * model.n_items * d);
	model.user_acc = calloc(model.n_users, sizeof(float));
	model.item_acc = calloc(model.n_items, sizeof(float));
	rng_seed(&rng, 3, 0);
	fill(model.users, model.n_users * d, &rng, 0.1);
	fill(model.items, model.n_items * d, &rng, 0.1);
	for (int e = 0; e < 5; e++)
	{
		double		t0 = now();
		size_t		batches = sgd_epoch_begin(state, &model, e);

		sgd_run_batches(state, &model, 0, batches);
		times[e] = now() - t0;
		for (int k = e; k > 0 && times[k] < times[k - 1]; k--)
		{
			double		swap = times[k];

			times[k] = times[k - 1];
			times[k - 1] = swap;
		}
	}
	{
		double		per_s = nnz / times[2];
		double		gflops = per_s * 6.0 * config.negatives * d / 1e9;

		printf("sampled softmax, nnz %zu, m=%d, d=%d, batch %d: %.3f s/epoch (median of 5), %.0f positives/s, "
			   "%.1f GFLOP/s, %.0f%% of the square sgemm peak (%.1f GFLOP/s on %d threads)\n",
			   nnz, config.negatives, d, config.batch_size, times[2], per_s, gflops, 100.0 * gflops / peak,
			   peak, threads);
	}
	free(scratch);
	free(model.users);
	free(model.items);
	free(model.user_acc);
	free(model.item_acc);
}

int
main(int argc, char **argv)
{
	int			threads = parallel_cpu_count();
	size_t		n_users = 29858;
	size_t		n_items = 40981;
	int			d = 64;
	Rng			rng;
	float	   *users;
	float	   *items;
	float	   *c;
	double		t0;
	double		peak1;
	double		peak_all;

	/* --peak: OpenBLAS's own square sgemm on every thread, and nothing else */
	if (argc > 1 && strcmp(argv[1], "--peak") == 0)
	{
		printf("%.1f\n", square_sgemm_peak(threads));
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--softmax") == 0)
	{
		bench_softmax(threads, square_sgemm_peak(threads), argc > 2 ? atoi(argv[2]) : 64);
		return 0;
	}
	/*
	 * --cg D [threads [simd]]: iALS with CG at dims D on the Gowalla shape,
	 * and nothing else; simd 0 portable, 1 AVX2, 2 AVX-512 (irec's kernels
	 * only: OpenBLAS picks its own)
	 */
	if (argc > 2 && strcmp(argv[1], "--cg") == 0)
	{
		int			cg_threads = argc > 3 ? atoi(argv[3]) : threads;

		if (argc > 4 && !vec_simd_use((VecSimdLevel) atoi(argv[4])))
		{
			fprintf(stderr, "this CPU does not run SIMD level %s\n", argv[4]);
			return 1;
		}
		printf("irec kernels: %s\n", vec_simd_name(vec_simd_level()));

		openblas_set_num_threads(1);
		bench_ials("Gowalla-shaped 29858x40981", 29858, 40981, 810128, cg_threads,
				   square_sgemm_peak(cg_threads), 7, atoi(argv[2]));
		return 0;
	}
	openblas_set_num_threads(1);
	rng_seed(&rng, 1, 0);
	users = malloc(sizeof(float) * n_users * d);
	items = malloc(sizeof(float) * n_items * d);
	fill(users, n_users * d, &rng, 0.1);
	fill(items, n_items * d, &rng, 0.1);

	/* sgemm peak for the evaluation's shape: 32 users × all items × d */
	{
		SgemmJob	job = {users, items, NULL, 0, (int) n_items, d};
		size_t		rows = 2048;
		double		flops = 2.0 * rows * n_items * d;

		c = malloc(sizeof(float) * rows * n_items);
		job.c = c;
		sgemm_rows(&job, 0, rows, 0);
		t0 = now();
		for (int rep = 0; rep < 3; rep++)
			sgemm_rows(&job, 0, rows, 0);
		peak1 = 3 * flops / (now() - t0) / 1e9;
		t0 = now();
		for (int rep = 0; rep < 3; rep++)
			parallel_for(threads, rows, 32, sgemm_rows, &job);
		peak_all = 3 * flops / (now() - t0) / 1e9;
		printf("sgemm (%zu x %zu x %d): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads\n",
			   rows, n_items, d, peak1, peak_all, threads);
		free(c);
	}

	/* evaluation: every user against every item, 7 held-out and 27 seen items each */
	{
		size_t		per_rel = 7;
		size_t		per_seen = 27;
		size_t	   *rs = malloc(sizeof(size_t) * (n_users + 1));
		size_t	   *ss = malloc(sizeof(size_t) * (n_users + 1));
		int32_t    *rel = malloc(sizeof(int32_t) * n_users * per_rel);
		int32_t    *seen = malloc(sizeof(int32_t) * n_users * per_seen);
		double	   *out = malloc(sizeof(double) * n_users * EVAL_N_METRICS);
		EvalProblem p;
		void	   *scratch;
		double		seconds;
		double		flops = 2.0 * n_users * n_items * d;

		for (size_t u = 0; u < n_users; u++)
		{
			rs[u] = u * per_rel;
			ss[u] = u * per_seen;
			for (size_t k = 0; k < per_rel; k++)
				rel[u * per_rel + k] = (int32_t) ((u * 7919 + k * 104729) % (n_items / 2));
			for (size_t k = 0; k < per_seen; k++)
				seen[u * per_seen + k] = (int32_t) (n_items / 2 + (u * 31 + k * 7907) % (n_items / 2));
		}
		rs[n_users] = n_users * per_rel;
		ss[n_users] = n_users * per_seen;
		p.dims = d;
		p.k = 20;
		p.threads = threads;
		p.n_items = n_items;
		p.items = items;
		p.n_users = n_users;
		p.users = users;
		p.relevant_start = rs;
		p.relevant = rel;
		p.seen_start = ss;
		p.seen = seen;
		p.max_relevant = per_rel;
		scratch = malloc(evaluate_scratch_bytes(&p) * threads);
		t0 = now();
		evaluate_users(&p, 0, n_users, out, scratch);
		seconds = now() - t0;
		printf("evaluate %zu users x %zu items, d=%d: %.2f s (%.1f GFLOP/s, %.0f%% of the sgemm peak on %d threads)\n",
			   n_users, n_items, d, seconds, flops / seconds / 1e9,
			   100.0 * flops / seconds / 1e9 / peak_all, threads);
		free(scratch);
	}
	free(users);
	free(items);

	bench_ials("Gowalla-shaped 29858x40981", 29858, 40981, 810128, threads, peak_all, 7, 0);
	if (argc > 1 && strcmp(argv[1], "--large") == 0)
		bench_ials("1M x 200k", 1000000, 200000, 50000000, threads, peak_all, 1, 0);
	return 0;
}
