/*
 * ipivfinsert.c
 *		Inserting one row into an ipivf index.
 *
 * The row goes to the list whose (augmented) centroid is nearest, as in the
 * build, and into the first page of that list with room, starting at the
 * list's insert_page hint (vacuum points it at freed space).  The list's
 * bounds grow to cover the new vector.  Lock order: metapage (only to
 * create the first list), directory page, the page of the list's page
 * ranges (filter columns), data pages; every change is one generic WAL
 * record of at most four pages.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/vecmath.h"
#include "embedding.h"
#include "index/ipivf.h"

/* The list a vector (in the list geometry) belongs to: nearest augmented centroid. */
static int
nearest_list(const IpivfMetaPageData *meta, const IpivfList *lists, const float *x)
{
	Size		entry = IPIVF_LIST_SIZE(meta->dims);
	int			best = 0;
	double		best_distance = INFINITY;

	for (int l = 0; l < meta->n_lists; l++)
	{
		const IpivfList *list = (const IpivfList *) ((const char *) lists + entry * l);
		double		distance = ivf_assign_distance((IvfMetric) meta->metric, x, list->centroid,
												   meta->dims, meta->max_norm);

		if (distance < best_distance)
		{
			best_distance = distance;
			best = l;
		}
	}
	return best;
}

/*
 * create_first_list: an index built on no rows has no lists; the first
 * vector becomes the centroid of list 0.  Returns with the metapage
 * updated; races with a concurrent creator are settled under the metapage
 * lock.
 */
static void
create_first_list(Relation index, const float *x, int dims)
{
	int			range_pages = ipivf_range_pages(index, 0);
	Buffer		meta_buffer = ReadBuffer(index, IPIVF_METAPAGE_BLKNO);
	GenericXLogState *state;
	Page		meta_page;
	IpivfMetaPage meta;

	LockBuffer(meta_buffer, BUFFER_LOCK_EXCLUSIVE);
	meta = IpivfPageGetMeta(BufferGetPage(meta_buffer));
	if (meta->n_lists == 0)
	{
		Buffer		directory;
		Buffer		ranges;
		Page		directory_page;
		IpivfList  *list;

		/*
		 * The build leaves an empty directory page in its place, so that
		 * rows with a NULL embedding chained before the first list cannot
		 * take it; an index built on no rows by an earlier version has none
		 * yet, and one built on NULL rows only cannot take a list.
		 */
		if (RelationGetNumberOfBlocks(index) > IPIVF_DIRECTORY_START)
		{
			directory = ReadBuffer(index, IPIVF_DIRECTORY_START);
			LockBuffer(directory, BUFFER_LOCK_EXCLUSIVE);
			if (IpivfPageGetOpaque(BufferGetPage(directory))->flags != IPIVF_DIRECTORY ||
				((PageHeader) BufferGetPage(directory))->pd_lower != MAXALIGN(SizeOfPageHeaderData))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("ipivf index \"%s\" has no room for its first list", RelationGetRelationName(index)),
						 errdetail("It was built on rows whose embeddings were all NULL by an earlier version of irec."),
						 errhint("REINDEX it.")));
		}
		else
			directory = ipivf_new_buffer(index, MAIN_FORKNUM);
		ranges = range_pages > 0 ? ipivf_new_buffer(index, MAIN_FORKNUM) : InvalidBuffer;
		state = GenericXLogStart(index);
		meta_page = GenericXLogRegisterBuffer(state, meta_buffer, 0);
		directory_page = GenericXLogRegisterBuffer(state, directory, GENERIC_XLOG_FULL_IMAGE);
		meta = IpivfPageGetMeta(meta_page);
		meta->dims = dims;
		meta->range_pages = range_pages;
		if (range_pages > 0)
		{
			/* the page of the list's page ranges */
			Page		ranges_page = GenericXLogRegisterBuffer(state, ranges, GENERIC_XLOG_FULL_IMAGE);

			meta->range_start = BufferGetBlockNumber(ranges);
			ipivf_init_page(ranges_page, IPIVF_RANGES);
			ipivf_list_pages_init(ipivf_list_pages_in_page(ranges_page, meta, 0));
			((PageHeader) ranges_page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + IPIVF_LIST_PAGES_SIZE(range_pages);
		}
		meta->lists_per_page = ipivf_lists_per_page(dims);
		meta->max_norm = Min(ivf_round_up(ivf_member_norm(x, dims)), FLT_MAX);
		meta->n_lists = 1;
		ipivf_init_page(directory_page, IPIVF_DIRECTORY);
		list = ipivf_list_in_page(directory_page, 0, dims);
		memset(list, 0, IPIVF_LIST_SIZE(dims));
		list->head = InvalidBlockNumber;
		list->insert_page = InvalidBlockNumber;
		memcpy(list->centroid, x, sizeof(float) * dims);
		list->centroid[dims] = 0.0f;
		((PageHeader) directory_page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + IPIVF_LIST_SIZE(dims);
		GenericXLogFinish(state);
		UnlockReleaseBuffer(directory);
		if (BufferIsValid(ranges))
			UnlockReleaseBuffer(ranges);
	}
	UnlockReleaseBuffer(meta_buffer);
}

