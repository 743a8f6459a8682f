/*
 * shard_step.c
 *		irec_als_shard_step: one iALS half-step for the rows of one table of
 *		interactions, solved in memory with the in-memory engine's own code
 *		(core/ials.h): the engine => 'sql' trainer's unit of work
 *		(train_sql.c).  On Citus each call reads one shard of the
 *		interactions and the worker's local copies of both sides'
 *		embeddings (reference tables), on its own node; on one server a
 *		call reads the whole table.
 *
 * Tables, read straight from their heaps:
 *	 pairs:	(row_idx int4, col_idx int4, confidence real): the rows' interactions
 *			by dense index (row_idx: this side, col_idx: the other)
 *	 fixed:	every row of the other side, idx 0..n−1, as blocks (a column
 *			`block` bytea, below) or as rows (idx int4, embedding)
 *	 own:	this side's current rows, CG's warm start, the same two ways
 *
 * Returns the solved rows in blocks: (block, row_count, loss,
 * regularization), loss the sum of the block's rows' shares of the iALS
 * loss against the fixed side (their observed terms, their all-pairs terms
 * α0·xᵀGx and their regularization; NULL unless with_loss: the engine needs
 * it after the item half-step only, and computing it was about a tenth of
 * a half-step at dims 64 in perf) and regularization the last alone: after a half-step, the
 * loss is the sum of `loss` over the side just solved plus the other side's
 * `regularization` from its own half-step, with no Gramian or interaction
 * read again.
 *
 * With a local_target (and its local_key), the blocks also go straight into
 * that table's heap, as rows (local_key, block, row_count, loss,
 * regularization): on Citus the worker's own copy of the side, written by
 * the task itself, so that Citus moves only the other workers' copies.
 *
 * Why blocks: the engine writes every solved row into a table each
 * half-step (on Citus once per worker, through files the workers fetch
 * from each other), and per row that costs more than the solve: a row of
 * a tuple, a file, a fetch and an insert each (about 7 µs per row and copy
 * at dims 64 on loopback).  A block holds as many rows as fit in about
 * 8 kB, so that a table with toast_tuple_target 8160 keeps it in one heap
 * tuple (a row alone larger than that is stored as PostgreSQL stores any
 * large value).  A block's bytes: int32 dims, int32 count, count int32
 * indices, count × dims float4 components.
 *
 * Why a cache: a training calls this for the same shard twice per epoch,
 * and reading the shard's heap and numbering its rows costs more than
 * solving them (about 100 ns per interaction either way at dims 64).  With
 * a cache key, the shard's rows stay in the backend's memory until its
 * transaction ends (the caller promises the pairs table does not change in
 * between: the engine's work tables are written once), and both sides'
 * embeddings and the fixed side's Gramian stay for as long as the calls
 * give the same `step` (a worker's backend solves several shards per
 * half-step).  Without a key nothing is kept.
 */
#include "postgres.h"

#include <math.h>

#include <cblas.h>

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"

#include "core/ials.h"
#include "core/vecmath.h"
#include "embedding.h"
#include "irec.h"
#include "shard_step.h"
#include "train_common.h"

#define ROWS_PER_INTERRUPT_CHECK 65536

/* One shard's interactions, rows numbered locally. */
typedef struct ShardRows
{
	Oid			relid;
	CsrMatrix	csr;			/* local rows × the other side's indices */
	int32	   *row_idx;		/* local row → its index in this side */
	int32		max_col;		/* the largest col_idx (−1: no rows) */
	int32		max_row;
} ShardRows;

/* One side's embeddings, by index. */
typedef struct SideRows
{
	Oid			relid;
	int			step;
	size_t		n;
	int			dims;
	float	   *x;				/* n × dims, 64-byte aligned */
	size_t		capacity;		/* rows x has room for (kept from one read to the next) */
	float	   *gram;			/* dims × dims, only for the fixed side */
} SideRows;

/*
 * A call's matrices, kept from call to call with a cache key: fresh
 * megabytes are page faults and zeroed pages (a fifth of a half-step in
 * perf at dims 64 before they were kept).
 */
typedef struct Buffers
{
	size_t		rows;			/* room for rows × dims floats in target and product */
	int			dims;
	float	   *target;
	float	   *product;		/* target · G, for the all-pairs term */
	double	   *row_loss;
	size_t		scratch_floats;
	float	   *scratch;
} Buffers;

#define MAX_CACHED_SHARDS 256

static struct
{
	MemoryContext context;		/* NULL: empty */
	int64		key;
	LocalTransactionId lxid;
	int			n_shards;
	ShardRows	shards[MAX_CACHED_SHARDS];
	SideRows	fixed;
	SideRows	own;
	Buffers		buffers;
	bool		callback_registered;
} cache;

