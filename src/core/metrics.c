/*
 * metrics.c
 *		Ranking metrics from the ranks of relevant items (see metrics.h).
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

static int
compare_ranks(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	/* unranked (0) sorts last */
	if (x == 0 || y == 0)
		return (x == 0) - (y == 0);
	return (x > y) - (x < y);
}

int
metrics_sort_ranks(int64_t *ranks, size_t n_relevant)
{
	qsort(ranks, n_relevant, sizeof(int64_t), compare_ranks);
	for (size_t k = 1; k < n_relevant; k++)
		if (ranks[k] != 0 && ranks[k] == ranks[k - 1])
			return -1;
	return 0;
}

static size_t
hits_at(const int64_t *ranks, size_t n_relevant, int64_t n)
{
	size_t		hits = 0;

	for (size_t k = 0; k < n_relevant; k++)
		hits += ranks[k] >= 1 && ranks[k] <= n;
	return hits;
}

double
metric_precision(const int64_t *ranks, size_t n_relevant, int64_t n)
{
	return (double) hits_at(ranks, n_relevant, n) / (double) n;
}

double
metric_recall(const int64_t *ranks, size_t n_relevant, int64_t n)
{
	if (n_relevant == 0)
		return NAN;
	return (double) hits_at(ranks, n_relevant, n) / (double) n_relevant;
}

/* Sorted copy on the stack for small sets, the heap for large ones. */
static int64_t *
sorted_copy(const int64_t *ranks, size_t n_relevant, int64_t *small, size_t small_size)
{
	int64_t    *copy = n_relevant <= small_size ? small : malloc(sizeof(int64_t) * n_relevant);

	if (copy == NULL)
		return NULL;
	for (size_t k = 0; k < n_relevant; k++)
		copy[k] = ranks[k];
	qsort(copy, n_relevant, sizeof(int64_t), compare_ranks);
	return copy;
}

double
metric_average_precision(const int64_t *ranks, size_t n_relevant, int64_t n)
{
	int64_t		small[64];
	int64_t    *sorted;
	double		sum = 0.0;
	size_t		hits = 0;
	double		denominator;

	if (n_relevant == 0)
		return NAN;
	sorted = sorted_copy(ranks, n_relevant, small, 64);
	if (sorted == NULL)
		return NAN;
	for (size_t k = 0; k < n_relevant && sorted[k] != 0 && sorted[k] <= n; k++)
	{
		hits++;
		sum += (double) hits / (double) sorted[k];
	}
	if (sorted != small)
		free(sorted);
	denominator = (double) ((int64_t) n_relevant < n ? (int64_t) n_relevant : n);
	return sum / denominator;
}

double
metric_ndcg(const int64_t *ranks, size_t n_relevant, int64_t n)
{
	double		dcg = 0.0;
	double		ideal = 0.0;
	int64_t		ideal_count = (int64_t) n_relevant < n ? (int64_t) n_relevant : n;

	if (n_relevant == 0)
		return NAN;
	for (size_t k = 0; k < n_relevant; k++)
		if (ranks[k] >= 1 && ranks[k] <= n)
			dcg += 1.0 / log2((double) ranks[k] + 1.0);
	for (int64_t k = 1; k <= ideal_count; k++)
		ideal += 1.0 / log2((double) k + 1.0);
	return dcg / ideal;
}

double
metric_auc(const int64_t *ranks, size_t n_relevant, int64_t n_items)
{
	int64_t		small[64];
	int64_t    *sorted;
	double		n_irrelevant = (double) n_items - (double) n_relevant;
	double		correct = 0.0;

	if (n_relevant == 0 || n_irrelevant <= 0)
		return NAN;
	sorted = sorted_copy(ranks, n_relevant, small, 64);
	if (sorted == NULL)
		return NAN;

	/*
	 * The k-th best ranked relevant item (0-based) at rank r has r − 1 − k
	 * irrelevant items above it, so it beats n_irrelevant − (r − 1 − k).
	 */
	for (size_t k = 0; k < n_relevant && sorted[k] != 0; k++)
		correct += n_irrelevant - (double) (sorted[k] - 1 - (int64_t) k);
	if (sorted != small)
		free(sorted);
	return correct / ((double) n_relevant * n_irrelevant);
}
