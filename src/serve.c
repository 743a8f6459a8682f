/*
 * serve.c
 *		Serving a trained model: irec_recommend, irec_similar_items,
 *		irec_fold_in and irec_recommend_for_items (DESIGN §6.1, §6.3).
 *
 * Exact top-n: every item of the model is scored once, read straight from
 * the items table's heap (through SPI instead when row-level security
 * applies), and the shared top-n heap keeps the best.  Excluded items are
 * removed after selection: selecting n + |excluded| candidates guarantees
 * that n remain.  Fold-in is the iALS user step for one row against the item
 * Gramian stored at training time, so it costs O(|items|·d² + d³), not a
 * pass over the catalogue.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "core/diversify.h"
#include "core/ials.h"
#include "core/pairwise.h"
#include "core/topn.h"
#include "core/vecmath.h"
#include "embedding.h"
#include "index/ipivf.h"
#include "irec.h"
#include "model.h"
#include "serve.h"

/* Largest n a caller may ask for: far beyond any catalogue a page shows. */
#define SERVE_MAX_N 100000

typedef struct Candidates
{
	Topn		topn;
	TopnEntry  *storage;
	Datum	   *ids;			/* id of each accepted candidate, by topn index */
	float	   *vectors;		/* its embedding, when diversifying (else NULL) */
	int			dims;
	size_t		n_ids;
	size_t		ids_capacity;
	int16		typlen;
	bool		typbyval;
} Candidates;

typedef struct ItemScorer
{
	const float *query;
	int			dims;
	bool		cosine;			/* score = cos(query, item) instead of ⟨query, item⟩ */
	float		query_norm;
	Candidates *out;
} ItemScorer;

static void
offer(ItemScorer *scorer, Datum id, const Embedding *e)
{
	Candidates *c = scorer->out;
	float		score;

	if (e->dims != scorer->dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("an item embedding has %d dimensions, not %d", e->dims, scorer->dims),
				 errhint("Retrain the model: its items table was changed after training.")));
	score = vec_dot(scorer->query, e->x, scorer->dims);
	if (scorer->cosine)
	{
		float		norm = sqrtf(vec_norm_squared(e->x, scorer->dims));

		score = norm > 0 && scorer->query_norm > 0 ? score / (norm * scorer->query_norm) : 0;
	}
	if (topn_threshold_rejects(&c->topn, score))
		return;
	if (c->n_ids == c->ids_capacity)
	{
		c->ids_capacity *= 2;
		c->ids = repalloc(c->ids, sizeof(Datum) * c->ids_capacity);
		if (c->vectors)
			c->vectors = repalloc_huge(c->vectors, sizeof(float) * c->ids_capacity * c->dims);
	}
	if (topn_push(&c->topn, score, (int64_t) c->n_ids))
	{
		if (c->vectors)
			memcpy(c->vectors + c->n_ids * c->dims, e->x, sizeof(float) * c->dims);
		c->ids[c->n_ids++] = datumCopy(id, c->typbyval, c->typlen);
	}
}

/*
 * items_have_index: whether the items table has a valid ipivf index for the
 * scorer's metric on its embedding column.
 */
