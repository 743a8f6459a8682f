/*
 * vecexp.c
 *		Vectorized exponential for the softmax losses.
 *
 * Built with -O3 -ffast-math (see the Makefile) so that the loop calls
 * glibc's SIMD expf (libmvec): the sampled softmax evaluates batch × m
 * exponentials per step and a scalar expf would dominate the sgemm that
 * computes the logits.  Callers pass finite values (masks use a large
 * negative number, not −∞, since fast-math assumes finite math).
 */
#include "vecmath.h"

#include <math.h>

/* the same loop for each instruction set of vecmath.c's kernel tables */
#define VEC_EXP_BODY \
	for (size_t k = 0; k < n; k++) \
		x[k] = expf(x[k]);

extern void vec_exp_portable(float *x, size_t n);

void
vec_exp_portable(float *x, size_t n)
{
VEC_EXP_BODY}

#if defined(__x86_64__) && defined(__GNUC__)
extern void vec_exp_avx2(float *x, size_t n);
extern void vec_exp_avx512(float *x, size_t n);

__attribute__((target("avx2,fma"))) void
vec_exp_avx2(float *x, size_t n)
{
VEC_EXP_BODY}

__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))) void
vec_exp_avx512(float *x, size_t n)
{
VEC_EXP_BODY}
#endif
