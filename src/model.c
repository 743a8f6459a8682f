/*
 * model.c
 *		The model registry and a model's output tables (see model.h).
 *
 * A model is two ordinary tables, <model>_users(user_id, embedding) and
 * <model>_items(item_id, embedding), plus a row in irec_models.  All
 * statements go through SPI with every identifier quoted.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/multixact.h"
#include "access/nbtree.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xloginsert.h"
#include "catalog/namespace.h"
#include "catalog/index.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "common/relpath.h"
#include "commands/vacuum.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/fd.h"
#include "storage/lmgr.h"
#include "storage/smgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/wait_event.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"

#include "embedding.h"
#include "irec.h"
#include "model.h"

/* Rows per table_multi_insert call (COPY uses 1,000), and at most 4 MB. */
#define WRITE_BATCH 1000
#define WRITE_BATCH_BYTES (4 * 1024 * 1024)

static char *
registry_table(void)
{
	return quote_qualified_identifier(irec_extension_schema(), "irec_models");
}

/*
 * registered_model_of: name of the model whose users or items table is
 * `qualified` (quoted), or NULL.
 */
static char *
registered_model_of(const char *qualified)
{
	StringInfoData sql;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	char	   *result = NULL;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT name FROM %s WHERE users_table = $1 OR items_table = $1 "
					 "OR params->'context_tables' ? $1",
					 registry_table());
	values[0] = CStringGetTextDatum(qualified);
	if (SPI_execute_with_args(sql.data, 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the model registry");
	if (SPI_processed > 0)
		result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return result;
}

static void
check_table_slot(const char *schema, const char *relname, const char *model)
{
	Oid			nsp = get_namespace_oid(schema, false);
	char	   *qualified = quote_qualified_identifier(schema, relname);
	char	   *owner_model;

	if (!OidIsValid(get_relname_relid(relname, nsp)))
		return;
	owner_model = registered_model_of(qualified);
	if (owner_model == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation %s already exists and is not an irec model table", qualified),
				 errhint("Choose another model name with the model argument, or drop or rename that relation.")));
	if (strcmp(owner_model, model) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation %s belongs to model \"%s\"", qualified, owner_model),
				 errhint("Choose another model name with the model argument.")));
}

void
model_target(const char *model, Oid source_relid, ModelTarget *target)
{
	List	   *names;
	const char *relname;

	if (model == NULL)
	{
		/* default: the source's own name and schema, taken literally */
		model = get_rel_name(source_relid);
		target->schema = get_namespace_name(get_rel_namespace(source_relid));
		relname = model;
	}
	else
	{
		/* a given name is read like a table name: "m", "schema.m", "\"M\"" */
		if (model[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model name must not be empty"),
					 errhint("Pass a name, like model => 'shop', or leave it out to name the model after the table.")));
		names = stringToQualifiedNameList(model);
		if (list_length(names) == 1)
		{
			target->schema = get_namespace_name(get_rel_namespace(source_relid));
			relname = strVal(linitial(names));
		}
		else if (list_length(names) == 2)
		{
			target->schema = strVal(linitial(names));
			relname = strVal(lsecond(names));
			(void) get_namespace_oid(target->schema, false);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("improper model name \"%s\"", model),
					 errhint("A model name is read like a table name, optionally schema-qualified: m or schema.m.")));
	}
	if (strlen(relname) + strlen("_users") >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("model name \"%s\" is too long", relname),
				 errhint("Model names may have at most %d bytes, so that \"<model>_users\" fits a PostgreSQL name.",
						 (int) (NAMEDATALEN - 1 - strlen("_users")))));
	target->name = pstrdup(model);
	target->relname = pstrdup(relname);
	target->users_table = quote_qualified_identifier(target->schema, psprintf("%s_users", relname));
	target->items_table = quote_qualified_identifier(target->schema, psprintf("%s_items", relname));
	check_table_slot(target->schema, psprintf("%s_users", relname), target->name);
	check_table_slot(target->schema, psprintf("%s_items", relname), target->name);
}

char *
model_context_table(const ModelTarget *target, const char *column)
{
	char	   *relname = psprintf("%s_ctx_%s", target->relname, column);

	if (strlen(relname) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("the table name \"%s\" of context field \"%s\" is too long", relname, column),
				 errhint("Choose a shorter model name: \"<model>_ctx_<column>\" must fit in %d bytes.",
						 NAMEDATALEN - 1)));
	check_table_slot(target->schema, relname, target->name);
	return quote_qualified_identifier(target->schema, relname);
}

static void
run_sql(const char *sql, int expected)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expected)
		elog(ERROR, "irec: statement failed (%s): %s", SPI_result_code_string(rc), sql);
}

/*
 * lock_all_or_wait: AccessExclusiveLock on every relation of `relids`
 * without ever waiting while holding one of them.  Readers lock a model's
 * tables in any order (a query over the items with a subquery on the users
 * locks the items first, irec_recommend the users first); a swap that held
 * the users while waiting for the items would deadlock with such a reader.
 * So: wait for the first, take the others only if free, otherwise let go of
 * all, wait for the busy one, and start again.
 */
