/*
 * test_agg_state.c
 *		Aggregate state layout checks against hand-built states: each layout
 *		accepted at its exact length, every malformed header refused.
 */
#include <math.h>
#include <string.h>

#include "core/agg_state.h"
#include "core/embedding_codec.h"

#include "unit.h"

static void
test_lengths(void)
{
	CHECK(agg_state_length(AGG_STATE_EMBEDDING_SUM, 3) == 4);
	CHECK(agg_state_length(AGG_STATE_GRAMIAN, 3) == 10);
	CHECK(agg_state_length(AGG_STATE_IALS_ACCUM, 3) == 14);
	/* the largest Gramian state does not overflow a size_t computation */
	CHECK(agg_state_length(AGG_STATE_IALS_ACCUM, AGG_STATE_MAX_GRAMIAN_DIMS) ==
		  2 + 8192u * 8192u + 8192u);
}

static void
test_valid_states(void)
{
	double		gram[1 + 4] = {2, 1, 0, 0, 1};
	double		accum[2 + 4 + 2] = {2, 5, 1, 0, 0, 1, 3, 4};
	double		sum[3] = {7, 1.5, -2};
	int			d = -1;

	CHECK(agg_state_dims(AGG_STATE_GRAMIAN, gram, 5, &d) == AGG_STATE_OK && d == 2);
	d = -1;
	CHECK(agg_state_dims(AGG_STATE_IALS_ACCUM, accum, 8, &d) == AGG_STATE_OK && d == 2);
	d = -1;
	CHECK(agg_state_dims(AGG_STATE_EMBEDDING_SUM, sum, 3, &d) == AGG_STATE_OK && d == 2);
	/* '{0}' is the sum aggregates' initial state: no rows, no dimension yet */
	CHECK(agg_state_dims(AGG_STATE_EMBEDDING_SUM, sum, 1, &d) == AGG_STATE_BAD_LENGTH);
	sum[0] = 0;
	CHECK(agg_state_dims(AGG_STATE_EMBEDDING_SUM, sum, 1, &d) == AGG_STATE_OK && d == 0);
}

static void
test_invalid_states(void)
{
	double		v[16];
	int			d;

	memset(v, 0, sizeof(v));
	CHECK(agg_state_dims(AGG_STATE_GRAMIAN, v, 0, &d) == AGG_STATE_TOO_SHORT);
	CHECK(agg_state_dims(AGG_STATE_IALS_ACCUM, v, 1, &d) == AGG_STATE_TOO_SHORT);
	CHECK(agg_state_dims(AGG_STATE_EMBEDDING_SUM, v, 0, &d) == AGG_STATE_TOO_SHORT);
	/* headers that are not a dimension */
	{
		const double bad[] = {0, -1, 2.5, NAN, INFINITY, -INFINITY, 8193, 1e300};

		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		{
			v[0] = bad[k];
			CHECK(agg_state_dims(AGG_STATE_GRAMIAN, v, 5, &d) == AGG_STATE_BAD_DIMS);
			CHECK(agg_state_dims(AGG_STATE_IALS_ACCUM, v, 8, &d) == AGG_STATE_BAD_DIMS);
		}
	}
	/* the right header with one value too many or too few */
	v[0] = 2;
	CHECK(agg_state_dims(AGG_STATE_GRAMIAN, v, 4, &d) == AGG_STATE_BAD_LENGTH);
	CHECK(agg_state_dims(AGG_STATE_GRAMIAN, v, 6, &d) == AGG_STATE_BAD_LENGTH);
	CHECK(agg_state_dims(AGG_STATE_IALS_ACCUM, v, 7, &d) == AGG_STATE_BAD_LENGTH);
	/* an accumulation's row count must be a non-negative integer */
	{
		const double bad[] = {-1, 0.5, NAN, INFINITY, 1e300};

		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		{
			v[1] = bad[k];
			CHECK(agg_state_dims(AGG_STATE_IALS_ACCUM, v, 8, &d) == AGG_STATE_BAD_COUNT);
			v[0] = bad[k];
			CHECK(agg_state_dims(AGG_STATE_EMBEDDING_SUM, v, 3, &d) == AGG_STATE_BAD_COUNT);
			v[0] = 2;
		}
	}
	/* a sum state longer than the largest embedding */
	{
		static double big[EMBEDDING_MAX_DIMS + 2];

		CHECK(agg_state_dims(AGG_STATE_EMBEDDING_SUM, big, EMBEDDING_MAX_DIMS + 1, &d) == AGG_STATE_OK &&
			  d == EMBEDDING_MAX_DIMS);
		CHECK(agg_state_dims(AGG_STATE_EMBEDDING_SUM, big, EMBEDDING_MAX_DIMS + 2, &d) == AGG_STATE_BAD_LENGTH);
	}
}

static void
test_add_keeps_header(void)
{
	double		a[5] = {2, 1, 2, 3, 4};
	double		b[5] = {2, 10, 20, 30, 40};
	double		s[3] = {1, 5, 6};
	double		t[3] = {2, 1, 1};

	agg_state_add(AGG_STATE_GRAMIAN, a, b, 5);
	CHECK(a[0] == 2 && a[1] == 11 && a[4] == 44);
	/* the sum state's header is a count and adds */
	agg_state_add(AGG_STATE_EMBEDDING_SUM, s, t, 3);
	CHECK(s[0] == 3 && s[1] == 6 && s[2] == 7);
}

int
main(void)
{
	RUN_TEST(test_lengths);
	RUN_TEST(test_valid_states);
	RUN_TEST(test_invalid_states);
	RUN_TEST(test_add_keeps_header);
	return unit_tests_failed != 0;
}
