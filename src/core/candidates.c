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
candidates_add_slow(CandidateQueue *q, double score, uint64_t payload)
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

/* Scores sampled to place a large refill's threshold. */
#define REFILL_SAMPLE 512

/* The k-th largest (k ≥ 1) of n doubles, reordering them. */
static double
kth_largest(double *a, size_t n, size_t k)
{
	size_t		lo = 0;
	size_t		hi = n - 1;

	k--;
	while (lo < hi)
	{
		double		pivot = a[lo + (hi - lo) / 2];
		size_t		i = lo;
		size_t		j = hi;

		while (i <= j)
		{
			while (a[i] > pivot)
				i++;
			while (a[j] < pivot)
				j--;
			if (i <= j)
			{
				double		t = a[i];

				a[i] = a[j];
				a[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return a[k];
}

/*
 * The heap's top is below the pool's best (or the heap is empty): the
 * pool's best move into the heap, the floor drops to the best left.
 *
 * A small pool: one selection finds both (the best m + 1: the least of them
 * is the best left).  A large one (a scan's tens of thousands of rows): a
 * threshold from a sample of the pool that about 2m rows reach, then one
 * pass that moves every row at or above it into the heap and keeps the
 * rest in place, taking their best; a selection over the whole pool would
 * cost several passes of unpredictable branches.  Either way each refill
 * moves about four times as many as the last, so a scan asked for many
 * rows (a selective filter) refills a few times.
 */
static void
refill(CandidateQueue *q)
{
	size_t		n = q->pool_count;
	size_t		m = q->refill_size < n ? q->refill_size : n;
	double		floor = -INFINITY;

	if (n > 8 * m && n > 8 * REFILL_SAMPLE)
	{
		double		sample[REFILL_SAMPLE];
		size_t		stride = n / REFILL_SAMPLE;
		size_t		k = (2 * m * REFILL_SAMPLE + n - 1) / n;
		double		threshold;
		size_t		kept = 0;

		for (size_t i = 0; i < REFILL_SAMPLE; i++)
			sample[i] = q->pool[i * stride].score;
		threshold = kth_largest(sample, REFILL_SAMPLE, k < 1 ? 1 : k);
		if (!isnan(threshold))
		{
			/* threshold is a pooled score, so at least one row moves */
			for (size_t i = 0; i < n; i++)
			{
				Candidate	c = q->pool[i];

				if (c.score >= threshold)
					heap_push(q, c);
				else
				{
					q->pool[kept++] = c;
					floor = c.score > floor ? c.score : floor;
				}
			}
			q->pool_count = kept;
			goto done;
		}
	}
	if (m < n)
	{
		size_t		least = 0;
		Candidate	t;

		candidates_select_best(q->pool, n, m + 1);
		for (size_t i = 1; i <= m; i++)
			least = q->pool[i].score < q->pool[least].score ? i : least;
		floor = q->pool[least].score;
		/* the least of the m + 1 stays: swap it past the best m */
		t = q->pool[least];
		q->pool[least] = q->pool[m];
		q->pool[m] = t;
	}
	else
		candidates_select_best(q->pool, n, m);
	for (size_t i = 0; i < m; i++)
	{
		heap_push(q, q->pool[i]);
		/* fill the hole from the pool's end (beyond the best m) */
		q->pool[i] = q->pool[n - 1 - i < m ? i : n - 1 - i];
	}
	q->pool_count = n - m;
done:
	q->floor = floor;
	q->pool_max = floor;
	q->tracking = false;
	q->refill_size *= 4;
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
