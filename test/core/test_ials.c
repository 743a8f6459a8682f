/*
 * test_ials.c
 *		iALS against a slow dense reference: the per-row solve against the
 *		closed-form normal equations over every (user, item) pair, the loss
 *		against a brute-force sum, monotone descent, thread independence.
 */
#include <stdlib.h>
#include <string.h>

#include "core/ials.h"
#include "core/parallel.h"
#include "core/sparse.h"
#include "unit.h"

#define N_USERS 6
#define N_ITEMS 9
#define DIMS 4

typedef struct Problem
{
	CsrMatrix	by_user;
	CsrMatrix	by_item;
	float		dense_alpha[N_USERS][N_ITEMS];	/* 0 where unobserved */
	float		users[N_USERS * DIMS];
	float		items[N_ITEMS * DIMS];
} Problem;

static void
make_problem(Problem *p, unsigned long long seed)
{
	int32_t		rows[N_USERS * N_ITEMS];
	int32_t		cols[N_USERS * N_ITEMS];
	float		values[N_USERS * N_ITEMS];
	size_t		nnz = 0;
	unsigned long long state = seed;

	memset(p->dense_alpha, 0, sizeof(p->dense_alpha));
	for (int u = 0; u < N_USERS; u++)
		for (int i = 0; i < N_ITEMS; i++)
			if (unit_rand_uniform(&state) < 0.4 || i == u)
			{
				rows[nnz] = u;
				cols[nnz] = i;
				values[nnz] = (float) (1.0 + 3.0 * unit_rand_uniform(&state));
				p->dense_alpha[u][i] = values[nnz];
				nnz++;
			}
	CHECK(unit_csr(N_USERS, N_ITEMS, nnz, rows, cols, values, &p->by_user) == 0);
	CHECK(unit_csr(N_ITEMS, N_USERS, nnz, cols, rows, values, &p->by_item) == 0);
	for (int k = 0; k < N_USERS * DIMS; k++)
		p->users[k] = (float) (unit_rand_uniform(&state) - 0.5);
	for (int k = 0; k < N_ITEMS * DIMS; k++)
		p->items[k] = (float) (unit_rand_uniform(&state) - 0.5);
}

static void
free_problem(Problem *p)
{
	unit_csr_free(&p->by_user);
	unit_csr_free(&p->by_item);
}

/*
 * The user's optimum from the definition of the loss: every item enters
 * with its own weight (α if observed, α0 if not), no Gramian trick.
 */
static void
reference_user(const Problem *p, const IalsConfig *config, int u, double x[DIMS])
{
	double		a[DIMS][DIMS] = {{0}};
	double		b[DIMS] = {0};
	int			count = 0;
	double		lambda;

	for (int i = 0; i < N_ITEMS; i++)
	{
		const float *y = p->items + i * DIMS;
		double		w = p->dense_alpha[u][i] > 0 ? p->dense_alpha[u][i] : config->unobserved_weight;

		for (int r = 0; r < DIMS; r++)
			for (int c = 0; c < DIMS; c++)
				a[r][c] += w * y[r] * y[c];
		if (p->dense_alpha[u][i] > 0)
		{
			count++;
			for (int r = 0; r < DIMS; r++)
				b[r] += p->dense_alpha[u][i] * y[r];
		}
	}
	lambda = config->regularization *
		pow(count + config->unobserved_weight * N_ITEMS, config->regularization_exponent);
	for (int r = 0; r < DIMS; r++)
		a[r][r] += lambda;
	unit_dense_solve(DIMS, &a[0][0], b, x);
}

static double
reference_loss(const Problem *p, const IalsConfig *config)
{
	double		loss = 0.0;

	for (int u = 0; u < N_USERS; u++)
	{
		int			count = 0;
		double		norm = 0;

		for (int i = 0; i < N_ITEMS; i++)
		{
			double		score = 0;

			for (int k = 0; k < DIMS; k++)
				score += (double) p->users[u * DIMS + k] * p->items[i * DIMS + k];
			if (p->dense_alpha[u][i] > 0)
			{
				loss += p->dense_alpha[u][i] * (score - 1) * (score - 1);
				count++;
			}
			else
				loss += config->unobserved_weight * score * score;
		}
		for (int k = 0; k < DIMS; k++)
			norm += (double) p->users[u * DIMS + k] * p->users[u * DIMS + k];
		loss += config->regularization *
			pow(count + config->unobserved_weight * N_ITEMS, config->regularization_exponent) * norm;
	}
	for (int i = 0; i < N_ITEMS; i++)
	{
		int			count = 0;
		double		norm = 0;

		for (int u = 0; u < N_USERS; u++)
			count += p->dense_alpha[u][i] > 0;
		for (int k = 0; k < DIMS; k++)
			norm += (double) p->items[i * DIMS + k] * p->items[i * DIMS + k];
		loss += config->regularization *
			pow(count + config->unobserved_weight * N_USERS, config->regularization_exponent) * norm;
	}
	return loss;
}

