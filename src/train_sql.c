/*
 * train_sql.c
 *		irec_train(engine => 'sql'): each iALS half-step is one INSERT/CREATE
 *		... SELECT ... GROUP BY over the interactions joined to the fixed
 *		side, issued through SPI (CITUS-NOTES.md, "one iALS epoch as
 *		distributed SQL").
 *
 * On a single server the work tables are temporary and every half-step is a
 * CREATE TABLE AS, whose SELECT PostgreSQL may run with parallel workers
 * (the aggregates are parallel safe and combinable).  When the source is a
 * Citus distributed table, the work tables are distributed: the
 * interactions by user and a second copy by item, each side's embeddings
 * colocated with its copy, and the fixed side broadcast as a reference
 * table; a half-step is then an INSERT ... SELECT ... GROUP BY the
 * distribution column, which Citus pushes down to the workers whole.  Only
 * the d×d Gramians and the broadcasts pass through the coordinator.
 *
 * The start point and every solve match the in-memory engine (same seed,
 * same initial rows, exact solves), so both give the same embeddings up to
 * float rounding.
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"

#include "irec.h"
#include "train_common.h"
#include "train_sql.h"

typedef struct Work
{
	bool		citus;
	const char *schema;			/* irec's schema, quoted */
	char	   *pairs_u;		/* (user_id, item_id, confidence) by user */
	char	   *pairs_i;		/* the same by item (= pairs_u on one server) */
	char	   *users;
	char	   *items;
	char	   *users_ref;		/* the fixed side's copy (= users on one server) */
	char	   *items_ref;
} Work;

static void
run(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "irec sql engine: %s failed: %s", sql, SPI_result_code_string(rc));
}

static void
runf(const char *format,...) pg_attribute_printf(1, 2);

static void
runf(const char *format,...)
{
	StringInfoData sql;
	va_list		args;

	initStringInfo(&sql);
	for (;;)
	{
		int			needed;

		va_start(args, format);
		needed = appendStringInfoVA(&sql, format, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&sql, needed);
	}
	run(sql.data);
	pfree(sql.data);
}

/*
 * One value of a one-row query; a varlena result is copied to the caller's
 * context (by-value results need no copy).
 */
static Datum
query_value(const char *sql, int nargs, Oid *types, Datum *values, bool *isnull)
{
	Datum		result;
	int16		typlen;
	bool		typbyval;

	if (SPI_execute_with_args(sql, nargs, types, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "irec sql engine: %s returned no row", sql);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
	get_typlenbyval(SPI_gettypeid(SPI_tuptable->tupdesc, 1), &typlen, &typbyval);
	if (!*isnull && !typbyval)
		result = SPI_datumTransfer(result, false, typlen);
	return result;
}

static bool
source_is_distributed(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	bool		isnull;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	return DatumGetBool(query_value("SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = $1)",
									1, types, values, &isnull));
}

bool
train_sql_begin(Oid relid)
{
	if (!source_is_distributed(relid))
		return false;
	run("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'");
	/*
	 * Reads too: a query over several connections per worker (the shape
	 * defaults' counts, the source's checks) makes Citus refuse to
	 * distribute a work table later in the transaction ("a parallel query
	 * was executed in this transaction").
	 */
	run("SET LOCAL citus.max_adaptive_executor_pool_size TO 1");
	return true;
}

static float8 *
gram_values(Datum gram, int dims)
{
	ArrayType  *a = DatumGetArrayTypeP(gram);

	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != dims * dims)
		elog(ERROR, "irec sql engine: malformed Gramian");
	return (float8 *) ARR_DATA_PTR(a);
}

/* irec_gramian of one side's embeddings, as a float8[] Datum in the caller's context. */
static Datum
gramian_of(const Work *work, const char *table)
{
	bool		isnull;
	Datum		gram = query_value(psprintf("SELECT %s.irec_gramian(embedding) FROM %s", work->schema, table),
								   0, NULL, NULL, &isnull);

	if (isnull)
		elog(ERROR, "irec sql engine: %s is empty", table);
	return gram;
}

/*
 * half_step: new embeddings of one side from its interactions joined to the
 * other side's current embeddings and Gramian.
 */
