/*
 * synthetic.h
 *		Generated implicit feedback for tests and benchmarks: item popularity
 *		following a power law, user activity following a power law, and
 *		planted low-rank preferences, all from one seed.
 */
#ifndef IREC_SYNTHETIC_H
#define IREC_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

typedef struct SyntheticConfig
{
	size_t		n_users;
	size_t		n_items;
	size_t		n_interactions; /* target; the result has about this many */
	int			rank;			/* dimensions of the planted preferences */
	double		item_popularity_exponent;	/* Zipf exponent of item popularity */
	double		user_activity_exponent; /* Zipf exponent of user activity */
	double		signal;			/* strength of the planted preferences */
	uint64_t	seed;
} SyntheticConfig;

/* Bytes of workspace synthetic_generate needs. */
size_t		synthetic_workspace_bytes(const SyntheticConfig *config);

/*
 * synthetic_generate: write up to `capacity` distinct (user, item) pairs with
 * an integer-valued weight (a play count) into the output arrays, grouped by
 * user; returns how many were written.  Each user draws items from the
 * popularity distribution and keeps one with probability
 * σ(signal·(z − 1.5)), z = ⟨u, v⟩ scaled to unit variance, so popular items
 * dominate but each user's choices follow its planted taste (signal 0:
 * popularity only).
 */
size_t		synthetic_generate(const SyntheticConfig *config, int32_t *users,
							   int32_t *items, float *weights, size_t capacity,
							   void *workspace);

#endif							/* IREC_SYNTHETIC_H */
