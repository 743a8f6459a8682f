/*
 * context_train.c
 *		Training a context model: irec_train(..., context_columns => ARRAY[
 *		'user_id', 'weekday'], context_model => 'sum' | 'product').
 *
 * Flow: one SQL statement reads the source with every field's values and
 * the items numbered (dense_rank), repeated rows summed; the contexts are
 * the distinct tuples of field values.  A NULL field value is absent (it
 * contributes nothing to φ); a row whose fields are all NULL, or whose
 * item or weight is NULL, is skipped.  Each epoch solves every field's
 * block exactly with the others fixed (core/context.h), then the items
 * with iALS's own step against the contexts' φ, in chunks with interrupt
 * checks between them.  The model is written as one table per field,
 * <model>_ctx_<column>(<column>, embedding), and <model>_items, in the
 * caller's transaction: a failed or cancelled training leaves the previous
 * model as it was.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "common/hashfn.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "context_train.h"
#include "core/sparse.h"
#include "irec.h"
#include "progress.h"

/* Work between two interrupt checks, in floating-point operations. */
#define CONTEXT_FLOPS_PER_CHUNK 1e10

void
context_check_columns(const InteractionSource *source, int n_fields, char **columns)
{
	for (int f = 0; f < n_fields; f++)
	{
		if (columns[f] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("context_columns must not contain NULL"),
					 errhint("Name each context field's column, like ARRAY['user_id', 'weekday'].")));
		if (get_attnum(source->relid, columns[f]) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation %s does not exist", columns[f], get_rel_name(source->relid)),
					 errhint("Name the context fields' columns with context_columns.")));
		(void) interactions_check_column(source->relid, columns[f], "context");
		if (strcmp(columns[f], source->item_column) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("context column \"%s\" is the item column", columns[f]),
					 errhint("A context describes who or when, not what is chosen: leave the item column out of context_columns.")));
		if (source->weight_column && strcmp(columns[f], source->weight_column) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("context column \"%s\" is the weight column", columns[f]),
					 errhint("Leave the weight column out of context_columns.")));
		for (int g = 0; g < f; g++)
			if (strcmp(columns[f], columns[g]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("context column \"%s\" is named twice", columns[f]),
						 errhint("Name each context field once.")));
	}
	(void) interactions_check_column(source->relid, source->item_column, "item");
}

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double) (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

static void
check_interrupts(void *unused)
{
	CHECK_FOR_INTERRUPTS();
}

static void
gramian(const float *x, size_t n, int dims, int threads, float *gram, float *partials)
{
	size_t		block = (size_t) (CONTEXT_FLOPS_PER_CHUNK / ((double) dims * dims));

	ials_gramian_blocked(x, n, dims, threads, gram, partials,
						 Max(block, (size_t) Max(threads, 1)), check_interrupts, NULL);
}

/* What the load statement gives: the contexts' interactions, numbered. */
typedef struct ContextLoad
{
	int			n_fields;
	IdMap	   *field_ids;		/* per field: index → value */
	IdMap		items;
	size_t		n_contexts;
	int32	   *context_values; /* n_contexts × n_fields, −1 absent */
	size_t		nnz;			/* distinct (context, item) pairs */
	int32	   *context_of;		/* nnz */
	int32	   *item_of;		/* nnz */
	float	   *weight;			/* nnz: summed weights (row counts without a weight column) */
	int64		skipped_rows;
	char	   *source_name;
} ContextLoad;

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
static void
load_contexts(const ContextTrainRequest *request, MemoryContext context, ContextLoad *out)
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

static int
compare_floats(const void *a, const void *b)
{
	float		x = *(const float *) a;
	float		y = *(const float *) b;

	return (x > y) - (x < y);
}

static void
build_csr(MemoryContext context, size_t n_rows, size_t n_cols, size_t nnz,
		  const int32 *rows, const int32 *cols, const float *values, CsrMatrix *out)
{
	out->row_start = MemoryContextAllocHuge(context, sizeof(size_t) * (n_rows + 1));
	out->col = MemoryContextAllocHuge(context, sizeof(int32) * Max(nnz, 1));
	out->value = MemoryContextAllocHuge(context, sizeof(float) * Max(nnz, 1));
	if (csr_build(n_rows, n_cols, nnz, rows, cols, values, out) != 0)
		elog(ERROR, "interaction index out of range");
}

/* The end of the chunk of rows from begin: about CONTEXT_FLOPS_PER_CHUNK of solving. */
static size_t
chunk_end(const CsrMatrix *m, size_t begin, int dims, double per_row)
{
	double		flops = 0.0;
	size_t		end = begin;

	while (end < m->n_rows && (end == begin || flops < CONTEXT_FLOPS_PER_CHUNK))
	{
		flops += per_row + (double) (m->row_start[end + 1] - m->row_start[end]) * dims * dims;
		end++;
	}
	return end;
}

static void
report_solve_failure(int rc)
{
	if (rc != IALS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a least-squares system of the context model is not positive definite"),
				 errhint("Increase regularization.")));
}