static bool
items_have_index(const ModelInfo *model, IvfMetric metric)
{
	Relation	rel = table_open(model->items_relid, AccessShareLock);
	List	   *indexes = RelationGetIndexList(rel);
	Oid			am = get_index_am_oid("ipivf", true);
	AttrNumber	emb_att = get_attnum(model->items_relid, "embedding");
	ListCell   *cell;
	bool		found = false;

	foreach(cell, indexes)
	{
		Relation	index = index_open(lfirst_oid(cell), AccessShareLock);

		if (index->rd_rel->relam == am && index->rd_index->indisvalid &&
			index->rd_index->indnatts == 1 && index->rd_index->indkey.values[0] == emb_att &&
			ipivf_metric(index) == metric)
			found = true;
		index_close(index, AccessShareLock);
		if (found)
			break;
	}
	list_free(indexes);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * score_by_index: the best candidates through the items table's ipivf index
 * (ORDER BY ... LIMIT, as a user would write it), each rescored exactly.
 */
static void
score_by_index(const ModelInfo *model, ItemScorer *scorer)
{
	Embedding  *query = embedding_new(scorer->dims);
	char	   *sql;
	Datum		values[2];
	Oid			types[2] = {irec_embedding_type_oid(), INT8OID};

	memcpy(query->x, scorer->query, sizeof(float) * scorer->dims);
	sql = psprintf("SELECT item_id, embedding FROM %s ORDER BY embedding OPERATOR(%s.%s) $1 LIMIT $2",
				   model->items_table, quote_identifier(irec_extension_schema()),
				   scorer->cosine ? "<=>" : "<#>");
	values[0] = PointerGetDatum(query);
	values[1] = Int64GetDatum((int64) scorer->out->topn.capacity);
	if (SPI_execute_with_args(sql, 2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not query the items through their index");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		id_null;
		bool		emb_null;
		Datum		id = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &id_null);
		Datum		emb = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &emb_null);

		if (!id_null && !emb_null)
			offer(scorer, id, DatumGetEmbedding(emb));
	}
}

/*
 * score_items: offer every item of the model to the scorer.  With an ipivf
 * index on the items, the index picks the candidates; otherwise the heap is
 * read directly (after a SELECT privilege check) unless row-level security
 * applies to the items table, in which case the executor reads it.
 */
static void
score_items(const ModelInfo *model, ItemScorer *scorer)
{
	AclResult	acl = pg_class_aclcheck(model->items_relid, GetUserId(), ACL_SELECT);
	MemoryContext row_context = AllocSetContextCreate(CurrentMemoryContext, "irec scoring",
													  ALLOCSET_SMALL_SIZES);
	MemoryContext old;
	uint64		rows = 0;

	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(model->items_relid));
	if (items_have_index(model, scorer->cosine ? IVF_METRIC_COSINE : IVF_METRIC_IP))
		score_by_index(model, scorer);
	else if (check_enable_rls(model->items_relid, InvalidOid, false) == RLS_ENABLED)
	{
		char	   *sql = psprintf("SELECT item_id, embedding FROM %s", model->items_table);
		Portal		portal;
		SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);

		portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
		for (;;)
		{
			SPI_cursor_fetch(portal, true, 1000);
			if (SPI_processed == 0)
				break;
			for (uint64 r = 0; r < SPI_processed; r++)
			{
				bool		isnull;
				Datum		id = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
				Datum		emb = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);

				if (!isnull)
					offer(scorer, id, DatumGetEmbedding(emb));
			}
			SPI_freetuptable(SPI_tuptable);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);
	}
	else
	{
		Relation	rel = table_open(model->items_relid, AccessShareLock);
		TupleTableSlot *slot = table_slot_create(rel, NULL);
		TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
		AttrNumber	id_att = get_attnum(model->items_relid, "item_id");
		AttrNumber	emb_att = get_attnum(model->items_relid, "embedding");

		if (emb_att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("table %s has no embedding column", model->items_table),
					 errhint("Pass a table with a column named embedding of type embedding.")));
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;
			bool		id_null;
			Datum		emb = slot_getattr(slot, emb_att, &isnull);
			Datum		id = slot_getattr(slot, id_att, &id_null);

			if (!isnull && !id_null)
			{
				/* detoasting may copy: into a context reset now and then */
				old = MemoryContextSwitchTo(row_context);
				{
					Embedding  *e = DatumGetEmbedding(emb);

					MemoryContextSwitchTo(old);
					offer(scorer, id, e);
				}
			}
			if ((++rows & 1023) == 0)
			{
				MemoryContextReset(row_context);
				CHECK_FOR_INTERRUPTS();
			}
		}
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, AccessShareLock);
	}
	MemoryContextDelete(row_context);
}

