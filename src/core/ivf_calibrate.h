/*
 * ivf_calibrate.h
 *		The number of lists a scan visits by default, measured on the data
 *		at build time.
 *
 * How many lists a scan must visit for a given recall depends on the data:
 * on generated sets of the benchmark's model, 24 lists of 2,828 gave
 * recall@20 0.97 at 128 dims, 64 of 4,000 at 64 dims, 48 of 1,127 on a
 * smaller set.  No share of the lists fits all (ipivf.h).  So the build
 * measures it: a few hundred rows held out of the k-means sample serve as
 * queries; their exact top k among all rows (their own row left out) is
 * gathered as the build assigns the rows to lists, with one sgemm per
 * batch; then, for each query, the lists are put in the scan's visiting
 * order and each neighbour's list gets its position.  The measure is the
 * fewest lists that hold a target share of all neighbours: the recall a
 * scan with that many probes gets on queries like these rows (the index
 * takes it only where it is below its fixed rule: ipivf_probes).  The
 * queries are held out of the sample k-means fits, because the fitted
 * points sit closer to their centroids than other rows do (queries drawn
 * from the sample asked for as many lists as the sample's size, not the
 * data, decided).
 */
#ifndef IREC_IVF_CALIBRATE_H
#define IREC_IVF_CALIBRATE_H

#include <stddef.h>
#include <stdint.h>

#include "ivf.h"

/* A row id that no query has: rows the truth must not count (dead rows). */
#define IVF_TRUTH_SKIP UINT64_MAX

/* A query id that no row has: a query that is not a row of the table. */
#define IVF_TRUTH_NO_ROW (UINT64_MAX - 1)

/* Rows scored per sgemm block, per thread. */
#define IVF_TRUTH_BLOCK 1024

/* Queries per thread task. */
#define IVF_TRUTH_QUERY_BLOCK 32

typedef struct IvfTruth
{
	IvfMetric	metric;
	int			dims;
	int			n_queries;
	int			k;
	int			threads;
	const float *queries;		/* n_queries × dims, as stored (the caller's) */
	const uint64_t *query_ids;	/* each query's own row, left out of its truth */
	float	   *best;			/* n_queries × k: per query a min-heap of scores */
	int32_t    *best_list;		/* the list of each */
	int		   *count;			/* per query: entries in its heap */
	float	   *scratch;		/* per thread: IVF_TRUTH_QUERY_BLOCK × IVF_TRUTH_BLOCK scores */
	float	   *row_norm;		/* per row of a batch: what the metric needs of it */
	size_t		row_norm_capacity;
} IvfTruth;

/* Bytes ivf_truth_init needs for n_queries queries, k neighbours each, a batch of up to max_rows rows. */
size_t		ivf_truth_bytes(int n_queries, int k, int threads, size_t max_rows);

/*
 * ivf_truth_init: an empty truth for n_queries queries (dims floats each,
 * kept by reference) under metric, k neighbours each, batches of up to
 * max_rows rows; memory of ivf_truth_bytes bytes.  L1 is not supported
 * (no sgemm computes it): the caller keeps its fixed rule.
 */
void		ivf_truth_init(IvfTruth *truth, IvfMetric metric, int dims, const float *queries,
						   const uint64_t *query_ids, int n_queries, int k, int threads,
						   size_t max_rows, void *memory);

/*
 * ivf_truth_add: n rows (as stored, n ≤ max_rows), their ids
 * (IVF_TRUTH_SKIP: not counted) and lists; each query keeps its k best by
 * the metric's order (inner product q·x, cosine q·x/‖x‖, L2 −‖q − x‖²).
 * Non-finite scores are not counted.
 */
void		ivf_truth_add(IvfTruth *truth, const float *x, const uint64_t *ids, const int32_t *lists,
						  size_t n);

/*
 * ivf_truth_probes: the fewest lists, in the scan's visiting order
 * (ivf_list_priority, per query), that hold at least `target` of all the
 * queries' neighbours; lists with no member have radius 0 and may be
 * visited like any other.  Returns 0 when fewer than min_queries queries
 * have k neighbours (too little to measure; a query with fewer counts
 * nothing).  *coverage, when not NULL, receives the share held.  poll,
 * when not NULL, is called between queries on the calling thread (the
 * backend checks for interrupts there: at 2,000 dims and 10,000 lists the
 * priorities alone are 10 GFLOP).
 */
int			ivf_truth_probes(const IvfTruth *truth, const float *centroids, const float *radius,
							 int n_lists, double target, int min_queries, double *coverage,
							 void (*poll) (void));

#endif							/* IREC_IVF_CALIBRATE_H */
