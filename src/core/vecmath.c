/*
 * vecmath.c
 *		Dense float vector kernels (see vecmath.h).
 *
 * One kernel per operation, used everywhere (STYLE "one way to do a thing").
 * Reductions accumulate in float: with -fassociative-math the compiler keeps
 * 8 or 16 partial sums in SIMD registers, which is both faster and, by
 * pairwise-like summation, no less accurate than a serial float sum.
 *
 * The hot kernels (vecmath_kernels.h) exist in three builds, portable, AVX2
 * with FMA and AVX-512, and vec_kernels points at the best one the CPU
 * runs, chosen when the library loads: the extension is built for the
 * baseline of its target (x86-64: SSE2) and never executes an instruction
 * the CPU has not reported.
 */
#include "vecmath.h"

#include <math.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define VEC_SIMD_X86 1
#endif

#define KERNEL(name) name##_portable
#define KERNEL_TARGET
#include "vecmath_kernels.h"
#undef KERNEL
#undef KERNEL_TARGET

#ifdef VEC_SIMD_X86
#define KERNEL(name) name##_avx2
#define KERNEL_TARGET __attribute__((target("avx2,fma")))
#include "vecmath_kernels.h"
#undef KERNEL
#undef KERNEL_TARGET

#define KERNEL(name) name##_avx512
#ifdef __clang__
#define KERNEL_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#else
/* GCC's generic tuning would keep 256-bit vectors; the kernels want 512 */
#define KERNEL_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")))
#endif
#include "vecmath_kernels.h"
#undef KERNEL
#undef KERNEL_TARGET
#endif

/* vecexp.c builds the softmax's row passes the same three ways (they need -ffast-math) */
#define SOFTMAX_KERNEL_DECLS(suffix) \
extern void vec_exp_##suffix(float *x, size_t n); \
extern float vec_logits_max_##suffix(float *x, const float *sub, const int32_t *ids, int32_t masked_id, \
									  float masked, size_t n); \
extern float vec_exp_sum_##suffix(float *x, size_t n, float shift); \
extern void vec_scale_##suffix(float *x, float a, size_t n);
SOFTMAX_KERNEL_DECLS(portable)
#ifdef VEC_SIMD_X86
SOFTMAX_KERNEL_DECLS(avx2)
SOFTMAX_KERNEL_DECLS(avx512)
#endif

