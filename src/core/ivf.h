/*
 * ivf.h
 *		Clustering and bounds for the top-n index (DESIGN §6.2): inverted
 *		lists from k-means, made aware of the metric.
 *
 * Inner product: k-means runs on vectors augmented with one coordinate,
 * x̃ = [x, √(M² − ‖x‖²)] (M the largest norm), which turns maximum inner
 * product into nearest neighbour in L2 (Bachrach et al. 2014), so lists group
 * vectors that win for similar queries.  Cosine: vectors are normalized first
 * and clustered plainly.  L2 and L1: plain k-means.
 *
 * Every list keeps its centroid c, radius r = max ‖x − c‖ and largest norm
 * over its members; they give, for any query q, a bound on what any member
 * can score (score = q·x for inner product and cosine, −‖q − x‖ for L2):
 *	 q·x ≤ min(q·c + ‖q‖·r, ‖q‖·max‖x‖),	−‖q − x‖ ≤ −max(0, ‖q − c‖ − r).
 * L1 keeps the same L2 radius: ‖x − c‖₁ ≤ √d·‖x − c‖₂ and ‖·‖₁ ≥ ‖·‖₂ give
 *	 −‖q − x‖₁ ≤ −max(0, ‖q − c‖₁ − √d·r, ‖q − c‖ − r),
 * looser than a stored L1 radius would be (by at most √d) but with the list
 * entries of the other metrics, so the index layout stays the same.
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
	IVF_METRIC_COSINE = 3,		/* <=>: clustered normalized */
	IVF_METRIC_L1 = 4			/* <+>: clustered and bounded as L2 (below) */
} IvfMetric;

/* Floats per centroid: dims, plus the augmented coordinate. */
#define IVF_CENTROID_FLOATS(dims) ((size_t) (dims) + 1)

/*
 * ivf_set_iteration_hook: a function ivf_kmeans calls between its Lloyd
 * iterations, on the calling thread with no other thread running (the
 * backend checks for interrupts there, so cancelling a build never waits
 * for the whole clustering).  NULL: none.
 */
void		ivf_set_iteration_hook(void (*hook) (void));

/* Bytes of scratch ivf_kmeans needs. */
size_t		ivf_kmeans_scratch_bytes(size_t n, int dims, int k, int threads);

/*
 * ivf_kmeans: k centroids (k × IVF_CENTROID_FLOATS(dims), row-major) from n
 * vectors (cosine: already normalized), Lloyd iterations seeded
 * deterministically.  *max_norm receives M, the largest norm seen (rounded
 * up, at most FLT_MAX), which ivf_assign needs for the inner-product
 * augmentation.  The iterations run on the vectors scaled by a power of two
 * that brings M near 1, so that no float product of the sgemm overflows or
 * underflows whatever the data's magnitude; the centroids come back in the
 * data's own scale.  Empty clusters are re-seeded with the point farthest
 * from its centroid.  Returns 0.
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

/*
 * Everything below is computed so that it holds for any finite float input:
 * sums in double where float could overflow or underflow, stored bounds
 * rounded up, and slack for the float rounding of the scores they bound.
 */

/*
 * Rounding slack of the bounds.  A float sum of d products is within
 * d·2⁻²⁴·Σ|a_k·b_k| of the exact value (Higham's γ_d), so a float inner
 * product is within d·2⁻²⁴·‖q‖·‖x‖ of q·x and a float squared distance within
 * (d + 2)·2⁻²⁴ relative of its value; we allow twice that.  The double sums
 * of the bounds themselves are off by d·2⁻⁵³, which IVF_SLACK_DOUBLE covers.  For
 * cosine the score is taken in double and the list geometry is normalized in
 * float: two roundings of 2⁻²⁴ per side, IVF_SLACK_COSINE.
 */