static IalsConfig
make_config(IalsSolver solver, int cg_steps, int threads)
{
	IalsConfig	config = {DIMS, 0.05, 0.5, 0.3, solver, cg_steps, threads};

	return config;
}

static void
test_gramian(void)
{
	Problem		p;
	float		gram[DIMS * DIMS];
	float		partials[3 * DIMS * DIMS];

	make_problem(&p, 1);
	for (int threads = 1; threads <= 3; threads++)
	{
		ials_gramian(p.items, N_ITEMS, DIMS, threads, gram, partials);
		for (int r = 0; r < DIMS; r++)
			for (int c = 0; c < DIMS; c++)
			{
				double		s = 0;

				for (int i = 0; i < N_ITEMS; i++)
					s += (double) p.items[i * DIMS + r] * p.items[i * DIMS + c];
				CHECK_NEAR(gram[r * DIMS + c], s, 1e-5);
			}
	}
	free_problem(&p);
}

static void
count_call(void *arg)
{
	(*(int *) arg)++;
}

/* In blocks (the glue's interrupt checks between them), the same Gramian. */
static void
test_gramian_in_blocks(void)
{
	Problem		p;
	float		whole[DIMS * DIMS];
	float		blocked[DIMS * DIMS];
	float		partials[2 * DIMS * DIMS];

	make_problem(&p, 1);
	ials_gramian(p.items, N_ITEMS, DIMS, 2, whole, partials);
	for (size_t block = 1; block <= N_ITEMS + 1; block += 6)
	{
		int			calls = 0;

		ials_gramian_blocked(p.items, N_ITEMS, DIMS, 2, blocked, partials, block, count_call, &calls);
		CHECK(calls == (int) ((N_ITEMS + block - 1) / block) - 1);
		for (int k = 0; k < DIMS * DIMS; k++)
			CHECK_NEAR(blocked[k], whole[k], 1e-5 * (1 + fabs(whole[k])));
		for (int r = 0; r < DIMS; r++)
			for (int c = 0; c < r; c++)
				CHECK(blocked[r * DIMS + c] == blocked[c * DIMS + r]);
	}
	ials_gramian_blocked(p.items, N_ITEMS, DIMS, 2, blocked, partials, N_ITEMS, NULL, NULL);
	CHECK(memcmp(blocked, whole, sizeof(whole)) == 0);
	free_problem(&p);
}

static void
test_csr_build(void)
{
	int32_t		rows[] = {2, 0, 2, 1, 0};
	int32_t		cols[] = {1, 3, 0, 2, 0};
	float		values[] = {1, 2, 3, 4, 5};
	size_t		row_start[4];
	int32_t		col[5];
	float		value[5];
	CsrMatrix	m = {0, 0, 0, row_start, col, value};
	int32_t		bad_rows[] = {3};

	CHECK(csr_build(3, 4, 5, rows, cols, values, &m) == 0);
	CHECK(row_start[0] == 0 && row_start[1] == 2 && row_start[2] == 3 && row_start[3] == 5);
	CHECK(col[0] == 3 && value[0] == 2 && col[1] == 0 && value[1] == 5);
	CHECK(col[2] == 2 && value[2] == 4);
	CHECK(col[3] == 1 && value[3] == 1 && col[4] == 0 && value[4] == 3);
	CHECK(csr_max_row_nnz(&m) == 2);
	CHECK(csr_build(3, 4, 1, bad_rows, cols, values, &m) == -1);
}

