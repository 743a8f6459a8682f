/*
 * vecexp.c
 *		The softmax losses' row passes: exponentials, the row maximum with
 *		the logQ shift, and scaling.
 *
 * Built with -O3 -ffast-math (see the Makefile) so that the loops call
 * glibc's SIMD expf (libmvec) and the max and sum reductions vectorize: the
 * sampled softmax runs these over batch × m logits per step, beside three
 * sgemms of batch × m × d, and scalar passes would cost as much as the
 * sgemms.  Callers pass finite values (masks use a large negative number,
 * not −∞, since fast-math assumes finite math).  Each function is built
 * once per instruction set of vecmath.c's kernel tables.
 */
#include "vecmath.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define SOFTMAX_KERNELS(suffix, target) \
extern void vec_exp_##suffix(float *x, size_t n); \
extern float vec_logits_max_##suffix(float *x, const float *sub, const int32_t *ids, int32_t masked_id, \
									  float masked, size_t n); \
extern float vec_exp_sum_##suffix(float *x, size_t n, float shift); \
extern void vec_scale_##suffix(float *x, float a, size_t n); \
target void \
vec_exp_##suffix(float *x, size_t n) \
{ \
	for (size_t k = 0; k < n; k++) \
		x[k] = expf(x[k]); \
} \
/* see vec_logits_max in vecmath.h */ \
target float \
vec_logits_max_##suffix(float *x, const float *sub, const int32_t *ids, int32_t masked_id, \
						float masked, size_t n) \
{ \
	float		top = -3.4028235e38f; \
	if (sub) \
		for (size_t k = 0; k < n; k++) \
			x[k] = ids[k] == masked_id ? masked : x[k] - sub[k]; \
	else \
		for (size_t k = 0; k < n; k++) \
			x[k] = ids[k] == masked_id ? masked : x[k]; \
	for (size_t k = 0; k < n; k++) \
		top = x[k] > top ? x[k] : top; \
	return top; \
} \
/* x[k] = exp(x[k] − shift); returns Σ x[k] */ \
target float \
vec_exp_sum_##suffix(float *x, size_t n, float shift) \
{ \
	float		sum = 0.0f; \
	for (size_t k = 0; k < n; k++) \
	{ \
		x[k] = expf(x[k] - shift); \
		sum += x[k]; \
	} \
	return sum; \
} \
target void \
vec_scale_##suffix(float *x, float a, size_t n) \
{ \
	for (size_t k = 0; k < n; k++) \
		x[k] *= a; \
}

SOFTMAX_KERNELS(portable, )

#if defined(__x86_64__) && defined(__GNUC__)
SOFTMAX_KERNELS(avx2, __attribute__((target("avx2,fma"))))
SOFTMAX_KERNELS(avx512, __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))))
#endif
