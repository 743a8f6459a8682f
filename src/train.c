/*
 * train.c
 *		irec_train(): the SQL entry point that trains a model from an
 *		interactions relation and writes it as two tables and a registry row.
 *
 * Flow: validate every argument, read the interactions (interactions.c),
 * build both CSR orientations, run the core trainer epoch by epoch in
 * chunks with CHECK_FOR_INTERRUPTS() between them, then replace the model's
 * tables (model.c).  Everything happens in the caller's transaction, so a
 * failed or cancelled training leaves the previous model untouched.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>
#include <time.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/array.h"

#include "core/ials.h"
#include "core/pairwise.h"
#include "core/parallel.h"
#include "core/sgd.h"
#include "core/sparse.h"
#include "core/vecmath.h"
#include "context_train.h"
#include "train_common.h"
#include "embedding.h"
#include "interactions.h"
#include "irec.h"
#include "model.h"
#include "train_sql.h"
#include "progress.h"
#include "validation.h"

/* Random initial components generated between two interrupt checks. */
#define INIT_FLOATS_PER_CHUNK (4 * 1024 * 1024)

typedef enum ConfidenceKind
{
	CONFIDENCE_LINEAR,			/* α = 1 + a·w */
	CONFIDENCE_LOG				/* α = 1 + a·log(1 + w/ε) */
} ConfidenceKind;

typedef struct TrainOptions
{
	InteractionSource source;
	const char *model;
	const char *algorithm;
	int			dims;
	int			epochs;
	double		regularization;
	double		regularization_exponent;
	double		unobserved_weight;
	ConfidenceKind confidence;
	const char *confidence_name;
	double		alpha;
	double		epsilon;
	double		init_std;
	IalsSolver	solver;
	const char *solver_name;
	int			cg_steps;
	int64		seed;
	int			threads;
	bool		quiet;
	/* sampling-based algorithms (sgd.h) */
	SgdAlgorithm sgd_algorithm;
	bool		is_ials;
	int			negatives;
	const char *sampler_name;
	SamplerKind sampler;
	double		popularity_exponent;
	bool		logq;
	double		temperature;
	double		learning_rate;
	int			batch_size;
	int			max_trials;
	double		rank_scale;		/* 0: n_items / 100 */
	int			candidates;		/* two-pass M; 0: TWO_PASS_CANDIDATES_PER_NEGATIVE · m */
	bool		pairwise_square;	/* loss => 'pairwise_square' (pairwise.h) */
	bool		sql_engine;		/* engine => 'sql' (train_sql.c) */
	bool		shape_unobserved_weight;	/* α0 from the data (shape_defaults) */
	bool		shape_regularization;	/* λ from the data */
	bool		shape_pairwise_sgd_regularization;	/* Gramian SGD, pairwise loss: λ from the data */
	bool		shape_softmax_regularization;	/* the softmax's λ from the data */
	bool		shape_epsilon;	/* ε: the median summed weight */
	/* early stopping (validation.c) */
	Oid			validation;		/* InvalidOid: none */
	int			validation_k;
	const char *validation_metric;
	int			patience;
	bool		warm_start;		/* start from the existing model's embeddings */
	/* context_columns (context_train.h): more than one field makes a context model */
	int			n_context_fields;	/* 0: none given */
	char	  **context_columns;
	ContextModelKind context_kind;
	const char *context_model_name;
} TrainOptions;

static void
require_not_null(FunctionCallInfo fcinfo, int arg, const char *name)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument %s of irec_train must not be NULL", name),
				 errhint("Leave the argument out to use its default.")));
}

static void
require_range(double value, double low, double high, bool low_inclusive,
			  const char *name, const char *hint)
{
	bool		ok = isfinite(value) && value <= high &&
		(low_inclusive ? value >= low : value > low);

	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %s %.15g and at most %.15g, not %.15g",
						name, low_inclusive ? "at least" : "greater than", low, high, value),
				 errhint("%s", hint)));
}

static char *
text_arg(FunctionCallInfo fcinfo, int arg)
{
	return PG_ARGISNULL(arg) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

/* Per-algorithm defaults of the options left NULL. */
typedef struct AlgorithmDefaults
{
	const char *name;
	bool		is_ials;
	SgdAlgorithm sgd;
	int			epochs;
	double		regularization;
	double		learning_rate;
	int			negatives;
	const char *sampler;
	const char *samplers;		/* the ones it accepts, for errors */
} AlgorithmDefaults;

static const AlgorithmDefaults algorithm_defaults[] = {
	{"ials", true, SGD_SOFTMAX, 16, 0.01, 0, 0, NULL, NULL},
	{"softmax", false, SGD_SOFTMAX, 60, 0.2, 0.1, 1024, "uniform", "'uniform', 'popularity', 'in_batch', 'kernel' or 'two_pass'"},
	{"bpr", false, SGD_BPR, 30, 0.01, 0.05, 0, "uniform", "'uniform', 'popularity' or 'rank_adaptive'"},
	{"warp", false, SGD_WARP, 30, 0.0001, 0.05, 0, "uniform", "'uniform' or 'popularity'"},
	{"pointwise", false, SGD_POINTWISE, 30, 0.0001, 0.05, 8, "uniform", "'uniform' or 'popularity'"},
	{"gramian_sgd", false, SGD_GRAMIAN, 30, 0.0001, 0.05, 0, NULL, NULL},
	{"lambdarank", false, SGD_LAMBDARANK, 30, 0.01, 0.05, 32, "uniform", "'uniform', 'popularity' or 'rank_adaptive'"},
};

static bool
sampler_allowed(SgdAlgorithm algorithm, SamplerKind sampler)
{
	switch (algorithm)
	{
		case SGD_SOFTMAX:
			return sampler != SAMPLER_RANK_ADAPTIVE;
		case SGD_BPR:
		case SGD_LAMBDARANK:
			return sampler == SAMPLER_UNIFORM || sampler == SAMPLER_POPULARITY ||
				sampler == SAMPLER_RANK_ADAPTIVE;
		case SGD_WARP:
		case SGD_POINTWISE:
			return sampler == SAMPLER_UNIFORM || sampler == SAMPLER_POPULARITY;
		default:
			return false;
	}
}

static void
refuse_with_context(bool refused, const char *what, const char *hint)
{
	if (refused)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("context models do not take %s", what),
				 errhint("%s", hint)));
}

/*
 * 0.9.0's context_columns and context_model.  One column is the plain
 * model with that column as the user; two or more make a context model,
 * trained by iALS only (Algorithm 4).
 */
