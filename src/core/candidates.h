/*
 * candidates.h
 *		The index scan's candidates, best first, for a scan that does not
 *		know how many it will be asked for.
 *
 * Why not one heap: a scan bounds tens of thousands of rows and the
 * executor takes a few dozen.  Inserting every one into a binary heap costs
 * a cache miss per insertion once the heap outgrows the cache.  Here the
 * promising ones go to a max-heap and the rest to an unsorted pool (an
 * append each).  Until the first pop, "promising" means among the best
 * CANDIDATES_TRACKED seen so far (a small min-heap of their scores tracks
 * the last of them), which a few hundred of tens of thousands are; after a
 * refill, at or above the floor it set.  A pop takes the heap's top when
 * it is at least the pool's best; otherwise a quickselect first moves the
 * pool's best `refill_size` into the heap (which then doubles), and the
 * floor becomes the best score left in the pool.
 */
#ifndef IREC_CANDIDATES_H
#define IREC_CANDIDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Candidate
{
	double		score;			/* higher is better */
	uint64_t	payload;		/* the caller's (the scan: a heap TID) */
} Candidate;

/* Grows an array: like realloc, but must not return NULL (it may throw). */
typedef void *(*CandidateResize) (void *ptr, size_t bytes, void *arg);

/* How many of the best the queue tracks before its first refill. */
#define CANDIDATES_TRACKED 64

typedef struct CandidateQueue
{
	Candidate  *heap;			/* max-heap by score */
	size_t		heap_count;
	size_t		heap_capacity;
	Candidate  *pool;			/* unsorted */
	size_t		pool_count;
	size_t		pool_capacity;
	double		pool_max;		/* the best pooled score (−Inf: none) */
	bool		tracking;		/* before the first refill */
	double		tracked[CANDIDATES_TRACKED];	/* min-heap: the best scores seen */
	size_t		tracked_count;
	double		floor;			/* after a refill: what goes to the heap */
	size_t		refill_size;
	CandidateResize resize;
	void	   *resize_arg;
} CandidateQueue;

void		candidates_init(CandidateQueue *q, CandidateResize resize, void *resize_arg);
void		candidates_add_slow(CandidateQueue *q, double score, uint64_t payload);

/*
 * Add a candidate.  Inline for the common case, a candidate that is not
 * among the promising ones and goes to the pool with room left (a scan adds
 * tens of thousands per query); the rest in candidates_add_slow.
 */
static inline void
candidates_add(CandidateQueue *q, double score, uint64_t payload)
{
	bool		to_pool = q->tracking
		? q->tracked_count == CANDIDATES_TRACKED && !(score > q->tracked[0])
		: !(score >= q->floor);

	if (to_pool && q->pool_count < q->pool_capacity)
	{
		q->pool[q->pool_count].score = score;
		q->pool[q->pool_count].payload = payload;
		q->pool_count++;
		q->pool_max = score > q->pool_max ? score : q->pool_max;
		return;
	}
	candidates_add_slow(q, score, payload);
}

static inline size_t
candidates_count(const CandidateQueue *q)
{
	return q->heap_count + q->pool_count;
}

/* The best score, without moving anything; −Inf when there is no candidate. */
static inline double
candidates_best_score(const CandidateQueue *q)
{
	if (q->heap_count > 0 && q->heap[0].score >= q->pool_max)
		return q->heap[0].score;
	return q->pool_max;
}

/* The best candidate, left in place (NULL when there is none). */
const Candidate *candidates_peek(CandidateQueue *q);

/* Remove and return the best candidate; there must be one. */
Candidate	candidates_pop(CandidateQueue *q);

/*
 * candidates_select_best: reorder a[0 .. n−1] so that its m best (highest
 * score) come first, 1 ≤ m ≤ n, by quickselect with a three-way partition
 * (many equal scores cost no more than distinct ones).
 */
void		candidates_select_best(Candidate *a, size_t n, size_t m);

#endif							/* IREC_CANDIDATES_H */
