/*
 * evaluate.h
 *		Full-ranking evaluation of a dot-product model (DESIGN §2.3): every
 *		user is scored against every item, the user's training items are
 *		excluded, and the held-out items' ranks give Precision, Recall, AP
 *		and NDCG at k and AUC.
 */
#ifndef IREC_EVALUATE_H
#define IREC_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

enum
{
	EVAL_RECALL,
	EVAL_PRECISION,
	EVAL_NDCG,
	EVAL_AP,
	EVAL_AUC,
	EVAL_N_METRICS
};

typedef struct EvalProblem
{
	int			dims;
	int			k;				/* cut-off of the @k metrics */
	int			threads;
	size_t		n_items;
	const float *items;			/* n_items × dims */
	size_t		n_users;
	const float *users;			/* n_users × dims */
	const size_t *relevant_start;	/* n_users + 1 offsets */
	const int32_t *relevant;	/* held-out item indices, not also in seen */
	const size_t *seen_start;	/* n_users + 1 offsets */
	const int32_t *seen;		/* excluded (training) item indices */
	size_t		max_relevant;	/* largest relevant set of one user */
} EvalProblem;

/* Bytes of scratch space per thread. */
size_t		evaluate_scratch_bytes(const EvalProblem *problem);

/*
 * evaluate_users: metrics of users [begin, end) into per_user
 * (n_users × EVAL_N_METRICS doubles, row = user).  Users are scored in
 * blocks by one sgemm each; scratch holds threads × evaluate_scratch_bytes.
 * Returns 0.
 */
int			evaluate_users(const EvalProblem *problem, size_t begin, size_t end,
						   double *per_user, void *scratch);

/*
 * evaluate_ranks: 1-based ranks of the relevant items among the candidates
 * (all items but the seen ones) given one user's scores, which the function
 * overwrites (seen and relevant entries are set to −∞).  Ties rank the
 * smaller item index first.  ranks gets one entry per relevant item, in the
 * order of `relevant`; work holds evaluate_rank_work(n_relevant) int64s.
 */
void		evaluate_ranks(float *scores, size_t n_items,
						   const int32_t *relevant, size_t n_relevant,
						   const int32_t *seen, size_t n_seen,
						   int64_t *ranks, int64_t *work);

/* int64s of work space evaluate_ranks needs for n_relevant items. */
size_t		evaluate_rank_work(size_t n_relevant);

#endif							/* IREC_EVALUATE_H */