static void
cache_reset(void)
{
	if (cache.context != NULL)
		MemoryContextDelete(cache.context);
	cache.context = NULL;
	cache.n_shards = 0;
	memset(&cache.fixed, 0, sizeof(cache.fixed));
	memset(&cache.own, 0, sizeof(cache.own));
	memset(&cache.buffers, 0, sizeof(cache.buffers));
}

/* The cache lives no longer than the transaction that filled it. */
static void
cache_at_transaction_end(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		cache_reset();
}

/* The table a text names, locked for reading (ERROR when there is none). */
static Oid
named_table(text *name)
{
	return RangeVarGetRelid(makeRangeVarFromNameList(textToQualifiedNameList(name)), AccessShareLock, false);
}

/* The caller may read relid: checked at every call, cached or not. */
static void
check_select(Oid relid)
{
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(relid)),
				 errhint("Grant SELECT on it to the caller.")));
}

/* A table named by text, opened for reading after a privilege check. */
static Relation
open_named_table(text *name, const char *role)
{
	Oid			relid = named_table(name);
	Relation	rel;

	check_select(relid);
	rel = table_open(relid, NoLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the %s table \"%s\" is not a plain table", role, RelationGetRelationName(rel)),
				 errhint("Pass the name of an ordinary table.")));
	return rel;
}

/* The attribute number of column `name` of type `type`, or an ERROR. */
static AttrNumber
column_of(Relation rel, const char *name, Oid type, const char *role)
{
	AttrNumber	att = get_attnum(RelationGetRelid(rel), name);

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("the %s table \"%s\" has no column \"%s\"", role, RelationGetRelationName(rel), name),
				 errhint("Its columns are %s.", strcmp(role, "pairs") == 0
						 ? "row_idx integer, col_idx integer, confidence real"
						 : "idx integer, embedding embedding")));
	if (type != InvalidOid && get_atttype(RelationGetRelid(rel), att) != type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of the %s table \"%s\" has type %s, not %s", name, role,
						RelationGetRelationName(rel), format_type_be(get_atttype(RelationGetRelid(rel), att)),
						format_type_be(type))));
	return att;
}

