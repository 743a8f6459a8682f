/*
 * synthetic.c
 *		Seeded generator of implicit feedback (see synthetic.h).
 */
#include "synthetic.h"

#include <math.h>
#include <string.h>

#include "rng.h"

/*
 * A user keeps a drawn item with probability σ(signal·(z − 1.5)), z the
 * unit-variance affinity: about the 7% of items a user likes most are
 * favoured, as in real data where tastes are narrow.
 */
#define SYNTHETIC_TASTE_THRESHOLD 1.5

typedef struct Workspace
{
	double	   *item_cdf;		/* n_items cumulative popularity */
	double	   *user_share;		/* n_users activity weights */
	float	   *user_taste;		/* n_users × rank */
	float	   *item_taste;		/* n_items × rank */
	int32_t    *last_user;		/* n_items: last user that took the item */
	int32_t    *order;			/* max(n_users, n_items) permutation */
} Workspace;

size_t
synthetic_workspace_bytes(const SyntheticConfig *c)
{
	size_t		n = c->n_users > c->n_items ? c->n_users : c->n_items;

	return sizeof(double) * (c->n_items + c->n_users) +
		sizeof(float) * (c->n_users + c->n_items) * (size_t) c->rank +
		sizeof(int32_t) * (c->n_items + n) + 64;
}

static void
carve(const SyntheticConfig *c, void *memory, Workspace *w)
{
	char	   *p = (char *) memory;
	size_t		n = c->n_users > c->n_items ? c->n_users : c->n_items;

	w->item_cdf = (double *) p;
	p += sizeof(double) * c->n_items;
	w->user_share = (double *) p;
	p += sizeof(double) * c->n_users;
	w->user_taste = (float *) p;
	p += sizeof(float) * c->n_users * c->rank;
	w->item_taste = (float *) p;
	p += sizeof(float) * c->n_items * c->rank;
	w->last_user = (int32_t *) p;
	p += sizeof(int32_t) * c->n_items;
	w->order = (int32_t *) p;
	(void) n;
}

/* A random permutation, so that ids do not reveal popularity. */
static void
shuffle(int32_t *order, size_t n, Rng *rng)
{
	for (size_t i = 0; i < n; i++)
		order[i] = (int32_t) i;
	for (size_t i = n; i > 1; i--)
	{
		size_t		j = (size_t) (rng_uniform(rng) * i);
		int32_t		t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
}

static size_t
draw_item(const double *cdf, size_t n, Rng *rng)
{
	double		u = rng_uniform(rng) * cdf[n - 1];
	size_t		low = 0;
	size_t		high = n - 1;

	while (low < high)
	{
		size_t		mid = (low + high) / 2;

		if (cdf[mid] > u)
			high = mid;
		else
			low = mid + 1;
	}
	return low;
}

size_t
synthetic_generate(const SyntheticConfig *c, int32_t *users, int32_t *items,
				   float *weights, size_t capacity, void *workspace)
{
	Workspace	w;
	Rng			rng;
	double		total_share = 0.0;
	double		scale = 1.0 / sqrt((double) c->rank);
	size_t		count = 0;

	carve(c, workspace, &w);
	rng_seed(&rng, c->seed, 0);

	shuffle(w.order, c->n_items, &rng);
	for (size_t i = 0; i < c->n_items; i++)
	{
		double		p = pow((double) w.order[i] + 1.0, -c->item_popularity_exponent);

		w.item_cdf[i] = (i > 0 ? w.item_cdf[i - 1] : 0.0) + p;
	}
	shuffle(w.order, c->n_users, &rng);
	for (size_t u = 0; u < c->n_users; u++)
	{
		w.user_share[u] = pow((double) w.order[u] + 1.0, -c->user_activity_exponent);
		total_share += w.user_share[u];
	}
	for (size_t k = 0; k < c->n_users * (size_t) c->rank; k++)
		w.user_taste[k] = (float) (rng_normal(&rng) * scale);
	for (size_t k = 0; k < c->n_items * (size_t) c->rank; k++)
		w.item_taste[k] = (float) (rng_normal(&rng) * scale);
	memset(w.last_user, 0xff, sizeof(int32_t) * c->n_items);

	for (size_t u = 0; u < c->n_users && count < capacity; u++)
	{
		double		want = c->n_interactions * w.user_share[u] / total_share;
		size_t		n_u = (size_t) floor(want + rng_uniform(&rng));
		size_t		taken = 0;
		size_t		tries = 0;

		if (n_u < 1)
			n_u = 1;
		if (n_u > c->n_items / 2)
			n_u = c->n_items / 2 > 0 ? c->n_items / 2 : 1;
		while (taken < n_u && tries < 100 * n_u && count < capacity)
		{
			size_t		i = draw_item(w.item_cdf, c->n_items, &rng);
			double		affinity = 0.0;

			tries++;
			if (w.last_user[i] == (int32_t) u)
				continue;
			for (int k = 0; k < c->rank; k++)
				affinity += (double) w.user_taste[u * c->rank + k] * w.item_taste[i * c->rank + k];
			/* tastes are N(0, 1/rank) per component: rescale ⟨u,v⟩ to unit variance */
			affinity *= sqrt((double) c->rank);
			if (rng_uniform(&rng) >= 1.0 / (1.0 + exp(-c->signal * (affinity - SYNTHETIC_TASTE_THRESHOLD))))
				continue;
			w.last_user[i] = (int32_t) u;
			users[count] = (int32_t) u;
			items[count] = (int32_t) i;
			/* a play count: geometric with a mean that grows with affinity */
			weights[count] = (float) (1.0 + floor(-log(1.0 - rng_uniform(&rng)) *
												  exp(c->signal * affinity)));
			count++;
			taken++;
		}
	}
	return count;
}
