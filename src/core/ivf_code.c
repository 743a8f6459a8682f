/*
 * ivf_code.c
 *		Compact codes with error bounds for the index's lists (ivf_code.h).
 */
#include "ivf_code.h"

#include <math.h>
#include <string.h>

#include "vecmath.h"

/* Codes whose sums one kernel call takes. */
#define IVF_CODE_CHUNK 64

/* v rounded down to a float (−Inf below −FLT_MAX). */
static float
round_down(double v)
{
	float		f = (float) v;

	if ((double) f > v)
		f = nextafterf(f, -INFINITY);
	return f;
}

/* Component k of the vector in the list geometry, in double. */
static inline double
geometry(IvfMetric metric, const float *x, int k, double norm)
{
	if (metric != IVF_METRIC_COSINE)
		return x[k];
	return norm > 0.0 ? x[k] / norm : 0.0;
}

void
ivf_code_encode(IvfMetric metric, const float *x, const float *centroid, int dims, IvfCode *out)
{
	double		norm = sqrt(vec_norm_squared_double(x, dims));
	double		lo = INFINITY;
	double		hi = -INFINITY;
	double		err2 = 0.0;
	float		lo_f;
	float		step;

	out->norm = round_down(norm);
	for (int k = 0; k < dims; k++)
	{
		double		r = geometry(metric, x, k, norm) - centroid[k];

		lo = r < lo ? r : lo;
		hi = r > hi ? r : hi;
	}
	if (dims == 0)
		lo = hi = 0.0;
	lo_f = round_down(lo);
	step = ivf_round_up((hi - (double) lo_f) / IVF_CODE_LEVELS);
	if (!isfinite(lo_f) || !isfinite(step))
	{
		/* a residual past float range: the list's bound stands in */
		out->lo = 0.0f;
		out->step = -1.0f;
		out->error = INFINITY;
		memset(out->code, 0, dims);
		return;
	}
	for (int k = 0; k < dims; k++)
	{
		double		g = geometry(metric, x, k, norm);
		double		level = step > 0.0f ? floor((g - centroid[k] - lo_f) / step + 0.5) : 0.0;
		double		diff;

		level = level < 0.0 ? 0.0 : level > IVF_CODE_LEVELS ? IVF_CODE_LEVELS : level;
		out->code[k] = (uint8_t) level;
		diff = g - ((double) centroid[k] + lo_f + (double) step * level);
		err2 += diff * diff;
	}
	out->lo = lo_f;
	out->step = step;
	/* the double sum is within (d + 4)·2⁻⁵³ relative: rounded up past it */
	out->error = ivf_round_up(sqrt(err2) * (1.0 + IVF_SLACK_DOUBLE(dims)));
}

void
ivf_code_decode(const IvfCode *code, const float *centroid, int dims, double *out)
{
	for (int k = 0; k < dims; k++)
		out[k] = (double) centroid[k] + code->lo + (double) code->step * code->code[k];
}

int
ivf_code_covers(IvfMetric metric, const IvfCode *code, const float *x, const float *centroid, int dims)
{
	double		norm = sqrt(vec_norm_squared_double(x, dims));
	double		err2 = 0.0;

	if ((double) code->norm > norm)
		return 0;
	if (code->step < 0.0f)
		return isinf(code->error) && code->error > 0;
	for (int k = 0; k < dims; k++)
	{
		double		diff = geometry(metric, x, k, norm) -
			((double) centroid[k] + code->lo + (double) code->step * code->code[k]);

		err2 += diff * diff;
	}
	return sqrt(err2) <= code->error;
}

