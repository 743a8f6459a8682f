/*
 * ipivfscan.c
 *		Streaming top-n scans of an ipivf index, in exact distance order.
 *
 * At rescan every list gets a bound: no member can score above it.  Lists
 * are visited best bound first; each visited list's members get their
 * code's bound (core/ivf_code.h: no member scores above it) and are kept
 * in a candidate queue by it (core/candidates.h).  gettuple returns the
 * best candidate once it is certain: its bound is at least the bound of
 * every unvisited list, so nothing still unseen can have a better bound.
 * The row goes out with its bound as the distance and xs_recheckorderby
 * set: the executor computes
 * the exact distance from the table and holds rows back in its reorder
 * queue until no later row can come before them (as for GiST's lossy
 * distances).  Results thus come out in exact order for as long as the
 * executor asks, through LIMIT, OFFSET and filters alike, and only rows
 * whose bound beats the last row wanted are read from the table.  Indexes
 * of format 2 hold full vectors: their scores are exact and need no
 * recheck.
 *
 * The speed/recall knob irec.probes (or the index's probes option) relaxes
 * the certificate: after that many lists (more once the executor has taken
 * more than 20 rows, see probe_budget), and while it ranks among the best
 * eighth of the members scanned (probes_done), a candidate is returned even
 * when an unvisited list might, by its bound, hold something better; members of
 * later lists that would beat an already returned row are dropped, so the
 * order stays exact and only recall can suffer.  probes = 0 is exact.
 *
 * Keys on filter columns (ipivffilter.c) are applied inside the lists: a
 * page's members that fail them are never read, and the rows the scan
 * returns all pass, except those of the NULL chain, which keeps no values
 * and which the executor rechecks.
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/candidates.h"
#include "core/vecmath.h"
#include "index/ipivf.h"

/*
 * One list's visit: its centroid and the pages to read, the listed blocks
 * (page ranges that can hold the filter's value, ipivf.h) and then the
 * chain from `rest` (the whole chain in an index without page ranges).
 * Read from the directory one visit ahead, so that the next list's first
 * page can be asked for while this one is scored.
 */
typedef struct IpivfVisit
{
	int			list;			/* -1: none read */
	float	   *centroid;		/* IVF_CENTROID_FLOATS(dims) */
	int			n_blocks;
	BlockNumber *blocks;		/* the index's range_pages of them */
	BlockNumber rest;
	/* with page ranges and filter keys: the list's members, skipped pages' too */
	bool		counted;
	uint32		members;
} IpivfVisit;

typedef struct IpivfScanOpaqueData
{
	MemoryContext context;		/* reset at each rescan */
	IpivfMetaPageData meta;
	bool		have_query;
	bool		unordered;		/* every distance is NULL or NaN: every row, any order */
	IvfQuery	query;
	/*
	 * Per list, what a visit needs besides its directory entry (read again
	 * when visited: a scan scores every centroid once but visits a few
	 * percent of the lists, so none is copied at start)
	 */
	float	   *max_norms;
	IpivfVisit	visits[2];		/* the list being visited and the next */
	IpivfVisit *visit;
	IpivfVisit *ahead;
	/*
	 * Lists in visiting order, and by bound (both as candidate queues:
	 * payload the list number; a scan visits a few of a thousand lists,
	 * and sorting them all would cost more than the visits' ordering)
	 */
	CandidateQueue order;
	int			next;			/* next list to visit (position in order) */
	CandidateQueue by_bound;	/* popped lazily once visited */
	double	   *list_bound;		/* by list number */
	bool		coded;			/* format 3: members are codes, scores bounds */
	/* one page's codes, their bounds */
	IpivfCodeTuple *page_codes[MaxIndexTuplesPerPage];
	const IvfCode *page_code_ptrs[MaxIndexTuplesPerPage];
	double		page_scores[MaxIndexTuplesPerPage];
	IvfCodeQuery code_query;
	bool	   *visited;		/* by list number */
	/* the first page of so->ahead's list, pinned and asked of the CPU early */
	Buffer		next_head;
	int			probes;			/* 0: exact */
	/* scores: minus the operator's value (format 3: bounds on it); payloads: TIDs */
	CandidateQueue candidates;
	double		last_returned;	/* score of the last returned row */
	bool		returned_any;
	int64		returned;		/* rows returned so far */
	int64		scanned;		/* members of the visited lists (that pass the filter) */
	int64		scanned_all;	/* all members of the visited lists */
	/* filter columns: what the scan keys allow, where pages keep the values */
	bool		filtered;
	IpivfFilter filter;
	IpivfFilterLayout layout;
	OffsetNumber matching[MaxIndexTuplesPerPage];
	int64		dropped;		/* of them, better than an earlier uncertified row */
	ItemPointerData *nans;		/* rows at NaN distance (cosine, zero vector): after all others */
	int			n_nans;
	int			nan_capacity;
	int			next_nan;
	ItemPointerData *nulls;		/* rows with a NULL embedding, returned last */
	int			n_nulls;
	int			next_null;		/* -1 until the NULL chain is read */
} IpivfScanOpaqueData;