static void
lock_all_or_wait(Oid *relids, int n)
{
	int			start = 0;

	for (;;)
	{
		bool	   *held = palloc0(sizeof(bool) * n);
		int			busy = -1;

		LockRelationOid(relids[start], AccessExclusiveLock);
		held[start] = true;
		for (int k = 0; k < n && busy < 0; k++)
		{
			if (k == start)
				continue;
			if (ConditionalLockRelationOid(relids[k], AccessExclusiveLock))
				held[k] = true;
			else
				busy = k;
		}
		if (busy < 0)
		{
			pfree(held);
			return;
		}
		for (int k = 0; k < n; k++)
			if (held[k])
				UnlockRelationOid(relids[k], AccessExclusiveLock);
		pfree(held);
		start = busy;
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Drop the tables an earlier version of this model wrote, wherever they
 * are, and any relation in the way of the new ones (`extra`: a context
 * model's field tables; check_table_slot let only this model's pass).
 */
static void
drop_previous_tables(const ModelTarget *target, List *extra)
{
	StringInfoData sql;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	List	   *tables = NIL;
	ListCell   *cell;
	Oid		   *relids;
	int			n = 0;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT t FROM %s m, LATERAL (SELECT m.users_table UNION ALL SELECT m.items_table "
					 "UNION ALL SELECT pg_catalog.jsonb_array_elements_text(m.params->'context_tables')) x(t) "
					 "WHERE m.name = $1",
					 registry_table());
	values[0] = CStringGetTextDatum(target->name);
	if (SPI_execute_with_args(sql.data, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the model registry");
	for (uint64 r = 0; r < SPI_processed; r++)
		tables = lappend(tables, SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1));
	tables = lappend(tables, target->users_table);
	tables = lappend(tables, target->items_table);
	tables = list_concat(tables, extra);
	relids = palloc(sizeof(Oid) * list_length(tables));
	/* the registry stores quoted names, so they parse back exactly */
	foreach(cell, tables)
	{
		Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(lfirst(cell))),
											 NoLock, true);
		bool		seen = false;

		for (int k = 0; k < n; k++)
			seen |= relids[k] == relid;
		if (OidIsValid(relid) && !seen)
			relids[n++] = relid;
	}
	if (n > 0)
		lock_all_or_wait(relids, n);
	foreach(cell, tables)
	{
		const char *table = lfirst(cell);

		if (!OidIsValid(RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
										 NoLock, true)))
			continue;
		resetStringInfo(&sql);
		appendStringInfo(&sql, "DROP TABLE %s", table);
		run_sql(sql.data, SPI_OK_UTILITY);
	}
}

/*
 * Pages written and WAL-logged together: log_newpages puts up to
 * XLR_MAX_BLOCK_ID full pages in one record.
 */
#define DIRECT_PAGES 32

/*
 * heap_tuple_of: the heap tuple of one row (id, embedding), with the
 * header an INSERT by this command gives it (heap_prepare_insert's).
 */
static HeapTuple
heap_tuple_of(TupleDesc desc, Datum id, Embedding *vector, TransactionId xid, CommandId command)
{
	Datum		values[2] = {id, PointerGetDatum(vector)};
	bool		nulls[2] = {false, false};
	HeapTuple	tuple = heap_form_tuple(desc, values, nulls);

	tuple->t_data->t_infomask &= ~HEAP_XACT_MASK;
	tuple->t_data->t_infomask2 &= ~HEAP2_XACT_MASK;
	tuple->t_data->t_infomask |= HEAP_XMAX_INVALID;
	HeapTupleHeaderSetXmin(tuple->t_data, xid);
	HeapTupleHeaderSetCmin(tuple->t_data, command);
	HeapTupleHeaderSetXmax(tuple->t_data, 0);
	return tuple;
}

/*
 * write_pages_to_file: pages first .. first + count - 1, with one write
 * per segment file they fall in.  PostgreSQL 15's storage manager writes
 * a page per call; on ext4 that cost 43% of writing a model of 70,839 rows
 * at dims 128 in perf (per-page page-cache work: 41 MB in 8 kB writes took
 * 28 ms, in 256 kB writes 9 ms, on the same file system).  The files are
 * the ones md.c names and would write; the caller then extends the
 * relation through the storage manager, which also asks the checkpointer
 * to sync the segment, and a sync covers every write to the file.
 */
static void
write_pages_to_file(Relation rel, const PGAlignedBlock *pages, int count, BlockNumber first)
{
	char	   *path = relpath(RelationGetSmgr(rel)->smgr_rnode, MAIN_FORKNUM);

	while (count > 0)
	{
		BlockNumber segment = first / RELSEG_SIZE;
		int			run = (int) Min((BlockNumber) count, RELSEG_SIZE - first % RELSEG_SIZE);
		char	   *segment_path = segment == 0 ? pstrdup(path) : psprintf("%s.%u", path, segment);
		File		file = PathNameOpenFile(segment_path, O_RDWR | O_CREAT | PG_BINARY);
		int			written;

		if (file < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\": %m", segment_path)));
		written = FileWrite(file, (char *) pages, (size_t) run * BLCKSZ,
							(off_t) (first % RELSEG_SIZE) * BLCKSZ, WAIT_EVENT_DATA_FILE_EXTEND);
		if (written < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not extend file \"%s\": %m", segment_path)));
		if (written != run * BLCKSZ)
			ereport(ERROR,
					(errcode(ERRCODE_DISK_FULL),
					 errmsg("could not extend file \"%s\": wrote only %d of %d bytes",
							segment_path, written, run * BLCKSZ),
					 errhint("Check free disk space.")));
		FileClose(file);
		pfree(segment_path);
		pages += run;
		count -= run;
		first += run;
	}
	pfree(path);
}

/*
 * flush_direct_pages: a batch of whole pages, first .. first + count - 1,
 * to the end of the relation, around shared buffers.
 */
static void
flush_direct_pages(Relation rel, PGAlignedBlock *pages, int count, BlockNumber first)
{
	BlockNumber blocks[DIRECT_PAGES];
	Page		images[DIRECT_PAGES];

	for (int k = 0; k < count; k++)
	{
		blocks[k] = first + k;
		images[k] = (Page) pages[k].data;
	}
	/* the WAL record first: it stamps each page's LSN */
	if (RelationNeedsWAL(rel))
		log_newpages(&rel->rd_node, MAIN_FORKNUM, count, blocks, images, true);
	for (int k = 0; k < count; k++)
		PageSetChecksumInplace(images[k], blocks[k]);
	/*
	 * All but the last page in one write, then the last through the
	 * storage manager, which records the new size and, with WAL, asks the
	 * checkpointer to sync the segment at the next checkpoint
	 * (finish_direct_write says when that is not enough); without, commit
	 * syncs the new file.
	 */
	if (count > 1)
		write_pages_to_file(rel, pages, count - 1, first);
	smgrextend(RelationGetSmgr(rel), MAIN_FORKNUM, first + count - 1, pages[count - 1].data,
			   !RelationNeedsWAL(rel));
}