static void
parse_context_options(FunctionCallInfo fcinfo, TrainOptions *options)
{
	ArrayType  *array;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	options->n_context_fields = 0;
	options->context_columns = NULL;
	options->context_kind = CONTEXT_MODEL_SUM;
	options->context_model_name = "sum";
	if (PG_NARGS() <= 38)
		return;
	require_not_null(fcinfo, 38, "context_model");
	options->context_model_name = text_arg(fcinfo, 38);
	if (strcmp(options->context_model_name, "sum") == 0)
		options->context_kind = CONTEXT_MODEL_SUM;
	else if (strcmp(options->context_model_name, "product") == 0)
		options->context_kind = CONTEXT_MODEL_PRODUCT;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown context_model \"%s\"", options->context_model_name),
				 errhint("Use 'sum' (φ = Σ of the fields' embeddings) or 'product' (their elementwise product).")));
	if (PG_ARGISNULL(37))
	{
		if (!PG_ARGISNULL(38) && options->context_kind != CONTEXT_MODEL_SUM)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("context_model applies to context models only"),
					 errhint("Name the context's fields with context_columns => ARRAY['user_id', 'weekday'].")));
		return;
	}
	array = PG_GETARG_ARRAYTYPE_P(37);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("context_columns must be a one-dimensional array"),
				 errhint("Name each context field's column, like ARRAY['user_id', 'weekday'].")));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("context_columns must name at least one column"),
				 errhint("Name each context field's column, like ARRAY['user_id', 'weekday'], or leave context_columns out.")));
	if (n > 32)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("context_columns names %d fields", n),
				 errhint("A context model takes at most 32 fields.")));
	options->context_columns = palloc(sizeof(char *) * n);
	for (int k = 0; k < n; k++)
		options->context_columns[k] = nulls[k] ? NULL : TextDatumGetCString(elems[k]);
	if (n == 1)
	{
		/* one field: the plain model, with it as the user */
		if (options->context_columns[0] == NULL)
			context_check_columns(&options->source, 1, options->context_columns);
		options->source.user_column = options->context_columns[0];
		if (options->context_kind != CONTEXT_MODEL_SUM)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("context_model \"product\" needs at least two context fields"),
					 errhint("With one field the product is the field itself: leave context_model out.")));
		return;
	}
	options->n_context_fields = n;
	context_check_columns(&options->source, n, options->context_columns);
	refuse_with_context(!options->is_ials, psprintf("algorithm '%s'", options->algorithm),
						"Context models are trained by iALS: use algorithm => 'ials'.");
	refuse_with_context(options->sql_engine, "engine 'sql'", "Leave engine out (the in-memory engine).");
	refuse_with_context(options->pairwise_square, "loss 'pairwise_square'", "Leave loss out.");
	refuse_with_context(OidIsValid(options->validation), "a validation table",
						"Evaluate the trained model with irec_evaluate on a held-out table that has the context columns.");
	refuse_with_context(options->warm_start, "warm_start", "Leave warm_start out.");
}

