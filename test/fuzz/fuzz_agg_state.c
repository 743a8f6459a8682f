/*
 * fuzz_agg_state.c
 *		libFuzzer target: the aggregate state checks.
 *
 * The input's first byte picks a layout, the rest is read as doubles (the
 * values a client can put in a double precision[]).  Whatever the check
 * accepts must be exactly as long as its layout says, have a dimension in
 * range and be safe to combine with itself; the combine runs under ASan, so
 * an accepted state that is shorter than its header claims is caught.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/agg_state.h"
#include "core/embedding_codec.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AggStateLayout layout;
	size_t		n;
	double	   *values;
	double	   *sum;
	int			dims = -1;

	if (size < 1)
		return 0;
	layout = (AggStateLayout) (data[0] % 3);
	n = (size - 1) / sizeof(double);
	/* exactly n doubles, so ASan sees any read past the state */
	values = malloc(n * sizeof(double) + 1);
	memcpy(values, data + 1, n * sizeof(double));
	if (agg_state_dims(layout, values, n, &dims) == AGG_STATE_OK)
	{
		if (n != agg_state_length(layout, dims))
			abort();
		if (layout == AGG_STATE_EMBEDDING_SUM ?
			(dims < 0 || dims > EMBEDDING_MAX_DIMS) :
			(dims < 1 || dims > AGG_STATE_MAX_GRAMIAN_DIMS || values[0] != dims))
			abort();
		if (layout != AGG_STATE_GRAMIAN)
		{
			double		count = values[layout == AGG_STATE_EMBEDDING_SUM ? 0 : 1];

			if (!(count >= 0) || count != floor(count))
				abort();
		}
		sum = malloc(n * sizeof(double) + 1);
		memcpy(sum, values, n * sizeof(double));
		agg_state_add(layout, sum, values, n);
		if (layout != AGG_STATE_EMBEDDING_SUM && sum[0] != values[0])
			abort();
		free(sum);
	}
	free(values);
	return 0;
}