/*
 * finish_direct_write: make the pages written around shared buffers
 * durable, given the redo pointer read before the first of them was
 * WAL-logged.  Their sync requests went to the checkpointer as they were
 * written, so a checkpoint that begins after this point syncs them before
 * it completes; one that began after the first page's WAL record, though,
 * may have taken its requests before ours came, and replay from its redo
 * point would not restore our pages: then the file is synced here (the
 * rule PostgreSQL 16's bulk writes follow).  PostgreSQL 15's own index
 * builds sync every time: with fsync on, that was a third of writing a
 * model of 70,839 rows at dims 128 (0.123–0.175 s against 0.080–0.085 s
 * now, five trainings each, Zen 4 EPYC, dev cluster).
 */
static void
finish_direct_write(Relation rel, XLogRecPtr redo_at_start)
{
	if (RelationNeedsWAL(rel) && GetRedoRecPtr() != redo_at_start)
		smgrimmedsync(RelationGetSmgr(rel), MAIN_FORKNUM);
}

/*
 * next_direct_page: the next page of the local batch, after writing the
 * batch out (pages first .. first + filled - 1) when it is full.
 */
static Page
next_direct_page(Relation rel, PGAlignedBlock *pages, int *filled, BlockNumber *first)
{
	if (*filled == DIRECT_PAGES)
	{
		flush_direct_pages(rel, pages, *filled, *first);
		*first += *filled;
		*filled = 0;
		CHECK_FOR_INTERRUPTS();
	}
	return (Page) pages[(*filled)++].data;
}

/*
 * write_rows_direct: fill a table created by this transaction with
 * whole pages built in local memory, as CLUSTER and index builds write
 * theirs: no shared buffers, no per-row WAL, one full-page image per page
 * (or none under wal_level = minimal, where commit syncs the new file).
 * Nobody else can see the table before commit, and if the transaction
 * aborts the file goes with it.  Rows stay in line (no TOAST), which
 * the caller has checked they fit.  Each row's TID goes to tids, for
 * its key entry.
 */
static void
write_rows_direct(Relation rel, const IdMap *ids, const float *embeddings, int dims,
				  ItemPointerData *tids)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TransactionId xid = GetCurrentTransactionId();
	CommandId	command = GetCurrentCommandId(true);
	Embedding  *vector = embedding_new(dims);
	PGAlignedBlock *pages = palloc(sizeof(PGAlignedBlock) * DIRECT_PAGES);
	BlockNumber first = 0;
	int			filled = 0;
	Page		page = NULL;
	XLogRecPtr	redo_at_start = GetRedoRecPtr();

	if (RelationGetNumberOfBlocks(rel) != 0)
		elog(ERROR, "irec: direct write into a table that is not empty");
	for (size_t row = 0; row < ids->count; row++)
	{
		HeapTuple	tuple;
		OffsetNumber offset;
		HeapTupleHeader stored;

		memcpy(vector->x, embeddings + row * dims, sizeof(float) * dims);
		tuple = heap_tuple_of(desc, ids->ids[row], vector, xid, command);
		if (page == NULL || PageGetHeapFreeSpace(page) < MAXALIGN(tuple->t_len))
		{
			page = next_direct_page(rel, pages, &filled, &first);
			PageInit(page, BLCKSZ, 0);
		}
		offset = PageAddItem(page, (Item) tuple->t_data, tuple->t_len, InvalidOffsetNumber, false, true);
		if (offset == InvalidOffsetNumber)
			elog(ERROR, "irec: could not place a row of %u bytes on a new page", tuple->t_len);
		stored = (HeapTupleHeader) PageGetItem(page, PageGetItemId(page, offset));
		ItemPointerSet(&stored->t_ctid, first + filled - 1, offset);
		tids[row] = stored->t_ctid;
		heap_freetuple(tuple);
	}
	if (filled > 0)
		flush_direct_pages(rel, pages, filled, first);
	finish_direct_write(rel, redo_at_start);
	/* as heap inserts count, so that autovacuum analyzes the table */
	pgstat_count_heap_insert(rel, (PgStat_Counter) ids->count);
	pfree(pages);
	pfree(vector);
}

/*
 * key_pivot: a pivot tuple of the key's btree (a separator key without a
 * heap TID), pointing down to child when child is valid.  With no key it
 * is the "minus infinity" item that opens every internal page.
 */
static IndexTuple
key_pivot(TupleDesc desc, const Datum *key, BlockNumber child)
{
	IndexTuple	pivot;

	if (key)
	{
		bool		null = false;

		pivot = index_form_tuple(desc, (Datum *) key, &null);
		BTreeTupleSetNAtts(pivot, 1, false);
	}
	else
	{
		pivot = palloc0(sizeof(IndexTupleData));
		pivot->t_info = sizeof(IndexTupleData);
		BTreeTupleSetNAtts(pivot, 0, false);
	}
	if (BlockNumberIsValid(child))
		BTreeTupleSetDownLink(pivot, child);
	return pivot;
}

static void
key_page_add(Page page, IndexTuple tuple)
{
	if (PageAddItem(page, (Item) tuple, IndexTupleSize(tuple), InvalidOffsetNumber, false, false)
		== InvalidOffsetNumber)
		elog(ERROR, "irec: a key entry did not fit on its btree page");
	pfree(tuple);
}

