/*
 * context_load.c
 *		Reading a context model's interactions (context_load.h).
 *
 * A plain table is read straight from its heap (load_from_heap), other
 * sources through one grouped statement (load_grouped).  The backend
 * numbers each field's values, the items and the contexts (tuples of value
 * numbers) with hash tables of the key bytes as the rows stream in, then
 * puts every numbering, and the pairs, in key order.
 */
#include "postgres.h"

#include <math.h>

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "context_load.h"
#include "core/id_sort.h"
#include "irec.h"


static void
idmap_init(IdMap *map, Oid type, size_t count)
{
	map->type = type;
	map->count = count;
	get_typlenbyvalalign(type, &map->typlen, &map->typbyval, &map->typalign);
	map->ids = palloc0(sizeof(Datum) * Max(count, 1));
}

/*
 * Numbering of distinct keys, in the order first seen: an open-addressing
 * table of 64-bit hashes and the key bytes, so that a field's values, the
 * items and the contexts (tuples of value numbers) each get dense numbers
 * in one pass over the rows, with no sort.
 */
typedef struct KeyNumbering
{
	size_t		count;
	size_t		capacity;		/* a power of two, at most half full */
	uint64	   *hashes;
	int32	   *numbers;		/* −1: empty slot */
	const char **keys;			/* the key bytes of each number */
	uint32	   *lengths;
	MemoryContext context;
} KeyNumbering;

static void
numbering_init(KeyNumbering *n, MemoryContext context)
{
	n->count = 0;
	n->capacity = 1024;
	n->context = context;
	n->hashes = MemoryContextAlloc(context, sizeof(uint64) * n->capacity);
	n->numbers = MemoryContextAlloc(context, sizeof(int32) * n->capacity);
	memset(n->numbers, 0xff, sizeof(int32) * n->capacity);
	n->keys = MemoryContextAlloc(context, sizeof(char *) * n->capacity / 2);
	n->lengths = MemoryContextAlloc(context, sizeof(uint32) * n->capacity / 2);
}

static void
numbering_grow(KeyNumbering *n)
{
	size_t		capacity = n->capacity * 2;
	uint64	   *hashes = MemoryContextAllocHuge(n->context, sizeof(uint64) * capacity);
	int32	   *numbers = MemoryContextAllocHuge(n->context, sizeof(int32) * capacity);

	memset(numbers, 0xff, sizeof(int32) * capacity);
	for (size_t slot = 0; slot < n->capacity; slot++)
	{
		size_t		at;

		if (n->numbers[slot] < 0)
			continue;
		for (at = n->hashes[slot] & (capacity - 1); numbers[at] >= 0; at = (at + 1) & (capacity - 1))
			;
		hashes[at] = n->hashes[slot];
		numbers[at] = n->numbers[slot];
	}
	pfree(n->hashes);
	pfree(n->numbers);
	n->hashes = hashes;
	n->numbers = numbers;
	n->keys = repalloc_huge(n->keys, sizeof(char *) * capacity / 2);
	n->lengths = repalloc_huge(n->lengths, sizeof(uint32) * capacity / 2);
	n->capacity = capacity;
}

/* The number of the key (its bytes), a new one when unseen (*added set). */
static int32
numbering_find(KeyNumbering *n, const char *key, uint32 length, bool *added)
{
	uint64		hash = hash_bytes_extended((const unsigned char *) key, (int) length, 0);
	size_t		at;

	*added = false;
	for (at = hash & (n->capacity - 1); n->numbers[at] >= 0; at = (at + 1) & (n->capacity - 1))
	{
		int32		number = n->numbers[at];

		if (n->hashes[at] == hash && n->lengths[number] == length && memcmp(n->keys[number], key, length) == 0)
			return number;
	}
	if (n->count >= (size_t) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("more than 2^31 distinct values in one context field"),
				 errhint("A context model numbers each field's values with 32-bit integers.")));
	{
		char	   *copy = MemoryContextAlloc(n->context, Max(length, 1));

		memcpy(copy, key, length);
		n->keys[n->count] = copy;
		n->lengths[n->count] = length;
		n->hashes[at] = hash;
		n->numbers[at] = (int32) n->count;
		n->count++;
	}
	*added = true;
	/* at most half full, so keys (capacity / 2 entries) has room for the next */
	if (n->count * 2 >= n->capacity)
		numbering_grow(n);
	return (int32) (n->count - 1);
}

