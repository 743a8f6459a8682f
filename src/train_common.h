/*
 * train_common.h
 *		What the in-memory trainers' entry points share (train.c for users ×
 *		items, context_train.c for contexts): the clock, interrupt checks
 *		between blocks of BLAS work, chunks of solving, CSR matrices in a
 *		memory context, the median weight.
 */
#ifndef IREC_TRAIN_COMMON_H
#define IREC_TRAIN_COMMON_H

#include "postgres.h"

#include <time.h>

#include "core/ials.h"
#include "core/sparse.h"

/*
 * Work between two interrupt checks, in floating-point operations: about
 * 0.1 s of BLAS at 100 GFLOP/s, and enough rows per chunk at large dims
 * for CG's blocks of rows (ials_solve_rows) to be full, so that each
 * Gramian product is a real matrix product.  Each chunk starts its threads
 * anew, which costs tens of microseconds.
 */
#define FLOPS_PER_CHUNK 1e10

/* Seconds on the monotonic clock since `start`. */
extern double seconds_since(const struct timespec *start);

/* CHECK_FOR_INTERRUPTS() as the core's between-blocks callback. */
extern void check_interrupts(void *unused);

/*
 * gramian: factorsᵀ·factors (n rows × dims) in blocks of about
 * FLOPS_PER_CHUNK, checking for interrupts between blocks: at dims 4096
 * one Gramian of 20,000 rows is seconds of BLAS.  partials: threads × d².
 */
extern void gramian(const float *factors, size_t n, int dims, int threads, float *gram,
					float *partials);

/*
 * solve_rows_polled: ials_solve_rows_polled over rows [begin, end) of m
 * on config's threads, in blocks of at most FLOPS_PER_CHUNK split over
 * the threads, stopping between blocks once an interrupt is pending
 * (InterruptPending; the caller runs CHECK_FOR_INTERRUPTS() after).  The
 * rows solved are [begin, *done).  One call per half-step instead of one
 * per chunk: each call waits for its slowest thread at the end (at dims
 * 1024, irec_train on the Gowalla shape, three alternating trainings
 * each, chunks of 1e10 flops 5.26–5.47 s per epoch, of 4e10 5.09–5.14).
 */
extern int	solve_rows_polled(const IalsConfig *config, const CsrMatrix *m, const float *other,
							  const float *gram, float *target, size_t begin, size_t end,
							  float *scratch, double *row_loss, size_t *done);

/*
 * solve_chunk_end: the end of the chunk of rows of m from `begin` that
 * takes about FLOPS_PER_CHUNK to solve, with config's solver (exact: as
 * Cholesky whatever the solver).
 */
extern size_t solve_chunk_end(const IalsConfig *config, const CsrMatrix *m, size_t begin, bool exact);

/* alloc_cache_aligned: irec_alloc_large, 64-byte aligned (the SIMD kernels' rows). */
extern void *alloc_cache_aligned(MemoryContext context, size_t bytes);

/* build_csr: csr_build into arrays of `context` (ERROR on an index out of range). */
extern void build_csr(MemoryContext context, size_t n_rows, size_t n_cols, size_t nnz,
					  const int32 *rows, const int32 *cols, const float *values, CsrMatrix *out);

/* median_of: the lower median of n values (percentile_disc(0.5)), sorting a copy; 0 for none. */
extern double median_of(const float *values, size_t n, MemoryContext context);

#endif							/* IREC_TRAIN_COMMON_H */
