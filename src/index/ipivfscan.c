/*
 * ipivfscan.c
 *		Streaming top-n scans of an ipivf index, in exact distance order.
 *
 * At rescan every list gets a bound: no member can score above it.  Lists
 * are visited best bound first; each visited list's members are scored with
 * their full vectors and kept in a max-heap.  gettuple returns the heap's
 * best candidate once it is certain: its score is at least the bound of
 * every unvisited list, so nothing still unseen can beat it.  Results thus
 * come out in exact order for as long as the executor asks, through LIMIT,
 * OFFSET and filters alike.
 *
 * The speed/recall knob irec.probes (or the index's probes option) relaxes
 * the certificate: after that many lists (more once the executor has taken
 * more than 20 rows, see probe_budget) a candidate is returned even when an
 * unvisited list might, by its bound, hold something better; members of
 * later lists that would beat an already returned row are dropped, so the
 * order stays exact and only recall can suffer.  probes = 0 is exact.
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/vecmath.h"
#include "index/ipivf.h"

typedef struct Candidate
{
	double		score;			/* minus the operator's value, as ORDER BY sees it */
	ItemPointerData tid;
} Candidate;

typedef struct ListOrder
{
	double		key;			/* visiting order, best first */
	int32		list;
} ListOrder;

typedef struct IpivfScanOpaqueData
{
	MemoryContext context;		/* reset at each rescan */
	IpivfMetaPageData meta;
	bool		have_query;
	bool		unordered;		/* every distance is NULL or NaN: every row, any order */
	IvfQuery	query;
	IpivfList  *lists;
	ListOrder  *order;			/* lists in visiting order */
	int			next;			/* next list to visit (position in order) */
	ListOrder  *by_bound;		/* lists by bound, best first */
	bool	   *visited;		/* by list number */
	int			bound_next;		/* first position in by_bound maybe unvisited */
	int			probes;			/* 0: exact */
	Candidate  *heap;			/* max-heap by score */
	size_t		heap_count;
	size_t		heap_capacity;
	double		last_returned;	/* score of the last returned row */
	bool		returned_any;
	int64		returned;		/* rows returned so far */
	ItemPointerData *nans;		/* rows at NaN distance (cosine, zero vector): after all others */
	int			n_nans;
	int			nan_capacity;
	int			next_nan;
	ItemPointerData *nulls;		/* rows with a NULL embedding, returned last */
	int			n_nulls;
	int			next_null;		/* -1 until the NULL chain is read */
} IpivfScanOpaqueData;

typedef IpivfScanOpaqueData *IpivfScanOpaque;

static int
compare_bounds(const void *a, const void *b)
{
	const ListOrder *x = (const ListOrder *) a;
	const ListOrder *y = (const ListOrder *) b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->list - y->list;
}

static void
heap_push(IpivfScanOpaque so, double score, ItemPointer tid)
{
	size_t		at;

	if (so->heap_count == so->heap_capacity)
	{
		so->heap_capacity *= 2;
		so->heap = repalloc_huge(so->heap, sizeof(Candidate) * so->heap_capacity);
	}
	at = so->heap_count++;
	while (at > 0)
	{
		size_t		parent = (at - 1) / 2;

		if (so->heap[parent].score >= score)
			break;
		so->heap[at] = so->heap[parent];
		at = parent;
	}
	so->heap[at].score = score;
	so->heap[at].tid = *tid;
}

static Candidate
heap_pop(IpivfScanOpaque so)
{
	Candidate	top = so->heap[0];
	Candidate	last = so->heap[--so->heap_count];
	size_t		at = 0;

	for (;;)
	{
		size_t		child = 2 * at + 1;

		if (child >= so->heap_count)
			break;
		if (child + 1 < so->heap_count && so->heap[child + 1].score > so->heap[child].score)
			child++;
		if (so->heap[child].score <= last.score)
			break;
		so->heap[at] = so->heap[child];
		at = child;
	}
	if (so->heap_count > 0)
		so->heap[at] = last;
	return top;
}

IndexScanDesc
ipivfbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	IpivfScanOpaque so = palloc0(sizeof(IpivfScanOpaqueData));

	so->context = AllocSetContextCreate(CurrentMemoryContext, "ipivf scan", ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	return scan;
}

void
ipivfrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	IpivfScanOpaque so = (IpivfScanOpaque) scan->opaque;

	MemoryContextReset(so->context);
	so->have_query = false;
	so->heap = NULL;
	so->heap_count = 0;
	so->returned_any = false;
	so->returned = 0;
	so->nans = NULL;
	so->n_nans = 0;
	so->nan_capacity = 0;
	so->next_nan = 0;
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
}

