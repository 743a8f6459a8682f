/*
 * ipivfbuild.c
 *		Building an ipivf index: sample, cluster, assign.
 *
 * Pass 1 over the heap keeps a reservoir sample of the vectors, bounded by
 * maintenance_work_mem, and holds a few hundred rows out of it as queries
 * for the calibration of the default probes; k-means runs on the sample on
 * every core; pass 2 assigns every vector to its list in batches (one
 * parallel sgemm per batch), appends its code (core/ivf_code.h) to the
 * list's pages and gathers the held-out queries' exact neighbours, from
 * which the default probes is measured at the end
 * (core/ivf_calibrate.h).  Pages are written without WAL and WAL-logged at
 * the end in one sweep, as core GiST and SP-GiST builds do.
 */
#include "postgres.h"

#include <math.h>

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/ivf_calibrate.h"
#include "core/rng.h"
#include "core/vecmath.h"
#include "embedding.h"
#include "index/ipivf.h"
#include "irec.h"

/* Vectors assigned per parallel batch in pass 2. */
#define ASSIGN_BATCH 8192

/* Lloyd iterations of the build's k-means. */
#define KMEANS_ITERATIONS 10

/* Largest sample k-means looks at: plenty for 4096 lists. */
#define MAX_SAMPLE (256 * 1024)

typedef struct ListState
{
	BlockNumber head;
	BlockNumber tail;
	uint32		count;
	uint32		pages;			/* in the chain */
	float		radius;
	float		max_norm;
} ListState;

typedef struct BuildState
{
	Relation	index;
	IvfMetric	metric;
	int			dims;			/* 0 until known */
	int			threads;
	double		heap_tuples;
	double		index_tuples;
	double		null_rows;
	MemoryContext context;

	/* pass 1: reservoir sample */
	float	   *sample;			/* capacity × dims, allocated once dims is known */
	size_t		sample_capacity;
	size_t		sample_count;
	double		offered;		/* rows offered to the sample */
	Rng			rng;
	float	   *geometry;		/* one vector in the list geometry */

	/* pass 1: rows held out of the sample as calibration queries (a reservoir) */
	Rng			holdout_rng;
	float	   *queries;		/* IPIVF_CALIBRATION_QUERIES × dims, as stored */
	uint64	   *query_ids;
	size_t		n_queries;
	double		held_out;
	bool		users_as_queries;	/* the queries are the model's users (ipivfqueries.c) */
	/* pass 2: the queries' exact neighbours */
	bool		calibrating;
	IvfTruth	truth;
	int			calibrated_probes;

	/* clustering */
	int			n_lists;
	float	   *centroids;		/* n_lists × (dims + 1) */
	float		max_norm;
	ListState  *lists;
	ListState	null_list;		/* rows whose embedding is NULL */

	/* pass 2: batch waiting for assignment */
	ItemPointerData *batch_tids;
	uint64	   *batch_ids;		/* for the calibration: the TID, or IVF_TRUTH_SKIP for a dead row */
	float	   *batch;			/* in the list geometry, for assignment */
	float	   *batch_raw;		/* as stored: the same array unless cosine */
	size_t		batch_count;
	int32	   *batch_list;
	int64	   *batch_filters;	/* the filter columns' values, layout.n_filters per row */
	uint8	   *batch_filter_nulls;
	void	   *assign_scratch;
	IpivfCodeTuple *tuple;		/* one entry being written */
	IpivfFilterLayout layout;	/* of the lists' data pages */
	int			range_pages;	/* page ranges kept per list (ipivf.h) */
	BlockNumber range_start;	/* their first page, after the lists' */
	char	   *list_pages;		/* each list's IpivfListPages, IPIVF_LIST_PAGES_SIZE(range_pages) apart */
} BuildState;

static void
note_dims(BuildState *state, Datum value)
{
	Embedding  *e;

	if (state->dims > 0)
		return;
	e = DatumGetEmbedding(value);
	if (e->dims > IPIVF_MAX_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ipivf indexes support at most %d dimensions, not %d", IPIVF_MAX_DIMS, e->dims),
				 errhint("Index a lower-dimensional embedding, or search it with a sequential scan.")));
	state->dims = e->dims;
}