static void
check_user_step(IalsSolver solver, int cg_steps, double tolerance)
{
	Problem		p;
	IalsConfig	config = make_config(solver, cg_steps, 2);
	float		gram[DIMS * DIMS];
	float		partials[3 * DIMS * DIMS];
	float	   *scratch = malloc(sizeof(float) * 2 * ials_scratch_floats(&config));

	make_problem(&p, 7);
	ials_gramian(p.items, N_ITEMS, DIMS, 2, gram, partials);
	CHECK(ials_solve_rows(&config, &p.by_user, p.items, gram, p.users, 0, N_USERS, scratch) == IALS_OK);
	for (int u = 0; u < N_USERS; u++)
	{
		double		x[DIMS];

		reference_user(&p, &config, u, x);
		for (int k = 0; k < DIMS; k++)
			CHECK_NEAR(p.users[u * DIMS + k], x[k], tolerance);
	}
	free(scratch);
	free_problem(&p);
}

static void
test_cholesky_matches_dense_solve(void)
{
	check_user_step(IALS_SOLVER_CHOLESKY, 0, 1e-4);
}

static void
test_cg_converges_to_dense_solve(void)
{
	/* CG solves a d×d system exactly in d steps, up to rounding */
	check_user_step(IALS_SOLVER_CG, 2 * DIMS, 1e-3);
}

/*
 * At large dims CG solves taller blocks (cg_block_rows): 160 rows at dims
 * 1024 are one block on one thread and two of 80 on two.  Each row must
 * take the same three CG steps as a plain per-row CG in double from the
 * same start, with A = α0·G + Σ(α−α0)·h·hᵀ + λ·I formed densely.
 */
#define BIG_DIMS 1024
#define BIG_ROWS 160
#define BIG_COLS 40

/*
 * The largest difference between two solves of the same rows, relative to
 * their largest component.  Rows split into other blocks (another thread
 * count, a poll between blocks) go through CG's sgemm in products of
 * another height, and a BLAS may round a row differently by the height:
 * OpenBLAS's kernels on AMD Zen 1 do, by an ulp or two (3e-7 of the
 * largest component here), its AVX-512 kernels did not.  A row skipped or
 * solved twice would differ by a thousandth or more.
 */
#define SAME_SOLVE_TOLERANCE 1e-5

static double
relative_difference(const float *a, const float *b, size_t n)
{
	double		worst = 0;
	double		largest = 0;

	for (size_t k = 0; k < n; k++)
	{
		double		e = fabs((double) a[k] - b[k]);

		worst = e > worst ? e : worst;
		largest = fabs(a[k]) > largest ? fabs(a[k]) : largest;
	}
	return largest > 0 ? worst / largest : worst;
}

/* out = A·v for a row, densely from A's definition, in double */
static void
reference_apply(const IalsConfig *config, const CsrMatrix *m, const float *other,
				const float *gram, size_t row, double lambda, const double *v, double *out)
{
	const int	d = config->dims;
	const double alpha0 = config->unobserved_weight;

	for (int i = 0; i < d; i++)
	{
		double		s = lambda * v[i];

		for (int k = 0; k < d; k++)
			s += alpha0 * gram[(size_t) i * d + k] * v[k];
		out[i] = s;
	}
	for (size_t e = m->row_start[row]; e < m->row_start[row + 1]; e++)
	{
		const float *h = other + (size_t) m->col[e] * d;
		double		hv = 0;

		for (int k = 0; k < d; k++)
			hv += h[k] * v[k];
		for (int k = 0; k < d; k++)
			out[k] += (m->value[e] - alpha0) * hv * h[k];
	}
}

static void
reference_cg_row(const IalsConfig *config, const CsrMatrix *m, const float *other,
				 const float *gram, size_t row, const float *start, double *x)
{
	const int	d = config->dims;
	size_t		begin = m->row_start[row];
	size_t		n = m->row_start[row + 1] - begin;
	double		lambda = ials_row_regularization(config, n, m->n_cols);
	double	   *r = malloc(sizeof(double) * d);
	double	   *p = malloc(sizeof(double) * d);
	double	   *ap = malloc(sizeof(double) * d);
	double		rs = 0;

	for (int k = 0; k < d; k++)
		x[k] = start[k];
	reference_apply(config, m, other, gram, row, lambda, x, ap);
	for (int k = 0; k < d; k++)
		r[k] = -ap[k];
	for (size_t e = begin; e < begin + n; e++)
		for (int k = 0; k < d; k++)
			r[k] += m->value[e] * other[(size_t) m->col[e] * d + k];
	for (int k = 0; k < d; k++)
	{
		p[k] = r[k];
		rs += r[k] * r[k];
	}
	for (int step = 0; step < config->cg_steps && rs > 1e-20; step++)
	{
		double		pap = 0;
		double		rs_next = 0;

		reference_apply(config, m, other, gram, row, lambda, p, ap);
		for (int k = 0; k < d; k++)
			pap += p[k] * ap[k];
		for (int k = 0; k < d; k++)
		{
			x[k] += rs / pap * p[k];
			r[k] -= rs / pap * ap[k];
			rs_next += r[k] * r[k];
		}
		for (int k = 0; k < d; k++)
			p[k] = r[k] + rs_next / rs * p[k];
		rs = rs_next;
	}
	free(r);
	free(p);
	free(ap);
}

