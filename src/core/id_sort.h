/*
 * id_sort.h
 *		Sorting ids for the loader: dense numbering of 64-bit ids and the
 *		merging of repeated (user, item) pairs, by LSD radix sort.
 *
 * The glue's fast loader (interactions.c) reads an interactions table's
 * integer ids straight from the heap; these turn them into what the SQL
 * path gets from dense_rank() and GROUP BY: ids numbered 0.. in ascending
 * order, one entry per distinct pair with the weights summed.  A radix sort
 * is O(n) per pass and skips the byte positions where all keys agree, so
 * ids that span a small range take two or three passes; ids within 4·n
 * values of each other are numbered through a table over their range
 * instead, with no sort.
 */
#ifndef IREC_ID_SORT_H
#define IREC_ID_SORT_H

#include <stddef.h>
#include <stdint.h>

/*
 * radix_sort_u64: sort keys ascending, moving payload along; stable (equal
 * keys keep their order).  tmp_keys and tmp_payload hold n elements each.
 */
void		radix_sort_u64(uint64_t *keys, uint32_t *payload, size_t n,
						   uint64_t *tmp_keys, uint32_t *tmp_payload);

/*
 * dense_rank_i64: rank[r] = the position of ids[r] among the distinct ids
 * in ascending (signed) order; distinct[] gets those ids.  Returns their
 * count.  work holds 2·n keys and work_payload 2·n payloads.
 */
size_t		dense_rank_i64(const int64_t *ids, size_t n, int32_t *rank, int64_t *distinct,
						   uint64_t *work, uint32_t *work_payload);

/*
 * merge_pairs: the distinct (rows[r], cols[r]) pairs in (row, column)
 * order with values summed in input order (double), written to out_rows,
 * out_cols and out_values; returns their count.  work and work_payload as
 * for dense_rank_i64.  Sums are left in double for the caller to check.
 */
size_t		merge_pairs(const int32_t *rows, const int32_t *cols, const double *values,
						size_t n, int32_t *out_rows, int32_t *out_cols, double *out_values,
						uint64_t *work, uint32_t *work_payload);

#endif							/* IREC_ID_SORT_H */
