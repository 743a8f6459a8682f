/*
 * irec.c
 *		Module entry point and helpers shared by the glue: GUCs, the
 *		extension's schema, memory bound, thread count.
 */
#include "postgres.h"

#include <cblas.h>
#include <sys/mman.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "core/parallel.h"
#include "index/ipivf.h"
#include "irec.h"
#include "progress.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			irec_max_training_memory_mb = 4096;

/*
 * _PG_init: BLAS runs single-threaded inside a backend (DESIGN: every backend
 * would otherwise start its own pool); our own threads give the parallelism.
 */
void
_PG_init(void)
{
	openblas_set_num_threads(1);

	DefineCustomIntVariable("irec.max_training_memory",
							"Largest amount of memory one training or evaluation may use.",
							"Checked before allocating; the work stops with an error when it would need more.",
							&irec_max_training_memory_mb,
							4096, 16, INT_MAX / 2,
							PGC_USERSET, GUC_UNIT_MB,
							NULL, NULL, NULL);
	ipivf_init();
	progress_init();
	MarkGUCPrefixReserved("irec");
}

/* Namespace OID of the installed extension (PostgreSQL 15 has no helper). */
static Oid
extension_namespace(void)
{
	Oid			ext = get_extension_oid("irec", false);
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			nsp = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(ext));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		nsp = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(nsp))
		elog(ERROR, "extension irec has no schema");
	return nsp;
}

char *
irec_extension_schema(void)
{
	return get_namespace_name(extension_namespace());
}

Oid
irec_embedding_type_oid(void)
{
	Oid			nsp = extension_namespace();
	Oid			type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
									   CStringGetDatum("embedding"),
									   ObjectIdGetDatum(nsp));

	if (!OidIsValid(type))
		elog(ERROR, "type embedding of extension irec not found");
	return type;
}

void
irec_check_memory(double bytes, const char *what)
{
	double		limit = (double) irec_max_training_memory_mb * 1024.0 * 1024.0;

	if (bytes > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s would need about %.0f MB, more than irec.max_training_memory (%d MB)",
						what, bytes / (1024.0 * 1024.0), irec_max_training_memory_mb),
				 errhint("Raise irec.max_training_memory if the server has the memory, or reduce dims or the data.")));
}

/* x86-64's and arm64's transparent huge page */
#define HUGE_PAGE_BYTES ((uintptr_t) 2 * 1024 * 1024)

static void
advise_huge_pages(void *pointer, Size bytes)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	start = ((uintptr_t) pointer + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
	uintptr_t	end = ((uintptr_t) pointer + bytes) & ~(HUGE_PAGE_BYTES - 1);

	/* advice only: a kernel without THP, or with it off, says no, and that is fine */
	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

void *
irec_alloc_large(MemoryContext context, Size bytes)
{
	void	   *pointer = MemoryContextAllocHuge(context, bytes);

	advise_huge_pages(pointer, bytes);
	return pointer;
}

void *
irec_realloc_large(void *pointer, Size bytes)
{
	pointer = repalloc_huge(pointer, bytes);
	advise_huge_pages(pointer, bytes);
	return pointer;
}

Datum
irec_datum_copy_detoasted(Datum value, bool typbyval, int16 typlen)
{
	if (typlen == -1)
	{
		struct varlena *original = (struct varlena *) DatumGetPointer(value);
		struct varlena *plain = pg_detoast_datum_packed(original);

		/* a compressed or external value came back as a new copy */
		if (plain != original)
			return PointerGetDatum(plain);
	}
	return datumCopy(value, typbyval, typlen);
}

int
irec_restrict_search_path(void)
{
	int			level = NewGUCNestLevel();
	char	   *path = psprintf("pg_catalog, %s, pg_temp", quote_identifier(irec_extension_schema()));

	(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

void
irec_restore_search_path(int level)
{
	AtEOXact_GUC(true, level);
}

int
irec_thread_count(int requested)
{
	return requested > 0 ? requested : parallel_cpu_count();
}
