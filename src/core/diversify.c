/*
 * diversify.c
 *		Maximal marginal relevance re-ranking (diversify.h).
 *
 * The pool is small (a few times the list length), so the greedy loop
 * keeps, per candidate, its largest similarity to the picks so far and
 * updates it with one dot product per remaining candidate after each pick:
 * O(k·n·dims) in all.
 */
#include "core/diversify.h"

#include <math.h>

#include "core/vecmath.h"

static double
cosine(const float *a, double norm_a, const float *b, double norm_b, int dims)
{
	if (norm_a == 0 || norm_b == 0)
		return 0;
	return vec_dot_double(a, b, dims) / (norm_a * norm_b);
}

size_t
mmr_select(const float *vectors, size_t n, int dims, const double *relevance,
		   double diversity, size_t k, size_t *order, double *scratch)
{
	double	   *max_sim = scratch;	/* n: largest cosine to a pick; NAN once picked */
	double	   *norm = scratch + n; /* n: row norms */
	double		low = INFINITY;
	double		high = -INFINITY;
	size_t		picked = 0;

	if (k > n)
		k = n;
	for (size_t i = 0; i < n; i++)
	{
		max_sim[i] = 0;
		norm[i] = sqrt(vec_norm_squared_double(vectors + i * dims, dims));
		if (relevance[i] < low)
			low = relevance[i];
		if (relevance[i] > high)
			high = relevance[i];
	}
	while (picked < k)
	{
		size_t		best = n;
		double		best_value = -INFINITY;

		for (size_t i = 0; i < n; i++)
		{
			double		rel;
			double		value;

			if (isnan(max_sim[i]))
				continue;
			rel = high > low ? (relevance[i] - low) / (high - low) : 0;
			value = (1 - diversity) * rel - diversity * max_sim[i];
			if (best == n || value > best_value)
			{
				best = i;
				best_value = value;
			}
		}
		order[picked++] = best;
		max_sim[best] = NAN;
		for (size_t i = 0; i < n; i++)
		{
			double		sim;

			if (isnan(max_sim[i]))
				continue;
			sim = cosine(vectors + i * dims, norm[i], vectors + best * dims, norm[best], dims);
			if (sim > max_sim[i])
				max_sim[i] = sim;
		}
	}
	return picked;
}

double
mean_pairwise_cosine(const float *vectors, const size_t *rows, size_t count, int dims)
{
	double		sum = 0;
	size_t		pairs = 0;

	for (size_t a = 0; a < count; a++)
		for (size_t b = a + 1; b < count; b++)
		{
			const float *x = vectors + rows[a] * dims;
			const float *y = vectors + rows[b] * dims;

			sum += cosine(x, sqrt(vec_norm_squared_double(x, dims)), y,
						  sqrt(vec_norm_squared_double(y, dims)), dims);
			pairs++;
		}
	return pairs ? sum / pairs : 0;
}