static void
parse_options(FunctionCallInfo fcinfo, TrainOptions *options)
{
	static const char *const names[] = {
		"source", "user_column", "item_column", "weight_column", "model",
		"algorithm", "dims", "epochs", "regularization", "regularization_exponent",
		"unobserved_weight", "confidence", "alpha", "epsilon", "init_std",
		"solver", "cg_steps", "seed", "threads", "quiet",
		"negatives", "sampler", "popularity_exponent", "logq", "temperature",
		"learning_rate", "batch_size", "max_trials", "rank_scale", "engine"
	};
	/* may be NULL: weight_column, model, epochs, regularization,
	 * unobserved_weight, confidence, epsilon, init_std, negatives, sampler,
	 * learning_rate, rank_scale */
	static const bool nullable[] = {
		false, false, false, true, true, false, false, true, true, false,
		true, true, false, true, true, false, false, false, false, false,
		true, true, false, false, false, true, false, false, true, false
	};
	const AlgorithmDefaults *defaults = NULL;

	for (int arg = 0; arg < lengthof(names); arg++)
		if (!nullable[arg])
			require_not_null(fcinfo, arg, names[arg]);

	options->source.relid = PG_GETARG_OID(0);
	options->source.user_column = text_arg(fcinfo, 1);
	options->source.item_column = text_arg(fcinfo, 2);
	options->source.weight_column = text_arg(fcinfo, 3);
	options->model = text_arg(fcinfo, 4);
	options->algorithm = text_arg(fcinfo, 5);
	for (int a = 0; a < lengthof(algorithm_defaults); a++)
		if (strcmp(options->algorithm, algorithm_defaults[a].name) == 0)
			defaults = &algorithm_defaults[a];
	if (defaults == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown algorithm \"%s\"", options->algorithm),
				 errhint("Available algorithms: 'ials', 'softmax', 'bpr', 'warp', 'pointwise', 'gramian_sgd', 'lambdarank'.")));
	options->is_ials = defaults->is_ials;
	options->sgd_algorithm = defaults->sgd;
	options->dims = PG_GETARG_INT32(6);
	options->epochs = PG_ARGISNULL(7) ? defaults->epochs : PG_GETARG_INT32(7);
	options->regularization = PG_ARGISNULL(8) ? defaults->regularization : PG_GETARG_FLOAT8(8);
	options->regularization_exponent = PG_GETARG_FLOAT8(9);
	options->unobserved_weight = PG_ARGISNULL(10) ? 0.1 : PG_GETARG_FLOAT8(10);
	/* iALS takes α0 and λ left out from the data's shape, once it is loaded */
	options->shape_unobserved_weight = defaults->is_ials && PG_ARGISNULL(10);
	options->shape_regularization = defaults->is_ials && PG_ARGISNULL(8);
	/* the softmax's λ left out: from the interactions' spectrum (sgd.h) */
	options->shape_softmax_regularization = !defaults->is_ials && defaults->sgd == SGD_SOFTMAX &&
		PG_ARGISNULL(8);
	/*
	 * Confidence left out: linear without a weight column (every pair then
	 * has the same confidence); with one, log with ε the median summed weight,
	 * which makes the confidence independent of the weights' unit.
	 */
	options->confidence_name = PG_ARGISNULL(11)
		? (options->source.weight_column ? "log" : "linear") : text_arg(fcinfo, 11);
	options->alpha = PG_GETARG_FLOAT8(12);
	options->epsilon = PG_ARGISNULL(13) ? 1.0 : PG_GETARG_FLOAT8(13);
	options->shape_epsilon = PG_ARGISNULL(13) && options->source.weight_column != NULL;
	options->solver_name = text_arg(fcinfo, 15);
	options->cg_steps = PG_GETARG_INT32(16);
	options->seed = PG_GETARG_INT64(17);
	options->threads = PG_GETARG_INT32(18);
	options->quiet = PG_GETARG_BOOL(19);
	options->negatives = PG_ARGISNULL(20) ? defaults->negatives : PG_GETARG_INT32(20);
	options->sampler_name = PG_ARGISNULL(21) ? defaults->sampler : text_arg(fcinfo, 21);
	options->popularity_exponent = PG_GETARG_FLOAT8(22);
	options->logq = PG_GETARG_BOOL(23);
	options->temperature = PG_GETARG_FLOAT8(24);
	options->learning_rate = PG_ARGISNULL(25) ? defaults->learning_rate : PG_GETARG_FLOAT8(25);
	options->batch_size = PG_GETARG_INT32(26);
	options->max_trials = PG_GETARG_INT32(27);
	options->rank_scale = PG_ARGISNULL(28) ? 0.0 : PG_GETARG_FLOAT8(28);
	{
		char	   *engine = text_arg(fcinfo, 29);

		if (strcmp(engine, "memory") == 0)
			options->sql_engine = false;
		else if (strcmp(engine, "sql") == 0)
			options->sql_engine = true;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown engine \"%s\"", engine),
					 errhint("Use 'memory' (in the backend, on all cores) or 'sql' (SQL aggregates: parallel query, Citus).")));
		if (options->sql_engine && !options->is_ials)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("engine 'sql' trains iALS only"),
					 errhint("Use algorithm => 'ials' with engine => 'sql'.")));
	}

	/* 0.1.0's SQL declaration has no validation arguments */
	options->validation = InvalidOid;
	options->validation_k = 20;
	options->validation_metric = "ndcg";
	options->patience = 3;
	if (PG_NARGS() > 33)
	{
		if (!PG_ARGISNULL(30))
			options->validation = PG_GETARG_OID(30);
		require_not_null(fcinfo, 31, "validation_k");
		require_not_null(fcinfo, 32, "validation_metric");
		require_not_null(fcinfo, 33, "patience");
		options->validation_k = PG_GETARG_INT32(31);
		options->validation_metric = text_arg(fcinfo, 32);
		options->patience = PG_GETARG_INT32(33);
	}
	/* 0.7.0 added warm_start */
	options->warm_start = false;
	if (PG_NARGS() > 34)
	{
		require_not_null(fcinfo, 34, "warm_start");
		options->warm_start = PG_GETARG_BOOL(34);
	}
	/* 0.8.0 added candidates (the two-pass sampler's M) */
	options->candidates = 0;
	if (PG_NARGS() > 35 && !PG_ARGISNULL(35))
	{
		options->candidates = PG_GETARG_INT32(35);
		require_range(options->candidates, 1, 1000000, true, "candidates",
					  "The two-pass sampler's first pass draws this many items; leave it out for four times negatives.");
	}
	/* 0.8.0 added loss (iALS: 'pointwise', the default, or 'pairwise_square') */
	options->pairwise_square = false;
	if (PG_NARGS() > 36 && !PG_ARGISNULL(36))
	{
		char	   *loss = text_arg(fcinfo, 36);

		if (strcmp(loss, "pairwise_square") == 0)
			options->pairwise_square = true;
		else if (strcmp(loss, "pointwise") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown loss \"%s\"", loss),
					 errhint("Use 'pointwise' (iALS's weighted square loss) or 'pairwise_square'.")));
		if (!options->is_ials && options->sgd_algorithm != SGD_GRAMIAN)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("loss applies to algorithms 'ials' and 'gramian_sgd' only"),
					 errhint("Use algorithm => 'ials' or 'gramian_sgd' with loss, or leave loss out.")));
		if (options->pairwise_square && options->sql_engine)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("engine 'sql' trains the pointwise loss only"),
					 errhint("Use engine => 'memory' with loss => 'pairwise_square'.")));
	}
	options->shape_pairwise_sgd_regularization = options->pairwise_square && !options->is_ials &&
		PG_ARGISNULL(8);
	if (options->warm_start && options->sql_engine)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("engine 'sql' does not warm-start"),
				 errhint("Use engine => 'memory' with warm_start.")));
	if (strcmp(options->validation_metric, "ndcg") != 0 && strcmp(options->validation_metric, "recall") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown validation metric \"%s\"", options->validation_metric),
				 errhint("Use 'ndcg' or 'recall'.")));
	require_range(options->validation_k, 1, 100000, true, "validation_k",
				  "The cut-off k of the validation metric; 10 to 100 are typical.");
	require_range(options->patience, 1, 10000, true, "patience",
				  "Training stops after this many epochs without a better validation score; 2 to 5 are typical.");
	if (OidIsValid(options->validation) && options->sql_engine)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("engine 'sql' does not stop early on a validation table"),
				 errhint("Use engine => 'memory' with validation, or leave validation out.")));

	require_range(options->dims, 1, 4096, true, "dims",
				  "Choose between 1 and 4096 dimensions; 64 to 256 are typical.");
	require_range(options->epochs, 1, 10000, true, "epochs",
				  "8 to 16 epochs are typical for iALS, 20 to 50 for the sampling-based algorithms.");
	if (options->is_ials)
		require_range(options->regularization, 0, 1e6, false, "regularization",
					  "The regularization λ must be positive; with the default exponent 1, values around 0.001 to 0.1 are typical.");
	else
		require_range(options->regularization, 0, 1e6, true, "regularization",
					  "The L2 weight on updated rows must be finite and not negative; 0 to 0.01 are typical.");
	require_range(options->regularization_exponent, 0, 10, true, "regularization_exponent",
				  "ν is usually between 0 (constant λ) and 1 (λ scaled by frequency).");
	require_range(options->unobserved_weight, 0, 1e6, true, "unobserved_weight",
				  "The weight α0 of unobserved pairs is usually well below 1.");
	require_range(options->alpha, 0, 1e9, true, "alpha",
				  "The confidence scale a must be a finite, non-negative number.");
	require_range(options->epsilon, 0, 1e12, false, "epsilon",
				  "The log confidence scale ε must be positive.");
	if (strcmp(options->confidence_name, "linear") == 0)
		options->confidence = CONFIDENCE_LINEAR;
	else if (strcmp(options->confidence_name, "log") == 0)
		options->confidence = CONFIDENCE_LOG;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown confidence \"%s\"", options->confidence_name),
				 errhint("Use 'linear' (α = 1 + alpha·w) or 'log' (α = 1 + alpha·ln(1 + w/epsilon)).")));
	if (PG_ARGISNULL(14))
		options->init_std = 0.1 / sqrt((double) options->dims);
	else
	{
		options->init_std = PG_GETARG_FLOAT8(14);
		require_range(options->init_std, 0, 100, false, "init_std",
					  "Leave init_std out for the default 0.1/sqrt(dims).");
	}
	if (strcmp(options->solver_name, "cholesky") == 0)
		options->solver = IALS_SOLVER_CHOLESKY;
	else if (strcmp(options->solver_name, "cg") == 0)
		options->solver = IALS_SOLVER_CG;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown solver \"%s\"", options->solver_name),
				 errhint("Use 'cg' (conjugate gradient) or 'cholesky' (exact).")));
	require_range(options->cg_steps, 1, 1000, true, "cg_steps",
				  "2 to 8 conjugate gradient steps per row are typical.");
	require_range(options->threads, 0, 64, true, "threads",
				  "Use 0 for all cores.");

	/* the sampling-based options */
	if (options->sampler_name != NULL)
	{
		if (strcmp(options->sampler_name, "uniform") == 0)
			options->sampler = SAMPLER_UNIFORM;
		else if (strcmp(options->sampler_name, "popularity") == 0)
			options->sampler = SAMPLER_POPULARITY;
		else if (strcmp(options->sampler_name, "in_batch") == 0)
			options->sampler = SAMPLER_IN_BATCH;
		else if (strcmp(options->sampler_name, "rank_adaptive") == 0)
			options->sampler = SAMPLER_RANK_ADAPTIVE;
		else if (strcmp(options->sampler_name, "kernel") == 0)
			options->sampler = SAMPLER_KERNEL;
		else if (strcmp(options->sampler_name, "two_pass") == 0)
			options->sampler = SAMPLER_TWO_PASS;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown sampler \"%s\"", options->sampler_name),
					 errhint("Samplers: 'uniform', 'popularity', 'in_batch', 'rank_adaptive', 'kernel', 'two_pass'.")));
		if (defaults->samplers == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("algorithm \"%s\" samples no negatives", options->algorithm),
					 errhint("Leave sampler out for this algorithm.")));
		if (!sampler_allowed(options->sgd_algorithm, options->sampler))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("sampler \"%s\" does not apply to algorithm \"%s\"",
							options->sampler_name, options->algorithm),
					 errhint("Use %s.", defaults->samplers)));
	}
	else
		options->sampler = SAMPLER_UNIFORM;
	if (!options->is_ials)
	{
		if (options->sgd_algorithm == SGD_SOFTMAX || options->sgd_algorithm == SGD_POINTWISE)
			require_range(options->negatives, 1, 100000, true, "negatives",
						  "The number m of sampled negatives must be positive; 1024 shared negatives suit the softmax.");
		if (options->sgd_algorithm == SGD_LAMBDARANK)
			require_range(options->negatives, 1, 100000, true, "negatives",
						  "LambdaRank estimates ranks from this many draws per positive; 16 to 128 are typical.");
		require_range(options->popularity_exponent, 0, 10, true, "popularity_exponent",
					  "β in q(j) ∝ popularity^β is usually between 0 and 1.");
		require_range(options->temperature, 0, 1e6, false, "temperature",
					  "The softmax temperature must be positive.");
		require_range(options->learning_rate, 0, 100, false, "learning_rate",
					  "The Adagrad learning rate must be positive; 0.01 to 0.2 are typical.");
		require_range(options->batch_size, 1, 65536, true, "batch_size",
					  "Mini-batches of 64 to 1024 positives are typical.");
		require_range(options->max_trials, 1, 1000000, true, "max_trials",
					  "WARP draws at most this many negatives per positive; 10 to 1000 are typical.");
		if (!PG_ARGISNULL(28))
			require_range(options->rank_scale, 0, 1e9, false, "rank_scale",
						  "The rank-adaptive sampler's mean rank must be positive.");
	}
	parse_context_options(fcinfo, options);
	if (options->candidates > 0 && (options->is_ials || options->sampler != SAMPLER_TWO_PASS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("candidates applies to the two-pass sampler only"),
				 errhint("Use algorithm => 'softmax', sampler => 'two_pass', or leave candidates out.")));
}

