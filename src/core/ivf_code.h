/*
 * ivf_code.h
 *		Compact codes of the index's list members, each with an error bound
 *		(ipivf format 3, DESIGN §6.2).
 *
 * A member is kept as one byte per dimension: its residual from the list's
 * centroid, r = g − c (g the vector in the list geometry, ivf.h), quantized
 * over its own range, as LVQ does (Aguerrebere et al., VLDB 2023):
 *	 lo = min_k r_k,  step = (max_k r_k − lo)/255,  code_k = round((r_k − lo)/step).
 * With ĝ = c + lo + step·code, the stored error e ≥ ‖g − ĝ‖ (taken in double,
 * rounded up) bounds what the code misses of any query's inner product,
 * |q·g − q·ĝ| ≤ ‖q‖·e (Cauchy–Schwarz).  So each code gives an upper bound
 * on the score ivf_score would give the full vector, for every metric:
 *	 inner product	q·ĝ + ‖q‖·e
 *	 cosine			q̂·ĝ + e − 1							(g = x/‖x‖)
 *	 L2				−√(‖q‖² + ‖x‖² − 2·(q·ĝ + ‖q‖·e))
 *	 L1				−max(‖q − ĝ‖₁ − √d·e, the L2 gap)			(‖·‖₁ ≥ ‖·‖₂)
 * each widened by the rounding of the sums and of the query's integer table
 * (IvfCodeQuery), and never above
 * the list's own bound (ivf_list_bound), which also stands in for codes a
 * residual beyond float range could not give.
 *
 * Why the bound matters: the scan returns rows in the order of these bounds
 * and the executor rechecks each with the exact operator and reorders
 * (as for GiST's lossy distances), so rows still come out in exact order,
 * while the index reads d + 22 bytes per row instead of 4d + 8.  How tight
 * e is decides how many rows get rechecked: 8 bits per component keep it
 * near 0.3% of the residual's range times √d.
 */
#ifndef IREC_IVF_CODE_H
#define IREC_IVF_CODE_H

#include <stddef.h>
#include <stdint.h>

#include "ivf.h"

/* Levels of a code component: one byte. */
#define IVF_CODE_LEVELS 255

typedef struct IvfCode
{
	float		lo;				/* the residual component code 0 stands for */
	float		step;			/* residual per code unit; < 0: no code (list bound) */
	float		error;			/* ‖g − ĝ‖, rounded up */
	float		norm;			/* ‖x‖ of the vector as given, rounded down */
	uint8_t		code[];			/* dims bytes */
} IvfCode;

#define IVF_CODE_SIZE(dims) (offsetof(IvfCode, code) + (size_t) (dims))

/*
 * ivf_code_encode: the code of vector x (as given, finite) in the list
 * whose centroid is centroid (IVF_CENTROID_FLOATS(dims) floats, ivf.h).
 */
void		ivf_code_encode(IvfMetric metric, const float *x, const float *centroid, int dims,
							IvfCode *out);

/* ĝ, the vector a code stands for, in double (tests, checks). */
void		ivf_code_decode(const IvfCode *code, const float *centroid, int dims, double *out);

/*
 * ivf_code_covers: whether code's bound holds for x: e ≥ ‖g − ĝ‖ and the
 * stored norm at most ‖x‖ (irec_index_check, against the table's rows).
 */
int			ivf_code_covers(IvfMetric metric, const IvfCode *code, const float *x,
							const float *centroid, int dims);

/* A query prepared for scoring codes. */
typedef struct IvfCodeQuery
{
	const IvfQuery *query;
	/*
	 * The query (cosine: unit) as 16-bit integers: its components times
	 * 2^shift (the largest in [0.5, 1)) times IVF_CODE_QUERY_SCALE, rounded;
	 * a code's sum against it is exact (vec_dot_s16u8)
	 */
	int16_t    *table;
	double		unscale;		/* 2^−shift / IVF_CODE_QUERY_SCALE: a table unit in query units */
	double		sum;			/* Σ_k of the query's (cosine: unit) components */
	double		l1;				/* Σ_k |query_k| */
	double		norm;			/* ‖query‖ (cosine: of the unit query) */
	/*
	 * slack (ivf_code.c), per unit of step: what the table's rounding can
	 * miss of Σ query_k·code_k; per unit of |lo| and of error: the double
	 * sums' rounding
	 */
	double		code_slack;
	double		lo_slack;
	double		error_weight;
} IvfCodeQuery;

/* The table's scale: the largest 16-bit magnitude. */
#define IVF_CODE_QUERY_SCALE 32767.0

/* table_buffer: dims int16s, kept by the prepared query. */
void		ivf_code_query_init(IvfCodeQuery *cq, const IvfQuery *query, int16_t *table_buffer);

/* What a list's codes share: computed once per list and query. */
typedef struct IvfCodeList
{
	const float *centroid;		/* kept by reference (L1 decodes against it) */
	double		base;			/* query·centroid, in double */
	double		centroid_norm;	/* ‖centroid‖ (its first dims components) */
	double		max_norm;		/* the list's largest member norm */
	double		bound;			/* ivf_list_bound of the list */
	double		base_slack;		/* rounding of base */
	double		operator_slack; /* rounding of the float inner product */
} IvfCodeList;

void		ivf_code_list_init(IvfCodeList *list, const IvfCodeQuery *cq, const float *centroid,
							   float max_norm, double list_bound);

/*
 * ivf_code_bound: no member with this code scores (ivf_score) above the
 * returned value; at most list->bound.  0 for an unordered query.
 */
double		ivf_code_bound(const IvfCodeQuery *cq, const IvfCodeList *list, const IvfCode *code);

/* ivf_code_bound of n codes of one list, into out. */
void		ivf_code_bounds(const IvfCodeQuery *cq, const IvfCodeList *list, const IvfCode *const *codes,
							size_t n, double *out);

#endif							/* IREC_IVF_CODE_H */
