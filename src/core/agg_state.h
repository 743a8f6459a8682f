/*
 * agg_state.h
 *		Layout checks for the double precision[] states of irec's aggregates.
 *
 * The states are plain arrays so that parallel query and Citus can ship
 * them (as text between nodes), which also means a client can hand any
 * array to a combine, final or solve function.  These checks decide whether
 * an array is a state of the expected layout before anything indexes into
 * it; they are in the core so that test/fuzz drives exactly this code.
 */
#ifndef IREC_AGG_STATE_H
#define IREC_AGG_STATE_H

#include <stddef.h>

/*
 * A d×d double state must stay under PostgreSQL's 1 GB allocation limit:
 * 8192² doubles are 512 MiB.
 */
#define AGG_STATE_MAX_GRAMIAN_DIMS 8192

typedef enum AggStateLayout
{
	AGG_STATE_EMBEDDING_SUM,	/* {count, s[0..d)}: sum(embedding), avg(embedding) */
	AGG_STATE_GRAMIAN,			/* {d, G[0..d²)}: irec_gramian */
	AGG_STATE_IALS_ACCUM		/* {d, count, A[0..d²), b[0..d)}: irec_ials_accum */
} AggStateLayout;

typedef enum AggStateStatus
{
	AGG_STATE_OK = 0,
	AGG_STATE_TOO_SHORT,		/* fewer values than the header */
	AGG_STATE_BAD_DIMS,			/* header dimension not an integer in range */
	AGG_STATE_BAD_LENGTH,		/* length disagrees with the header dimension */
	AGG_STATE_BAD_COUNT			/* row count negative, fractional or not finite */
} AggStateStatus;

/* Number of values of a state of `layout` for `dims` dimensions. */
size_t		agg_state_length(AggStateLayout layout, int dims);

/*
 * agg_state_dims: check that values[0..n) is a state of `layout`; on
 * success set *dims.  n = 0 (the initial '{}') is not a state here: callers
 * treat it as "no rows yet" before asking.
 */
AggStateStatus agg_state_dims(AggStateLayout layout, const double *values, size_t n, int *dims);

/* into[k] += from[k] for the values after the dimension header. */
void		agg_state_add(AggStateLayout layout, double *into, const double *from, size_t n);

#endif							/* IREC_AGG_STATE_H */
