/*
 * test_context.c
 *		Context models (sum and product) against dense brute force on a tiny
 *		problem: the loss against its double sum over every (context, item)
 *		pair, each field value's step against the dense least-squares
 *		solution of that block's normal equations, the item step likewise,
 *		and the loss falling at every block step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "core/ials.h"
#include "core/sparse.h"
#include "core/vecmath.h"
#include "unit.h"

enum
{
	FIELDS = 2, CONTEXTS = 9, ITEMS = 6, DIMS = 3
};

static const size_t n_values[FIELDS] = {4, 3};

typedef struct Problem
{
	int32_t		values[CONTEXTS * FIELDS];
	double		weight[CONTEXTS][ITEMS];	/* α, 0 where unobserved */
	CsrMatrix	by_context;
	CsrMatrix	by_item;
	CsrMatrix	by_value[FIELDS];
	ContextData data;
	IalsConfig	config;
	float		w0[4 * DIMS];
	float		w1[3 * DIMS];
	float	   *fields[FIELDS];
	float		items[ITEMS * DIMS];
} Problem;

static void
csr_from_dense(size_t rows, size_t cols, const double *dense, CsrMatrix *m)
{
	size_t		nnz = 0;

	m->n_rows = rows;
	m->n_cols = cols;
	m->row_start = calloc(rows + 1, sizeof(size_t));
	m->col = calloc(rows * cols + 1, sizeof(int32_t));
	m->value = calloc(rows * cols + 1, sizeof(float));
	for (size_t r = 0; r < rows; r++)
	{
		for (size_t c = 0; c < cols; c++)
			if (dense[r * cols + c] > 0)
			{
				m->col[nnz] = (int32_t) c;
				m->value[nnz] = (float) dense[r * cols + c];
				nnz++;
			}
		m->row_start[r + 1] = nnz;
	}
	m->nnz = nnz;
}

static void
problem_init(Problem *p, ContextModelKind kind, unsigned long long seed)
{
	double		dense_item[ITEMS][CONTEXTS];

	memset(p, 0, sizeof(*p));
	for (int c = 0; c < CONTEXTS; c++)
	{
		/* every value occurs; value 3 of field 0 only once; context 7 lacks field 1 */
		p->values[c * FIELDS] = c < 8 ? c % 3 : 3;
		p->values[c * FIELDS + 1] = c == 7 ? -1 : (c / 3) % 3;
		for (int i = 0; i < ITEMS; i++)
			p->weight[c][i] = unit_rand_uniform(&seed) < 0.4 ? 1.0 + 3.0 * unit_rand_uniform(&seed) : 0.0;
		p->weight[c][c % ITEMS] = 2.0;	/* no empty context */
	}
	for (int c = 0; c < CONTEXTS; c++)
		for (int i = 0; i < ITEMS; i++)
			dense_item[i][c] = p->weight[c][i];
	csr_from_dense(CONTEXTS, ITEMS, &p->weight[0][0], &p->by_context);
	csr_from_dense(ITEMS, CONTEXTS, &dense_item[0][0], &p->by_item);
	for (int f = 0; f < FIELDS; f++)
	{
		double		member[4 * CONTEXTS] = {0};

		for (int c = 0; c < CONTEXTS; c++)
			if (p->values[c * FIELDS + f] >= 0)
				member[p->values[c * FIELDS + f] * CONTEXTS + c] = 1.0;
		csr_from_dense(n_values[f], CONTEXTS, member, &p->by_value[f]);
	}
	p->data.n_fields = FIELDS;
	p->data.n_contexts = CONTEXTS;
	p->data.n_items = ITEMS;
	p->data.n_values = n_values;
	p->data.values = p->values;
	p->data.by_context = &p->by_context;
	p->data.by_item = &p->by_item;
	p->data.by_value = p->by_value;
	p->data.product_prior = 0.7;
	p->config.dims = DIMS;
	p->config.regularization = 0.05;
	p->config.regularization_exponent = 0.5;
	p->config.unobserved_weight = 0.3;
	p->config.solver = IALS_SOLVER_CHOLESKY;
	p->config.threads = 2;
	p->fields[0] = p->w0;
	p->fields[1] = p->w1;
	context_init(kind, &p->data, DIMS, 0.5, 7, p->fields, p->items);
}

