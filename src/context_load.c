/*
 * context_load.c
 *		Reading a context model's interactions (context_load.h).
 *
 * One grouped statement gives each (fields..., item) group once with its
 * summed weight; the backend numbers each field's values, the items and
 * the contexts (tuples of value numbers) with hash tables of the key
 * bytes as the rows stream in, then puts every numbering in key order.
 * No window functions or sorts in the statement: they cost several times
 * the grouping (2.4 s against 0.83 s for 500k rows).
 */
#include "postgres.h"

#include <math.h>

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

#include "context_load.h"


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
datum_key(Datum value, const IdMap *map, int64 *scratch, uint32 *length)
{
	if (map->typbyval)
	{
		*scratch = map->type == INT4OID ? (int64) DatumGetInt32(value) : DatumGetInt64(value);
		*length = sizeof(int64);
		return (const char *) scratch;
	}
	if (map->typlen == -1)
	{
		struct varlena *v = (struct varlena *) DatumGetPointer(value);

		if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
			v = pg_detoast_datum_packed(v);
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

/* Rows fetched per cursor batch while loading. */
#define CONTEXT_FETCH_ROWS 10000

/*
 * load_contexts: one statement (a cursor, read in batches), so that every
 * row comes from the same snapshot: each (context, item) pair once with its
 * summed weight, then the count of skipped rows.  Values, items and
 * contexts are numbered here (KeyNumbering).
 */
void
context_load(const ContextTrainRequest *request, MemoryContext context, ContextLoad *out)
{
	const int	F = request->n_fields;
	const char *item = quote_identifier(request->source.item_column);
	StringInfoData sql;
	StringInfoData fields;
	const char *weight = request->source.weight_column
		? psprintf("s.%s::float8", quote_identifier(request->source.weight_column)) : "1::float8";
	MemoryContext old;
	Oid			relid = request->source.relid;
	KeyNumbering *value_numbers;
	KeyNumbering item_numbers;
	KeyNumbering context_numbers;
	Portal		portal;
	size_t		capacity = 65536;
	size_t		values_capacity = 1024;
	int32	   *tuple = palloc(sizeof(int32) * F);
	bool		first_batch = true;

	out->n_fields = F;
	out->source_name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												  get_rel_name(relid));
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

	old = MemoryContextSwitchTo(context);
	value_numbers = palloc(sizeof(KeyNumbering) * F);
	for (int f = 0; f < F; f++)
		numbering_init(&value_numbers[f], context);
	numbering_init(&item_numbers, context);
	numbering_init(&context_numbers, context);
	out->field_ids = palloc0(sizeof(IdMap) * F);
	out->context_of = MemoryContextAllocHuge(context, sizeof(int32) * capacity);
	out->item_of = MemoryContextAllocHuge(context, sizeof(int32) * capacity);
	out->weight = MemoryContextAllocHuge(context, sizeof(float) * capacity);
	out->context_values = MemoryContextAllocHuge(context, sizeof(int32) * values_capacity * F);
	out->nnz = 0;
	out->skipped_rows = 0;
	MemoryContextSwitchTo(old);

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
			old = MemoryContextSwitchTo(context);
			for (int f = 0; f < F; f++)
			{
				Oid			type = SPI_gettypeid(desc, 1 + f);

				idmap_init(&out->field_ids[f], type == VARCHAROID ? TEXTOID : type, 0);
			}
			idmap_init(&out->items, SPI_gettypeid(desc, 1 + F) == VARCHAROID ? TEXTOID : SPI_gettypeid(desc, 1 + F), 0);
			MemoryContextSwitchTo(old);
			first_batch = false;
		}
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	row = SPI_tuptable->vals[r];
			bool		isnull;
			bool		added;
			int64		scratch;
			uint32		length;
			const char *key;
			int32		number;
			bool		no_weight;
			float		w = DatumGetFloat4(SPI_getbinval(row, desc, F + 2, &no_weight));
			bool		absent = true;

			for (int f = 0; f < F && absent; f++)
				(void) SPI_getbinval(row, desc, 1 + f, &absent);
			(void) SPI_getbinval(row, desc, 1 + F, &isnull);
			if (isnull || absent)
			{
				/* no item, or no field: every row of the group is skipped */
				out->skipped_rows += DatumGetInt64(SPI_getbinval(row, desc, F + 4, &isnull));
				continue;
			}
			out->skipped_rows += DatumGetInt64(SPI_getbinval(row, desc, F + 3, &isnull));
			if (no_weight)
				continue;
			if (!isfinite(w) || w < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the summed weight of an interaction is %g", w),
						 errhint("Weights must be finite and not negative.")));
			if (out->nnz == (size_t) PG_INT32_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many (context, item) pairs"),
						 errhint("A context model takes fewer than 2^31 distinct pairs.")));
			if (out->nnz == capacity)
			{
				capacity *= 2;
				out->context_of = repalloc_huge(out->context_of, sizeof(int32) * capacity);
				out->item_of = repalloc_huge(out->item_of, sizeof(int32) * capacity);
				out->weight = repalloc_huge(out->weight, sizeof(float) * capacity);
			}
			old = MemoryContextSwitchTo(context);
			for (int f = 0; f < F; f++)
			{
				IdMap	   *map = &out->field_ids[f];
				Datum		value = SPI_getbinval(row, desc, 1 + f, &isnull);

				tuple[f] = -1;
				if (isnull)
					continue;
				key = datum_key(value, map, &scratch, &length);
				tuple[f] = numbering_find(&value_numbers[f], key, length, &added);
				if (added)
				{
					if (map->count % 1024 == 0)
						map->ids = repalloc_huge(map->ids, sizeof(Datum) * (map->count + 1024));
					map->ids[map->count++] = datumCopy(value, map->typbyval, map->typlen);
				}
			}
			{
				Datum		value = SPI_getbinval(row, desc, 1 + F, &isnull);

				key = datum_key(value, &out->items, &scratch, &length);
				number = numbering_find(&item_numbers, key, length, &added);
				if (added)
				{
					if (out->items.count % 1024 == 0)
						out->items.ids = repalloc_huge(out->items.ids, sizeof(Datum) * (out->items.count + 1024));
					out->items.ids[out->items.count++] = datumCopy(value, out->items.typbyval, out->items.typlen);
				}
				out->item_of[out->nnz] = number;
			}
			number = numbering_find(&context_numbers, (const char *) tuple, sizeof(int32) * F, &added);
			if (added)
			{
				if (context_numbers.count > values_capacity)
				{
					values_capacity *= 2;
					out->context_values = repalloc_huge(out->context_values, sizeof(int32) * values_capacity * F);
				}
				memcpy(out->context_values + (size_t) number * F, tuple, sizeof(int32) * F);
			}
			MemoryContextSwitchTo(old);
			out->context_of[out->nnz] = number;
			out->weight[out->nnz] = w;
			out->nnz++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	out->n_contexts = context_numbers.count;
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
		int32	   *rank = numbering_ranks(&value_numbers[f]);

		permute_ids(&out->field_ids[f], rank);
		for (size_t c = 0; c < out->n_contexts; c++)
			if (out->context_values[c * F + f] >= 0)
				out->context_values[c * F + f] = rank[out->context_values[c * F + f]];
	}
	{
		int32	   *rank = numbering_ranks(&item_numbers);

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
}

