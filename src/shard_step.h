/*
 * shard_step.h
 *		irec_als_shard_step (shard_step.c): one iALS half-step over one table
 *		of interactions, the SQL engine's unit of work on Citus workers and
 *		on one server.
 */
#ifndef IREC_SHARD_STEP_H
#define IREC_SHARD_STEP_H

#include "postgres.h"

/*
 * shard_step_block_rows: how many rows of `dims` components a block of a
 * side table holds (shard_step.c: about 8 kB, at least one row).
 */
extern int	shard_step_block_rows(int dims);

/*
 * shard_step_read_embeddings: the rows (idx 0..n−1, each once; ERROR
 * otherwise) of a table named by `table`, of blocks (a bytea column `block`) or of rows
 * (idx integer, embedding), as an
 * n × dims matrix in `context`.
 */
extern float *shard_step_read_embeddings(const char *table, int dims, MemoryContext context, size_t *n);

#endif							/* IREC_SHARD_STEP_H */