static int
compare_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* The local number of row index `idx` among the sorted distinct indices. */
static int32
local_row(const int32 *sorted, size_t n, int32 idx)
{
	size_t		lo = 0,
				hi = n;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (sorted[mid] < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && sorted[lo] == idx ? (int32) lo : -1;
}

/* Read a pairs table into `out`, its arrays in `context`. */
static void
read_pairs(text *name, MemoryContext context, ShardRows *out)
{
	Relation	rel = open_named_table(name, "pairs");
	AttrNumber	row_att = column_of(rel, "row_idx", INT4OID, "pairs");
	AttrNumber	col_att = column_of(rel, "col_idx", INT4OID, "pairs");
	AttrNumber	conf_att = column_of(rel, "confidence", FLOAT4OID, "pairs");
	int			needed = Max(Max(row_att, col_att), conf_att);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "irec shard pairs",
												  ALLOCSET_DEFAULT_SIZES);
	size_t		capacity = 65536;
	size_t		n = 0;
	size_t		n_rows = 0;
	int32	   *rows = irec_alloc_large(scratch, sizeof(int32) * capacity);
	int32	   *cols = irec_alloc_large(scratch, sizeof(int32) * capacity);
	float	   *values = irec_alloc_large(scratch, sizeof(float) * capacity);
	int32	   *distinct;

	out->relid = RelationGetRelid(rel);
	out->max_col = -1;
	out->max_row = -1;
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		int32		r,
					c;
		float		v;

		if ((n % ROWS_PER_INTERRUPT_CHECK) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, needed);
		if (slot->tts_isnull[row_att - 1] || slot->tts_isnull[col_att - 1] || slot->tts_isnull[conf_att - 1])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the pairs table \"%s\" has a NULL", RelationGetRelationName(rel)),
					 errhint("Every pair needs its two indices and a confidence.")));
		r = DatumGetInt32(slot->tts_values[row_att - 1]);
		c = DatumGetInt32(slot->tts_values[col_att - 1]);
		v = DatumGetFloat4(slot->tts_values[conf_att - 1]);
		if (r < 0 || c < 0 || !isfinite(v))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid pair (%d, %d, %g) in \"%s\"", r, c, v, RelationGetRelationName(rel)),
					 errhint("Indices are not negative and confidences are finite.")));
		if (n == capacity)
		{
			capacity *= 2;
			irec_check_memory((double) capacity * 24, "loading a shard of interactions");
			rows = irec_realloc_large(rows, sizeof(int32) * capacity);
			cols = irec_realloc_large(cols, sizeof(int32) * capacity);
			values = irec_realloc_large(values, sizeof(float) * capacity);
		}
		rows[n] = r;
		cols[n] = c;
		values[n] = v;
		out->max_col = Max(out->max_col, c);
		out->max_row = Max(out->max_row, r);
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, NoLock);

	/*
	 * Number the rows locally, in index order: through a map over the
	 * indices when they are dense enough (one shard of a hash-distributed
	 * side holds every shard-count-th index or so), else by sorting.
	 */
	distinct = irec_alloc_large(scratch, sizeof(int32) * Max(n, 1));
	if (n > 0 && (double) out->max_row + 1 <= 64.0 * (double) n)
	{
		int32	   *local = irec_alloc_large(scratch, sizeof(int32) * ((size_t) out->max_row + 1));

		memset(local, 0xff, sizeof(int32) * ((size_t) out->max_row + 1));
		for (size_t k = 0; k < n; k++)
			local[rows[k]] = 0;
		for (int32 r = 0; r <= out->max_row; r++)
			if (local[r] == 0)
			{
				local[r] = (int32) n_rows;
				distinct[n_rows++] = r;
			}
		for (size_t k = 0; k < n; k++)
			rows[k] = local[rows[k]];
	}
	else
	{
		memcpy(distinct, rows, sizeof(int32) * n);
		qsort(distinct, n, sizeof(int32), compare_int32);
		for (size_t k = 0; k < n; k++)
			if (n_rows == 0 || distinct[n_rows - 1] != distinct[k])
				distinct[n_rows++] = distinct[k];
		CHECK_FOR_INTERRUPTS();
		for (size_t k = 0; k < n; k++)
			rows[k] = local_row(distinct, n_rows, rows[k]);
	}
	out->row_idx = MemoryContextAllocHuge(context, sizeof(int32) * Max(n_rows, 1));
	memcpy(out->row_idx, distinct, sizeof(int32) * n_rows);
	/* the columns' range is checked against the fixed side at each call */
	build_csr(context, n_rows, (size_t) out->max_col + 1, n, rows, cols, values, &out->csr);
	MemoryContextDelete(scratch);
}

/* ---- blocks of rows (the side tables' form, see the top of this file) ---- */

/* A block's bytes, at most, when it holds more than one row. */
#define SIDE_BLOCK_BYTES 8000
#define BLOCK_HEADER_BYTES (2 * sizeof(int32))

int
shard_step_block_rows(int dims)
{
	return (int) Max(1, (SIDE_BLOCK_BYTES - BLOCK_HEADER_BYTES) / (sizeof(int32) + sizeof(float) * (size_t) dims));
}

/* A block's parts, in place. */
typedef struct BlockView
{
	int32		dims;
	int32		count;
	const char *idx;			/* count int32, unaligned */
	const char *x;				/* count × dims float4, unaligned */
} BlockView;

/* The parts of block b, its length checked against its header. */
static void
block_view(bytea *b, BlockView *view)
{
	const char *data = VARDATA_ANY(b);
	size_t		length = VARSIZE_ANY_EXHDR(b);

	if (length >= BLOCK_HEADER_BYTES)
	{
		memcpy(&view->dims, data, sizeof(int32));
		memcpy(&view->count, data + sizeof(int32), sizeof(int32));
	}
	if (length < BLOCK_HEADER_BYTES || view->dims < 1 || view->dims > EMBEDDING_MAX_DIMS || view->count < 0 ||
		length != BLOCK_HEADER_BYTES + (size_t) view->count * (sizeof(int32) + sizeof(float) * (size_t) view->dims))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid block of embeddings (%zu bytes)", length),
				 errhint("Blocks come from irec_als_shard_step or irec_als_initial_blocks.")));
	view->idx = data + BLOCK_HEADER_BYTES;
	view->x = view->idx + sizeof(int32) * (size_t) view->count;
}

/* A new block of count rows: its index and component arrays to fill. */
static bytea *
block_new(int dims, int count, int32 **idx, float **x)
{
	size_t		length = BLOCK_HEADER_BYTES + (size_t) count * (sizeof(int32) + sizeof(float) * (size_t) dims);
	bytea	   *b = palloc(VARHDRSZ + length);
	int32		header[2] = {dims, count};

	SET_VARSIZE(b, VARHDRSZ + length);
	memcpy(VARDATA(b), header, sizeof(header));
	/* VARDATA is 4-byte aligned in a palloc'd varlena, and so are both arrays */
	*idx = (int32 *) (VARDATA(b) + BLOCK_HEADER_BYTES);
	*x = (float *) (*idx + count);
	return b;
}