/*
 * build_integer_key: the key's btree written bottom-up, as a sorted index
 * build writes one, when the ids are integers in strictly ascending order
 * (the loader numbers integer ids so) and the key is still empty: leaf
 * pages filled to the index's fillfactor with one entry per row, then each
 * level above them until one page, the root, whose block the metapage
 * then names.  Whole pages, one WAL record per DIRECT_PAGES, instead of one
 * WAL-logged insert per row, which was half of writing a model.  The
 * pages follow nbtree's layout (version 4): a non-rightmost page opens
 * with its high key, the first key of its right sibling without a heap
 * TID; an internal page's first item is "minus infinity".  Returns false,
 * having written nothing, when the ids or the key do not qualify.
 */
static bool
build_integer_key(Relation index, const IdMap *ids, const ItemPointerData *tids)
{
	TupleDesc	desc = RelationGetDescr(index);
	Oid			type = TupleDescAttr(desc, 0)->atttypid;
	Size		usable = BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(BTPageOpaqueData));
	Size		entry;
	size_t		n_pages;
	size_t		per_page;
	Datum	   *low;			/* each page's lowest key, of the level just written */
	BlockNumber next = 1;		/* block 0 is the metapage */
	PGAlignedBlock *pages;
	int			filled = 0;
	BlockNumber batch_first = next;
	uint32		level = 0;
	Buffer		meta;
	XLogRecPtr	redo_at_start;

	if (ids->count == 0 || index->rd_rel->relam != BTREE_AM_OID
		|| index->rd_opfamily[0] != INTEGER_BTREE_FAM_OID || (type != INT4OID && type != INT8OID)
		|| RelationGetNumberOfBlocks(index) != 1)
		return false;
	for (size_t row = 1; row < ids->count; row++)
		if (type == INT4OID ? DatumGetInt32(ids->ids[row - 1]) >= DatumGetInt32(ids->ids[row])
			: DatumGetInt64(ids->ids[row - 1]) >= DatumGetInt64(ids->ids[row]))
			return false;

	{
		IndexTuple	sample = key_pivot(desc, &ids->ids[0], InvalidBlockNumber);

		/* every entry and pivot has the same size: one integer key */
		entry = sizeof(ItemIdData) + MAXALIGN(IndexTupleSize(sample));
		pfree(sample);
	}
	redo_at_start = GetRedoRecPtr();
	pages = palloc(sizeof(PGAlignedBlock) * DIRECT_PAGES);
	low = palloc_extended(sizeof(Datum) * ids->count, MCXT_ALLOC_HUGE);
	memcpy(low, ids->ids, sizeof(Datum) * ids->count);
	n_pages = ids->count;		/* "pages" of level -1: the rows */
	for (;;)
	{
		size_t		children = n_pages;
		BlockNumber first_child = next - (BlockNumber) children;
		Size		reserve = level == 0 ? BTGetTargetPageFreeSpace(index)
			: BLCKSZ * (100 - BTREE_NONLEAF_FILLFACTOR) / 100;

		/* room for the entries and one high key, leaving the fillfactor's share */
		per_page = (usable - reserve - entry) / entry;
		n_pages = (children + per_page - 1) / per_page;
		for (size_t p = 0; p < n_pages; p++)
		{
			Page		page;
			BTPageOpaque opaque;
			BlockNumber block = next + (BlockNumber) p;
			size_t		from = p * per_page;
			size_t		to = Min(children, from + per_page);

			page = next_direct_page(index, pages, &filled, &batch_first);
			_bt_pageinit(page, BLCKSZ);
			opaque = BTPageGetOpaque(page);
			opaque->btpo_prev = p == 0 ? P_NONE : block - 1;
			opaque->btpo_next = p + 1 == n_pages ? P_NONE : block + 1;
			opaque->btpo_level = level;
			opaque->btpo_flags = (level == 0 ? BTP_LEAF : 0) | (n_pages == 1 ? BTP_ROOT : 0);
			opaque->btpo_cycleid = 0;
			if (p + 1 < n_pages)
				key_page_add(page, key_pivot(desc, &low[to], InvalidBlockNumber));
			for (size_t c = from; c < to; c++)
			{
				if (level == 0)
				{
					bool		null = false;
					IndexTuple	tuple = index_form_tuple(desc, (Datum *) &ids->ids[c], &null);

					tuple->t_tid = tids[c];
					key_page_add(page, tuple);
				}
				else
					key_page_add(page, key_pivot(desc, c == from ? NULL : &low[c],
												 first_child + (BlockNumber) c));
			}
			/* this level's lowest keys, in place: page p's is its first child's */
			low[p] = low[from];
		}
		next += (BlockNumber) n_pages;
		if (n_pages == 1)
			break;
		level++;
	}
	if (filled > 0)
		flush_direct_pages(index, pages, filled, batch_first);
	finish_direct_write(index, redo_at_start);

	/* the metapage, through shared buffers: the root is the last page */
	meta = ReadBuffer(index, BTREE_METAPAGE);
	LockBuffer(meta, BUFFER_LOCK_EXCLUSIVE);
	START_CRIT_SECTION();
	_bt_initmetapage(BufferGetPage(meta), next - 1, level, _bt_allequalimage(index, false));
	MarkBufferDirty(meta);
	if (RelationNeedsWAL(index))
		log_newpage_buffer(meta, true);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(meta);
	/* the relcache's copy of the old metapage, if any, is stale */
	if (index->rd_amcache)
	{
		pfree(index->rd_amcache);
		index->rd_amcache = NULL;
	}
	pfree(low);
	pfree(pages);
	return true;
}

/*
 * insert_keys: the entries of the table's key, created on the empty table,
 * from the TIDs the direct write recorded.  Integer ids in ascending order
 * (the loader numbers them so) get the whole btree written bottom-up
 * (build_integer_key); other ids are inserted one by one, which is still
 * cheaper than building the key afterwards, which reads every page back
 * through the buffer manager.  The unique check stays on there: it can
 * only fire if two ids the loader kept apart compare equal under the key's
 * collation.  Then the table's and the key's sizes and row counts go to
 * pg_class, as an index build records them, for the planner.
 */
