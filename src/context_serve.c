/*
 * context_serve.c
 *		A context model's φ for a context given as jsonb, and fold-in of a
 *		field value the model has not seen (core/context.h):
 *
 *	 irec_context_embedding(model, '{"user_id": 42, "weekday": 5}')
 *	 irec_fold_in_context(model, '{"user_id": 7001, "weekday": 5}', items, weights)
 *
 * A field left out of the context, given as null, or with a value the
 * model lacks contributes nothing (0 to a sum, 1 to a product), and a
 * NOTICE says so unless quiet.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "core/context.h"
#include "embedding.h"
#include "irec.h"
#include "model.h"
#include "serve.h"

/* The context's fields as the model has them. */
typedef struct ContextValues
{
	int			n_fields;
	bool	   *given;			/* a value is in the context */
	char	  **value;			/* its text */
	float	  **embedding;		/* NULL when the model lacks it */
} ContextValues;

static void
require_context_model(const ModelInfo *model)
{
	if (model->context_model == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is not a context model", model->name),
				 errhint("Use irec_recommend or irec_fold_in for it, or train it with context_columns.")));
}

/*
 * read_context: each field's value in the jsonb object and its embedding,
 * looked up in the field's table (the value cast to the column's type).
 */
static void
read_context(const ModelInfo *model, Datum context, bool quiet, ContextValues *out)
{
	Oid			types[2] = {JSONBOID, TEXTARRAYOID};
	Datum		values[2];
	Datum	   *columns = palloc(sizeof(Datum) * model->n_context_fields);
	const int	F = model->n_context_fields;

	out->n_fields = F;
	out->given = palloc0(sizeof(bool) * F);
	out->value = palloc0(sizeof(char *) * F);
	out->embedding = palloc0(sizeof(float *) * F);
	for (int f = 0; f < F; f++)
		columns[f] = CStringGetTextDatum(model->context_columns[f]);
	values[0] = context;
	values[1] = PointerGetDatum(construct_array(columns, F, TEXTOID, -1, false, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT pg_catalog.jsonb_typeof($1), "
							  "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(k), ', ') FROM pg_catalog.jsonb_object_keys("
							  " CASE WHEN pg_catalog.jsonb_typeof($1) = 'object' THEN $1 END) k WHERE k <> ALL ($2))",
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the context");
	if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "object") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("context must be a JSON object"),
				 errhint("Map each field to its value, like '{\"user_id\": 42, \"weekday\": 5}'.")));
	{
		char	   *unknown = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		if (unknown != NULL)
		{
			StringInfoData list;

			initStringInfo(&list);
			for (int f = 0; f < F; f++)
				appendStringInfo(&list, "%s%s", f ? ", " : "", quote_identifier(model->context_columns[f]));
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("model \"%s\" has no context field %s", model->name, unknown),
					 errhint("Its fields are %s.", list.data)));
		}
	}
	for (int f = 0; f < F; f++)
	{
		Oid			field_types[2] = {JSONBOID, TEXTOID};
		Datum		field_values[2] = {context, columns[f]};
		char	   *kind;
		Oid			table;
		Oid			column_type;
		char	   *sql;
		bool		isnull;

		if (SPI_execute_with_args("SELECT pg_catalog.jsonb_typeof($1 -> $2), $1 ->> $2", 2, field_types,
								  field_values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the context");
		kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (kind == NULL || strcmp(kind, "null") == 0)
			continue;
		if (strcmp(kind, "string") != 0 && strcmp(kind, "number") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the value of context field \"%s\" is a JSON %s", model->context_columns[f], kind),
					 errhint("Give it as a string or a number, as it is in the training data.")));
		out->given[f] = true;
		out->value[f] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		table = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(model->context_tables[f])),
								 AccessShareLock, false);
		column_type = get_atttype(table, get_attnum(table, model->context_columns[f]));
		sql = psprintf("SELECT embedding FROM %s WHERE %s = $1::%s", model->context_tables[f],
					   quote_identifier(model->context_columns[f]), format_type_be_qualified(column_type));
		field_values[0] = CStringGetTextDatum(out->value[f]);
		if (SPI_execute_with_args(sql, 1, &field_types[1], field_values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read context field \"%s\"", model->context_columns[f]);
		if (SPI_processed > 0)
		{
			Embedding  *e = DatumGetEmbedding(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

			if (isnull || e->dims != model->dims)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("an embedding of context field \"%s\" is NULL or has the wrong dimensions",
								model->context_columns[f]),
						 errhint("Retrain the model: its tables were changed after training.")));
			out->embedding[f] = palloc(sizeof(float) * model->dims);
			memcpy(out->embedding[f], e->x, sizeof(float) * model->dims);
		}
		else if (!quiet)
			ereport(NOTICE,
					(errmsg("model \"%s\" has no value %s of context field \"%s\": it contributes nothing",
							model->name, out->value[f], model->context_columns[f])));
	}
}