/* dims > 0: keep each candidate's embedding too (for diversifying) */
static void
candidates_init(Candidates *c, Oid type, size_t capacity, int dims)
{
	c->storage = palloc(sizeof(TopnEntry) * Max(capacity, 1));
	topn_init(&c->topn, c->storage, capacity);
	c->ids_capacity = Max(capacity * 4, 64);
	c->ids = palloc(sizeof(Datum) * c->ids_capacity);
	c->dims = dims;
	c->vectors = dims > 0 ? MemoryContextAllocHuge(CurrentMemoryContext,
												   sizeof(float) * c->ids_capacity * dims) : NULL;
	c->n_ids = 0;
	get_typlenbyval(type, &c->typlen, &c->typbyval);
}

static int32
n_arg(FunctionCallInfo fcinfo, int arg)
{
	int32		n;

	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("n must not be NULL"),
				 errhint("Pass the number of recommendations wanted, like 20.")));
	n = PG_GETARG_INT32(arg);
	if (n < 1 || n > SERVE_MAX_N)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be between 1 and %d, not %d", SERVE_MAX_N, n),
				 errhint("n is the number of recommendations to return.")));
	return n;
}

/* Convert a datum between id types through their text forms (int4 ↔ int8 and the like). */
static Datum
convert_id(Datum value, Oid from, Oid to)
{
	Oid			output;
	Oid			input;
	Oid			ioparam;
	bool		varlena;
	char	   *text;

	if (from == to)
		return value;
	getTypeOutputInfo(from, &output, &varlena);
	text = OidOutputFunctionCall(output, value);
	getTypeInputInfo(to, &input, &ioparam);
	return OidInputFunctionCall(input, text, ioparam, -1);
}

typedef struct Exclusions
{
	Datum	   *ids;			/* of the model's item type */
	int			count;
	FmgrInfo   *eq;
} Exclusions;

static bool
excluded(const Exclusions *ex, Datum id)
{
	for (int k = 0; k < ex->count; k++)
		if (DatumGetBool(FunctionCall2Coll(ex->eq, DEFAULT_COLLATION_OID, ex->ids[k], id)))
			return true;
	return false;
}

static void
exclusions_init(Exclusions *ex, Oid item_type)
{
	TypeCacheEntry *tc = lookup_type_cache(item_type, TYPECACHE_EQ_OPR_FINFO);

	if (!OidIsValid(tc->eq_opr_finfo.fn_oid))
		elog(ERROR, "type %s has no equality operator", format_type_be(item_type));
	ex->eq = &tc->eq_opr_finfo;
	ex->ids = NULL;
	ex->count = 0;
}

/*
 * emit: the best n candidates that are not excluded, into the SRF's
 * tuplestore, with ids converted to the result column's type.  With
 * diversity > 0 the candidates left after exclusion (the pool) are
 * re-ranked by maximal marginal relevance first; scores stay the
 * relevance scores.
 */
