/*
 * ivf_calibrate.c
 *		Default probes measured on the data (see ivf_calibrate.h).
 */
#include "ivf_calibrate.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "vecmath.h"

static size_t
align64(size_t bytes)
{
	return (bytes + 63) & ~(size_t) 63;
}

size_t
ivf_truth_bytes(int n_queries, int k, int threads, size_t max_rows)
{
	return align64(sizeof(float) * (size_t) n_queries * k) +
		align64(sizeof(int32_t) * (size_t) n_queries * k) +
		align64(sizeof(int) * (size_t) n_queries) +
		align64(sizeof(float) * (size_t) threads * IVF_TRUTH_QUERY_BLOCK * IVF_TRUTH_BLOCK) +
		align64(sizeof(float) * max_rows);
}

void
ivf_truth_init(IvfTruth *truth, IvfMetric metric, int dims, const float *queries,
			   const uint64_t *query_ids, int n_queries, int k, int threads,
			   size_t max_rows, void *memory)
{
	char	   *at = (char *) memory;

	truth->metric = metric;
	truth->dims = dims;
	truth->n_queries = n_queries;
	truth->k = k;
	truth->threads = threads < 1 ? 1 : threads;
	truth->queries = queries;
	truth->query_ids = query_ids;
	truth->best = (float *) at;
	at += align64(sizeof(float) * (size_t) n_queries * k);
	truth->best_list = (int32_t *) at;
	at += align64(sizeof(int32_t) * (size_t) n_queries * k);
	truth->count = (int *) at;
	at += align64(sizeof(int) * (size_t) n_queries);
	truth->scratch = (float *) at;
	at += align64(sizeof(float) * (size_t) truth->threads * IVF_TRUTH_QUERY_BLOCK * IVF_TRUTH_BLOCK);
	truth->row_norm = (float *) at;
	truth->row_norm_capacity = max_rows;
	memset(truth->count, 0, sizeof(int) * (size_t) n_queries);
}

/* Sift a better score into a full min-heap of k, replacing its least. */
static void
heap_replace_least(float *scores, int32_t *lists, int k, float score, int32_t list)
{
	int			at = 0;

	for (;;)
	{
		int			child = 2 * at + 1;

		if (child >= k)
			break;
		if (child + 1 < k && scores[child + 1] < scores[child])
			child++;
		if (scores[child] >= score)
			break;
		scores[at] = scores[child];
		lists[at] = lists[child];
		at = child;
	}
	scores[at] = score;
	lists[at] = list;
}

static void
heap_push(float *scores, int32_t *lists, int count, float score, int32_t list)
{
	int			at = count;

	while (at > 0 && scores[(at - 1) / 2] > score)
	{
		scores[at] = scores[(at - 1) / 2];
		lists[at] = lists[(at - 1) / 2];
		at = (at - 1) / 2;
	}
	scores[at] = score;
	lists[at] = list;
}

typedef struct TruthJob
{
	IvfTruth   *truth;
	const float *x;
	const uint64_t *ids;
	const int32_t *lists;
	size_t		n;
} TruthJob;

/* One block of queries against the whole batch, block of rows by block. */
static int
truth_queries(void *context, size_t begin, size_t end, int thread)
{
	TruthJob   *job = (TruthJob *) context;
	IvfTruth   *t = job->truth;
	const int	d = t->dims;
	const int	k = t->k;
	float	   *dots = t->scratch + (size_t) thread * IVF_TRUTH_QUERY_BLOCK * IVF_TRUTH_BLOCK;

	for (size_t block = begin; block < end; block++)
	{
		int			q0 = (int) block * IVF_TRUTH_QUERY_BLOCK;
		int			nq = t->n_queries - q0 < IVF_TRUTH_QUERY_BLOCK ? t->n_queries - q0 : IVF_TRUTH_QUERY_BLOCK;

		for (size_t r0 = 0; r0 < job->n; r0 += IVF_TRUTH_BLOCK)
		{
			int			nr = job->n - r0 < IVF_TRUTH_BLOCK ? (int) (job->n - r0) : IVF_TRUTH_BLOCK;

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nr, d, 1.0f,
						t->queries + (size_t) q0 * d, d, job->x + r0 * d, d, 0.0f, dots, nr);
			for (int qi = 0; qi < nq; qi++)
			{
				int			q = q0 + qi;
				float	   *best = t->best + (size_t) q * k;
				int32_t    *best_list = t->best_list + (size_t) q * k;
				const float *row = dots + (size_t) qi * nr;

				for (int r = 0; r < nr; r++)
				{
					size_t		i = r0 + r;
					float		score;

					if (job->ids[i] == IVF_TRUTH_SKIP || job->ids[i] == t->query_ids[q])
						continue;
					if (t->metric == IVF_METRIC_COSINE)
						score = row[r] * t->row_norm[i];
					else if (t->metric == IVF_METRIC_L2)
						score = 2.0f * row[r] - t->row_norm[i];
					else
						score = row[r];
					if (!isfinite(score))
						continue;
					if (t->count[q] < k)
						heap_push(best, best_list, t->count[q]++, score, job->lists[i]);
					else if (score > best[0])
						heap_replace_least(best, best_list, k, score, job->lists[i]);
				}
			}
		}
	}
	return 0;
}

