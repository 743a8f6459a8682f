/*
 * sparse.c
 *		CSR construction (see sparse.h).
 */
#include "sparse.h"

#include <string.h>

int
csr_build(size_t n_rows, size_t n_cols, size_t nnz, const int32_t *rows,
		  const int32_t *cols, const float *values, CsrMatrix *out)
{
	size_t	   *next = out->row_start;

	out->n_rows = n_rows;
	out->n_cols = n_cols;
	out->nnz = nnz;
	memset(out->row_start, 0, sizeof(size_t) * (n_rows + 1));
	for (size_t k = 0; k < nnz; k++)
	{
		if (rows[k] < 0 || (size_t) rows[k] >= n_rows ||
			cols[k] < 0 || (size_t) cols[k] >= n_cols)
			return -1;
		out->row_start[rows[k] + 1]++;
	}
	for (size_t r = 0; r < n_rows; r++)
		out->row_start[r + 1] += out->row_start[r];

	/*
	 * Scatter using row_start[r] as the insertion cursor of row r, then shift
	 * the array back by one row: avoids a second n_rows-sized buffer.
	 */
	for (size_t k = 0; k < nnz; k++)
	{
		size_t		at = next[rows[k]]++;

		out->col[at] = cols[k];
		out->value[at] = values ? values[k] : 1.0f;
	}
	for (size_t r = n_rows; r > 0; r--)
		out->row_start[r] = out->row_start[r - 1];
	out->row_start[0] = 0;
	return 0;
}

size_t
csr_max_row_nnz(const CsrMatrix *m)
{
	size_t		max = 0;

	for (size_t r = 0; r < m->n_rows; r++)
	{
		size_t		count = m->row_start[r + 1] - m->row_start[r];

		if (count > max)
			max = count;
	}
	return max;
}
