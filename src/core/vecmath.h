/*
 * vecmath.h
 *		Dense float vector kernels shared by the embedding type, the
 *		trainers, evaluation and the index.
 *
 * Plain C, no PostgreSQL headers (DESIGN "Layout").  The loops are written so
 * that the compiler vectorizes them: the Makefile passes
 * -fassociative-math -fno-signed-zeros -fno-trapping-math, which lets GCC and
 * clang split the float reductions into SIMD lanes, and the hot ones are
 * built once per instruction set and chosen at run time (below).
 */
#ifndef IREC_VECMATH_H
#define IREC_VECMATH_H

#include <stddef.h>
#include <stdint.h>

/*
 * The hot kernels, in one build per instruction set (vecmath_kernels.h):
 * vec_kernels points at the best the CPU runs, chosen when the library
 * loads; vec_simd_use switches (tests compare the variants).  The variants
 * agree to rounding: they sum in different orders, and the AVX2 and AVX-512
 * builds fuse multiply-adds.
 */
typedef enum VecSimdLevel
{
	VEC_SIMD_PORTABLE = 0,		/* the compiler's baseline (x86-64: SSE2) */
	VEC_SIMD_AVX2 = 1,			/* AVX2 and FMA */
	VEC_SIMD_AVX512 = 2,		/* AVX-512 F, VL, BW, DQ */
	VEC_SIMD_LEVELS = 3
} VecSimdLevel;

typedef struct VecKernels
{
	const char *name;
	float		(*dot) (const float *a, const float *b, size_t dims);
	float		(*l2_squared) (const float *a, const float *b, size_t dims);
	float		(*norm_squared) (const float *a, size_t dims);
	double		(*dot_double) (const float *a, const float *b, size_t dims);
	double		(*norm_squared_double) (const float *a, size_t dims);
	int64_t		(*dot_s16u8) (const int16_t *a, const uint8_t *b, size_t dims);
	void		(*dot_s16u8_many) (const int16_t *a, const uint8_t *const *b, size_t n, size_t dims, int64_t *out);
	void		(*axpy) (float *y, float a, const float *x, size_t dims);
	void		(*axpby) (float *y, float a, const float *x, float b, size_t dims);
	void		(*sparse_rank1_apply) (float *out, const float *v, const float *base,
									   const int32_t *cols, const float *weights, size_t n,
									   const int32_t *next_cols, size_t next_n,
									   size_t dims, float shift, float add, float scale);
	size_t		(*count_greater) (const float *x, size_t n, float threshold);
	size_t		(*count_greater_equal) (const float *x, size_t n, float threshold);
	void		(*exp) (float *x, size_t n);
	float		(*logits_max) (float *x, const float *sub, const int32_t *ids, int32_t masked_id,
							   float masked, size_t n);
	float		(*exp_sum) (float *x, size_t n, float shift);
	void		(*scale) (float *x, float a, size_t n);
} VecKernels;

extern const VecKernels *vec_kernels;

/* The most this CPU runs (x86-64: checked with __builtin_cpu_supports). */
VecSimdLevel vec_simd_best(void);
/* The variant in use. */
VecSimdLevel vec_simd_level(void);
/* Use a variant; returns 0 (and changes nothing) when the CPU lacks it. */
int			vec_simd_use(VecSimdLevel level);
const char *vec_simd_name(VecSimdLevel level);

/* Σ a[k]·b[k] over dims components. */
static inline float
vec_dot(const float *a, const float *b, size_t dims)
{
	return vec_kernels->dot(a, b, dims);
}

/* Σ (a[k]−b[k])² over dims components. */
static inline float
vec_l2_squared(const float *a, const float *b, size_t dims)
{
	return vec_kernels->l2_squared(a, b, dims);
}

/* Σ a[k]² over dims components. */
static inline float
vec_norm_squared(const float *a, size_t dims)
{
	return vec_kernels->norm_squared(a, dims);
}

/* The same sums accumulated in double: exact products, no overflow or
 * underflow for any float input (‖x‖² of float vectors spans 1e-90..1e82). */
static inline double
vec_dot_double(const float *a, const float *b, size_t dims)
{
	return vec_kernels->dot_double(a, b, dims);
}

/* Components per 32-bit partial sum of vec_dot_s16u8. */
#define VEC_S16U8_BLOCK 256

/*
 * Σ a[k]·b[k], exactly, for a 16-bit integer vector a and one byte per
 * component b (the index's codes against its quantized query).
 */
static inline int64_t
vec_dot_s16u8(const int16_t *a, const uint8_t *b, size_t dims)
{
	return vec_kernels->dot_s16u8(a, b, dims);
}

/* out[i] = vec_dot_s16u8(a, b[i], dims) for i < n. */
static inline void
vec_dot_s16u8_many(const int16_t *a, const uint8_t *const *b, size_t n, size_t dims, int64_t *out)
{
	vec_kernels->dot_s16u8_many(a, b, n, dims, out);
}

static inline double
vec_norm_squared_double(const float *a, size_t dims)
{
	return vec_kernels->norm_squared_double(a, dims);
}