static int
always_stop(void *unused)
{
	return 1;
}

static void
test_cg_blocks_at_large_dims(void)
{
	IalsConfig	config = {BIG_DIMS, 0.05, 0.5, 0.3, IALS_SOLVER_CG, 3, 2};
	IalsConfig	one_thread = config;
	int32_t    *rows = malloc(sizeof(int32_t) * BIG_ROWS * BIG_COLS);
	int32_t    *cols = malloc(sizeof(int32_t) * BIG_ROWS * BIG_COLS);
	float	   *values = malloc(sizeof(float) * BIG_ROWS * BIG_COLS);
	float	   *other = malloc(sizeof(float) * BIG_COLS * BIG_DIMS);
	float	   *start = malloc(sizeof(float) * BIG_ROWS * BIG_DIMS);
	float	   *solved = malloc(sizeof(float) * BIG_ROWS * BIG_DIMS);
	float	   *solved_one = malloc(sizeof(float) * BIG_ROWS * BIG_DIMS);
	float	   *gram = malloc(sizeof(float) * BIG_DIMS * BIG_DIMS);
	float	   *partials = malloc(sizeof(float) * 3 * BIG_DIMS * BIG_DIMS);
	float	   *scratch = malloc(sizeof(float) * 2 * ials_scratch_floats(&config));
	double	   *x = malloc(sizeof(double) * BIG_DIMS);
	CsrMatrix	m;
	size_t		nnz = 0;
	unsigned long long state = 23;
	double		worst = 0;

	one_thread.threads = 1;
	for (int u = 0; u < BIG_ROWS; u++)
		for (int i = 0; i < BIG_COLS; i++)
			if (unit_rand_uniform(&state) < 0.25 || i == u % BIG_COLS)
			{
				rows[nnz] = u;
				cols[nnz] = i;
				values[nnz] = (float) (1.0 + 3.0 * unit_rand_uniform(&state));
				nnz++;
			}
	CHECK(unit_csr(BIG_ROWS, BIG_COLS, nnz, rows, cols, values, &m) == 0);
	for (size_t k = 0; k < (size_t) BIG_COLS * BIG_DIMS; k++)
		other[k] = (float) ((unit_rand_uniform(&state) - 0.5) * 0.1);
	for (size_t k = 0; k < (size_t) BIG_ROWS * BIG_DIMS; k++)
		start[k] = (float) ((unit_rand_uniform(&state) - 0.5) * 0.1);
	ials_gramian(other, BIG_COLS, BIG_DIMS, 2, gram, partials);
	memcpy(solved, start, sizeof(float) * BIG_ROWS * BIG_DIMS);
	memcpy(solved_one, start, sizeof(float) * BIG_ROWS * BIG_DIMS);
	CHECK(ials_solve_rows(&config, &m, other, gram, solved, 0, BIG_ROWS, scratch) == IALS_OK);
	CHECK(ials_solve_rows(&one_thread, &m, other, gram, solved_one, 0, BIG_ROWS, scratch) == IALS_OK);
	CHECK(relative_difference(solved, solved_one, (size_t) BIG_ROWS * BIG_DIMS) < SAME_SOLVE_TOLERANCE);
	/* stopped after every block of the calling thread and resumed: the same rows */
	{
		size_t		done = 0;
		int			calls = 0;

		memcpy(solved_one, start, sizeof(float) * BIG_ROWS * BIG_DIMS);
		while (done < BIG_ROWS)
		{
			size_t		from = done;

			CHECK(ials_solve_rows_polled(&config, &m, other, gram, solved_one, done, BIG_ROWS, scratch,
										 NULL, 1.0, always_stop, NULL, &done) == IALS_OK);
			CHECK(done > from);
			calls++;
		}
		CHECK(done == BIG_ROWS);
		CHECK(calls > 1);
		CHECK(relative_difference(solved, solved_one, (size_t) BIG_ROWS * BIG_DIMS) < SAME_SOLVE_TOLERANCE);
	}
	for (size_t row = 0; row < BIG_ROWS; row++)
	{
		reference_cg_row(&config, &m, other, gram, row, start + row * BIG_DIMS, x);
		for (int k = 0; k < BIG_DIMS; k++)
		{
			double		error = fabs(solved[row * BIG_DIMS + k] - x[k]) / (1e-3 + fabs(x[k]));

			worst = error > worst ? error : worst;
		}
	}
	printf("    CG at dims %d, %d rows: worst relative difference to per-row CG in double %.2e\n",
		   BIG_DIMS, BIG_ROWS, worst);
	CHECK(worst < 1e-3);
	free(rows);
	free(cols);
	free(values);
	free(other);
	free(start);
	free(solved);
	free(solved_one);
	free(gram);
	free(partials);
	free(scratch);
	free(x);
	unit_csr_free(&m);
}