void
ivf_code_query_init(IvfCodeQuery *cq, const IvfQuery *query, int16_t *table_buffer)
{
	const float *v = query->metric == IVF_METRIC_COSINE ? query->unit : query->q;
	int			d = query->dims;
	double		max_abs = 0.0;
	double		rounding_l1 = 0.0;
	int			exponent = 0;
	int			shift;

	cq->query = query;
	cq->table = table_buffer;
	cq->sum = 0.0;
	cq->l1 = 0.0;
	for (int k = 0; k < d; k++)
	{
		cq->sum += v[k];
		cq->l1 += fabs((double) v[k]);
		max_abs = fabs((double) v[k]) > max_abs ? fabs((double) v[k]) : max_abs;
	}
	cq->norm = sqrt(vec_norm_squared_double(v, d));

	/*
	 * The table is the query scaled by a power of two that brings its
	 * largest component into [0.5, 1), then to 16-bit integers: whatever
	 * the query's magnitude, none overflows and the largest keeps 15 bits.
	 * A component's rounding δ_k (at most half a unit) moves a code's sum
	 * by δ_k·code_k: over the code, by at most 255·Σ|δ_k| units.
	 */
	if (max_abs > 0.0)
		(void) frexp(max_abs, &exponent);
	shift = -exponent;
	for (int k = 0; k < d; k++)
	{
		double		scaled = ldexp((double) v[k], shift) * IVF_CODE_QUERY_SCALE;	/* exact */
		double		level = nearbyint(scaled);

		cq->table[k] = (int16_t) level;
		rounding_l1 += fabs(scaled - level);	/* exact: both within 2¹⁵ */
	}
	cq->unscale = ldexp(1.0, -shift) / IVF_CODE_QUERY_SCALE;
	cq->code_slack = cq->unscale * IVF_CODE_LEVELS * rounding_l1 * (1.0 + IVF_SLACK_DOUBLE(d));
	cq->lo_slack = IVF_SLACK_DOUBLE(d) * cq->l1;
	cq->error_weight = cq->norm * (1.0 + IVF_SLACK_DOUBLE(d));
}

void
ivf_code_list_init(IvfCodeList *list, const IvfCodeQuery *cq, const float *centroid,
				   float max_norm, double list_bound)
{
	const IvfQuery *query = cq->query;
	const float *v = query->metric == IVF_METRIC_COSINE ? query->unit : query->q;

	list->centroid = centroid;
	list->base = vec_dot_double(v, centroid, query->dims);
	list->centroid_norm = sqrt(vec_norm_squared_double(centroid, query->dims));
	list->max_norm = max_norm;
	list->bound = list_bound;
	list->base_slack = IVF_SLACK_DOUBLE(query->dims) * cq->norm * list->centroid_norm;
	list->operator_slack = IVF_SLACK_FLOAT(query->dims) * query->norm * max_norm;
}

/* ‖q − ĝ‖₁ in double. */
static double
code_l1_distance(const IvfCodeQuery *cq, const IvfCodeList *list, const IvfCode *code)
{
	const IvfQuery *query = cq->query;
	double		sum = 0.0;

	for (int k = 0; k < query->dims; k++)
		sum += fabs((double) query->q[k] -
					((double) list->centroid[k] + code->lo + (double) code->step * code->code[k]));
	return sum;
}

/*
 * The bound of one code, with the constants of the query and the list.
 * What the estimate can miss of q·g (g the vector in the list geometry):
 *	- the code's own error, ‖q‖·e (error_weight);
 *	- the table's rounding to integers, at most 255·Σ|δ_k| table units
 *	  (code_slack, per unit of step; the integer sum itself is exact);
 *	- the double sums of the base, Σq and the total, IVF_SLACK_DOUBLE of
 *	  their magnitudes (lo_slack per unit of |lo|, the list's base_slack).
 */
/* An upper bound of q·g from the code and S = Σ table_k·code_k (table units). */
static inline __attribute__((always_inline)) double
dot_upper_from(const IvfCodeQuery *cq, const IvfCodeList *list, const IvfCode *code, int d, int64_t sum)
{
	double		step = code->step;
	double		lo = code->lo;
	double		by_code = step * (double) sum * cq->unscale;
	double		estimate = list->base + lo * cq->sum + by_code;

	return estimate + step * cq->code_slack + fabs(lo) * cq->lo_slack +
		IVF_SLACK_DOUBLE(d) * (fabs(by_code) + fabs(estimate)) + list->base_slack +
		code->error * cq->error_weight;
}

static inline double
dot_upper(const IvfCodeQuery *cq, const IvfCodeList *list, const IvfCode *code, int d)
{
	return dot_upper_from(cq, list, code, d, vec_dot_s16u8(cq->table, code->code, d));
}