static void
insert_keys(Relation rel, const IdMap *ids, const ItemPointerData *tids)
{
	List	   *indexes = RelationGetIndexList(rel);
	Relation	index;
	IndexInfo  *info;

	if (list_length(indexes) != 1)
		elog(ERROR, "irec: a new model table has %d indexes, not its key", list_length(indexes));
	index = index_open(linitial_oid(indexes), RowExclusiveLock);
	info = BuildIndexInfo(index);
	if (!build_integer_key(index, ids, tids))
		for (size_t row = 0; row < ids->count; row++)
		{
			Datum		key = ids->ids[row];
			bool		null = false;

			index_insert(index, &key, &null, (ItemPointer) &tids[row], rel,
						 UNIQUE_CHECK_YES, false, info);
			if ((row & 8191) == 8191)
				CHECK_FOR_INTERRUPTS();
		}
	vac_update_relstats(rel, RelationGetNumberOfBlocks(rel), (double) ids->count, 0,
						true, InvalidTransactionId, InvalidMultiXactId, NULL, NULL, false);
	vac_update_relstats(index, RelationGetNumberOfBlocks(index), (double) ids->count, 0,
						false, InvalidTransactionId, InvalidMultiXactId, NULL, NULL, false);
	index_close(index, NoLock);
	list_free(indexes);
}

/*
 * write_rows_buffered: the same rows as COPY puts them
 * (table_multi_insert: whole pages per WAL record, no executor per row),
 * TOASTing what does not fit in line.
 */
static void
write_rows_buffered(Relation rel, const IdMap *ids, const float *embeddings, int dims)
{
	BulkInsertState bulk;
	CommandId	command = GetCurrentCommandId(true);
	int			batch = (int) Max(1, Min(WRITE_BATCH, WRITE_BATCH_BYTES / (sizeof(float) * dims)));
	TupleTableSlot **slots = palloc(sizeof(TupleTableSlot *) * batch);
	Embedding **vectors = palloc(sizeof(Embedding *) * batch);

	/*
	 * A bulk-insert state writes through a small ring of buffers, which
	 * keeps a large load from pushing everything else out of shared
	 * buffers but flushes WAL and writes pages itself whenever the ring
	 * comes round; a table that fits in a quarter of shared buffers goes in
	 * without it, leaving those writes to the checkpointer.
	 */
	if ((double) ids->count * (sizeof(float) * dims + 64) > (double) NBuffers * BLCKSZ / 4)
		bulk = GetBulkInsertState();
	else
		bulk = NULL;
	for (int k = 0; k < batch; k++)
	{
		slots[k] = table_slot_create(rel, NULL);
		vectors[k] = embedding_new(dims);
	}
	for (size_t first = 0; first < ids->count; first += batch)
	{
		int			count = (int) Min((size_t) batch, ids->count - first);

		for (int k = 0; k < count; k++)
		{
			TupleTableSlot *slot = slots[k];

			ExecClearTuple(slot);
			memcpy(vectors[k]->x, embeddings + (first + k) * dims, sizeof(float) * dims);
			slot->tts_values[0] = ids->ids[first + k];
			slot->tts_values[1] = PointerGetDatum(vectors[k]);
			slot->tts_isnull[0] = false;
			slot->tts_isnull[1] = false;
			ExecStoreVirtualTuple(slot);
		}
		table_multi_insert(rel, slots, count, command, 0, bulk);
		CHECK_FOR_INTERRUPTS();
	}
	if (bulk)
		FreeBulkInsertState(bulk);
	table_finish_bulk_insert(rel, 0);
	for (int k = 0; k < batch; k++)
	{
		ExecDropSingleTupleTableSlot(slots[k]);
		pfree(vectors[k]);
	}
	pfree(slots);
	pfree(vectors);
}

/*
 * rows_fit_in_line: whether every row (id, embedding) fits on a heap page
 * without TOAST.  A bound: the widest id and an embedding, each padded to
 * the widest alignment.
 */
static bool
rows_fit_in_line(TupleDesc desc, const IdMap *ids, int dims)
{
	Form_pg_attribute id = TupleDescAttr(desc, 0);
	Embedding  *vector = embedding_new(dims);
	Size		id_width = 0;
	Size		size;

	if (id->attlen > 0)
		id_width = id->attlen;
	else
		for (size_t k = 0; k < ids->count; k++)
			id_width = Max(id_width, datumGetSize(ids->ids[k], false, id->attlen));
	size = MAXALIGN(SizeofHeapTupleHeader) + MAXALIGN(id_width) + MAXALIGN(VARSIZE(vector));
	pfree(vector);
	return size <= MaxHeapTupleSize;
}

/*
 * write_side: the table of one side's embeddings, created here and filled
 * with its key: on the direct path the key is made on the empty table and
 * its entries are inserted after the pages (insert_keys); otherwise it is
 * built afterwards by one sort, which is cheaper than inserting every key
 * into a growing btree through the executor.
 */