static void
problem_free(Problem *p)
{
	unit_csr_free(&p->by_context);
	unit_csr_free(&p->by_item);
	for (int f = 0; f < FIELDS; f++)
		unit_csr_free(&p->by_value[f]);
}

/* φ(c) straight from the definition. */
static void
phi_of(const Problem *p, ContextModelKind kind, int c, double *phi)
{
	for (int k = 0; k < DIMS; k++)
	{
		int			v1 = p->values[c * FIELDS + 1];
		double		a = p->fields[0][p->values[c * FIELDS] * DIMS + k];
		double		b = v1 < 0 ? (kind == CONTEXT_MODEL_SUM ? 0.0 : 1.0) : p->fields[1][v1 * DIMS + k];

		phi[k] = kind == CONTEXT_MODEL_SUM ? a + b : a * b;
	}
}

static double
reg(const Problem *p, double observed, double other)
{
	return p->config.regularization * pow(observed + p->config.unobserved_weight * other,
										  p->config.regularization_exponent);
}

/* The loss as its definition's double sum over every (context, item) pair. */
static double
brute_loss(const Problem *p, ContextModelKind kind)
{
	double		loss = 0.0;

	for (int c = 0; c < CONTEXTS; c++)
	{
		double		phi[DIMS];

		phi_of(p, kind, c, phi);
		for (int i = 0; i < ITEMS; i++)
		{
			double		y = 0.0;

			for (int k = 0; k < DIMS; k++)
				y += phi[k] * p->items[i * DIMS + k];
			loss += p->weight[c][i] > 0 ? p->weight[c][i] * (y - 1) * (y - 1)
				: p->config.unobserved_weight * y * y;
		}
	}
	for (int f = 0; f < FIELDS; f++)
		for (size_t v = 0; v < n_values[f]; v++)
		{
			double		observed = 0, contexts = 0, norm = 0;

			for (int c = 0; c < CONTEXTS; c++)
				if (p->values[c * FIELDS + f] == (int) v)
				{
					contexts++;
					for (int i = 0; i < ITEMS; i++)
						observed += p->weight[c][i] > 0;
				}
			/* the product model's second field is pulled toward 1 */
			for (int k = 0; k < DIMS; k++)
			{
				double		x = p->fields[f][v * DIMS + k] - (kind == CONTEXT_MODEL_PRODUCT && f == 1 ? 1.0 : 0.0);

				norm += x * x;
			}
			loss += (kind == CONTEXT_MODEL_PRODUCT && f == 1 ? p->data.product_prior
					 : reg(p, observed, ITEMS * contexts)) * norm;
		}
	for (int i = 0; i < ITEMS; i++)
	{
		double		observed = 0, norm = 0;

		for (int c = 0; c < CONTEXTS; c++)
			observed += p->weight[c][i] > 0;
		for (int k = 0; k < DIMS; k++)
			norm += (double) p->items[i * DIMS + k] * p->items[i * DIMS + k];
		loss += reg(p, observed, CONTEXTS) * norm;
	}
	return loss;
}

/*
 * Field f's value v by dense least squares: every (context with v, item)
 * pair is a row ŷ = ⟨w, x⟩ + offset with target y and weight as in the
 * loss, x and offset straight from the model's definition.
 */
