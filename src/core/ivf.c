/*
 * ivf.c
 *		k-means, assignment and list bounds for the top-n index (see ivf.h).
 *
 * Distances to all centroids come from one sgemm per block of points, on
 * every thread: ‖x̃ − c̃‖² = ‖x̃‖² − 2·x̃·c̃ + ‖c̃‖², and ‖x̃‖² does not change
 * the argmin.
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

/* The augmented coordinate: √(M² − ‖x‖²) for inner product, else 0. */
static float
augment(IvfMetric metric, const float *x, int dims, float max_norm)
{
	float		extra;

	if (metric != IVF_METRIC_IP)
		return 0.0f;
	extra = max_norm * max_norm - vec_norm_squared(x, dims);
	return extra > 0.0f ? sqrtf(extra) : 0.0f;
}

typedef struct AssignJob
{
	const float *centroids;		/* k × (dims + 1) */
	const float *centroid_sq;	/* k: ‖c̃‖² */
	int			k;
	int			dims;
	IvfMetric	metric;
	float		max_norm;
	const float *x;
	size_t		n;
	int32_t    *out;
	float	   *distance;		/* n: ‖x̃ − c̃‖² − ‖x̃‖² of the chosen list, or NULL */
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
	/* the thread blocks, then the k centroid norms */
	return (size_t) threads * block_bytes(k, dims) + sizeof(float) * k;
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

			memcpy(points + p * dd, x, sizeof(float) * d);
			points[p * dd + d] = augment(job->metric, x, d, job->max_norm);
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
					 IvfMetric metric, float max_norm, const float *x, size_t n,
					 int32_t *out, float *distance, int threads, void *scratch)
{
	AssignJob	job;

	job.centroids = centroids;
	job.centroid_sq = centroid_sq;
	job.k = k;
	job.dims = dims;
	job.metric = metric;
	job.max_norm = max_norm;
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
	/* the k norms live after the per-thread blocks in the caller's scratch */
	float	   *centroid_sq = (float *) ((char *) scratch + (size_t) threads * block_bytes(k, dims));

	centroid_norms(centroids, k, dims, centroid_sq);
	assign_with_distance(centroids, centroid_sq, k, dims, metric, max_norm, x, n, out,
						 NULL, threads, scratch);
}

size_t
ivf_kmeans_scratch_bytes(size_t n, int dims, int k, int threads)
{
	size_t		dd = IVF_CENTROID_FLOATS(dims);

	return ivf_assign_scratch_bytes(k, dims, threads) +	/* blocks, centroid norms */
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
	int32_t    *assignment = (int32_t *) (p += sizeof(float) * k);
	float	   *distance = (float *) (p += sizeof(int32_t) * n);
	double	   *sums = (double *) (p += sizeof(float) * n);
	size_t	   *counts = (size_t *) (p + sizeof(double) * (size_t) k * dd);
	float		m = 0.0f;
	Rng			rng;

	for (size_t i = 0; i < n; i++)
	{
		float		norm = sqrtf(vec_norm_squared(x + i * dims, dims));

		if (norm > m)
			m = norm;
	}
	*max_norm = m;

	/* seeds: k distinct points by a seeded partial shuffle of the indices */
	rng_seed(&rng, seed, 77);
	for (int c = 0; c < k; c++)
	{
		size_t		pick = n > 0 ? (size_t) (rng_uniform(&rng) * n) : 0;

		/* a collision only makes a duplicate seed, which the empty-cluster rule fixes */
		memcpy(centroids + c * dd, x + pick * dims, sizeof(float) * dims);
		centroids[c * dd + dims] = augment(metric, x + pick * dims, dims, m);
	}

	for (int iteration = 0; iteration < iterations && n > 0; iteration++)
	{
		centroid_norms(centroids, k, dims, centroid_sq);
		assign_with_distance(centroids, centroid_sq, k, dims, metric, m, x, n,
							 assignment, distance, threads, scratch);
		memset(sums, 0, sizeof(double) * (size_t) k * dd);
		memset(counts, 0, sizeof(size_t) * k);
		for (size_t i = 0; i < n; i++)
		{
			double	   *s = sums + (size_t) assignment[i] * dd;
			const float *xi = x + i * dims;

			for (int j = 0; j < dims; j++)
				s[j] += xi[j];
			s[dims] += augment(metric, xi, dims, m);
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
					float		full = distance[i] + vec_norm_squared(x + i * dims, dims);

					if (full > worst_distance)
					{
						worst_distance = full;
						worst = i;
					}
				}
				memcpy(centroids + c * dd, x + worst * dims, sizeof(float) * dims);
				centroids[c * dd + dims] = augment(metric, x + worst * dims, dims, m);
				distance[worst] = -FLT_MAX; /* not chosen twice */
				continue;
			}
			for (size_t j = 0; j < dd; j++)
				centroids[c * dd + j] = (float) (sums[c * dd + j] / counts[c]);
		}
	}
	return 0;
}

float
ivf_list_bound(IvfMetric metric, const float *q, float q_norm,
			   const float *centroid, int dims, float radius, float max_norm)
{
	if (metric == IVF_METRIC_L2)
	{
		float		gap = sqrtf(vec_l2_squared(q, centroid, dims)) - radius;

		return gap > 0.0f ? -gap : 0.0f;
	}
	else
	{
		float		by_radius = vec_dot(q, centroid, dims) + q_norm * radius;
		float		by_norm = q_norm * max_norm;

		return by_radius < by_norm ? by_radius : by_norm;
	}
}

float
ivf_list_priority(IvfMetric metric, const float *q, float q_norm,
				  const float *centroid, int dims, float max_norm)
{
	if (metric == IVF_METRIC_IP)
	{
		float		scale = q_norm > 0 ? max_norm / q_norm : 0.0f;

		/* −‖q̂ − c̃‖² up to a constant: 2·q̂·c − ‖c̃‖² */
		return 2.0f * scale * vec_dot(q, centroid, dims) -
			vec_norm_squared(centroid, IVF_CENTROID_FLOATS(dims));
	}
	return ivf_score(metric, q, centroid, dims);
}

float
ivf_score(IvfMetric metric, const float *q, const float *x, int dims)
{
	if (metric == IVF_METRIC_L2)
		return -sqrtf(vec_l2_squared(q, x, dims));
	return vec_dot(q, x, dims);
}
