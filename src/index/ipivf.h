/*
 * ipivf.h
 *		The ipivf index access method: inverted lists over embeddings for
 *		top-n queries by <#>, <->, <=> and <+> (DESIGN §6.2).
 *
 * Layout of an ipivf index:
 *
 *	 block 0		metapage: magic, version, dims, metric, number of lists,
 *					the largest norm M of the build (inner-product augmentation)
 *	 blocks 1..E	list directory: an array of IpivfList entries per page,
 *					each with its centroid, bounds and chain of data pages
 *	 other blocks	data pages of the lists, chained through the special
 *					space; one IpivfCodeTuple (heap TID + compact code with
 *					its error bound, core/ivf_code.h) per item (format 2
 *					and earlier: an IpivfTuple, heap TID + full vector);
 *					with, in an index with filter columns, the members'
 *					filter values in the page's special space (below);
 *					and one more chain, from the metapage, of the rows whose
 *					embedding is NULL (TID only), which scans return last,
 *					where ORDER BY puts NULL distances
 *
 * A list's bounds (radius around the centroid, largest member norm) only
 * grow, on insert; vacuum leaves them, so they stay valid supersets and the
 * scan's proof that no unvisited list can beat a candidate stays sound.
 *
 * Format 3 scans return rows in the order of their codes' bounds with
 * xs_recheckorderby set: the executor computes each row's exact distance
 * from the table and reorders, so rows come out in exact order while the
 * lists hold a quarter of the bytes.
 *
 * All changes after the build are WAL-logged with generic WAL; the build
 * writes its pages and then WAL-logs them all at once.
 */
#ifndef IREC_IPIVF_H
#define IREC_IPIVF_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/itup.h"
#include "nodes/pathnodes.h"
#include "storage/bufmgr.h"
#include "utils/relcache.h"

#include "core/ivf.h"
#include "core/ivf_code.h"

#define IPIVF_MAGIC 0x69766649	/* "Ifvi" */
/*
 * Version 2: cosine lists store the vectors as given (version 1 stored them
 * normalized, losing vectors whose float norm overflowed or underflowed), and
 * all bounds are taken in double and rounded up.  Version 1 indexes are read
 * and scanned; irec_index_check asks for a REINDEX, which the 0.2.0 update
 * script runs.
 */
#define IPIVF_VERSION 3
/*
 * Version 3: list members are compact codes (ivf_code.h), not full vectors;
 * the scan's distances are bounds that the executor rechecks.  Version 2
 * indexes are still scanned (exactly, from their vectors) and take inserts
 * in their own format; the 0.5.0 update script rebuilds them.
 */
#define IPIVF_FIRST_CODED_VERSION 3
#define IPIVF_METAPAGE_BLKNO 0
#define IPIVF_DIRECTORY_START 1

/*
 * Largest dimension an index entry can hold, pgvector's 2,000: one list
 * directory entry (20 bytes and a centroid of dims + 1 floats, 8,024 bytes at
 * 2,000 dims) and one data tuple (8,008 bytes and its line pointer) must
 * each fit the 8,160 bytes of a page; the layout allows 2,034.  Checked at
 * compile time in ipivfutils.c.
 */
#define IPIVF_MAX_DIMS 2000

/* Build phases shown in pg_stat_progress_create_index (2 and up: AM's own). */
#define IPIVF_PHASE_SAMPLE 2
#define IPIVF_PHASE_CLUSTER 3
#define IPIVF_PHASE_ASSIGN 4

/* Special space of every page. */
typedef struct IpivfPageOpaqueData
{
	BlockNumber next;			/* next data page of the list, or InvalidBlockNumber */
	uint16		flags;
	uint16		page_id;		/* IPIVF_PAGE_ID, for pg_filedump-style tools */
} IpivfPageOpaqueData;

typedef IpivfPageOpaqueData *IpivfPageOpaque;

#define IPIVF_PAGE_ID 0xFF97
#define IPIVF_META 1
#define IPIVF_DIRECTORY 2
#define IPIVF_DATA 4
#define IPIVF_RANGES 8

#define IpivfPageGetOpaque(page) ((IpivfPageOpaque) PageGetSpecialPointer(page))

