/*
 * ivf.c
 *		k-means, assignment and list bounds for the top-n index (see ivf.h).
 *
 * Distances to all centroids come from one sgemm per block of points, on
 * every thread: ‖x̃ − c̃‖² = ‖x̃‖² − 2·x̃·c̃ + ‖c̃‖², and ‖x̃‖² does not change
 * the argmin.  The sgemm sees points and centroids multiplied by a power of
 * two s with s·M in [0.5, 1): exact for normal floats, and no product can
 * overflow or vanish, whatever the magnitude of the data.
 */
#include "ivf.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "parallel.h"
#include "rng.h"
#include "vecmath.h"

/* Points per sgemm block of the assignment. */
#define IVF_BLOCK 256

static void (*iteration_hook) (void) = NULL;

void
ivf_set_iteration_hook(void (*hook) (void))
{
	iteration_hook = hook;
}

/* The power of two that brings the largest norm M into [0.5, 1). */
static double
scale_for(float max_norm)
{
	int			exponent;

	if (!(max_norm > 0.0f) || !isfinite(max_norm))
		return 1.0;
	frexp((double) max_norm, &exponent);
	return ldexp(1.0, -exponent);
}

/* The augmented coordinate √(M² − ‖x‖²) for inner product (else 0), scaled by s. */
static float
augment(IvfMetric metric, const float *x, int dims, float max_norm, double scale)
{
	double		extra;

	if (metric != IVF_METRIC_IP)
		return 0.0f;
	extra = (double) max_norm * max_norm - vec_norm_squared_double(x, dims);
	return extra > 0.0 ? (float) (sqrt(extra) * scale) : 0.0f;
}

typedef struct AssignJob
{
	const float *centroids;		/* k × (dims + 1), scaled by scale */
	const float *centroid_sq;	/* k: ‖c̃‖² */
	int			k;
	int			dims;
	IvfMetric	metric;
	float		max_norm;
	double		scale;			/* applied to the points as they are packed */
	const float *x;
	size_t		n;
	int32_t    *out;
	float	   *distance;		/* n: ‖x̃ − c̃‖² − ‖x̃‖² (scaled) of the chosen list, or NULL */
	char	   *scratch;
	size_t		scratch_per_thread;
} AssignJob;

/* per thread: a block of augmented points and its rows of dot products */
static size_t
block_bytes(int k, int dims)
{
	return sizeof(float) * IVF_BLOCK * ((size_t) k + IVF_CENTROID_FLOATS(dims));
}

size_t
ivf_assign_scratch_bytes(int k, int dims, int threads)
{
	/* the thread blocks, the k centroid norms, the k scaled centroids */
	return (size_t) threads * block_bytes(k, dims) + sizeof(float) * k +
		sizeof(float) * (size_t) k * IVF_CENTROID_FLOATS(dims);
}

static int
assign_block(void *context, size_t begin, size_t end, int thread)
{
	AssignJob  *job = (AssignJob *) context;
	const int	d = job->dims;
	const int	dd = d + 1;
	float	   *points = (float *) (job->scratch + job->scratch_per_thread * (size_t) thread);
	float	   *dots = points + (size_t) IVF_BLOCK * dd;

	for (size_t block = begin; block < end; block++)
	{
		size_t		first = block * IVF_BLOCK;
		size_t		count = job->n - first < IVF_BLOCK ? job->n - first : IVF_BLOCK;

		for (size_t p = 0; p < count; p++)
		{
			const float *x = job->x + (first + p) * d;

			for (int j = 0; j < d; j++)
				points[p * dd + j] = (float) (x[j] * job->scale);
			points[p * dd + d] = augment(job->metric, x, d, job->max_norm, job->scale);
		}
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) count, job->k, dd,
					1.0f, points, dd, job->centroids, dd, 0.0f, dots, job->k);
		for (size_t p = 0; p < count; p++)
		{
			const float *row = dots + p * job->k;
			int			best = 0;
			float		best_distance = FLT_MAX;

			for (int c = 0; c < job->k; c++)
			{
				float		distance = job->centroid_sq[c] - 2.0f * row[c];

				if (distance < best_distance)
				{
					best_distance = distance;
					best = c;
				}
			}
			job->out[first + p] = best;
			if (job->distance)
				job->distance[first + p] = best_distance;
		}
	}
	return 0;
}