/*
 * Initial embeddings: standard normal times std, component by component
 * (mean, variance, the share within one and two σ, no correlation between
 * the cosine and sine halves of a draw), odd dims included, and each row
 * the same whatever chunk of rows it was drawn in.
 */
static void
test_init_rows_are_normal(void)
{
	const size_t rows = 20000;
	const int	dims = 9;
	const double std = 0.3;
	float	   *x = malloc(sizeof(float) * rows * dims);
	float	   *part = malloc(sizeof(float) * 100 * dims);
	double		sum = 0, squares = 0, pairs = 0;
	size_t		within1 = 0, within2 = 0, n = rows * dims;

	ials_init_rows(x, 0, rows, dims, std, 42, 1);
	for (size_t i = 0; i < n; i++)
	{
		double		z = x[i] / std;

		sum += z;
		squares += z * z;
		within1 += fabs(z) < 1.0;
		within2 += fabs(z) < 2.0;
	}
	for (size_t r = 0; r < rows; r++)
		for (int k = 0; k + 1 < dims; k += 2)
			pairs += (double) x[r * dims + k] * x[r * dims + k + 1] / (std * std);
	/* n = 180,000 draws: the standard errors are about 0.0024 (mean), 0.0033 (variance) */
	CHECK(fabs(sum / n) < 0.015);
	CHECK(fabs(squares / n - 1.0) < 0.02);
	CHECK(fabs((double) within1 / n - 0.6827) < 0.006);
	CHECK(fabs((double) within2 / n - 0.9545) < 0.004);
	CHECK(fabs(pairs / (rows * (dims / 2))) < 0.015);
	/* the last (odd) component is a draw of its own, also normal */
	{
		double		last = 0;

		for (size_t r = 0; r < rows; r++)
			last += (double) x[r * dims + dims - 1] * x[r * dims + dims - 1] / (std * std);
		CHECK(fabs(last / rows - 1.0) < 0.05);
	}
	ials_init_rows(part, 1234, 100, dims, std, 42, 1);
	CHECK(memcmp(part, x + 1234 * dims, sizeof(float) * 100 * dims) == 0);
	ials_init_rows(part, 1234, 100, dims, std, 42, 2);
	CHECK(memcmp(part, x + 1234 * dims, sizeof(float) * 100 * dims) != 0);
	free(x);
	free(part);
}

static void
test_loss_matches_brute_force(void)
{
	Problem		p;
	IalsConfig	config = make_config(IALS_SOLVER_CHOLESKY, 0, 2);
	float		gram[DIMS * DIMS];
	float		user_gram[DIMS * DIMS];
	float		partials[3 * DIMS * DIMS];
	double		row_loss[N_USERS + N_ITEMS];

	make_problem(&p, 11);
	ials_gramian(p.items, N_ITEMS, DIMS, 2, gram, partials);
	ials_gramian(p.users, N_USERS, DIMS, 2, user_gram, partials);
	CHECK_NEAR(ials_loss(&config, &p.by_user, &p.by_item, p.users, p.items, user_gram, gram, row_loss),
			   reference_loss(&p, &config), 1e-4 * reference_loss(&p, &config));
	free_problem(&p);
}

