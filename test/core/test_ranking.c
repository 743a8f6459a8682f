/*
 * test_ranking.c
 *		Top-n selection, the metrics on hand-computed cases, and full-ranking
 *		evaluation against a brute-force sort of every candidate.
 */
#include <stdlib.h>
#include <string.h>

#include "core/evaluate.h"
#include "core/metrics.h"
#include "core/topn.h"
#include "unit.h"

static void
test_topn_keeps_best(void)
{
	TopnEntry	storage[5];
	Topn		topn;
	unsigned long long state = 9;
	float		scores[1000];

	topn_init(&topn, storage, 5);
	for (int i = 0; i < 1000; i++)
	{
		scores[i] = (float) (int) (unit_rand_uniform(&state) * 50);	/* many ties */
		topn_push(&topn, scores[i], i);
	}
	topn_finish(&topn);
	CHECK(topn.count == 5);
	/* brute force: the 5 best by (score desc, index asc) */
	for (int rank = 0; rank < 5; rank++)
	{
		int			best = -1;

		for (int i = 0; i < 1000; i++)
		{
			int			taken = 0;

			for (int r = 0; r < rank; r++)
				taken |= topn.entries[r].index == i;
			if (taken)
				continue;
			if (best < 0 || scores[i] > scores[best] || (scores[i] == scores[best] && i < best))
				best = i;
		}
		CHECK(topn.entries[rank].index == best);
		CHECK(topn.entries[rank].score == scores[best]);
	}
	/* fewer candidates than capacity */
	topn_init(&topn, storage, 5);
	topn_push(&topn, 1.0f, 7);
	topn_push(&topn, 3.0f, 2);
	topn_finish(&topn);
	CHECK(topn.count == 2 && topn.entries[0].index == 2 && topn.entries[1].index == 7);
	topn_init(&topn, storage, 0);
	CHECK(topn_push(&topn, 1.0f, 1) == 0 && topn.count == 0);
}

static void
test_metrics_hand_computed(void)
{
	int64_t		a[] = {3, 1};
	int64_t		b[] = {2};
	int64_t		c[] = {1, 2};
	int64_t		d[] = {0, 1};
	int64_t		e[] = {5, 1, 3};
	int64_t		dup[] = {2, 2};

	CHECK_NEAR(metric_precision(a, 2, 2), 0.5, 1e-12);
	CHECK_NEAR(metric_recall(a, 2, 2), 0.5, 1e-12);
	CHECK_NEAR(metric_average_precision(a, 2, 2), 0.5, 1e-12);
	CHECK_NEAR(metric_ndcg(a, 2, 2), 1.0 / (1.0 + 1.0 / log2(3.0)), 1e-12);
	CHECK_NEAR(metric_auc(a, 2, 5), 5.0 / 6.0, 1e-12);

	CHECK_NEAR(metric_precision(b, 1, 1), 0.0, 1e-12);
	CHECK_NEAR(metric_recall(b, 1, 1), 0.0, 1e-12);
	CHECK_NEAR(metric_average_precision(b, 1, 1), 0.0, 1e-12);
	CHECK_NEAR(metric_ndcg(b, 1, 1), 0.0, 1e-12);
	CHECK_NEAR(metric_ndcg(b, 1, 2), 1.0 / log2(3.0), 1e-12);

	/* n larger than the catalogue */
	CHECK_NEAR(metric_precision(c, 2, 10), 0.2, 1e-12);
	CHECK_NEAR(metric_recall(c, 2, 10), 1.0, 1e-12);
	CHECK_NEAR(metric_average_precision(c, 2, 10), 1.0, 1e-12);
	CHECK_NEAR(metric_ndcg(c, 2, 10), 1.0, 1e-12);
	CHECK_NEAR(metric_auc(c, 2, 3), 1.0, 1e-12);

	/* an unranked relevant item is never retrieved and loses every pair */
	CHECK_NEAR(metric_recall(d, 2, 5), 0.5, 1e-12);
	CHECK_NEAR(metric_auc(d, 2, 4), 0.5, 1e-12);

	/* AP = (1/1 + 2/3 + 3/5) / 3 */
	CHECK_NEAR(metric_average_precision(e, 3, 5), (1.0 + 2.0 / 3.0 + 0.6) / 3.0, 1e-12);
	/* AP normalized by min(|R|, n): only rank 1 is within n = 2 */
	CHECK_NEAR(metric_average_precision(e, 3, 2), 0.5, 1e-12);

	/* empty relevant sets: undefined except precision */
	CHECK(isnan(metric_recall(NULL, 0, 5)));
	CHECK(isnan(metric_average_precision(NULL, 0, 5)));
	CHECK(isnan(metric_ndcg(NULL, 0, 5)));
	CHECK(isnan(metric_auc(NULL, 0, 5)));
	CHECK_NEAR(metric_precision(NULL, 0, 5), 0.0, 1e-12);
	/* every item relevant: AUC undefined */
	CHECK(isnan(metric_auc(c, 2, 2)));

	CHECK(metrics_sort_ranks(e, 3) == 0 && e[0] == 1 && e[1] == 3 && e[2] == 5);
	CHECK(metrics_sort_ranks(d, 2) == 0 && d[0] == 1 && d[1] == 0);
	CHECK(metrics_sort_ranks(dup, 2) == -1);
}

/* Ranks by sorting every candidate, the slow obvious way. */
static void
brute_force_ranks(const float *scores, size_t n_items, const int32_t *relevant, size_t m,
				  const int32_t *seen, size_t n_seen, int64_t *ranks)
{
	for (size_t q = 0; q < m; q++)
	{
		int64_t		rank = 1;
		int32_t		i = relevant[q];

		for (size_t j = 0; j < n_items; j++)
		{
			int			excluded = 0;

			for (size_t s = 0; s < n_seen; s++)
				excluded |= seen[s] == (int32_t) j;
			if (excluded || (int32_t) j == i)
				continue;
			if (scores[j] > scores[i] || (scores[j] == scores[i] && (int32_t) j < i))
				rank++;
		}
		ranks[q] = rank;
	}
}