static void
assign_with_distance(const float *centroids, const float *centroid_sq, int k, int dims,
					 IvfMetric metric, float max_norm, double scale, const float *x, size_t n,
					 int32_t *out, float *distance, int threads, void *scratch)
{
	AssignJob	job;

	job.centroids = centroids;
	job.centroid_sq = centroid_sq;
	job.k = k;
	job.dims = dims;
	job.metric = metric;
	job.max_norm = max_norm;
	job.scale = scale;
	job.x = x;
	job.n = n;
	job.out = out;
	job.distance = distance;
	job.scratch = (char *) scratch;
	job.scratch_per_thread = block_bytes(k, dims);
	parallel_for(threads, (n + IVF_BLOCK - 1) / IVF_BLOCK, 1, assign_block, &job);
}

static void
centroid_norms(const float *centroids, int k, int dims, float *centroid_sq)
{
	for (int c = 0; c < k; c++)
		centroid_sq[c] = vec_norm_squared(centroids + (size_t) c * IVF_CENTROID_FLOATS(dims),
										  IVF_CENTROID_FLOATS(dims));
}

void
ivf_assign(const float *centroids, int k, int dims, IvfMetric metric,
		   float max_norm, const float *x, size_t n, int32_t *out,
		   int threads, void *scratch)
{
	/* the k norms and scaled centroids live after the per-thread blocks */
	size_t		dd = IVF_CENTROID_FLOATS(dims);
	float	   *centroid_sq = (float *) ((char *) scratch + (size_t) threads * block_bytes(k, dims));
	float	   *scaled = centroid_sq + k;
	double		scale = scale_for(max_norm);

	for (size_t i = 0; i < (size_t) k * dd; i++)
		scaled[i] = (float) (centroids[i] * scale);
	centroid_norms(scaled, k, dims, centroid_sq);
	assign_with_distance(scaled, centroid_sq, k, dims, metric, max_norm, scale, x, n, out,
						 NULL, threads, scratch);
}

size_t
ivf_kmeans_scratch_bytes(size_t n, int dims, int k, int threads)
{
	size_t		dd = IVF_CENTROID_FLOATS(dims);

	return ivf_assign_scratch_bytes(k, dims, threads) +	/* blocks, norms, scaled centroids */
		sizeof(int32_t) * n +	/* assignment */
		sizeof(float) * n +		/* distance to the assigned centroid */
		sizeof(double) * (size_t) k * dd +	/* sums */
		sizeof(size_t) * k;		/* counts */
}

int
ivf_kmeans(const float *x, size_t n, int dims, int k, int iterations,
		   IvfMetric metric, uint64_t seed, int threads,
		   float *centroids, float *max_norm, void *scratch)
{
	size_t		dd = IVF_CENTROID_FLOATS(dims);
	char	   *p = (char *) scratch + (size_t) threads * block_bytes(k, dims);
	float	   *centroid_sq = (float *) p;
	int32_t    *assignment = (int32_t *) (p += sizeof(float) * k + sizeof(float) * (size_t) k * dd);
	float	   *distance = (float *) (p += sizeof(int32_t) * n);
	double	   *sums = (double *) (p += sizeof(float) * n);
	size_t	   *counts = (size_t *) (p + sizeof(double) * (size_t) k * dd);
	double		largest = 0.0;
	float		m;
	double		scale;
	Rng			rng;

	for (size_t i = 0; i < n; i++)
	{
		double		norm = sqrt(vec_norm_squared_double(x + i * dims, dims));

		if (norm > largest)
			largest = norm;
	}
	m = ivf_round_up(largest);
	if (m > FLT_MAX)
		m = FLT_MAX;
	*max_norm = m;
	scale = scale_for(m);

	/* seeds: k distinct points by a seeded partial shuffle of the indices */
	rng_seed(&rng, seed, 77);
	for (int c = 0; c < k; c++)
	{
		size_t		pick = n > 0 ? (size_t) (rng_uniform(&rng) * n) : 0;

		/* a collision only makes a duplicate seed, which the empty-cluster rule fixes */
		for (int j = 0; j < dims; j++)
			centroids[c * dd + j] = (float) (x[pick * dims + j] * scale);
		centroids[c * dd + dims] = augment(metric, x + pick * dims, dims, m, scale);
	}

	for (int iteration = 0; iteration < iterations && n > 0; iteration++)
	{
		if (iteration_hook)
			iteration_hook();
		centroid_norms(centroids, k, dims, centroid_sq);
		assign_with_distance(centroids, centroid_sq, k, dims, metric, m, scale, x, n,
							 assignment, distance, threads, scratch);
		memset(sums, 0, sizeof(double) * (size_t) k * dd);
		memset(counts, 0, sizeof(size_t) * k);
		for (size_t i = 0; i < n; i++)
		{
			double	   *s = sums + (size_t) assignment[i] * dd;
			const float *xi = x + i * dims;

			for (int j = 0; j < dims; j++)
				s[j] += xi[j] * scale;
			s[dims] += augment(metric, xi, dims, m, scale);
			counts[assignment[i]]++;
		}
		for (int c = 0; c < k; c++)
		{
			if (counts[c] == 0)
			{
				/* re-seed an empty cluster with the worst-served point */
				size_t		worst = 0;
				float		worst_distance = -FLT_MAX;

				for (size_t i = 0; i < n; i++)
				{
					float		full = distance[i] +
						(float) (vec_norm_squared_double(x + i * dims, dims) * scale * scale);

					if (full > worst_distance)
					{
						worst_distance = full;
						worst = i;
					}
				}
				for (int j = 0; j < dims; j++)
					centroids[c * dd + j] = (float) (x[worst * dims + j] * scale);
				centroids[c * dd + dims] = augment(metric, x + worst * dims, dims, m, scale);
				distance[worst] = -FLT_MAX; /* not chosen twice */
				continue;
			}
			for (size_t j = 0; j < dd; j++)
				centroids[c * dd + j] = (float) (sums[c * dd + j] / counts[c]);
		}
	}
	/* back to the data's scale: exact, and no component exceeds the data's */
	for (size_t i = 0; i < (size_t) k * dd; i++)
	{
		double		v = centroids[i] / scale;

		centroids[i] = (float) (v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v);
	}
	return 0;
}