static void
emit(FunctionCallInfo fcinfo, Candidates *c, const Exclusions *ex, int n,
	 Oid item_type, Oid result_type, double diversity)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	size_t	   *pool = palloc(sizeof(size_t) * Max(c->topn.count, 1));
	size_t		pool_size = 0;
	size_t	   *order = pool;
	size_t		count;

	topn_finish(&c->topn);
	for (size_t k = 0; k < c->topn.count; k++)
	{
		if (ex && excluded(ex, c->ids[c->topn.entries[k].index]))
			continue;
		pool[pool_size++] = k;
		if (diversity == 0 && pool_size == (size_t) n)
			break;
	}
	count = Min(pool_size, (size_t) n);
	if (diversity > 0 && pool_size > 0)
	{
		float	   *vectors = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * pool_size * c->dims);
		double	   *relevance = palloc(sizeof(double) * pool_size);
		double	   *scratch = palloc(sizeof(double) * 2 * pool_size);
		size_t	   *picked = palloc(sizeof(size_t) * count);

		for (size_t p = 0; p < pool_size; p++)
		{
			TopnEntry  *entry = &c->topn.entries[pool[p]];

			memcpy(vectors + p * c->dims, c->vectors + (size_t) entry->index * c->dims, sizeof(float) * c->dims);
			relevance[p] = entry->score;
		}
		count = mmr_select(vectors, pool_size, c->dims, relevance, diversity, count, picked, scratch);
		for (size_t p = 0; p < count; p++)
			picked[p] = pool[picked[p]];
		order = picked;
	}
	for (size_t p = 0; p < count; p++)
	{
		TopnEntry  *entry = &c->topn.entries[order[p]];
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = convert_id(c->ids[entry->index], item_type, result_type);
		values[1] = Float8GetDatum((double) entry->score);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* One embedding by id from a model table (user or item); NULL when absent. */
static Embedding *
lookup_embedding(const char *table, const char *id_column, Oid id_type, Datum id, Oid arg_type)
{
	char	   *sql = psprintf("SELECT embedding FROM %s WHERE %s = $1::%s",
							   table, id_column, format_type_be_qualified(id_type));
	Datum		values[1] = {id};
	Oid			types[1] = {arg_type};
	bool		isnull;

	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read %s", table);
	if (SPI_processed == 0)
		return NULL;
	return DatumGetEmbedding(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

static char *
model_arg(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be NULL"),
				 errhint("Pass the name of a trained model; SELECT name FROM irec_models lists them.")));
	return text_to_cstring(PG_GETARG_TEXT_PP(0));
}

/*
 * Diversified lists are picked from a pool of the best DIVERSITY_POOL_FACTOR·n
 * (at least DIVERSITY_POOL_MIN) candidates: wide enough to reach past a
 * run of near-duplicates, narrow enough to stay relevant.
 */
#define DIVERSITY_POOL_FACTOR 5
#define DIVERSITY_POOL_MIN 50

/*
 * rank_and_emit: score every model item against the query (inner product,
 * or cosine), and return the best n not in `ex` as the caller's result
 * rows, ids converted to result_type, diversified when diversity > 0.
 */
static void
rank_and_emit(FunctionCallInfo fcinfo, const ModelInfo *model, const float *query, int dims,
			  bool cosine, const Exclusions *ex, int n, Oid result_type, MemoryContext caller,
			  double diversity)
{
	Candidates	candidates;
	ItemScorer	scorer;
	MemoryContext old;
	size_t		wanted = diversity > 0 ? Max((size_t) n * DIVERSITY_POOL_FACTOR, DIVERSITY_POOL_MIN) : (size_t) n;

	candidates_init(&candidates, model->item_type, wanted + ex->count, diversity > 0 ? dims : 0);
	scorer.query = query;
	scorer.dims = dims;
	scorer.cosine = cosine;
	scorer.query_norm = cosine ? sqrtf(vec_norm_squared(query, dims)) : 0;
	scorer.out = &candidates;
	score_items(model, &scorer);
	old = MemoryContextSwitchTo(caller);
	emit(fcinfo, &candidates, ex, n, model->item_type, result_type, diversity);
	MemoryContextSwitchTo(old);
}

/* The diversity argument (0.7.0 on; 0 before): a number in [0, 1]. */
static double
diversity_arg(FunctionCallInfo fcinfo, int arg)
{
	double		diversity;

	if (PG_NARGS() <= arg)
		return 0;
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("diversity must not be NULL"),
				 errhint("Pass 0 for the plain top-n, up to 1 for the most varied list.")));
	diversity = PG_GETARG_FLOAT8(arg);
	if (!(diversity >= 0 && diversity <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("diversity must be between 0 and 1, not %g", diversity),
				 errhint("0 is the plain top-n; 0.2 to 0.5 mixes in less similar items.")));
	return diversity;
}

/*
 * irec_recommend(model, user, n, exclude_seen): the n items with the largest
 * inner product with the user's embedding, best first; with exclude_seen,
 * items the user has in the model's source table are skipped.  An unknown
 * user gives an empty result.  item_id comes back in the type of `user`.
 */
