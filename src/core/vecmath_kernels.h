/*
 * vecmath_kernels.h
 *		The hot vector kernels, written once and compiled once per
 *		instruction set (vecmath.c includes this file three times).
 *
 * Before each inclusion vecmath.c defines KERNEL(name), the variant's name
 * for a kernel, and KERNEL_TARGET, its target attribute (empty for the
 * portable build).  The loops are plain C that GCC and clang vectorize with
 * the Makefile's -fassociative-math -fno-signed-zeros -fno-trapping-math:
 * 4 lanes with SSE2, 8 with AVX2 (and FMA), 16 with AVX-512.  The build
 * itself assumes no more than the portable target; the variant a process
 * uses is chosen at load from what the CPU reports (vec_simd_best).
 * No include guard: meant to be included more than once.
 */

KERNEL_TARGET static float
KERNEL(dot) (const float *a, const float *b, size_t dims)
{
	float		sum = 0.0f;

	for (size_t k = 0; k < dims; k++)
		sum += a[k] * b[k];
	return sum;
}

KERNEL_TARGET static float
KERNEL(l2_squared) (const float *a, const float *b, size_t dims)
{
	float		sum = 0.0f;

	for (size_t k = 0; k < dims; k++)
	{
		float		diff = a[k] - b[k];

		sum += diff * diff;
	}
	return sum;
}

KERNEL_TARGET static float
KERNEL(norm_squared) (const float *a, size_t dims)
{
	float		sum = 0.0f;

	for (size_t k = 0; k < dims; k++)
		sum += a[k] * a[k];
	return sum;
}

KERNEL_TARGET static double
KERNEL(dot_double) (const float *a, const float *b, size_t dims)
{
	double		sum = 0.0;

	for (size_t k = 0; k < dims; k++)
		sum += (double) a[k] * b[k];
	return sum;
}

KERNEL_TARGET static double
KERNEL(norm_squared_double) (const float *a, size_t dims)
{
	double		sum = 0.0;

	for (size_t k = 0; k < dims; k++)
		sum += (double) a[k] * a[k];
	return sum;
}

/*
 * Σ a[k]·b[k] for a 16-bit integer query a and one-byte codes b (the
 * index's scan, ivf_code.h): exact, so every variant gives the same sum.
 * Blocks of VEC_S16U8_BLOCK components sum in 32 bits, which the compiler
 * turns into pmaddwd (16-bit products added in pairs into 32-bit lanes):
 * a block's sum is below 32767·255·256 < 2³¹ in magnitude.
 */
KERNEL_TARGET static int64_t
KERNEL(dot_s16u8) (const int16_t *a, const uint8_t *b, size_t dims)
{
	int64_t		total = 0;

	for (size_t first = 0; first < dims; first += VEC_S16U8_BLOCK)
	{
		size_t		end = dims - first < VEC_S16U8_BLOCK ? dims : first + VEC_S16U8_BLOCK;
		int32_t		sum = 0;

		for (size_t k = first; k < end; k++)
			sum += (int32_t) a[k] * (int16_t) b[k];
		total += sum;
	}
	return total;
}

/* dot_s16u8 of one query against n codes (a page of the index's), into out. */
KERNEL_TARGET static void
KERNEL(dot_s16u8_many) (const int16_t *a, const uint8_t *const *b, size_t n, size_t dims, int64_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = KERNEL(dot_s16u8) (a, b[i], dims);
}

KERNEL_TARGET static void
KERNEL(axpy) (float *y, float a, const float *x, size_t dims)
{
	for (size_t k = 0; k < dims; k++)
		y[k] += a * x[k];
}

/*
 * The two halves every variant of sparse_rank1_apply shares: the four
 * coefficients add·w + scale·(w − shift)·⟨h, v⟩ of a group of four rows
 * (four independent sums the core overlaps), and rows [j, n) one at a time.
 */
