/*
 * topn.c
 *		Bounded min-heap top-n selection (see topn.h).
 *
 * The root holds the worst kept entry, so a candidate is compared with one
 * value and most of a long stream is rejected without touching the heap.
 */
#include "topn.h"

#include <stdlib.h>

static void
sift_down(TopnEntry *heap, size_t count, size_t at)
{
	for (;;)
	{
		size_t		worst = at;
		size_t		left = 2 * at + 1;
		size_t		right = left + 1;
		TopnEntry	tmp;

		if (left < count && topn_better(&heap[worst], &heap[left]))
			worst = left;
		if (right < count && topn_better(&heap[worst], &heap[right]))
			worst = right;
		if (worst == at)
			return;
		tmp = heap[at];
		heap[at] = heap[worst];
		heap[worst] = tmp;
		at = worst;
	}
}

int
topn_push(Topn *topn, float score, int64_t index)
{
	TopnEntry	entry = {score, index};

	if (topn->capacity == 0)
		return 0;
	if (topn->count < topn->capacity)
	{
		size_t		at = topn->count++;

		/* sift up: the parent must be worse than the child */
		while (at > 0)
		{
			size_t		parent = (at - 1) / 2;

			if (!topn_better(&topn->entries[parent], &entry))
				break;
			topn->entries[at] = topn->entries[parent];
			at = parent;
		}
		topn->entries[at] = entry;
		return 1;
	}
	if (!topn_better(&entry, &topn->entries[0]))
		return 0;
	topn->entries[0] = entry;
	sift_down(topn->entries, topn->count, 0);
	return 1;
}

static int
compare_best_first(const void *a, const void *b)
{
	const TopnEntry *x = (const TopnEntry *) a;
	const TopnEntry *y = (const TopnEntry *) b;

	if (topn_better(x, y))
		return -1;
	if (topn_better(y, x))
		return 1;
	return 0;
}

void
topn_finish(Topn *topn)
{
	qsort(topn->entries, topn->count, sizeof(TopnEntry), compare_best_first);
}