/* Alternating exact minimization never increases the loss. */
static void
test_loss_decreases(void)
{
	Problem		p;
	IalsConfig	config = make_config(IALS_SOLVER_CHOLESKY, 0, 2);
	float		gram[DIMS * DIMS];
	float		user_gram[DIMS * DIMS];
	float		partials[3 * DIMS * DIMS];
	double		row_loss[N_USERS + N_ITEMS];
	float	   *scratch = malloc(sizeof(float) * 2 * ials_scratch_floats(&config));
	double		previous;

	make_problem(&p, 3);
	ials_gramian(p.items, N_ITEMS, DIMS, 2, gram, partials);
	ials_gramian(p.users, N_USERS, DIMS, 2, user_gram, partials);
	previous = ials_loss(&config, &p.by_user, &p.by_item, p.users, p.items, user_gram, gram, row_loss);
	for (int epoch = 0; epoch < 10; epoch++)
	{
		double		loss;

		ials_gramian(p.items, N_ITEMS, DIMS, 2, gram, partials);
		CHECK(ials_solve_rows(&config, &p.by_user, p.items, gram, p.users, 0, N_USERS, scratch) == 0);
		ials_gramian(p.users, N_USERS, DIMS, 2, user_gram, partials);
		CHECK(ials_solve_rows(&config, &p.by_item, p.users, user_gram, p.items, 0, N_ITEMS, scratch) == 0);
		ials_gramian(p.items, N_ITEMS, DIMS, 2, gram, partials);
		loss = ials_loss(&config, &p.by_user, &p.by_item, p.users, p.items, user_gram, gram, row_loss);
		CHECK(loss <= previous * (1 + 1e-6));
		previous = loss;
	}
	free(scratch);
	free_problem(&p);
}

/*
 * The loss the item half-step leaves (its rows' shares, the users'
 * regularization, the all-pairs term) equals ials_loss after that step,
 * for both solvers, and the step's embeddings equal a plain solve's.
 */
static void
test_loss_from_item_rows(void)
{
	for (int solver = 0; solver < 2; solver++)
	{
		Problem		p;
		Problem		q;
		IalsConfig	config = solver == 0 ? make_config(IALS_SOLVER_CHOLESKY, 0, 2)
			: make_config(IALS_SOLVER_CG, 3, 2);
		float		gram[DIMS * DIMS];
		float		user_gram[DIMS * DIMS];
		float		partials[3 * DIMS * DIMS];
		double		row_loss[N_USERS + N_ITEMS];
		double		item_loss[N_ITEMS];
		float	   *scratch = malloc(sizeof(float) * 2 * ials_scratch_floats(&config));

		make_problem(&p, 5);
		make_problem(&q, 5);
		for (int epoch = 0; epoch < 3; epoch++)
		{
			double		fused;
			double		reference;

			ials_gramian(p.items, N_ITEMS, DIMS, 2, gram, partials);
			CHECK(ials_solve_rows(&config, &p.by_user, p.items, gram, p.users, 0, N_USERS, scratch) == 0);
			CHECK(ials_solve_rows(&config, &q.by_user, q.items, gram, q.users, 0, N_USERS, scratch) == 0);
			ials_gramian(p.users, N_USERS, DIMS, 2, user_gram, partials);
			for (int i = 0; i < N_ITEMS; i++)
				item_loss[i] = NAN;
			CHECK(ials_solve_rows_with_loss(&config, &p.by_item, p.users, user_gram, p.items, 0, N_ITEMS,
											scratch, item_loss) == 0);
			CHECK(ials_solve_rows(&config, &q.by_item, q.users, user_gram, q.items, 0, N_ITEMS, scratch) == 0);
			CHECK(memcmp(p.items, q.items, sizeof(float) * N_ITEMS * DIMS) == 0);
			ials_gramian(p.items, N_ITEMS, DIMS, 2, gram, partials);
			fused = ials_loss_from_item_rows(&config, &p.by_user, p.users, user_gram, gram, item_loss, N_ITEMS);
			reference = ials_loss(&config, &p.by_user, &p.by_item, p.users, p.items, user_gram, gram, row_loss);
			CHECK(isfinite(fused));
			CHECK(fabs(fused - reference) <= 1e-5 * fabs(reference));
		}
		free(scratch);
		free_problem(&p);
		free_problem(&q);
	}
}

