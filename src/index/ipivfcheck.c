/*
 * ipivfcheck.c
 *		irec_index_check(index): verify an ipivf index against its table, in
 *		the spirit of amcheck.
 *
 * Structure: metapage magic and version, directory size, every chain made
 * of data pages of this index with no block out of range and no cycle.
 * Bounds: every row's vector, as the table holds it, lies within its list's
 * radius and norm bounds and within its code's error bound, which the
 * scan's proof of order relies on.  Contents: every row of the table
 * visible to the snapshot is in the index exactly once; entries for rows
 * the snapshot does not see (dead or in progress) are counted.
 * Structural and bound violations raise ERRCODE_INDEX_CORRUPTED.
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "core/vecmath.h"
#include "index/ipivf.h"

static int
compare_tids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/* Where an index entry lies, to check its code against the table's row. */
typedef struct EntryPlace
{
	ItemPointerData tid;		/* first: sorts and searches as a TID */
	OffsetNumber offset;
	BlockNumber block;
	int32		list;			/* -1: the NULL chain */
} EntryPlace;

typedef struct CheckState
{
	Relation	index;
	BlockNumber nblocks;
	bool	   *seen_block;
	EntryPlace *entries;
	size_t		n_tids;
	size_t		capacity;
	int64		pages;
	float	   *geometry;		/* one row in its list geometry */
	IpivfFilterLayout layout;	/* of the lists' data pages */
	/* the heap pass */
	IpivfMetaPageData *meta;
	IpivfList  *lists;
	ItemPointerData *heap_tids;
	size_t		n_heap;
	size_t		heap_capacity;
} CheckState;

static void
corrupt(Relation index, const char *what, BlockNumber block)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" is corrupted: %s (block %u)",
					RelationGetRelationName(index), what, block),
			 errhint("REINDEX the index.")));
}

/*
 * A list's page ranges (NULL: it keeps none), copied from their page and
 * checked against the number the index keeps.
 */
static IpivfListPages *
read_ranges(CheckState *state, const IpivfMetaPageData *meta, int l)
{
	Buffer		buffer;
	IpivfListPages *pages;

	if (meta->range_pages == 0)
		return NULL;
	buffer = ReadBuffer(state->index, ipivf_range_block(meta, l));
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	if (IpivfPageGetOpaque(BufferGetPage(buffer))->flags != IPIVF_RANGES)
		corrupt(state->index, "the page ranges are not where the metapage puts them", ipivf_range_block(meta, l));
	pages = palloc(IPIVF_LIST_PAGES_SIZE(meta->range_pages));
	memcpy(pages, ipivf_list_pages_in_page(BufferGetPage(buffer), meta, l), IPIVF_LIST_PAGES_SIZE(meta->range_pages));
	UnlockReleaseBuffer(buffer);
	if (pages->n < 0 || pages->n > meta->range_pages)
		corrupt(state->index, "a list keeps more page ranges than the index holds", ipivf_range_block(meta, l));
	return pages;
}

/*
 * Walk one chain, collecting where each entry lies and checking its code;
 * with page ranges, that they name the chain's first pages in order and
 * then `rest` where it goes on, and hold every first filter value of their
 * page, which the scan's skipping of pages relies on.
 */
