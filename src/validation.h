/*
 * validation.h
 *		Early stopping: a held-out interactions table scored after every
 *		training epoch with the evaluation kernel (core/evaluate.c).
 */
#ifndef IREC_VALIDATION_H
#define IREC_VALIDATION_H

#include "postgres.h"

#include "core/evaluate.h"
#include "core/sparse.h"
#include "interactions.h"

typedef struct Validation
{
	int			metric;			/* EVAL_NDCG or EVAL_RECALL */
	const char *metric_name;
	int			patience;		/* epochs without improvement before stopping */
	EvalProblem problem;
	int32	   *user_rows;		/* training row of each validation user */
	float	   *users;			/* their embeddings, gathered per epoch */
	double	   *per_user;
	void	   *scratch;
	int64		pairs;			/* validation pairs used */
	/* the run */
	double	   *scores;			/* per epoch */
	double		best;
	int			best_epoch;		/* -1 before the first epoch */
	float	   *best_users;
	float	   *best_items;
} Validation;

/*
 * validation_load: read `relid`'s (user, item) pairs with the training
 * source's column names, keep those whose user and item the training data
 * knows and that are not training pairs, and prepare the evaluation.
 * ERRORs (with hints) on other id types, an empty table, or no usable pair.
 * Needs an open SPI connection; allocates in `context`.
 */
extern void validation_load(Validation *v, Oid relid, const InteractionSource *train,
							const Interactions *data, const CsrMatrix *by_user, int dims,
							int k, int threads, int max_epochs, MemoryContext context);

/*
 * validation_epoch: score the model after `epoch` (0-based), keep a copy of
 * the best epoch's embeddings; returns true when training should stop (no
 * improvement for `patience` epochs).
 */
extern bool validation_epoch(Validation *v, int epoch, const float *users, size_t n_users,
							 const float *items, size_t n_items, bool quiet);

/* validation_restore: put the best epoch's embeddings back. */
extern void validation_restore(const Validation *v, float *users, size_t n_users,
							   float *items, size_t n_items);

#endif							/* IREC_VALIDATION_H */