static char *
params_json(const ContextTrainRequest *request, const IalsConfig *config, double epsilon,
			char *const *tables, const ContextLoad *load, double product_prior)
{
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfo(&json,
					 "{\"regularization\": %s, \"regularization_exponent\": %s, "
					 "\"unobserved_weight\": %s, \"confidence\": \"%s\", \"alpha\": %s, "
					 "\"epsilon\": %s, \"init_std\": %s, \"seed\": " INT64_FORMAT ", \"threads\": %d, "
					 "\"solver\": \"%s\", \"cg_steps\": %d, \"context_model\": \"%s\", "
					 "\"product_prior\": %s, \"n_contexts\": %zu, \"context_columns\": [",
					 float8out_internal(config->regularization),
					 float8out_internal(config->regularization_exponent),
					 float8out_internal(config->unobserved_weight), request->confidence_name,
					 float8out_internal(request->alpha), float8out_internal(epsilon),
					 float8out_internal(request->init_std), request->seed, config->threads,
					 request->solver_name, config->cg_steps, request->kind_name,
					 float8out_internal(product_prior), load->n_contexts);
	for (int f = 0; f < request->n_fields; f++)
	{
		if (f)
			appendStringInfoString(&json, ", ");
		escape_json(&json, request->columns[f]);
	}
	appendStringInfoString(&json, "], \"context_tables\": [");
	for (int f = 0; f < request->n_fields; f++)
	{
		if (f)
			appendStringInfoString(&json, ", ");
		escape_json(&json, tables[f]);
	}
	appendStringInfoString(&json, "], \"context_values\": [");
	for (int f = 0; f < request->n_fields; f++)
		appendStringInfo(&json, "%s%zu", f ? ", " : "", load->field_ids[f].count);
	appendStringInfoString(&json, "]}");
	return json.data;
}