/* First gettuple after a rescan: read the query and order the lists. */
static void
start_scan(IndexScanDesc scan)
{
	IpivfScanOpaque so = (IpivfScanOpaque) scan->opaque;
	MemoryContext old = MemoryContextSwitchTo(so->context);
	Size		entry;

	if (scan->numberOfOrderBys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("an ipivf index can only be scanned in distance order"),
				 errhint("Use ORDER BY embedding <#> query LIMIT n.")));
	ipivf_read_meta(scan->indexRelation, &so->meta);
	so->probes = ipivf_probes(scan->indexRelation);
	so->heap_capacity = 1024;
	so->heap = palloc(sizeof(Candidate) * so->heap_capacity);
	so->next = 0;
	so->next_null = -1;
	so->unordered = scan->orderByData[0].sk_flags & SK_ISNULL;
	if (!so->unordered && so->meta.n_lists > 0)
	{
		const float *q = ipivf_vector(scan->orderByData[0].sk_argument, so->meta.dims);
		float	   *copy = palloc(sizeof(float) * so->meta.dims);

		memcpy(copy, q, sizeof(float) * so->meta.dims);
		ivf_query_init(&so->query, (IvfMetric) so->meta.metric, copy, so->meta.dims,
					   palloc(sizeof(float) * so->meta.dims));
		/* a zero query has no cosine with anything: every distance is NaN */
		so->unordered = so->query.unordered;
	}
	so->lists = ipivf_load_directory(scan->indexRelation, &so->meta);
	so->order = palloc(sizeof(ListOrder) * Max(so->meta.n_lists, 1));
	so->by_bound = palloc(sizeof(ListOrder) * Max(so->meta.n_lists, 1));
	so->visited = palloc0(sizeof(bool) * Max(so->meta.n_lists, 1));
	so->bound_next = 0;
	entry = IPIVF_LIST_SIZE(so->meta.dims);
	for (int l = 0; l < so->meta.n_lists; l++)
	{
		const IpivfList *list = (const IpivfList *) ((const char *) so->lists + entry * l);

		so->by_bound[l].list = l;
		so->by_bound[l].key = so->unordered ? 0.0
			: ivf_list_bound(&so->query, list->centroid, list->radius, list->max_norm);

		/*
		 * Visiting order: exact scans go by bound, which lowers the best
		 * unvisited bound fastest; approximate scans go by the centroid's
		 * own score, which finds the best rows soonest.
		 */
		so->order[l].list = l;
		if (so->probes == 0 || so->unordered)
			so->order[l].key = so->by_bound[l].key;
		else
			so->order[l].key = ivf_list_priority(&so->query, list->centroid, so->meta.max_norm);
	}
	qsort(so->order, so->meta.n_lists, sizeof(ListOrder), compare_bounds);
	qsort(so->by_bound, so->meta.n_lists, sizeof(ListOrder), compare_bounds);
	so->have_query = true;
	MemoryContextSwitchTo(old);
}

/*
 * Lists to visit before rows may be returned without a certificate: probes
 * while the executor has taken up to PROBES_ROWS rows, then growing with
 * the square root of the rows taken.  A query whose filter rejects most
 * rows takes many more of them, which lie in more lists; without this its
 * recall would fall below an unfiltered query's.  The square root keeps
 * the cost of a query that takes a few rows more than LIMIT close to the
 * plain one's.
 */
#define PROBES_ROWS 20.0

static double
probe_budget(IpivfScanOpaque so)
{
	double		taken = (double) so->returned / PROBES_ROWS;

	return so->probes * (taken > 1.0 ? sqrt(taken) : 1.0);
}