KERNEL_TARGET static inline void
KERNEL(rank1_coefs4) (const float *v, const float *h0, const float *h1, const float *h2,
					  const float *h3, const float *weights, size_t dims, float shift, float add,
					  float scale, float *coef)
{
	float		t0 = 0.0f;
	float		t1 = 0.0f;
	float		t2 = 0.0f;
	float		t3 = 0.0f;

	for (size_t k = 0; k < dims; k++)
	{
		t0 += h0[k] * v[k];
		t1 += h1[k] * v[k];
		t2 += h2[k] * v[k];
		t3 += h3[k] * v[k];
	}
	coef[0] = add * weights[0] + scale * (weights[0] - shift) * t0;
	coef[1] = add * weights[1] + scale * (weights[1] - shift) * t1;
	coef[2] = add * weights[2] + scale * (weights[2] - shift) * t2;
	coef[3] = add * weights[3] + scale * (weights[3] - shift) * t3;
}

KERNEL_TARGET static inline void
KERNEL(rank1_apply_rows) (float *out, const float *v, const float *base, const int32_t *cols,
						  const float *weights, size_t j, size_t n, size_t dims, float shift,
						  float add, float scale)
{
	for (; j < n; j++)
	{
		const float *h = base + (size_t) cols[j] * dims;
		float		t = 0.0f;
		float		coef;

		for (size_t k = 0; k < dims; k++)
			t += h[k] * v[k];
		coef = add * weights[j] + scale * (weights[j] - shift) * t;
		for (size_t k = 0; k < dims; k++)
			out[k] += coef * h[k];
	}
}

/*
 * sparse_rank1_apply (below) for rows of 512 floats and more.  Its
 * prefetches go out spread over the sum, one line of each row per 16
 * floats, for the group of four after next, which near the end are the
 * first rows of the next call (next_cols, the caller's next row of the
 * sparse matrix; without it they would wait for a miss each, two groups
 * of a row of 27 interactions out of seven): a group is 128 lines and more
 * here, and issued all at once before the dot products, as for short rows,
 * they filled the core's miss buffers and stalled it.  A random 4 kB row
 * (dims 1024) was read at 13.7 GB/s on both threads of a Zen 4 EPYC that
 * way, 19–21 GB/s spread.  Core benchmark (`run_core.sh --cg D`, Gowalla
 * shape, both threads, alternating builds), s per epoch, at once → spread:
 * dims 512 1.71–1.78 → 1.47–1.49 (two runs each), dims 1024 5.54–5.76 →
 * 5.19–5.44 (four).  Shorter rows keep the kernel below: at dims 64 and
 * 128 the two differed by less than this machine's noise.
 */
#define ROW_AHEAD(at) \
	((at) < n ? cols[(at)] : (at) - n < next_n ? next_cols[(at) - n] : cols[n - 1])
KERNEL_TARGET static void
KERNEL(sparse_rank1_apply_wide) (float *out, const float *v, const float *base,
								 const int32_t *cols, const float *weights, size_t n,
								 const int32_t *next_cols, size_t next_n,
								 size_t dims, float shift, float add, float scale)
{
	size_t		j = 0;

	for (; j + 4 <= n; j += 4)
	{
		const float *h0 = base + (size_t) cols[j] * dims;
		const float *h1 = base + (size_t) cols[j + 1] * dims;
		const float *h2 = base + (size_t) cols[j + 2] * dims;
		const float *h3 = base + (size_t) cols[j + 3] * dims;
		/* the group after next, past the end the next call's first rows */
		const float *n0 = base + (size_t) ROW_AHEAD(j + 8) * dims;
		const float *n1 = base + (size_t) ROW_AHEAD(j + 9) * dims;
		const float *n2 = base + (size_t) ROW_AHEAD(j + 10) * dims;
		const float *n3 = base + (size_t) ROW_AHEAD(j + 11) * dims;
		float		c[4];
		size_t		line = 0;

		KERNEL(rank1_coefs4) (v, h0, h1, h2, h3, weights + j, dims, shift, add, scale, c);

		/*
		 * The prefetches in the sum, not in the dot products, whose sums a
		 * loop split per line would reduce per line; a fixed 16 floats per
		 * line, one AVX-512 or two AVX2 operations.
		 */
		for (; line + 16 <= dims; line += 16)
		{
			__builtin_prefetch(n0 + line);
			__builtin_prefetch(n1 + line);
			__builtin_prefetch(n2 + line);
			__builtin_prefetch(n3 + line);
			for (size_t k = line; k < line + 16; k++)
				out[k] += c[0] * h0[k] + c[1] * h1[k] + c[2] * h2[k] + c[3] * h3[k];
		}
		for (size_t k = line; k < dims; k++)
			out[k] += c[0] * h0[k] + c[1] * h1[k] + c[2] * h2[k] + c[3] * h3[k];
	}
	KERNEL(rank1_apply_rows) (out, v, base, cols, weights, j, n, dims, shift, add, scale);
}

