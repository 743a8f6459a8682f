/*
 * test_spectrum.c
 *		normalized_singular_values against a dense SVD of the explicit
 *		matrix M = D_u^(−1/2)·(R − n·1ᵀ/|I|)·D_i^(−1/2) on small problems.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sgd.h"
#include "core/spectrum.h"
#include "unit.h"

extern void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
					const int *lda, double *s, double *u, const int *ldu, double *vt,
					const int *ldvt, double *work, const int *lwork, int *info,
					size_t jobu_len, size_t jobvt_len);

typedef struct Problem
{
	int			n_users;
	int			n_items;
	CsrMatrix	by_user;
	CsrMatrix	by_item;
	double	   *user_weight;
	double	   *item_weight;
	char	   *dense;			/* n_users × n_items, 1 for a positive */
} Problem;

/* Random positives with a planted two-block taste, and the softmax's weights. */
static void
make_problem(Problem *pr, int n_users, int n_items, double density, unsigned long long seed)
{
	int32_t    *rows = malloc(sizeof(int32_t) * n_users * n_items);
	int32_t    *cols = malloc(sizeof(int32_t) * n_users * n_items);
	float	   *values = malloc(sizeof(float) * n_users * n_items);
	size_t		nnz = 0;

	pr->n_users = n_users;
	pr->n_items = n_items;
	pr->dense = calloc((size_t) n_users * n_items, 1);
	for (int u = 0; u < n_users; u++)
	{
		/* every user has at least one positive */
		int			forced = (int) (unit_rand_uniform(&seed) * n_items);

		for (int i = 0; i < n_items; i++)
		{
			double		p = ((u % 2) == (i % 2)) ? 4 * density : density / 4;

			if (i == forced || unit_rand_uniform(&seed) < p)
			{
				rows[nnz] = u;
				cols[nnz] = i;
				values[nnz] = 1.0f;
				pr->dense[(size_t) u * n_items + i] = 1;
				nnz++;
			}
		}
	}
	CHECK(unit_csr(n_users, n_items, nnz, rows, cols, values, &pr->by_user) == 0);
	CHECK(unit_csr(n_items, n_users, nnz, cols, rows, values, &pr->by_item) == 0);
	pr->user_weight = malloc(sizeof(double) * n_users);
	pr->item_weight = malloc(sizeof(double) * n_items);
	for (int u = 0; u < n_users; u++)
		pr->user_weight[u] = (double) (pr->by_user.row_start[u + 1] - pr->by_user.row_start[u]);
	/* positives plus the expected uniform draws as a negative (m/B = 4) */
	for (int i = 0; i < n_items; i++)
		pr->item_weight[i] = (double) (pr->by_item.row_start[i + 1] - pr->by_item.row_start[i])
			+ 4.0 * nnz / n_items;
	free(rows);
	free(cols);
	free(values);
}

static void
free_problem(Problem *pr)
{
	unit_csr_free(&pr->by_user);
	unit_csr_free(&pr->by_item);
	free(pr->user_weight);
	free(pr->item_weight);
	free(pr->dense);
}

/* The reference: M written out and all its singular values by LAPACK's dgesvd. */
static void
dense_singular_values(const Problem *pr, double *s)
{
	int			m = pr->n_users;
	int			n = pr->n_items;
	double	   *a = malloc(sizeof(double) * m * n);
	int			lwork = 10 * (m + n) + 64;
	double	   *work = malloc(sizeof(double) * lwork);
	int			info = 0;
	int			one = 1;

	for (int u = 0; u < m; u++)
	{
		double		n_u = pr->user_weight[u];

		for (int i = 0; i < n; i++)
			/* column-major for LAPACK */
			a[(size_t) i * m + u] = (pr->dense[(size_t) u * n + i] - n_u / n)
				/ sqrt(pr->user_weight[u] * pr->item_weight[i]);
	}
	dgesvd_("N", "N", &m, &n, a, &m, s, NULL, &one, NULL, &one, work, &lwork, &info, 1, 1);
	CHECK(info == 0);
	free(a);
	free(work);
}

static double *
fast_values(const Problem *pr, int k, int iterations, int threads)
{
	float	   *scratch = malloc(sizeof(float) * spectrum_scratch_floats(pr->n_users, pr->n_items, k));
	double	   *sigma = malloc(sizeof(double) * k);

	CHECK(normalized_singular_values(&pr->by_user, &pr->by_item, pr->user_weight, pr->item_weight,
									 k, iterations, threads, 7, scratch, sigma, NULL, NULL) == 0);
	free(scratch);
	return sigma;
}

/* The k largest values match the dense SVD's. */
static void
test_matches_dense_svd(void)
{
	Problem		pr;
	double		reference[120];
	double	   *sigma;
	int			k = 8;

	make_problem(&pr, 120, 90, 0.06, 11);
	dense_singular_values(&pr, reference);
	sigma = fast_values(&pr, k, 8, 2);
	for (int j = 0; j < k; j++)
		CHECK_NEAR(sigma[j], reference[j], 1e-4 * reference[0]);
	/* the planted taste shows as a leading value clear of the rest */
	CHECK(reference[0] > 1.5 * reference[1]);
	free(sigma);
	free_problem(&pr);
}