/* One row of a side into `out`, with every check a row gets. */
static void
side_put_row(SideRows *out, bool **seen, size_t *n, int32 idx, const char *x, int dims, const char *role,
			 Relation rel, MemoryContext context)
{
	if (idx < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s table \"%s\" has a negative index %d", role, RelationGetRelationName(rel), idx),
				 errhint("Rows are numbered from 0.")));
	if ((size_t) idx >= out->capacity)
	{
		size_t		grown = Max(out->capacity * 2, (size_t) idx + 1);
		float	   *wider;

		irec_check_memory((double) grown * dims * sizeof(float), "loading embeddings");
		wider = alloc_cache_aligned(context, sizeof(float) * dims * grown);
		memcpy(wider, out->x, sizeof(float) * dims * *n);
		out->x = wider;
		*seen = repalloc(*seen, sizeof(bool) * grown);
		memset(*seen + out->capacity, 0, sizeof(bool) * (grown - out->capacity));
		out->capacity = grown;
	}
	if ((*seen)[idx])
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("the %s table \"%s\" has index %d twice", role, RelationGetRelationName(rel), idx),
				 errhint("Each row's index appears once.")));
	memcpy(out->x + (size_t) idx * dims, x, sizeof(float) * dims);
	embedding_check_finite_components(out->x + (size_t) idx * dims, dims);
	(*seen)[idx] = true;
	*n = Max(*n, (size_t) idx + 1);
}

static void
wrong_dims(const char *role, Relation rel, int found, int dims)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("the %s table \"%s\" has an embedding of %d dimensions, not %d", role,
					RelationGetRelationName(rel), found, dims),
			 errhint("Pass the dims of the model being trained.")));
}

/*
 * Read a side's embeddings (idx 0..n−1, each once) into `out`, reusing its
 * matrix when it has room (and the same dims): from blocks when the table
 * has a column `block`, else from rows (idx, embedding).
 */
static void
read_side(text *name, const char *role, int dims, MemoryContext context, SideRows *out)
{
	Relation	rel = open_named_table(name, role);
	AttrNumber	block_att = get_attnum(RelationGetRelid(rel), "block");
	AttrNumber	idx_att = InvalidAttrNumber;
	AttrNumber	emb_att;
	int			needed;
	TableScanDesc scan;
	TupleTableSlot *slot;
	size_t		n = 0;
	size_t		tuples = 0;
	bool	   *seen;

	if (block_att != InvalidAttrNumber && block_att > 0)
		emb_att = column_of(rel, "block", BYTEAOID, role);
	else
	{
		idx_att = column_of(rel, "idx", INT4OID, role);
		emb_att = column_of(rel, "embedding", InvalidOid, role);
	}
	needed = Max(idx_att, emb_att);
	if (out->x == NULL || out->dims != dims)
	{
		double		reltuples = rel->rd_rel->reltuples;

		/* a block's tuple holds several rows: the guess only saves regrowing */
		out->capacity = reltuples > 0 ? (size_t) reltuples * (idx_att ? 1 : shard_step_block_rows(dims)) + 1 : 4096;
		irec_check_memory((double) out->capacity * dims * sizeof(float), "loading embeddings");
		out->x = alloc_cache_aligned(context, sizeof(float) * dims * out->capacity);
	}
	out->dims = dims;
	seen = palloc0(sizeof(bool) * out->capacity);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	slot = table_slot_create(rel, NULL);
	out->relid = RelationGetRelid(rel);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		if ((++tuples % (idx_att ? ROWS_PER_INTERRUPT_CHECK : 256)) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, needed);
		if (slot->tts_isnull[emb_att - 1] || (idx_att && slot->tts_isnull[idx_att - 1]))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the %s table \"%s\" has a NULL", role, RelationGetRelationName(rel)),
					 errhint("Every row needs its index and its embedding.")));
		if (idx_att)
		{
			Embedding  *e = DatumGetEmbedding(slot->tts_values[emb_att - 1]);

			if (e->dims != dims)
				wrong_dims(role, rel, e->dims, dims);
			side_put_row(out, &seen, &n, DatumGetInt32(slot->tts_values[idx_att - 1]), (const char *) e->x,
						 dims, role, rel, context);
		}
		else
		{
			bytea	   *b = DatumGetByteaPP(slot->tts_values[emb_att - 1]);
			BlockView	view;

			block_view(b, &view);
			if (view.dims != dims)
				wrong_dims(role, rel, view.dims, dims);
			for (int k = 0; k < view.count; k++)
			{
				int32		idx;

				memcpy(&idx, view.idx + sizeof(int32) * k, sizeof(int32));
				side_put_row(out, &seen, &n, idx, view.x + sizeof(float) * (size_t) dims * k, dims, role,
							 rel, context);
			}
			if ((Pointer) b != DatumGetPointer(slot->tts_values[emb_att - 1]))
				pfree(b);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, NoLock);
	for (size_t k = 0; k < n; k++)
		if (!seen[k])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the %s table \"%s\" has no row of index %zu", role, get_rel_name(out->relid), k),
					 errhint("The rows are numbered 0 to n − 1 without gaps.")));
	pfree(seen);
	out->n = n;
}