static void
allocate_sample(BuildState *state)
{
	double		budget = (double) maintenance_work_mem * 1024.0 * 0.5;
	size_t		by_memory = (size_t) (budget / (sizeof(float) * state->dims));

	state->sample_capacity = Min(Max(by_memory, 64), MAX_SAMPLE);
	state->sample = MemoryContextAllocHuge(state->context,
										   sizeof(float) * state->sample_capacity * state->dims);
	state->geometry = MemoryContextAlloc(state->context, sizeof(float) * state->dims);
	state->queries = MemoryContextAlloc(state->context,
										sizeof(float) * IPIVF_CALIBRATION_QUERIES * state->dims);
	state->query_ids = MemoryContextAlloc(state->context, sizeof(uint64) * IPIVF_CALIBRATION_QUERIES);
}

/* A row as the calibration knows it: its TID. */
static inline uint64
row_id(ItemPointer tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) | ItemPointerGetOffsetNumberNoCheck(tid);
}

/*
 * Hold a live row out of the k-means sample, as a calibration query, with
 * chance IPIVF_CALIBRATION_HOLDOUT once the sample has been offered
 * IPIVF_CALIBRATION_FIRST rows (a small table keeps all its rows for
 * k-means; it is too small to measure anyway); the queries are a reservoir
 * sample of the held-out rows.  Not for L1, which the calibration cannot
 * score.
 */
static bool
hold_out(BuildState *state, ItemPointer tid, const float *x, bool alive)
{
	size_t		slot;

	if (!alive || state->metric == IVF_METRIC_L1 || state->offered < IPIVF_CALIBRATION_FIRST ||
		rng_uniform(&state->holdout_rng) >= IPIVF_CALIBRATION_HOLDOUT)
		return false;
	state->held_out++;
	slot = rng_reservoir_slot(&state->holdout_rng, state->held_out, IPIVF_CALIBRATION_QUERIES,
							  &state->n_queries);
	if (slot != SIZE_MAX)
	{
		memcpy(state->queries + slot * state->dims, x, sizeof(float) * state->dims);
		state->query_ids[slot] = row_id(tid);
	}
	return true;
}

/* Pass 1 callback: reservoir sampling (Vitter's algorithm R). */
static void
sample_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				bool alive, void *opaque)
{
	BuildState *state = (BuildState *) opaque;
	const float *x;
	size_t		slot;

	state->heap_tuples++;
	if (isnull[0])
	{
		state->null_rows++;
		return;
	}
	note_dims(state, values[0]);
	if (state->sample == NULL)
		allocate_sample(state);
	x = ipivf_vector(values[0], state->dims);
	if (!vec_all_finite(x, state->dims))
		elog(ERROR, "ipivf: non-finite vector");
	state->index_tuples++;
	if (hold_out(state, tid, x, alive))
		return;
	ivf_list_geometry(state->metric, x, state->dims, state->geometry);
	x = state->geometry;
	state->offered++;
	slot = rng_reservoir_slot(&state->rng, state->offered, state->sample_capacity, &state->sample_count);
	if (slot != SIZE_MAX)
		memcpy(state->sample + slot * state->dims, x, sizeof(float) * state->dims);
}

static void
write_meta(Relation index, ForkNumber fork, const BuildState *state)
{
	Buffer		buffer = ipivf_new_buffer(index, fork);
	Page		page = BufferGetPage(buffer);
	IpivfMetaPage meta;

	Assert(BufferGetBlockNumber(buffer) == IPIVF_METAPAGE_BLKNO);
	ipivf_init_page(page, IPIVF_META);
	meta = IpivfPageGetMeta(page);
	meta->magic = IPIVF_MAGIC;
	meta->version = IPIVF_VERSION;
	meta->dims = state->dims;
	meta->metric = state->metric;
	meta->n_lists = state->n_lists;
	meta->range_pages = state->range_pages;
	meta->range_start = state->range_start;
	meta->lists_per_page = state->dims > 0 ? ipivf_lists_per_page(state->dims) : 0;
	meta->max_norm = state->max_norm;
	meta->null_head = state->null_list.head;
	meta->calibrated_probes = 0;
	((PageHeader) page)->pd_lower = ((char *) meta + sizeof(IpivfMetaPageData)) - (char *) page;
	MarkBufferDirty(buffer);
	UnlockReleaseBuffer(buffer);
}

/*
 * The directory's first page, empty, for an index built with no lists:
 * the first list goes there when rows arrive, and rows with a NULL
 * embedding chained before it cannot take its place.
 */
