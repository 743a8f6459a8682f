/*
 * train_sql.c
 *		irec_train(engine => 'sql'): iALS over work tables, each half-step
 *		solved by irec_als_shard_step (shard_step.c) where the interactions
 *		are: on Citus, one call per shard on the worker that holds it; on
 *		one server, one call over the whole table.
 *
 * Work tables, written in bulk from the interactions as the in-memory
 * engine loads them (interactions_load: its checks, sums and dense
 * numbering): the interactions by dense index, (row_idx, col_idx,
 * confidence), once by user and once by item; each side's ids and their
 * dense indices; each side's rows, in blocks of about 8 kB, in two tables
 * that the half-steps read and write in turn.  On Citus all of them but the
 * ids are distributed and colocated: the interactions by row_idx, each table with
 * an "anchor" that holds one row per shard naming that shard and the side
 * tables' shards on the same worker; the side tables by a copy_key with
 * one value per worker, so that each worker holds a whole copy of each
 * side.  A half-step is then
 *
 *	 INSERT INTO <other side table>
 *	 SELECT c.k, r.* FROM anchor a, LATERAL irec_als_shard_step(a.shard, ...,
 *	        a.<target's local shard>, a.local_key) r, LATERAL unnest(a.remote_keys) c(k)
 *
 * which Citus runs as one task per shard on the shard's worker; each task
 * reads its shard and the worker's copies of the embeddings straight from
 * the heap (the shard's rows stay cached in the worker's backend for the
 * transaction), solves with the in-memory engine's code and writes its
 * worker's own copy of the rows itself.  The target is distributed by
 * copy_key, not by the anchor's column, so Citus repartitions the rest:
 * each task writes its rows for the other workers into one file per target
 * shard, and each worker fetches its files from the others and inserts
 * them.  No row passes through the coordinator, which only sums the loss
 * from one worker's copy; the interactions pass through it once, at load.
 *
 * The start point and every solve match the in-memory engine (same seed,
 * same initial rows, same solver): exact solves agree to float rounding,
 * CG to its own tolerance.  Everything runs in the caller's transaction,
 * so an error anywhere (a worker lost mid-epoch) leaves the previous model.
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "access/xact.h"
#include "utils/timestamp.h"

#include "irec.h"
#include "train_common.h"
#include "shard_step.h"
#include "train_sql.h"

/* Where an epoch's seconds go (the NOTICE per epoch, and the scaling model). */
typedef struct SqlPhaseSeconds
{
	double		solve;			/* the half-steps' statements: read, solve, gather, write (every node) */
	double		coordinator;	/* here: the new rows into this side's table, their sums */
} SqlPhaseSeconds;

typedef struct Work
{
	bool		citus;
	const char *schema;			/* irec's schema, quoted */
	char	   *ids[2];			/* users, items: (id, idx) */
	char	   *pairs[2];		/* by user, by item: (row_idx, col_idx, confidence) */
	/*
	 * Each side's rows, in blocks of about 8 kB (block, row_count, loss,
	 * regularization: see shard_step.c), in two tables: a half-step reads
	 * the current one (CG's warm start) and writes the other, then they
	 * swap.  On one server they are temporary.
	 * On Citus they are unlogged (a training that fails is retried from
	 * the start, so they need no WAL), colocated with the interactions and
	 * distributed by a first column, copy_key, whose values fall one into
	 * a shard on each worker: every worker holds a whole copy of every
	 * side, written by the workers themselves (see half_step).
	 */
	char	   *side_table[2][2];	/* [side][buffer] */
	int			current[2];		/* the buffer holding each side's current rows */
	/* Citus only */
	char	   *anchor[2];		/* one row per shard of pairs[side]: see distribute_pairs */
	char	   *copy_keys;		/* '{k1,k2,...}': one copy_key per worker */
	int64		first_copy_key; /* the copy the coordinator reads */
	int64		n[2];
	int64		key;			/* irec_als_shard_step's cache key */
	int64		source_shards;	/* Citus: the source's shard count */
} Work;

/* The anchors' columns naming, on their worker, each side table's shard. */
static const char *const anchor_side_column[2][2] = {{"users_a", "users_b"}, {"items_a", "items_b"}};

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
	/*
	 * Where the coordinator holds shards too, its own shards go through a
	 * connection like a worker's: after local execution Citus refuses the
	 * commands that a half-step's repartitioning and the anchors' ANALYZE
	 * need ("a local execution has accessed a placement").
	 */
	run("SET LOCAL citus.enable_local_execution TO off");
	return true;
}