static void
check_chain(CheckState *state, BlockNumber block, const IpivfMetaPageData *meta,
			const IpivfList *list, int32 list_number, const IpivfListPages *pages)
{
	int			position = 0;	/* of the page in the chain */

	for (;; position++)
	{
		Buffer		buffer;
		Page		page;
		IpivfPageOpaque opaque;
		OffsetNumber max;
		const IpivfPageRange *range = pages && position < pages->n ? &pages->page[position] : NULL;

		if (pages && position == pages->n && block != pages->rest)
			corrupt(state->index, "a list's page ranges end elsewhere than its chain goes on", block);
		if (block == InvalidBlockNumber)
			break;
		if (pages && position < pages->n && block != range->block)
			corrupt(state->index, "a list's page ranges name pages out of its chain's order", block);
		if (block >= state->nblocks || block < IPIVF_DIRECTORY_START)
			corrupt(state->index, "a chain points outside the index", block);
		if (state->seen_block[block])
			corrupt(state->index, "a page is in two chains or a chain loops", block);
		state->seen_block[block] = true;
		state->pages++;
		buffer = ReadBuffer(state->index, block);
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		opaque = IpivfPageGetOpaque(page);
		if (PageGetSpecialSize(page) != (list ? state->layout.special : ipivf_no_filters.special) ||
			opaque->page_id != IPIVF_PAGE_ID || opaque->flags != IPIVF_DATA)
			corrupt(state->index, "a chain reaches a page that is not a data page", block);
		max = PageGetMaxOffsetNumber(page);
		if (list && state->layout.capacity > 0 && max > state->layout.capacity)
			corrupt(state->index, "a data page holds more members than its filter values", block);
		for (OffsetNumber off = FirstOffsetNumber; off <= max; off = OffsetNumberNext(off))
		{
			ItemId		id = PageGetItemId(page, off);
			IpivfCodeTuple *tuple = (IpivfCodeTuple *) PageGetItem(page, id);
			size_t		expected = list ? IPIVF_CODE_TUPLE_SIZE(meta->dims) : IPIVF_TUPLE_SIZE(0);
			EntryPlace *place;

			if (!ItemIdIsNormal(id) || ItemIdGetLength(id) != expected)
				corrupt(state->index, "an entry has the wrong size", block);
			if (list && !(tuple->code.step < 0.0f ? isinf(tuple->code.error)
						  : isfinite(tuple->code.lo) && isfinite(tuple->code.step) &&
						  tuple->code.error >= 0.0f && tuple->code.norm >= 0.0f && isfinite(tuple->code.norm)))
				corrupt(state->index, "an entry's code is malformed", block);
			if (range && !(ipivf_page_filter_nulls(page, &state->layout)[off - 1] & 1))
			{
				int64		value = ipivf_page_filter_values(page)[(Size) (off - 1) * state->layout.n_filters];

				if (value < range->min || value > range->max)
					corrupt(state->index, "a page holds a filter value outside its range", block);
			}
			if (state->n_tids == state->capacity)
			{
				state->capacity *= 2;
				state->entries = repalloc_huge(state->entries, sizeof(EntryPlace) * state->capacity);
			}
			place = &state->entries[state->n_tids++];
			place->tid = tuple->heap_tid;
			place->block = block;
			place->offset = off;
			place->list = list_number;
		}
		block = opaque->next;
		UnlockReleaseBuffer(buffer);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The heap pass, one call per row the snapshot sees (with the indexed value
 * computed as an insert would): note the row, and check that its entry's
 * code and list bounds hold for the vector the table has.  The bounds are
 * rounded up from the very sums recomputed here: no tolerance.
 */
static void
check_row(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *opaque)
{
	CheckState *state = (CheckState *) opaque;
	const IpivfMetaPageData *meta = state->meta;
	EntryPlace *place;

	if (state->n_heap == state->heap_capacity)
	{
		state->heap_capacity *= 2;
		state->heap_tids = repalloc_huge(state->heap_tids, sizeof(ItemPointerData) * state->heap_capacity);
	}
	state->heap_tids[state->n_heap++] = *tid;
	if ((state->n_heap & 4095) == 0)
		CHECK_FOR_INTERRUPTS();
	place = bsearch(tid, state->entries, state->n_tids, sizeof(EntryPlace), compare_tids);
	if (place == NULL || isnull[0] || place->list < 0)
		return;
	{
		const IpivfList *list = (const IpivfList *) ((const char *) state->lists +
													 IPIVF_LIST_SIZE(meta->dims) * place->list);
		const float *x = ipivf_vector(values[0], meta->dims);
		Buffer		buffer = ReadBuffer(state->index, place->block);
		IpivfCodeTuple *tuple;
		bool		holds;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		tuple = (IpivfCodeTuple *) PageGetItem(BufferGetPage(buffer),
											   PageGetItemId(BufferGetPage(buffer), place->offset));
		ivf_list_geometry((IvfMetric) meta->metric, x, meta->dims, state->geometry);
		holds = vec_all_finite(x, meta->dims) &&
			ivf_member_radius(state->geometry, list->centroid, meta->dims) <= list->radius &&
			ivf_member_norm(state->geometry, meta->dims) <= list->max_norm &&
			ivf_code_covers((IvfMetric) meta->metric, &tuple->code, x, list->centroid, meta->dims);
		if (state->layout.n_filters > 0)
		{
			/* the filter values the scan compares are the row's */
			Page		page = BufferGetPage(buffer);
			int64		filters[IPIVF_MAX_FILTERS];
			uint8		filter_nulls;

			ipivf_filter_values(index, values, isnull, filters, &filter_nulls);
			if (memcmp(filters, ipivf_page_filter_values(page) + (Size) (place->offset - 1) * state->layout.n_filters,
					   sizeof(int64) * state->layout.n_filters) != 0 ||
				filter_nulls != ipivf_page_filter_nulls(page, &state->layout)[place->offset - 1])
			{
				UnlockReleaseBuffer(buffer);
				corrupt(state->index, "a row's filter values differ from its entry's", place->block);
			}
		}
		UnlockReleaseBuffer(buffer);
		if (!holds)
			corrupt(state->index, "a row lies outside its entry's code or list bounds", place->block);
	}
}

PG_FUNCTION_INFO_V1(irec_index_check);
Datum
irec_index_check(PG_FUNCTION_ARGS)
{
	Oid			index_oid = PG_GETARG_OID(0);
	Oid			heap_oid = IndexGetRelation(index_oid, true);
	Relation	heap;
	Relation	index;
	IpivfMetaPageData meta;
	IpivfList  *lists = NULL;
	CheckState	state;
	TableScanDesc scan;
	IndexInfo  *index_info;
	int64		heap_rows = 0;
	int64		missing = 0;
	int64		duplicated = 0;
	int64		unseen = 0;
	size_t		matched = 0;
	Datum		values[8];
	bool		nulls[8] = {false};
	TupleDesc	desc;

	if (!OidIsValid(heap_oid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", get_rel_name(index_oid) ? get_rel_name(index_oid) : "?"),
				 errhint("Pass an ipivf index.")));
	heap = table_open(heap_oid, AccessShareLock);
	index = index_open(index_oid, AccessShareLock);
	if (index->rd_rel->relam != get_index_am_oid("ipivf", false))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an ipivf index", RelationGetRelationName(index)),
				 errhint("irec_index_check verifies ipivf indexes only.")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "irec_index_check must return a row");

	ipivf_read_meta(index, &meta);
	if (meta.version < IPIVF_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" was built by an earlier version of irec", RelationGetRelationName(index)),
				 errdetail("It keeps full vectors, or bounds computed in float that may be too tight for extreme norms."),
				 errhint("REINDEX it (ALTER EXTENSION irec UPDATE does this for every ipivf index).")));
	state.geometry = palloc(sizeof(float) * Max(meta.dims, 1));
	ipivf_filter_layout(index, meta.dims, &state.layout);
	state.index = index;
	state.nblocks = RelationGetNumberOfBlocks(index);
	state.seen_block = palloc0(Max(state.nblocks, 1));
	state.capacity = 1024;
	state.entries = palloc(sizeof(EntryPlace) * state.capacity);
	state.n_tids = 0;
	state.pages = 0;
	if (meta.n_lists > 0)
	{
		BlockNumber last_directory = ipivf_directory_block(&meta, meta.n_lists - 1);

		if (meta.lists_per_page != ipivf_lists_per_page(meta.dims) || last_directory >= state.nblocks)
			corrupt(index, "the directory does not match the metapage", IPIVF_METAPAGE_BLKNO);
		for (BlockNumber b = IPIVF_DIRECTORY_START; b <= last_directory; b++)
			state.seen_block[b] = true;
		if (meta.range_pages != 0)
		{
			BlockNumber last_ranges = ipivf_range_block(&meta, meta.n_lists - 1);

			/* an index of 0.15.0 keeps no page ranges; one that does keeps them all */
			if (meta.range_pages < IPIVF_MIN_RANGE_PAGES || meta.range_pages > IPIVF_MAX_RANGE_PAGES ||
				ipivf_range_pages(index, 0) == 0 || meta.range_start <= IPIVF_METAPAGE_BLKNO ||
				last_ranges >= state.nblocks)
				corrupt(index, "the page ranges do not match the metapage", IPIVF_METAPAGE_BLKNO);
			for (BlockNumber b = meta.range_start; b <= last_ranges; b++)
			{
				if (state.seen_block[b])
					corrupt(index, "the page ranges overlap the directory", b);
				state.seen_block[b] = true;
			}
		}
		lists = ipivf_load_directory(index, &meta);
	}
	for (int l = 0; l < meta.n_lists; l++)
	{
		const IpivfList *list = (const IpivfList *) ((const char *) lists + IPIVF_LIST_SIZE(meta.dims) * l);
		IpivfListPages *pages = read_ranges(&state, &meta, l);

		check_chain(&state, list->head, &meta, list, l, pages);
		if (pages)
			pfree(pages);
	}
	check_chain(&state, meta.null_head, &meta, NULL, -1, NULL);

	/* every visible heap row exactly once, within its entry's bounds */
	qsort(state.entries, state.n_tids, sizeof(EntryPlace), compare_tids);
	for (size_t k = 1; k < state.n_tids; k++)
		if (ItemPointerEquals(&state.entries[k].tid, &state.entries[k - 1].tid))
			duplicated++;
	state.meta = &meta;
	state.lists = lists;
	state.heap_capacity = 1024;
	state.heap_tids = palloc(sizeof(ItemPointerData) * state.heap_capacity);
	state.n_heap = 0;
	index_info = BuildIndexInfo(index);
	scan = table_beginscan_strat(heap, GetActiveSnapshot(), 0, NULL, true, false);
	table_index_build_scan(heap, index, index_info, true, false, check_row, &state, scan);
	heap_rows = state.n_heap;
	qsort(state.heap_tids, state.n_heap, sizeof(ItemPointerData), compare_tids);
	for (size_t h = 0, i = 0; h < state.n_heap; h++)
	{
		while (i < state.n_tids && ItemPointerCompare(&state.entries[i].tid, &state.heap_tids[h]) < 0)
			i++;
		if (i < state.n_tids && ItemPointerEquals(&state.entries[i].tid, &state.heap_tids[h]))
			matched++;
		else
			missing++;
	}
	unseen = (int64) state.n_tids - (int64) matched - duplicated;

	values[0] = Int32GetDatum(meta.n_lists);
	values[1] = Int64GetDatum(state.pages);
	values[2] = Int64GetDatum((int64) state.n_tids);
	values[3] = Int64GetDatum(heap_rows);
	values[4] = Int64GetDatum(missing);
	values[5] = Int64GetDatum(duplicated);
	values[6] = Int64GetDatum(unseen < 0 ? 0 : unseen);
	/* the column since 0.14.0 (a tuple of the 0.13.0 declaration takes the first seven) */
	values[7] = Int32GetDatum(ipivf_probes(index, &meta));
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
