/*
 * context_load.h
 *		Reading a context model's interactions: each (context, item) pair
 *		once with its summed weight, field values, items and contexts
 *		numbered (context_load.c).
 */
#ifndef IREC_CONTEXT_LOAD_H
#define IREC_CONTEXT_LOAD_H

#include "postgres.h"

#include "context_train.h"
#include "interactions.h"

/* The contexts' interactions, numbered. */
typedef struct ContextLoad
{
	int			n_fields;
	IdMap	   *field_ids;		/* per field: index → value */
	IdMap		items;
	size_t		n_contexts;
	int32	   *context_values; /* n_contexts × n_fields, −1 absent */
	size_t		nnz;			/* distinct (context, item) pairs */
	int32	   *context_of;		/* nnz */
	int32	   *item_of;		/* nnz */
	float	   *weight;			/* nnz: summed weights (row counts without a weight column) */
	int64		skipped_rows;
	char	   *source_name;
} ContextLoad;

/*
 * context_load: a plain table whose field and item values group by their
 * bytes (integer, bigint, uuid, text under a deterministic collation)
 * straight from its heap, anything else through one statement
 * read with a cursor; either way every row comes from one snapshot.  Rows
 * with no item, no weight or every field NULL are counted in skipped_rows.
 * Numbers, and the pairs, are in key order: the model does not depend on
 * the rows' physical order or on the path.  Allocates in `context`; needs
 * an SPI connection.  ERROR when no interaction is left.
 */
extern void context_load(const ContextTrainRequest *request, MemoryContext context, ContextLoad *out);

#endif							/* IREC_CONTEXT_LOAD_H */