/* α0, λ and ε left out, from the data's shape (ials.h). */
static void
shape_defaults(TrainOptions *options, size_t n_users, size_t n_items, size_t nnz,
			   double median_weight)
{
	double		mean_user = (double) nnz / Max(n_users, 1);

	if (options->shape_epsilon && median_weight > 0 && isfinite(median_weight))
		options->epsilon = median_weight;
	if (options->shape_unobserved_weight)
		options->unobserved_weight = ials_default_unobserved_weight(n_items, mean_user);
	if (options->shape_regularization)
		options->regularization = ials_default_regularization(options->unobserved_weight, n_items,
															  mean_user, options->regularization_exponent);
	if (options->shape_pairwise_sgd_regularization)
		options->regularization = pairwise_sgd_default_regularization(n_items, mean_user);
}

static float
confidence_of(const TrainOptions *options, float weight)
{
	if (options->confidence == CONFIDENCE_LOG)
		return (float) (1.0 + options->alpha * log1p(weight / options->epsilon));
	return (float) (1.0 + options->alpha * weight);
}

static char *
params_json(const TrainOptions *options, int threads)
{
	StringInfoData json;

	/* float8out_internal: shortest text that reads back to the same double */
	initStringInfo(&json);
	appendStringInfo(&json,
					 "{\"regularization\": %s, \"regularization_exponent\": %s, "
					 "\"unobserved_weight\": %s, \"confidence\": \"%s\", \"alpha\": %s, "
					 "\"epsilon\": %s, \"init_std\": %s, \"seed\": " INT64_FORMAT ", \"threads\": %d",
					 float8out_internal(options->regularization),
					 float8out_internal(options->regularization_exponent),
					 float8out_internal(options->unobserved_weight), options->confidence_name,
					 float8out_internal(options->alpha), float8out_internal(options->epsilon),
					 float8out_internal(options->init_std), options->seed, threads);
	if (options->pairwise_square)
		appendStringInfoString(&json, ", \"loss\": \"pairwise_square\"");
	if (options->is_ials && options->pairwise_square)
		appendStringInfoString(&json, ", \"solver\": \"cholesky\"");
	else if (options->is_ials)
		appendStringInfo(&json, ", \"solver\": \"%s\", \"cg_steps\": %d",
						 options->solver_name, options->cg_steps);
	else
	{
		appendStringInfo(&json, ", \"learning_rate\": %s, \"batch_size\": %d",
						 float8out_internal(options->learning_rate), options->batch_size);
		if (options->sampler_name)
			appendStringInfo(&json, ", \"sampler\": \"%s\", \"popularity_exponent\": %s",
							 options->sampler_name, float8out_internal(options->popularity_exponent));
		if (options->sgd_algorithm == SGD_SOFTMAX)
			appendStringInfo(&json, ", \"negatives\": %d, \"logq\": %s, \"temperature\": %s",
							 options->negatives, options->logq ? "true" : "false",
							 float8out_internal(options->temperature));
		if (options->sgd_algorithm == SGD_POINTWISE || options->sgd_algorithm == SGD_LAMBDARANK)
			appendStringInfo(&json, ", \"negatives\": %d", options->negatives);
		if (options->sgd_algorithm == SGD_WARP)
			appendStringInfo(&json, ", \"max_trials\": %d", options->max_trials);
		if (options->sampler == SAMPLER_RANK_ADAPTIVE)
			appendStringInfo(&json, ", \"rank_scale\": %s", float8out_internal(options->rank_scale));
		if (options->sampler == SAMPLER_TWO_PASS)
			appendStringInfo(&json, ", \"candidates\": %d", options->candidates);
	}
	if (options->warm_start)
		appendStringInfoString(&json, ", \"warm_start\": true");
	if (OidIsValid(options->validation))
		appendStringInfo(&json, ", \"validation_metric\": \"%s\", \"validation_k\": %d, \"patience\": %d",
						 options->validation_metric, options->validation_k, options->patience);
	appendStringInfoChar(&json, '}');
	return json.data;
}

typedef struct InitJob
{
	float	   *x;
	size_t		first;
	int			dims;
	double		std;
	uint64		seed;
	uint64		side;
} InitJob;