/* The bound of one code, with the constants of the query and the list. */
static double
code_bound(const IvfCodeQuery *cq, const IvfCodeList *list, const IvfCode *code)
{
	const IvfQuery *query = cq->query;
	int			d = query->dims;
	double		dot_bound;
	double		bound;

	if (code->step < 0.0f)
		return list->bound;
	dot_bound = dot_upper(cq, list, code, d);
	switch (query->metric)
	{
		case IVF_METRIC_COSINE:
			/* the unit query's float rounding and the operator's: as ivf_list_bound */
			bound = dot_bound + IVF_SLACK_COSINE - 1.0;
			break;
		case IVF_METRIC_L2:
		case IVF_METRIC_L1:
			{
				/* ‖q − x‖² = ‖q‖² + ‖x‖² − 2·q·x, and ‖q − x‖₁ ≥ ‖q − x‖₂ */
				double		x_norm = code->norm;
				double		squared = query->norm_squared + x_norm * x_norm - 2.0 * dot_bound;
				double		gap;

				squared -= IVF_SLACK_DOUBLE(d) * (query->norm_squared + x_norm * x_norm + 2.0 * fabs(dot_bound));
				gap = squared > 0.0 ? sqrt(squared) * (1.0 - IVF_SLACK_DOUBLE(d)) : 0.0;
				if (query->metric == IVF_METRIC_L1)
				{
					/*
					 * ‖q − x‖₁ ≥ ‖q − ĝ‖₁ − ‖ĝ − x‖₁ ≥ ‖q − ĝ‖₁ − √d·e: much
					 * tighter than the L2 gap, at the price of decoding
					 */
					double		by_l1 = code_l1_distance(cq, list, code) * (1.0 - IVF_SLACK_DOUBLE(d)) -
						sqrt((double) d) * code->error * (1.0 + IVF_SLACK_DOUBLE(d));

					gap = by_l1 > gap ? by_l1 : gap;
				}
				bound = -gap * (1.0 - IVF_SLACK_FLOAT(d));
				break;
			}
		default:
			/* the operator's float inner product: as ivf_list_bound */
			bound = dot_bound + list->operator_slack;
			break;
	}
	if (isnan(bound) || bound > list->bound)
		return list->bound;
	return bound;
}

double
ivf_code_bound(const IvfCodeQuery *cq, const IvfCodeList *list, const IvfCode *code)
{
	if (cq->query->unordered)
		return 0.0;
	return code_bound(cq, list, code);
}

void
ivf_code_bounds(const IvfCodeQuery *cq, const IvfCodeList *list, const IvfCode *const *codes,
				size_t n, double *out)
{
	if (cq->query->unordered)
	{
		for (size_t i = 0; i < n; i++)
			out[i] = 0.0;
		return;
	}
	if (cq->query->metric == IVF_METRIC_IP || cq->query->metric == IVF_METRIC_COSINE)
	{
		/*
		 * The common case: code_bound's IP and cosine branches, the sums of
		 * a chunk of codes in one kernel call
		 */
		int			d = cq->query->dims;
		double		offset = cq->query->metric == IVF_METRIC_IP ? list->operator_slack
			: IVF_SLACK_COSINE - 1.0;

		for (size_t first = 0; first < n; first += IVF_CODE_CHUNK)
		{
			size_t		count = n - first < IVF_CODE_CHUNK ? n - first : IVF_CODE_CHUNK;
			const uint8_t *bytes[IVF_CODE_CHUNK];
			int64_t		sums[IVF_CODE_CHUNK];

			for (size_t i = 0; i < count; i++)
				bytes[i] = codes[first + i]->code;
			vec_dot_s16u8_many(cq->table, bytes, count, d, sums);
			for (size_t i = 0; i < count; i++)
			{
				const IvfCode *code = codes[first + i];
				double		bound = dot_upper_from(cq, list, code, d, sums[i]) + offset;

				out[first + i] = code->step < 0.0f || isnan(bound) || bound > list->bound
					? list->bound : bound;
			}
		}
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = code_bound(cq, list, codes[i]);
}