static void
brute_field_step(const Problem *p, ContextModelKind kind, int f, int v, double *w)
{
	double		a[DIMS][DIMS] = {{0}};
	double		b[DIMS] = {0};
	double		observed = 0, contexts = 0, lambda;

	for (int c = 0; c < CONTEXTS; c++)
	{
		double		rest[DIMS];
		int			other = 1 - f;

		if (p->values[c * FIELDS + f] != v)
			continue;
		contexts++;
		for (int k = 0; k < DIMS; k++)
			rest[k] = p->values[c * FIELDS + other] < 0 ? (kind == CONTEXT_MODEL_SUM ? 0.0 : 1.0)
				: p->fields[other][p->values[c * FIELDS + other] * DIMS + k];
		for (int i = 0; i < ITEMS; i++)
		{
			double		x[DIMS], offset = 0, target, weight;
			const float *psi = p->items + i * DIMS;

			for (int k = 0; k < DIMS; k++)
			{
				x[k] = kind == CONTEXT_MODEL_SUM ? psi[k] : rest[k] * psi[k];
				offset += kind == CONTEXT_MODEL_SUM ? rest[k] * psi[k] : 0.0;
			}
			target = (p->weight[c][i] > 0 ? 1.0 : 0.0) - offset;
			weight = p->weight[c][i] > 0 ? p->weight[c][i] : p->config.unobserved_weight;
			observed += p->weight[c][i] > 0;
			for (int r = 0; r < DIMS; r++)
			{
				b[r] += weight * target * x[r];
				for (int k = 0; k < DIMS; k++)
					a[r][k] += weight * x[r] * x[k];
			}
		}
	}
	lambda = kind == CONTEXT_MODEL_PRODUCT && f == 1 ? p->data.product_prior : reg(p, observed, ITEMS * contexts);
	for (int r = 0; r < DIMS; r++)
	{
		a[r][r] += lambda;
		/* λ‖w − 1‖² for the product model's second field */
		if (kind == CONTEXT_MODEL_PRODUCT && f == 1)
			b[r] += lambda;
	}
	unit_dense_solve(DIMS, &a[0][0], b, w);
}

/* Item i by dense least squares against every context's φ. */
static void
brute_item_step(const Problem *p, ContextModelKind kind, int i, double *x)
{
	double		a[DIMS][DIMS] = {{0}};
	double		b[DIMS] = {0};
	double		observed = 0;

	for (int c = 0; c < CONTEXTS; c++)
	{
		double		phi[DIMS];
		double		weight = p->weight[c][i] > 0 ? p->weight[c][i] : p->config.unobserved_weight;

		phi_of(p, kind, c, phi);
		observed += p->weight[c][i] > 0;
		for (int r = 0; r < DIMS; r++)
		{
			b[r] += p->weight[c][i] > 0 ? weight * phi[r] : 0.0;
			for (int k = 0; k < DIMS; k++)
				a[r][k] += weight * phi[r] * phi[k];
		}
	}
	for (int r = 0; r < DIMS; r++)
		a[r][r] += reg(p, observed, CONTEXTS);
	unit_dense_solve(DIMS, &a[0][0], b, x);
}

static void
gramian(const float *x, int n, float *gram)
{
	for (int r = 0; r < DIMS; r++)
		for (int c = 0; c < DIMS; c++)
		{
			double		s = 0;

			for (int i = 0; i < n; i++)
				s += (double) x[i * DIMS + r] * x[i * DIMS + c];
			gram[r * DIMS + c] = (float) s;
		}
}

static double
core_loss(Problem *p, ContextModelKind kind)
{
	float		phi[CONTEXTS * DIMS];
	float		phi_gram[DIMS * DIMS];
	float		item_gram[DIMS * DIMS];
	double		row_loss[CONTEXTS];

	context_phi(kind, &p->data, (const float *const *) p->fields, DIMS, phi);
	gramian(phi, CONTEXTS, phi_gram);
	gramian(p->items, ITEMS, item_gram);
	return context_loss(&p->config, kind, &p->data, (const float *const *) p->fields, p->items,
						phi, phi_gram, item_gram, row_loss);
}