/* φ from the known values; returns how many there are. */
static int
combine(const ModelInfo *model, const ContextValues *values, int skip, float *phi)
{
	bool		sum = strcmp(model->context_model, "sum") == 0;
	int			known = 0;

	for (int k = 0; k < model->dims; k++)
		phi[k] = sum ? 0.0f : 1.0f;
	for (int f = 0; f < values->n_fields; f++)
	{
		if (f == skip || values->embedding[f] == NULL)
			continue;
		known++;
		for (int k = 0; k < model->dims; k++)
		{
			if (sum)
				phi[k] += values->embedding[f][k];
			else
				phi[k] *= values->embedding[f][k];
		}
	}
	for (int k = 0; k < model->dims; k++)
		if (!isfinite(phi[k]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the context's embedding overflows"),
					 errhint("Retrain the model with a larger regularization.")));
	return known;
}

static Embedding *
finish(Embedding *result, int path_level)
{
	SPI_finish();
	irec_restore_search_path(path_level);
	return result;
}

/*
 * irec_context_combine(context_model, parts): φ of a context from its
 * fields' embeddings as an array, a NULL element being an absent value
 * (irec_evaluate's set-based form of irec_context_embedding); NULL when
 * every part is NULL.  A product's component below the smallest float
 * becomes 0, as in training, where the `*` operator would refuse it.
 */
PG_FUNCTION_INFO_V1(irec_context_combine);
Datum
irec_context_combine(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(1);
	bool		sum = strcmp(kind, "sum") == 0;
	Datum	   *parts;
	bool	   *nulls;
	int			n;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Embedding  *result = NULL;

	if (!sum && strcmp(kind, "product") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown context_model \"%s\"", kind),
				 errhint("Use 'sum' or 'product'.")));
	get_typlenbyvalalign(ARR_ELEMTYPE(array), &typlen, &typbyval, &typalign);
	deconstruct_array(array, ARR_ELEMTYPE(array), typlen, typbyval, typalign, &parts, &nulls, &n);
	for (int k = 0; k < n; k++)
	{
		Embedding  *e;

		if (nulls[k])
			continue;
		e = DatumGetEmbedding(parts[k]);
		if (result == NULL)
		{
			result = embedding_new(e->dims);
			memcpy(result->x, e->x, sizeof(float) * e->dims);
			continue;
		}
		embedding_check_same_dims(result, e);
		for (int j = 0; j < e->dims; j++)
		{
			if (sum)
				result->x[j] += e->x[j];
			else
				result->x[j] *= e->x[j];
		}
	}
	if (result == NULL)
		PG_RETURN_NULL();
	for (int j = 0; j < result->dims; j++)
		if (!isfinite(result->x[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the context's embedding overflows"),
					 errhint("Retrain the model with a larger regularization.")));
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(irec_context_embedding);
Datum
irec_context_embedding(PG_FUNCTION_ARGS)
{
	ModelInfo	model;
	ContextValues values;
	Embedding  *result;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;
	float	   *phi;
	int			path_level;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments of irec_context_embedding must not be NULL"),
				 errhint("Pass a model name and a context, like irec_context_embedding('m', '{\"user_id\": 42, \"weekday\": 5}').")));
	path_level = irec_restrict_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	model_lookup_any(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	require_context_model(&model);
	read_context(&model, PG_GETARG_DATUM(1), PG_GETARG_BOOL(2), &values);
	phi = palloc(sizeof(float) * model.dims);
	if (combine(&model, &values, -1, phi) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("model \"%s\" knows no value of this context", model.name),
				 errhint("Give at least one field value that occurs in the training data, or fold a new one in with irec_fold_in_context.")));
	old = MemoryContextSwitchTo(caller);
	result = embedding_new(model.dims);
	memcpy(result->x, phi, sizeof(float) * model.dims);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(finish(result, path_level));
}

/*
 * irec_fold_in_context(model, context, items, weights): the embedding of
 * the one value of the context the model lacks, from the items chosen in
 * that context, with every other block fixed: the training's own step
 * for that field (context_solve_field), the context being the value's
 * only one.  Insert it into the field's table to serve the value.
 */
