/*
 * ipivfutils.c
 *		Page and directory helpers of the ipivf index.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/relscan.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "core/vecmath.h"
#include "embedding.h"
#include "index/ipivf.h"

/*
 * ipivf_metric: the metric of the index's operator class, recognized by its
 * distance function (support function 1), which amvalidate also checks.
 */
IvfMetric
ipivf_metric(Relation index)
{
	Oid			proc = index_getprocid(index, 1, 1);
	char	   *name = get_func_name(proc);

	if (name == NULL)
		elog(ERROR, "ipivf: operator class has no distance function");
	if (strcmp(name, "embedding_negative_inner_product") == 0)
		return IVF_METRIC_IP;
	if (strcmp(name, "l2_distance") == 0)
		return IVF_METRIC_L2;
	if (strcmp(name, "cosine_distance") == 0)
		return IVF_METRIC_COSINE;
	if (strcmp(name, "l1_distance") == 0)
		return IVF_METRIC_L1;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ipivf does not support distance function %s", name),
			 errhint("Use the operator classes embedding_ip_ops, embedding_l2_ops, embedding_cosine_ops or embedding_l1_ops.")));
	return IVF_METRIC_IP;		/* not reached */
}

int
ipivf_lists_option(Relation index)
{
	IpivfOptions *options = (IpivfOptions *) index->rd_options;

	return options ? options->lists : 0;
}

/* Probes for a scan: the GUC when set, else the index's own default. */
int
ipivf_probes(Relation index, const IpivfMetaPageData *meta)
{
	IpivfOptions *options = (IpivfOptions *) index->rd_options;
	int			probes = irec_probes >= 0 ? irec_probes : options ? options->probes : -1;

	if (probes >= 0)
		return probes;
	/* automatic: what the build measured, else the fixed rule */
	if (meta->calibrated_probes > 0)
		return Min(meta->calibrated_probes, Max(meta->n_lists, 1));
	return ipivf_rule_probes(meta->n_lists);
}

/*
 * The fixed rule: a share of the lists, as recall at a given share of rows
 * read holds across index sizes, but never below IPIVF_MIN_AUTO_PROBES, as
 * small indexes have short lists.
 */
int
ipivf_rule_probes(int n_lists)
{
	return Max(IPIVF_MIN_AUTO_PROBES, (int) ceil(n_lists * IPIVF_AUTO_PROBES_SHARE));
}

void
ipivf_init_page(Page page, uint16 flags)
{
	ipivf_init_page_special(page, flags, sizeof(IpivfPageOpaqueData));
}

/* A page whose special space holds more than the opaque data (list data pages with filter values). */
void
ipivf_init_page_special(Page page, uint16 flags, Size special)
{
	IpivfPageOpaque opaque;

	PageInit(page, BLCKSZ, special);
	opaque = IpivfPageGetOpaque(page);
	opaque->next = InvalidBlockNumber;
	opaque->flags = flags;
	opaque->page_id = IPIVF_PAGE_ID;
}

/* A new page at the end of the relation, exclusively locked. */
Buffer
ipivf_new_buffer(Relation index, ForkNumber fork)
{
	bool		need_lock = !RELATION_IS_LOCAL(index);
	Buffer		buffer;

	if (need_lock)
		LockRelationForExtension(index, ExclusiveLock);
	buffer = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	if (need_lock)
		UnlockRelationForExtension(index, ExclusiveLock);
	return buffer;
}

void
ipivf_read_meta(Relation index, IpivfMetaPageData *meta)
{
	Buffer		buffer = ReadBuffer(index, IPIVF_METAPAGE_BLKNO);
	Page		page;

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buffer);
	*meta = *IpivfPageGetMeta(page);
	UnlockReleaseBuffer(buffer);
	if (meta->magic != IPIVF_MAGIC || meta->version < 1 || meta->version > IPIVF_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a valid ipivf index", RelationGetRelationName(index)),
				 errhint("REINDEX it.")));
}

/* The room IPIVF_MAX_DIMS promises: a directory entry and a data tuple fit a page. */
StaticAssertDecl(IPIVF_LIST_SIZE(IPIVF_MAX_DIMS) <=
				 BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IpivfPageOpaqueData)),
				 "an ipivf list directory entry must fit a page");
StaticAssertDecl(MAXALIGN(Max(IPIVF_TUPLE_SIZE(IPIVF_MAX_DIMS), IPIVF_CODE_TUPLE_SIZE(IPIVF_MAX_DIMS))) + sizeof(ItemIdData) <=
				 BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IpivfPageOpaqueData)),
				 "an ipivf data tuple must fit a page");

int
ipivf_lists_per_page(int dims)
{
	Size		room = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IpivfPageOpaqueData));

	return (int) (room / IPIVF_LIST_SIZE(dims));
}

BlockNumber
ipivf_directory_block(const IpivfMetaPageData *meta, int list)
{
	return IPIVF_DIRECTORY_START + list / meta->lists_per_page;
}

int
ipivf_directory_slot(const IpivfMetaPageData *meta, int list)
{
	return list % meta->lists_per_page;
}

IpivfList *
ipivf_list_in_page(Page page, int slot, int dims)
{
	return (IpivfList *) (PageGetContents(page) + (Size) slot * IPIVF_LIST_SIZE(dims));
}

/*
 * ipivf_vector: the floats of an embedding, checked against the index's
 * dimensions (ERROR on a mismatch).  Lists store them as they are; for
 * cosine, clustering and bounds work on ipivf_list_geometry's x/‖x‖.
 */
const float *
ipivf_vector(Datum value, int dims)
{
	Embedding  *e = DatumGetEmbedding(value);

	if (e->dims != dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", dims, e->dims),
				 errhint("Every embedding in an ipivf index must have the index's dimensions.")));
	return e->x;
}

/* All directory entries, copied (n_lists × IPIVF_LIST_SIZE bytes). */
IpivfList *
ipivf_load_directory(Relation index, const IpivfMetaPageData *meta)
{
	Size		entry = IPIVF_LIST_SIZE(meta->dims);
	char	   *lists = palloc(entry * Max(meta->n_lists, 1));

	for (int first = 0; first < meta->n_lists; first += meta->lists_per_page)
	{
		Buffer		buffer = ReadBuffer(index, ipivf_directory_block(meta, first));
		int			count = Min(meta->lists_per_page, meta->n_lists - first);

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		memcpy(lists + entry * first, PageGetContents(BufferGetPage(buffer)), entry * count);
		UnlockReleaseBuffer(buffer);
	}
	return (IpivfList *) lists;
}