/*
 * The table the solved blocks are also written into (local_target): one of
 * the engine's side tables (copy_key int4, block bytea, row_count int4, loss
 * float8, regularization float8, nothing else), since the rows go straight
 * into its heap, past what an INSERT would run: refused when it has
 * indexes, triggers, rules, constraints, defaults or row-level security.
 */
typedef struct LocalTarget
{
	Relation	rel;
	TupleTableSlot *slot;
	AttrNumber	att[5];			/* copy_key, block, row_count, loss, regularization */
	int32		key;
	CommandId	cid;
} LocalTarget;

static void
local_target_open(text *name, int32 key, LocalTarget *target)
{
	static const char *const names[5] = {"copy_key", "block", "row_count", "loss", "regularization"};
	static const Oid types[5] = {INT4OID, BYTEAOID, INT4OID, FLOAT8OID, FLOAT8OID};
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(textToQualifiedNameList(name)),
										 RowExclusiveLock, false);
	Relation	rel;
	TupleDesc	desc;

	if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(relid)),
				 errhint("Grant INSERT on it to the caller.")));
	rel = table_open(relid, NoLock);
	desc = RelationGetDescr(rel);
	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relhasindex || rel->rd_rel->relhastriggers ||
		rel->rd_rel->relhasrules || rel->rd_rel->relrowsecurity ||
		(desc->constr != NULL && (desc->constr->num_check > 0 || desc->constr->has_not_null ||
								  desc->constr->num_defval > 0 || desc->constr->has_generated_stored)) ||
		RelationGetNumberOfAttributes(rel) != 5)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" cannot be a local target of irec_als_shard_step", RelationGetRelationName(rel)),
				 errhint("Pass a plain table of (copy_key integer, block bytea, row_count integer, loss double "
						 "precision, regularization double precision) with no indexes, triggers, rules, "
						 "constraints, defaults or row-level security.")));
	for (int c = 0; c < 5; c++)
		target->att[c] = column_of(rel, names[c], types[c], "local target");
	target->rel = rel;
	target->slot = table_slot_create(rel, NULL);
	target->key = key;
	target->cid = GetCurrentCommandId(true);
}

/* One block into the local target. */
static void
local_target_insert(LocalTarget *target, const Datum *values, const bool *nulls)
{
	TupleTableSlot *slot = target->slot;

	ExecClearTuple(slot);
	memset(slot->tts_isnull, 0, sizeof(bool) * RelationGetNumberOfAttributes(target->rel));
	slot->tts_values[target->att[0] - 1] = Int32GetDatum(target->key);
	for (int c = 1; c < 5; c++)
	{
		slot->tts_values[target->att[c] - 1] = values[c - 1];
		slot->tts_isnull[target->att[c] - 1] = nulls[c - 1];
	}
	ExecStoreVirtualTuple(slot);
	table_tuple_insert(target->rel, slot, target->cid, 0, NULL);
}

static void
local_target_close(LocalTarget *target)
{
	ExecDropSingleTupleTableSlot(target->slot);
	table_close(target->rel, NoLock);
}

/* Room for `rows` rows in the buffers (kept in `context`). */
static void
buffers_reserve(Buffers *b, const IalsConfig *config, size_t rows, MemoryContext context)
{
	size_t		scratch_floats = (size_t) config->threads * ials_scratch_floats(config);

	rows = Max(rows, 1);
	if (b->target == NULL || b->rows < rows || b->dims != config->dims)
	{
		b->rows = rows;
		b->dims = config->dims;
		b->target = alloc_cache_aligned(context, sizeof(float) * config->dims * rows);
		b->product = alloc_cache_aligned(context, sizeof(float) * config->dims * rows);
		b->row_loss = MemoryContextAllocHuge(context, sizeof(double) * rows);
	}
	if (b->scratch == NULL || b->scratch_floats < scratch_floats)
	{
		b->scratch_floats = scratch_floats;
		b->scratch = alloc_cache_aligned(context, sizeof(float) * scratch_floats);
	}
}