/*
 * Citus says what it does when it distributes a table ("Copying data from
 * local table..."): the engine's own work tables are not the user's
 * business, so its NOTICEs are held back while it sets them up.
 */
static int
hold_back_notices(void)
{
	int			level = NewGUCNestLevel();

	if (client_min_messages < WARNING)
		(void) set_config_option("client_min_messages", "warning", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* Where a half-step failed (a worker lost, a row not positive definite). */
typedef struct StepContext
{
	bool		citus;
	int			side;
	int			epoch;
	int			epochs;
} StepContext;

static void
step_error_context(void *arg)
{
	const StepContext *c = (const StepContext *) arg;

	errcontext("irec_train engine 'sql'%s, epoch %d of %d, the %s half-step",
			   c->citus ? " on Citus" : "", c->epoch + 1, c->epochs, c->side == 0 ? "user" : "item");
}

/* The one value of a one-row query, as text in the caller's context. */
static char *
query_text(const char *sql)
{
	char	   *value;

	if (SPI_execute(sql, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "irec sql engine: %s returned no row", sql);
	value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (value == NULL)
		elog(ERROR, "irec sql engine: %s returned NULL", sql);
	return pstrdup(value);
}

static int64
query_int64(const char *sql)
{
	bool		isnull;

	return DatumGetInt64(query_value(sql, 0, NULL, NULL, &isnull));
}

/*
 * Citus: distribute pairs[side] by row_idx (both sides colocated), and
 * make its anchor: one row per shard, whose row_idx falls into that shard
 * and which names it, so that a query over the anchor runs once per shard,
 * where the shard is.  The anchor's other columns (make_side_tables) name
 * the side tables' shards on the same worker.
 */
static void
distribute_pairs(const Work *work, int side)
{
	const char *pairs = work->pairs[side];
	const char *anchor = work->anchor[side];
	int64		shards;

	/* as many shards as the source has: the user's choice for this data */
	if (side == 0)
		runf("SELECT create_distributed_table('%s', 'row_idx', colocate_with => 'none', shard_count => " INT64_FORMAT ")",
			 pairs, work->source_shards);
	else
		runf("SELECT create_distributed_table('%s', 'row_idx', colocate_with => '%s')", pairs, work->pairs[0]);
	runf("SELECT truncate_local_data_after_distributing_table('%s')", pairs);
	runf("CREATE TABLE %s (row_idx integer, shard text, users_a text, users_b text, items_a text, items_b text, "
		 "local_key integer, remote_keys integer[])", anchor);
	runf("SELECT create_distributed_table('%s', 'row_idx', colocate_with => '%s')", anchor, pairs);
	shards = query_int64(psprintf("SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = '%s'::regclass", pairs));
	/*
	 * Hashed keys fall into every shard: among 64 per shard one misses a
	 * given shard with probability about e^-64.  A million more if not
	 * (each key's lookup is a microsecond: a million took 0.7 s here).
	 */
	for (int64 keys = 64 * shards;; keys = 1000000)
	{
		runf("TRUNCATE %s", anchor);
		runf("INSERT INTO %s (row_idx, shard) SELECT DISTINCT ON (s) v, shard_name('%s'::regclass, s) FROM "
			 "(SELECT v, get_shard_id_for_distribution_column('%s', v) AS s FROM generate_series(0, " INT64_FORMAT ") v) x "
			 "ORDER BY s, v", anchor, pairs, pairs, keys - 1);
		if (query_int64(psprintf("SELECT count(*) FROM %s", anchor)) == shards)
			break;
		if (keys >= 1000000)
			elog(ERROR, "irec sql engine: could not find a key for every shard of %s", pairs);
	}
}

/*
 * Citus: per worker (placement group) its first shard of the colocated
 * work tables, by hash range, as the first of anchor[0]'s keys that falls
 * into it: a local query over Citus's metadata (columns row_idx, groupid).
 */
static char *
first_shard_per_worker(const Work *work)
{
	char	   *keys = query_text(psprintf("SELECT '{' || string_agg(row_idx::text, ',') || '}' FROM %s",
										   work->anchor[0]));

	return psprintf("SELECT DISTINCT ON (p.groupid) k.v AS row_idx, p.groupid "
					"FROM unnest(%s::integer[]) k(v) "
					"JOIN pg_dist_shard s ON s.shardid = get_shard_id_for_distribution_column('%s', k.v) "
					"JOIN pg_dist_placement p ON p.shardid = s.shardid "
					"ORDER BY p.groupid, s.shardminvalue::integer",
					quote_literal_cstr(keys), work->pairs[0]);
}

/*
 * Citus: the side tables' copy keys, one per worker that holds shards of
 * the work tables: the key of the worker's first shard, so that a row
 * written once per key lands on every such worker.
 */
static void
choose_copy_keys(Work *work)
{
	work->copy_keys = query_text(psprintf("SELECT '{' || string_agg(row_idx::text, ',' ORDER BY groupid) || '}' FROM (%s) f",
										  first_shard_per_worker(work)));
	work->first_copy_key = query_int64(psprintf("SELECT (%s::integer[])[1]", quote_literal_cstr(work->copy_keys)));
}

/*
 * Citus: tell each anchor row the names of the side tables' shards on its
 * worker (those of the worker's first shard), which its half-steps read and
 * write, the copy key of those shards and the other workers' copy keys.
 */
static void
tell_anchors(const Work *work)
{
	char	   *first = first_shard_per_worker(work);

	for (int side = 0; side < 2; side++)
	{
		StringInfoData sql;
		char	   *keys = query_text(psprintf("SELECT '{' || string_agg(row_idx::text, ',') || '}' FROM %s",
											   work->anchor[side]));

		initStringInfo(&sql);
		appendStringInfo(&sql, "SELECT k.v, shard_name('%s'::regclass, get_shard_id_for_distribution_column('%s', k.v))",
						 work->pairs[side], work->pairs[side]);
		for (int t = 0; t < 4; t++)
			appendStringInfo(&sql, ", shard_name('%s'::regclass, get_shard_id_for_distribution_column('%s', f.row_idx))",
							 work->side_table[t / 2][t % 2], work->side_table[t / 2][t % 2]);
		/* this worker's copy key, and the others' */
		appendStringInfo(&sql, ", f.row_idx, (SELECT coalesce(array_agg(c), '{}') FROM unnest(%s::integer[]) c "
						 "WHERE c <> f.row_idx)", quote_literal_cstr(work->copy_keys));
		appendStringInfo(&sql, " FROM unnest(%s::integer[]) k(v) "
						 "JOIN pg_dist_placement p ON p.shardid = get_shard_id_for_distribution_column('%s', k.v) "
						 "JOIN (%s) f ON f.groupid = p.groupid ORDER BY k.v",
						 quote_literal_cstr(keys), work->pairs[side], first);
		if (SPI_execute(sql.data, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "irec sql engine: could not place the anchors of %s", work->pairs[side]);
		{
			SPITupleTable *rows = SPI_tuptable;
			uint64		n = SPI_processed;
			StringInfoData insert;

			if (n != (uint64) work->source_shards)
				elog(ERROR, "irec sql engine: " UINT64_FORMAT " of " INT64_FORMAT " anchors of %s are on a worker with copies",
					 n, work->source_shards, work->pairs[side]);
			initStringInfo(&insert);
			appendStringInfo(&insert, "INSERT INTO %s VALUES ", work->anchor[side]);
			for (uint64 r = 0; r < n; r++)
			{
				appendStringInfo(&insert, "%s(%s", r ? ", " : "", SPI_getvalue(rows->vals[r], rows->tupdesc, 1));
				for (int c = 2; c <= 8; c++)
					appendStringInfo(&insert, ", %s", quote_literal_cstr(SPI_getvalue(rows->vals[r], rows->tupdesc, c)));
				appendStringInfoChar(&insert, ')');
			}
			runf("TRUNCATE %s", work->anchor[side]);
			run(insert.data);
		}
		/*
		 * One row per shard, which the workers' planners must know: else
		 * they take an unanalyzed anchor shard for thousands of rows, cost
		 * each half-step's task query above jit_above_cost and compile it,
		 * which took most of an epoch (5M interactions, dims 64, two
		 * workers on loopback: 0.80-0.98 s per epoch with JIT compiling,
		 * 0.53-0.68 s with jit off on the workers).
		 */
		runf("ANALYZE %s", work->anchor[side]);
	}
}

/*
 * Each side's two tables, the first holding the initial rows as the
 * in-memory engine draws them; on Citus distributed by copy_key, the
 * first with one copy of the rows per worker.
 */
static void
make_side_tables(const SqlTrainOptions *o, Work *work, const ModelTarget *target)
{
	static const char *const names[2][2] = {{"irec_sql_users_a", "irec_sql_users_b"},
	{"irec_sql_items_a", "irec_sql_items_b"}};

	for (int side = 0; side < 2; side++)
		for (int buffer = 0; buffer < 2; buffer++)
		{
			const char *table = work->citus ? quote_qualified_identifier(target->schema, names[side][buffer])
				: psprintf("pg_temp.%s", names[side][buffer]);
			/* blocks of about 8 kB: one heap tuple each (shard_step.c) */
			const char *rows = psprintf("SELECT * FROM %s.irec_als_initial_blocks(" INT64_FORMAT ", %d, " INT64_FORMAT
										", %d, %s)",
										work->schema, buffer == 1 ? (int64) 0 : work->n[side], o->dims, o->seed,
										side + 1, float8out_internal(o->init_std));

			work->side_table[side][buffer] = (char *) table;
			if (!work->citus)
			{
				runf("CREATE TEMP TABLE %s WITH (toast_tuple_target = 8160) AS %s", names[side][buffer], rows);
				continue;
			}
			runf("CREATE UNLOGGED TABLE %s WITH (toast_tuple_target = 8160) AS "
				 "SELECT c.k AS copy_key, r.* FROM (%s) r, unnest(%s::integer[]) c(k)",
				 table, rows, quote_literal_cstr(work->copy_keys));
			runf("SELECT create_distributed_table('%s', 'copy_key', colocate_with => '%s')", table, work->pairs[0]);
			runf("SELECT truncate_local_data_after_distributing_table('%s')", table);
		}
	work->current[0] = work->current[1] = 0;
}

/* A side's Gramian (dims × dims) from its rows on this server. */
static void
side_gramian(const SqlTrainOptions *o, const char *table, float *gram)
{
	size_t		n;
	int			threads = irec_thread_count(o->threads);
	float	   *x;
	float	   *partials = palloc(sizeof(float) * threads * o->dims * o->dims);

	/* irec_train's snapshot predates the table: read it as of now */
	CommandCounterIncrement();
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	x = shard_step_read_embeddings(table, o->dims, CurrentMemoryContext, &n);
	PopActiveSnapshot();

	gramian(x, n, o->dims, threads, gram, partials);
	pfree(partials);
}

/*
 * half_step: new rows of `side` (0 users, 1 items) against the other side's
 * current rows; sums their loss shares and regularization terms.
 */
static void
half_step(const SqlTrainOptions *o, Work *work, int side, int step, double *loss, double *regularization,
		  SqlPhaseSeconds *seconds)
{
	struct timespec clock;
	int			other = 1 - side;
	int			from = work->current[side];
	int			to = 1 - from;
	char	   *call;

	/*
	 * On Citus the anchor names the side tables' shards on its worker, and
	 * each task writes its worker's own copy of the rows itself.  The loss
	 * after the item half-step only, as the in-memory engine.
	 */
	call = psprintf("%s.irec_als_shard_step(%s, %s, %s, %d, %s, %s, %s, %d, %d, " INT64_FORMAT ", %d, %s%s)",
					work->schema, work->citus ? "a.shard" : quote_literal_cstr(work->pairs[side]),
					work->citus ? psprintf("a.%s", anchor_side_column[other][work->current[other]])
					: quote_literal_cstr(work->side_table[other][work->current[other]]),
					work->citus ? psprintf("a.%s", anchor_side_column[side][from])
					: quote_literal_cstr(work->side_table[side][from]),
					o->dims,
					float8out_internal(o->regularization), float8out_internal(o->regularization_exponent),
					float8out_internal(o->unobserved_weight),
					o->solver == IALS_SOLVER_CG ? o->cg_steps : 0, o->threads, work->key, step,
					side == 1 ? "true" : "false",
					work->citus ? psprintf(", a.%s, a.local_key", anchor_side_column[side][to]) : "");
	clock_gettime(CLOCK_MONOTONIC, &clock);
	runf("TRUNCATE %s", work->side_table[side][to]);
	if (work->citus)
		/*
		 * Each shard's task runs on its worker and writes its rows into the
		 * worker's own copy; the rows for the other workers' copies, once
		 * per remote key, go to the table's shards there.  Citus
		 * repartitions an INSERT ... SELECT whose target is distributed by
		 * another column: the tasks write those rows into files by target
		 * shard, and each worker fetches its files from the others itself,
		 * so no row passes through the coordinator.  The copies depend on r,
		 * so that the solve runs once per shard whatever the join order.
		 * The task's own writes are seen by the rest of the transaction
		 * because it uses one connection per worker (train_sql_begin).
		 */
		runf("INSERT INTO %s SELECT c.k, r.* FROM %s a CROSS JOIN LATERAL %s r "
			 "CROSS JOIN LATERAL unnest(CASE WHEN r.block IS NOT NULL THEN a.remote_keys END) c(k)",
			 work->side_table[side][to], work->anchor[side], call);
	else
		runf("INSERT INTO %s SELECT * FROM %s", work->side_table[side][to], call);
	seconds->solve += seconds_since(&clock);
	work->current[side] = to;

	clock_gettime(CLOCK_MONOTONIC, &clock);
	/* on Citus one worker's copy */
	if (SPI_execute(psprintf("SELECT coalesce(sum(row_count), 0)::int8, coalesce(sum(loss), 0), coalesce(sum(regularization), 0) FROM %s%s",
							 work->side_table[side][to],
							 work->citus ? psprintf(" WHERE copy_key = " INT64_FORMAT, work->first_copy_key) : ""),
					false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "irec sql engine: could not sum a half-step");
	{
		bool		isnull;
		int64		rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		*loss = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		*regularization = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		/* every row has an interaction, so every row is solved: a shard short is an error */
		if (rows != work->n[side])
			elog(ERROR, "irec sql engine: a half-step solved " INT64_FORMAT " of " INT64_FORMAT " rows",
				 rows, work->n[side]);
	}
	seconds->coordinator += seconds_since(&clock);
}

/* Rows of `table` from fill(arg, k, values) for k in [0, n), in batches. */
#define WRITE_BATCH 1000

static void
bulk_write(const char *table, size_t n, void (*fill) (void *arg, size_t k, Datum *values), void *arg)
{
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
										 RowExclusiveLock, false);
	Relation	rel = table_open(relid, NoLock);
	BulkInsertState bistate = GetBulkInsertState();
	CommandId	cid = GetCurrentCommandId(true);
	TupleTableSlot *slots[WRITE_BATCH];
	int			natts = RelationGetDescr(rel)->natts;

	for (int b = 0; b < WRITE_BATCH; b++)
		slots[b] = table_slot_create(rel, NULL);
	for (size_t first = 0; first < n; first += WRITE_BATCH)
	{
		int			count = (int) Min((size_t) WRITE_BATCH, n - first);

		for (int b = 0; b < count; b++)
		{
			ExecClearTuple(slots[b]);
			fill(arg, first + b, slots[b]->tts_values);
			memset(slots[b]->tts_isnull, 0, sizeof(bool) * natts);
			ExecStoreVirtualTuple(slots[b]);
		}
		table_multi_insert(rel, slots, count, cid, 0, bistate);
		CHECK_FOR_INTERRUPTS();
	}
	for (int b = 0; b < WRITE_BATCH; b++)
		ExecDropSingleTupleTableSlot(slots[b]);
	FreeBulkInsertState(bistate);
	table_finish_bulk_insert(rel, 0);
	table_close(rel, NoLock);
	CommandCounterIncrement();
}

static void
fill_id(void *arg, size_t k, Datum *values)
{
	const IdMap *ids = (const IdMap *) arg;

	values[0] = ids->ids[k];
	values[1] = Int32GetDatum((int32) k);
}

/* (id, idx) of one side, idx the dense index */
static void
write_ids(const char *table, const IdMap *ids)
{
	bulk_write(table, ids->count, fill_id, (void *) ids);
}

typedef struct PairColumns
{
	const int32 *row;
	const int32 *col;
	const float *confidence;
} PairColumns;

static void
fill_pair(void *arg, size_t k, Datum *values)
{
	const PairColumns *p = (const PairColumns *) arg;

	values[0] = Int32GetDatum(p->row[k]);
	values[1] = Int32GetDatum(p->col[k]);
	values[2] = Float4GetDatum(p->confidence[k]);
}

static void
write_pairs(const char *table, const int32 *row, const int32 *col, const float *confidence, size_t n)
{
	PairColumns p = {row, col, confidence};

	bulk_write(table, n, fill_pair, &p);
}

void
train_sql(SqlTrainOptions *o, const ModelTarget *target, double *loss, SqlTrainResult *result)
{
	Work		work;
	struct timespec start;
	Oid			user_type;
	Oid			item_type;
	char	   *source;
	float	   *item_gram;

	clock_gettime(CLOCK_MONOTONIC, &start);
	interactions_check_source(&o->source, &user_type, &item_type);
	source = quote_qualified_identifier(get_namespace_name(get_rel_namespace(o->source.relid)),
										get_rel_name(o->source.relid));
	result->source_name = source;
	work.schema = quote_identifier(irec_extension_schema());
	/* the work tables hold blocks since 0.13.0, whose functions this needs */
	if (strcmp(query_text(psprintf("SELECT coalesce(to_regproc(%s)::text, '')",
								   quote_literal_cstr(psprintf("%s.irec_als_initial_blocks", work.schema)))),
			   "") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("engine 'sql' needs version 0.13.0 of irec's SQL objects"),
				 errhint("Run ALTER EXTENSION irec UPDATE.")));
	/*
	 * Everything runs in the caller's transaction, which creates,
	 * distributes, fills and reads the work tables: Citus can only see its
	 * own writes across statements when each worker uses one connection.
	 */
	work.citus = train_sql_begin(o->source.relid);
	result->distributed = work.citus;

	/*
	 * The interactions as the in-memory engine loads them (the same
	 * checks, duplicates summed, the same dense numbering: straight from
	 * the heap where it can, else through SPI, which reaches Citus's
	 * shards), then written into the work tables in bulk.
	 */
	{
		Interactions data;
		float	   *confidence;
		double		median = 0.0;

		interactions_load(&o->source, CurrentMemoryContext, &data);
		result->n_interactions = (int64) data.nnz;
		result->skipped_rows = data.skipped_rows;
		result->n_users = work.n[0] = (int64) data.users.count;
		result->n_items = work.n[1] = (int64) data.items.count;
		if (data.items.count < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s has interactions with only one item", source),
					 errhint("A recommender needs at least two items to rank.")));
		if (data.users.count > PG_INT32_MAX || data.items.count > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s has more than 2^31 users or items", source)));
		/* α0, λ and ε left to the data's shape */
		if (o->shape != NULL)
		{
			if (o->shape_needs_median)
				median = median_of(data.weight, data.nnz, CurrentMemoryContext);
			o->shape(o->shape_arg, o, work.n[0], work.n[1], result->n_interactions, median);
		}
		/* the confidence exactly as the in-memory engine computes it */
		confidence = irec_alloc_large(CurrentMemoryContext, sizeof(float) * Max(data.nnz, 1));
		for (size_t k = 0; k < data.nnz; k++)
			confidence[k] = o->log_confidence
				? (float) (1.0 + o->alpha * log1p(data.weight[k] / o->epsilon))
				: (float) (1.0 + o->alpha * data.weight[k]);

		work.ids[0] = "pg_temp.irec_sql_ids_u";
		work.ids[1] = "pg_temp.irec_sql_ids_i";
		work.pairs[0] = work.citus ? quote_qualified_identifier(target->schema, "irec_sql_pairs_u") : "pg_temp.irec_sql_pairs_u";
		work.pairs[1] = work.citus ? quote_qualified_identifier(target->schema, "irec_sql_pairs_i") : "pg_temp.irec_sql_pairs_i";
		runf("CREATE TEMP TABLE irec_sql_ids_u (id %s, idx integer)", format_type_be(data.users.type));
		runf("CREATE TEMP TABLE irec_sql_ids_i (id %s, idx integer)", format_type_be(data.items.type));
		for (int side = 0; side < 2; side++)
			runf("CREATE %s TABLE %s (row_idx integer, col_idx integer, confidence real)",
				 work.citus ? "UNLOGGED" : "TEMP", work.citus ? work.pairs[side] : strrchr(work.pairs[side], '.') + 1);
		write_ids(work.ids[0], &data.users);
		write_ids(work.ids[1], &data.items);
		write_pairs(work.pairs[0], data.user_index, data.item_index, confidence, data.nnz);
		write_pairs(work.pairs[1], data.item_index, data.user_index, confidence, data.nnz);
	}

	if (work.citus)
	{
		int			level = hold_back_notices();

		work.source_shards = query_int64(psprintf("SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = %u",
												  o->source.relid));
		if (work.source_shards < 1)
			work.source_shards = 1;
		work.anchor[0] = quote_qualified_identifier(target->schema, "irec_sql_anchor_u");
		work.anchor[1] = quote_qualified_identifier(target->schema, "irec_sql_anchor_i");
		for (int side = 0; side < 2; side++)
			distribute_pairs(&work, side);
		choose_copy_keys(&work);
		make_side_tables(o, &work, target);
		tell_anchors(&work);
		AtEOXact_GUC(true, level);
	}
	else
		make_side_tables(o, &work, target);
	work.key = (int64) GetCurrentTimestamp() ^ ((int64) MyProcPid << 40);
	result->load_seconds = seconds_since(&start);

	result->solve_seconds = result->coordinator_seconds = 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int epoch = 0; epoch < o->epochs; epoch++)
	{
		struct timespec epoch_start;
		double		user_loss;
		double		user_regularization;
		double		item_loss;
		double		item_regularization;
		SqlPhaseSeconds seconds = {0, 0};

		StepContext step = {work.citus, 0, epoch, o->epochs};
		ErrorContextCallback callback = {error_context_stack, step_error_context, &step};

		clock_gettime(CLOCK_MONOTONIC, &epoch_start);
		error_context_stack = &callback;
		half_step(o, &work, 0, 2 * epoch + 1, &user_loss, &user_regularization, &seconds);
		step.side = 1;
		half_step(o, &work, 1, 2 * epoch + 2, &item_loss, &item_regularization, &seconds);
		error_context_stack = callback.previous;
		/*
		 * The items' shares (observed, all-pairs against the new users, L2)
		 * and the users' L2: ials_loss_from_item_rows, summed where solved
		 */
		loss[epoch] = item_loss + user_regularization;
		result->solve_seconds += seconds.solve;
		result->coordinator_seconds += seconds.coordinator;
		CHECK_FOR_INTERRUPTS();
		if (!o->quiet)
			ereport(NOTICE,
					(errmsg("epoch %d/%d: loss %.6g, %.3f s (solves %.3f s, here %.3f s)",
							epoch + 1, o->epochs, loss[epoch], seconds_since(&epoch_start),
							seconds.solve, seconds.coordinator)));
	}
	result->train_seconds = seconds_since(&start);

	clock_gettime(CLOCK_MONOTONIC, &start);
	/* the final rows, here (on Citus one worker's copy) */
	for (int side = 0; side < 2; side++)
		runf("CREATE TEMP TABLE %s AS SELECT r.idx, r.embedding FROM %s s CROSS JOIN LATERAL %s.irec_als_block_rows(s.block) r%s",
			 side == 0 ? "irec_sql_users" : "irec_sql_items", work.side_table[side][work.current[side]], work.schema,
			 work.citus ? psprintf(" WHERE copy_key = " INT64_FORMAT, work.first_copy_key) : "");
	item_gram = palloc(sizeof(float) * o->dims * o->dims);
	side_gramian(o, "pg_temp.irec_sql_items", item_gram);
	result->item_gram = item_gram;
	model_write_from(target,
					 "SELECT i.id, s.embedding FROM pg_temp.irec_sql_ids_u i JOIN pg_temp.irec_sql_users s USING (idx)",
					 "SELECT i.id, s.embedding FROM pg_temp.irec_sql_ids_i i JOIN pg_temp.irec_sql_items s USING (idx)",
					 user_type, item_type, o->dims);
	runf("DROP TABLE %s, %s, %s, %s, %s, %s", work.pairs[0], work.pairs[1],
		 work.side_table[0][0], work.side_table[0][1], work.side_table[1][0], work.side_table[1][1]);
	if (work.citus)
		runf("DROP TABLE %s, %s", work.anchor[0], work.anchor[1]);
	run("DROP TABLE pg_temp.irec_sql_ids_u, pg_temp.irec_sql_ids_i, pg_temp.irec_sql_users, pg_temp.irec_sql_items");
	result->write_seconds = seconds_since(&start);
}
