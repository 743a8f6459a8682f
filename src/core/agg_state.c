/*
 * agg_state.c
 *		Layout checks for aggregate states (see agg_state.h).
 */
#include "core/agg_state.h"

#include <math.h>

#include "core/embedding_codec.h"

size_t
agg_state_length(AggStateLayout layout, int dims)
{
	size_t		d = (size_t) dims;

	switch (layout)
	{
		case AGG_STATE_EMBEDDING_SUM:
			return 1 + d;
		case AGG_STATE_GRAMIAN:
			return 1 + d * d;
		case AGG_STATE_IALS_ACCUM:
			return 2 + d * d + d;
	}
	return 0;
}

/* A row count: a non-negative integer below 2^53 (exact in a double). */
static int
valid_count(double count)
{
	return count >= 0 && count <= 9007199254740992.0 && count == floor(count);
}

AggStateStatus
agg_state_dims(AggStateLayout layout, const double *values, size_t n, int *dims)
{
	double		d;

	if (layout == AGG_STATE_EMBEDDING_SUM)
	{
		/* the dimension is implied by the length; the header is the count */
		if (n < 1)
			return AGG_STATE_TOO_SHORT;
		if (n - 1 > EMBEDDING_MAX_DIMS)
			return AGG_STATE_BAD_LENGTH;
		if (!valid_count(values[0]))
			return AGG_STATE_BAD_COUNT;
		/* rows without a dimension: only the initial '{0}' has none */
		if (n == 1 && values[0] != 0)
			return AGG_STATE_BAD_LENGTH;
		*dims = (int) (n - 1);
		return AGG_STATE_OK;
	}
	if (n < (layout == AGG_STATE_GRAMIAN ? 1u : 2u))
		return AGG_STATE_TOO_SHORT;
	d = values[0];
	/* the comparisons are false for NaN, so NaN is refused too */
	if (!(d >= 1 && d <= AGG_STATE_MAX_GRAMIAN_DIMS) || d != floor(d))
		return AGG_STATE_BAD_DIMS;
	if (n != agg_state_length(layout, (int) d))
		return AGG_STATE_BAD_LENGTH;
	if (layout == AGG_STATE_IALS_ACCUM && !valid_count(values[1]))
		return AGG_STATE_BAD_COUNT;
	*dims = (int) d;
	return AGG_STATE_OK;
}

void
agg_state_add(AggStateLayout layout, double *into, const double *from, size_t n)
{
	/* the sum state's header is its count, which adds like the rest */
	size_t		first = layout == AGG_STATE_EMBEDDING_SUM ? 0 : 1;

	for (size_t k = first; k < n; k++)
		into[k] += from[k];
}
