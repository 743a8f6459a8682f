/*
 * synthetic_data.c
 *		irec_synthetic(): generated interactions as a set-returning function,
 *		for tests and benchmarks (core/synthetic.c does the work).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "core/synthetic.h"
#include "irec.h"

static void
check_arg(bool ok, const char *message, const char *hint)
{
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", message), errhint("%s", hint)));
}

PG_FUNCTION_INFO_V1(irec_synthetic);
Datum
irec_synthetic(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SyntheticConfig config;
	void	   *workspace;
	int32	   *users;
	int32	   *items;
	float	   *weights;
	size_t		count;
	double		bytes;

	for (int arg = 0; arg < 8; arg++)
		if (PG_ARGISNULL(arg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("arguments of irec_synthetic must not be NULL"),
					 errhint("Pass numbers of users, items and interactions, like irec_synthetic(1000, 500, 20000).")));
	check_arg(PG_GETARG_INT32(0) >= 1, "n_users must be at least 1", "Ask for at least one user.");
	check_arg(PG_GETARG_INT32(1) >= 2, "n_items must be at least 2", "Ask for at least two items.");
	check_arg(PG_GETARG_INT64(2) >= 1 && PG_GETARG_INT64(2) <= 1000000000,
			  "n_interactions must be between 1 and 1000000000", "Ask for fewer interactions.");
	check_arg(PG_GETARG_INT32(3) >= 1 && PG_GETARG_INT32(3) <= 1024,
			  "rank must be between 1 and 1024", "A rank of 8 to 32 plants realistic preferences.");
	check_arg(isfinite(PG_GETARG_FLOAT8(4)) && PG_GETARG_FLOAT8(4) >= 0 && PG_GETARG_FLOAT8(4) <= 10,
			  "item_popularity_exponent must be between 0 and 10", "Values near 1 mimic real catalogues.");
	check_arg(isfinite(PG_GETARG_FLOAT8(5)) && PG_GETARG_FLOAT8(5) >= 0 && PG_GETARG_FLOAT8(5) <= 10,
			  "user_activity_exponent must be between 0 and 10", "Values between 0.3 and 1 mimic real users.");
	check_arg(isfinite(PG_GETARG_FLOAT8(6)) && PG_GETARG_FLOAT8(6) >= 0 && PG_GETARG_FLOAT8(6) <= 100,
			  "signal must be between 0 and 100", "0 gives popularity only; 2 to 8 plants clear preferences.");

	config.n_users = PG_GETARG_INT32(0);
	config.n_items = PG_GETARG_INT32(1);
	config.n_interactions = PG_GETARG_INT64(2);
	config.rank = PG_GETARG_INT32(3);
	config.item_popularity_exponent = PG_GETARG_FLOAT8(4);
	config.user_activity_exponent = PG_GETARG_FLOAT8(5);
	config.signal = PG_GETARG_FLOAT8(6);
	config.seed = (uint64) PG_GETARG_INT64(7);

	bytes = synthetic_workspace_bytes(&config) + 12.0 * config.n_interactions;
	irec_check_memory(bytes, "generating these interactions");

	InitMaterializedSRF(fcinfo, 0);
	workspace = MemoryContextAllocHuge(CurrentMemoryContext, synthetic_workspace_bytes(&config));
	users = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * config.n_interactions);
	items = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * config.n_interactions);
	weights = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * config.n_interactions);
	count = synthetic_generate(&config, users, items, weights, config.n_interactions, workspace);
	pfree(workspace);

	for (size_t k = 0; k < count; k++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		/* ids from 1, as in most real tables */
		values[0] = Int32GetDatum(users[k] + 1);
		values[1] = Int32GetDatum(items[k] + 1);
		values[2] = Float4GetDatum(weights[k]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((k & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(users);
	pfree(items);
	pfree(weights);
	return (Datum) 0;
}