static int
init_block(void *context, size_t begin, size_t end, int thread)
{
	InitJob    *job = (InitJob *) context;
	size_t		first = job->first + begin;

	ials_init_rows(job->x + first * job->dims, first, end - begin, job->dims, job->std,
				   job->seed, job->side);
	return 0;
}

/*
 * init_side: the random initial embeddings, on all threads and in chunks
 * with interrupt checks (dims 4096 × 20,000 rows is 82M normal draws).  Each
 * row has its own seeded stream, so the values do not depend on the chunks
 * or the thread count.
 */
static void
init_side(float *x, size_t rows, int dims, double std, uint64 seed, uint64 side, int threads)
{
	size_t		chunk = Max((size_t) 1, (size_t) INIT_FLOATS_PER_CHUNK / dims);
	InitJob		job = {x, 0, dims, std, seed, side};

	for (job.first = 0; job.first < rows; job.first += chunk)
	{
		size_t		count = Min(chunk, rows - job.first);

		parallel_for(threads, count, Max((size_t) 1, count / Max(threads, 1)), init_block, &job);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * alloc_cache_aligned: bytes from context starting on a 64-byte line, freed
 * with the context (never by pfree).  Embedding rows that start on a line
 * keep the solvers' vector loads from straddling two (on the benchmark's
 * d = 128 CG epoch about 8%).
 */

/*
 * solve_side: one half-step, stopping between blocks when an interrupt is
 * pending (solve_rows_polled) so that cancel and statement_timeout act
 * within a fraction of a second; if the interrupt did not end the
 * statement, it goes on from the first row not solved.
 */
static void
report_solve_failure(int rc)
{
	if (rc != IALS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("iALS solve failed: a row's system is not positive definite"),
				 errhint("Increase regularization.")));
}

static void
solve_side(const IalsConfig *config, const CsrMatrix *m, const float *other,
		   const float *gram, float *target, float *scratch, double *row_loss)
{
	for (size_t begin = 0; begin < m->n_rows;)
	{
		report_solve_failure(solve_rows_polled(config, m, other, gram, target, begin, m->n_rows,
											   scratch, row_loss, &begin));
		CHECK_FOR_INTERRUPTS();
	}
}

static void
report_epoch(const TrainOptions *options, int epoch, double loss, const struct timespec *epoch_start)
{
	CHECK_FOR_INTERRUPTS();
	if (!isfinite(loss))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("training diverged at epoch %d", epoch + 1),
				 errhint(options->is_ials ? "Increase regularization or lower alpha."
						 : "Lower learning_rate, or raise regularization.")));
	if (!options->quiet)
		ereport(NOTICE,
				(errmsg("epoch %d/%d: loss %.6g, %.2f s", epoch + 1, options->epochs,
						loss, seconds_since(epoch_start))));
}

/* iALS epochs: a user half-step, an item half-step, the loss (DESIGN §5.1). */
/*
 * end_of_epoch: the validation score after an epoch, when there is a
 * validation table; true when training should stop early.
 */
static bool
end_of_epoch(const TrainOptions *options, Validation *validation, int epoch, double loss,
			 const float *users, size_t n_users, const float *items, size_t n_items)
{
	bool		stop = false;

	if (validation != NULL)
		stop = validation_epoch(validation, epoch, users, n_users, items, n_items, options->quiet);
	progress_epoch(epoch + 1, loss, validation != NULL ? validation->scores[epoch] : NAN);
	return stop;
}

static int	train_pairwise(const TrainOptions *options, const IalsConfig *config,
						   const CsrMatrix *by_user, const CsrMatrix *by_item, float *users,
						   float *items, double *loss, Validation *validation, float *gram,
						   float *partials, MemoryContext context);

static int
train_ials(const TrainOptions *options, int threads, const CsrMatrix *by_user,
		   const CsrMatrix *by_item, float *users, float *items, double *loss,
		   Validation *validation, MemoryContext context)
{
	IalsConfig	config;
	int			d = options->dims;
	float	   *gram = MemoryContextAlloc(context, sizeof(float) * d * d);
	float	   *user_gram = MemoryContextAlloc(context, sizeof(float) * d * d);
	float	   *partials = MemoryContextAllocHuge(context, sizeof(float) * threads * d * d);
	float	   *scratch;
	double	   *row_loss;

	config.dims = d;
	config.regularization = options->regularization;
	config.regularization_exponent = options->regularization_exponent;
	config.unobserved_weight = options->unobserved_weight;
	config.solver = options->solver;
	config.cg_steps = options->cg_steps;
	config.threads = threads;
	if (options->pairwise_square)
		return train_pairwise(options, &config, by_user, by_item, users, items, loss, validation,
							  gram, partials, context);
	scratch = alloc_cache_aligned(context, sizeof(float) * threads * ials_scratch_floats(&config));
	row_loss = MemoryContextAllocHuge(context, sizeof(double) * (by_user->n_rows + by_item->n_rows));

	/* Gramian trick, DESIGN §5.1: one d×d matrix stands in for all negatives */
	gramian(items, by_item->n_rows, d, threads, gram, partials);
	for (int epoch = 0; epoch < options->epochs; epoch++)
	{
		struct timespec epoch_start;

		clock_gettime(CLOCK_MONOTONIC, &epoch_start);
		solve_side(&config, by_user, items, gram, users, scratch, NULL);
		gramian(users, by_user->n_rows, d, threads, user_gram, partials);
		/* the item step also leaves each item's share of the loss */
		solve_side(&config, by_item, users, user_gram, items, scratch, row_loss);
		/* the items' Gramian serves the loss now and the next user step */
		gramian(items, by_item->n_rows, d, threads, gram, partials);
		loss[epoch] = ials_loss_from_item_rows(&config, by_user, users, user_gram, gram,
											   row_loss, by_item->n_rows);
		report_epoch(options, epoch, loss[epoch], &epoch_start);
		if (end_of_epoch(options, validation, epoch, loss[epoch], users, by_user->n_rows, items, by_item->n_rows))
			return epoch + 1;
	}
	return options->epochs;
}

/*
 * iALS for the pairwise square loss (pairwise.h): exact user steps, Jacobi
 * item steps against the sums over users taken before the step.
 */