/* Same input, 1 or 2 threads: bitwise the same embeddings. */
static void
test_thread_count_does_not_change_result(void)
{
	Problem		a;
	Problem		b;
	IalsConfig	one = make_config(IALS_SOLVER_CG, 3, 1);
	IalsConfig	two = make_config(IALS_SOLVER_CG, 3, 2);
	float		gram[DIMS * DIMS];
	float		partials[3 * DIMS * DIMS];
	float	   *scratch = malloc(sizeof(float) * 2 * ials_scratch_floats(&one));

	make_problem(&a, 5);
	make_problem(&b, 5);
	ials_gramian(a.items, N_ITEMS, DIMS, 1, gram, partials);
	ials_solve_rows(&one, &a.by_user, a.items, gram, a.users, 0, N_USERS, scratch);
	ials_solve_rows(&two, &b.by_user, b.items, gram, b.users, 0, N_USERS, scratch);
	CHECK(memcmp(a.users, b.users, sizeof(a.users)) == 0);
	free(scratch);
	free_problem(&a);
	free_problem(&b);
}

static int
visit_range(void *context, size_t begin, size_t end, int thread)
{
	int		   *visits = (int *) context;

	for (size_t i = begin; i < end; i++)
		visits[i]++;
	return thread >= 0 ? 0 : 1;
}

static int
fail_at_500(void *context, size_t begin, size_t end, int thread)
{
	return (begin <= 500 && 500 < end) ? 42 : 0;
}

static int
stop_on_third_poll(void *arg)
{
	return ++*(int *) arg >= 3;
}

/* the items done when a poll stops the loop: a prefix, each once; none after it */
static void
test_parallel_for_polled_stops_on_a_prefix(void)
{
	static int	visits[10007];

	for (int threads = 1; threads <= 3; threads++)
	{
		int			polls = 0;
		size_t		done = 0;

		memset(visits, 0, sizeof(visits));
		CHECK(parallel_for_polled(threads, 10007, 13, visit_range, visits, stop_on_third_poll, &polls,
								  &done) == 0);
		if (threads == 1)
			/* alone, the calling thread stops after its third block */
			CHECK(polls == 3 && done == 3 * 13);
		else
		{
			/*
			 * With helpers the calling thread may be descheduled while they
			 * finish every block (seen once in CI): then it polled fewer
			 * than three times and everything is done; else it stopped
			 * after its third block, with the helpers' blocks done too.
			 */
			CHECK(polls <= 3);
			CHECK(polls == 3 ? done >= 3 * 13 : done == 10007);
		}
		for (size_t i = 0; i < 10007; i++)
			CHECK(visits[i] == (i < done ? 1 : 0));
	}
	{
		size_t		done = 1;

		CHECK(parallel_for_polled(2, 0, 10, visit_range, visits, stop_on_third_poll, NULL, &done) == 0);
		CHECK(done == 0);
	}
}

static void
test_parallel_for_visits_each_item_once(void)
{
	static int	visits[10007];

	for (int threads = 1; threads <= 3; threads++)
	{
		memset(visits, 0, sizeof(visits));
		CHECK(parallel_for(threads, 10007, 13, visit_range, visits) == 0);
		for (int i = 0; i < 10007; i++)
			CHECK(visits[i] == 1);
	}
	CHECK(parallel_for(2, 1000, 10, fail_at_500, NULL) == 42);
	CHECK(parallel_for(2, 0, 10, fail_at_500, NULL) == 0);
	CHECK(parallel_cpu_count() >= 1);
}

int
main(void)
{
	RUN_TEST(test_csr_build);
	RUN_TEST(test_gramian);
	RUN_TEST(test_gramian_in_blocks);
	RUN_TEST(test_cholesky_matches_dense_solve);
	RUN_TEST(test_cg_converges_to_dense_solve);
	RUN_TEST(test_cg_blocks_at_large_dims);
	RUN_TEST(test_init_rows_are_normal);
	RUN_TEST(test_loss_matches_brute_force);
	RUN_TEST(test_loss_decreases);
	RUN_TEST(test_loss_from_item_rows);
	RUN_TEST(test_thread_count_does_not_change_result);
	RUN_TEST(test_parallel_for_visits_each_item_once);
	RUN_TEST(test_parallel_for_polled_stops_on_a_prefix);
	return unit_tests_failed != 0;
}