/* A datum's key bytes: an integer's value, a text's characters, a uuid's 16 bytes. */
static const char *
datum_key(Datum value, const IdMap *map, int64 *scratch, uint32 *length, struct varlena **copy)
{
	*copy = NULL;
	if (map->typbyval)
	{
		*scratch = map->type == INT4OID ? (int64) DatumGetInt32(value) : DatumGetInt64(value);
		*length = sizeof(int64);
		return (const char *) scratch;
	}
	if (map->typlen == -1)
	{
		/*
		 * Compressed or stored out of line: the key is the value's own
		 * bytes (a TOAST pointer's bytes differ row by row).  The copy is
		 * the caller's to free.
		 */
		struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(value));

		*copy = v != (struct varlena *) DatumGetPointer(value) ? v : NULL;
		*length = VARSIZE_ANY_EXHDR(v);
		return VARDATA_ANY(v);
	}
	*length = (uint32) map->typlen;
	return DatumGetPointer(value);
}

/* Key bytes compared as bytes, then by length: an order, not a collation. */
static const KeyNumbering *key_sort_numbering;

static int
compare_keys(const void *a, const void *b)
{
	const KeyNumbering *n = key_sort_numbering;
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;
	int			c = memcmp(n->keys[x], n->keys[y], Min(n->lengths[x], n->lengths[y]));

	if (c != 0)
		return c;
	return (n->lengths[x] > n->lengths[y]) - (n->lengths[x] < n->lengths[y]);
}

/* rank[number]: the position of each number's key in key order. */
static int32 *
numbering_ranks(const KeyNumbering *n)
{
	int32	   *order = MemoryContextAllocHuge(n->context, sizeof(int32) * Max(n->count, 1));
	int32	   *rank = MemoryContextAllocHuge(n->context, sizeof(int32) * Max(n->count, 1));

	for (size_t k = 0; k < n->count; k++)
		order[k] = (int32) k;
	key_sort_numbering = n;
	qsort(order, n->count, sizeof(int32), compare_keys);
	for (size_t k = 0; k < n->count; k++)
		rank[order[k]] = (int32) k;
	pfree(order);
	return rank;
}

/* Put map's ids in rank order. */
static void
permute_ids(IdMap *map, const int32 *rank)
{
	Datum	   *ids = MemoryContextAllocHuge(GetMemoryChunkContext(map->ids), sizeof(Datum) * Max(map->count, 1));

	for (size_t k = 0; k < map->count; k++)
		ids[rank[k]] = map->ids[k];
	pfree(map->ids);
	map->ids = ids;
}

static int	tuple_sort_fields;
static const int32 *tuple_sort_values;

static int
compare_tuples(const void *a, const void *b)
{
	const int32 *x = tuple_sort_values + (size_t) *(const int32 *) a * tuple_sort_fields;
	const int32 *y = tuple_sort_values + (size_t) *(const int32 *) b * tuple_sort_fields;

	for (int f = 0; f < tuple_sort_fields; f++)
		if (x[f] != y[f])
			return (x[f] > y[f]) - (x[f] < y[f]);
	return 0;
}

/* Rows fetched per cursor batch while loading through SQL. */
#define CONTEXT_FETCH_ROWS 10000
/* Rows between interrupt checks while reading the heap. */
#define CONTEXT_ROWS_PER_CHECK 65536
/*
 * Bytes per row the heap reader holds at its peak: the row's context,
 * item and weight as read (16), the merge's keys and payloads (24) and
 * the merged pairs (16).
 */
#define CONTEXT_BYTES_PER_ROW 56.0

/* The numberings a load fills: each field's values, the items, the contexts. */
typedef struct ContextNumbering
{
	int			n_fields;
	KeyNumbering *values;		/* per field */
	KeyNumbering items;
	KeyNumbering contexts;		/* tuples of value numbers */
	int32	   *tuple;			/* scratch: one row's value numbers */
	size_t		values_capacity;	/* rows of out->context_values */
	MemoryContext context;
} ContextNumbering;

