/*
 * test_candidates.c
 *		The scan's candidate queue against a sorted reference: interleaved
 *		adds and pops, distinct, tied, all-equal and infinite scores; every
 *		pop is the best of what is left, and nothing is lost or invented.
 */
#include <stdlib.h>
#include <string.h>

#include "core/candidates.h"
#include "unit.h"

static void *
resize(void *ptr, size_t bytes, void *arg)
{
	(*(int *) arg)++;
	return realloc(ptr, bytes);
}

/* Remove the best-scoring entry of the reference (linear scan), returning its score. */
static double
reference_pop(Candidate *ref, size_t *n)
{
	size_t		best = 0;
	double		score;

	for (size_t i = 1; i < *n; i++)
		if (ref[i].score > ref[best].score)
			best = i;
	score = ref[best].score;
	ref[best] = ref[--*n];
	return score;
}

static void
run(int kind, unsigned long long seed, size_t n_ops)
{
	CandidateQueue q;
	Candidate  *ref = malloc(sizeof(Candidate) * n_ops);
	unsigned char *seen = calloc(n_ops, 1);
	size_t		n_ref = 0;
	uint64_t	next_payload = 0;
	unsigned long long state = seed;
	int			resizes = 0;
	int			ok = 1;

	candidates_init(&q, resize, &resizes);
	for (size_t op = 0; op < n_ops; op++)
	{
		/* bursts of adds (a list visited) between a few pops */
		int			pop = unit_rand_uniform(&state) < (kind == 3 ? 0.5 : 0.1);

		if (pop && n_ref > 0)
		{
			Candidate	c;
			double		expected = reference_pop(ref, &n_ref);

			ok &= candidates_best_score(&q) == expected;
			ok &= candidates_peek(&q) != NULL && candidates_peek(&q)->score == expected;
			c = candidates_pop(&q);
			ok &= c.score == expected && c.payload < next_payload && !seen[c.payload];
			seen[c.payload] = 1;
		}
		else
		{
			double		score;

			switch (kind)
			{
				case 0:
					score = unit_rand_uniform(&state);
					break;
				case 1:
					score = (double) (unit_rand_next(&state) % 7);	/* many ties */
					break;
				case 2:
					score = 0.0;	/* an unordered scan's */
					break;
				default:
					{
						double		u = unit_rand_uniform(&state);

						score = u < 0.05 ? INFINITY : u < 0.1 ? -INFINITY : -unit_rand_uniform(&state);
					}
					break;
			}
			ref[n_ref].score = score;
			ref[n_ref].payload = next_payload;
			n_ref++;
			candidates_add(&q, score, next_payload++);
		}
		ok &= candidates_count(&q) == n_ref;
	}
	/* drain: scores come out non-increasing, every payload once */
	while (n_ref > 0)
	{
		double		expected = reference_pop(ref, &n_ref);
		Candidate	c = candidates_pop(&q);

		ok &= c.score == expected && !seen[c.payload];
		seen[c.payload] = 1;
	}
	ok &= candidates_count(&q) == 0 && candidates_best_score(&q) == -INFINITY;
	for (uint64_t p = 0; p < next_payload; p++)
		ok &= seen[p];
	CHECK(ok);
	free(q.heap);
	free(q.pool);
	free(ref);
	free(seen);
}

static void
test_matches_sorted_reference(void)
{
	for (int kind = 0; kind < 4; kind++)
		for (unsigned long long seed = 1; seed <= 3; seed++)
			run(kind, seed, 20000);
}

static void
test_select_best(void)
{
	enum {n = 5000};
	Candidate  *a = malloc(sizeof(Candidate) * n);
	unsigned long long state = 7;

	for (size_t m = 1; m <= n; m += 999)
		for (int kind = 0; kind < 3; kind++)
		{
			double		worst_kept = INFINITY;
			double		best_left = -INFINITY;

			for (size_t i = 0; i < n; i++)
			{
				a[i].score = kind == 0 ? unit_rand_uniform(&state)
					: kind == 1 ? (double) (unit_rand_next(&state) % 5) : 1.0;
				a[i].payload = i;
			}
			candidates_select_best(a, n, m);
			for (size_t i = 0; i < m; i++)
				worst_kept = a[i].score < worst_kept ? a[i].score : worst_kept;
			for (size_t i = m; i < n; i++)
				best_left = a[i].score > best_left ? a[i].score : best_left;
			CHECK(worst_kept >= best_left);
		}
	free(a);
}

int
main(void)
{
	RUN_TEST(test_matches_sorted_reference);
	RUN_TEST(test_select_best);
	return unit_tests_failed != 0;
}
