/*
 * model.h
 *		The model registry (irec_models) and a model's output tables.
 */
#ifndef IREC_MODEL_H
#define IREC_MODEL_H

#include "postgres.h"

#include "interactions.h"

/* Where a model's tables go. */
typedef struct ModelTarget
{
	char	   *name;			/* registry key, as the user gave it */
	char	   *schema;			/* unquoted */
	char	   *relname;		/* unquoted: the tables' common prefix */
	char	   *users_table;	/* quoted, schema-qualified */
	char	   *items_table;
} ModelTarget;

/*
 * model_target: resolve a model name ("m" or "schema.m"; default schema is
 * the source's) to its table names, and refuse to overwrite relations that
 * are not this model's tables.  Needs an SPI connection.
 */
extern void model_target(const char *model, Oid source_relid, ModelTarget *target);

/*
 * model_write: replace the model's tables (dropping the previous model's
 * tables) with the given embeddings.  Runs inside the caller's transaction,
 * so an error or cancel leaves the previous model as it was.
 */
extern void model_write(const ModelTarget *target, const Interactions *data,
						const float *users, const float *items, int dims);

/*
 * model_context_table: the table of a context model's field `column`,
 * "<model>_ctx_<column>" beside the model's other tables (quoted,
 * schema-qualified); refuses, as model_target does, a relation there that
 * is not this model's.
 */
extern char *model_context_table(const ModelTarget *target, const char *column);

/*
 * model_write_context: replace the model's tables with a context model's:
 * one table per field (keyed by the field's column) and the items table.
 */
extern void model_write_context(const ModelTarget *target, int n_fields, char *const *tables,
								const char *const *columns, const IdMap *field_ids,
								const float *const *fields, const IdMap *items,
								const float *item_embeddings, int dims);

/*
 * model_write_from: the same, from two queries returning (id, embedding) in
 * the given id types (the SQL engine's work tables).
 */
extern void model_write_from(const ModelTarget *target, const char *users_sql,
							 const char *items_sql, Oid user_type, Oid item_type, int dims);

/* Registry row: everything needed to reproduce and serve the model. */
typedef struct ModelSummary
{
	const char *source;
	const char *user_column;
	const char *item_column;
	const char *weight_column;	/* NULL when none */
	const char *algorithm;
	int			dims;
	int			epochs;
	const char *params_json;	/* every hyper-parameter */
	int64		n_users;
	int64		n_items;
	int64		n_interactions;
	int64		n_skipped_rows;
	double		seconds;		/* total */
	double		load_seconds;	/* reading the interactions */
	double		train_seconds;	/* the epochs */
	double		write_seconds;	/* writing the tables */
	const double *loss;			/* epochs values */
	const float *item_gramian;	/* dims × dims: fold-in needs it (DESIGN §6.3) */
	const double *validation;	/* epochs validation scores, or NULL */
	int			best_epoch;		/* 1-based epoch kept, with validation */
} ModelSummary;

extern void model_register(const ModelTarget *target, const ModelSummary *summary);

/* Store (insert or replace) the item Gramian, dims × dims, of a registered model. */
extern void model_store_item_gramian(const char *name, const float *gram, int dims);

/* A trained model, as serving and evaluation need it. */
typedef struct ModelInfo
{
	char	   *name;
	char	   *source;			/* quoted; the training interactions */
	char	   *users_table;	/* quoted */
	char	   *items_table;	/* quoted */
	Oid			users_relid;
	Oid			items_relid;
	bool		locked;			/* model_lookup: the tables are locked */
	Oid			user_type;		/* type of user_id in the users table */
	Oid			item_type;		/* type of item_id in the items table */
	char	   *user_column;	/* in the source */
	char	   *item_column;
	char	   *weight_column;	/* NULL when none */
	int			dims;
	/* iALS hyper-parameters, for fold-in */
	double		regularization;
	double		regularization_exponent;
	double		unobserved_weight;
	bool		log_confidence;
	double		alpha;
	double		epsilon;
	int64		n_items;
	int64		n_users;
	char	   *algorithm;
	char	   *loss;			/* iALS: 'pointwise' or 'pairwise_square' */
	char	   *context_model;	/* 'sum' or 'product' for a context model, else NULL */
	int			n_context_fields;	/* a context model's fields, in order */
	char	  **context_columns;
	char	  **context_tables; /* quoted, schema-qualified */
	double		product_prior;	/* product model: λ of the later fields (context.h) */
} ModelInfo;

/*
 * model_lookup: read a model's registry row and check that its tables still
 * exist; ERROR naming the model otherwise.  Needs an SPI connection; the
 * strings live in the SPI procedure's memory context.
 */
extern void model_lookup(const char *name, ModelInfo *info);

/*
 * model_lookup_any: model_lookup that also takes context models
 * (irec_train's context_columns), whose users table is the first field's.
 * model_lookup refuses them: whatever serves a user id cannot serve them.
 */
extern void model_lookup_any(const char *name, ModelInfo *info);

/* The item Gramian stored at training time (dims × dims, palloc'd). */
extern float *model_item_gramian(const ModelInfo *info);

/*
 * Ids are passed to serving and updates as anyelement/anyarray and
 * converted to the model's id type through their text form: exact for
 * integers of any width against integer ids and for text against any ids.
 * model_check_id_type refuses anything else with an error naming the side.
 */
extern bool model_id_types_compatible(Oid arg_type, Oid id_type);
extern void model_check_id_type(const char *model, const char *side, Oid arg_type, Oid id_type);

#endif							/* IREC_MODEL_H */