/* Score every member of the next list into the candidate heap. */
static void
visit_next_list(IndexScanDesc scan)
{
	IpivfScanOpaque so = (IpivfScanOpaque) scan->opaque;
	const IpivfList *list = (const IpivfList *) ((const char *) so->lists +
												 IPIVF_LIST_SIZE(so->meta.dims) * so->order[so->next].list);
	BlockNumber block = list->head;
	bool		relaxed = so->probes > 0 && so->next >= so->probes;
	MemoryContext old = MemoryContextSwitchTo(so->context);

	so->visited[so->order[so->next].list] = true;
	so->next++;
	while (block != InvalidBlockNumber)
	{
		Buffer		buffer = ReadBuffer(scan->indexRelation, block);
		Page		page;
		OffsetNumber max;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		max = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= max; off = OffsetNumberNext(off))
		{
			ItemId		id = PageGetItemId(page, off);
			IpivfTuple *tuple;
			double		score;

			if (!ItemIdIsUsed(id))
				continue;
			tuple = (IpivfTuple *) PageGetItem(page, id);
			score = so->unordered ? 0.0 : ivf_score(&so->query, tuple->x);
			if (isnan(score))
			{
				/* cosine with a zero vector: NaN sorts after every number */
				if (so->n_nans == so->nan_capacity)
				{
					so->nan_capacity = Max(64, so->nan_capacity * 2);
					so->nans = so->nans ? repalloc_huge(so->nans, sizeof(ItemPointerData) * so->nan_capacity)
						: palloc(sizeof(ItemPointerData) * so->nan_capacity);
				}
				so->nans[so->n_nans++] = tuple->heap_tid;
				continue;
			}
			/* past the certificate, a better row than one returned would break the order */
			if (relaxed && so->returned_any && score > so->last_returned)
				continue;
			heap_push(so, score, &tuple->heap_tid);
		}
		block = IpivfPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(old);
}

/* Read the TIDs of the NULL chain, once every list is done. */
static void
read_nulls(IndexScanDesc scan)
{
	IpivfScanOpaque so = (IpivfScanOpaque) scan->opaque;
	BlockNumber block = so->meta.null_head;
	int			capacity = 64;
	MemoryContext old = MemoryContextSwitchTo(so->context);

	so->nulls = palloc(sizeof(ItemPointerData) * capacity);
	so->n_nulls = 0;
	while (block != InvalidBlockNumber)
	{
		Buffer		buffer = ReadBuffer(scan->indexRelation, block);
		Page		page;
		OffsetNumber max;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		max = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= max; off = OffsetNumberNext(off))
		{
			if (so->n_nulls == capacity)
			{
				capacity *= 2;
				so->nulls = repalloc_huge(so->nulls, sizeof(ItemPointerData) * capacity);
			}
			so->nulls[so->n_nulls++] = ((IpivfTuple *) PageGetItem(page, PageGetItemId(page, off)))->heap_tid;
		}
		block = IpivfPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
		CHECK_FOR_INTERRUPTS();
	}
	so->next_null = 0;
	MemoryContextSwitchTo(old);
}

bool
ipivfgettuple(IndexScanDesc scan, ScanDirection dir)
{
	IpivfScanOpaque so = (IpivfScanOpaque) scan->opaque;

	if (!so->have_query)
	{
		/* an MVCC snapshot lets the executor drop dead rows we return */
		if (!IsMVCCSnapshot(scan->xs_snapshot))
			elog(ERROR, "ipivf: non-MVCC snapshots are not supported");
		pgstat_count_index_scan(scan->indexRelation);
		start_scan(scan);
	}
	for (;;)
	{
		if (so->heap_count > 0)
		{
			double		best = so->heap[0].score;
			bool		certain;
			bool		enough = so->probes > 0 && so->next >= probe_budget(so);

			/* the best bound among unvisited lists */
			while (so->bound_next < so->meta.n_lists &&
				   so->visited[so->by_bound[so->bound_next].list])
				so->bound_next++;
			certain = so->bound_next >= so->meta.n_lists ||
				best >= so->by_bound[so->bound_next].key;

			if (certain || enough)
			{
				Candidate	c = heap_pop(so);

				so->last_returned = c.score;
				so->returned_any = true;
				so->returned++;
				scan->xs_heaptid = c.tid;
				scan->xs_recheck = false;
				scan->xs_recheckorderby = false;
				return true;
			}
		}
		if (so->next >= so->meta.n_lists && so->next_nan < so->n_nans)
		{
			/* NaN distances sort after every number */
			scan->xs_heaptid = so->nans[so->next_nan++];
			scan->xs_recheck = false;
			scan->xs_recheckorderby = false;
			return true;
		}
		if (so->next >= so->meta.n_lists)
		{
			/* NULL distances sort last */
			if (so->next_null < 0)
				read_nulls(scan);
			if (so->next_null >= so->n_nulls)
				return false;
			scan->xs_heaptid = so->nulls[so->next_null++];
			scan->xs_recheck = false;
			scan->xs_recheckorderby = false;
			return true;
		}
		visit_next_list(scan);
	}
}

void
ipivfendscan(IndexScanDesc scan)
{
	IpivfScanOpaque so = (IpivfScanOpaque) scan->opaque;

	MemoryContextDelete(so->context);
	pfree(so);
	scan->opaque = NULL;
}