#define IVF_SLACK_FLOAT(d) (((double) (d) + 4.0) * 0x1p-23)
#define IVF_SLACK_DOUBLE(d) (((double) (d) + 4.0) * 0x1p-50)
#define IVF_SLACK_COSINE 0x1p-19

/* v rounded up to a float (+Inf above FLT_MAX): a stored bound stays a bound. */
float		ivf_round_up(double v);

/*
 * ivf_list_geometry: the vector lists are clustered and bounded in: x
 * itself, or x/‖x‖ for cosine (the norm taken in double; zero stays zero).
 */
void		ivf_list_geometry(IvfMetric metric, const float *x, int dims, float *out);

/* A member's contribution to its list's radius and largest norm, in double. */
double		ivf_member_radius(const float *geometry, const float *centroid, int dims);
double		ivf_member_norm(const float *geometry, int dims);

/* A query, with what every score and bound reuses. */
typedef struct IvfQuery
{
	IvfMetric	metric;
	int			dims;
	const float *q;				/* as given */
	const float *unit;			/* q/‖q‖ (cosine), else q */
	double		norm;			/* ‖q‖, in double */
	double		norm_squared;	/* ‖q‖², in double */
	int			unordered;		/* every score is NaN: cosine with a zero query */
} IvfQuery;

/* unit_buffer: dims floats, used for cosine. */
void		ivf_query_init(IvfQuery *query, IvfMetric metric, const float *q, int dims,
						   float *unit_buffer);

/*
 * ivf_score: minus the value of the SQL operator (<#>, <->, <=>, <+>) for stored
 * vector x, computed by the operator's own kernel, so the index orders rows
 * bit for bit as ORDER BY does.  Higher is better; NaN for cosine against a
 * zero vector (ORDER BY puts NaN after every number).
 */
double		ivf_score(const IvfQuery *query, const float *x);

/*
 * ivf_list_bound: no member of a list (centroid c, radius r, largest norm m
 * in the list geometry) has ivf_score above this:
 *	 inner product	min(q·c + ‖q‖·r, ‖q‖·m)
 *	 L2				−max(0, ‖q − c‖ − r)
 *	 cosine			q̂·c + r − 1
 *	 L1				−max(0, ‖q − c‖₁ − √d·r, ‖q − c‖ − r)
 * each widened by the largest rounding error of the score it bounds.
 */
double		ivf_list_bound(const IvfQuery *query, const float *centroid, float radius,
						   float max_norm);

/*
 * The share of a list's radius the priority credits a list with: about what
 * its best member gains over the centroid toward the query.
 */
#define IVF_PRIORITY_RADIUS_SHARE 0.3

/*
 * ivf_list_priority: how promising a list is (higher first), an estimate
 * of its best member's score.  For inner product, q·c + s·‖q‖·r (s the
 * share above): the centroid's score alone misses that a wide list holds
 * members far beyond it, and the list's bound, q·c + ‖q‖·r, assumes one
 * member lies along q at the full radius, which few do.  On the 1M × 64
 * benchmark, 64 lists in this order give recall@20 0.968, where the
 * clustering's own geometry (the augmented distance to the centroid)
 * needed 160; s from 0.25 to 0.45 does within 0.005 of the best on
 * generated sets of 32, 64 and 128 dims.  Cosine likewise on the unit
 * sphere; L2 and L1 by the distance to the centroid.
 */
double		ivf_list_priority(const IvfQuery *query, const float *centroid, float radius);

/*
 * ivf_list_bound and ivf_list_priority of one list at once (a scan's
 * start, for every list): for inner product they share q·c.
 */
void		ivf_list_bound_and_priority(const IvfQuery *query, const float *centroid, float radius,
										float max_norm, double *bound, double *priority);

/* The squared (augmented) distance an insert minimizes over the lists. */
double		ivf_assign_distance(IvfMetric metric, const float *geometry, const float *centroid,
								int dims, float max_norm);

#endif							/* IREC_IVF_H */