PG_FUNCTION_INFO_V1(irec_fold_in_context);
Datum
irec_fold_in_context(PG_FUNCTION_ARGS)
{
	ModelInfo	model;
	ContextValues values;
	Embedding  *result;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;
	int			path_level;
	int			target = -1;
	int			F;
	int			d;
	int			count;
	float	   *gathered;
	float	   *alpha;
	float	  **fields;
	int32	   *context_values;
	size_t	   *n_values;
	size_t		value_start[2] = {0, 1};
	int32		value_col[1] = {0};
	size_t		row_start[2];
	int32	   *col;
	CsrMatrix	by_context;
	CsrMatrix  *by_value;
	ContextData data;
	IalsConfig	config;
	float	   *scratch;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model and context of irec_fold_in_context must not be NULL"),
				 errhint("Pass a model, the context with its new value, and the items chosen in it.")));
	check_fold_in_args(fcinfo, 2, 3);
	path_level = irec_restrict_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	model_lookup_any(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	require_context_model(&model);
	model_check_id_type(model.name, "item", get_element_type(get_fn_expr_argtype(fcinfo->flinfo, 2)),
						model.item_type);
	read_context(&model, PG_GETARG_DATUM(1), true, &values);
	F = values.n_fields;
	d = model.dims;
	for (int f = 0; f < F; f++)
		if (values.given[f] && values.embedding[f] == NULL)
		{
			if (target >= 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("model \"%s\" lacks the values of context fields \"%s\" and \"%s\"",
								model.name, model.context_columns[target], model.context_columns[f]),
						 errhint("Fold in one new value at a time; leave the other out of the context.")));
			target = f;
		}
	if (target < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" has every value of this context", model.name),
				 errhint("Give the context with the new value to fold in; irec_context_embedding gives a known context's embedding.")));
	count = fold_in_gather(&model, PG_GETARG_DATUM(2), get_fn_expr_argtype(fcinfo->flinfo, 2),
						   PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), !PG_ARGISNULL(3),
						   &gathered, &alpha);
	if (count == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("none of the items is in model \"%s\"", model.name),
				 errhint("Fold in a value from items the model was trained on.")));

	/* the value's one context: the known fields at index 0 of one-row blocks */
	fields = palloc(sizeof(float *) * F);
	n_values = palloc(sizeof(size_t) * F);
	context_values = palloc(sizeof(int32) * F);
	by_value = palloc0(sizeof(CsrMatrix) * F);
	for (int f = 0; f < F; f++)
	{
		bool		present = f == target || values.embedding[f] != NULL;

		fields[f] = f == target ? palloc0(sizeof(float) * d) : values.embedding[f];
		n_values[f] = present ? 1 : 0;
		context_values[f] = present ? 0 : -1;
		by_value[f].n_rows = n_values[f];
		by_value[f].n_cols = 1;
		by_value[f].nnz = n_values[f];
		by_value[f].row_start = value_start;
		by_value[f].col = value_col;
	}
	col = palloc(sizeof(int32) * count);
	for (int k = 0; k < count; k++)
		col[k] = k;
	row_start[0] = 0;
	row_start[1] = count;
	by_context.n_rows = 1;
	by_context.n_cols = (size_t) count;
	by_context.nnz = count;
	by_context.row_start = row_start;
	by_context.col = col;
	by_context.value = alpha;
	data.n_fields = F;
	data.n_contexts = 1;
	/* |I| for the regularization's α0·|I|·|C_v|; ψ of the given items only */
	data.n_items = (size_t) model.n_items;
	data.n_values = n_values;
	data.values = context_values;
	data.by_context = &by_context;
	data.by_item = NULL;
	data.by_value = by_value;
	data.product_prior = model.product_prior;
	config.dims = d;
	config.regularization = model.regularization;
	config.regularization_exponent = model.regularization_exponent;
	config.unobserved_weight = model.unobserved_weight;
	config.solver = IALS_SOLVER_CHOLESKY;
	config.cg_steps = 0;
	config.threads = 1;
	scratch = palloc(sizeof(float) * context_scratch_floats(d));
	if (context_solve_field(&config, strcmp(model.context_model, "sum") == 0 ? CONTEXT_MODEL_SUM
							: CONTEXT_MODEL_PRODUCT, &data, target, fields, gathered,
							model_item_gramian(&model), 0, 1, scratch) != IALS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("fold-in failed: the system is not positive definite"),
				 errhint("Train the model with a larger regularization.")));
	old = MemoryContextSwitchTo(caller);
	result = embedding_new(d);
	memcpy(result->x, fields[target], sizeof(float) * d);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(finish(result, path_level));
}
