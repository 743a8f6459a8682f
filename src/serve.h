/*
 * serve.h
 *		What the fold-in functions share (serve.c; context_serve.c).
 */
#ifndef IREC_SERVE_H
#define IREC_SERVE_H

#include "postgres.h"

#include "fmgr.h"

#include "model.h"

/* Validate the items/weights arrays (arguments items_arg, weights_arg) of a fold-in function. */
extern void check_fold_in_args(FunctionCallInfo fcinfo, int items_arg, int weights_arg);

/*
 * fold_in_gather: the given items the model has, in item_id order, their
 * embeddings into *gathered (count × dims) and the model's confidence of
 * each one's summed weight (one per occurrence without weights) into
 * *alpha; returns count.  SPI_tuptable holds (item_id, embedding, weight)
 * of those items afterwards.
 */
extern int	fold_in_gather(const ModelInfo *model, Datum items, Oid array_type, Datum weights,
						   bool has_weights, float **gathered, float **alpha);

#endif							/* IREC_SERVE_H */
