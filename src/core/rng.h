/*
 * rng.h
 *		Seeded pseudo-random numbers for initialization, sampling and
 *		synthetic data: SplitMix64 (Steele et al. 2014), small and fast, and
 *		splittable by seeding one stream per row or per thread.
 */
#ifndef IREC_RNG_H
#define IREC_RNG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Rng
{
	uint64_t	state;
} Rng;

static inline void
rng_seed(Rng *rng, uint64_t seed, uint64_t stream)
{
	rng->state = seed * 0x9E3779B97F4A7C15ULL + stream * 0xD1B54A32D192ED03ULL + 1;
}

static inline uint64_t
rng_next(Rng *rng)
{
	uint64_t	z = (rng->state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double
rng_uniform(Rng *rng)
{
	return (double) (rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal by Box-Muller (one of the pair; simplicity over speed). */
static inline double
rng_normal(Rng *rng)
{
	double		u1 = 1.0 - rng_uniform(rng);	/* (0, 1]: log is finite */
	double		u2 = rng_uniform(rng);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/*
 * rng_reservoir_slot: reservoir sampling of `capacity` items (Vitter's
 * algorithm R), called once per item offered: `seen` counts the items
 * offered so far, this one included, and *count the items kept (from 0).
 * Returns the slot this item goes into, or SIZE_MAX when it is not kept.
 */
static inline size_t
rng_reservoir_slot(Rng *rng, double seen, size_t capacity, size_t *count)
{
	double		r;

	if (*count < capacity)
		return (*count)++;
	r = rng_uniform(rng) * seen;
	return r < (double) capacity ? (size_t) r : SIZE_MAX;
}

#endif							/* IREC_RNG_H */
