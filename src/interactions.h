/*
 * interactions.h
 *		Reading (user, item, weight) interactions from any relation the
 *		executor can scan: the one table reader of the glue.
 */
#ifndef IREC_INTERACTIONS_H
#define IREC_INTERACTIONS_H

#include "postgres.h"

typedef struct InteractionSource
{
	Oid			relid;			/* table, view, partitioned or foreign table */
	const char *user_column;
	const char *item_column;
	const char *weight_column;	/* NULL: every row weighs 1 */
} InteractionSource;

/* Ids of one side (users or items), dense index → original value. */
typedef struct IdMap
{
	size_t		count;
	Datum	   *ids;			/* count values of `type` */
	Oid			type;			/* int4, int8, text or uuid */
	int16		typlen;
	bool		typbyval;
	char		typalign;
} IdMap;

typedef struct Interactions
{
	IdMap		users;
	IdMap		items;
	size_t		nnz;			/* distinct (user, item) pairs */
	int32	   *user_index;		/* nnz */
	int32	   *item_index;		/* nnz */
	float	   *weight;			/* nnz: summed weights (row counts without a weight column) */
	int64		rows;			/* rows read, including skipped ones */
	int64		skipped_rows;	/* rows with a NULL user, item or weight */
	char	   *source_name;	/* quoted, schema-qualified */
} Interactions;

/*
 * interactions_check_source: validate the relation and columns (kind,
 * existence, types) and return the id column types; ERRORs name the
 * problem.  Needs no SPI connection.
 */
extern void interactions_check_source(const InteractionSource *source,
									  Oid *user_type, Oid *item_type);

/*
 * interactions_check_column: an id column (`role` names it in errors) of
 * the relation exists and has an id type; returns the type (text for
 * varchar).
 */
extern Oid	interactions_check_column(Oid relid, const char *column, const char *role);

/*
 * interactions_load: read the interactions through SPI (so views,
 * partitioning, RLS and Citus apply) with duplicates summed and ids mapped to
 * dense indices, into memory of `context`.  Must be called with an SPI
 * connection open.
 */
extern void interactions_load(const InteractionSource *source,
							  MemoryContext context, Interactions *out);

/*
 * interactions_heap_readable: relid is a plain table this backend may scan
 * straight from its heap with a SQL query's result (SELECT on the table, no
 * row security, no inheritance children, no Citus).
 */
extern bool interactions_heap_readable(Oid relid);

/* The weight column (or none) is a fixed-size number the heap readers take. */
extern bool interactions_weight_type_readable(Oid relid, const char *weight_column);

/* A weight datum of int2/int4/int8/float4/float8 as a double. */
extern double interactions_weight_value(Datum value, Oid type);

#endif							/* IREC_INTERACTIONS_H */