static void
write_side(const char *table, const char *id_column, const IdMap *ids,
		   const float *embeddings, int dims)
{
	StringInfoData sql;
	StringInfoData key;
	char	   *schema = irec_extension_schema();
	Oid			relid;
	Relation	rel;
	bool		direct;

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s (%s %s NOT NULL, embedding %s(%d) NOT NULL)",
					 table, id_column, format_type_be_qualified(ids->type),
					 quote_qualified_identifier(schema, "embedding"), dims);
	run_sql(sql.data, SPI_OK_UTILITY);
	initStringInfo(&key);
	appendStringInfo(&key, "ALTER TABLE %s ADD PRIMARY KEY (%s)", table, id_column);

	relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
							 NoLock, false);
	rel = table_open(relid, RowExclusiveLock);
	/*
	 * Whole pages only into a table this subtransaction created, and not
	 * under wal_level = logical, whose decoding reads rows from heap
	 * inserts, not from page images.
	 */
	direct = rel->rd_createSubid == GetCurrentSubTransactionId() && !XLogLogicalInfoActive() &&
		rows_fit_in_line(RelationGetDescr(rel), ids, dims);
	if (direct)
	{
		ItemPointerData *tids = palloc_extended(sizeof(ItemPointerData) * Max(ids->count, 1),
												MCXT_ALLOC_HUGE);

		/* the key on the empty table; its entries after the pages */
		table_close(rel, NoLock);
		run_sql(key.data, SPI_OK_UTILITY);
		rel = table_open(relid, RowExclusiveLock);
		write_rows_direct(rel, ids, embeddings, dims, tids);
		insert_keys(rel, ids, tids);
		pfree(tids);
	}
	else
		write_rows_buffered(rel, ids, embeddings, dims);
	table_close(rel, NoLock);
	/* the statements below see the rows */
	CommandCounterIncrement();

	/*
	 * The key's index build also records the table's size and row count in
	 * pg_class, which is what the planner needs from statistics here: the
	 * unique index tells it that ids are distinct, and nothing filters on
	 * an embedding's value.  Autovacuum's ANALYZE adds the rest later.
	 */
	if (!direct)
		run_sql(key.data, SPI_OK_UTILITY);
}

void
model_write(const ModelTarget *target, const Interactions *data,
			const float *users, const float *items, int dims)
{
	drop_previous_tables(target, NIL);
	write_side(target->users_table, "user_id", &data->users, users, dims);
	write_side(target->items_table, "item_id", &data->items, items, dims);
}

void
model_write_context(const ModelTarget *target, int n_fields, char *const *tables,
					const char *const *columns, const IdMap *field_ids, const float *const *fields,
					const IdMap *items, const float *item_embeddings, int dims)
{
	List	   *extra = NIL;

	for (int f = 0; f < n_fields; f++)
		extra = lappend(extra, tables[f]);
	drop_previous_tables(target, extra);
	for (int f = 0; f < n_fields; f++)
		write_side(tables[f], quote_identifier(columns[f]), &field_ids[f], fields[f], dims);
	write_side(target->items_table, "item_id", items, item_embeddings, dims);
}

static void
write_side_from(const char *table, const char *id_column, Oid id_type, const char *query, int dims)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s (%s %s PRIMARY KEY, embedding %s(%d) NOT NULL)",
					 table, id_column, format_type_be_qualified(id_type),
					 quote_qualified_identifier(irec_extension_schema(), "embedding"), dims);
	run_sql(sql.data, SPI_OK_UTILITY);
	resetStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s %s", table, query);
	run_sql(sql.data, SPI_OK_INSERT);
	resetStringInfo(&sql);
	appendStringInfo(&sql, "ANALYZE %s", table);
	run_sql(sql.data, SPI_OK_UTILITY);
}

void
model_write_from(const ModelTarget *target, const char *users_sql, const char *items_sql,
				 Oid user_type, Oid item_type, int dims)
{
	drop_previous_tables(target, NIL);
	write_side_from(target->users_table, "user_id", user_type, users_sql, dims);
	write_side_from(target->items_table, "item_id", item_type, items_sql, dims);
}

