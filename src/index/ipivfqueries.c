/*
 * ipivfqueries.c
 *		The queries an ipivf build measures its default probes on, when the
 *		table is an irec model's items: the model's users.
 *
 * A build measures the lists its scans need on sample queries
 * (core/ivf_calibrate.h).  Rows held out of the table stand for the
 * queries where nothing better is known; on a trained model they ask for
 * 3 to 8 times the lists its users need (docs/ipivf.md), because many item
 * vectors, the rarely seen ones, point anywhere, while users lie where the
 * popular items are.  When the indexed table is the items table of a model
 * in irec's registry, its users are the queries the index will serve: the
 * build then samples them instead, and the default is what they need.
 *
 * Only what the caller may read is read: the registry and the users table
 * need SELECT, a users table under row-level security is left alone, and
 * anything missing or of another shape (no embedding column, other dims)
 * means no model queries.  No error escapes: the build goes on with held-out
 * rows.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/varlena.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "core/rng.h"
#include "core/vecmath.h"
#include "embedding.h"
#include "index/ipivf.h"
#include "irec.h"

/*
 * A relation named by a qualified name as the registry stores it
 * (quote_qualified_identifier), or InvalidOid: a malformed name, a schema
 * the caller may not use, a table that is gone.  Never an error (to_regclass
 * and RangeVarGetRelid raise one for a schema without USAGE).
 */
static Oid
lookup_qualified(const char *qualified)
{
	char	   *copy = pstrdup(qualified);
	List	   *names = NIL;
	Oid			namespace;

	if (!SplitIdentifierString(copy, '.', &names) || list_length(names) != 2)
		return InvalidOid;
	namespace = get_namespace_oid((char *) linitial(names), true);
	if (!OidIsValid(namespace) || pg_namespace_aclcheck(namespace, GetUserId(), ACL_USAGE) != ACLCHECK_OK)
		return InvalidOid;
	return get_relname_relid((char *) lsecond(names), namespace);
}

/* The users table of the model whose items table is `items`, or InvalidOid. */
static Oid
model_users_table(Relation items)
{
	const char *schema = irec_extension_schema();
	Oid			namespace = schema ? get_namespace_oid(schema, true) : InvalidOid;
	Oid			registry = OidIsValid(namespace) ? get_relname_relid("irec_models", namespace) : InvalidOid;
	char	   *items_namespace = get_namespace_name(RelationGetNamespace(items));
	char	   *users_name = NULL;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	MemoryContext caller = CurrentMemoryContext;

	if (!OidIsValid(registry) || items_namespace == NULL ||
		pg_namespace_aclcheck(namespace, GetUserId(), ACL_USAGE) != ACLCHECK_OK ||
		pg_class_aclcheck(registry, GetUserId(), ACL_SELECT) != ACLCHECK_OK || !ActiveSnapshotSet())
		return InvalidOid;
	/* the registry names a model's tables as quote_qualified_identifier does */
	values[0] = CStringGetTextDatum(quote_qualified_identifier(items_namespace, RelationGetRelationName(items)));
	if (SPI_connect() != SPI_OK_CONNECT)
		return InvalidOid;
	if (SPI_execute_with_args(psprintf("SELECT users_table FROM %s.irec_models WHERE items_table = $1 LIMIT 2",
									   quote_identifier(schema)),
							  1, types, values, NULL, true, 2) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		/* out of SPI's memory, which SPI_finish frees */
		if (name != NULL)
			users_name = MemoryContextStrdup(caller, name);
	}
	SPI_finish();
	return users_name ? lookup_qualified(users_name) : InvalidOid;
}

/*
 * ipivf_model_queries: up to capacity embeddings of `dims` dimensions
 * sampled (a reservoir, seeded) from the users of the irec model whose
 * items table is `heap`, into queries (capacity × dims); returns how many,
 * 0 when the table is not a model's items or its users cannot be read.
 */
int
ipivf_model_queries(Relation heap, int dims, float *queries, int capacity)
{
	Oid			users_oid = model_users_table(heap);
	Relation	users;
	AttrNumber	attnum;
	TableScanDesc scan;
	TupleTableSlot *slot;
	Rng			rng;
	double		seen = 0;
	size_t		n = 0;
	MemoryContext row_context;
	MemoryContext old;

	if (!OidIsValid(users_oid) || users_oid == RelationGetRelid(heap) ||
		pg_class_aclcheck(users_oid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		check_enable_rls(users_oid, InvalidOid, true) == RLS_ENABLED)
		return 0;
	users = table_open(users_oid, AccessShareLock);
	attnum = get_attnum(users_oid, "embedding");
	if (users->rd_rel->relkind != RELKIND_RELATION || attnum == InvalidAttrNumber ||
		TupleDescAttr(RelationGetDescr(users), attnum - 1)->atttypid != irec_embedding_type_oid())
	{
		table_close(users, AccessShareLock);
		return 0;
	}
	rng_seed(&rng, 42, 2);
	/* each row's detoasted copy, if any, goes with it */
	row_context = AllocSetContextCreate(CurrentMemoryContext, "ipivf model queries", ALLOCSET_SMALL_SIZES);
	slot = table_slot_create(users, NULL);
	scan = table_beginscan(users, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		value = slot_getattr(slot, attnum, &isnull);
		Embedding  *e;
		size_t		at;

		CHECK_FOR_INTERRUPTS();
		if (isnull)
			continue;
		MemoryContextReset(row_context);
		old = MemoryContextSwitchTo(row_context);
		e = DatumGetEmbedding(value);
		MemoryContextSwitchTo(old);
		if (e->dims != dims || !vec_all_finite(e->x, dims))
			continue;
		seen++;
		at = rng_reservoir_slot(&rng, seen, (size_t) capacity, &n);
		if (at != SIZE_MAX)
			memcpy(queries + at * dims, e->x, sizeof(float) * dims);
	}
	MemoryContextDelete(row_context);
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(users, AccessShareLock);
	return (int) n;
}