PG_FUNCTION_INFO_V1(irec_recommend);
Datum
irec_recommend(PG_FUNCTION_ARGS)
{
	ModelInfo	model;
	Oid			arg_type = get_fn_expr_argtype(fcinfo->flinfo, 1);
	int			n = n_arg(fcinfo, 2);
	bool		exclude_seen;
	double		diversity;
	Embedding  *user;
	Exclusions	ex;
	MemoryContext caller = CurrentMemoryContext;
	char	   *name = model_arg(fcinfo);
	int			path_level;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("exclude_seen must not be NULL"),
				 errhint("Pass true to skip items the user has already interacted with, false to keep them.")));
	exclude_seen = PG_GETARG_BOOL(3);
	diversity = diversity_arg(fcinfo, 4);
	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(1))
		return (Datum) 0;
	path_level = irec_restrict_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	model_lookup(name, &model);
	model_check_id_type(name, "user", arg_type, model.user_type);
	/* the items come back in the type of the user argument */
	if (!model_id_types_compatible(arg_type, model.item_type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model \"%s\" has item ids of type %s, which irec_recommend cannot return as %s",
						name, format_type_be(model.item_type), format_type_be(arg_type)),
				 errhint("irec_recommend returns item ids in the type of the user argument; "
						 "pass the user id as text to get them as text.")));
	user = lookup_embedding(model.users_table, "user_id", model.user_type, PG_GETARG_DATUM(1), arg_type);
	if (user == NULL)
	{
		SPI_finish();
		irec_restore_search_path(path_level);
		return (Datum) 0;
	}
	exclusions_init(&ex, model.item_type);
	if (exclude_seen)
	{
		char	   *sql = psprintf("SELECT DISTINCT s.%s::%s FROM %s s WHERE s.%s = $1::%s AND s.%s IS NOT NULL",
								   quote_identifier(model.item_column), format_type_be_qualified(model.item_type),
								   model.source, quote_identifier(model.user_column),
								   format_type_be_qualified(model.user_type),
								   quote_identifier(model.item_column));
		Datum		values[1] = {PG_GETARG_DATUM(1)};
		Oid			types[1] = {arg_type};
		int16		typlen;
		bool		typbyval;

		if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the items user has seen");
		get_typlenbyval(model.item_type, &typlen, &typbyval);
		ex.count = (int) SPI_processed;
		ex.ids = palloc(sizeof(Datum) * Max(ex.count, 1));
		for (int k = 0; k < ex.count; k++)
		{
			bool		isnull;

			ex.ids[k] = datumCopy(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &isnull),
								  typbyval, typlen);
		}
	}
	rank_and_emit(fcinfo, &model, user->x, user->dims, false, &ex, n, arg_type, caller, diversity);
	SPI_finish();
	irec_restore_search_path(path_level);
	return (Datum) 0;
}

/*
 * irec_similar_items(model, item, n): the n items whose embeddings have the
 * largest cosine similarity with the item's, the item itself left out.  An
 * unknown item gives an empty result.
 */
PG_FUNCTION_INFO_V1(irec_similar_items);
Datum
irec_similar_items(PG_FUNCTION_ARGS)
{
	ModelInfo	model;
	Oid			arg_type = get_fn_expr_argtype(fcinfo->flinfo, 1);
	int			n = n_arg(fcinfo, 2);
	Embedding  *item;
	Exclusions	ex;
	MemoryContext caller = CurrentMemoryContext;
	char	   *name = model_arg(fcinfo);
	int			path_level;
	double		diversity = diversity_arg(fcinfo, 3);

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(1))
		return (Datum) 0;
	path_level = irec_restrict_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	model_lookup_any(name, &model);
	model_check_id_type(name, "item", arg_type, model.item_type);
	item = lookup_embedding(model.items_table, "item_id", model.item_type, PG_GETARG_DATUM(1), arg_type);
	if (item == NULL)
	{
		SPI_finish();
		irec_restore_search_path(path_level);
		return (Datum) 0;
	}
	exclusions_init(&ex, model.item_type);
	ex.count = 1;
	ex.ids = palloc(sizeof(Datum));
	ex.ids[0] = convert_id(PG_GETARG_DATUM(1), arg_type, model.item_type);
	rank_and_emit(fcinfo, &model, item->x, item->dims, true, &ex, n, arg_type, caller, diversity);
	SPI_finish();
	irec_restore_search_path(path_level);
	return (Datum) 0;
}