void
model_register(const ModelTarget *target, const ModelSummary *summary)
{
	StringInfoData sql;
	Oid			types[20] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, INT4OID, INT4OID, TEXTOID, INT8OID, INT8OID, INT8OID,
	INT8OID, FLOAT8OID, FLOAT8ARRAYOID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
	Datum		values[20];
	char		nulls[20];
	Datum	   *loss = palloc(sizeof(Datum) * Max(summary->epochs, 1));

	memset(nulls, ' ', sizeof(nulls));
	for (int e = 0; e < summary->epochs; e++)
		loss[e] = Float8GetDatum(summary->loss[e]);
	values[0] = CStringGetTextDatum(target->name);
	values[1] = CStringGetTextDatum(summary->source);
	values[2] = CStringGetTextDatum(target->users_table);
	values[3] = CStringGetTextDatum(target->items_table);
	values[4] = CStringGetTextDatum(summary->user_column);
	values[5] = CStringGetTextDatum(summary->item_column);
	if (summary->weight_column)
		values[6] = CStringGetTextDatum(summary->weight_column);
	else
		nulls[6] = 'n';
	values[7] = CStringGetTextDatum(summary->algorithm);
	values[8] = Int32GetDatum(summary->dims);
	values[9] = Int32GetDatum(summary->epochs);
	values[10] = CStringGetTextDatum(summary->params_json);
	values[11] = Int64GetDatum(summary->n_users);
	values[12] = Int64GetDatum(summary->n_items);
	values[13] = Int64GetDatum(summary->n_interactions);
	values[14] = Int64GetDatum(summary->n_skipped_rows);
	values[15] = Float8GetDatum(summary->seconds);
	values[16] = PointerGetDatum(construct_array(loss, summary->epochs, FLOAT8OID, 8,
												 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[17] = Float8GetDatum(summary->load_seconds);
	values[18] = Float8GetDatum(summary->train_seconds);
	values[19] = Float8GetDatum(summary->write_seconds);

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "INSERT INTO %s AS m (name, source, users_table, items_table, user_column, "
					 "item_column, weight_column, algorithm, dims, epochs, params, n_users, n_items, "
					 "n_interactions, n_skipped_rows, seconds, loss, load_seconds, train_seconds, write_seconds, "
					 "owner, trained_at) "
					 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, "
					 "$16, $17, $18, $19, $20, current_user, pg_catalog.now()) "
					 "ON CONFLICT (name) DO UPDATE SET source = EXCLUDED.source, "
					 "users_table = EXCLUDED.users_table, items_table = EXCLUDED.items_table, "
					 "user_column = EXCLUDED.user_column, item_column = EXCLUDED.item_column, "
					 "weight_column = EXCLUDED.weight_column, algorithm = EXCLUDED.algorithm, "
					 "dims = EXCLUDED.dims, epochs = EXCLUDED.epochs, params = EXCLUDED.params, "
					 "n_users = EXCLUDED.n_users, n_items = EXCLUDED.n_items, "
					 "n_interactions = EXCLUDED.n_interactions, n_skipped_rows = EXCLUDED.n_skipped_rows, "
					 "seconds = EXCLUDED.seconds, loss = EXCLUDED.loss, load_seconds = EXCLUDED.load_seconds, "
					 "train_seconds = EXCLUDED.train_seconds, write_seconds = EXCLUDED.write_seconds, "
					 "owner = EXCLUDED.owner, "
					 "trained_at = EXCLUDED.trained_at",
					 registry_table());
	if (SPI_execute_with_args(sql.data, 20, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not register model %s", target->name);

	model_store_item_gramian(target->name, summary->item_gramian, summary->dims);

	/*
	 * The validation scores per epoch (NULL without validation), in the
	 * columns 0.2.0 added; a server still on 0.1.0's objects has none.
	 */
	{
		Oid			registry = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(registry_table())),
												AccessShareLock, false);

		if (get_attnum(registry, "validation") != InvalidAttrNumber)
		{
			Oid			val_types[3] = {TEXTOID, FLOAT8ARRAYOID, INT4OID};
			Datum		val_values[3];
			char		val_nulls[3] = {' ', 'n', 'n'};

			val_values[0] = CStringGetTextDatum(target->name);
			if (summary->validation)
			{
				Datum	   *scores = palloc(sizeof(Datum) * Max(summary->epochs, 1));

				for (int e = 0; e < summary->epochs; e++)
					scores[e] = Float8GetDatum(summary->validation[e]);
				val_values[1] = PointerGetDatum(construct_array(scores, summary->epochs, FLOAT8OID, 8,
																FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
				val_values[2] = Int32GetDatum(summary->best_epoch);
				val_nulls[1] = val_nulls[2] = ' ';
			}
			resetStringInfo(&sql);
			/* a training clears 0.7.0's updated_at: the model is new again */
			appendStringInfo(&sql, "UPDATE %s SET validation = $2, best_epoch = $3%s WHERE name = $1",
							 registry_table(),
							 get_attnum(registry, "updated_at") != InvalidAttrNumber ? ", updated_at = NULL" : "");
			if (SPI_execute_with_args(sql.data, 3, val_types, val_values, val_nulls, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not record the validation scores of model %s", target->name);
		}
	}
}

void
model_store_item_gramian(const char *name, const float *gram, int dims)
{
	int			dd = dims * dims;
	Datum	   *cells = palloc(sizeof(Datum) * dd);
	Oid			types[2] = {TEXTOID, FLOAT4ARRAYOID};
	Datum		values[2];
	StringInfoData sql;

	for (int k = 0; k < dd; k++)
		cells[k] = Float4GetDatum(gram[k]);
	values[0] = CStringGetTextDatum(name);
	values[1] = PointerGetDatum(construct_array(cells, dd, FLOAT4OID, 4, true, TYPALIGN_INT));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "INSERT INTO %s (name, item_gramian) VALUES ($1, $2) "
					 "ON CONFLICT (name) DO UPDATE SET item_gramian = EXCLUDED.item_gramian",
					 quote_qualified_identifier(irec_extension_schema(), "irec_model_gramians"));
	if (SPI_execute_with_args(sql.data, 2, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store the Gramian of model %s", name);
	pfree(cells);
}

static Oid
model_table_relid(const char *model, const char *table)
{
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
										 AccessShareLock, true);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s of model \"%s\" does not exist", table, model),
				 errhint("Train the model again with irec_train.")));
	return relid;
}

static void model_lookup_internal(const char *name, ModelInfo *info, bool allow_context);

void
model_lookup(const char *name, ModelInfo *info)
{
	model_lookup_internal(name, info, false);
}

void
model_lookup_any(const char *name, ModelInfo *info)
{
	model_lookup_internal(name, info, true);
}

static void
model_lookup_internal(const char *name, ModelInfo *info, bool allow_context)
{
	StringInfoData sql;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL"),
				 errhint("Pass the name of a trained model; SELECT name FROM irec_models lists them.")));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT name, source, users_table, items_table, user_column, item_column, "
					 "weight_column, dims, (params->>'regularization')::float8, "
					 "(params->>'regularization_exponent')::float8, "
					 "(params->>'unobserved_weight')::float8, params->>'confidence', "
					 "(params->>'alpha')::float8, (params->>'epsilon')::float8, n_items, algorithm, n_users, "
					 "coalesce(params->>'loss', 'pointwise'), params->>'context_model', "
					 "params->>'context_columns', "
					 "ARRAY(SELECT pg_catalog.jsonb_array_elements_text(params->'context_columns')), "
					 "ARRAY(SELECT pg_catalog.jsonb_array_elements_text(params->'context_tables')), "
					 "coalesce((params->>'product_prior')::float8, 0) "
					 "FROM %s WHERE name = $1",
					 registry_table());
	values[0] = CStringGetTextDatum(name);

	/*
	 * Serving must see one complete model while the model is retrained
	 * beside it: lock the model's tables, then read the registry again with
	 * a snapshot taken after the locks (read_only = false: a fresh snapshot
	 * per query under READ COMMITTED), so that a retraining that committed
	 * meanwhile is seen whole, and one still running waits for us.  Every
	 * later read of the serving functions takes its snapshot after these
	 * locks too.
	 */
	info->locked = false;
	info->users_relid = info->items_relid = InvalidOid;
