/*
 * train_sql.h
 *		irec_train's SQL engine: iALS epochs as SQL statements over work
 *		tables, each half-step solved where the interactions are (one
 *		irec_als_shard_step per Citus shard, or one on a single server).
 */
#ifndef IREC_TRAIN_SQL_H
#define IREC_TRAIN_SQL_H

#include "postgres.h"

#include "core/ials.h"
#include "interactions.h"
#include "model.h"

typedef struct SqlTrainOptions SqlTrainOptions;

/*
 * Called once the interactions are grouped and numbered, before their
 * confidences: sets regularization, unobserved_weight and epsilon left to
 * the data's shape.  median_weight: the median summed weight of a pair
 * when shape_needs_median, else 0.
 */
typedef void (*SqlShapeDefaults) (void *arg, SqlTrainOptions *options, int64 n_users, int64 n_items,
								  int64 n_pairs, double median_weight);

struct SqlTrainOptions
{
	InteractionSource source;
	int			dims;
	int			epochs;
	double		regularization;
	double		regularization_exponent;
	double		unobserved_weight;
	bool		log_confidence;
	double		alpha;
	double		epsilon;
	double		init_std;
	IalsSolver	solver;
	int			cg_steps;
	int			threads;		/* per call of the half-step (0: all cores) */
	int64		seed;
	bool		quiet;
	SqlShapeDefaults shape;		/* NULL: every parameter given */
	void	   *shape_arg;
	bool		shape_needs_median;
};

typedef struct SqlTrainResult
{
	int64		n_users;
	int64		n_items;
	int64		n_interactions;
	int64		skipped_rows;
	char	   *source_name;
	double		load_seconds;
	double		train_seconds;
	double		write_seconds;
	float	   *item_gram;		/* dims × dims, of the final items */
	bool		distributed;	/* ran on Citus */
	/* the training's seconds by phase (train_sql.c, SqlPhaseSeconds) */
	double		solve_seconds;
	double		coordinator_seconds;
} SqlTrainResult;

/*
 * train_sql_begin: when relid is a Citus distributed table, set this
 * transaction to use one connection per worker for everything it runs
 * (Citus sees its own writes across statements only then); before the
 * first query on the source.  Returns whether it is distributed.
 */
extern bool train_sql_begin(Oid relid);

/*
 * train_sql: train, then replace the model's tables; loss gets one value per
 * epoch.  Needs an SPI connection.
 */
extern void train_sql(SqlTrainOptions *options, const ModelTarget *target,
					  double *loss, SqlTrainResult *result);

#endif							/* IREC_TRAIN_SQL_H */
