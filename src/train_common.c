/*
 * train_common.c
 *		What the in-memory trainers' entry points share (train_common.h).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "irec.h"
#include "train_common.h"

double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double) (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

void
check_interrupts(void *unused)
{
	CHECK_FOR_INTERRUPTS();
}

void
gramian(const float *factors, size_t n, int dims, int threads, float *gram, float *partials)
{
	size_t		block = (size_t) (FLOPS_PER_CHUNK / ((double) dims * dims));

	ials_gramian_blocked(factors, n, dims, threads, gram, partials,
						 Max(block, (size_t) Max(threads, 1)), check_interrupts, NULL);
}

static int
interrupt_pending(void *unused)
{
	return InterruptPending ? 1 : 0;
}

int
solve_rows_polled(const IalsConfig *config, const CsrMatrix *m, const float *other,
				  const float *gram, float *target, size_t begin, size_t end,
				  float *scratch, double *row_loss, size_t *done)
{
	return ials_solve_rows_polled(config, m, other, gram, target, begin, end, scratch, row_loss,
								  FLOPS_PER_CHUNK / Max(config->threads, 1), interrupt_pending,
								  NULL, done);
}

size_t
solve_chunk_end(const IalsConfig *config, const CsrMatrix *m, size_t begin, bool exact)
{
	double		d = config->dims;
	size_t		end = begin;
	double		flops = 0;

	while (end < m->n_rows && flops < FLOPS_PER_CHUNK)
	{
		double		nnz = (double) (m->row_start[end + 1] - m->row_start[end]);

		if (!exact && config->solver == IALS_SOLVER_CG)
			flops += (config->cg_steps + 1) * (2 * d * d + 4 * nnz * d);
		else
			flops += 2 * nnz * d * d + d * d * d / 3 + 2 * d * d;
		end++;
	}
	return end;
}

void *
alloc_cache_aligned(MemoryContext context, size_t bytes)
{
	char	   *raw = irec_alloc_large(context, bytes + 64);

	return (void *) TYPEALIGN(64, raw);
}

void
build_csr(MemoryContext context, size_t n_rows, size_t n_cols, size_t nnz,
		  const int32 *rows, const int32 *cols, const float *values, CsrMatrix *out)
{
	out->row_start = irec_alloc_large(context, sizeof(size_t) * (n_rows + 1));
	out->col = irec_alloc_large(context, sizeof(int32) * Max(nnz, 1));
	out->value = irec_alloc_large(context, sizeof(float) * Max(nnz, 1));
	if (csr_build(n_rows, n_cols, nnz, rows, cols, values, out) != 0)
		elog(ERROR, "interaction index out of range");
}

static int
compare_floats(const void *a, const void *b)
{
	float		x = *(const float *) a;
	float		y = *(const float *) b;

	return (x > y) - (x < y);
}

double
median_of(const float *values, size_t n, MemoryContext context)
{
	float	   *copy;
	double		result;

	if (n == 0)
		return 0.0;
	copy = MemoryContextAllocHuge(context, sizeof(float) * n);
	memcpy(copy, values, sizeof(float) * n);
	qsort(copy, n, sizeof(float), compare_floats);
	/* the lower median, as percentile_disc(0.5) in the SQL engine */
	result = copy[(n - 1) / 2];
	pfree(copy);
	return result;
}