again:
	if (SPI_execute_with_args(sql.data, 1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the model registry");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("Models are listed in irec_models; train one with irec_train.")));
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	info->name = SPI_getvalue(row, desc, 1);
	info->source = SPI_getvalue(row, desc, 2);
	info->users_table = SPI_getvalue(row, desc, 3);
	info->items_table = SPI_getvalue(row, desc, 4);
	info->user_column = SPI_getvalue(row, desc, 5);
	info->item_column = SPI_getvalue(row, desc, 6);
	info->weight_column = SPI_getvalue(row, desc, 7);
	info->dims = DatumGetInt32(SPI_getbinval(row, desc, 8, &isnull));
	info->regularization = DatumGetFloat8(SPI_getbinval(row, desc, 9, &isnull));
	info->regularization_exponent = DatumGetFloat8(SPI_getbinval(row, desc, 10, &isnull));
	info->unobserved_weight = DatumGetFloat8(SPI_getbinval(row, desc, 11, &isnull));
	info->log_confidence = strcmp(SPI_getvalue(row, desc, 12), "log") == 0;
	info->alpha = DatumGetFloat8(SPI_getbinval(row, desc, 13, &isnull));
	info->epsilon = DatumGetFloat8(SPI_getbinval(row, desc, 14, &isnull));
	info->n_items = DatumGetInt64(SPI_getbinval(row, desc, 15, &isnull));
	info->algorithm = SPI_getvalue(row, desc, 16);
	info->n_users = DatumGetInt64(SPI_getbinval(row, desc, 17, &isnull));
	info->loss = SPI_getvalue(row, desc, 18);
	info->context_model = SPI_getvalue(row, desc, 19);
	info->n_context_fields = 0;
	info->context_columns = info->context_tables = NULL;
	info->product_prior = DatumGetFloat8(SPI_getbinval(row, desc, 23, &isnull));
	if (info->context_model != NULL)
	{
		Datum	   *columns;
		Datum	   *tables;
		int			n_tables;

		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(row, desc, 21, &isnull)), TEXTOID, -1, false,
						  TYPALIGN_INT, &columns, NULL, &info->n_context_fields);
		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(row, desc, 22, &isnull)), TEXTOID, -1, false,
						  TYPALIGN_INT, &tables, NULL, &n_tables);
		if (n_tables != info->n_context_fields || n_tables == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the registry row of context model \"%s\" is damaged", info->name),
					 errhint("Train the model again with irec_train.")));
		info->context_columns = palloc(sizeof(char *) * n_tables);
		info->context_tables = palloc(sizeof(char *) * n_tables);
		for (int f = 0; f < n_tables; f++)
		{
			info->context_columns[f] = TextDatumGetCString(columns[f]);
			info->context_tables[f] = TextDatumGetCString(tables[f]);
		}
	}
	if (info->context_model != NULL && !allow_context)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a context model over %s", info->name, SPI_getvalue(row, desc, 20)),
				 errhint("Serve it with irec_recommend_context(model, context jsonb), "
						 "evaluate it with irec_evaluate, or retrain it without context_columns.")));
	{
		Oid			users_relid = info->users_relid;
		Oid			items_relid = info->items_relid;
		bool		first = !info->locked;

		info->users_relid = model_table_relid(info->name, info->users_table);
		info->items_relid = model_table_relid(info->name, info->items_table);
		info->locked = true;
		if (first || users_relid != info->users_relid || items_relid != info->items_relid)
			goto again;
	}
	/* a context model's first field table is keyed by the field's column */
	info->user_type = get_atttype(info->users_relid,
								  get_attnum(info->users_relid,
											 info->context_model ? info->user_column : "user_id"));
	info->item_type = get_atttype(info->items_relid, get_attnum(info->items_relid, "item_id"));
	if (!OidIsValid(info->user_type) || !OidIsValid(info->item_type))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("tables of model \"%s\" lack their user_id or item_id column", info->name),
				 errhint("Train the model again with irec_train.")));
}

float *
model_item_gramian(const ModelInfo *info)
{
	StringInfoData sql;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	ArrayType  *array;
	float	   *gram;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT item_gramian FROM %s WHERE name = $1",
					 quote_qualified_identifier(irec_extension_schema(), "irec_model_gramians"));
	values[0] = CStringGetTextDatum(info->name);
	if (SPI_execute_with_args(sql.data, 1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the Gramian of model %s", info->name);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no stored item Gramian", info->name),
				 errhint("Train the model again with irec_train.")));
	array = DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || ARR_NDIM(array) != 1 || ARR_HASNULL(array) ||
		ARR_DIMS(array)[0] != info->dims * info->dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored item Gramian of model \"%s\" is malformed", info->name),
				 errhint("Train the model again with irec_train.")));
	gram = palloc(sizeof(float) * info->dims * info->dims);
	memcpy(gram, ARR_DATA_PTR(array), sizeof(float) * info->dims * info->dims);
	return gram;
}

/*
 * Ids are passed and returned as anyelement and converted to and from the
 * model's id type through their text form.  That is exact for integers of
 * any width against integer ids and for text against any ids; anything
 * else (numeric 1.5 would become user 2, a date cannot name an integer id)
 * is refused before it is used.
 */
static bool
is_integer_type(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID;
}

bool
model_id_types_compatible(Oid arg_type, Oid id_type)
{
	return arg_type == id_type ||
		(is_integer_type(arg_type) && is_integer_type(id_type)) ||
		arg_type == TEXTOID || arg_type == VARCHAROID;
}

void
model_check_id_type(const char *model, const char *side, Oid arg_type, Oid id_type)
{
	if (!model_id_types_compatible(arg_type, id_type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model \"%s\" has %s ids of type %s, not %s",
						model, side, format_type_be(id_type), format_type_be(arg_type)),
				 errhint("Pass the ids as %s, or as text.", format_type_be(id_type))));
}