/* Σ of the model's item embeddings (in double, as training sums them). */
static float *
item_embedding_sum(const ModelInfo *model)
{
	int			d = model->dims;
	double	   *total = palloc0(sizeof(double) * d);
	float	   *sum = palloc(sizeof(float) * d);
	char	   *sql = psprintf("SELECT embedding FROM %s WHERE embedding IS NOT NULL", model->items_table);

	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the item embeddings");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		Embedding  *e = DatumGetEmbedding(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));

		if (e->dims != d)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("an item embedding has %d dimensions, not %d", e->dims, d),
					 errhint("Retrain the model: its items table was changed after training.")));
		for (int k = 0; k < d; k++)
			total[k] += e->x[k];
		if ((r & 1023) == 1023)
			CHECK_FOR_INTERRUPTS();
	}
	for (int k = 0; k < d; k++)
		sum[k] = (float) total[k];
	SPI_freetuptable(SPI_tuptable);
	return sum;
}

/*
 * fold_in: the embedding the iALS user step gives a user with these
 * interactions (DESIGN §6.3): solve
 *	 (α0·G + Σ(α−α0)·ψψᵀ + λ_c·I)·x = Σ α·ψ
 * against the stored item Gramian G (for the pairwise square loss, its own
 * user step, pairwise.h).  Duplicate items add their weights;
 * items the model does not know are ignored.  Returns false when none is
 * known.  Also returns the known item ids (model type) for exclusion.
 */
int
fold_in_gather(const ModelInfo *model, Datum items, Oid array_type, Datum weights, bool has_weights,
			   float **gathered_out, float **alpha_out)
{
	char	   *sql;
	Datum		values[2];
	Oid			types[2] = {array_type, FLOAT4ARRAYOID};
	float	   *alpha;
	float	   *gathered;
	int			d = model->dims;
	int			count;

	sql = psprintf("SELECT i.item_id, i.embedding, w.weight FROM "
				   "(SELECT u.id, pg_catalog.sum(u.weight)::float8 AS weight "
				   " FROM ROWS FROM (pg_catalog.unnest($1::%s[]), pg_catalog.unnest($2)) AS u(id, weight) GROUP BY u.id) w "
				   "JOIN %s i ON i.item_id = w.id ORDER BY i.item_id",
				   format_type_be_qualified(model->item_type), model->items_table);
	values[0] = items;
	values[1] = weights;
	if (!has_weights)
	{
		/* each occurrence weighs 1, as each row does in training */
		ArrayType  *a = DatumGetArrayTypeP(items);
		int			nitems = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
		Datum	   *ones = palloc(sizeof(Datum) * Max(nitems, 1));

		for (int k = 0; k < nitems; k++)
			ones[k] = Float4GetDatum(1.0f);
		values[1] = PointerGetDatum(construct_array(ones, nitems, FLOAT4OID, 4, true, TYPALIGN_INT));
	}
	if (SPI_execute_with_args(sql, 2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the items to fold in");
	count = (int) SPI_processed;
	alpha = palloc(sizeof(float) * Max(count, 1));
	gathered = palloc(sizeof(float) * Max(count, 1) * d);
	for (int k = 0; k < count; k++)
	{
		bool		isnull;
		HeapTuple	tuple = SPI_tuptable->vals[k];
		Embedding  *e = DatumGetEmbedding(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 2, &isnull));
		double		w = DatumGetFloat8(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 3, &isnull));

		if (e->dims != d)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("an item embedding has %d dimensions, not %d", e->dims, d),
					 errhint("Retrain the model: its items table was changed after training.")));
		memcpy(gathered + (size_t) k * d, e->x, sizeof(float) * d);
		/* the model's confidence, as irec_train computed it */
		alpha[k] = (float) (model->log_confidence
							? 1.0 + model->alpha * log1p(w / model->epsilon)
							: 1.0 + model->alpha * w);
	}
	*gathered_out = gathered;
	*alpha_out = alpha;
	return count;
}

