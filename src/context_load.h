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
 * context_load: one statement, read through a cursor, so that every row
 * comes from one snapshot; rows with no item, no weight or every field NULL
 * are counted in skipped_rows.  Numbers are in key order (the model does not
 * depend on the rows' physical order).  Allocates in `context`; needs an SPI
 * connection.  ERROR when no interaction is left.
 */
extern void context_load(const ContextTrainRequest *request, MemoryContext context, ContextLoad *out);

#endif							/* IREC_CONTEXT_LOAD_H */