float
ivf_round_up(double v)
{
	float		f = (float) v;

	if ((double) f < v)
		f = nextafterf(f, INFINITY);
	return f;
}

void
ivf_list_geometry(IvfMetric metric, const float *x, int dims, float *out)
{
	double		norm;

	if (metric != IVF_METRIC_COSINE)
	{
		memcpy(out, x, sizeof(float) * dims);
		return;
	}
	norm = sqrt(vec_norm_squared_double(x, dims));
	for (int k = 0; k < dims; k++)
		out[k] = norm > 0.0 ? (float) (x[k] / norm) : 0.0f;
}

double
ivf_member_radius(const float *geometry, const float *centroid, int dims)
{
	double		sum = 0.0;

	for (int k = 0; k < dims; k++)
	{
		double		diff = (double) geometry[k] - centroid[k];

		sum += diff * diff;
	}
	return sqrt(sum);
}

double
ivf_member_norm(const float *geometry, int dims)
{
	return sqrt(vec_norm_squared_double(geometry, dims));
}

void
ivf_query_init(IvfQuery *query, IvfMetric metric, const float *q, int dims, float *unit_buffer)
{
	query->metric = metric;
	query->dims = dims;
	query->q = q;
	query->norm_squared = vec_norm_squared_double(q, dims);
	query->norm = sqrt(query->norm_squared);
	query->unordered = metric == IVF_METRIC_COSINE && query->norm_squared == 0.0;
	query->unit = q;
	if (metric == IVF_METRIC_COSINE)
	{
		ivf_list_geometry(metric, q, dims, unit_buffer);
		query->unit = unit_buffer;
	}
}

double
ivf_score(const IvfQuery *query, const float *x)
{
	switch (query->metric)
	{
		case IVF_METRIC_L2:
			return -vec_l2_distance(x, query->q, query->dims);
		case IVF_METRIC_L1:
			return -vec_l1_distance(x, query->q, query->dims);
		case IVF_METRIC_COSINE:
			return -vec_cosine_from_sums(vec_dot_double(x, query->q, query->dims),
										 vec_norm_squared_double(x, query->dims),
										 query->norm_squared);
		default:
			return vec_inner_product(x, query->q, query->dims);
	}
}


/* ‖a − b‖₁ in double, for bounds and priorities (never for scores). */
static double
l1_distance_double(const float *a, const float *b, int dims)
{
	double		sum = 0.0;

	for (int k = 0; k < dims; k++)
		sum += fabs((double) a[k] - b[k]);
	return sum;
}

/*
 * ivf_list_bound for inner product, from q·c.  The double dot product is
 * within IVF_SLACK_DOUBLE of ‖q‖·‖c‖, and ‖c‖ ≤ ‖x‖ + ‖x − c‖ ≤ m + r for
 * any member x: the slack needs no norm of the centroid (a list without
 * members has nothing to bound).
 */