/*
 * Four epochs of block steps; with the CG solver (cg_steps past the
 * dimension, so that it converges) each field step must reach the dense
 * solution too, and never raise the loss.
 */
static void
check_model(ContextModelKind kind, IalsSolver solver)
{
	Problem		p;
	float		scratch[2 * 1024];
	double		previous;

	CHECK(2 * context_scratch_floats(DIMS) <= sizeof(scratch) / sizeof(float));
	problem_init(&p, kind, 11);
	p.config.solver = solver;
	p.config.cg_steps = 12;
	CHECK_NEAR(core_loss(&p, kind), brute_loss(&p, kind), 1e-4 * brute_loss(&p, kind));
	previous = brute_loss(&p, kind);
	for (int epoch = 0; epoch < 4; epoch++)
	{
		float		item_gram[DIMS * DIMS];
		float		phi[CONTEXTS * DIMS];
		float		phi_gram[DIMS * DIMS];
		float		ials_scratch[4096];
		double		loss;
		double		expected_items[ITEMS][DIMS];

		for (int f = 0; f < FIELDS; f++)
		{
			double		expected[4][DIMS];

			gramian(p.items, ITEMS, item_gram);
			for (size_t v = 0; v < n_values[f]; v++)
				brute_field_step(&p, kind, f, (int) v, expected[v]);
			CHECK(context_solve_field(&p.config, kind, &p.data, f, p.fields, p.items, item_gram,
									  0, n_values[f], scratch) == IALS_OK);
			for (size_t v = 0; v < n_values[f]; v++)
				for (int k = 0; k < DIMS; k++)
					CHECK_NEAR(p.fields[f][v * DIMS + k], expected[v][k],
							   (solver == IALS_SOLVER_CG ? 1e-3 : 1e-4) * (1 + fabs(expected[v][k])));
			loss = brute_loss(&p, kind);
			CHECK(loss <= previous * (1 + 1e-6));
			previous = loss;
		}
		/* the item step: iALS's own, against the contexts' φ */
		context_phi(kind, &p.data, (const float *const *) p.fields, DIMS, phi);
		gramian(phi, CONTEXTS, phi_gram);
		CHECK(2 * ials_scratch_floats(&p.config) <= sizeof(ials_scratch) / sizeof(float));
		for (int i = 0; i < ITEMS; i++)
			brute_item_step(&p, kind, i, expected_items[i]);
		CHECK(ials_solve_rows(&p.config, &p.by_item, phi, phi_gram, p.items, 0, ITEMS,
							  ials_scratch) == IALS_OK);
		for (int i = 0; i < ITEMS; i++)
			for (int k = 0; k < DIMS; k++)
				CHECK_NEAR(p.items[i * DIMS + k], expected_items[i][k],
						   (solver == IALS_SOLVER_CG ? 1e-3 : 1e-4) * (1 + fabs(expected_items[i][k])));
		loss = brute_loss(&p, kind);
		CHECK(loss <= previous * (1 + 1e-6));
		previous = loss;
		CHECK_NEAR(core_loss(&p, kind), loss, 1e-4 * loss);
	}
	problem_free(&p);
}

static void
test_sum_model(void)
{
	check_model(CONTEXT_MODEL_SUM, IALS_SOLVER_CHOLESKY);
}

static void
test_product_model(void)
{
	check_model(CONTEXT_MODEL_PRODUCT, IALS_SOLVER_CHOLESKY);
}

static void
test_sum_model_cg(void)
{
	check_model(CONTEXT_MODEL_SUM, IALS_SOLVER_CG);
}

static void
test_product_model_cg(void)
{
	check_model(CONTEXT_MODEL_PRODUCT, IALS_SOLVER_CG);
}

int
main(void)
{
	RUN_TEST(test_sum_model);
	RUN_TEST(test_product_model);
	RUN_TEST(test_sum_model_cg);
	RUN_TEST(test_product_model_cg);
	return unit_tests_failed ? 1 : 0;
}