static int
train_pairwise(const TrainOptions *options, const IalsConfig *config, const CsrMatrix *by_user,
			   const CsrMatrix *by_item, float *users, float *items, double *loss,
			   Validation *validation, float *gram, float *partials, MemoryContext context)
{
	int			d = config->dims;
	int			threads = config->threads;
	float	   *scratch = alloc_cache_aligned(context, sizeof(float) * threads * pairwise_scratch_floats(config));
	float	   *sums_scratch = MemoryContextAllocHuge(context, sizeof(float) *
													  pairwise_loss_scratch_floats(config, by_user->n_rows));
	float	   *item_sum = palloc(sizeof(float) * d);
	float	   *weighted_gram = palloc(sizeof(float) * d * d);
	float	   *residual_sum = palloc(sizeof(float) * d);

	for (int epoch = 0; epoch < options->epochs; epoch++)
	{
		struct timespec epoch_start;

		clock_gettime(CLOCK_MONOTONIC, &epoch_start);
		gramian(items, by_item->n_rows, d, threads, gram, partials);
		pairwise_row_sum(items, by_item->n_rows, d, item_sum);
		for (size_t begin = 0, end; begin < by_user->n_rows; begin = end)
		{
			end = solve_chunk_end(config, by_user, begin, true);
			report_solve_failure(pairwise_solve_users(config, by_user, items, gram, item_sum, users,
													  begin, end, scratch));
			CHECK_FOR_INTERRUPTS();
		}
		pairwise_user_sums(config, by_user, users, items, weighted_gram, residual_sum, sums_scratch);
		CHECK_FOR_INTERRUPTS();
		for (size_t begin = 0, end; begin < by_item->n_rows; begin = end)
		{
			end = solve_chunk_end(config, by_item, begin, true);
			report_solve_failure(pairwise_solve_items(config, by_item, users, weighted_gram, residual_sum,
													  item_sum, items, begin, end, scratch));
			CHECK_FOR_INTERRUPTS();
		}
		gramian(items, by_item->n_rows, d, threads, gram, partials);
		pairwise_row_sum(items, by_item->n_rows, d, item_sum);
		loss[epoch] = pairwise_loss(config, by_user, by_item, users, items, gram, item_sum, sums_scratch);
		report_epoch(options, epoch, loss[epoch], &epoch_start);
		if (end_of_epoch(options, validation, epoch, loss[epoch], users, by_user->n_rows, items, by_item->n_rows))
			return epoch + 1;
	}
	return options->epochs;
}

static SgdConfig
sgd_config(const TrainOptions *options, int threads, size_t n_items)
{
	SgdConfig	config;

	config.algorithm = options->sgd_algorithm;
	config.sampler = options->sampler;
	config.dims = options->dims;
	config.negatives = options->negatives > 0 ? options->negatives : 1;
	config.popularity_exponent = options->popularity_exponent;
	config.logq = options->logq;
	config.temperature = options->temperature;
	config.regularization = options->regularization;
	config.learning_rate = options->learning_rate;
	config.batch_size = options->batch_size;
	config.threads = threads;
	config.seed = (uint64_t) options->seed;
	config.unobserved_weight = options->unobserved_weight;
	config.max_trials = options->max_trials;
	config.rank_scale = options->rank_scale > 0 ? options->rank_scale : Max(1.0, n_items / 100.0);
	config.pairwise = options->pairwise_square;
	config.candidates = options->candidates > 0 ? options->candidates
		: (int) Min((size_t) TWO_PASS_CANDIDATES_PER_NEGATIVE * config.negatives, Max(n_items, (size_t) 1));
	return config;
}

/* Batches per core call: interrupts are checked between calls. */
#define SGD_BATCHES_PER_CALL 32

/* Sampling-based epochs (DESIGN §4, §5.1.3): Hogwild batches on every core. */
static int
train_sgd(TrainOptions *options, int threads, const CsrMatrix *by_user,
		  const CsrMatrix *by_item, float *users, float *items, double *loss,
		  Validation *validation, MemoryContext context)
{
	SgdConfig	config = sgd_config(options, threads, by_item->n_rows);
	SgdData		data = {by_user, by_item};
	SgdModel	model;
	SgdState   *state;
	void	   *scratch;

	if (options->shape_softmax_regularization)
	{
		float	   *spectrum = MemoryContextAllocHuge(context,
													  sizeof(float) * softmax_default_scratch_floats(&config, &data));

		progress_phase("choosing the regularization");
		options->regularization = softmax_default_regularization(&config, &data, spectrum,
																 check_interrupts, NULL);
		if (options->regularization < 0)
			elog(ERROR, "could not compute the spectrum of the interactions (LAPACK failed)");
		config.regularization = options->regularization;
		pfree(spectrum);
	}
	scratch = MemoryContextAllocHuge(context, sgd_scratch_bytes(&config, &data));
	options->rank_scale = config.rank_scale;
	options->candidates = config.candidates;
	model.n_users = by_user->n_rows;
	model.n_items = by_item->n_rows;
	model.users = users;
	model.items = items;
	model.user_acc = MemoryContextAllocHuge(context, sizeof(float) * Max(model.n_users, 1));
	model.item_acc = MemoryContextAllocHuge(context, sizeof(float) * Max(model.n_items, 1));
	memset(model.user_acc, 0, sizeof(float) * model.n_users);
	memset(model.item_acc, 0, sizeof(float) * model.n_items);
	state = sgd_begin(&config, &data, scratch);
	if (state == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no item can be sampled as a negative"),
				 errhint("Every item has zero weight under this sampler; try sampler => 'uniform'.")));
	for (int epoch = 0; epoch < options->epochs; epoch++)
	{
		struct timespec epoch_start;
		size_t		n_batches;

		clock_gettime(CLOCK_MONOTONIC, &epoch_start);
		n_batches = sgd_epoch_begin(state, &model, epoch);
		for (size_t first = 0; first < n_batches; first += SGD_BATCHES_PER_CALL)
		{
			sgd_run_batches(state, &model, first, Min(n_batches, first + SGD_BATCHES_PER_CALL));
			CHECK_FOR_INTERRUPTS();
		}
		loss[epoch] = sgd_epoch_loss(state, &model);
		if (!vec_all_finite(items, model.n_items * options->dims) ||
			!vec_all_finite(users, model.n_users * options->dims))
			loss[epoch] = NAN;
		report_epoch(options, epoch, loss[epoch], &epoch_start);
		if (end_of_epoch(options, validation, epoch, loss[epoch], users, by_user->n_rows, items, by_item->n_rows))
			return epoch + 1;
	}
	return options->epochs;
}

/* The SQL engine's shape callback: shape_defaults, then the values it set into its options. */
static void
sql_shape_defaults(void *arg, SqlTrainOptions *sql, int64 n_users, int64 n_items, int64 n_pairs,
				   double median_weight)
{
	TrainOptions *options = (TrainOptions *) arg;

	shape_defaults(options, (size_t) n_users, (size_t) n_items, (size_t) n_pairs, median_weight);
	sql->regularization = options->regularization;
	sql->unobserved_weight = options->unobserved_weight;
	sql->epsilon = options->epsilon;
}

/* engine => 'sql': the epochs as SQL statements (train_sql.c), then the registry row. */
static text *
train_with_sql(TrainOptions *options, ModelTarget *target, MemoryContext caller,
			   struct timespec *start)
{
	SqlTrainOptions sql;
	SqlTrainResult result;
	ModelSummary summary;
	double	   *loss = palloc(sizeof(double) * options->epochs);
	MemoryContext old;
	text	   *name;

