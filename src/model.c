/*
 * model.c
 *		The model registry and a model's output tables (see model.h).
 *
 * A model is two ordinary tables, <model>_users(user_id, embedding) and
 * <model>_items(item_id, embedding), plus a row in irec_models.  All
 * statements go through SPI with every identifier quoted.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "embedding.h"
#include "irec.h"
#include "model.h"

#define WRITE_BATCH 10000

static char *
registry_table(void)
{
	return quote_qualified_identifier(irec_extension_schema(), "irec_models");
}

/*
 * registered_model_of: name of the model whose users or items table is
 * `qualified` (quoted), or NULL.
 */
static char *
registered_model_of(const char *qualified)
{
	StringInfoData sql;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	char	   *result = NULL;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT name FROM %s WHERE users_table = $1 OR items_table = $1",
					 registry_table());
	values[0] = CStringGetTextDatum(qualified);
	if (SPI_execute_with_args(sql.data, 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the model registry");
	if (SPI_processed > 0)
		result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return result;
}

static void
check_table_slot(const char *schema, const char *relname, const char *model)
{
	Oid			nsp = get_namespace_oid(schema, false);
	char	   *qualified = quote_qualified_identifier(schema, relname);
	char	   *owner_model;

	if (!OidIsValid(get_relname_relid(relname, nsp)))
		return;
	owner_model = registered_model_of(qualified);
	if (owner_model == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation %s already exists and is not an irec model table", qualified),
				 errhint("Choose another model name with the model argument, or drop or rename that relation.")));
	if (strcmp(owner_model, model) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation %s belongs to model \"%s\"", qualified, owner_model),
				 errhint("Choose another model name with the model argument.")));
}

void
model_target(const char *model, Oid source_relid, ModelTarget *target)
{
	List	   *names;
	const char *relname;

	if (model == NULL)
	{
		/* default: the source's own name and schema, taken literally */
		model = get_rel_name(source_relid);
		target->schema = get_namespace_name(get_rel_namespace(source_relid));
		relname = model;
	}
	else
	{
		/* a given name is read like a table name: "m", "schema.m", "\"M\"" */
		if (model[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model name must not be empty")));
		names = stringToQualifiedNameList(model);
		if (list_length(names) == 1)
		{
			target->schema = get_namespace_name(get_rel_namespace(source_relid));
			relname = strVal(linitial(names));
		}
		else if (list_length(names) == 2)
		{
			target->schema = strVal(linitial(names));
			relname = strVal(lsecond(names));
			(void) get_namespace_oid(target->schema, false);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("improper model name \"%s\"", model),
					 errhint("A model name is read like a table name, optionally schema-qualified: m or schema.m.")));
	}
	if (strlen(relname) + strlen("_users") >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("model name \"%s\" is too long", relname),
				 errhint("Model names may have at most %d bytes, so that \"<model>_users\" fits a PostgreSQL name.",
						 (int) (NAMEDATALEN - 1 - strlen("_users")))));
	target->name = pstrdup(model);
	target->users_table = quote_qualified_identifier(target->schema, psprintf("%s_users", relname));
	target->items_table = quote_qualified_identifier(target->schema, psprintf("%s_items", relname));
	check_table_slot(target->schema, psprintf("%s_users", relname), target->name);
	check_table_slot(target->schema, psprintf("%s_items", relname), target->name);
}

static void
run_sql(const char *sql, int expected)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expected)
		elog(ERROR, "irec: statement failed (%s): %s", SPI_result_code_string(rc), sql);
}