/*
 * add_to_list: put the tuple on the first page of the list with room,
 * extending the chain when every page is full, and grow the list's bounds.
 * The directory page is locked exclusively throughout, which serializes
 * inserts into its lists and keeps chain and hint consistent.
 */
static void
add_to_list(Relation index, const IpivfMetaPageData *meta, int l, const void *tuple, Size size,
			float radius, float norm, const int64 *filters, uint8 filter_nulls)
{
	IpivfFilterLayout layout;
	OffsetNumber offset;
	Buffer		directory = ReadBuffer(index, ipivf_directory_block(meta, l));
	int			slot = ipivf_directory_slot(meta, l);
	IpivfList  *list;
	BlockNumber block;
	Buffer		buffer = InvalidBuffer;
	BlockNumber previous = InvalidBlockNumber;
	Buffer		ranges = InvalidBuffer;

	ipivf_filter_layout(index, meta->dims, &layout);
	LockBuffer(directory, BUFFER_LOCK_EXCLUSIVE);
	if (meta->range_pages > 0)
	{
		/* the list's page ranges: locked after the directory page, before the data pages */
		ranges = ReadBuffer(index, ipivf_range_block(meta, l));
		LockBuffer(ranges, BUFFER_LOCK_EXCLUSIVE);
	}
	list = ipivf_list_in_page(BufferGetPage(directory), slot, meta->dims);
	block = list->insert_page != InvalidBlockNumber ? list->insert_page : list->head;

	/* find a page with room, following the chain from the hint */
	while (block != InvalidBlockNumber)
	{
		Page		page;

		buffer = ReadBuffer(index, block);
		LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buffer);
		if (ipivf_data_page_has_room(page, size, &layout))
			break;
		previous = block;
		block = IpivfPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
		buffer = InvalidBuffer;
	}

	{
		GenericXLogState *state = GenericXLogStart(index);
		Page		directory_page = GenericXLogRegisterBuffer(state, directory, 0);
		IpivfList  *entry = ipivf_list_in_page(directory_page, slot, meta->dims);
		IpivfListPages *pages = BufferIsValid(ranges)
			? ipivf_list_pages_in_page(GenericXLogRegisterBuffer(state, ranges, 0), meta, l) : NULL;
		Page		page;
		Buffer		previous_buffer = InvalidBuffer;

		if (BufferIsValid(buffer))
			page = GenericXLogRegisterBuffer(state, buffer, 0);
		else
		{
			/* every page is full (or the list is empty): chain a new one */
			buffer = ipivf_new_buffer(index, MAIN_FORKNUM);
			page = GenericXLogRegisterBuffer(state, buffer, GENERIC_XLOG_FULL_IMAGE);
			ipivf_init_data_page(page, &layout);
			if (previous != InvalidBlockNumber)
			{
				Page		previous_page;

				previous_buffer = ReadBuffer(index, previous);
				LockBuffer(previous_buffer, BUFFER_LOCK_EXCLUSIVE);
				previous_page = GenericXLogRegisterBuffer(state, previous_buffer, 0);
				IpivfPageGetOpaque(previous_page)->next = BufferGetBlockNumber(buffer);
			}
			else
				entry->head = BufferGetBlockNumber(buffer);
			if (pages)
				ipivf_list_pages_add(pages, meta->range_pages, previous, BufferGetBlockNumber(buffer));
		}
		offset = PageAddItem(page, (Item) tuple, size, InvalidOffsetNumber, false, false);
		if (offset == InvalidOffsetNumber)
			elog(ERROR, "ipivf: failed to add a tuple to a page with room");
		ipivf_page_set_filters(page, offset, &layout, filters, filter_nulls);
		if (pages && !(filter_nulls & 1))
		{
			/* the page's range covers its new member's first filter value */
			IpivfPageRange *range = ipivf_list_pages_find(pages, BufferGetBlockNumber(buffer));

			if (range)
				ipivf_range_widen(range, filters[0]);
		}
		entry->insert_page = BufferGetBlockNumber(buffer);
		entry->count++;
		entry->radius = Max(entry->radius, radius);
		entry->max_norm = Max(entry->max_norm, norm);
		GenericXLogFinish(state);
		if (BufferIsValid(previous_buffer))
			UnlockReleaseBuffer(previous_buffer);
	}
	UnlockReleaseBuffer(buffer);
	if (BufferIsValid(ranges))
		UnlockReleaseBuffer(ranges);
	UnlockReleaseBuffer(directory);
}

/*
 * ipivf_insert_null: append a row with a NULL embedding to the metapage's
 * NULL chain, under the metapage lock (such rows are rare).
 */