void
ivf_truth_add(IvfTruth *truth, const float *x, const uint64_t *ids, const int32_t *lists, size_t n)
{
	TruthJob	job = {truth, x, ids, lists, n};
	size_t		query_blocks = ((size_t) truth->n_queries + IVF_TRUTH_QUERY_BLOCK - 1) / IVF_TRUTH_QUERY_BLOCK;

	if (n == 0 || truth->n_queries == 0)
		return;
	/* what each row's score needs besides q·x: 1/‖x‖ (cosine; NaN for a zero row), ‖x‖² (L2) */
	for (size_t i = 0; i < n && truth->metric != IVF_METRIC_IP; i++)
	{
		double		squared = vec_norm_squared_double(x + i * truth->dims, truth->dims);

		truth->row_norm[i] = truth->metric == IVF_METRIC_COSINE
			? (squared > 0.0 ? (float) (1.0 / sqrt(squared)) : NAN)
			: (float) squared;
	}
	(void) parallel_for(truth->threads, query_blocks, 1, truth_queries, &job);
}

int
ivf_truth_probes(const IvfTruth *truth, const float *centroids, const float *radius,
				 int n_lists, double target, int min_queries, double *coverage,
				 void (*poll) (void))
{
	const int	d = truth->dims;
	const int	k = truth->k;
	int			measured = 0;
	size_t		pairs = 0;
	size_t		held = 0;
	int			probes = 0;
	double	   *priority = malloc(sizeof(double) * (size_t) (n_lists > 0 ? n_lists : 1));
	size_t	   *needing = calloc((size_t) n_lists + 1, sizeof(size_t));	/* by lists needed */
	float	   *unit = malloc(sizeof(float) * (size_t) (d > 0 ? d : 1));

	if (coverage)
		*coverage = 0.0;
	if (priority == NULL || needing == NULL || unit == NULL || n_lists <= 0)
		goto done;
	for (int q = 0; q < truth->n_queries; q++)
	{
		IvfQuery	query;

		if (poll)
			poll();
		if (truth->count[q] < k)
			continue;
		ivf_query_init(&query, truth->metric, truth->queries + (size_t) q * d, d, unit);
		if (query.unordered)
			continue;
		for (int l = 0; l < n_lists; l++)
			priority[l] = ivf_list_priority(&query, centroids + (size_t) l * IVF_CENTROID_FLOATS(d), radius[l]);
		/* a neighbour's list is visited after every list of higher priority */
		for (int j = 0; j < k; j++)
		{
			int32_t		list = truth->best_list[(size_t) q * k + j];
			double		own = priority[list];
			int			ahead = 0;

			for (int l = 0; l < n_lists; l++)
				ahead += priority[l] > own;
			needing[ahead + 1]++;
		}
		measured++;
	}
	if (measured < min_queries || measured == 0)
		goto done;
	pairs = (size_t) measured * k;
	for (int p = 1; p <= n_lists; p++)
	{
		held += needing[p];
		if ((double) held >= target * (double) pairs)
		{
			probes = p;
			break;
		}
	}
	if (coverage)
		*coverage = (double) held / (double) pairs;
done:
	free(priority);
	free(needing);
	free(unit);
	return probes;
}