#define KERNEL_TABLE(suffix, level_name) \
	{level_name, dot_##suffix, l2_squared_##suffix, norm_squared_##suffix, dot_double_##suffix, \
	 norm_squared_double_##suffix, dot_s16u8_##suffix, dot_s16u8_many_##suffix, axpy_##suffix, axpby_##suffix, sparse_rank1_apply_##suffix, count_greater_##suffix, \
	 count_greater_equal_##suffix, vec_exp_##suffix, vec_logits_max_##suffix, vec_exp_sum_##suffix, \
	 vec_scale_##suffix}

static const VecKernels kernel_tables[VEC_SIMD_LEVELS] = {
	KERNEL_TABLE(portable, "portable"),
#ifdef VEC_SIMD_X86
	KERNEL_TABLE(avx2, "avx2"),
	KERNEL_TABLE(avx512, "avx512"),
#else
	KERNEL_TABLE(portable, "portable"),
	KERNEL_TABLE(portable, "portable"),
#endif
};

const VecKernels *vec_kernels = &kernel_tables[VEC_SIMD_PORTABLE];

VecSimdLevel
vec_simd_best(void)
{
#ifdef VEC_SIMD_X86
	/* libgcc's checks include the OS's support for the wider registers (XCR0) */
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
		__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
		__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return VEC_SIMD_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return VEC_SIMD_AVX2;
#endif
	return VEC_SIMD_PORTABLE;
}

VecSimdLevel
vec_simd_level(void)
{
	return (VecSimdLevel) (vec_kernels - kernel_tables);
}

int
vec_simd_use(VecSimdLevel level)
{
	if (level < VEC_SIMD_PORTABLE || level >= VEC_SIMD_LEVELS || level > vec_simd_best())
		return 0;
	vec_kernels = &kernel_tables[level];
	return 1;
}

const char *
vec_simd_name(VecSimdLevel level)
{
	if (level < VEC_SIMD_PORTABLE || level >= VEC_SIMD_LEVELS)
		return "unknown";
	return kernel_tables[level].name;
}

/* At load (dlopen of the extension, or a test program's start). */
__attribute__((constructor)) static void
choose_kernels(void)
{
	vec_simd_use(vec_simd_best());
}

/* A float sum is kept when it is finite and at least this large. */
#define FLOAT_SUM_SAFE 1e-30f

double
vec_inner_product(const float *a, const float *b, size_t dims)
{
	float		sum = vec_dot(a, b, dims);

	if (isfinite(sum) && fabsf(sum) >= FLOAT_SUM_SAFE)
		return sum;
	return vec_dot_double(a, b, dims);
}

double
vec_l2_distance(const float *a, const float *b, size_t dims)
{
	float		sum = vec_l2_squared(a, b, dims);
	double		exact = 0.0;

	if (isfinite(sum) && sum >= FLOAT_SUM_SAFE)
		return sqrt((double) sum);
	for (size_t k = 0; k < dims; k++)
	{
		double		diff = (double) a[k] - b[k];

		exact += diff * diff;
	}
	return sqrt(exact);
}

double
vec_l1_distance(const float *a, const float *b, size_t dims)
{
	float		sum = 0.0f;
	double		exact = 0.0;

	for (size_t k = 0; k < dims; k++)
		sum += fabsf(a[k] - b[k]);
	if (isfinite(sum))
		return sum;
	for (size_t k = 0; k < dims; k++)
		exact += fabs((double) a[k] - b[k]);
	return exact;
}

double
vec_cosine_from_sums(double ab, double aa, double bb)
{
	double		similarity;

	if (aa == 0.0 || bb == 0.0)
		return NAN;
	similarity = ab / sqrt(aa * bb);
	if (similarity > 1.0)
		similarity = 1.0;
	else if (similarity < -1.0)
		similarity = -1.0;
	return 1.0 - similarity;
}

double
vec_cosine_distance(const float *a, const float *b, size_t dims)
{
	return vec_cosine_from_sums(vec_dot_double(a, b, dims), vec_norm_squared_double(a, dims),
								vec_norm_squared_double(b, dims));
}

void
vec_add(float *out, const float *a, const float *b, size_t dims)
{
	for (size_t k = 0; k < dims; k++)
		out[k] = a[k] + b[k];
}

void
vec_sub(float *out, const float *a, const float *b, size_t dims)
{
	for (size_t k = 0; k < dims; k++)
		out[k] = a[k] - b[k];
}

int
vec_mul(float *out, const float *a, const float *b, size_t dims)
{
	int			finite = 1;
	int			vanished = 0;

	/* the checks are branch-free so that the product loop still vectorizes */
	for (size_t k = 0; k < dims; k++)
	{
		float		product = a[k] * b[k];

		finite &= isfinite(product) != 0;
		vanished |= (product == 0.0f) & (a[k] != 0.0f) & (b[k] != 0.0f);
		out[k] = product;
	}
	if (!finite)
		return 1;
	return vanished ? -1 : 0;
}

int
vec_compare(const float *a, size_t a_dims, const float *b, size_t b_dims)
{
	size_t		common = a_dims < b_dims ? a_dims : b_dims;

	for (size_t k = 0; k < common; k++)
	{
		if (a[k] < b[k])
			return -1;
		if (a[k] > b[k])
			return 1;
	}
	if (a_dims != b_dims)
		return a_dims < b_dims ? -1 : 1;
	return 0;
}

int
vec_all_finite(const float *a, size_t dims)
{
	int			finite = 1;

	for (size_t k = 0; k < dims; k++)
		finite &= isfinite(a[k]) != 0;
	return finite;
}
