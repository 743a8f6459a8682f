/*
 * test_pairwise.c
 *		ALS for the pairwise square loss against dense brute force on a tiny
 *		problem: the loss against its triple sum, the user step and each
 *		item's Jacobi solve against the brute-force gradient, and a few
 *		epochs against exact ALS whose item step solves all items jointly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ials.h"
#include "core/pairwise.h"
#include "core/sparse.h"
#include "core/vecmath.h"
#include "unit.h"

enum
{
	USERS = 7, ITEMS = 6, DIMS = 3
};

typedef struct Problem
{
	double		weight[USERS][ITEMS];	/* α, 0 where unobserved */
	CsrMatrix  *by_user;
	CsrMatrix  *by_item;
	IalsConfig	config;
} Problem;

static CsrMatrix *
csr_of(const double weight[USERS][ITEMS], int transpose)
{
	int			rows = transpose ? ITEMS : USERS;
	int			cols = transpose ? USERS : ITEMS;
	CsrMatrix  *m = calloc(1, sizeof(CsrMatrix));
	size_t		nnz = 0;

	m->n_rows = rows;
	m->n_cols = cols;
	m->row_start = calloc(rows + 1, sizeof(*m->row_start));
	m->col = calloc(USERS * ITEMS, sizeof(*m->col));
	m->value = calloc(USERS * ITEMS, sizeof(*m->value));
	for (int r = 0; r < rows; r++)
	{
		for (int c = 0; c < cols; c++)
		{
			double		w = transpose ? weight[c][r] : weight[r][c];

			if (w > 0)
			{
				m->col[nnz] = c;
				m->value[nnz] = (float) w;
				nnz++;
			}
		}
		m->row_start[r + 1] = nnz;
	}
	m->nnz = nnz;
	return m;
}

static void
free_csr(CsrMatrix *m)
{
	unit_csr_free(m);
	free(m);
}

static void
make_problem(Problem *p, unsigned long long seed)
{
	unsigned long long state = seed;

	for (int u = 0; u < USERS; u++)
	{
		int			any = 0;

		for (int i = 0; i < ITEMS; i++)
		{
			p->weight[u][i] = unit_rand_uniform(&state) < 0.4 ? 1.0 + 2.0 * unit_rand_uniform(&state) : 0.0;
			any |= p->weight[u][i] > 0;
		}
		if (!any)
			p->weight[u][u % ITEMS] = 1.5;
	}
	p->by_user = csr_of(p->weight, 0);
	p->by_item = csr_of(p->weight, 1);
	memset(&p->config, 0, sizeof(p->config));
	p->config.dims = DIMS;
	p->config.regularization = 0.05;
	p->config.regularization_exponent = 1.0;
	p->config.unobserved_weight = 0.1;
	p->config.solver = IALS_SOLVER_CHOLESKY;
	p->config.threads = 2;
}

static double
lambda_of(const Problem *p, int user_side, int row)
{
	const CsrMatrix *m = user_side ? p->by_user : p->by_item;

	return ials_row_regularization(&p->config, m->row_start[row + 1] - m->row_start[row], m->n_cols);
}

static double
dot3(const double *a, const float *b)
{
	double		s = 0.0;

	for (int k = 0; k < DIMS; k++)
		s += a[k] * b[k];
	return s;
}

/* The loss as written: (1/n) Σ_(c,i) α Σ_j (⟨φ_c, ψ_i − ψ_j⟩ − 1)² + regularization. */
static double
brute_loss(const Problem *p, const float *users, const float *items)
{
	double		loss = 0.0;

	for (int u = 0; u < USERS; u++)
		for (int i = 0; i < ITEMS; i++)
			if (p->weight[u][i] > 0)
				for (int j = 0; j < ITEMS; j++)
				{
					double		diff = vec_dot_double(users + u * DIMS, items + i * DIMS, DIMS)
						- vec_dot_double(users + u * DIMS, items + j * DIMS, DIMS) - 1.0;

					loss += p->weight[u][i] * diff * diff / ITEMS;
				}
	for (int u = 0; u < USERS; u++)
		loss += lambda_of(p, 1, u) * vec_norm_squared_double(users + u * DIMS, DIMS);
	for (int i = 0; i < ITEMS; i++)
		loss += lambda_of(p, 0, i) * vec_norm_squared_double(items + i * DIMS, DIMS);
	return loss;
}