/*
 * A side for this call: read again unless the cache (keyed) holds this
 * table at this step; the caller's privilege is checked either way.
 * Returns whether it was read (so that what derives from it is redone).
 */
static bool
side_for_step(SideRows *side, text *name, const char *role, int dims, int step, bool keyed,
			  MemoryContext context)
{
	Oid			relid = named_table(name);

	if (keyed && side->x != NULL && side->step == step && side->relid == relid && side->dims == dims)
	{
		check_select(relid);
		return false;
	}
	if (!keyed || side->dims != dims)
		side->gram = NULL;		/* sized by dims */
	if (!keyed)
		memset(side, 0, sizeof(*side));
	read_side(name, role, dims, context, side);
	side->step = step;
	return true;
}

/* The cached shard of relation relid, or NULL. */
static ShardRows *
cached_shard(Oid relid)
{
	for (int k = 0; k < cache.n_shards; k++)
		if (cache.shards[k].relid == relid)
			return &cache.shards[k];
	return NULL;
}

PG_FUNCTION_INFO_V1(irec_als_shard_step);
Datum
irec_als_shard_step(PG_FUNCTION_ARGS)
{
	text	   *pairs_name;
	text	   *fixed_name;
	text	   *own_name;
	int32		dims;
	double		regularization;
	double		exponent;
	double		unobserved_weight;
	int32		cg_steps;
	int32		threads_arg;
	bool		with_loss = PG_NARGS() <= 11 || PG_ARGISNULL(11) || PG_GETARG_BOOL(11);
	bool		write_local = PG_NARGS() > 13 && !PG_ARGISNULL(12);
	LocalTarget local_target = {0};
	bool		keyed = !PG_ARGISNULL(9);
	int64		key = keyed ? PG_GETARG_INT64(9) : 0;
	int32		step = PG_ARGISNULL(10) ? 0 : PG_GETARG_INT32(10);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work;
	MemoryContext keep;
	MemoryContext old;
	ShardRows	local_shard;
	ShardRows  *shard;
	SideRows	local_fixed;
	SideRows	local_own;
	SideRows   *fixed;
	SideRows   *own;
	Buffers		local_buffers;
	Buffers    *buffers;
	IalsConfig	config;
	int			threads;
	float	   *target;
	float	   *scratch;
	double	   *row_loss;

	/* only the cache's key and step may be NULL (no cache) */
	for (int arg = 0; arg < 9; arg++)
		if (PG_ARGISNULL(arg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("arguments of irec_als_shard_step must not be NULL"),
					 errhint("Only cache_key and step may be NULL.")));
	pairs_name = PG_GETARG_TEXT_PP(0);
	fixed_name = PG_GETARG_TEXT_PP(1);
	own_name = PG_GETARG_TEXT_PP(2);
	dims = PG_GETARG_INT32(3);
	regularization = PG_GETARG_FLOAT8(4);
	exponent = PG_GETARG_FLOAT8(5);
	unobserved_weight = PG_GETARG_FLOAT8(6);
	cg_steps = PG_GETARG_INT32(7);
	threads_arg = PG_GETARG_INT32(8);
	embedding_check_dims(dims);
	if (!(regularization > 0) || !isfinite(regularization) || !(exponent >= 0) || !isfinite(exponent) ||
		!(unobserved_weight >= 0) || !isfinite(unobserved_weight) || cg_steps < 0 || cg_steps > 1000 ||
		threads_arg < 0 || threads_arg > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid iALS parameters"),
				 errhint("regularization > 0, regularization_exponent >= 0, unobserved_weight >= 0, "
						 "cg_steps in 0..1000 (0: Cholesky), threads in 0..1024 (0: all cores).")));
	if (write_local && PG_ARGISNULL(13))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a local_target needs its local_key"),
				 errhint("Pass the copy_key of the local target's rows.")));
	threads = irec_thread_count(threads_arg);
	/* the library's rows are blocks since 0.13.0: refuse SQL objects older than that */
	{
		TupleDesc	declared;

		if (get_call_result_type(fcinfo, NULL, &declared) != TYPEFUNC_COMPOSITE || declared->natts != 4 ||
			TupleDescAttr(declared, 0)->atttypid != BYTEAOID)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("irec_als_shard_step is declared as before version 0.13.0 of irec"),
					 errhint("Run ALTER EXTENSION irec UPDATE.")));
	}
	InitMaterializedSRF(fcinfo, 0);
	/* the local target first: no work for a caller who may not write it */
	if (write_local)
		local_target_open(PG_GETARG_TEXT_PP(12), PG_GETARG_INT32(13), &local_target);
	work = AllocSetContextCreate(CurrentMemoryContext, "irec shard step", ALLOCSET_DEFAULT_SIZES);

	if (keyed)
	{
		if (!cache.callback_registered)
		{
			RegisterXactCallback(cache_at_transaction_end, NULL);
			cache.callback_registered = true;
		}
		if (cache.context != NULL && (cache.key != key || cache.lxid != MyProc->lxid))
			cache_reset();
		if (cache.context == NULL)
		{
			cache.context = AllocSetContextCreate(TopMemoryContext, "irec shard cache", ALLOCSET_DEFAULT_SIZES);
			cache.key = key;
			cache.lxid = MyProc->lxid;
		}
		keep = cache.context;
	}
	else
		keep = work;
	old = MemoryContextSwitchTo(work);

	/* the shard's interactions */
	{
		Oid			relid = named_table(pairs_name);

		shard = keyed ? cached_shard(relid) : NULL;
		if (shard == NULL)
		{
			shard = keyed && cache.n_shards < MAX_CACHED_SHARDS ? &cache.shards[cache.n_shards] : &local_shard;
			read_pairs(pairs_name, shard == &local_shard ? work : keep, shard);
			if (shard != &local_shard)
				cache.n_shards++;
		}
		else
		check_select(relid);
	}

	/* the fixed side and its Gramian, the own side for CG's warm start */
	fixed = keyed ? &cache.fixed : &local_fixed;
	if (side_for_step(fixed, fixed_name, "fixed", dims, step, keyed, keyed ? keep : work))
	{
		float	   *partials = MemoryContextAllocHuge(work, sizeof(float) * threads * dims * dims);

		if (fixed->gram == NULL)
			fixed->gram = MemoryContextAlloc(keyed ? keep : work, sizeof(float) * dims * dims);
		gramian(fixed->x, fixed->n, dims, threads, fixed->gram, partials);
	}
	if (shard->max_col >= 0 && (size_t) shard->max_col >= fixed->n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("a pair's col_idx %d is beyond the fixed side's %zu rows", shard->max_col, fixed->n),
				 errhint("Number the other side's rows 0 to n − 1 in the fixed table.")));
	shard->csr.n_cols = fixed->n;

	own = keyed ? &cache.own : &local_own;
	if (cg_steps > 0)
	{
		(void) side_for_step(own, own_name, "own", dims, step, keyed, keyed ? keep : work);
		if (shard->max_row >= 0 && (size_t) shard->max_row >= own->n)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("a pair's row_idx %d is beyond the own side's %zu rows", shard->max_row, own->n),
					 errhint("The own table holds this side's current embeddings, numbered 0 to n − 1.")));
	}

	/* solve, in chunks with interrupt checks between them */
	config.dims = dims;
	config.regularization = regularization;
	config.regularization_exponent = exponent;
	config.unobserved_weight = unobserved_weight;
	config.solver = cg_steps > 0 ? IALS_SOLVER_CG : IALS_SOLVER_CHOLESKY;
	config.cg_steps = cg_steps;
	config.threads = threads;
	buffers = keyed ? &cache.buffers : &local_buffers;
	if (!keyed)
		memset(buffers, 0, sizeof(*buffers));
	buffers_reserve(buffers, &config, shard->csr.n_rows, keep);
	target = buffers->target;
	for (size_t r = 0; r < shard->csr.n_rows; r++)
	{
		if (cg_steps > 0)
			memcpy(target + r * dims, own->x + (size_t) shard->row_idx[r] * dims, sizeof(float) * dims);
		else
			memset(target + r * dims, 0, sizeof(float) * dims);
	}
	scratch = buffers->scratch;
	row_loss = buffers->row_loss;
	for (size_t begin = 0; begin < shard->csr.n_rows;)
	{
		if (solve_rows_polled(&config, &shard->csr, fixed->x, fixed->gram, target, begin,
							  shard->csr.n_rows, scratch, with_loss ? row_loss : NULL,
							  &begin) != IALS_OK)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("iALS solve failed: a row's system is not positive definite"),
					 errhint("Increase regularization.")));
		CHECK_FOR_INTERRUPTS();
	}

	/* each row's all-pairs share α0·xᵀGx: T·G in one product */
	if (with_loss && shard->csr.n_rows > 0)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) shard->csr.n_rows, dims, dims, 1.0f,
					target, dims, fixed->gram, dims, 0.0f, buffers->product, dims);

	/* the rows out, in blocks (and into the local target) */
	MemoryContextSwitchTo(old);
	{
		int			per_block = shard_step_block_rows(dims);

		for (size_t first = 0; first < shard->csr.n_rows; first += per_block)
		{
			int			count = (int) Min((size_t) per_block, shard->csr.n_rows - first);
			int32	   *idx;
			float	   *x;
			bytea	   *block = block_new(dims, count, &idx, &x);
			double		loss = 0.0;
			double		row_regularization = 0.0;
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};

			for (int k = 0; k < count; k++)
			{
				size_t		r = first + k;
				size_t		n_pairs = shard->csr.row_start[r + 1] - shard->csr.row_start[r];
				double		l2 = ials_row_regularization(&config, n_pairs, fixed->n) *
					vec_norm_squared(target + r * dims, dims);

				idx[k] = shard->row_idx[r];
				memcpy(x + (size_t) k * dims, target + r * dims, sizeof(float) * dims);
				if (with_loss)
					loss += row_loss[r] + unobserved_weight * vec_dot(target + r * dims, buffers->product + r * dims, dims);
				row_regularization += l2;
			}
			values[0] = PointerGetDatum(block);
			values[1] = Int32GetDatum(count);
			values[2] = Float8GetDatum(loss);
			nulls[2] = !with_loss;
			values[3] = Float8GetDatum(row_regularization);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			if (write_local)
				local_target_insert(&local_target, values, nulls);
			pfree(block);
		}
	}
	if (write_local)
		local_target_close(&local_target);
	MemoryContextDelete(work);
	return (Datum) 0;
}