/*
 * out += Σ_j (add·w_j + scale·(w_j − shift)·⟨h_j, v⟩)·h_j over n rows
 * h_j = base + cols[j]·dims with weights w_j: iALS's data term, the sum of
 * the rank-one products (w_j − α0)·h_j·h_jᵀ applied to v (add 0, scale 1,
 * shift α0), and with add 1, scale −1 its right-hand side minus that.
 * next_cols (next_n of them; NULL and 0 for none) are the rows of the
 * caller's next call, which the kernel may start fetching; they do not
 * change the result.
 */
static inline void
vec_sparse_rank1_apply(float *out, const float *v, const float *base,
					   const int32_t *cols, const float *weights, size_t n,
					   const int32_t *next_cols, size_t next_n,
					   size_t dims, float shift, float add, float scale)
{
	vec_kernels->sparse_rank1_apply(out, v, base, cols, weights, n, next_cols, next_n,
									dims, shift, add, scale);
}

/* y[k] += a·x[k]. */
static inline void
vec_axpy(float *y, float a, const float *x, size_t dims)
{
	vec_kernels->axpy(y, a, x, dims);
}

/* y[k] = a·x[k] + b·y[k]; y is read, so it must hold numbers even when b is 0. */
static inline void
vec_axpby(float *y, float a, const float *x, float b, size_t dims)
{
	vec_kernels->axpby(y, a, x, b, dims);
}

/*
 * The distances behind the SQL operators, for any finite input.  The float
 * kernel runs first; when its sum overflowed (±Inf or NaN) or fell below
 * 1e-30, where float products may have underflowed, the sum is taken again
 * in double.  Every caller that must agree with ORDER BY (the index scans,
 * serving) calls these, so a row gets the same value on every path.
 */
double		vec_inner_product(const float *a, const float *b, size_t dims);
double		vec_l2_distance(const float *a, const float *b, size_t dims);

/*
 * vec_l1_distance: Σ |a[k] − b[k]| (<+>).  The float kernel runs first; a
 * sum of absolute values cannot lose digits to underflow (no products, and
 * float subtraction is exact near zero), so only an overflowed sum (±Inf)
 * is taken again in double.
 */
double		vec_l1_distance(const float *a, const float *b, size_t dims);

/*
 * vec_cosine_distance: 1 − a·b/(‖a‖‖b‖) from double sums, so that
 * near-parallel vectors keep their digits and no norm overflows.  NaN when
 * either vector is zero (the angle is undefined), clamped into [0, 2].
 * vec_cosine_from_sums is the same from precomputed sums (ab, ‖a‖², ‖b‖²),
 * bit for bit, for callers that reuse one side's norm.
 */
double		vec_cosine_distance(const float *a, const float *b, size_t dims);
double		vec_cosine_from_sums(double ab, double aa, double bb);

/* out[k] = a[k] + b[k]; out may alias a or b. */
void		vec_add(float *out, const float *a, const float *b, size_t dims);

/* out[k] = a[k] − b[k]; out may alias a or b. */
void		vec_sub(float *out, const float *a, const float *b, size_t dims);

/*
 * out[k] = a[k]·b[k]; out may alias a or b.  Returns 0 when every product is
 * finite and no product of two nonzero components rounded to zero (float4
 * multiplication in PostgreSQL refuses both), else 1 for overflow and -1
 * for underflow.
 */
int			vec_mul(float *out, const float *a, const float *b, size_t dims);

/*
 * vec_compare: the order of the comparison operators (as pgvector and
 * PostgreSQL's arrays order): component by component, then a shorter vector
 * before a longer one with the same leading components.  −0 equals +0.
 * Components must not be NaN (embeddings never hold NaN).  Returns <0, 0, >0.
 */
int			vec_compare(const float *a, size_t a_dims, const float *b, size_t b_dims);

/* Number of x[k] > threshold; the evaluation's rank counting. */
static inline size_t
vec_count_greater(const float *x, size_t n, float threshold)
{
	return vec_kernels->count_greater(x, n, threshold);
}

/* Number of x[k] >= threshold. */
static inline size_t
vec_count_greater_equal(const float *x, size_t n, float threshold)
{
	return vec_kernels->count_greater_equal(x, n, threshold);
}

/* x[k] = exp(x[k]), vectorized; x must be finite (vecexp.c). */
static inline void
vec_exp(float *x, size_t n)
{
	vec_kernels->exp(x, n);
}

/*
 * A row of sampled logits made ready for the softmax: x[k] = masked where
 * ids[k] = masked_id (a sampled negative that is the row's positive),
 * else x[k] − sub[k] (the logQ correction; sub may be NULL).  Returns the
 * largest x[k] (−FLT_MAX for n = 0).
 */
static inline float
vec_logits_max(float *x, const float *sub, const int32_t *ids, int32_t masked_id, float masked, size_t n)
{
	return vec_kernels->logits_max(x, sub, ids, masked_id, masked, n);
}

/* x[k] = exp(x[k] − shift); returns Σ x[k].  x must be finite. */
static inline float
vec_exp_sum(float *x, size_t n, float shift)
{
	return vec_kernels->exp_sum(x, n, shift);
}

/* x[k] *= a */
static inline void
vec_scale(float *x, float a, size_t n)
{
	vec_kernels->scale(x, a, n);
}

/* Returns 1 when every component is finite, 0 otherwise. */
int			vec_all_finite(const float *a, size_t dims);

#endif							/* IREC_VECMATH_H */