text *
context_train(const ContextTrainRequest *request, ModelTarget *target, MemoryContext caller,
			  const struct timespec *start)
{
	MemoryContext context = AllocSetContextCreate(CurrentMemoryContext, "irec context training",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	const int	F = request->n_fields;
	const int	d = request->config.dims;
	IalsConfig	config = request->config;
	ContextLoad load;
	ContextData data;
	CsrMatrix	by_context;
	CsrMatrix	by_item;
	CsrMatrix  *by_value;
	float	  **fields;
	float	   *items;
	float	   *phi;
	float	   *item_gram;
	float	   *phi_gram;
	float	   *partials;
	float	   *scratch;
	float	   *ials_scratch;
	double	   *row_loss;
	double	   *loss;
	double		epsilon = request->epsilon;
	char	  **tables;
	size_t	   *n_values;
	ModelSummary summary;
	struct timespec train_start;
	struct timespec write_start;
	text	   *result;

	tables = palloc(sizeof(char *) * F);
	for (int f = 0; f < F; f++)
		tables[f] = model_context_table(target, request->columns[f]);
	/* the registry's users table of a context model: its first field's */
	target->users_table = tables[0];

	progress_phase("loading");
	load_contexts(request, context, &load);
	summary.load_seconds = seconds_since(start);

	old = MemoryContextSwitchTo(context);
	/* the confidences, and the shape defaults over contexts (ials.h) */
	{
		float	   *confidence = MemoryContextAllocHuge(context, sizeof(float) * load.nnz);

		if (request->shape_epsilon)
		{
			memcpy(confidence, load.weight, sizeof(float) * load.nnz);
			qsort(confidence, load.nnz, sizeof(float), compare_floats);
			epsilon = confidence[(load.nnz - 1) / 2];
			if (!(epsilon > 0))
				epsilon = 1.0;
		}
		for (size_t k = 0; k < load.nnz; k++)
			confidence[k] = request->log_confidence
				? (float) (1.0 + request->alpha * log1p(load.weight[k] / epsilon))
				: (float) (1.0 + request->alpha * load.weight[k]);
		/*
		 * iALS's shape rule for the first field's values (the users,
		 * usually) as the rows: with n̄ their mean interactions, a value's
		 * unobserved pairs weigh in total what a user's do in the
		 * user-only model, spread over its contexts (α0 divided by the mean
		 * contexts per value), and λ keeps that model's regularization
		 * weight, since the row's whole mass is the same.
		 */
		if (request->shape_unobserved_weight || request->shape_regularization)
		{
			double		values = (double) Max(load.field_ids[0].count, 1);
			double		mean = (double) load.nnz / values;
			double		contexts_per_value = (double) load.n_contexts / values;
			double		plain = request->shape_unobserved_weight
				? ials_default_unobserved_weight(load.items.count, mean)
				: config.unobserved_weight * contexts_per_value;

			if (request->shape_unobserved_weight)
				config.unobserved_weight = plain / contexts_per_value;
			if (request->shape_regularization)
				config.regularization = ials_default_regularization(plain, load.items.count, mean,
																	config.regularization_exponent);
		}
		irec_check_memory((double) load.nnz * 2 * (sizeof(int32) + sizeof(float)) +
						  (double) load.n_contexts * (F + d + 4) * 8.0 +
						  (double) load.items.count * d * sizeof(float) * 2 +
						  (double) config.threads * (context_scratch_floats(d) + ials_scratch_floats(&config) +
													 (double) d * d) * sizeof(float),
						  "training this context model");
		build_csr(context, load.n_contexts, load.items.count, load.nnz, load.context_of, load.item_of,
				  confidence, &by_context);
		build_csr(context, load.items.count, load.n_contexts, load.nnz, load.item_of, load.context_of,
				  confidence, &by_item);
		pfree(confidence);
	}
	/* per field: the contexts holding each value */
	by_value = palloc(sizeof(CsrMatrix) * F);
	n_values = palloc(sizeof(size_t) * F);
	{
		int32	   *value_of = MemoryContextAllocHuge(context, sizeof(int32) * load.n_contexts);
		int32	   *context_of = MemoryContextAllocHuge(context, sizeof(int32) * load.n_contexts);

		for (int f = 0; f < F; f++)
		{
			size_t		n = 0;

			for (size_t c = 0; c < load.n_contexts; c++)
				if (load.context_values[c * F + f] >= 0)
				{
					value_of[n] = load.context_values[c * F + f];
					context_of[n] = (int32) c;
					n++;
				}
			n_values[f] = load.field_ids[f].count;
			build_csr(context, n_values[f], load.n_contexts, n, value_of, context_of,
					  NULL, &by_value[f]);
		}
		pfree(value_of);
		pfree(context_of);
	}
	data.n_fields = F;
	data.n_contexts = load.n_contexts;
	data.n_items = load.items.count;
	data.n_values = n_values;
	data.values = load.context_values;
	data.by_context = &by_context;
	data.by_item = &by_item;
	data.by_value = by_value;
	/*
	 * The product model's later fields are pulled toward 1 as strongly as
	 * the mean first-field value (a user) is toward 0: their values occur
	 * in many contexts, and frequency scaling would pin them to 1 (each of
	 * their pairs informs them only through r_c ⊙ ψ, far weaker than a
	 * pair's weight in the mass counts).
	 */
	{
		double		values = (double) Max(n_values[0], 1);

		data.product_prior = ials_row_regularization(&config, (size_t) llround(load.nnz / values),
													 (size_t) llround(data.n_items * (data.n_contexts / values)));
	}

	fields = palloc(sizeof(float *) * F);
	for (int f = 0; f < F; f++)
		fields[f] = MemoryContextAllocHuge(context, sizeof(float) * Max(n_values[f], 1) * d);
	items = MemoryContextAllocHuge(context, sizeof(float) * data.n_items * d);
	phi = MemoryContextAllocHuge(context, sizeof(float) * data.n_contexts * d);
	item_gram = palloc(sizeof(float) * d * d);
	phi_gram = palloc(sizeof(float) * d * d);
	partials = MemoryContextAllocHuge(context, sizeof(float) * config.threads * d * d);
	scratch = MemoryContextAllocHuge(context, sizeof(float) * config.threads * context_scratch_floats(d));
	ials_scratch = MemoryContextAllocHuge(context, sizeof(float) * config.threads * ials_scratch_floats(&config));
	row_loss = MemoryContextAllocHuge(context, sizeof(double) * data.n_contexts);
	loss = palloc(sizeof(double) * Max(request->epochs, 1));
	MemoryContextSwitchTo(old);

	context_init(request->kind, &data, d, request->init_std, (uint64) request->seed, fields, items);

	clock_gettime(CLOCK_MONOTONIC, &train_start);
	progress_phase("training");
	for (int epoch = 0; epoch < request->epochs; epoch++)
	{
		struct timespec epoch_start;
		double		cubic = (double) d * d * d / 3.0;

		clock_gettime(CLOCK_MONOTONIC, &epoch_start);
		gramian(items, data.n_items, d, config.threads, item_gram, partials);
		/* each field's block with the others fixed (Algorithm 4) */
		for (int f = 0; f < F; f++)
			for (size_t begin = 0; begin < n_values[f];)
			{
				size_t		end = chunk_end(&by_value[f], begin, d,
											config.solver == IALS_SOLVER_CG ? 2.0 * d * d * (config.cg_steps + 2) : cubic);

				report_solve_failure(context_solve_field(&config, request->kind, &data, f, fields, items,
														 item_gram, begin, end, scratch));
				begin = end;
				CHECK_FOR_INTERRUPTS();
			}
		/* the items against the contexts' φ: iALS's own step */
		context_phi(request->kind, &data, (const float *const *) fields, d, phi);
		gramian(phi, data.n_contexts, d, config.threads, phi_gram, partials);
		for (size_t begin = 0; begin < data.n_items;)
		{
			size_t		end = chunk_end(&by_item, begin, d,
										config.solver == IALS_SOLVER_CG ? 2.0 * d * d * config.cg_steps : cubic);

			report_solve_failure(ials_solve_rows(&config, &by_item, phi, phi_gram, items, begin, end,
												 ials_scratch));
			begin = end;
			CHECK_FOR_INTERRUPTS();
		}
		gramian(items, data.n_items, d, config.threads, item_gram, partials);
		loss[epoch] = context_loss(&config, request->kind, &data, (const float *const *) fields, items,
								   phi, phi_gram, item_gram, row_loss);
		if (!isfinite(loss[epoch]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("training diverged at epoch %d", epoch + 1),
					 errhint("Increase regularization or lower alpha.")));
		if (!request->quiet)
			ereport(NOTICE,
					(errmsg("epoch %d/%d: loss %.6g, %.2f s", epoch + 1, request->epochs,
							loss[epoch], seconds_since(&epoch_start))));
		progress_epoch(epoch + 1, loss[epoch], NAN);
	}
	summary.train_seconds = seconds_since(&train_start);

	clock_gettime(CLOCK_MONOTONIC, &write_start);
	progress_phase("writing");
	model_write_context(target, F, tables, (const char *const *) request->columns, load.field_ids,
						(const float *const *) fields, &load.items, items, d);
	summary.source = load.source_name;
	summary.user_column = request->columns[0];
	summary.item_column = request->source.item_column;
	summary.weight_column = request->source.weight_column;
	summary.algorithm = "ials";
	summary.dims = d;
	summary.epochs = request->epochs;
	summary.params_json = params_json(request, &config, epsilon, tables, &load, data.product_prior);
	summary.validation = NULL;
	summary.best_epoch = 0;
	summary.n_users = (int64) load.n_contexts;
	summary.n_items = (int64) load.items.count;
	summary.n_interactions = (int64) load.nnz;
	summary.n_skipped_rows = load.skipped_rows;
	summary.loss = loss;
	summary.item_gramian = item_gram;
	summary.write_seconds = seconds_since(&write_start);
	summary.seconds = seconds_since(start);
	model_register(target, &summary);

	old = MemoryContextSwitchTo(caller);
	result = cstring_to_text(target->name);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(context);
	return result;
}