static double
ip_list_bound(const IvfQuery *query, double dot, float radius, float max_norm)
{
	int			d = query->dims;
	double		q_norm = query->norm;
	double		by_radius;
	double		by_norm;

	/* a zero query scores exactly 0 against everything */
	if (q_norm == 0.0)
		return 0.0;
	by_radius = dot + q_norm * radius * (1.0 + IVF_SLACK_DOUBLE(d)) +
		IVF_SLACK_DOUBLE(d) * q_norm * ((double) max_norm + radius);
	by_norm = q_norm * max_norm * (1.0 + IVF_SLACK_DOUBLE(d));
	return (by_radius < by_norm ? by_radius : by_norm) + IVF_SLACK_FLOAT(d) * q_norm * max_norm;
}

double
ivf_list_bound(const IvfQuery *query, const float *centroid, float radius, float max_norm)
{
	int			d = query->dims;

	if (query->unordered)
		return 0.0;
	if (query->metric == IVF_METRIC_L2)
	{
		double		gap = ivf_member_radius(query->q, centroid, d) * (1.0 - IVF_SLACK_DOUBLE(d)) - radius;

		return gap > 0.0 ? -gap * (1.0 - IVF_SLACK_FLOAT(d)) : 0.0;
	}
	else if (query->metric == IVF_METRIC_L1)
	{
		/*
		 * Both gaps are lower bounds of ‖q − x‖₁ (ivf.h).  A float sum of d
		 * absolute differences is within (d + 1)·2⁻²⁴ relative of the exact
		 * one, which SLACK_FLOAT covers twice over, as for L2.
		 */
		double		by_l1 = l1_distance_double(query->q, centroid, d) * (1.0 - IVF_SLACK_DOUBLE(d)) -
			sqrt((double) d) * radius * (1.0 + IVF_SLACK_DOUBLE(d));
		double		by_l2 = ivf_member_radius(query->q, centroid, d) * (1.0 - IVF_SLACK_DOUBLE(d)) - radius;
		double		gap = by_l1 > by_l2 ? by_l1 : by_l2;

		return gap > 0.0 ? -gap * (1.0 - IVF_SLACK_FLOAT(d)) : 0.0;
	}
	else if (query->metric == IVF_METRIC_COSINE)
	{
		double		bound = vec_dot_double(query->unit, centroid, d) +
			radius * (1.0 + IVF_SLACK_DOUBLE(d)) + IVF_SLACK_COSINE - 1.0;

		return bound < 0.0 ? bound : 0.0;
	}
	else
		return ip_list_bound(query, vec_dot_double(query->q, centroid, d), radius, max_norm);
}

double
ivf_list_priority(const IvfQuery *query, const float *centroid, float radius)
{
	int			d = query->dims;

	if (query->unordered)
		return 0.0;
	if (query->metric == IVF_METRIC_IP)
		return vec_dot_double(query->q, centroid, d) + IVF_PRIORITY_RADIUS_SHARE * query->norm * radius;
	if (query->metric == IVF_METRIC_COSINE)
		return vec_dot_double(query->unit, centroid, d) + IVF_PRIORITY_RADIUS_SHARE * radius;
	if (query->metric == IVF_METRIC_L1)
		return -l1_distance_double(query->q, centroid, d);
	return -ivf_member_radius(query->q, centroid, d);
}

void
ivf_list_bound_and_priority(const IvfQuery *query, const float *centroid, float radius,
							float max_norm, double *bound, double *priority)
{
	double		dot;

	if (query->unordered || query->metric != IVF_METRIC_IP)
	{
		*bound = ivf_list_bound(query, centroid, radius, max_norm);
		*priority = ivf_list_priority(query, centroid, radius);
		return;
	}
	dot = vec_dot_double(query->q, centroid, query->dims);
	*bound = ip_list_bound(query, dot, radius, max_norm);
	*priority = dot + IVF_PRIORITY_RADIUS_SHARE * query->norm * radius;
}

double
ivf_assign_distance(IvfMetric metric, const float *geometry, const float *centroid,
					int dims, float max_norm)
{
	double		distance = ivf_member_radius(geometry, centroid, dims);
	double		extra = 0.0;

	if (metric == IVF_METRIC_IP)
	{
		double		gap = (double) max_norm * max_norm - vec_norm_squared_double(geometry, dims);

		extra = gap > 0.0 ? sqrt(gap) : 0.0;
	}
	return distance * distance + (extra - centroid[dims]) * (extra - centroid[dims]);
}