/* value's number in n, copied into map when it is new. */
static int32
number_value(KeyNumbering *n, IdMap *map, Datum value)
{
	int64		scratch;
	uint32		length;
	struct varlena *copy;
	const char *key = datum_key(value, map, &scratch, &length, &copy);
	bool		added;
	int32		number = numbering_find(n, key, length, &added);

	if (added)
	{
		if (map->count % 1024 == 0)
			map->ids = repalloc_huge(map->ids, sizeof(Datum) * (map->count + 1024));
		/* a detoasted copy is already the value whole and in line */
		map->ids[map->count++] = copy != NULL ? PointerGetDatum(copy)
			: irec_datum_copy_detoasted(value, map->typbyval, map->typlen);
	}
	else if (copy != NULL)
		pfree(copy);			/* numbering_find kept only new keys */
	return number;
}

/*
 * number_row: the numbers of a row's context (its tuple of field value
 * numbers, −1 for NULL) and item.  The row has an item and at least one
 * field value.
 */
static void
number_row(ContextNumbering *cn, ContextLoad *out, const Datum *values, const bool *nulls,
		   Datum item, int32 *context_number, int32 *item_number)
{
	const int	F = cn->n_fields;
	MemoryContext old = MemoryContextSwitchTo(cn->context);
	bool		added;
	int32		number;

	for (int f = 0; f < F; f++)
		cn->tuple[f] = nulls[f] ? -1 : number_value(&cn->values[f], &out->field_ids[f], values[f]);
	*item_number = number_value(&cn->items, &out->items, item);
	number = numbering_find(&cn->contexts, (const char *) cn->tuple, sizeof(int32) * F, &added);
	if (added)
	{
		if (cn->contexts.count > cn->values_capacity)
		{
			cn->values_capacity *= 2;
			out->context_values = repalloc_huge(out->context_values,
												sizeof(int32) * cn->values_capacity * F);
		}
		memcpy(out->context_values + (size_t) number * F, cn->tuple, sizeof(int32) * F);
	}
	MemoryContextSwitchTo(old);
	*context_number = number;
}

static void
check_pair_count(size_t nnz)
{
	if (nnz >= (size_t) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many (context, item) pairs"),
				 errhint("A context model takes fewer than 2^31 distinct pairs.")));
}

static void
check_summed_weight(float w)
{
	if (!isfinite(w) || w < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the summed weight of an interaction is %g", w),
				 errhint("Weights must be finite and not negative.")));
}

static IdMap
idmap_of_type(Oid type)
{
	IdMap		map;

	idmap_init(&map, type == VARCHAROID ? TEXTOID : type, 0);
	return map;
}

/*
 * groups_bytewise: whether values of the column group as their key bytes
 * group them (datum_key), so that the heap reader's numbering equals the
 * SQL path's GROUP BY: of the id types a context field takes (integer,
 * bigint, uuid, text), all but text under a nondeterministic collation
 * ('x' = 'X'), which takes the SQL path.
 */
static bool
groups_bytewise(Oid relid, const char *column)
{
	Oid			type;
	int32		typmod;
	Oid			collation;

	get_atttypetypmodcoll(relid, get_attnum(relid, column), &type, &typmod, &collation);
	switch (type)
	{
		case INT4OID:
		case INT8OID:
		case UUIDOID:
			return true;
		case TEXTOID:
		case VARCHAROID:
			return !OidIsValid(collation) || get_collation_isdeterministic(collation);
		default:
			return false;
	}
}

static bool
can_read_heap(const ContextTrainRequest *request)
{
	Oid			relid = request->source.relid;

	for (int f = 0; f < request->n_fields; f++)
		if (!groups_bytewise(relid, request->columns[f]))
			return false;
	return groups_bytewise(relid, request->source.item_column) &&
		interactions_weight_type_readable(relid, request->source.weight_column) &&
		interactions_heap_readable(relid);
}

/*
 * load_from_heap: one sequential scan of the table under the statement's
 * snapshot, as the plain model's reader does (interactions.c): each row is
 * numbered as it comes, then the rows' (context, item) pairs are merged and
 * their weights summed by radix sort (merge_pairs), which is what the SQL
 * path's GROUP BY gives.  About 5× the rate of the SQL path here.
 */