static void
write_empty_directory(Relation index, ForkNumber fork)
{
	Buffer		buffer = ipivf_new_buffer(index, fork);

	if (BufferGetBlockNumber(buffer) != IPIVF_DIRECTORY_START)
		elog(ERROR, "ipivf: the directory out of place");
	ipivf_init_page(BufferGetPage(buffer), IPIVF_DIRECTORY);
	MarkBufferDirty(buffer);
	UnlockReleaseBuffer(buffer);
}

/* Directory pages with the lists' centroids and current state. */
static void
write_directory(BuildState *state, bool create)
{
	int			per_page = ipivf_lists_per_page(state->dims);
	Size		entry_size = IPIVF_LIST_SIZE(state->dims);

	for (int first = 0; first < state->n_lists; first += per_page)
	{
		int			count = Min(per_page, state->n_lists - first);
		Buffer		buffer;
		Page		page;

		if (create)
		{
			buffer = ipivf_new_buffer(state->index, MAIN_FORKNUM);
			page = BufferGetPage(buffer);
			ipivf_init_page(page, IPIVF_DIRECTORY);
		}
		else
		{
			buffer = ReadBuffer(state->index, IPIVF_DIRECTORY_START + first / per_page);
			LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
			page = BufferGetPage(buffer);
		}
		for (int slot = 0; slot < count; slot++)
		{
			IpivfList  *list = ipivf_list_in_page(page, slot, state->dims);
			ListState  *ls = &state->lists[first + slot];

			list->head = ls->head;
			list->insert_page = ls->tail;
			list->count = ls->count;
			list->radius = ls->radius;
			list->max_norm = ls->max_norm;
			memcpy(list->centroid, state->centroids + (size_t) (first + slot) * IVF_CENTROID_FLOATS(state->dims),
				   sizeof(float) * IVF_CENTROID_FLOATS(state->dims));
		}
		((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + entry_size * count;
		MarkBufferDirty(buffer);
		UnlockReleaseBuffer(buffer);
	}
}

/* The pages of the lists' page ranges, after all others (ipivf.h). */
static void
write_ranges(BuildState *state)
{
	IpivfMetaPageData shape = {.dims = state->dims, .range_pages = state->range_pages,
	.range_start = state->range_start};
	int			per_page = ipivf_ranges_per_page(state->range_pages);
	Size		pages_size = IPIVF_LIST_PAGES_SIZE(state->range_pages);

	for (int first = 0; first < state->n_lists; first += per_page)
	{
		int			count = Min(per_page, state->n_lists - first);
		Buffer		buffer;
		Page		page;

		buffer = ipivf_new_buffer(state->index, MAIN_FORKNUM);
		if (BufferGetBlockNumber(buffer) != ipivf_range_block(&shape, first))
			elog(ERROR, "ipivf: page ranges out of place");
		page = BufferGetPage(buffer);
		ipivf_init_page(page, IPIVF_RANGES);
		memcpy(ipivf_list_pages_in_page(page, &shape, first), state->list_pages + pages_size * first,
			   pages_size * count);
		((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + pages_size * count;
		MarkBufferDirty(buffer);
		UnlockReleaseBuffer(buffer);
	}
}

/*
 * Append one tuple to a list's tail page, chaining a new page when full;
 * with its filter values, given a layout (NULL for the NULL chain, whose
 * pages keep none).
 */
static void
append_to_list(BuildState *state, ListState *ls, const void *tuple, Size size,
			   const IpivfFilterLayout *layout, const int64 *filters, uint8 filter_nulls)
{
	Buffer		buffer;
	Page		page;
	OffsetNumber offset;

	if (layout == NULL)
		layout = &ipivf_no_filters;
	if (ls->tail == InvalidBlockNumber)
	{
		buffer = ipivf_new_buffer(state->index, MAIN_FORKNUM);
		page = BufferGetPage(buffer);
		ipivf_init_data_page(page, layout);
		ls->head = ls->tail = BufferGetBlockNumber(buffer);
		ls->pages = 1;
	}
	else
	{
		buffer = ReadBuffer(state->index, ls->tail);
		LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buffer);
	}
	if (!ipivf_data_page_has_room(page, size, layout) ||
		(offset = PageAddItem(page, (Item) tuple, size, InvalidOffsetNumber, false, false)) == InvalidOffsetNumber)
	{
		Buffer		fresh = ipivf_new_buffer(state->index, MAIN_FORKNUM);
		Page		fresh_page = BufferGetPage(fresh);

		ipivf_init_data_page(fresh_page, layout);
		IpivfPageGetOpaque(page)->next = BufferGetBlockNumber(fresh);
		MarkBufferDirty(buffer);
		UnlockReleaseBuffer(buffer);
		buffer = fresh;
		page = fresh_page;
		ls->tail = BufferGetBlockNumber(fresh);
		ls->pages++;
		offset = PageAddItem(page, (Item) tuple, size, InvalidOffsetNumber, false, false);
		if (offset == InvalidOffsetNumber)
			elog(ERROR, "ipivf: could not add a tuple to a new page");
	}
	ipivf_page_set_filters(page, offset, layout, filters, filter_nulls);
	MarkBufferDirty(buffer);
	UnlockReleaseBuffer(buffer);
}

/* Assign the waiting batch (in parallel) and append it, list by list. */
static void
flush_batch(BuildState *state)
{
	int			d = state->dims;
	Size		size = IPIVF_CODE_TUPLE_SIZE(d);
	int32	   *order;
	int32	   *starts;

	if (state->batch_count == 0)
		return;
	ivf_assign(state->centroids, state->n_lists, d, state->metric, state->max_norm,
			   state->batch, state->batch_count, state->batch_list, state->threads,
			   state->assign_scratch);
	if (state->calibrating)
		ivf_truth_add(&state->truth, state->batch_raw, state->batch_ids, state->batch_list,
					  state->batch_count);

	/* counting sort by list: consecutive appends hit the same page */
	starts = palloc0(sizeof(int32) * (state->n_lists + 1));
	order = palloc(sizeof(int32) * state->batch_count);
	for (size_t i = 0; i < state->batch_count; i++)
		starts[state->batch_list[i] + 1]++;
	for (int l = 0; l < state->n_lists; l++)
		starts[l + 1] += starts[l];
	for (size_t i = 0; i < state->batch_count; i++)
		order[starts[state->batch_list[i]]++] = (int32) i;

	for (size_t k = 0; k < state->batch_count; k++)
	{
		size_t		i = order[k];
		int			l = state->batch_list[i];
		ListState  *ls = &state->lists[l];
		const float *x = state->batch + i * d;
		const float *c = state->centroids + (size_t) l * IVF_CENTROID_FLOATS(d);
		float		r = ivf_round_up(ivf_member_radius(x, c, d));
		float		norm = ivf_round_up(ivf_member_norm(x, d));

		ls->radius = Max(ls->radius, r);
		ls->max_norm = Max(ls->max_norm, norm);
		ls->count++;
		state->tuple->heap_tid = state->batch_tids[i];
		ivf_code_encode(state->metric, state->batch_raw + i * d, c, d, &state->tuple->code);
		append_to_list(state, ls, state->tuple, size, &state->layout,
					   state->batch_filters + i * state->layout.n_filters, state->batch_filter_nulls[i]);
	}
	pfree(starts);
	pfree(order);
	state->batch_count = 0;
	CHECK_FOR_INTERRUPTS();
}

/* A list member as sort_list orders them. */
typedef struct SortMember
{
	int64		value;			/* first filter value */
	bool		null;
	int32		position;		/* in the list before sorting: ties keep their order */
} SortMember;

static int
compare_members(const void *a, const void *b)
{
	const SortMember *x = (const SortMember *) a;
	const SortMember *y = (const SortMember *) b;

	if (x->null != y->null)
		return x->null ? 1 : -1;
	if (!x->null && x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return (x->position > y->position) - (x->position < y->position);
}

/*
 * sort_list: rewrite list l's pages with its members in the order of their
 * first filter value, NULLs last, and note each page's range in its
 * IpivfListPages (ipivf.h).  The same pages take the same number of members
 * each, as every member has the same size and the pages were filled in
 * chain order.
 */
static void
sort_list(BuildState *state, int l, MemoryContext scratch)
{
	ListState  *ls = &state->lists[l];
	IpivfListPages *pages = (IpivfListPages *) (state->list_pages + IPIVF_LIST_PAGES_SIZE(state->range_pages) * l);
	const IpivfFilterLayout *layout = &state->layout;
	int			n_filters = layout->n_filters;
	Size		size = IPIVF_CODE_TUPLE_SIZE(state->dims);
	MemoryContext old = MemoryContextSwitchTo(scratch);
	BlockNumber *blocks = palloc(sizeof(BlockNumber) * Max(ls->pages, 1));
	uint32		n_blocks = 0;
	char	   *tuples = MemoryContextAllocHuge(scratch, size * Max(ls->count, 1));
	int64	   *values = MemoryContextAllocHuge(scratch, sizeof(int64) * n_filters * Max(ls->count, 1));
	uint8	   *nulls = MemoryContextAllocHuge(scratch, Max(ls->count, 1));
	SortMember *order = MemoryContextAllocHuge(scratch, sizeof(SortMember) * Max(ls->count, 1));
	uint32		n = 0;
	uint32		placed = 0;

	for (BlockNumber block = ls->head; block != InvalidBlockNumber;)
	{
		Buffer		buffer = ReadBuffer(state->index, block);
		Page		page;
		OffsetNumber max;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		max = PageGetMaxOffsetNumber(page);
		if (n + max > ls->count || n_blocks == ls->pages)
			elog(ERROR, "ipivf: list %d holds more than was assigned to it", l);
		for (OffsetNumber off = FirstOffsetNumber; off <= max; off = OffsetNumberNext(off))
		{
			memcpy(tuples + size * n, PageGetItem(page, PageGetItemId(page, off)), size);
			memcpy(values + (Size) n_filters * n, ipivf_page_filter_values(page) + (Size) n_filters * (off - 1),
				   sizeof(int64) * n_filters);
			nulls[n] = ipivf_page_filter_nulls(page, layout)[off - 1];
			order[n].value = values[(Size) n_filters * n];
			order[n].null = nulls[n] & 1;
			order[n].position = (int32) n;
			n++;
		}
		blocks[n_blocks++] = block;
		block = IpivfPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
	}
	qsort(order, n, sizeof(SortMember), compare_members);

	ipivf_list_pages_init(pages);
	for (uint32 b = 0; b < n_blocks; b++)
	{
		Buffer		buffer = ReadBuffer(state->index, blocks[b]);
		Page		page;
		BlockNumber next;
		IpivfPageRange range = {blocks[b], 0, PG_INT64_MAX, PG_INT64_MIN};

		LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buffer);
		next = IpivfPageGetOpaque(page)->next;
		ipivf_init_data_page(page, layout);
		IpivfPageGetOpaque(page)->next = next;
		while (placed < n && ipivf_data_page_has_room(page, size, layout))
		{
			int32		m = order[placed].position;
			OffsetNumber offset = PageAddItem(page, (Item) (tuples + size * m), size, InvalidOffsetNumber,
											  false, false);

			if (offset == InvalidOffsetNumber)
				elog(ERROR, "ipivf: failed to add a tuple to a page with room");
			ipivf_page_set_filters(page, offset, layout, values + (Size) n_filters * m, nulls[m]);
			if (!(nulls[m] & 1))
				ipivf_range_widen(&range, values[(Size) n_filters * m]);
			placed++;
		}
		MarkBufferDirty(buffer);
		UnlockReleaseBuffer(buffer);
		ipivf_list_pages_add(pages, state->range_pages, b > 0 ? blocks[b - 1] : InvalidBlockNumber, blocks[b]);
		if ((int) b < pages->n)
			pages->page[b] = range;
	}
	if (placed != n)
		elog(ERROR, "ipivf: list %d's members no longer fit its pages", l);
	MemoryContextSwitchTo(old);
	MemoryContextReset(scratch);
}

/*
 * Every list sorted by its first filter value, with its page ranges, which
 * go to pages of their own after the lists'.
 */
static void
sort_lists(BuildState *state)
{
	MemoryContext scratch;
	uint32		longest = 0;
	Size		pages_size;

	for (int l = 0; l < state->n_lists; l++)
		longest = Max(longest, state->lists[l].pages);
	state->range_pages = ipivf_range_pages(state->index, (int) Min(longest, IPIVF_MAX_RANGE_PAGES));
	if (state->range_pages == 0)
		return;
	pages_size = IPIVF_LIST_PAGES_SIZE(state->range_pages);
	state->list_pages = MemoryContextAllocHuge(state->context, pages_size * state->n_lists);
	scratch = AllocSetContextCreate(CurrentMemoryContext, "ipivf list sort", ALLOCSET_DEFAULT_SIZES);

	for (int l = 0; l < state->n_lists; l++)
	{
		sort_list(state, l, scratch);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(scratch);
	state->range_start = RelationGetNumberOfBlocks(state->index);
	write_ranges(state);
}

/* Pass 2 callback: queue the vector for assignment. */
static void
assign_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				bool alive, void *opaque)
{
	BuildState *state = (BuildState *) opaque;
	const float *x;

	if (isnull[0])
	{
		IpivfTuple	null_tuple;

		null_tuple.heap_tid = *tid;
		null_tuple.unused = 0;
		append_to_list(state, &state->null_list, &null_tuple, IPIVF_TUPLE_SIZE(0), NULL, NULL, 0);
		state->index_tuples++;
		return;
	}
	x = ipivf_vector(values[0], state->dims);
	memcpy(state->batch_raw + state->batch_count * state->dims, x, sizeof(float) * state->dims);
	if (state->batch != state->batch_raw)
		ivf_list_geometry(state->metric, x, state->dims, state->batch + state->batch_count * state->dims);
	state->batch_ids[state->batch_count] = alive ? row_id(tid) : IVF_TRUTH_SKIP;
	ipivf_filter_values(index, values, isnull, state->batch_filters + state->batch_count * state->layout.n_filters,
						&state->batch_filter_nulls[state->batch_count]);
	state->batch_tids[state->batch_count++] = *tid;
	if (state->batch_count == ASSIGN_BATCH)
	{
		flush_batch(state);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) state->index_tuples);
	}
	state->index_tuples++;
}

/*
 * The default number of lists: 4·√rows, but no more than make a list of a
 * full data page (nor fewer than √rows), at most 10,000.  More, shorter
 * lists sharpen the partition: on the 1M × 64 benchmark a scan reaches
 * recall@20 0.96 after reading 6.4% of the rows with √rows lists, 4.8%
 * with 2·√rows and 3.2% with 4·√rows, while the centroids a scan scores
 * (a directory of 1.1 MB at 4,000 lists) stay small against the lists it
 * reads; below a page per list the pages would be mostly empty.
 */
static int
choose_lists(Relation index, double rows, int dims)
{
	int			lists = ipivf_lists_option(index);

	if (lists <= 0)
	{
		double		per_page = (double) (BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(IpivfPageOpaqueData))) /
			(MAXALIGN(IPIVF_CODE_TUPLE_SIZE(dims)) + sizeof(ItemIdData));
		double		full_pages = rows / Max(per_page, 1.0);

		lists = (int) Max(1.0, Min(Min(4.0 * sqrt(rows), Max(sqrt(rows), full_pages)), 10000.0));
	}
	return lists;
}

