/*
 * irec.h
 *		Declarations shared by the PostgreSQL glue files.
 */
#ifndef IREC_IREC_H
#define IREC_IREC_H

#include "postgres.h"

/* GUC irec.max_training_memory, in megabytes (see irec.c). */
extern int	irec_max_training_memory_mb;

/* Schema the extension is installed in (palloc'd, unquoted). */
extern char *irec_extension_schema(void);

/* OID of the embedding type. */
extern Oid	irec_embedding_type_oid(void);

/*
 * irec_check_memory: ERROR with a hint, before allocating, when `bytes`
 * would exceed irec.max_training_memory.  `what` names the work.
 */
extern void irec_check_memory(double bytes, const char *what);

/*
 * irec_restrict_search_path: until irec_restore_search_path(level), resolve
 * unqualified names in irec's dynamic SQL in pg_catalog, then irec's own
 * schema, then pg_temp only, whatever the caller's search_path holds, so
 * that objects planted in other schemas cannot take over irec's queries.
 * User relations are always passed as qualified, quoted names.
 */
extern int	irec_restrict_search_path(void);
extern void irec_restore_search_path(int level);

/*
 * irec_alloc_large: MemoryContextAllocHuge, with the 2 MB-aligned middle of
 * the chunk offered to the kernel for transparent huge pages
 * (madvise).  For the loaders' and trainers' arrays of
 * megabytes: each 4 kB page's first touch is a fault, costly under
 * virtualization (a quarter of loading a million rows), and rows read
 * at random (the other side's embeddings in a half-step) miss the TLB
 * less.  Where the kernel does not offer them it is a plain allocation.
 */
extern void *irec_alloc_large(MemoryContext context, Size bytes);
extern void *irec_realloc_large(void *pointer, Size bytes);

/*
 * irec_datum_copy_detoasted: datumCopy, but a varlena comes out whole and in
 * line: a value read from a table may be a pointer into that table's TOAST
 * relation, and a model's tables must not point into their source's.
 */
extern Datum irec_datum_copy_detoasted(Datum value, bool typbyval, int16 typlen);

/* Number of threads for heavy work: `requested`, or all cores when 0. */
extern int	irec_thread_count(int requested);

#endif							/* IREC_IREC_H */