/* Drop the tables an earlier version of this model wrote, wherever they are. */
static void
drop_previous_tables(const ModelTarget *target)
{
	StringInfoData sql;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	List	   *tables = NIL;
	ListCell   *cell;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT users_table, items_table FROM %s WHERE name = $1",
					 registry_table());
	values[0] = CStringGetTextDatum(target->name);
	if (SPI_execute_with_args(sql.data, 1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the model registry");
	if (SPI_processed > 0)
	{
		tables = lappend(tables, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		tables = lappend(tables, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	}
	tables = lappend(tables, target->users_table);
	tables = lappend(tables, target->items_table);
	foreach(cell, tables)
	{
		const char *table = lfirst(cell);

		/* the registry stores quoted names, so they parse back exactly */
		if (!OidIsValid(RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
										 NoLock, true)))
			continue;
		resetStringInfo(&sql);
		appendStringInfo(&sql, "DROP TABLE %s", table);
		run_sql(sql.data, SPI_OK_UTILITY);
	}
}

static void
write_side(const char *table, const char *id_column, const IdMap *ids,
		   const float *embeddings, int dims)
{
	StringInfoData sql;
	Oid			embedding_type = irec_embedding_type_oid();
	Oid			types[2];
	SPIPlanPtr	plan;
	char	   *schema = irec_extension_schema();

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s (%s %s PRIMARY KEY, embedding %s(%d) NOT NULL)",
					 table, id_column, format_type_be_qualified(ids->type),
					 quote_qualified_identifier(schema, "embedding"), dims);
	run_sql(sql.data, SPI_OK_UTILITY);

	resetStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2))", table);
	types[0] = get_array_type(ids->type);
	types[1] = get_array_type(embedding_type);
	plan = SPI_prepare(sql.data, 2, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare %s", sql.data);

	for (size_t first = 0; first < ids->count; first += WRITE_BATCH)
	{
		size_t		count = Min(WRITE_BATCH, ids->count - first);
		Datum	   *vectors = palloc(sizeof(Datum) * count);
		Datum		values[2];

		for (size_t k = 0; k < count; k++)
		{
			Embedding  *e = embedding_new(dims);

			memcpy(e->x, embeddings + (first + k) * dims, sizeof(float) * dims);
			vectors[k] = PointerGetDatum(e);
		}
		values[0] = PointerGetDatum(construct_array(ids->ids + first, (int) count, ids->type,
													ids->typlen, ids->typbyval, ids->typalign));
		values[1] = PointerGetDatum(construct_array(vectors, (int) count, embedding_type,
													-1, false, TYPALIGN_INT));
		if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write to %s", table);
		for (size_t k = 0; k < count; k++)
			pfree(DatumGetPointer(vectors[k]));
		pfree(vectors);
		pfree(DatumGetPointer(values[0]));
		pfree(DatumGetPointer(values[1]));
		CHECK_FOR_INTERRUPTS();
	}
	SPI_freeplan(plan);
}

void
model_write(const ModelTarget *target, const Interactions *data,
			const float *users, const float *items, int dims)
{
	drop_previous_tables(target);
	write_side(target->users_table, "user_id", &data->users, users, dims);
	write_side(target->items_table, "item_id", &data->items, items, dims);
}

void
model_register(const ModelTarget *target, const ModelSummary *summary)
{
	StringInfoData sql;
	Oid			types[17] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, INT4OID, INT4OID, TEXTOID, INT8OID, INT8OID, INT8OID,
	INT8OID, FLOAT8OID, FLOAT8ARRAYOID};
	Datum		values[17];
	char		nulls[17];
	Datum	   *loss = palloc(sizeof(Datum) * Max(summary->epochs, 1));

	memset(nulls, ' ', sizeof(nulls));
	for (int e = 0; e < summary->epochs; e++)
		loss[e] = Float8GetDatum(summary->loss[e]);
	values[0] = CStringGetTextDatum(target->name);
	values[1] = CStringGetTextDatum(summary->source);
	values[2] = CStringGetTextDatum(target->users_table);
	values[3] = CStringGetTextDatum(target->items_table);
	values[4] = CStringGetTextDatum(summary->user_column);
	values[5] = CStringGetTextDatum(summary->item_column);
	if (summary->weight_column)
		values[6] = CStringGetTextDatum(summary->weight_column);
	else
		nulls[6] = 'n';
	values[7] = CStringGetTextDatum(summary->algorithm);
	values[8] = Int32GetDatum(summary->dims);
	values[9] = Int32GetDatum(summary->epochs);
	values[10] = CStringGetTextDatum(summary->params_json);
	values[11] = Int64GetDatum(summary->n_users);
	values[12] = Int64GetDatum(summary->n_items);
	values[13] = Int64GetDatum(summary->n_interactions);
	values[14] = Int64GetDatum(summary->n_skipped_rows);
	values[15] = Float8GetDatum(summary->seconds);
	values[16] = PointerGetDatum(construct_array(loss, summary->epochs, FLOAT8OID, 8,
												 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "INSERT INTO %s AS m (name, source, users_table, items_table, user_column, "
					 "item_column, weight_column, algorithm, dims, epochs, params, n_users, n_items, "
					 "n_interactions, n_skipped_rows, seconds, loss, owner, trained_at) "
					 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, "
					 "$16, $17, current_user, pg_catalog.now()) "
					 "ON CONFLICT (name) DO UPDATE SET source = EXCLUDED.source, "
					 "users_table = EXCLUDED.users_table, items_table = EXCLUDED.items_table, "
					 "user_column = EXCLUDED.user_column, item_column = EXCLUDED.item_column, "
					 "weight_column = EXCLUDED.weight_column, algorithm = EXCLUDED.algorithm, "
					 "dims = EXCLUDED.dims, epochs = EXCLUDED.epochs, params = EXCLUDED.params, "
					 "n_users = EXCLUDED.n_users, n_items = EXCLUDED.n_items, "
					 "n_interactions = EXCLUDED.n_interactions, n_skipped_rows = EXCLUDED.n_skipped_rows, "
					 "seconds = EXCLUDED.seconds, loss = EXCLUDED.loss, owner = EXCLUDED.owner, "
					 "trained_at = EXCLUDED.trained_at",
					 registry_table());
	if (SPI_execute_with_args(sql.data, 17, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not register model %s", target->name);
}