	(void) train_sql_begin(options->source.relid);
	sql.source = options->source;
	sql.dims = options->dims;
	sql.epochs = options->epochs;
	sql.regularization = options->regularization;
	sql.regularization_exponent = options->regularization_exponent;
	sql.unobserved_weight = options->unobserved_weight;
	sql.log_confidence = options->confidence == CONFIDENCE_LOG;
	sql.alpha = options->alpha;
	sql.epsilon = options->epsilon;
	sql.init_std = options->init_std;
	sql.seed = options->seed;
	sql.quiet = options->quiet;
	sql.solver = options->solver;
	sql.cg_steps = options->cg_steps;
	sql.threads = options->threads;
	/* the shape the defaults come from, counted where the engine groups the data */
	sql.shape = options->shape_unobserved_weight || options->shape_regularization || options->shape_epsilon
		? sql_shape_defaults : NULL;
	sql.shape_arg = options;
	sql.shape_needs_median = options->shape_epsilon;
	train_sql(&sql, target, loss, &result);

	summary.source = result.source_name;
	summary.user_column = options->source.user_column;
	summary.item_column = options->source.item_column;
	summary.weight_column = options->source.weight_column;
	summary.algorithm = options->algorithm;
	summary.dims = options->dims;
	summary.epochs = options->epochs;
	{
		/* the parameters, and the engine */
		char	   *json = params_json(options, irec_thread_count(options->threads));

		json[strlen(json) - 1] = '\0';
		summary.params_json = psprintf("%s, \"engine\": \"sql\", \"citus\": %s, "
									   "\"phase_seconds\": {\"solves\": %.3f, \"coordinator\": %.3f}}",
									   json, result.distributed ? "true" : "false", result.solve_seconds,
									   result.coordinator_seconds);
	}
	summary.n_users = result.n_users;
	summary.n_items = result.n_items;
	summary.n_interactions = result.n_interactions;
	summary.n_skipped_rows = result.skipped_rows;
	summary.load_seconds = result.load_seconds;
	summary.train_seconds = result.train_seconds;
	summary.write_seconds = result.write_seconds;
	summary.seconds = seconds_since(start);
	summary.loss = loss;
	summary.item_gramian = result.item_gram;
	summary.validation = NULL;
	summary.best_epoch = 0;
	model_register(target, &summary);
	old = MemoryContextSwitchTo(caller);
	name = cstring_to_text(target->name);
	MemoryContextSwitchTo(old);
	return name;
}

/*
 * warm_start_side: overwrite the rows of x (ids → dense index as in `ids`)
 * whose ids the existing model table has, with that model's embeddings.
 * Returns how many rows were taken over.
 */
static int64
warm_start_side(const char *table, const char *id_column, const IdMap *ids, int dims, float *x)
{
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
										 AccessShareLock, false);
	Oid			table_type = get_atttype(relid, get_attnum(relid, id_column));
	Oid			types[1] = {get_array_type(ids->type)};
	Datum		values[1];
	char	   *sql;
	Portal		portal;
	int64		taken = 0;

	if (table_type != ids->type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the existing model's %s is of type %s, the source's ids are %s",
						id_column, format_type_be(table_type), format_type_be(ids->type)),
				 errhint("Train without warm_start, or from a source with the same id types.")));
	values[0] = PointerGetDatum(construct_array(ids->ids, (int) ids->count, ids->type,
												ids->typlen, ids->typbyval, ids->typalign));
	sql = psprintf("SELECT u.k, m.embedding FROM pg_catalog.unnest($1) WITH ORDINALITY AS u(id, k) "
				   "JOIN %s m ON m.%s = u.id", table, id_column);
	portal = SPI_cursor_open_with_args(NULL, sql, 1, types, values, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			int64		k = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
			Datum		emb = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);
			Embedding  *e;

			if (isnull)
				continue;
			e = DatumGetEmbedding(emb);
			if (e->dims != dims)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("an embedding of %s has %d dimensions, not %d", table, e->dims, dims),
						 errhint("Train without warm_start, or with the existing model's dims.")));
			memcpy(x + (size_t) (k - 1) * dims, e->x, sizeof(float) * dims);
			taken++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	return taken;
}

/*
 * warm_start: the existing model of the target's name, if any, gives its
 * embeddings to the ids it knows; new ids keep their random start.
 */
static void
warm_start(const TrainOptions *options, const ModelTarget *target, const Interactions *data,
		   float *users, float *items)
{
	char	   *sql = psprintf("SELECT dims FROM %s WHERE name = $1",
							   quote_qualified_identifier(irec_extension_schema(), "irec_models"));
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(target->name)};
	bool		isnull;
	int			dims;
	int64		users_taken;
	int64		items_taken;

	if (SPI_execute_with_args(sql, 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the model registry");
	if (SPI_processed == 0)
	{
		if (!options->quiet)
			ereport(NOTICE,
					(errmsg("model \"%s\" does not exist yet: warm_start starts from random embeddings",
							target->name)));
		return;
	}
	dims = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (dims != options->dims)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" has %d dims, not %d: warm_start needs the same dims",
						target->name, dims, options->dims),
				 errhint("Pass dims => %d, or train without warm_start.", dims)));
	users_taken = warm_start_side(target->users_table, "user_id", &data->users, dims, users);
	items_taken = warm_start_side(target->items_table, "item_id", &data->items, dims, items);
	if (!options->quiet)
		ereport(NOTICE,
				(errmsg("warm start from model \"%s\": " INT64_FORMAT " of %zu users and "
						INT64_FORMAT " of %zu items", target->name, users_taken, data->users.count,
						items_taken, data->items.count)));
}

