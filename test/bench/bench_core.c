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
#include "core/sparse.h"

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
	return 0;
}