typedef struct IpivfMetaPageData
{
	uint32		magic;
	uint32		version;
	int32		dims;			/* 0 until the first vector is known */
	int32		metric;			/* IvfMetric */
	int32		n_lists;
	int32		lists_per_page; /* directory entries per page */
	float		max_norm;		/* M of the augmentation, fixed at build */
	BlockNumber null_head;		/* chain of rows with a NULL embedding */
	/*
	 * The default probes the build chose from its measure
	 * (core/ivf_calibrate.h, ipivfbuild.c); 0 when it measured none (an
	 * index built before it, L1, too few rows): then the fixed rule below.
	 * Zero on the pages of older builds, which PageInit cleared, so no
	 * format change.
	 */
	int32		calibrated_probes;
	/*
	 * Page ranges kept per list (IpivfListPages, below), from block
	 * range_start on: 0 in an index without filter columns and in those
	 * built before page ranges (PageInit cleared the fields).
	 */
	int32		range_pages;
	BlockNumber range_start;
} IpivfMetaPageData;

typedef IpivfMetaPageData *IpivfMetaPage;

#define IpivfPageGetMeta(page) ((IpivfMetaPage) PageGetContents(page))

/* One list in the directory; followed by its centroid (dims + 1 floats). */
typedef struct IpivfList
{
	BlockNumber head;			/* first data page, or InvalidBlockNumber */
	BlockNumber insert_page;	/* where inserts try first */
	uint32		count;			/* items inserted (not decremented by vacuum) */
	float		radius;			/* max ‖x − c‖ over members ever inserted */
	float		max_norm;		/* max ‖x‖ over members ever inserted */
	float		centroid[FLEXIBLE_ARRAY_MEMBER];
} IpivfList;

#define IPIVF_LIST_SIZE(dims) MAXALIGN(offsetof(IpivfList, centroid) + sizeof(float) * IVF_CENTROID_FLOATS(dims))

/*
 * Page ranges.  In an index with filter columns the build sorts each list's
 * members by the first filter column (NULLs last), and an entry per list,
 * in pages of their own (from the metapage's range_start, apart from the
 * centroids so that scans without filter keys read no more than before),
 * lists the first range_pages pages of the list's chain with the
 * smallest and largest non-NULL value of that column on each.  A scan with
 * `first_column = v` reads only the pages whose range holds v, and knows
 * their blocks without walking the chain, so a list costs the pages that
 * can hold v rather than all of them.  Inserts widen the range of the page
 * they add to and append the pages they chain; vacuum leaves ranges as they
 * are (supersets stay valid).  A chain longer than range_pages continues
 * at `rest`, walked page by page.
 */
typedef struct IpivfPageRange
{
	BlockNumber block;
	uint32		unused;
	int64		min;			/* INT64_MAX and INT64_MIN: no non-NULL value */
	int64		max;
} IpivfPageRange;

typedef struct IpivfListPages
{
	int32		n;				/* the chain's first n pages */
	BlockNumber rest;			/* the chain's page after them, or InvalidBlockNumber */
	IpivfPageRange page[FLEXIBLE_ARRAY_MEMBER];
} IpivfListPages;

/*
 * Pages whose ranges a list keeps: twice the longest chain of the build,
 * so that lists can double by inserts before their pages past the ranges
 * are walked; at least IPIVF_MIN_RANGE_PAGES (also for an index whose first
 * list forms as rows arrive), at most what fits a page.
 */
#define IPIVF_MIN_RANGE_PAGES 16
#define IPIVF_MAX_RANGE_PAGES 320
#define IPIVF_LIST_PAGES_SIZE(n) MAXALIGN(offsetof(IpivfListPages, page) + sizeof(IpivfPageRange) * (n))

static inline void
ipivf_range_widen(IpivfPageRange *range, int64 value)
{
	range->min = Min(range->min, value);
	range->max = Max(range->max, value);
}

/* One indexed vector. */
typedef struct IpivfTuple
{
	ItemPointerData heap_tid;
	uint16		unused;			/* keeps x 4-byte aligned */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} IpivfTuple;

#define IPIVF_TUPLE_SIZE(dims) (offsetof(IpivfTuple, x) + sizeof(float) * (dims))

