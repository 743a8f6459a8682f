/*
 * ipivfvacuum.c
 *		VACUUM for ipivf: remove entries of dead heap rows, point inserts at
 *		the freed space, report statistics.
 *
 * Data pages are cleaned one at a time under an exclusive lock, each change
 * one generic WAL record; a list's directory entry is updated afterwards
 * under its own lock, never while a data page is held, so vacuum and
 * inserts (which lock directory, then data pages) cannot deadlock.  Bounds
 * are not shrunk: they stay valid for the rows that remain.
 */
#include "postgres.h"

#include "access/genam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "index/ipivf.h"

/*
 * vacuum_chain: delete the dead entries of one chain of data pages; returns
 * the first page with room for a tuple of tuple_size afterwards.
 */
static BlockNumber
vacuum_chain(IndexVacuumInfo *info, IndexBulkDeleteResult *stats, BlockNumber block,
			 Size tuple_size, const IpivfFilterLayout *layout,
			 IndexBulkDeleteCallback callback, void *callback_state)
{
	BlockNumber first_with_room = InvalidBlockNumber;

	while (block != InvalidBlockNumber)
	{
		Buffer		buffer;
		Page		page;
		OffsetNumber dead[MaxOffsetNumber];
		int			n_dead = 0;
		OffsetNumber max;

		vacuum_delay_point();
		buffer = ReadBufferExtended(info->index, MAIN_FORKNUM, block, RBM_NORMAL, info->strategy);
		LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buffer);
		max = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= max; off = OffsetNumberNext(off))
		{
			IpivfTuple *tuple = (IpivfTuple *) PageGetItem(page, PageGetItemId(page, off));

			if (callback(&tuple->heap_tid, callback_state))
				dead[n_dead++] = off;
			else
				stats->num_index_tuples++;
		}
		if (n_dead > 0)
		{
			GenericXLogState *state = GenericXLogStart(info->index);
			Page		copy = GenericXLogRegisterBuffer(state, buffer, 0);

			PageIndexMultiDelete(copy, dead, n_dead);
			/* the filter values follow their members (dead[] is ascending) */
			ipivf_page_delete_filters(copy, dead, n_dead, max, layout);
			GenericXLogFinish(state);
			stats->tuples_removed += n_dead;
		}
		if (first_with_room == InvalidBlockNumber && ipivf_data_page_has_room(page, tuple_size, layout))
			first_with_room = block;
		block = IpivfPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
	}
	return first_with_room;
}

IndexBulkDeleteResult *
ipivfbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	IpivfMetaPageData meta;
	IpivfList  *lists;
	Size		entry;
	IpivfFilterLayout layout;

	if (stats == NULL)
		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));
	ipivf_read_meta(index, &meta);
	vacuum_chain(info, stats, meta.null_head, MAXALIGN(IPIVF_TUPLE_SIZE(0)), &ipivf_no_filters, callback, callback_state);
	if (meta.n_lists == 0)
	{
		stats->num_pages = RelationGetNumberOfBlocks(index);
		return stats;
	}
	lists = ipivf_load_directory(index, &meta);
	entry = IPIVF_LIST_SIZE(meta.dims);
	ipivf_filter_layout(index, meta.dims, &layout);

	for (int l = 0; l < meta.n_lists; l++)
	{
		const IpivfList *list = (const IpivfList *) ((const char *) lists + entry * l);
		BlockNumber first_with_room = vacuum_chain(info, stats, list->head,
												   MAXALIGN(IPIVF_ENTRY_SIZE(meta.version, meta.dims)),
												   &layout, callback, callback_state);

		/* inserts start at the first page with room again */
		if (first_with_room != InvalidBlockNumber && first_with_room != list->insert_page)
		{
			Buffer		directory = ReadBuffer(index, ipivf_directory_block(&meta, l));
			GenericXLogState *state;
			Page		page;
			IpivfList  *current;

			LockBuffer(directory, BUFFER_LOCK_EXCLUSIVE);
			state = GenericXLogStart(index);
			page = GenericXLogRegisterBuffer(state, directory, 0);
			current = ipivf_list_in_page(page, ipivf_directory_slot(&meta, l), meta.dims);
			current->insert_page = first_with_room;
			GenericXLogFinish(state);
			UnlockReleaseBuffer(directory);
		}
	}
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}

IndexBulkDeleteResult *
ipivfvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;

	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		/* no deletions this time: count what is there */
		IpivfMetaPageData meta;
		IpivfList  *lists;
		Size		entry;

		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));
		ipivf_read_meta(index, &meta);
		lists = meta.n_lists > 0 ? ipivf_load_directory(index, &meta) : NULL;
		entry = meta.dims > 0 ? IPIVF_LIST_SIZE(meta.dims) : 0;
		for (int l = -1; l < meta.n_lists; l++)
		{
			BlockNumber block = l < 0 ? meta.null_head
				: ((const IpivfList *) ((const char *) lists + entry * l))->head;

			while (block != InvalidBlockNumber)
			{
				Buffer		buffer;
				Page		page;

				vacuum_delay_point();
				buffer = ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, info->strategy);
				LockBuffer(buffer, BUFFER_LOCK_SHARE);
				page = BufferGetPage(buffer);
				stats->num_index_tuples += PageGetMaxOffsetNumber(page);
				block = IpivfPageGetOpaque(page)->next;
				UnlockReleaseBuffer(buffer);
			}
		}
	}
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}