static void
load_from_heap(const ContextTrainRequest *request, ContextNumbering *cn, MemoryContext context,
			   ContextLoad *out)
{
	const int	F = request->n_fields;
	Oid			relid = request->source.relid;
	Relation	rel = table_open(relid, AccessShareLock);
	AttrNumber *field_att = palloc(sizeof(AttrNumber) * F);
	AttrNumber	item_att = get_attnum(relid, request->source.item_column);
	AttrNumber	weight_att = request->source.weight_column
		? get_attnum(relid, request->source.weight_column) : InvalidAttrNumber;
	Oid			weight_type = request->source.weight_column ? get_atttype(relid, weight_att) : InvalidOid;
	int			needed = Max(item_att, weight_att);
	TableScanDesc scan;
	TupleTableSlot *slot;
	Datum	   *values = palloc(sizeof(Datum) * F);
	bool	   *nulls = palloc(sizeof(bool) * F);
	size_t		capacity = 65536;
	size_t		n = 0;
	int64		rows = 0;
	int32	   *row_context = irec_alloc_large(context, sizeof(int32) * capacity);
	int32	   *row_item = irec_alloc_large(context, sizeof(int32) * capacity);
	double	   *row_weight = irec_alloc_large(context, sizeof(double) * capacity);
	uint64	   *work;
	uint32	   *work_payload;
	double	   *sums;

	for (int f = 0; f < F; f++)
	{
		field_att[f] = get_attnum(relid, request->columns[f]);
		needed = Max(needed, field_att[f]);
		out->field_ids[f] = idmap_of_type(get_atttype(relid, field_att[f]));
	}
	out->items = idmap_of_type(get_atttype(relid, item_att));
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	slot = table_slot_create(rel, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		absent = true;

		if ((++rows % CONTEXT_ROWS_PER_CHECK) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, needed);
		for (int f = 0; f < F; f++)
		{
			values[f] = slot->tts_values[field_att[f] - 1];
			nulls[f] = slot->tts_isnull[field_att[f] - 1];
			absent &= nulls[f];
		}
		/* no item, no field or no weight: the row is skipped */
		if (absent || slot->tts_isnull[item_att - 1] ||
			(weight_att != InvalidAttrNumber && slot->tts_isnull[weight_att - 1]))
		{
			out->skipped_rows++;
			continue;
		}
		if (n == capacity)
		{
			check_pair_count(n);
			capacity *= 2;
			irec_check_memory((double) capacity * CONTEXT_BYTES_PER_ROW, "loading the interactions");
			row_context = irec_realloc_large(row_context, sizeof(int32) * capacity);
			row_item = irec_realloc_large(row_item, sizeof(int32) * capacity);
			row_weight = irec_realloc_large(row_weight, sizeof(double) * capacity);
		}
		number_row(cn, out, values, nulls, slot->tts_values[item_att - 1], &row_context[n], &row_item[n]);
		row_weight[n] = weight_att != InvalidAttrNumber
			? interactions_weight_value(slot->tts_values[weight_att - 1], weight_type) : 1.0;
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, NoLock);
	if (n == 0)
		return;

	/* the pairs once each, weights summed (in double, in the rows' order) */
	irec_check_memory((double) n * CONTEXT_BYTES_PER_ROW, "loading the interactions");
	work = irec_alloc_large(context, sizeof(uint64) * 2 * n);
	work_payload = irec_alloc_large(context, sizeof(uint32) * 2 * n);
	sums = irec_alloc_large(context, sizeof(double) * n);
	out->context_of = irec_alloc_large(context, sizeof(int32) * n);
	out->item_of = irec_alloc_large(context, sizeof(int32) * n);
	out->nnz = merge_pairs(row_context, row_item, row_weight, n, out->context_of, out->item_of,
						   sums, work, work_payload);
	pfree(work);
	pfree(work_payload);
	pfree(row_context);
	pfree(row_item);
	pfree(row_weight);
	out->weight = irec_alloc_large(context, sizeof(float) * out->nnz);
	for (size_t k = 0; k < out->nnz; k++)
	{
		out->weight[k] = (float) sums[k];
		check_summed_weight(out->weight[k]);
	}
	pfree(sums);
}

/*
 * load_grouped: the SQL path, for views, partitioned tables, row security
 * and value types that do not group by their bytes.  One statement (a
 * cursor, read in batches), so that every row comes from the same
 * snapshot: each (context, item) pair once with its summed weight, then
 * the count of skipped rows.  No window functions or sorts in the
 * statement: they cost several times the grouping (2.4 s against 0.83 s
 * for 500k rows).
 */