/* One indexed vector, format 3: its code.  A NULL row's entry is the TID alone. */
typedef struct IpivfCodeTuple
{
	ItemPointerData heap_tid;
	uint16		unused;			/* keeps the code 4-byte aligned */
	IvfCode		code;
} IpivfCodeTuple;

#define IPIVF_CODE_TUPLE_SIZE(dims) (offsetof(IpivfCodeTuple, code) + IVF_CODE_SIZE(dims))

/* The size of a list member's entry in an index of this format. */
#define IPIVF_ENTRY_SIZE(version, dims) \
	((version) >= IPIVF_FIRST_CODED_VERSION ? IPIVF_CODE_TUPLE_SIZE(dims) : IPIVF_TUPLE_SIZE(dims))

/*
 * Filter columns (0.15.0): integer key columns after the embedding,
 * CREATE INDEX ... USING ipivf (embedding, category).  A scan with
 * `category = c` skips the members that fail it inside the lists, before
 * their codes are read or scored, so a selective
 * filter costs about the lists it visits rather than the table rows the
 * executor would fetch and throw away.  The values sit apart from the codes,
 * in each list data page's special space after IpivfPageOpaqueData, so that
 * checking them reads a few cache lines per page: for the member at offset
 * o, value k is values[(o − 1) · n_filters + k] (int64, whatever the
 * column's integer type) and bit k of nulls[o − 1] says it is NULL.  A page
 * holds at most IpivfFilterLayout.capacity members.  The NULL chain stores
 * no values: the executor rechecks the rows a filtered scan returns from
 * it.  Indexes
 * without filter columns, and all of older versions, keep the plain special
 * space: their format is unchanged.
 */
#define IPIVF_MAX_FILTERS 8

typedef struct IpivfFilterLayout
{
	int			n_filters;		/* key columns after the embedding */
	int			capacity;		/* members a data page may hold (0: no filters) */
	Size		special;		/* the data pages' special size */
} IpivfFilterLayout;

static inline int64 *
ipivf_page_filter_values(Page page)
{
	return (int64 *) ((char *) PageGetSpecialPointer(page) + MAXALIGN(sizeof(IpivfPageOpaqueData)));
}

static inline uint8 *
ipivf_page_filter_nulls(Page page, const IpivfFilterLayout *layout)
{
	return (uint8 *) (ipivf_page_filter_values(page) + (Size) layout->capacity * layout->n_filters);
}

/* What a scan's filter keys allow (ipivffilter.c). */
typedef struct IpivfFilter
{
	int			n_keys;
	int			column[INDEX_MAX_KEYS];	/* 0-based filter column of each key */
	int64		value[INDEX_MAX_KEYS];	/* what the column must equal */
	bool		none;			/* some key is NULL: no row can pass */
} IpivfFilter;

/* Reloptions. */
typedef struct IpivfOptions
{
	int32		vl_len_;
	int			lists;			/* 0: √rows */
	int			probes;			/* default for irec.probes; 0 = exact, -1 = automatic */
} IpivfOptions;

/*
 * The probes option's default (-1): the build's measured count
 * (calibrated_probes) when it has one; else this share of the index's
 * lists, at least IPIVF_MIN_AUTO_PROBES.  On the 1M × 64 benchmark (4,000
 * lists) 64 lists, 1.6% of the rows, give recall@20 0.968
 * (ivf_list_priority's order); larger indexes keep the share.
 */
#define IPIVF_AUTO_PROBES_SHARE 0.015
#define IPIVF_MIN_AUTO_PROBES 64

/*
 * The build's calibration (core/ivf_calibrate.h): up to this many held-out
 * rows as queries, each row held out with this chance (so large tables
 * lose a negligible share of k-means's sample), their top
 * IPIVF_CALIBRATION_K, and the share of those neighbours the default
 * probes must reach; fewer than IPIVF_CALIBRATION_MIN_QUERIES usable
 * queries and the fixed rule stays.
 */
#define IPIVF_CALIBRATION_QUERIES 512
#define IPIVF_CALIBRATION_HOLDOUT (1.0 / 32.0)
#define IPIVF_CALIBRATION_FIRST 1024
#define IPIVF_CALIBRATION_K 20
#define IPIVF_CALIBRATION_TARGET 0.975
#define IPIVF_CALIBRATION_MIN_QUERIES 32