typedef IpivfScanOpaqueData *IpivfScanOpaque;

/* TIDs as candidate payloads. */
static inline uint64
tid_payload(ItemPointer tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) | ItemPointerGetOffsetNumberNoCheck(tid);
}

static inline void
payload_tid(uint64 payload, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (payload >> 16), (OffsetNumber) (payload & 0xFFFF));
}

/* The scan's allocator for the candidate arrays: its own memory context. */
static void *
resize_in_scan(void *ptr, size_t bytes, void *arg)
{
	return ptr ? repalloc_huge(ptr, bytes) : MemoryContextAllocHuge((MemoryContext) arg, bytes);
}

/* Past the certificate, a row bounded above one already returned would break the order. */
static inline void
add_candidate(IpivfScanOpaque so, bool relaxed, double score, ItemPointer tid)
{
	if (relaxed && so->returned_any && score > so->last_returned)
	{
		so->dropped++;
		return;
	}
	candidates_add(&so->candidates, score, tid_payload(tid));
}

static void
release_next_head(IpivfScanOpaque so)
{
	if (BufferIsValid(so->next_head))
		ReleaseBuffer(so->next_head);
	so->next_head = InvalidBuffer;
}

IndexScanDesc
ipivfbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	IpivfScanOpaque so = palloc0(sizeof(IpivfScanOpaqueData));

	so->context = AllocSetContextCreate(CurrentMemoryContext, "ipivf scan", ALLOCSET_DEFAULT_SIZES);
	so->next_head = InvalidBuffer;
	/* the distances gettuple reports (the AM allocates them, as GiST does) */
	scan->xs_orderbyvals = palloc0(sizeof(Datum) * Max(norderbys, 1));
	scan->xs_orderbynulls = palloc(sizeof(bool) * Max(norderbys, 1));
	memset(scan->xs_orderbynulls, true, sizeof(bool) * Max(norderbys, 1));
	scan->opaque = so;
	return scan;
}