/* The same values, bit for bit, on one thread and on four. */
static void
test_threads_agree(void)
{
	Problem		pr;
	double	   *one;
	double	   *four;

	make_problem(&pr, 300, 200, 0.03, 5);
	one = fast_values(&pr, 16, 4, 1);
	four = fast_values(&pr, 16, 4, 4);
	CHECK(memcmp(one, four, sizeof(double) * 16) == 0);
	free(one);
	free(four);
	free_problem(&pr);
}

/* More values asked for than the matrix has: the rest are zero, the others exact. */
static void
test_rank_deficient(void)
{
	Problem		pr;
	double		reference[6];
	double	   *sigma;

	make_problem(&pr, 6, 40, 0.2, 3);
	dense_singular_values(&pr, reference);
	sigma = fast_values(&pr, 10, 3, 1);
	for (int j = 0; j < 6; j++)
		CHECK_NEAR(sigma[j], reference[j], 1e-5 * reference[0]);
	for (int j = 6; j < 10; j++)
		CHECK(sigma[j] == 0.0);
	free(sigma);
	free_problem(&pr);
}

/*
 * The softmax's default λ: SOFTMAX_REGULARIZATION_PER_SIGMA · σ_k / T, with
 * the item weights written out by hand (positives plus uniform draws'
 * expected count as a negative, which the trainer weighs every sampler's
 * draws to) for the uniform and the popularity sampler, against the dense
 * SVD.  Returns λ.
 */
static double
check_default_regularization(SamplerKind sampler, double beta, double temperature)
{
	Problem		pr;
	double		reference[150];
	SgdConfig	config;
	SgdData		data;
	float	   *scratch;
	double		lambda;
	size_t		nnz;

	make_problem(&pr, 150, 100, 0.05, 17);
	nnz = pr.by_user.row_start[pr.n_users];
	memset(&config, 0, sizeof(config));
	config.algorithm = SGD_SOFTMAX;
	config.sampler = sampler;
	config.dims = 6;
	config.negatives = 40;
	config.batch_size = 20;
	config.popularity_exponent = beta;
	config.temperature = temperature;
	config.threads = 2;
	config.seed = 3;
	for (int i = 0; i < pr.n_items; i++)
	{
		double		n_i = (double) (pr.by_item.row_start[i + 1] - pr.by_item.row_start[i]);

		/* the rule's 1,024 draws per batch (not m), nnz / B batches an epoch */
		pr.item_weight[i] = n_i + SOFTMAX_REFERENCE_NEGATIVES * ((double) nnz / 20.0) / pr.n_items;
	}
	dense_singular_values(&pr, reference);
	data.by_user = &pr.by_user;
	data.by_item = &pr.by_item;
	scratch = malloc(sizeof(float) * softmax_default_scratch_floats(&config, &data));
	lambda = softmax_default_regularization(&config, &data, scratch, NULL, NULL);
	CHECK_NEAR(lambda, SOFTMAX_REGULARIZATION_PER_SIGMA * reference[5] / temperature,
			   1e-3 * lambda);
	/* and m does not move it */
	config.negatives = 200;
	CHECK_NEAR(softmax_default_regularization(&config, &data, scratch, NULL, NULL), lambda, 1e-6 * lambda);
	free(scratch);
	free_problem(&pr);
	return lambda;
}

static void
test_default_regularization_uniform(void)
{
	(void) check_default_regularization(SAMPLER_UNIFORM, 0.0, 1.0);
}

static void
test_default_regularization_popularity(void)
{
	double		lambda = check_default_regularization(SAMPLER_POPULARITY, 0.75, 0.5);

	/* the objective is the sampler's no longer: neither is λ */
	CHECK_NEAR(lambda, check_default_regularization(SAMPLER_UNIFORM, 0.0, 0.5), 1e-6 * lambda);
}

/* Too few items for a spectrum: the fixed fallback. */
static void
test_default_regularization_fallback(void)
{
	Problem		pr;
	SgdConfig	config;
	SgdData		data;
	float	   *scratch;

	make_problem(&pr, 5, 1, 0.5, 2);
	memset(&config, 0, sizeof(config));
	config.algorithm = SGD_SOFTMAX;
	config.dims = 4;
	config.negatives = 8;
	config.batch_size = 4;
	config.temperature = 1.0;
	config.threads = 1;
	data.by_user = &pr.by_user;
	data.by_item = &pr.by_item;
	scratch = malloc(sizeof(float) * softmax_default_scratch_floats(&config, &data));
	CHECK(softmax_default_regularization(&config, &data, scratch, NULL, NULL)
		  == SOFTMAX_FALLBACK_REGULARIZATION);
	free(scratch);
	free_problem(&pr);
}

int
main(void)
{
	RUN_TEST(test_matches_dense_svd);
	RUN_TEST(test_threads_agree);
	RUN_TEST(test_rank_deficient);
	RUN_TEST(test_default_regularization_uniform);
	RUN_TEST(test_default_regularization_popularity);
	RUN_TEST(test_default_regularization_fallback);
	return unit_tests_failed ? 1 : 0;
}