/* GUC irec.probes: -1 = the index's own setting, 0 = exact, N = approximate. */
extern int	irec_probes;

/* ipivf.c */
extern void ipivf_init(void);
extern IndexBuildResult *ipivfbuild(Relation heap, Relation index, struct IndexInfo *info);
extern void ipivfbuildempty(Relation index);
extern bool ipivfinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
						Relation heap, IndexUniqueCheck check_unique, bool index_unchanged,
						struct IndexInfo *info);
extern IndexBulkDeleteResult *ipivfbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
											  IndexBulkDeleteCallback callback, void *callback_state);
extern IndexBulkDeleteResult *ipivfvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);
extern IndexScanDesc ipivfbeginscan(Relation index, int nkeys, int norderbys);
extern void ipivfrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
extern bool ipivfgettuple(IndexScanDesc scan, ScanDirection dir);
extern void ipivfendscan(IndexScanDesc scan);

/* ipivfutils.c */
extern IvfMetric ipivf_metric(Relation index);
extern int	ipivf_probes(Relation index, const IpivfMetaPageData *meta);
extern int	ipivf_rule_probes(int n_lists);
extern int	ipivf_lists_option(Relation index);
extern void ipivf_init_page(Page page, uint16 flags);
extern void ipivf_init_page_special(Page page, uint16 flags, Size special);
extern Buffer ipivf_new_buffer(Relation index, ForkNumber fork);
extern void ipivf_read_meta(Relation index, IpivfMetaPageData *meta);
extern IpivfList *ipivf_list_in_page(Page page, int slot, int dims);
extern BlockNumber ipivf_directory_block(const IpivfMetaPageData *meta, int list);
extern int	ipivf_directory_slot(const IpivfMetaPageData *meta, int list);
extern int	ipivf_lists_per_page(int dims);
extern const float *ipivf_vector(Datum value, int dims);
extern IpivfList *ipivf_load_directory(Relation index, const IpivfMetaPageData *meta);
extern void ipivf_insert_null(Relation index, ItemPointer heap_tid);

/* ipivffilter.c */
extern const IpivfFilterLayout ipivf_no_filters;	/* the NULL chain's pages, indexes without filters */
extern bool ipivf_is_filter_type(Oid type);
extern void ipivf_check_columns(Relation index);
extern void ipivf_filter_layout(Relation index, int dims, IpivfFilterLayout *layout);
extern void ipivf_init_data_page(Page page, const IpivfFilterLayout *layout);
extern bool ipivf_data_page_has_room(Page page, Size size, const IpivfFilterLayout *layout);
extern void ipivf_filter_values(Relation index, const Datum *values, const bool *isnull,
								int64 *out, uint8 *nulls);
extern void ipivf_page_set_filters(Page page, OffsetNumber offset, const IpivfFilterLayout *layout,
								   const int64 *values, uint8 nulls);
extern void ipivf_page_delete_filters(Page page, const OffsetNumber *dead, int n_dead,
									  OffsetNumber max_before, const IpivfFilterLayout *layout);
extern void ipivf_filter_prepare(IpivfFilter *filter, ScanKey keys, int nkeys);
extern int	ipivf_filter_page(const IpivfFilter *filter, Page page, const IpivfFilterLayout *layout,
							  OffsetNumber max, OffsetNumber *matching);
extern int	ipivf_range_pages(Relation index, int longest_chain);
extern int	ipivf_ranges_per_page(int range_pages);
extern BlockNumber ipivf_range_block(const IpivfMetaPageData *meta, int list);
extern IpivfListPages *ipivf_list_pages_in_page(Page page, const IpivfMetaPageData *meta, int list);
extern void ipivf_list_pages_init(IpivfListPages *pages);
extern void ipivf_list_pages_add(IpivfListPages *pages, int range_pages, BlockNumber previous,
								 BlockNumber block);
extern IpivfPageRange *ipivf_list_pages_find(IpivfListPages *pages, BlockNumber block);
extern bool ipivf_filter_range_holds(const IpivfFilter *filter, const IpivfPageRange *range);

/* ipivfqueries.c */
extern int	ipivf_model_queries(Relation heap, int dims, float *queries, int capacity);

#endif							/* IREC_IPIVF_H */
