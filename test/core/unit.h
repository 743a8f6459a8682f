/*
 * unit.h
 *		A minimal unit-test harness for the plain-C core.
 *
 * Each test is a function; RUN_TEST prints "PASS name" or "FAIL name" (the
 * lines test/run_tests.sh counts) and every failed CHECK prints where.
 */
#ifndef IREC_UNIT_H
#define IREC_UNIT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/sparse.h"

static int unit_failures;
static int unit_tests_failed;

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			unit_failures++; \
		} \
	} while (0)

#define CHECK_NEAR(a, b, tol) \
	do { \
		double unit_a_ = (a), unit_b_ = (b); \
		if (!(fabs(unit_a_ - unit_b_) <= (tol))) { \
			fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g (tol %g)\n", \
					__FILE__, __LINE__, #a, unit_a_, unit_b_, (double) (tol)); \
			unit_failures++; \
		} \
	} while (0)

#define RUN_TEST(fn) \
	do { \
		int unit_before_ = unit_failures; \
		fn(); \
		if (unit_failures == unit_before_) \
			printf("PASS %s:%s\n", UNIT_NAME, #fn); \
		else { \
			printf("FAIL %s:%s\n", UNIT_NAME, #fn); \
			unit_tests_failed++; \
		} \
	} while (0)

/*
 * unit_csr: out built from nnz triples by csr_build, into arrays of its
 * own (malloc); returns csr_build's result.  unit_csr_free frees them.
 */
static inline int
unit_csr(size_t n_rows, size_t n_cols, size_t nnz, const int32_t *rows, const int32_t *cols,
		 const float *values, CsrMatrix *out)
{
	out->row_start = malloc(sizeof(size_t) * (n_rows + 1));
	out->col = malloc(sizeof(int32_t) * (nnz > 0 ? nnz : 1));
	out->value = malloc(sizeof(float) * (nnz > 0 ? nnz : 1));
	return csr_build(n_rows, n_cols, nnz, rows, cols, values, out);
}

static inline void
unit_csr_free(CsrMatrix *m)
{
	free(m->row_start);
	free(m->col);
	free(m->value);
}

/* A small deterministic generator so tests never depend on libc's rand(). */
static inline unsigned long long
unit_rand_next(unsigned long long *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return *state >> 11;
}

static inline double
unit_rand_uniform(unsigned long long *state)
{
	return (double) unit_rand_next(state) / 9007199254740992.0;
}

/*
 * unit_dense_solve: x = a⁻¹·b for the n × n row-major matrix a, in double,
 * by Gaussian elimination with partial pivoting: the reference the solver
 * tests compare with.  a and b are overwritten; x may be b.
 */
static inline void
unit_dense_solve(int n, double *a, double *b, double *x)
{
	for (int c = 0; c < n; c++)
	{
		int			pivot = c;

		for (int r = c + 1; r < n; r++)
			if (fabs(a[r * n + c]) > fabs(a[pivot * n + c]))
				pivot = r;
		for (int k = 0; k < n; k++)
		{
			double		t = a[c * n + k];

			a[c * n + k] = a[pivot * n + k];
			a[pivot * n + k] = t;
		}
		{
			double		t = b[c];

			b[c] = b[pivot];
			b[pivot] = t;
		}
		for (int r = c + 1; r < n; r++)
		{
			double		f = a[r * n + c] / a[c * n + c];

			for (int k = c; k < n; k++)
				a[r * n + k] -= f * a[c * n + k];
			b[r] -= f * b[c];
		}
	}
	for (int r = n - 1; r >= 0; r--)
	{
		double		s = b[r];

		for (int k = r + 1; k < n; k++)
			s -= a[r * n + k] * x[k];
		x[r] = s / a[r * n + r];
	}
}

#endif