void
ipivf_insert_null(Relation index, ItemPointer heap_tid)
{
	Buffer		meta_buffer = ReadBuffer(index, IPIVF_METAPAGE_BLKNO);
	IpivfTuple	tuple;
	Size		size = IPIVF_TUPLE_SIZE(0);
	BlockNumber block;
	BlockNumber previous = InvalidBlockNumber;
	Buffer		buffer = InvalidBuffer;
	GenericXLogState *state;
	Page		page;
	Buffer		previous_buffer = InvalidBuffer;

	tuple.heap_tid = *heap_tid;
	tuple.unused = 0;
	LockBuffer(meta_buffer, BUFFER_LOCK_EXCLUSIVE);
	block = IpivfPageGetMeta(BufferGetPage(meta_buffer))->null_head;
	while (block != InvalidBlockNumber)
	{
		buffer = ReadBuffer(index, block);
		LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
		if (PageGetFreeSpace(BufferGetPage(buffer)) >= MAXALIGN(size))
			break;
		previous = block;
		block = IpivfPageGetOpaque(BufferGetPage(buffer))->next;
		UnlockReleaseBuffer(buffer);
		buffer = InvalidBuffer;
	}
	state = GenericXLogStart(index);
	if (BufferIsValid(buffer))
		page = GenericXLogRegisterBuffer(state, buffer, 0);
	else
	{
		buffer = ipivf_new_buffer(index, MAIN_FORKNUM);
		page = GenericXLogRegisterBuffer(state, buffer, GENERIC_XLOG_FULL_IMAGE);
		ipivf_init_page(page, IPIVF_DATA);
		if (previous != InvalidBlockNumber)
		{
			previous_buffer = ReadBuffer(index, previous);
			LockBuffer(previous_buffer, BUFFER_LOCK_EXCLUSIVE);
			IpivfPageGetOpaque(GenericXLogRegisterBuffer(state, previous_buffer, 0))->next =
				BufferGetBlockNumber(buffer);
		}
		else
			IpivfPageGetMeta(GenericXLogRegisterBuffer(state, meta_buffer, 0))->null_head =
				BufferGetBlockNumber(buffer);
	}
	if (PageAddItem(page, (Item) &tuple, size, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
		elog(ERROR, "ipivf: failed to add a tuple to a page with room");
	GenericXLogFinish(state);
	if (BufferIsValid(previous_buffer))
		UnlockReleaseBuffer(previous_buffer);
	UnlockReleaseBuffer(buffer);
	UnlockReleaseBuffer(meta_buffer);
}

bool
ipivfinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
			Relation heap, IndexUniqueCheck check_unique, bool index_unchanged,
			IndexInfo *info)
{
	MemoryContext context;
	MemoryContext old;
	IpivfMetaPageData meta;
	IvfMetric	metric;
	Embedding  *e;
	const float *raw;
	const float *x;
	float	   *buffer;
	void	   *tuple;
	Size		size;
	IpivfList  *lists;
	int			l;
	Size		entry;
	int64		filters[IPIVF_MAX_FILTERS];
	uint8		filter_nulls;

	/* rows with a NULL embedding have no distance: they go to the NULL chain */
	if (isnull[0])
	{
		ipivf_insert_null(index, heap_tid);
		return false;
	}
	context = AllocSetContextCreate(CurrentMemoryContext, "ipivf insert", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(context);

	ipivf_read_meta(index, &meta);
	metric = (IvfMetric) meta.metric;
	e = DatumGetEmbedding(values[0]);
	if (meta.dims == 0)
	{
		if (e->dims > IPIVF_MAX_DIMS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("ipivf indexes support at most %d dimensions, not %d", IPIVF_MAX_DIMS, e->dims),
					 errhint("Index a lower-dimensional embedding, or search it with a sequential scan.")));
		meta.dims = e->dims;
	}
	buffer = palloc(sizeof(float) * meta.dims);
	raw = ipivf_vector(values[0], meta.dims);
	ivf_list_geometry(metric, raw, meta.dims, buffer);
	x = buffer;
	if (meta.n_lists == 0)
	{
		create_first_list(index, x, meta.dims);
		ipivf_read_meta(index, &meta);
	}

	lists = ipivf_load_directory(index, &meta);
	l = nearest_list(&meta, lists, x);
	entry = IPIVF_LIST_SIZE(meta.dims);
	size = IPIVF_ENTRY_SIZE(meta.version, meta.dims);
	tuple = palloc0(size);
	{
		const IpivfList *list = (const IpivfList *) ((const char *) lists + entry * l);

		/* an index of an earlier format keeps taking its own entries */
		if (meta.version >= IPIVF_FIRST_CODED_VERSION)
		{
			((IpivfCodeTuple *) tuple)->heap_tid = *heap_tid;
			ivf_code_encode(metric, raw, list->centroid, meta.dims, &((IpivfCodeTuple *) tuple)->code);
		}
		else
		{
			((IpivfTuple *) tuple)->heap_tid = *heap_tid;
			memcpy(((IpivfTuple *) tuple)->x, raw, sizeof(float) * meta.dims);
		}
		ipivf_filter_values(index, values, isnull, filters, &filter_nulls);
		add_to_list(index, &meta, l, tuple, size,
					ivf_round_up(ivf_member_radius(x, list->centroid, meta.dims)),
					ivf_round_up(ivf_member_norm(x, meta.dims)), filters, filter_nulls);
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(context);
	return false;
}
