/*
 * candidates.c
 *		A heap of the best candidates over a pool of the rest (candidates.h).
 */
#include "candidates.h"

#include <math.h>
#include <string.h>

#define INITIAL_CAPACITY 1024

void
candidates_init(CandidateQueue *q, CandidateResize resize, void *resize_arg)
{
	q->resize = resize;
	q->resize_arg = resize_arg;
	q->heap_capacity = INITIAL_CAPACITY;
	q->heap = resize(NULL, sizeof(Candidate) * q->heap_capacity, resize_arg);
	q->heap_count = 0;
	q->pool_capacity = INITIAL_CAPACITY;
	q->pool = resize(NULL, sizeof(Candidate) * q->pool_capacity, resize_arg);
	q->pool_count = 0;
	q->pool_max = -INFINITY;
	q->tracking = true;
	q->tracked_count = 0;
	q->floor = -INFINITY;
	q->refill_size = CANDIDATES_TRACKED;
}

static void
heap_push(CandidateQueue *q, Candidate c)
{
	size_t		at;

	if (q->heap_count == q->heap_capacity)
	{
		q->heap_capacity *= 2;
		q->heap = q->resize(q->heap, sizeof(Candidate) * q->heap_capacity, q->resize_arg);
	}
	at = q->heap_count++;
	while (at > 0)
	{
		size_t		parent = (at - 1) / 2;

		if (q->heap[parent].score >= c.score)
			break;
		q->heap[at] = q->heap[parent];
		at = parent;
	}
	q->heap[at] = c;
}

/* Replace the least of the tracked scores (a min-heap) with a better one. */
static void
track_replace_least(CandidateQueue *q, double score)
{
	size_t		at = 0;

	for (;;)
	{
		size_t		child = 2 * at + 1;

		if (child >= q->tracked_count)
			break;
		if (child + 1 < q->tracked_count && q->tracked[child + 1] < q->tracked[child])
			child++;
		if (q->tracked[child] >= score)
			break;
		q->tracked[at] = q->tracked[child];
		at = child;
	}
	q->tracked[at] = score;
}

static void
track_push(CandidateQueue *q, double score)
{
	size_t		at = q->tracked_count++;

	while (at > 0 && q->tracked[(at - 1) / 2] > score)
	{
		q->tracked[at] = q->tracked[(at - 1) / 2];
		at = (at - 1) / 2;
	}
	q->tracked[at] = score;
}

void
candidates_add(CandidateQueue *q, double score, uint64_t payload)
{
	Candidate	c = {score, payload};
	bool		promising;

	if (!q->tracking)
		promising = score >= q->floor;
	else if (q->tracked_count < CANDIDATES_TRACKED)
	{
		track_push(q, score);
		promising = true;
	}
	else if (score > q->tracked[0])
	{
		track_replace_least(q, score);
		promising = true;
	}
	else
		promising = false;
	if (promising)
	{
		heap_push(q, c);
		return;
	}
	if (q->pool_count == q->pool_capacity)
	{
		q->pool_capacity *= 2;
		q->pool = q->resize(q->pool, sizeof(Candidate) * q->pool_capacity, q->resize_arg);
	}
	q->pool[q->pool_count++] = c;
	q->pool_max = score > q->pool_max ? score : q->pool_max;
}

void
candidates_select_best(Candidate *a, size_t n, size_t m)
{
	size_t		lo = 0;
	size_t		hi = n;

	/* invariant: a[0 .. lo) beat a[lo .. hi), which beat a[hi .. n) */
	while (hi - lo > 1)
	{
		double		pivot = a[lo + (hi - lo) / 2].score;
		size_t		lt = lo;		/* [lo, lt): above the pivot */
		size_t		i = lo;			/* [lt, i): equal to it */
		size_t		gt = hi;		/* [gt, hi): below it */

		while (i < gt)
		{
			Candidate	t = a[i];

			if (t.score > pivot)
			{
				a[i++] = a[lt];
				a[lt++] = t;
			}
			else if (t.score < pivot)
			{
				a[i] = a[--gt];
				a[gt] = t;
			}
			else
				i++;
		}
		if (m <= lt)
			hi = lt;
		else if (m <= gt)
			return;
		else
			lo = gt;
	}
}

/*
 * The heap's top is below the pool's best (or the heap is empty): the
 * pool's best move into the heap, the floor drops to the best left.
 */
static void
refill(CandidateQueue *q)
{
	size_t		m = q->refill_size < q->pool_count ? q->refill_size : q->pool_count;
	double		floor = -INFINITY;

	candidates_select_best(q->pool, q->pool_count, m);
	for (size_t i = 0; i < m; i++)
		heap_push(q, q->pool[i]);
	for (size_t i = m; i < q->pool_count; i++)
		floor = q->pool[i].score > floor ? q->pool[i].score : floor;
	memmove(q->pool, q->pool + m, sizeof(Candidate) * (q->pool_count - m));
	q->pool_count -= m;
	q->floor = floor;
	q->pool_max = floor;
	q->tracking = false;
	q->refill_size *= 2;
}

const Candidate *
candidates_peek(CandidateQueue *q)
{
	if (candidates_count(q) == 0)
		return NULL;
	/* the pool holds something better than the heap's top */
	if (q->heap_count == 0 || q->heap[0].score < q->pool_max)
		refill(q);
	return &q->heap[0];
}

Candidate
candidates_pop(CandidateQueue *q)
{
	Candidate	top;
	Candidate	last;
	size_t		at = 0;

	(void) candidates_peek(q);
	top = q->heap[0];
	last = q->heap[--q->heap_count];
	for (;;)
	{
		size_t		child = 2 * at + 1;

		if (child >= q->heap_count)
			break;
		if (child + 1 < q->heap_count && q->heap[child + 1].score > q->heap[child].score)
			child++;
		if (q->heap[child].score <= last.score)
			break;
		q->heap[at] = q->heap[child];
		at = child;
	}
	if (q->heap_count > 0)
		q->heap[at] = last;
	return top;
}