/* ∂L/∂φ_u by brute force. */
static void
brute_user_gradient(const Problem *p, const float *users, const float *items, int u, double *g)
{
	memset(g, 0, sizeof(double) * DIMS);
	for (int i = 0; i < ITEMS; i++)
		if (p->weight[u][i] > 0)
			for (int j = 0; j < ITEMS; j++)
			{
				double		diff = vec_dot_double(users + u * DIMS, items + i * DIMS, DIMS)
					- vec_dot_double(users + u * DIMS, items + j * DIMS, DIMS) - 1.0;

				for (int k = 0; k < DIMS; k++)
					g[k] += 2.0 / ITEMS * p->weight[u][i] * diff * (items[i * DIMS + k] - items[j * DIMS + k]);
			}
	for (int k = 0; k < DIMS; k++)
		g[k] += 2.0 * lambda_of(p, 1, u) * users[u * DIMS + k];
}

/* ∂L/∂ψ_k by brute force. */
static void
brute_item_gradient(const Problem *p, const float *users, const float *items, int item, double *g)
{
	memset(g, 0, sizeof(double) * DIMS);
	for (int u = 0; u < USERS; u++)
		for (int i = 0; i < ITEMS; i++)
			if (p->weight[u][i] > 0)
				for (int j = 0; j < ITEMS; j++)
				{
					double		diff = vec_dot_double(users + u * DIMS, items + i * DIMS, DIMS)
						- vec_dot_double(users + u * DIMS, items + j * DIMS, DIMS) - 1.0;
					double		sign = (i == item) - (j == item);

					for (int k = 0; k < DIMS; k++)
						g[k] += 2.0 / ITEMS * p->weight[u][i] * diff * sign * users[u * DIMS + k];
				}
	for (int k = 0; k < DIMS; k++)
		g[k] += 2.0 * lambda_of(p, 0, item) * items[item * DIMS + k];
}

/* Our item step: the sums over users, then every item's solve. */
static void
item_step(const Problem *p, const float *users, float *items, float *scratch, float *sums_scratch)
{
	float		weighted_gram[DIMS * DIMS];
	float		residual_sum[DIMS];
	float		item_sum[DIMS];

	pairwise_user_sums(&p->config, p->by_user, users, items, weighted_gram, residual_sum, sums_scratch);
	pairwise_row_sum(items, ITEMS, DIMS, item_sum);
	CHECK(pairwise_solve_items(&p->config, p->by_item, users, weighted_gram, residual_sum, item_sum,
							   items, 0, ITEMS, scratch) == IALS_OK);
}

static void
user_step(const Problem *p, float *users, const float *items, float *scratch)
{
	float		gram[DIMS * DIMS];
	float		partials[2 * DIMS * DIMS];
	float		item_sum[DIMS];

	ials_gramian(items, ITEMS, DIMS, 2, gram, partials);
	pairwise_row_sum(items, ITEMS, DIMS, item_sum);
	CHECK(pairwise_solve_users(&p->config, p->by_user, items, gram, item_sum, users, 0, USERS, scratch) == IALS_OK);
}

/*
 * The exact item step: all items jointly.  The loss is quadratic in
 * x = vec(Ψ): each (c, i, j) term is (1/n)·α·(gᵀx − 1)² with
 * g = (e_i − e_j) ⊗ φ_c.
 */
static void
exact_item_step(const Problem *p, const float *users, float *items)
{
	enum
	{
		N = ITEMS * DIMS
	};
	double		h[N * N] = {0};
	double		c[N] = {0};

	for (int u = 0; u < USERS; u++)
		for (int i = 0; i < ITEMS; i++)
			if (p->weight[u][i] > 0)
				for (int j = 0; j < ITEMS; j++)
				{
					double		g[N] = {0};
					double		w = 2.0 / ITEMS * p->weight[u][i];

					if (i == j)
						continue;
					for (int k = 0; k < DIMS; k++)
					{
						g[i * DIMS + k] += users[u * DIMS + k];
						g[j * DIMS + k] -= users[u * DIMS + k];
					}
					for (int a = 0; a < N; a++)
					{
						c[a] += w * g[a];
						for (int b = 0; b < N; b++)
							h[a * N + b] += w * g[a] * g[b];
					}
				}
	for (int i = 0; i < ITEMS; i++)
		for (int k = 0; k < DIMS; k++)
			h[(i * DIMS + k) * N + i * DIMS + k] += 2.0 * lambda_of(p, 0, i);
	unit_dense_solve(N, h, c, c);
	for (int a = 0; a < N; a++)
		items[a] = (float) c[a];
}