static bool
fold_in(const ModelInfo *model, Datum items, Oid array_type, Datum weights, bool has_weights,
		float *x, Exclusions *ex)
{
	IalsConfig	config;
	CsrMatrix	row;
	size_t		row_start[2];
	int32	   *col;
	float	   *alpha;
	float	   *gathered;
	float	   *gram;
	float	   *scratch;
	int			d = model->dims;
	int			count;
	int16		typlen;
	bool		typbyval;

	count = fold_in_gather(model, items, array_type, weights, has_weights, &gathered, &alpha);
	if (ex)
	{
		bool		isnull;

		get_typlenbyval(model->item_type, &typlen, &typbyval);
		ex->count = count;
		ex->ids = palloc(sizeof(Datum) * Max(count, 1));
		for (int k = 0; k < count; k++)
			ex->ids[k] = datumCopy(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &isnull),
								   typbyval, typlen);
	}
	if (count == 0)
		return false;
	col = palloc(sizeof(int32) * count);
	for (int k = 0; k < count; k++)
		col[k] = k;
	gram = model_item_gramian(model);
	config.dims = d;
	config.regularization = model->regularization;
	config.regularization_exponent = model->regularization_exponent;
	config.unobserved_weight = model->unobserved_weight;
	config.solver = IALS_SOLVER_CHOLESKY;
	config.cg_steps = 0;
	config.threads = 1;
	/* one CSR row whose columns index the gathered embeddings; n_cols is |I| for λ_c */
	row_start[0] = 0;
	row_start[1] = count;
	row.n_rows = 1;
	row.n_cols = (size_t) model->n_items;
	row.nnz = count;
	row.row_start = row_start;
	row.col = col;
	row.value = alpha;
	if (strcmp(model->loss, "pairwise_square") == 0)
	{
		/* the pairwise square loss's user step (pairwise.h) needs z = Σψ too */
		float	   *item_sum = item_embedding_sum(model);

		/*
		 * Gramian SGD adds λ·x once per positive: the row's weight is λ·|I_c|
		 * (iALS models keep their own λ_c)
		 */
		if (strcmp(model->algorithm, "ials") != 0)
		{
			config.unobserved_weight = 0.0;
			config.regularization_exponent = 1.0;
		}

		scratch = palloc(sizeof(float) * pairwise_scratch_floats(&config));
		if (pairwise_solve_users(&config, &row, gathered, gram, item_sum, x, 0, 1, scratch) != IALS_OK)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("fold-in failed: the system is not positive definite"),
					 errhint("Train the model with a larger regularization.")));
		return true;
	}
	scratch = palloc(sizeof(float) * ials_scratch_floats(&config));
	if (ials_solve_rows(&config, &row, gathered, gram, x, 0, 1, scratch) != IALS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("fold-in failed: the system is not positive definite"),
				 errhint("Train the model with a larger regularization.")));
	return true;
}