#define E_USERS 70
#define E_ITEMS 300
#define E_DIMS 5

static void
test_evaluate_matches_brute_force(void)
{
	unsigned long long state = 17;
	float	   *users = malloc(sizeof(float) * E_USERS * E_DIMS);
	float	   *items = malloc(sizeof(float) * E_ITEMS * E_DIMS);
	size_t		relevant_start[E_USERS + 1];
	size_t		seen_start[E_USERS + 1];
	int32_t    *relevant = malloc(sizeof(int32_t) * E_USERS * 12);
	int32_t    *seen = malloc(sizeof(int32_t) * E_USERS * 20);
	double		per_user[E_USERS * EVAL_N_METRICS];
	EvalProblem p;
	void	   *scratch;
	size_t		nr = 0;
	size_t		ns = 0;

	for (int k = 0; k < E_USERS * E_DIMS; k++)
		users[k] = (float) (unit_rand_uniform(&state) - 0.5);
	for (int k = 0; k < E_ITEMS * E_DIMS; k++)
		/* coarse values make exact score ties common */
		items[k] = (float) ((int) (unit_rand_uniform(&state) * 4) - 2);
	for (int u = 0; u < E_USERS; u++)
	{
		int			n_rel = 1 + (int) (unit_rand_uniform(&state) * 10);
		int			n_seen = (int) (unit_rand_uniform(&state) * 20);

		relevant_start[u] = nr;
		seen_start[u] = ns;
		/* disjoint sets: relevant from the first half, seen from the second */
		for (int r = 0; r < n_rel; r++)
		{
			int32_t		item = (int32_t) (unit_rand_uniform(&state) * E_ITEMS / 2);
			int			dup = 0;

			for (size_t x = relevant_start[u]; x < nr; x++)
				dup |= relevant[x] == item;
			if (!dup)
				relevant[nr++] = item;
		}
		for (int s = 0; s < n_seen; s++)
		{
			int32_t		item = (int32_t) (E_ITEMS / 2 + unit_rand_uniform(&state) * E_ITEMS / 2);
			int			dup = 0;

			for (size_t x = seen_start[u]; x < ns; x++)
				dup |= seen[x] == item;
			if (!dup)
				seen[ns++] = item;
		}
	}
	relevant_start[E_USERS] = nr;
	seen_start[E_USERS] = ns;

	p.dims = E_DIMS;
	p.k = 10;
	p.threads = 2;
	p.n_items = E_ITEMS;
	p.items = items;
	p.n_users = E_USERS;
	p.users = users;
	p.relevant_start = relevant_start;
	p.relevant = relevant;
	p.seen_start = seen_start;
	p.seen = seen;
	p.max_relevant = 10;
	scratch = malloc(2 * evaluate_scratch_bytes(&p));
	/* two calls over two ranges, as the glue chunks the users */
	CHECK(evaluate_users(&p, 0, 33, per_user, scratch) == 0);
	CHECK(evaluate_users(&p, 33, E_USERS, per_user, scratch) == 0);

	for (int u = 0; u < E_USERS; u++)
	{
		float		scores[E_ITEMS];
		int64_t		ranks[10];
		size_t		m = relevant_start[u + 1] - relevant_start[u];
		size_t		n_seen = seen_start[u + 1] - seen_start[u];
		const int32_t *rel = relevant + relevant_start[u];
		double	   *got = per_user + u * EVAL_N_METRICS;

		for (int j = 0; j < E_ITEMS; j++)
		{
			double		s = 0;

			/* float accumulation in the same order a BLAS kernel might not use */
			for (int k = 0; k < E_DIMS; k++)
				s += users[u * E_DIMS + k] * items[j * E_DIMS + k];
			scores[j] = (float) s;
		}
		brute_force_ranks(scores, E_ITEMS, rel, m, seen + seen_start[u], n_seen, ranks);
		CHECK_NEAR(got[EVAL_RECALL], metric_recall(ranks, m, 10), 1e-9);
		CHECK_NEAR(got[EVAL_PRECISION], metric_precision(ranks, m, 10), 1e-9);
		CHECK_NEAR(got[EVAL_NDCG], metric_ndcg(ranks, m, 10), 1e-9);
		CHECK_NEAR(got[EVAL_AP], metric_average_precision(ranks, m, 10), 1e-9);
		CHECK_NEAR(got[EVAL_AUC], metric_auc(ranks, m, E_ITEMS - (int64_t) n_seen), 1e-9);
	}
	free(users);
	free(items);
	free(relevant);
	free(seen);
	free(scratch);
}

/* evaluate_ranks directly, with ties between relevant and other items. */
static void
test_ranks_with_ties(void)
{
	float		scores[6] = {1, 5, 5, 3, 5, 0};
	int32_t		relevant[2] = {2, 5};
	int32_t		seen[1] = {1};
	int64_t		ranks[2];
	int64_t		work[16];

	/* candidates 0,2,3,4,5; item 2 (5.0) ties item 4 but has the smaller index */
	evaluate_ranks(scores, 6, relevant, 2, seen, 1, ranks, work);
	CHECK(ranks[0] == 1);
	CHECK(ranks[1] == 5);
}

int
main(void)
{
	RUN_TEST(test_topn_keeps_best);
	RUN_TEST(test_metrics_hand_computed);
	RUN_TEST(test_ranks_with_ties);
	RUN_TEST(test_evaluate_matches_brute_force);
	return unit_tests_failed != 0;
}
