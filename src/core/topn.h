/*
 * topn.h
 *		The one top-n selector: a bounded min-heap of (score, index) pairs.
 *
 * Higher scores are better.  Ties are broken by the smaller index, so the
 * selection is deterministic.  The caller owns the storage (capacity
 * entries).
 */
#ifndef IREC_TOPN_H
#define IREC_TOPN_H

#include <stddef.h>
#include <stdint.h>

typedef struct TopnEntry
{
	float		score;
	int64_t		index;
} TopnEntry;

typedef struct Topn
{
	TopnEntry  *entries;		/* heap while filling; sorted after topn_finish */
	size_t		capacity;
	size_t		count;
} Topn;

static inline void
topn_init(Topn *topn, TopnEntry *storage, size_t capacity)
{
	topn->entries = storage;
	topn->capacity = capacity;
	topn->count = 0;
}

/* a ranks before b: higher score, then smaller index */
static inline int
topn_better(const TopnEntry *a, const TopnEntry *b)
{
	return a->score > b->score || (a->score == b->score && a->index < b->index);
}

/*
 * topn_threshold_rejects: cheap pre-check for hot loops; true when `score`
 * cannot enter a full heap (equal scores may still enter by index, so the
 * test is strict).
 */
static inline int
topn_threshold_rejects(const Topn *topn, float score)
{
	return topn->count == topn->capacity && score < topn->entries[0].score;
}

/* Offer one candidate; returns 1 when it was kept. */
int			topn_push(Topn *topn, float score, int64_t index);

/* Sort the kept entries best first; the Topn must not be pushed to after. */
void		topn_finish(Topn *topn);

#endif							/* IREC_TOPN_H */