void
ipivfrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	IpivfScanOpaque so = (IpivfScanOpaque) scan->opaque;

	release_next_head(so);
	MemoryContextReset(so->context);
	so->have_query = false;
	memset(&so->candidates, 0, sizeof(so->candidates));
	so->returned_any = false;
	so->returned = 0;
	so->scanned = 0;
	so->scanned_all = 0;
	so->dropped = 0;
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
	so->probes = ipivf_probes(scan->indexRelation, &so->meta);
	ipivf_filter_layout(scan->indexRelation, so->meta.dims, &so->layout);
	ipivf_filter_prepare(&so->filter, scan->keyData, scan->numberOfKeys);
	so->filtered = scan->numberOfKeys > 0;
	if (so->filtered && so->meta.version < IPIVF_FIRST_CODED_VERSION)
		elog(ERROR, "ipivf: filter keys on an index of format %u", so->meta.version);
	candidates_init(&so->candidates, resize_in_scan, so->context);
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
	candidates_init(&so->order, resize_in_scan, so->context);
	candidates_init(&so->by_bound, resize_in_scan, so->context);
	so->visited = palloc0(sizeof(bool) * Max(so->meta.n_lists, 1));
	so->list_bound = palloc(sizeof(double) * Max(so->meta.n_lists, 1));
	so->max_norms = palloc(sizeof(float) * Max(so->meta.n_lists, 1));
	for (int v = 0; v < 2; v++)
	{
		so->visits[v].list = -1;
		so->visits[v].centroid = palloc(sizeof(float) * IVF_CENTROID_FLOATS(Max(so->meta.dims, 0)));
		so->visits[v].blocks = palloc(sizeof(BlockNumber) * Max(so->meta.range_pages, 1));
	}
	so->visit = &so->visits[0];
	so->ahead = &so->visits[1];
	so->coded = so->meta.version >= IPIVF_FIRST_CODED_VERSION;
	if (so->coded && !so->unordered && so->meta.n_lists > 0)
		ivf_code_query_init(&so->code_query, &so->query, palloc(sizeof(int16_t) * so->meta.dims));
	entry = IPIVF_LIST_SIZE(so->meta.dims);
	for (int first = 0; first < so->meta.n_lists; first += so->meta.lists_per_page)
	{
		Buffer		buffer = ReadBuffer(scan->indexRelation, ipivf_directory_block(&so->meta, first));
		int			count = Min(so->meta.lists_per_page, so->meta.n_lists - first);
		const char *entries;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		entries = (const char *) PageGetContents(BufferGetPage(buffer));
		for (int l = first; l < first + count; l++)
		{
			const IpivfList *list = (const IpivfList *) (entries + entry * (l - first));
			double		bound = 0.0;
			double		priority = 0.0;

			if (!so->unordered)
				ivf_list_bound_and_priority(&so->query, list->centroid, list->radius, list->max_norm,
											&bound, &priority);
			so->list_bound[l] = bound;
			so->max_norms[l] = list->max_norm;
			candidates_add(&so->by_bound, bound, (uint64) l);

			/*
			 * Visiting order: exact scans go by bound, which lowers the
			 * best unvisited bound fastest; approximate scans go by the
			 * centroid's own score, which finds the best rows soonest.
			 */
			candidates_add(&so->order, so->probes == 0 || so->unordered ? bound : priority, (uint64) l);
		}
		UnlockReleaseBuffer(buffer);
	}
	so->have_query = true;
	MemoryContextSwitchTo(old);
}

/*
 * Lists to visit before rows may be returned without a certificate: probes
 * while the executor has taken up to PROBES_ROWS rows, then growing as
 * (rows taken / PROBES_ROWS)^PROBES_GROWTH.  A query whose filter rejects
 * most rows takes many more of them, which lie in more lists; without this
 * its recall would fall below an unfiltered query's.  Under a 10% filter
 * through a filter column the default's recall@20 was 0.9607 on the 1M ×
 * 64 benchmark and 0.9651 on 500k × 128 with this growth, 0.9523 and
 * 0.9594 with a square root (unfiltered: 0.9708, 0.9776), 0.93 with a
 * cube root; the extra lists cost little since a filtered visit reads
 * only the pages that can hold the value (ipivf.h's page ranges).
 */
#define PROBES_ROWS 20.0
#define PROBES_GROWTH 0.6

static double
probe_budget(IpivfScanOpaque so)
{
	/*
	 * With filter keys the index returns only rows that pass them: count
	 * the rows it would have had to return without them, as the executor
	 * would have taken, by the share of the scanned members that pass.
	 */
	double		passing = so->filtered && so->scanned_all > 0
		? (double) Max(so->scanned, 1) / (double) so->scanned_all : 1.0;
	double		taken = (double) so->returned / passing / PROBES_ROWS;

	return so->probes * (taken > 1.0 ? pow(taken, PROBES_GROWTH) : 1.0);
}

/*
 * A row returned without a certificate ranks among the best 1/RELAXED_DEPTH
 * of the members scanned so far (rows ahead of it: those returned and those
 * dropped, all of which scored above it); otherwise the scan visits more
 * lists first.  So at most that share of the scanned rows is ever dropped,
 * and the queue never runs dry while lists remain.  Without the rule, lists
 * smaller than the rows taken had their worst members returned, every
 * better row found later was dropped, and answers came back short (LIMIT 50
 * on 7 of 20 queries at 12 members a list and probes 1 to 4; on the 1M
 * benchmark at probes 1, 13 rows of 20 from an outlying list of 13).  A
 * LIMIT 20 query there scans about 800 members per row taken, a filtered
 * one about 250, so the rule costs them nothing.
 */