static void
half_step(const SqlTrainOptions *o, const Work *work, const char *pairs, const char *key,
		  const char *other_key, const char *other, const char *target_table, Datum gram,
		  int64 n_other)
{
	StringInfoData select;
	Oid			types[1] = {FLOAT8ARRAYOID};
	Datum		values[1] = {gram};

	initStringInfo(&select);
	appendStringInfo(&select,
					 "SELECT p.%s, %s.irec_ials_solve(%s.irec_ials_accum(o.embedding, p.confidence, %s), "
					 "$1, %s, %s, %s, " INT64_FORMAT ") AS embedding "
					 "FROM %s p JOIN %s o ON o.%s = p.%s GROUP BY p.%s",
					 key, work->schema, work->schema, float8out_internal(o->unobserved_weight),
					 float8out_internal(o->regularization), float8out_internal(o->regularization_exponent),
					 float8out_internal(o->unobserved_weight), n_other,
					 pairs, other, other_key, other_key, key);
	if (work->citus)
	{
		/* GROUP BY the distribution column into a colocated table: pushed down whole */
		char	   *sql = psprintf("INSERT INTO %s %s ON CONFLICT (%s) DO UPDATE SET embedding = EXCLUDED.embedding",
								   target_table, select.data, key);

		if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "irec sql engine: half-step failed");
	}
	else
	{
		/* CREATE TABLE AS lets the SELECT run on parallel workers */
		char	   *sql = psprintf("CREATE TEMP TABLE irec_sql_scratch AS %s", select.data);

		if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) < 0)
			elog(ERROR, "irec sql engine: half-step failed");
		runf("DROP TABLE %s", target_table);
		runf("ALTER TABLE pg_temp.irec_sql_scratch RENAME TO %s", strrchr(target_table, '.') + 1);
	}
}

/* Citus: refresh the reference copy of one side. */
static void
broadcast(const Work *work, const char *from, const char *to)
{
	if (!work->citus)
		return;
	runf("DELETE FROM %s", to);
	runf("INSERT INTO %s SELECT * FROM %s", to, from);
}

/*
 * loss: the iALS objective over the current embeddings, the same terms as
 * ials_loss: Σ_S [α(ŷ−1)² − α0ŷ²] + α0⟨G_C, G_I⟩ + Σ λ_row‖x‖².
 */
static double
loss_of(const SqlTrainOptions *o, const Work *work, Datum user_gram, Datum item_gram,
		int64 n_users, int64 n_items)
{
	bool		isnull;
	double		data_term;
	double		reg;
	double		all_pairs = 0.0;
	float8	   *gu = gram_values(user_gram, o->dims);
	float8	   *gi = gram_values(item_gram, o->dims);
	const char *lambda = float8out_internal(o->regularization);
	const char *nu = float8out_internal(o->regularization_exponent);
	const char *a0 = float8out_internal(o->unobserved_weight);

	data_term = DatumGetFloat8(query_value(
										   psprintf("SELECT coalesce(sum(p.confidence * (s - 1) ^ 2 - %s * s ^ 2), 0) FROM "
													"(SELECT p.confidence, %s.inner_product(u.embedding, i.embedding) AS s "
													"FROM %s p JOIN %s u ON u.user_id = p.user_id JOIN %s i ON i.item_id = p.item_id) p",
													a0, work->schema, work->pairs_u, work->users, work->items_ref),
										   0, NULL, NULL, &isnull));
	reg = DatumGetFloat8(query_value(
									 psprintf("SELECT (SELECT coalesce(sum(%s * power(c.n + %s * " INT64_FORMAT ", %s) * %s.inner_product(u.embedding, u.embedding)), 0) "
											  " FROM %s u JOIN (SELECT user_id, count(*) AS n FROM %s GROUP BY user_id) c ON c.user_id = u.user_id) + "
											  "(SELECT coalesce(sum(%s * power(c.n + %s * " INT64_FORMAT ", %s) * %s.inner_product(i.embedding, i.embedding)), 0) "
											  " FROM %s i JOIN (SELECT item_id, count(*) AS n FROM %s GROUP BY item_id) c ON c.item_id = i.item_id)",
											  lambda, a0, n_items, nu, work->schema, work->users, work->pairs_u,
											  lambda, a0, n_users, nu, work->schema, work->items, work->pairs_i),
									 0, NULL, NULL, &isnull));
	for (int k = 0; k < o->dims * o->dims; k++)
		all_pairs += gu[k] * gi[k];
	return data_term + o->unobserved_weight * all_pairs + reg;
}

