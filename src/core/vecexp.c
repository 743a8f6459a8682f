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

void
vec_exp(float *x, size_t n)
{
	for (size_t k = 0; k < n; k++)
		x[k] = expf(x[k]);
}
