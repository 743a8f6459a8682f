/*
 * id_sort.c
 *		Radix sorts for the loader (see id_sort.h).
 */
#include "id_sort.h"

#include <string.h>

void
radix_sort_u64(uint64_t *keys, uint32_t *payload, size_t n,
			   uint64_t *tmp_keys, uint32_t *tmp_payload)
{
	/* histograms of all eight byte positions in one pass */
	static const int passes = 8;
	size_t		counts[8][256];
	uint64_t   *from_keys = keys;
	uint32_t   *from_payload = payload;
	uint64_t   *to_keys = tmp_keys;
	uint32_t   *to_payload = tmp_payload;

	if (n < 2)
		return;
	memset(counts, 0, sizeof(counts));
	for (size_t r = 0; r < n; r++)
		for (int b = 0; b < passes; b++)
			counts[b][(keys[r] >> (8 * b)) & 0xff]++;
	for (int b = 0; b < passes; b++)
	{
		size_t		offset = 0;
		int			shift = 8 * b;

		/* every key has the same byte here: the pass would move nothing */
		if (counts[b][(keys[0] >> shift) & 0xff] == n)
			continue;
		for (int v = 0; v < 256; v++)
		{
			size_t		count = counts[b][v];

			counts[b][v] = offset;
			offset += count;
		}
		for (size_t r = 0; r < n; r++)
		{
			size_t		slot = counts[b][(from_keys[r] >> shift) & 0xff]++;

			to_keys[slot] = from_keys[r];
			to_payload[slot] = from_payload[r];
		}
		/* the sorted keys are now in to_*: swap roles */
		{
			uint64_t   *k = from_keys;
			uint32_t   *p = from_payload;

			from_keys = to_keys;
			from_payload = to_payload;
			to_keys = k;
			to_payload = p;
		}
	}
	if (from_keys != keys)
	{
		memcpy(keys, from_keys, sizeof(uint64_t) * n);
		memcpy(payload, from_payload, sizeof(uint32_t) * n);
	}
}

size_t
dense_rank_i64(const int64_t *ids, size_t n, int32_t *rank, int64_t *distinct,
			   uint64_t *work, uint32_t *work_payload)
{
	uint64_t   *keys = work;
	uint32_t   *rows = work_payload;
	size_t		count = 0;
	int64_t		lowest = n > 0 ? ids[0] : 0;
	int64_t		highest = lowest;

	for (size_t r = 1; r < n; r++)
	{
		lowest = ids[r] < lowest ? ids[r] : lowest;
		highest = ids[r] > highest ? ids[r] : highest;
	}

	/*
	 * Ids within a range of at most 4·n values (the usual serial keys): mark
	 * the ones present in a table over the range, number them in one sweep
	 * and look every row up.  The table fits in work's 16·n bytes.
	 */
	if (n > 0 && (uint64_t) highest - (uint64_t) lowest < 4 * (uint64_t) n)
	{
		size_t		range = (size_t) ((uint64_t) highest - (uint64_t) lowest) + 1;
		int32_t    *number = (int32_t *) work;

		memset(number, 0, sizeof(int32_t) * range);
		for (size_t r = 0; r < n; r++)
			number[(uint64_t) ids[r] - (uint64_t) lowest] = 1;
		for (size_t v = 0; v < range; v++)
			if (number[v])
			{
				distinct[count] = (int64_t) ((uint64_t) lowest + v);
				number[v] = (int32_t) count++;
			}
		for (size_t r = 0; r < n; r++)
			rank[r] = number[(uint64_t) ids[r] - (uint64_t) lowest];
		return count;
	}

	/* flipping the sign bit makes unsigned order the signed order */
	for (size_t r = 0; r < n; r++)
	{
		keys[r] = (uint64_t) ids[r] ^ (UINT64_C(1) << 63);
		rows[r] = (uint32_t) r;
	}
	radix_sort_u64(keys, rows, n, work + n, work_payload + n);
	for (size_t r = 0; r < n; r++)
	{
		if (r == 0 || keys[r] != keys[r - 1])
			distinct[count++] = (int64_t) (keys[r] ^ (UINT64_C(1) << 63));
		rank[rows[r]] = (int32_t) (count - 1);
	}
	return count;
}

size_t
merge_pairs(const int32_t *rows, const int32_t *cols, const double *values,
			size_t n, int32_t *out_rows, int32_t *out_cols, double *out_values,
			uint64_t *work, uint32_t *work_payload)
{
	uint64_t   *keys = work;
	uint32_t   *order = work_payload;
	size_t		count = 0;

	for (size_t r = 0; r < n; r++)
	{
		keys[r] = ((uint64_t) (uint32_t) rows[r] << 32) | (uint32_t) cols[r];
		order[r] = (uint32_t) r;
	}
	radix_sort_u64(keys, order, n, work + n, work_payload + n);
	for (size_t r = 0; r < n; r++)
	{
		if (r == 0 || keys[r] != keys[r - 1])
		{
			out_rows[count] = (int32_t) (keys[r] >> 32);
			out_cols[count] = (int32_t) (keys[r] & 0xffffffffu);
			out_values[count] = 0.0;
			count++;
		}
		out_values[count - 1] += values[order[r]];
	}
	return count;
}