void
train_sql(const SqlTrainOptions *o, const ModelTarget *target, double *loss, SqlTrainResult *result)
{
	Work		work;
	struct timespec start;
	const char *u = quote_identifier(o->source.user_column);
	const char *i = quote_identifier(o->source.item_column);
	Oid			user_type;
	Oid			item_type;
	char	   *source;
	char	   *weight;
	char	   *confidence;
	bool		isnull;
	Datum		item_gram;
	Datum		user_gram;

	clock_gettime(CLOCK_MONOTONIC, &start);
	interactions_check_source(&o->source, &user_type, &item_type);
	source = quote_qualified_identifier(get_namespace_name(get_rel_namespace(o->source.relid)),
										get_rel_name(o->source.relid));
	result->source_name = source;
	work.schema = quote_identifier(irec_extension_schema());
	/*
	 * Everything runs in the caller's transaction, which creates,
	 * distributes, fills and reads the work tables: Citus can only see its
	 * own writes across statements when each worker uses one connection.
	 */
	work.citus = train_sql_begin(o->source.relid);
	result->distributed = work.citus;

	/* counts, NULLs and weights, checked as the in-memory loader does */
	{
		char	   *where_nulls = psprintf("%s IS NULL OR %s IS NULL%s%s", u, i,
										   o->source.weight_column ? " OR " : "",
										   o->source.weight_column
										   ? psprintf("%s IS NULL", quote_identifier(o->source.weight_column)) : "");

		result->skipped_rows = DatumGetInt64(query_value(psprintf("SELECT count(*) FILTER (WHERE %s) FROM %s",
																  where_nulls, source),
														 0, NULL, NULL, &isnull));
		if (o->source.weight_column)
		{
			const char *w = quote_identifier(o->source.weight_column);

			if (DatumGetInt64(query_value(psprintf("SELECT count(*) FROM %s WHERE %s IS NOT NULL AND NOT (%s::float8 >= 0 AND %s::float8 < 'Infinity')",
												   source, w, w, w), 0, NULL, NULL, &isnull)) > 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s has negative, NaN or infinite weights", source),
						 errhint("Filter or fix such rows, for example through a view.")));
		}
	}
	weight = o->source.weight_column
		? psprintf("sum(s.%s::float8)::float4", quote_identifier(o->source.weight_column))
		: pstrdup("count(*)::float4");
	/* the confidence exactly as the in-memory engine computes it, in float4 */
	confidence = o->log_confidence
		? psprintf("(1 + %s * ln(1 + w::float8 / %s))::float4", float8out_internal(o->alpha), float8out_internal(o->epsilon))
		: psprintf("(1 + %s * w::float8)::float4", float8out_internal(o->alpha));

	work.pairs_u = work.citus ? quote_qualified_identifier(target->schema, "irec_sql_pairs_u") : "pg_temp.irec_sql_pairs";
	work.pairs_i = work.citus ? quote_qualified_identifier(target->schema, "irec_sql_pairs_i") : work.pairs_u;
	work.users = work.citus ? quote_qualified_identifier(target->schema, "irec_sql_users") : "pg_temp.irec_sql_users";
	work.items = work.citus ? quote_qualified_identifier(target->schema, "irec_sql_items") : "pg_temp.irec_sql_items";
	work.users_ref = work.citus ? quote_qualified_identifier(target->schema, "irec_sql_users_ref") : work.users;
	work.items_ref = work.citus ? quote_qualified_identifier(target->schema, "irec_sql_items_ref") : work.items;

	/* the work tables */
	runf("CREATE %s TABLE %s AS SELECT s.%s AS user_id, s.%s AS item_id, %s AS confidence FROM "
		 "(SELECT s.%s%s, s.%s%s, %s AS w FROM %s s WHERE s.%s IS NOT NULL AND s.%s IS NOT NULL%s%s GROUP BY 1, 2) s",
		 work.citus ? "" : "TEMP", work.pairs_u, u, i, confidence,
		 u, user_type == TEXTOID ? "::text" : "", i, item_type == TEXTOID ? "::text" : "",
		 weight, source, u, i,
		 o->source.weight_column ? " AND s." : "",
		 o->source.weight_column ? psprintf("%s IS NOT NULL", quote_identifier(o->source.weight_column)) : "");
	if (work.citus)
	{
		runf("SELECT create_distributed_table('%s', 'user_id')", work.pairs_u);
		runf("CREATE TABLE %s AS SELECT * FROM %s", work.pairs_i, work.pairs_u);
		runf("SELECT create_distributed_table('%s', 'item_id')", work.pairs_i);
	}
	result->n_interactions = DatumGetInt64(query_value(psprintf("SELECT count(*) FROM %s", work.pairs_u), 0, NULL, NULL, &isnull));
	if (result->n_interactions == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s has no interactions to train on", source),
				 errhint("Train from a table with at least one row whose user, item and weight are not NULL.")));
	/* the in-memory engine's dense order: dense_rank over the ids */
	runf("CREATE %s TABLE %s AS SELECT user_id, %s.irec_init_embedding(" INT64_FORMAT ", 1, "
		 "(dense_rank() OVER (ORDER BY user_id) - 1)::bigint, %d, %s) AS embedding "
		 "FROM (SELECT DISTINCT user_id FROM %s) s",
		 work.citus ? "" : "TEMP", work.users, work.schema, o->seed, o->dims,
		 float8out_internal(o->init_std), work.pairs_u);
	runf("CREATE %s TABLE %s AS SELECT item_id, %s.irec_init_embedding(" INT64_FORMAT ", 2, "
		 "(dense_rank() OVER (ORDER BY item_id) - 1)::bigint, %d, %s) AS embedding "
		 "FROM (SELECT DISTINCT item_id FROM %s) s",
		 work.citus ? "" : "TEMP", work.items, work.schema, o->seed, o->dims,
		 float8out_internal(o->init_std), work.pairs_u);
	if (work.citus)
	{
		runf("ALTER TABLE %s ADD PRIMARY KEY (user_id)", work.users);
		runf("ALTER TABLE %s ADD PRIMARY KEY (item_id)", work.items);
		runf("SELECT create_distributed_table('%s', 'user_id', colocate_with => '%s')", work.users, work.pairs_u);
		runf("SELECT create_distributed_table('%s', 'item_id', colocate_with => '%s')", work.items, work.pairs_i);
		runf("CREATE TABLE %s AS SELECT * FROM %s", work.users_ref, work.users);
		runf("CREATE TABLE %s AS SELECT * FROM %s", work.items_ref, work.items);
		runf("SELECT create_reference_table('%s')", work.users_ref);
		runf("SELECT create_reference_table('%s')", work.items_ref);
	}
	result->n_users = DatumGetInt64(query_value(psprintf("SELECT count(*) FROM %s", work.users), 0, NULL, NULL, &isnull));
	result->n_items = DatumGetInt64(query_value(psprintf("SELECT count(*) FROM %s", work.items), 0, NULL, NULL, &isnull));
	if (result->n_items < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has interactions with only one item", source),
				 errhint("A recommender needs at least two items to rank.")));
	result->load_seconds = seconds_since(&start);

	clock_gettime(CLOCK_MONOTONIC, &start);
	item_gram = gramian_of(&work, work.items);
	for (int epoch = 0; epoch < o->epochs; epoch++)
	{
		struct timespec epoch_start;

		clock_gettime(CLOCK_MONOTONIC, &epoch_start);
		half_step(o, &work, work.pairs_u, "user_id", "item_id", work.items_ref, work.users,
				  item_gram, result->n_items);
		broadcast(&work, work.users, work.users_ref);
		user_gram = gramian_of(&work, work.users);
		half_step(o, &work, work.pairs_i, "item_id", "user_id", work.users_ref, work.items,
				  user_gram, result->n_users);
		broadcast(&work, work.items, work.items_ref);
		item_gram = gramian_of(&work, work.items);
		loss[epoch] = loss_of(o, &work, user_gram, item_gram, result->n_users, result->n_items);
		CHECK_FOR_INTERRUPTS();
		if (!o->quiet)
			ereport(NOTICE,
					(errmsg("epoch %d/%d: loss %.6g, %.2f s", epoch + 1, o->epochs, loss[epoch],
							seconds_since(&epoch_start))));
	}
	result->train_seconds = seconds_since(&start);

	clock_gettime(CLOCK_MONOTONIC, &start);
	{
		float8	   *g = gram_values(item_gram, o->dims);

		result->item_gram = palloc(sizeof(float) * o->dims * o->dims);
		for (int k = 0; k < o->dims * o->dims; k++)
			result->item_gram[k] = (float) g[k];
	}
	model_write_from(target, psprintf("SELECT user_id, embedding FROM %s", work.users),
					 psprintf("SELECT item_id, embedding FROM %s", work.items), user_type, item_type, o->dims);
	if (work.citus)
		runf("DROP TABLE %s, %s, %s, %s, %s, %s", work.pairs_u, work.pairs_i, work.users, work.items,
			 work.users_ref, work.items_ref);
	else
		run("DROP TABLE pg_temp.irec_sql_pairs, pg_temp.irec_sql_users, pg_temp.irec_sql_items");
	result->write_seconds = seconds_since(&start);
}