PG_FUNCTION_INFO_V1(irec_train);
Datum
irec_train(PG_FUNCTION_ARGS)
{
	TrainOptions options;
	MemoryContext train_context;
	MemoryContext old;
	Interactions data;
	ModelTarget target;
	CsrMatrix	by_user;
	CsrMatrix	by_item;
	float	   *confidence;
	float	   *users;
	float	   *items;
	float	   *gram;
	float	   *partials;
	double	   *loss;
	double		bytes;
	int			threads;
	int			epochs_run;
	Validation	validation;
	struct timespec start;
	struct timespec train_start;
	struct timespec write_start;
	ModelSummary summary;
	MemoryContext caller_context = CurrentMemoryContext;
	text	   *result;
	int			path_level;

	clock_gettime(CLOCK_MONOTONIC, &start);
	parse_options(fcinfo, &options);
	threads = irec_thread_count(options.threads);

	train_context = AllocSetContextCreate(CurrentMemoryContext, "irec training",
										  ALLOCSET_DEFAULT_SIZES);
	path_level = irec_restrict_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	model_target(options.model, options.source.relid, &target);
	progress_begin(target.name, options.algorithm, options.epochs);
	if (options.sql_engine)
	{
		progress_phase("training (sql engine)");
		result = train_with_sql(&options, &target, caller_context, &start);
		SPI_finish();
		irec_restore_search_path(path_level);
		MemoryContextDelete(train_context);
		PG_RETURN_TEXT_P(result);
	}
	if (options.n_context_fields > 1)
	{
		ContextTrainRequest request;

		request.source = options.source;
		request.n_fields = options.n_context_fields;
		request.columns = options.context_columns;
		request.kind = options.context_kind;
		request.kind_name = options.context_model_name;
		request.epochs = options.epochs;
		request.config.dims = options.dims;
		request.config.regularization = options.regularization;
		request.config.regularization_exponent = options.regularization_exponent;
		request.config.unobserved_weight = options.unobserved_weight;
		request.config.solver = options.solver;
		request.config.cg_steps = options.cg_steps;
		request.config.threads = threads;
		request.solver_name = options.solver_name;
		request.shape_unobserved_weight = options.shape_unobserved_weight;
		request.shape_regularization = options.shape_regularization;
		request.log_confidence = options.confidence == CONFIDENCE_LOG;
		request.confidence_name = options.confidence_name;
		request.alpha = options.alpha;
		request.epsilon = options.epsilon;
		request.shape_epsilon = options.shape_epsilon;
		request.init_std = options.init_std;
		request.seed = options.seed;
		request.quiet = options.quiet;
		result = context_train(&request, &target, caller_context, &start);
		SPI_finish();
		irec_restore_search_path(path_level);
		MemoryContextDelete(train_context);
		PG_RETURN_TEXT_P(result);
	}
	interactions_load(&options.source, train_context, &data);
	summary.load_seconds = seconds_since(&start);
	shape_defaults(&options, data.users.count, data.items.count, data.nnz,
				   options.shape_epsilon ? median_of(data.weight, data.nnz, train_context) : 0.0);
	if (data.skipped_rows > 0 && !options.quiet)
		ereport(NOTICE,
				(errmsg("skipped " INT64_FORMAT " rows with a NULL user, item or weight",
						data.skipped_rows)));

	/* everything else the training allocates, checked before allocating */
	bytes = (double) data.nnz * (2 * (sizeof(int32) + sizeof(float)) + sizeof(float)) +
		(double) (data.users.count + data.items.count + 2) * (sizeof(size_t) + sizeof(double)) +
		(double) (data.users.count + data.items.count) * options.dims * sizeof(float) +
		(double) (threads + 2) * options.dims * options.dims * sizeof(float) +
		(double) threads * (4.0 * options.dims * options.dims + 1024.0 * 1024.0 * 4.0);
	if (!options.is_ials)
	{
		SgdConfig	probe = sgd_config(&options, threads, data.items.count);
		CsrMatrix	shape_user = {data.users.count, data.items.count, data.nnz};
		CsrMatrix	shape_item = {data.items.count, data.users.count, data.nnz};
		SgdData		shape = {&shape_user, &shape_item};

		bytes += sgd_scratch_bytes(&probe, &shape);
		/* freed before the trainer's scratch is taken, so the larger of the two */
		if (options.shape_softmax_regularization)
			bytes += Max(0.0, (double) sizeof(float) * softmax_default_scratch_floats(&probe, &shape)
						 - (double) sgd_scratch_bytes(&probe, &shape));
	}
	/* early stopping keeps a copy of the best epoch's embeddings */
	if (OidIsValid(options.validation))
		bytes += (double) (data.users.count + data.items.count) * options.dims * sizeof(float);
	irec_check_memory(bytes + (double) data.nnz * 40.0, "training this model");

	old = MemoryContextSwitchTo(train_context);
	confidence = irec_alloc_large(train_context, sizeof(float) * data.nnz);
	for (size_t k = 0; k < data.nnz; k++)
		confidence[k] = confidence_of(&options, data.weight[k]);
	build_csr(train_context, data.users.count, data.items.count, data.nnz,
			  data.user_index, data.item_index, confidence, &by_user);
	build_csr(train_context, data.items.count, data.users.count, data.nnz,
			  data.item_index, data.user_index, confidence, &by_item);
	/* the triples are in both CSRs now */
	pfree(data.user_index);
	pfree(data.item_index);
	pfree(confidence);
	pfree(data.weight);
	if (OidIsValid(options.validation))
	{
		validation.metric = strcmp(options.validation_metric, "recall") == 0 ? EVAL_RECALL : EVAL_NDCG;
		validation.metric_name = options.validation_metric;
		validation.patience = options.patience;
		validation_load(&validation, options.validation, &options.source, &data, &by_user,
						options.dims, options.validation_k, threads, options.epochs, train_context);
	}
	users = alloc_cache_aligned(train_context, sizeof(float) * data.users.count * options.dims);
	items = alloc_cache_aligned(train_context, sizeof(float) * data.items.count * options.dims);
	gram = palloc(sizeof(float) * options.dims * options.dims);
	partials = MemoryContextAllocHuge(train_context, sizeof(float) * threads * options.dims * options.dims);
	loss = palloc(sizeof(double) * options.epochs);
	MemoryContextSwitchTo(old);

	init_side(users, data.users.count, options.dims, options.init_std, (uint64) options.seed, 1, threads);
	init_side(items, data.items.count, options.dims, options.init_std, (uint64) options.seed, 2, threads);
	if (options.warm_start)
		warm_start(&options, &target, &data, users, items);

	clock_gettime(CLOCK_MONOTONIC, &train_start);
	progress_phase("training");
	if (options.is_ials)
		epochs_run = train_ials(&options, threads, &by_user, &by_item, users, items, loss,
								OidIsValid(options.validation) ? &validation : NULL, train_context);
	else
		epochs_run = train_sgd(&options, threads, &by_user, &by_item, users, items, loss,
							   OidIsValid(options.validation) ? &validation : NULL, train_context);
	if (OidIsValid(options.validation))
		validation_restore(&validation, users, data.users.count, items, data.items.count);
	/* the final items' Gramian, which fold-in solves against */
	gramian(items, data.items.count, options.dims, threads, gram, partials);
	summary.train_seconds = seconds_since(&train_start);
	clock_gettime(CLOCK_MONOTONIC, &write_start);
	progress_phase("writing");
	model_write(&target, &data, users, items, options.dims);
	summary.source = data.source_name;
	summary.user_column = options.source.user_column;
	summary.item_column = options.source.item_column;
	summary.weight_column = options.source.weight_column;
	summary.algorithm = options.algorithm;
	summary.dims = options.dims;
	summary.epochs = epochs_run;
	summary.params_json = params_json(&options, threads);
	summary.validation = NULL;
	summary.best_epoch = 0;
	if (OidIsValid(options.validation))
	{
		summary.validation = validation.scores;
		summary.best_epoch = validation.best_epoch + 1;
	}
	summary.n_users = data.users.count;
	summary.n_items = data.items.count;
	summary.n_interactions = data.nnz;
	summary.n_skipped_rows = data.skipped_rows;
	summary.seconds = seconds_since(&start);
	summary.write_seconds = seconds_since(&write_start);
	summary.loss = loss;
	summary.item_gramian = gram;	/* of the final items */
	model_register(&target, &summary);

	old = MemoryContextSwitchTo(caller_context);
	result = cstring_to_text(target.name);
	MemoryContextSwitchTo(old);
	SPI_finish();
	irec_restore_search_path(path_level);
	MemoryContextDelete(train_context);
	PG_RETURN_TEXT_P(result);
}