static void
load_grouped(const ContextTrainRequest *request, ContextNumbering *cn, MemoryContext context,
			 ContextLoad *out)
{
	const int	F = request->n_fields;
	const char *item = quote_identifier(request->source.item_column);
	StringInfoData sql;
	StringInfoData fields;
	const char *weight = request->source.weight_column
		? psprintf("s.%s::float8", quote_identifier(request->source.weight_column)) : "1::float8";
	Portal		portal;
	size_t		capacity = 65536;
	Datum	   *values = palloc(sizeof(Datum) * F);
	bool	   *nulls = palloc(sizeof(bool) * F);
	bool		first_batch = true;

	initStringInfo(&fields);
	for (int f = 0; f < F; f++)
		appendStringInfo(&fields, "s.%s AS f%d, ", quote_identifier(request->columns[f]), f);
	/*
	 * One pass: the rows grouped by (fields, item), so repeated pairs sum;
	 * groups with a NULL item or every field NULL, and rows with a NULL
	 * weight, are counted as skipped (in C, below).
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %ss.%s AS it, pg_catalog.sum(%s)::float4, "
					 "pg_catalog.count(*) FILTER (WHERE %s IS NULL), pg_catalog.count(*) FROM %s s GROUP BY ",
					 fields.data, item, weight, weight, out->source_name);
	for (int f = 0; f < F; f++)
		appendStringInfo(&sql, "%d, ", f + 1);
	appendStringInfo(&sql, "%d", F + 1);
	/*
	 * JIT compiling the statement's expressions (its cost passes
	 * jit_above_cost on a few hundred thousand rows) takes longer than
	 * running it; the search path's restore in irec_train resets both.
	 */
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (work_mem < 262144)
		(void) set_config_option("work_mem", "262144", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	out->context_of = irec_alloc_large(context, sizeof(int32) * capacity);
	out->item_of = irec_alloc_large(context, sizeof(int32) * capacity);
	out->weight = irec_alloc_large(context, sizeof(float) * capacity);
	portal = SPI_cursor_open_with_args(NULL, sql.data, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		TupleDesc	desc;

		SPI_cursor_fetch(portal, true, CONTEXT_FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		desc = SPI_tuptable->tupdesc;
		if (first_batch)
		{
			MemoryContext old = MemoryContextSwitchTo(context);

			for (int f = 0; f < F; f++)
				out->field_ids[f] = idmap_of_type(SPI_gettypeid(desc, 1 + f));
			out->items = idmap_of_type(SPI_gettypeid(desc, 1 + F));
			MemoryContextSwitchTo(old);
			first_batch = false;
		}
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	row = SPI_tuptable->vals[r];
			bool		isnull;
			bool		no_weight;
			float		w = DatumGetFloat4(SPI_getbinval(row, desc, F + 2, &no_weight));
			bool		absent = true;
			Datum		item_value;

			for (int f = 0; f < F; f++)
			{
				values[f] = SPI_getbinval(row, desc, 1 + f, &nulls[f]);
				absent &= nulls[f];
			}
			item_value = SPI_getbinval(row, desc, 1 + F, &isnull);
			if (isnull || absent)
			{
				/* no item, or no field: every row of the group is skipped */
				out->skipped_rows += DatumGetInt64(SPI_getbinval(row, desc, F + 4, &isnull));
				continue;
			}
			out->skipped_rows += DatumGetInt64(SPI_getbinval(row, desc, F + 3, &isnull));
			if (no_weight)
				continue;
			check_summed_weight(w);
			check_pair_count(out->nnz);
			if (out->nnz == capacity)
			{
				capacity *= 2;
				out->context_of = irec_realloc_large(out->context_of, sizeof(int32) * capacity);
				out->item_of = irec_realloc_large(out->item_of, sizeof(int32) * capacity);
				out->weight = irec_realloc_large(out->weight, sizeof(float) * capacity);
			}
			number_row(cn, out, values, nulls, item_value, &out->context_of[out->nnz], &out->item_of[out->nnz]);
			out->weight[out->nnz] = w;
			out->nnz++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
}

/*
 * context_load: each (context, item) pair once with its summed weight,
 * from the heap (load_from_heap) or through SQL (load_grouped); values,
 * items and contexts numbered here (KeyNumbering), then renumbered in key
 * order.
 */
void
context_load(const ContextTrainRequest *request, MemoryContext context, ContextLoad *out)
{
	const int	F = request->n_fields;
	Oid			relid = request->source.relid;
	ContextNumbering cn;
	MemoryContext old;

	out->n_fields = F;
	out->source_name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												  get_rel_name(relid));
	old = MemoryContextSwitchTo(context);
	cn.n_fields = F;
	cn.context = context;
	cn.values = palloc(sizeof(KeyNumbering) * F);
	for (int f = 0; f < F; f++)
		numbering_init(&cn.values[f], context);
	numbering_init(&cn.items, context);
	numbering_init(&cn.contexts, context);
	cn.tuple = palloc(sizeof(int32) * F);
	cn.values_capacity = 1024;
	out->field_ids = palloc0(sizeof(IdMap) * F);
	out->context_values = MemoryContextAllocHuge(context, sizeof(int32) * cn.values_capacity * F);
	out->nnz = 0;
	out->skipped_rows = 0;
	MemoryContextSwitchTo(old);

	if (can_read_heap(request))
		load_from_heap(request, &cn, context, out);
	else
		load_grouped(request, &cn, context, out);
	out->n_contexts = cn.contexts.count;
	if (out->nnz == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("there are no interactions with a context in %s", out->source_name),
				 errhint("Each row needs an item, a weight when weight_column is given, and at least one context field that is not NULL.")));
	/*
	 * Numbers in key order rather than in the order rows came (a hash
	 * aggregate's): the model, whose initial draws follow the numbers,
	 * then does not depend on the table's physical order.
	 */
	for (int f = 0; f < F; f++)
	{
		int32	   *rank = numbering_ranks(&cn.values[f]);

		permute_ids(&out->field_ids[f], rank);
		for (size_t c = 0; c < out->n_contexts; c++)
			if (out->context_values[c * F + f] >= 0)
				out->context_values[c * F + f] = rank[out->context_values[c * F + f]];
	}
	{
		int32	   *rank = numbering_ranks(&cn.items);

		permute_ids(&out->items, rank);
		for (size_t k = 0; k < out->nnz; k++)
			out->item_of[k] = rank[out->item_of[k]];
	}
	{
		/* the contexts by their (renumbered) tuples */
		int32	   *order = MemoryContextAllocHuge(context, sizeof(int32) * Max(out->n_contexts, 1));
		int32	   *rank = MemoryContextAllocHuge(context, sizeof(int32) * Max(out->n_contexts, 1));
		int32	   *values = MemoryContextAllocHuge(context, sizeof(int32) * Max(out->n_contexts, 1) * F);

		for (size_t c = 0; c < out->n_contexts; c++)
			order[c] = (int32) c;
		tuple_sort_fields = F;
		tuple_sort_values = out->context_values;
		qsort(order, out->n_contexts, sizeof(int32), compare_tuples);
		for (size_t c = 0; c < out->n_contexts; c++)
		{
			rank[order[c]] = (int32) c;
			memcpy(values + c * F, out->context_values + (size_t) order[c] * F, sizeof(int32) * F);
		}
		for (size_t k = 0; k < out->nnz; k++)
			out->context_of[k] = rank[out->context_of[k]];
		pfree(out->context_values);
		out->context_values = values;
		pfree(order);
		pfree(rank);
	}
	{
		/*
		 * The pairs in (context, item) order, so that each context's row of
		 * the matrix, and every sum over it, comes in one order whatever
		 * path read the rows and whatever order they came in.
		 */
		uint64	   *work = irec_alloc_large(context, sizeof(uint64) * 2 * out->nnz);
		uint32	   *work_payload = irec_alloc_large(context, sizeof(uint32) * 2 * out->nnz);
		double	   *weights = irec_alloc_large(context, sizeof(double) * out->nnz);
		double	   *sorted = irec_alloc_large(context, sizeof(double) * out->nnz);
		int32	   *contexts = irec_alloc_large(context, sizeof(int32) * out->nnz);
		int32	   *items = irec_alloc_large(context, sizeof(int32) * out->nnz);

		for (size_t k = 0; k < out->nnz; k++)
			weights[k] = out->weight[k];
		if (merge_pairs(out->context_of, out->item_of, weights, out->nnz, contexts, items,
						sorted, work, work_payload) != out->nnz)
			elog(ERROR, "irec: a (context, item) pair was read twice");
		for (size_t k = 0; k < out->nnz; k++)
			out->weight[k] = (float) sorted[k];
		pfree(sorted);
		pfree(out->context_of);
		pfree(out->item_of);
		out->context_of = contexts;
		out->item_of = items;
		pfree(work);
		pfree(work_payload);
		pfree(weights);
	}
}

