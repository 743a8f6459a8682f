/*
 * ivf.h
 *		Clustering and bounds for the top-n index (DESIGN §6.2): inverted
 *		lists from k-means, made aware of the metric.
 *
 * Inner product: k-means runs on vectors augmented with one coordinate,
 * x̃ = [x, √(M² − ‖x‖²)] (M the largest norm), which turns maximum inner
 * product into nearest neighbour in L2 (Bachrach et al. 2014), so lists group
 * vectors that win for similar queries.  Cosine: vectors are normalized first
 * and clustered plainly.  L2: plain k-means.
 *
 * Every list keeps its centroid c, radius r = max ‖x − c‖ and largest norm
 * over its members; they give, for any query q, a bound on what any member
 * can score (score = q·x for inner product and cosine, −‖q − x‖ for L2):
 *	 q·x ≤ min(q·c + ‖q‖·r, ‖q‖·max‖x‖),	−‖q − x‖ ≤ −max(0, ‖q − c‖ − r).
 * The scan visits lists by that bound and can prove when no unvisited list
 * can still beat a candidate.
 */
#ifndef IREC_IVF_H
#define IREC_IVF_H

#include <stddef.h>
#include <stdint.h>

typedef enum IvfMetric
{
	IVF_METRIC_IP = 1,			/* <#> */
	IVF_METRIC_L2 = 2,			/* <-> */
	IVF_METRIC_COSINE = 3		/* <=>: stored normalized, scored by inner product */
} IvfMetric;

/* Floats per centroid: dims, plus the augmented coordinate. */
#define IVF_CENTROID_FLOATS(dims) ((size_t) (dims) + 1)

/* Bytes of scratch ivf_kmeans needs. */
size_t		ivf_kmeans_scratch_bytes(size_t n, int dims, int k, int threads);

/*
 * ivf_kmeans: k centroids (k × IVF_CENTROID_FLOATS(dims), row-major) from n
 * vectors (cosine: already normalized), Lloyd iterations seeded
 * deterministically.  *max_norm receives M, the largest norm seen, which
 * ivf_assign needs for the inner-product augmentation.  Empty clusters are
 * re-seeded with the point farthest from its centroid.  Returns 0.
 */
int			ivf_kmeans(const float *x, size_t n, int dims, int k, int iterations,
					   IvfMetric metric, uint64_t seed, int threads,
					   float *centroids, float *max_norm, void *scratch);

/* Bytes of scratch ivf_assign needs. */
size_t		ivf_assign_scratch_bytes(int k, int dims, int threads);

/*
 * ivf_assign: the list of each of n vectors: nearest centroid in the
 * (augmented, for inner product) L2 sense.  out gets n list numbers.
 */
void		ivf_assign(const float *centroids, int k, int dims, IvfMetric metric,
					   float max_norm, const float *x, size_t n, int32_t *out,
					   int threads, void *scratch);

/* Upper bound on the score of any member of a list, for query q with norm ‖q‖. */
float		ivf_list_bound(IvfMetric metric, const float *q, float q_norm,
						   const float *centroid, int dims, float radius,
						   float max_norm);

/*
 * ivf_list_priority: how promising a list is for query q (higher first), by
 * the geometry the lists were clustered in: for inner product, closeness of
 * the query scaled to norm M, [q·M/‖q‖, 0], to the augmented centroid.
 */
float		ivf_list_priority(IvfMetric metric, const float *q, float q_norm,
							  const float *centroid, int dims, float max_norm);

/* The score the index orders by: q·x, or −‖q − x‖ for L2. */
float		ivf_score(IvfMetric metric, const float *q, const float *x, int dims);

#endif							/* IREC_IVF_H */