static void
check_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
}

/*
 * The default probes: the fewest lists, in each query's visiting order,
 * that hold IPIVF_CALIBRATION_TARGET of their exact neighbours; 0 (the
 * fixed rule) without enough queries.  Measured on a model's users, it is
 * what the index's queries need, and it is the default.  Measured on rows
 * held out of the table, it only ever lowers the fixed rule: where queries
 * are drawn like the rows (the benchmark's model) it is what they need,
 * but on a trained model whose users are not known to the build it asks
 * for 3 to 8 times what they need (lastfm-2k, a generated 383k-item
 * model: docs/ipivf.md).
 */
static int
calibrate_probes(BuildState *state)
{
	float	   *radius;
	int			probes;
	double		coverage;

	if (!state->calibrating)
		return 0;
	radius = palloc(sizeof(float) * state->n_lists);
	for (int l = 0; l < state->n_lists; l++)
		radius[l] = state->lists[l].radius;
	probes = ivf_truth_probes(&state->truth, state->centroids, radius, state->n_lists,
							  IPIVF_CALIBRATION_TARGET, IPIVF_CALIBRATION_MIN_QUERIES, &coverage,
							  check_interrupts);
	pfree(radius);
	elog(DEBUG1, "ipivf: %zu %s ask for %d of %d lists (%.4f of their neighbours)",
		 state->n_queries, state->users_as_queries ? "of the model's users" : "held-out rows",
		 probes, state->n_lists, coverage);
	if (probes > 0 && !state->users_as_queries)
		probes = Min(probes, ipivf_rule_probes(state->n_lists));
	return probes;
}

