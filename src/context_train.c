/*
 * context_train.c
 *		Training a context model: irec_train(..., context_columns => ARRAY[
 *		'user_id', 'weekday'], context_model => 'sum' | 'product').
 *
 * Flow: context_load.c reads the source, each (context, item) pair once
 * with its summed weight, the field values, items and contexts numbered;
 * the contexts are the distinct tuples of field values.  A NULL field value
 * is absent (it contributes nothing to φ); a row whose fields are all NULL,
 * or whose item or weight is NULL, is skipped.  Each epoch solves every
 * field's block with the others fixed (core/context.h; CG or Cholesky as
 * `solver` says), then the items with iALS's own step against the
 * contexts' φ, in chunks with interrupt checks between them.  The model is written as one table per field,
 * <model>_ctx_<column>(<column>, embedding), and <model>_items, in the
 * caller's transaction: a failed or cancelled training leaves the previous
 * model as it was.
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "context_load.h"
#include "context_train.h"
#include "train_common.h"
#include "core/sparse.h"
#include "irec.h"
#include "progress.h"

void
context_check_columns(const InteractionSource *source, int n_fields, char **columns)
{
	for (int f = 0; f < n_fields; f++)
	{
		if (columns[f] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("context_columns must not contain NULL"),
					 errhint("Name each context field's column, like ARRAY['user_id', 'weekday'].")));
		if (get_attnum(source->relid, columns[f]) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation %s does not exist", columns[f], get_rel_name(source->relid)),
					 errhint("Name the context fields' columns with context_columns.")));
		(void) interactions_check_column(source->relid, columns[f], "context");
		if (strcmp(columns[f], source->item_column) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("context column \"%s\" is the item column", columns[f]),
					 errhint("A context describes who or when, not what is chosen: leave the item column out of context_columns.")));
		if (source->weight_column && strcmp(columns[f], source->weight_column) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("context column \"%s\" is the weight column", columns[f]),
					 errhint("Leave the weight column out of context_columns.")));
		for (int g = 0; g < f; g++)
			if (strcmp(columns[f], columns[g]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("context column \"%s\" is named twice", columns[f]),
						 errhint("Name each context field once.")));
	}
	(void) interactions_check_column(source->relid, source->item_column, "item");
}

static void
report_solve_failure(int rc)
{
	if (rc != IALS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a least-squares system of the context model is not positive definite"),
				 errhint("Increase regularization.")));
}

static char *
params_json(const ContextTrainRequest *request, const IalsConfig *config, double epsilon,
			char *const *tables, const ContextLoad *load, double product_prior)
{
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfo(&json,
					 "{\"regularization\": %s, \"regularization_exponent\": %s, "
					 "\"unobserved_weight\": %s, \"confidence\": \"%s\", \"alpha\": %s, "
					 "\"epsilon\": %s, \"init_std\": %s, \"seed\": " INT64_FORMAT ", \"threads\": %d, "
					 "\"solver\": \"%s\", \"cg_steps\": %d, \"context_model\": \"%s\", "
					 "\"product_prior\": %s, \"n_contexts\": %zu, \"context_columns\": [",
					 float8out_internal(config->regularization),
					 float8out_internal(config->regularization_exponent),
					 float8out_internal(config->unobserved_weight), request->confidence_name,
					 float8out_internal(request->alpha), float8out_internal(epsilon),
					 float8out_internal(request->init_std), request->seed, config->threads,
					 request->solver_name, config->cg_steps, request->kind_name,
					 float8out_internal(product_prior), load->n_contexts);
	for (int f = 0; f < request->n_fields; f++)
	{
		if (f)
			appendStringInfoString(&json, ", ");
		escape_json(&json, request->columns[f]);
	}
	appendStringInfoString(&json, "], \"context_tables\": [");
	for (int f = 0; f < request->n_fields; f++)
	{
		if (f)
			appendStringInfoString(&json, ", ");
		escape_json(&json, tables[f]);
	}
	appendStringInfoString(&json, "], \"context_values\": [");
	for (int f = 0; f < request->n_fields; f++)
		appendStringInfo(&json, "%s%zu", f ? ", " : "", load->field_ids[f].count);
	appendStringInfoString(&json, "]}");
	return json.data;
}

text *
context_train(const ContextTrainRequest *request, ModelTarget *target, MemoryContext caller,
			  const struct timespec *start)
{
	MemoryContext context = AllocSetContextCreate(CurrentMemoryContext, "irec context training",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	const int	F = request->n_fields;
	const int	d = request->config.dims;
	IalsConfig	config = request->config;
	ContextLoad load;
	ContextData data;
	CsrMatrix	by_context;
	CsrMatrix	by_item;
	CsrMatrix  *by_value;
	CsrMatrix  *value_pairs;
	float	  **fields;
	float	   *items;
	float	   *phi;
	float	   *item_gram;
	float	   *phi_gram;
	float	   *partials;
	float	   *scratch;
	float	   *ials_scratch;
	double	   *row_loss;
	double	   *loss;
	double		epsilon = request->epsilon;
	char	  **tables;
	size_t	   *n_values;
	ModelSummary summary;
	struct timespec train_start;
	struct timespec write_start;
	text	   *result;

	tables = palloc(sizeof(char *) * F);
	for (int f = 0; f < F; f++)
		tables[f] = model_context_table(target, request->columns[f]);
	/* the registry's users table of a context model: its first field's */
	target->users_table = tables[0];

	progress_phase("loading");
	context_load(request, context, &load);
	summary.load_seconds = seconds_since(start);

	old = MemoryContextSwitchTo(context);
	/* the confidences, and the shape defaults over contexts (ials.h) */
	{
		float	   *confidence = MemoryContextAllocHuge(context, sizeof(float) * load.nnz);

		if (request->shape_epsilon)
		{
			epsilon = median_of(load.weight, load.nnz, context);
			if (!(epsilon > 0))
				epsilon = 1.0;
		}
		for (size_t k = 0; k < load.nnz; k++)
			confidence[k] = request->log_confidence
				? (float) (1.0 + request->alpha * log1p(load.weight[k] / epsilon))
				: (float) (1.0 + request->alpha * load.weight[k]);
		/*
		 * iALS's shape rule for the first field's values (the users,
		 * usually) as the rows: with n̄ their mean interactions, a value's
		 * unobserved pairs weigh in total what a user's do in the
		 * user-only model, spread over its contexts (α0 divided by the mean
		 * contexts per value), and λ keeps that model's regularization
		 * weight, since the row's whole mass is the same.
		 */
		if (request->shape_unobserved_weight || request->shape_regularization)
		{
			double		values = (double) Max(load.field_ids[0].count, 1);
			double		mean = (double) load.nnz / values;
			double		contexts_per_value = (double) load.n_contexts / values;
			double		plain = request->shape_unobserved_weight
				? ials_default_unobserved_weight(load.items.count, mean)
				: config.unobserved_weight * contexts_per_value;

			if (request->shape_unobserved_weight)
				config.unobserved_weight = plain / contexts_per_value;
			if (request->shape_regularization)
				config.regularization = ials_default_regularization(plain, load.items.count, mean,
																	config.regularization_exponent);
		}
		irec_check_memory((double) load.nnz * 2 * (sizeof(int32) + sizeof(float)) +
						  (double) load.n_contexts * (F + d + 4) * 8.0 +
						  (double) load.items.count * d * sizeof(float) * 2 +
						  (double) config.threads * (context_scratch_floats(d) + ials_scratch_floats(&config) +
													 (double) d * d) * sizeof(float),
						  "training this context model");
		build_csr(context, load.n_contexts, load.items.count, load.nnz, load.context_of, load.item_of,
				  confidence, &by_context);
		build_csr(context, load.items.count, load.n_contexts, load.nnz, load.item_of, load.context_of,
				  confidence, &by_item);
		pfree(confidence);
	}
	/* per field: the contexts holding each value */
	by_value = palloc(sizeof(CsrMatrix) * F);
	n_values = palloc(sizeof(size_t) * F);
	{
		int32	   *value_of = MemoryContextAllocHuge(context, sizeof(int32) * load.n_contexts);
		int32	   *context_of = MemoryContextAllocHuge(context, sizeof(int32) * load.n_contexts);

		for (int f = 0; f < F; f++)
		{
			size_t		n = 0;

			for (size_t c = 0; c < load.n_contexts; c++)
				if (load.context_values[c * F + f] >= 0)
				{
					value_of[n] = load.context_values[c * F + f];
					context_of[n] = (int32) c;
					n++;
				}
			n_values[f] = load.field_ids[f].count;
			build_csr(context, n_values[f], load.n_contexts, n, value_of, context_of,
					  NULL, &by_value[f]);
		}
		pfree(value_of);
		pfree(context_of);
	}
	/*
	 * Per field, each value's observed pairs as a row's length (row_start
	 * only): what a value's solve costs, for chunks of solving
	 * (solve_chunk_end), which the count of its contexts would understate.
	 */
	value_pairs = palloc0(sizeof(CsrMatrix) * F);
	for (int f = 0; f < F; f++)
	{
		value_pairs[f].n_rows = n_values[f];
		value_pairs[f].row_start = MemoryContextAllocHuge(context, sizeof(size_t) * (n_values[f] + 1));
		value_pairs[f].row_start[0] = 0;
		for (size_t v = 0; v < n_values[f]; v++)
		{
			size_t		pairs = 0;

			for (size_t k = by_value[f].row_start[v]; k < by_value[f].row_start[v + 1]; k++)
				pairs += by_context.row_start[by_value[f].col[k] + 1] - by_context.row_start[by_value[f].col[k]];
			value_pairs[f].row_start[v + 1] = value_pairs[f].row_start[v] + pairs;
		}
	}
	data.n_fields = F;
	data.n_contexts = load.n_contexts;
	data.n_items = load.items.count;
	data.n_values = n_values;
	data.values = load.context_values;
	data.by_context = &by_context;
	data.by_item = &by_item;
	data.by_value = by_value;
	/*
	 * The product model's later fields are pulled toward 1 as strongly as
	 * the mean first-field value (a user) is toward 0: their values occur
	 * in many contexts, and frequency scaling would pin them to 1 (each of
	 * their pairs informs them only through r_c ⊙ ψ, far weaker than a
	 * pair's weight in the mass counts).
	 */
	{
		double		values = (double) Max(n_values[0], 1);

		data.product_prior = ials_row_regularization(&config, (size_t) llround(load.nnz / values),
													 (size_t) llround(data.n_items * (data.n_contexts / values)));
	}

	fields = palloc(sizeof(float *) * F);
	for (int f = 0; f < F; f++)
		fields[f] = MemoryContextAllocHuge(context, sizeof(float) * Max(n_values[f], 1) * d);
	items = MemoryContextAllocHuge(context, sizeof(float) * data.n_items * d);
	phi = MemoryContextAllocHuge(context, sizeof(float) * data.n_contexts * d);
	item_gram = palloc(sizeof(float) * d * d);
	phi_gram = palloc(sizeof(float) * d * d);
	partials = MemoryContextAllocHuge(context, sizeof(float) * config.threads * d * d);
	scratch = MemoryContextAllocHuge(context, sizeof(float) * config.threads * context_scratch_floats(d));
	ials_scratch = MemoryContextAllocHuge(context, sizeof(float) * config.threads * ials_scratch_floats(&config));
	row_loss = MemoryContextAllocHuge(context, sizeof(double) * data.n_contexts);
	loss = palloc(sizeof(double) * Max(request->epochs, 1));
	MemoryContextSwitchTo(old);

	context_init(request->kind, &data, d, request->init_std, (uint64) request->seed, fields, items);

	clock_gettime(CLOCK_MONOTONIC, &train_start);
	progress_phase("training");
	/* the items' Gramian, kept current after each item step */
	gramian(items, data.n_items, d, config.threads, item_gram, partials);
	for (int epoch = 0; epoch < request->epochs; epoch++)
	{
		struct timespec epoch_start;

		clock_gettime(CLOCK_MONOTONIC, &epoch_start);
		/* each field's block with the others fixed (Algorithm 4) */
		for (int f = 0; f < F; f++)
			for (size_t begin = 0; begin < n_values[f];)
			{
				size_t		end = solve_chunk_end(&config, &value_pairs[f], begin, false);

				report_solve_failure(context_solve_field(&config, request->kind, &data, f, fields, items,
														 item_gram, begin, end, scratch));
				begin = end;
				CHECK_FOR_INTERRUPTS();
			}
		/* the items against the contexts' φ: iALS's own step */
		context_phi(request->kind, &data, (const float *const *) fields, d, phi);
		gramian(phi, data.n_contexts, d, config.threads, phi_gram, partials);
		for (size_t begin = 0; begin < data.n_items;)
		{
			size_t		end = solve_chunk_end(&config, &by_item, begin, false);

			report_solve_failure(ials_solve_rows(&config, &by_item, phi, phi_gram, items, begin, end,
												 ials_scratch));
			begin = end;
			CHECK_FOR_INTERRUPTS();
		}
		gramian(items, data.n_items, d, config.threads, item_gram, partials);
		loss[epoch] = context_loss(&config, request->kind, &data, (const float *const *) fields, items,
								   phi, phi_gram, item_gram, row_loss);
		if (!isfinite(loss[epoch]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("training diverged at epoch %d", epoch + 1),
					 errhint("Increase regularization or lower alpha.")));
		if (!request->quiet)
			ereport(NOTICE,
					(errmsg("epoch %d/%d: loss %.6g, %.2f s", epoch + 1, request->epochs,
							loss[epoch], seconds_since(&epoch_start))));
		progress_epoch(epoch + 1, loss[epoch], NAN);
	}
	summary.train_seconds = seconds_since(&train_start);

	clock_gettime(CLOCK_MONOTONIC, &write_start);
	progress_phase("writing");
	model_write_context(target, F, tables, (const char *const *) request->columns, load.field_ids,
						(const float *const *) fields, &load.items, items, d);
	summary.source = load.source_name;
	summary.user_column = request->columns[0];
	summary.item_column = request->source.item_column;
	summary.weight_column = request->source.weight_column;
	summary.algorithm = "ials";
	summary.dims = d;
	summary.epochs = request->epochs;
	summary.params_json = params_json(request, &config, epsilon, tables, &load, data.product_prior);
	summary.validation = NULL;
	summary.best_epoch = 0;
	summary.n_users = (int64) load.n_contexts;
	summary.n_items = (int64) load.items.count;
	summary.n_interactions = (int64) load.nnz;
	summary.n_skipped_rows = load.skipped_rows;
	summary.loss = loss;
	summary.item_gramian = item_gram;
	summary.write_seconds = seconds_since(&write_start);
	summary.seconds = seconds_since(start);
	model_register(target, &summary);

	old = MemoryContextSwitchTo(caller);
	result = cstring_to_text(target->name);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(context);
	return result;
}