#define RELAXED_DEPTH 8

static bool
probes_done(IpivfScanOpaque so)
{
	return so->probes > 0 && so->next >= probe_budget(so) &&
		so->scanned >= RELAXED_DEPTH * (so->returned + so->dropped + 1);
}

/* A row at NaN distance (cosine, zero vector): after all others. */
static void
note_nan(IpivfScanOpaque so, ItemPointer tid)
{
	if (so->n_nans == so->nan_capacity)
	{
		so->nan_capacity = Max(64, so->nan_capacity * 2);
		so->nans = so->nans ? repalloc_huge(so->nans, sizeof(ItemPointerData) * so->nan_capacity)
			: palloc(sizeof(ItemPointerData) * so->nan_capacity);
	}
	so->nans[so->n_nans++] = *tid;
}

/* Ask the CPU for a whole page's memory (a hint: the page may change until locked). */
static inline void
prefetch_page(Page page)
{
	for (Size at = 0; at < BLCKSZ; at += 64)
		__builtin_prefetch((const char *) page + at);
}

/*
 * For a filtered scan, what it reads of every page: the filter values (the
 * special space) and the line pointers; the members that pass come later.
 */
static inline void
prefetch_filter_area(Page page, const IpivfFilterLayout *layout)
{
	/* from the layout, not the page's header: that would wait for its line */
	Size		line_pointers = SizeOfPageHeaderData + sizeof(ItemIdData) * layout->capacity;

	for (Size at = BLCKSZ - layout->special; at < BLCKSZ; at += 64)
		__builtin_prefetch((const char *) page + at);
	for (Size at = 0; at < line_pointers; at += 64)
		__builtin_prefetch((const char *) page + at);
}

/*
 * List l's directory entry into a visit: its centroid, and the pages to
 * read.  With page ranges and keys on the first filter column, only the
 * pages whose range holds the keys' values.
 */
static void
read_list(IndexScanDesc scan, int l, IpivfVisit *visit)
{
	IpivfScanOpaque so = (IpivfScanOpaque) scan->opaque;
	Buffer		buffer = ReadBuffer(scan->indexRelation, ipivf_directory_block(&so->meta, l));
	const IpivfList *list;

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	list = ipivf_list_in_page(BufferGetPage(buffer), ipivf_directory_slot(&so->meta, l), so->meta.dims);
	memcpy(visit->centroid, list->centroid, sizeof(float) * IVF_CENTROID_FLOATS(so->meta.dims));
	visit->list = l;
	visit->n_blocks = 0;
	visit->counted = false;
	visit->rest = list->head;
	visit->members = list->count;
	UnlockReleaseBuffer(buffer);
	if (so->filtered && so->meta.range_pages > 0)
	{
		const IpivfListPages *pages;

		buffer = ReadBuffer(scan->indexRelation, ipivf_range_block(&so->meta, l));
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		pages = ipivf_list_pages_in_page(BufferGetPage(buffer), &so->meta, l);
		if (pages->n < 0 || pages->n > so->meta.range_pages)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("an ipivf list keeps %d page ranges, more than the index's %d", pages->n,
							so->meta.range_pages),
					 errhint("REINDEX the index.")));
		for (int i = 0; i < pages->n; i++)
			if (ipivf_filter_range_holds(&so->filter, &pages->page[i]))
				visit->blocks[visit->n_blocks++] = pages->page[i].block;
		visit->rest = pages->rest;
		visit->counted = true;
		UnlockReleaseBuffer(buffer);
	}
}

static inline BlockNumber
first_block(const IpivfVisit *visit)
{
	return visit->n_blocks > 0 ? visit->blocks[0] : visit->rest;
}