/*
 * What pass 2 learnt goes to the metapage written before it: the NULL
 * chain's head, the probes, the page ranges.
 */
static void
update_meta(Relation index, const BuildState *state)
{
	Buffer		buffer;
	IpivfMetaPage meta;

	if (state->null_list.head == InvalidBlockNumber && state->calibrated_probes == 0 && state->range_pages == 0)
		return;
	buffer = ReadBuffer(index, IPIVF_METAPAGE_BLKNO);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	meta = IpivfPageGetMeta(BufferGetPage(buffer));
	meta->null_head = state->null_list.head;
	meta->calibrated_probes = state->calibrated_probes;
	meta->range_pages = state->range_pages;
	meta->range_start = state->range_start;
	MarkBufferDirty(buffer);
	UnlockReleaseBuffer(buffer);
}

IndexBuildResult *
ipivfbuild(Relation heap, Relation index, IndexInfo *info)
{
	BuildState	state;
	IndexBuildResult *result;
	MemoryContext old;
	int32		typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
	if (typmod > IPIVF_MAX_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ipivf indexes support at most %d dimensions, not %d", IPIVF_MAX_DIMS, typmod),
				 errhint("Index a lower-dimensional embedding, or search it with a sequential scan.")));

	ipivf_check_columns(index);
	memset(&state, 0, sizeof(state));
	state.index = index;
	state.metric = ipivf_metric(index);
	state.dims = typmod > 0 ? typmod : 0;
	state.threads = irec_thread_count(0);
	state.context = AllocSetContextCreate(CurrentMemoryContext, "ipivf build", ALLOCSET_DEFAULT_SIZES);
	rng_seed(&state.rng, 42, 0);
	rng_seed(&state.holdout_rng, 42, 1);
	old = MemoryContextSwitchTo(state.context);

	/* pass 1: sample */
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IPIVF_PHASE_SAMPLE);
	table_index_build_scan(heap, index, info, true, true, sample_callback, &state, NULL);

	/* cluster */
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IPIVF_PHASE_CLUSTER);
	if (state.index_tuples > 0)
	{
		size_t		scratch;
		void	   *kmeans_scratch;

		state.n_lists = Min(choose_lists(index, state.index_tuples, state.dims), (int) state.sample_count);
		if (state.sample_count < state.offered && state.sample_count < (size_t) state.n_lists * 32)
			ereport(NOTICE,
					(errmsg("ipivf clusters a sample of %zu vectors for %d lists", state.sample_count, state.n_lists),
					 errdetail("maintenance_work_mem limits the sample to %zu vectors; 32 per list or more give better lists.",
							   state.sample_capacity),
					 errhint("Increase maintenance_work_mem to at least %d MB for this build.",
							 (int) (((double) state.n_lists * 32 * state.dims * sizeof(float) * 2) / (1024 * 1024)) + 1)));
		scratch = ivf_kmeans_scratch_bytes(state.sample_count, state.dims, state.n_lists, state.threads);
		kmeans_scratch = MemoryContextAllocHuge(state.context, scratch);
		state.centroids = MemoryContextAllocHuge(state.context,
												 sizeof(float) * state.n_lists * IVF_CENTROID_FLOATS(state.dims));
		ivf_kmeans(state.sample, state.sample_count, state.dims, state.n_lists, KMEANS_ITERATIONS,
				   state.metric, 42, state.threads, state.centroids, &state.max_norm, kmeans_scratch);
		pfree(kmeans_scratch);
		pfree(state.sample);
		state.sample = NULL;
		if (state.metric != IVF_METRIC_L1 && state.n_lists > 1)
		{
			/* an irec model's items: its users are the queries to measure on */
			float	   *users = palloc(sizeof(float) * IPIVF_CALIBRATION_QUERIES * state.dims);
			int			n_users = ipivf_model_queries(heap, state.dims, users, IPIVF_CALIBRATION_QUERIES);

			if (n_users >= IPIVF_CALIBRATION_MIN_QUERIES)
			{
				state.queries = users;
				state.n_queries = n_users;
				state.users_as_queries = true;
				for (size_t q = 0; q < state.n_queries; q++)
					state.query_ids[q] = IVF_TRUTH_NO_ROW;
			}
		}
		if (state.n_queries >= IPIVF_CALIBRATION_MIN_QUERIES && state.n_lists > 1)
		{
			state.calibrating = true;
			ivf_truth_init(&state.truth, state.metric, state.dims, state.queries, state.query_ids,
						   (int) state.n_queries, IPIVF_CALIBRATION_K, state.threads, ASSIGN_BATCH,
						   MemoryContextAllocHuge(state.context,
												  ivf_truth_bytes((int) state.n_queries, IPIVF_CALIBRATION_K,
																  state.threads, ASSIGN_BATCH)));
		}
	}
	else if (state.dims > 0)
		ereport(NOTICE,
				(errmsg("ipivf index \"%s\" was built on no rows", RelationGetRelationName(index)),
				 errhint("Its lists form as rows arrive; REINDEX once the table has data for better lists.")));

	state.null_list.head = state.null_list.tail = InvalidBlockNumber;
	state.lists = palloc(sizeof(ListState) * Max(state.n_lists, 1));
	for (int l = 0; l < state.n_lists; l++)
	{
		state.lists[l].head = state.lists[l].tail = InvalidBlockNumber;
		state.lists[l].count = 0;
		state.lists[l].pages = 0;
		state.lists[l].radius = 0;
		state.lists[l].max_norm = 0;
	}
	write_meta(index, MAIN_FORKNUM, &state);
	if (state.n_lists > 0)
		write_directory(&state, true);
	else
		write_empty_directory(index, MAIN_FORKNUM);

	/* pass 2: assign (and chain the NULL rows) */
	if (state.n_lists > 0 || state.null_rows > 0)
	{
		double		total = state.index_tuples + state.null_rows;

		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IPIVF_PHASE_ASSIGN);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) total);
		state.index_tuples = 0;
		if (state.n_lists > 0)
		{
			state.batch = MemoryContextAllocHuge(state.context, sizeof(float) * ASSIGN_BATCH * state.dims);
			state.batch_raw = state.metric == IVF_METRIC_COSINE
				? MemoryContextAllocHuge(state.context, sizeof(float) * ASSIGN_BATCH * state.dims)
				: state.batch;
			state.batch_tids = palloc(sizeof(ItemPointerData) * ASSIGN_BATCH);
			state.batch_ids = palloc(sizeof(uint64) * ASSIGN_BATCH);
			state.batch_list = palloc(sizeof(int32) * ASSIGN_BATCH);
			ipivf_filter_layout(index, state.dims, &state.layout);
			state.batch_filters = palloc(sizeof(int64) * ASSIGN_BATCH * Max(state.layout.n_filters, 1));
			state.batch_filter_nulls = palloc(sizeof(uint8) * ASSIGN_BATCH);
			state.assign_scratch = MemoryContextAllocHuge(state.context,
														  ivf_assign_scratch_bytes(state.n_lists, state.dims, state.threads));
			state.tuple = palloc0(IPIVF_CODE_TUPLE_SIZE(state.dims));
		}
		table_index_build_scan(heap, index, info, true, false, assign_callback, &state, NULL);
		flush_batch(&state);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) state.index_tuples);
		if (state.n_lists > 0)
			write_directory(&state, false);
		if (state.n_lists > 0 && state.layout.n_filters > 0)
			sort_lists(&state);
		state.calibrated_probes = calibrate_probes(&state);
		update_meta(index, &state);
	}

	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);

	MemoryContextSwitchTo(old);
	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = state.heap_tuples;
	result->index_tuples = state.index_tuples;
	MemoryContextDelete(state.context);
	return result;
}

/*
 * ipivfbuildempty: the init fork of an unlogged index, an index with no
 * lists yet (they form as rows arrive).
 */
void
ipivfbuildempty(Relation index)
{
	BuildState	state;
	int32		typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;

	ipivf_check_columns(index);
	memset(&state, 0, sizeof(state));
	state.index = index;
	state.metric = ipivf_metric(index);
	state.dims = typmod > 0 ? typmod : 0;
	state.null_list.head = InvalidBlockNumber;
	write_meta(index, INIT_FORKNUM, &state);
	write_empty_directory(index, INIT_FORKNUM);
	log_newpage_range(index, INIT_FORKNUM, 0, 2, true);
}
