/*
 * sparse.h
 *		Compressed sparse row (CSR) matrices of interactions.
 *
 * iALS sweeps the interactions once by user and once by item, so the loader
 * builds both orientations from one list of (row, column, value) triples.
 */
#ifndef IREC_SPARSE_H
#define IREC_SPARSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct CsrMatrix
{
	size_t		n_rows;
	size_t		n_cols;
	size_t		nnz;
	size_t	   *row_start;		/* n_rows + 1 offsets into col/value */
	int32_t    *col;			/* nnz column indices */
	float	   *value;			/* nnz values */
} CsrMatrix;

/*
 * csr_build: fill out (whose row_start, col and value arrays the caller has
 * allocated with n_rows + 1, nnz and nnz elements) from nnz triples.  A
 * counting sort: O(nnz + n_rows), stable, so entries keep their input order
 * within a row; values NULL gives every entry 1.  Returns 0, or -1 when an
 * index is out of range.
 */
int			csr_build(size_t n_rows, size_t n_cols, size_t nnz,
					  const int32_t *rows, const int32_t *cols,
					  const float *values, CsrMatrix *out);

/* Largest number of entries in one row. */
size_t		csr_max_row_nnz(const CsrMatrix *m);

#endif							/* IREC_SPARSE_H */