float *
shard_step_read_embeddings(const char *table, int dims, MemoryContext context, size_t *n)
{
	SideRows	side;

	memset(&side, 0, sizeof(side));
	read_side(cstring_to_text(table), "embeddings", dims, context, &side);
	*n = side.n;
	return side.x;
}

/*
 * irec_als_block_rows(block): a block's rows, (idx, embedding), in the
 * block's order.
 */
PG_FUNCTION_INFO_V1(irec_als_block_rows);
Datum
irec_als_block_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	BlockView	view;

	block_view(b, &view);
	InitMaterializedSRF(fcinfo, 0);
	for (int k = 0; k < view.count; k++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};
		Embedding  *e = embedding_new(view.dims);
		int32		idx;

		memcpy(&idx, view.idx + sizeof(int32) * k, sizeof(int32));
		memcpy(e->x, view.x + sizeof(float) * (size_t) view.dims * k, sizeof(float) * view.dims);
		embedding_check_finite_components(e->x, view.dims);
		values[0] = Int32GetDatum(idx);
		values[1] = PointerGetDatum(e);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(e);
	}
	return (Datum) 0;
}

/*
 * irec_als_initial_blocks(n, dims, seed, side, std): rows 0..n−1 of `side`
 * (1 users, 2 items) as the in-memory engine starts them (the rows of
 * irec_init_embedding), in blocks, with zero loss and regularization.
 */