/* Validate the items/weights arrays of the fold-in functions. */
void
check_fold_in_args(FunctionCallInfo fcinfo, int items_arg, int weights_arg)
{
	ArrayType  *items;
	int			n_items;

	if (PG_ARGISNULL(items_arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("items must not be NULL"),
				 errhint("Pass the items the new user interacted with, like ARRAY[3, 17, 42].")));
	items = PG_GETARG_ARRAYTYPE_P(items_arg);
	if (ARR_NDIM(items) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("items must be a one-dimensional array"),
				 errhint("Pass the items as a flat array, like ARRAY[3, 17, 42].")));
	if (array_contains_nulls(items))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("items must not contain NULL"),
				 errhint("Remove NULL elements, for example with array_remove(items, NULL).")));
	n_items = ArrayGetNItems(ARR_NDIM(items), ARR_DIMS(items));
	if (!PG_ARGISNULL(weights_arg))
	{
		ArrayType  *weights = PG_GETARG_ARRAYTYPE_P(weights_arg);
		float	   *w = (float *) ARR_DATA_PTR(weights);
		int			n_weights = ArrayGetNItems(ARR_NDIM(weights), ARR_DIMS(weights));

		if (ARR_NDIM(weights) > 1 || array_contains_nulls(weights) || n_weights != n_items)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weights must be a one-dimensional array without NULLs, one per item"),
					 errhint("Pass %d weights, or leave weights out to weigh each item 1.", n_items)));
		for (int k = 0; k < n_weights; k++)
			if (!isfinite(w[k]) || w[k] < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("weight %g of item %d is not a finite, non-negative number", w[k], k + 1),
						 errhint("Weights have the meaning of the training weight column, like play counts.")));
	}
}

/* irec_fold_in(model, items anyarray, weights real[]) returns embedding */
PG_FUNCTION_INFO_V1(irec_fold_in);
Datum
irec_fold_in(PG_FUNCTION_ARGS)
{
	ModelInfo	model;
	Embedding  *result = NULL;
	float	   *x;
	MemoryContext caller = CurrentMemoryContext;
	char	   *name = model_arg(fcinfo);
	int			path_level;
	bool		known;

	check_fold_in_args(fcinfo, 1, 2);
	path_level = irec_restrict_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	model_lookup(name, &model);
	model_check_id_type(name, "item", get_element_type(get_fn_expr_argtype(fcinfo->flinfo, 1)), model.item_type);
	x = palloc0(sizeof(float) * model.dims);
	known = fold_in(&model, PG_GETARG_DATUM(1), get_fn_expr_argtype(fcinfo->flinfo, 1),
					PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), !PG_ARGISNULL(2), x, NULL);
	if (known)
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		result = embedding_new(model.dims);
		memcpy(result->x, x, sizeof(float) * model.dims);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	irec_restore_search_path(path_level);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_EMBEDDING(result);
}

/*
 * irec_recommend_for_items(model, items anyarray, n, weights): recommendations
 * for an anonymous session: fold the items in, rank every other item.
 */
PG_FUNCTION_INFO_V1(irec_recommend_for_items);
Datum
irec_recommend_for_items(PG_FUNCTION_ARGS)
{
	ModelInfo	model;
	Oid			array_type = get_fn_expr_argtype(fcinfo->flinfo, 1);
	Oid			elem_type = get_element_type(array_type);
	int			n = n_arg(fcinfo, 2);
	float	   *x;
	Exclusions	ex;
	MemoryContext caller = CurrentMemoryContext;
	char	   *name = model_arg(fcinfo);
	int			path_level;

	double		diversity = diversity_arg(fcinfo, 4);

	check_fold_in_args(fcinfo, 1, 3);
	InitMaterializedSRF(fcinfo, 0);
	path_level = irec_restrict_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	model_lookup_any(name, &model);
	model_check_id_type(name, "item", elem_type, model.item_type);
	x = palloc0(sizeof(float) * model.dims);
	exclusions_init(&ex, model.item_type);
	if (!fold_in(&model, PG_GETARG_DATUM(1), array_type,
				 PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), !PG_ARGISNULL(3), x, &ex))
	{
		SPI_finish();
		irec_restore_search_path(path_level);
		return (Datum) 0;
	}
	rank_and_emit(fcinfo, &model, x, model.dims, false, &ex, n, elem_type, caller, diversity);
	SPI_finish();
	irec_restore_search_path(path_level);
	return (Datum) 0;
}