/* Score (format 3: bound) every member of the next list into the candidates. */
static void
visit_next_list(IndexScanDesc scan)
{
	IpivfScanOpaque so = (IpivfScanOpaque) scan->opaque;
	int			l = (int) candidates_pop(&so->order).payload;
	IpivfVisit *visit;
	BlockNumber block;
	int			position;		/* of the next block in visit->blocks */
	bool		in_rest;		/* past the listed blocks: following the chain */
	bool		relaxed = so->probes > 0 && so->next >= so->probes;
	bool		cosine = so->meta.metric == IVF_METRIC_COSINE;
	IvfCodeList code_list;
	Buffer		next_buffer = InvalidBuffer;
	MemoryContext old = MemoryContextSwitchTo(so->context);

	so->visited[l] = true;
	so->next++;
	if (so->ahead->list == l)
	{
		/* read, and its first page pinned and prefetched, while the previous list was scored */
		IpivfVisit *swap = so->visit;

		so->visit = so->ahead;
		so->ahead = swap;
		next_buffer = so->next_head;
		so->next_head = InvalidBuffer;
	}
	else
		read_list(scan, l, so->visit);
	so->ahead->list = -1;
	release_next_head(so);
	visit = so->visit;

	/*
	 * The first page of a list is a cache miss the chain's own prefetch
	 * cannot hide: ask for the next list's now, while this one is scored.
	 */
	if (so->coded && so->next < so->meta.n_lists)
	{
		const Candidate *upcoming = candidates_peek(&so->order);

		if (upcoming != NULL)
		{
			read_list(scan, (int) upcoming->payload, so->ahead);
			if (first_block(so->ahead) != InvalidBlockNumber)
			{
				so->next_head = ReadBuffer(scan->indexRelation, first_block(so->ahead));
				if (so->filtered)
					prefetch_filter_area(BufferGetPage(so->next_head), &so->layout);
				else
					prefetch_page(BufferGetPage(so->next_head));
			}
		}
	}
	if (so->coded && !so->unordered)
		ivf_code_list_init(&code_list, &so->code_query, visit->centroid, so->max_norms[l], so->list_bound[l]);
	if (visit->counted)
		so->scanned_all += visit->members;
	block = first_block(visit);
	position = visit->n_blocks > 0 ? 1 : 0;
	in_rest = visit->n_blocks == 0;
	while (block != InvalidBlockNumber)
	{
		Buffer		buffer = BufferIsValid(next_buffer) ? next_buffer : ReadBuffer(scan->indexRelation, block);
		Page		page;
		OffsetNumber max;
		BlockNumber next;

		next_buffer = InvalidBuffer;
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		max = PageGetMaxOffsetNumber(page);
		/* the next page: the next listed block, else the chain's */
		if (in_rest)
			next = IpivfPageGetOpaque(page)->next;
		else if (position < visit->n_blocks)
			next = visit->blocks[position++];
		else
		{
			next = visit->rest;
			in_rest = true;
		}
		if (so->coded)
		{
			/* a page of codes: their bounds in one batch */
			int			n = 0;

			/*
			 * The pages are most likely in shared buffers but not in the
			 * CPU's caches: ask for all of this one at once rather than line
			 * by line, and for the next one in the chain (pinned now, read
			 * under its lock on the next turn) while this one is scored.
			 * With filter keys, only the members that pass are read: their
			 * values first (the special space), then those members.
			 */
			if (!so->filtered)
				prefetch_page(page);
			if (next != InvalidBlockNumber)
			{
				next_buffer = ReadBuffer(scan->indexRelation, next);
				if (!so->filtered)
					prefetch_page(BufferGetPage(next_buffer));
				else
					prefetch_filter_area(BufferGetPage(next_buffer), &so->layout);
			}

			if (so->filtered)
			{
				int			passing = ipivf_filter_page(&so->filter, page, &so->layout, max, so->matching);

				if (!visit->counted)
					so->scanned_all += max;
				for (int i = 0; i < passing; i++)
				{
					ItemId		id = PageGetItemId(page, so->matching[i]);

					if (ItemIdIsUsed(id))
					{
						so->page_codes[n] = (IpivfCodeTuple *) PageGetItem(page, id);
						__builtin_prefetch(so->page_codes[n]);
						__builtin_prefetch((const char *) so->page_codes[n] + 64);
						n++;
					}
				}
			}
			else
				for (OffsetNumber off = FirstOffsetNumber; off <= max; off = OffsetNumberNext(off))
				{
					ItemId		id = PageGetItemId(page, off);

					if (ItemIdIsUsed(id))
						so->page_codes[n++] = (IpivfCodeTuple *) PageGetItem(page, id);
				}
			for (int i = 0; i < n; i++)
				so->page_code_ptrs[i] = &so->page_codes[i]->code;
			if (so->unordered)
				for (int i = 0; i < n; i++)
					so->page_scores[i] = 0.0;
			else
				ivf_code_bounds(&so->code_query, &code_list, so->page_code_ptrs, n, so->page_scores);
			so->scanned += n;
			for (int i = 0; i < n; i++)
			{
				double		score = so->page_scores[i];

				if (cosine && !so->unordered && so->page_codes[i]->code.norm == 0.0f)
					note_nan(so, &so->page_codes[i]->heap_tid);
				else
					add_candidate(so, relaxed, score, &so->page_codes[i]->heap_tid);
			}
		}
		else
			for (OffsetNumber off = FirstOffsetNumber; off <= max; off = OffsetNumberNext(off))
			{
				ItemId		id = PageGetItemId(page, off);
				IpivfTuple *tuple;
				double		score;

				if (!ItemIdIsUsed(id))
					continue;
				tuple = (IpivfTuple *) PageGetItem(page, id);
				so->scanned++;
				score = so->unordered ? 0.0 : ivf_score(&so->query, tuple->x);
				if (isnan(score))
				{
					/* cosine with a zero vector: NaN sorts after every number */
					note_nan(so, &tuple->heap_tid);
					continue;
				}
				add_candidate(so, relaxed, score, &tuple->heap_tid);
			}
		block = next;
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

/*
 * A row of a scan with no order (a NULL query: every distance is NULL; a
 * zero cosine query: every distance is NaN), said as it is so that the
 * executor's reorder queue never holds it back.
 */
static void
return_unordered(IndexScanDesc scan)
{
	bool		null_query = scan->orderByData[0].sk_flags & SK_ISNULL;

	scan->xs_orderbyvals[0] = null_query ? (Datum) 0 : Float8GetDatum(get_float8_nan());
	scan->xs_orderbynulls[0] = null_query;
	scan->xs_recheckorderby = false;
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
	/* a filter key that no row can pass (NULL, an array of NULLs or none) */
	if (so->filter.none)
		return false;
	for (;;)
	{
		if (candidates_count(&so->candidates) > 0)
		{
			double		best = candidates_best_score(&so->candidates);
			bool		certain;
			bool		enough = probes_done(so);
			const Candidate *unvisited;

			/* the best bound among unvisited lists */
			while ((unvisited = candidates_peek(&so->by_bound)) != NULL && so->visited[unvisited->payload])
				(void) candidates_pop(&so->by_bound);
			certain = unvisited == NULL || best >= unvisited->score;

			if (certain || enough)
			{
				Candidate	c = candidates_pop(&so->candidates);

				so->last_returned = c.score;
				so->returned_any = true;
				so->returned++;
				payload_tid(c.payload, &scan->xs_heaptid);
				scan->xs_recheck = false;
				if (so->unordered)
					return_unordered(scan);
				else
				{
					/* a code's bound is a lower bound of the distance: recheck */
					scan->xs_orderbyvals[0] = Float8GetDatum(-c.score);
					scan->xs_orderbynulls[0] = false;
					scan->xs_recheckorderby = so->coded;
				}
				return true;
			}
		}
		if (so->next >= so->meta.n_lists && so->next_nan < so->n_nans)
		{
			/* NaN distances sort after every number */
			scan->xs_heaptid = so->nans[so->next_nan++];
			scan->xs_recheck = false;
			scan->xs_orderbyvals[0] = Float8GetDatum(get_float8_nan());
			scan->xs_orderbynulls[0] = false;
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
			/* the NULL chain keeps no filter values: the executor checks the keys */
			scan->xs_recheck = so->filtered;
			scan->xs_orderbyvals[0] = (Datum) 0;
			scan->xs_orderbynulls[0] = true;
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

	release_next_head(so);
	MemoryContextDelete(so->context);
	pfree(so);
	scan->opaque = NULL;
}