#undef ROW_AHEAD

/*
 * out += Σ_j (add·w_j + scale·(w_j − shift)·⟨h_j, v⟩)·h_j, h_j the row
 * cols[j] of base: one row of iALS's data term applied to v (ials.c), its
 * n rank-one products fused so that each h_j is read once per product and
 * the next one is on its way while this one is summed.  next_cols (next_n
 * of them, or none) are the rows the caller applies next: only the wide
 * kernel above fetches ahead into them.
 */
KERNEL_TARGET static void
KERNEL(sparse_rank1_apply) (float *out, const float *v, const float *base,
							const int32_t *cols, const float *weights, size_t n,
							const int32_t *next_cols, size_t next_n,
							size_t dims, float shift, float add, float scale)
{
	size_t		j = 0;

	if (dims >= 512)
	{
		KERNEL(sparse_rank1_apply_wide) (out, v, base, cols, weights, n, next_cols, next_n,
										 dims, shift, add, scale);
		return;
	}

	/*
	 * Four rows at a time: their four dot products are independent sums the
	 * core overlaps, and out is read and written once for the four.
	 */
	for (; j + 4 <= n; j += 4)
	{
		const float *h0 = base + (size_t) cols[j] * dims;
		const float *h1 = base + (size_t) cols[j + 1] * dims;
		const float *h2 = base + (size_t) cols[j + 2] * dims;
		const float *h3 = base + (size_t) cols[j + 3] * dims;
		float		c[4];

		for (size_t next = j + 4; next < j + 8 && next < n; next++)
		{
			const char *row = (const char *) (base + (size_t) cols[next] * dims);

			for (size_t byte = 0; byte < dims * sizeof(float); byte += 64)
				__builtin_prefetch(row + byte);
		}
		KERNEL(rank1_coefs4) (v, h0, h1, h2, h3, weights + j, dims, shift, add, scale, c);
		for (size_t k = 0; k < dims; k++)
			out[k] += c[0] * h0[k] + c[1] * h1[k] + c[2] * h2[k] + c[3] * h3[k];
	}
	KERNEL(rank1_apply_rows) (out, v, base, cols, weights, j, n, dims, shift, add, scale);
}

KERNEL_TARGET static void
KERNEL(axpby) (float *y, float a, const float *x, float b, size_t dims)
{
	for (size_t k = 0; k < dims; k++)
		y[k] = a * x[k] + b * y[k];
}

KERNEL_TARGET static size_t
KERNEL(count_greater) (const float *x, size_t n, float threshold)
{
	/* a 32-bit lane counter lets the compare-and-add vectorize */
	size_t		total = 0;

	for (size_t block = 0; block < n; block += 1u << 30)
	{
		size_t		end = n - block < (1u << 30) ? n : block + (1u << 30);
		unsigned	count = 0;

		for (size_t k = block; k < end; k++)
			count += x[k] > threshold;
		total += count;
	}
	return total;
}

KERNEL_TARGET static size_t
KERNEL(count_greater_equal) (const float *x, size_t n, float threshold)
{
	size_t		total = 0;

	for (size_t block = 0; block < n; block += 1u << 30)
	{
		size_t		end = n - block < (1u << 30) ? n : block + (1u << 30);
		unsigned	count = 0;

		for (size_t k = block; k < end; k++)
			count += x[k] >= threshold;
		total += count;
	}
	return total;
}
