/*
 * context_train.h
 *		irec_train(..., context_columns => ARRAY[...]): iALS for a context of
 *		several fields (core/context.h), from the arguments irec_train parsed.
 */
#ifndef IREC_CONTEXT_TRAIN_H
#define IREC_CONTEXT_TRAIN_H

#include "postgres.h"

#include <time.h>

#include "core/context.h"
#include "core/ials.h"
#include "interactions.h"
#include "model.h"

typedef struct ContextTrainRequest
{
	InteractionSource source;	/* user_column: the first field */
	int			n_fields;
	char	  **columns;		/* the context fields, in order */
	ContextModelKind kind;
	const char *kind_name;		/* 'sum' or 'product' */
	int			epochs;
	IalsConfig	config;			/* dims, λ, ν, α0, the item step's solver, threads */
	const char *solver_name;
	bool		shape_unobserved_weight;	/* α0 left out: from the contexts' shape */
	bool		shape_regularization;	/* λ left out: likewise */
	bool		log_confidence;
	const char *confidence_name;
	double		alpha;
	double		epsilon;
	bool		shape_epsilon;	/* ε left out: the median summed weight */
	double		init_std;
	int64		seed;
	bool		quiet;
} ContextTrainRequest;

/*
 * context_train: load, train and write a context model into the tables
 * of `target` (whose users table becomes the first field's), register it,
 * and return its name in `caller`'s memory.  Needs an SPI connection.
 */
extern text *context_train(const ContextTrainRequest *request, ModelTarget *target,
						   MemoryContext caller, const struct timespec *start);

/*
 * context_check_columns: the context columns exist in the source, are of
 * an id type, are distinct and differ from the item column; ERRORs say which.
 */
extern void context_check_columns(const InteractionSource *source, int n_fields, char **columns);

#endif							/* IREC_CONTEXT_TRAIN_H */