PG_FUNCTION_INFO_V1(irec_als_initial_blocks);
Datum
irec_als_initial_blocks(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		n = PG_GETARG_INT64(0);
	int32		dims = PG_GETARG_INT32(1);
	int64		seed = PG_GETARG_INT64(2);
	int32		side = PG_GETARG_INT32(3);
	double		std = PG_GETARG_FLOAT8(4);
	int			per_block;

	embedding_check_dims(dims);
	if (n < 0 || n > PG_INT32_MAX || !(std > 0) || !isfinite(std))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid row count or standard deviation"),
				 errhint("The count must be in 0..2^31 − 1 and the standard deviation positive and finite.")));
	per_block = shard_step_block_rows(dims);
	InitMaterializedSRF(fcinfo, 0);
	for (int64 first = 0; first < n; first += per_block)
	{
		int			count = (int) Min((int64) per_block, n - first);
		int32	   *idx;
		float	   *x;
		bytea	   *block = block_new(dims, count, &idx, &x);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		for (int k = 0; k < count; k++)
			idx[k] = (int32) (first + k);
		ials_init_rows(x, (size_t) first, (size_t) count, dims, std, (uint64) seed, (uint64) side);
		values[0] = PointerGetDatum(block);
		values[1] = Int32GetDatum(count);
		values[2] = Float8GetDatum(0.0);
		values[3] = Float8GetDatum(0.0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(block);
		if ((first / per_block) % 256 == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return (Datum) 0;
}
