/*
 * evaluate.c
 *		Full-ranking evaluation (see evaluate.h).
 *
 * Ranks are counted, not selected: for every held-out item one vectorized
 * pass over the user's scores counts the candidates above it.  That gives
 * the exact rank of every relevant item, which AUC needs (a top-k selection
 * would only serve the @k metrics); the work is |test| × |I| compares, 16 per
 * instruction, well below the sgemm that produced the scores.
 */
#include "evaluate.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "metrics.h"
#include "parallel.h"
#include "vecmath.h"

/* Users scored by one sgemm: a block of scores stays in L2/L3 cache. */
#define EVAL_BLOCK_USERS 32

size_t
evaluate_scratch_bytes(const EvalProblem *problem)
{
	return sizeof(float) * (size_t) EVAL_BLOCK_USERS * problem->n_items +
		sizeof(int64_t) * (problem->max_relevant + evaluate_rank_work(problem->max_relevant));
}

size_t
evaluate_rank_work(size_t n_relevant)
{
	return n_relevant;
}

void
evaluate_ranks(float *scores, size_t n_items, const int32_t *relevant,
			   size_t n_relevant, const int32_t *seen, size_t n_seen,
			   int64_t *ranks, int64_t *work)
{
	float	   *own = (float *) work;	/* the relevant items' scores */

	for (size_t q = 0; q < n_relevant; q++)
		own[q] = scores[relevant[q]];
	/* seen and relevant items are not candidates: −∞ never counts as above */
	for (size_t s = 0; s < n_seen; s++)
		scores[seen[s]] = -INFINITY;
	for (size_t q = 0; q < n_relevant; q++)
		scores[relevant[q]] = -INFINITY;

	for (size_t q = 0; q < n_relevant; q++)
	{
		size_t		i = (size_t) relevant[q];
		float		t = own[q];
		int64_t		rank = 1;

		/* candidates above: ties rank the smaller index first */
		rank += (int64_t) vec_count_greater_equal(scores, i, t);
		rank += (int64_t) vec_count_greater(scores + i + 1, n_items - i - 1, t);
		/* and the other relevant items above it */
		for (size_t p = 0; p < n_relevant; p++)
			rank += own[p] > t || (own[p] == t && relevant[p] < relevant[q]);
		ranks[q] = rank;
	}
}

typedef struct EvalJob
{
	const EvalProblem *problem;
	size_t		first_user;
	size_t		end_user;
	double	   *per_user;
	char	   *scratch;
} EvalJob;

static int
evaluate_block(void *context, size_t begin, size_t end, int thread)
{
	EvalJob    *job = (EvalJob *) context;
	const EvalProblem *p = job->problem;
	char	   *mine = job->scratch + evaluate_scratch_bytes(p) * (size_t) thread;
	float	   *scores = (float *) mine;
	int64_t    *ranks = (int64_t *) (mine + sizeof(float) * (size_t) EVAL_BLOCK_USERS * p->n_items);
	int64_t    *work = ranks + p->max_relevant;

	for (size_t block = begin; block < end; block++)
	{
		size_t		first = job->first_user + block * EVAL_BLOCK_USERS;
		size_t		last = first + EVAL_BLOCK_USERS;

		if (last > job->end_user)
			last = job->end_user;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) (last - first),
					(int) p->n_items, p->dims, 1.0f, p->users + first * p->dims, p->dims,
					p->items, p->dims, 0.0f, scores, (int) p->n_items);
		for (size_t u = first; u < last; u++)
		{
			float	   *row = scores + (u - first) * p->n_items;
			size_t		n_relevant = p->relevant_start[u + 1] - p->relevant_start[u];
			size_t		n_seen = p->seen_start[u + 1] - p->seen_start[u];
			double	   *out = job->per_user + u * EVAL_N_METRICS;
			int64_t		candidates = (int64_t) p->n_items - (int64_t) n_seen;

			evaluate_ranks(row, p->n_items, p->relevant + p->relevant_start[u], n_relevant,
						   p->seen + p->seen_start[u], n_seen, ranks, work);
			out[EVAL_RECALL] = metric_recall(ranks, n_relevant, p->k);
			out[EVAL_PRECISION] = metric_precision(ranks, n_relevant, p->k);
			out[EVAL_NDCG] = metric_ndcg(ranks, n_relevant, p->k);
			out[EVAL_AP] = metric_average_precision(ranks, n_relevant, p->k);
			out[EVAL_AUC] = metric_auc(ranks, n_relevant, candidates);
		}
	}
	return 0;
}

int
evaluate_users(const EvalProblem *problem, size_t begin, size_t end,
			   double *per_user, void *scratch)
{
	EvalJob		job = {problem, begin, end, per_user, (char *) scratch};
	size_t		n_blocks = (end - begin + EVAL_BLOCK_USERS - 1) / EVAL_BLOCK_USERS;

	if (end <= begin)
		return 0;
	return parallel_for(problem->threads, n_blocks, 1, evaluate_block, &job);
}