static void
test_pairwise_against_brute_force(void)
{
	Problem		p;
	float		users[USERS * DIMS];
	float		items[ITEMS * DIMS];
	float		before[ITEMS * DIMS];
	float		gram[DIMS * DIMS];
	float		partials[2 * DIMS * DIMS];
	float		item_sum[DIMS];
	float	   *scratch;
	float	   *sums_scratch;
	float	   *loss_scratch;
	unsigned long long state = 5;

	make_problem(&p, 17);
	scratch = malloc(sizeof(float) * 2 * pairwise_scratch_floats(&p.config));
	sums_scratch = malloc(sizeof(float) * pairwise_sums_scratch_floats(&p.config, USERS));
	loss_scratch = malloc(sizeof(float) * pairwise_loss_scratch_floats(&p.config, USERS));
	for (int k = 0; k < USERS * DIMS; k++)
		users[k] = (float) (unit_rand_uniform(&state) - 0.5);
	for (int k = 0; k < ITEMS * DIMS; k++)
		items[k] = (float) (unit_rand_uniform(&state) - 0.5);

	/* the loss through the Gramian and z equals its triple sum */
	ials_gramian(items, ITEMS, DIMS, 2, gram, partials);
	pairwise_row_sum(items, ITEMS, DIMS, item_sum);
	CHECK_NEAR(pairwise_loss(&p.config, p.by_user, p.by_item, users, items, gram, item_sum, loss_scratch),
			   brute_loss(&p, users, items), 1e-5 * brute_loss(&p, users, items));

	/* the user step: every user's gradient vanishes */
	user_step(&p, users, items, scratch);
	for (int u = 0; u < USERS; u++)
	{
		double		g[DIMS];

		brute_user_gradient(&p, users, items, u, g);
		for (int k = 0; k < DIMS; k++)
			CHECK_NEAR(g[k], 0.0, 1e-3);
	}

	/* the item step: each item's gradient vanishes with the others as before the step */
	memcpy(before, items, sizeof(items));
	item_step(&p, users, items, scratch, sums_scratch);
	for (int i = 0; i < ITEMS; i++)
	{
		float		mixed[ITEMS * DIMS];
		double		g[DIMS];

		memcpy(mixed, before, sizeof(mixed));
		memcpy(mixed + i * DIMS, items + i * DIMS, sizeof(float) * DIMS);
		brute_item_gradient(&p, users, mixed, i, g);
		for (int k = 0; k < DIMS; k++)
			CHECK_NEAR(g[k], 0.0, 1e-3);
	}

	/*
	 * A few epochs from the same start: within 2% of exact ALS (joint item
	 * steps), and the loss never rises by more than rounding.
	 */
	{
		float		exact_users[USERS * DIMS];
		float		exact_items[ITEMS * DIMS];
		double		previous = INFINITY;
		double		ours = 0.0;
		double		exact = 0.0;

		state = 9;
		for (int k = 0; k < USERS * DIMS; k++)
			users[k] = exact_users[k] = (float) (unit_rand_uniform(&state) - 0.5);
		for (int k = 0; k < ITEMS * DIMS; k++)
			items[k] = exact_items[k] = (float) (unit_rand_uniform(&state) - 0.5);
		for (int epoch = 0; epoch < 8; epoch++)
		{
			user_step(&p, users, items, scratch);
			item_step(&p, users, items, scratch, sums_scratch);
			user_step(&p, exact_users, exact_items, scratch);
			exact_item_step(&p, exact_users, exact_items);
			ours = brute_loss(&p, users, items);
			exact = brute_loss(&p, exact_users, exact_items);
			CHECK(ours <= previous * (1 + 1e-5));
			previous = ours;
		}
		CHECK(ours <= 1.02 * exact);
		printf("    pairwise ALS after 8 epochs: loss %.6f, exact joint item steps %.6f (ratio %.4f)\n",
			   ours, exact, ours / exact);
	}
	free(scratch);
	free(sums_scratch);
	free(loss_scratch);
	free_csr(p.by_user);
	free_csr(p.by_item);
}

int
main(void)
{
	RUN_TEST(test_pairwise_against_brute_force);
	return unit_tests_failed != 0;
}
