/*
 * fuzz_binary.c
 *		libFuzzer target: the embedding binary (COPY/wire) decoder.
 *
 * Whatever decodes must re-encode to exactly the input bytes: the format has
 * one encoding per value, so anything else would mean the decoder accepted
 * garbage.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/embedding_codec.h"

static float values[EMBEDDING_MAX_DIMS];

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int			dims;

	if (embedding_decode_binary(data, size, values, &dims) == EMBEDDING_OK)
	{
		if (dims < 1 || dims > EMBEDDING_MAX_DIMS ||
			size != EMBEDDING_WIRE_HEADER + 4 * (size_t) dims)
			abort();
		if (data[0] != (dims >> 8) || data[1] != (dims & 0xff) || data[2] || data[3])
			abort();
		for (int k = 0; k < dims; k++)
		{
			uint32_t	bits;
			const uint8_t *p = data + EMBEDDING_WIRE_HEADER + 4 * k;

			memcpy(&bits, &values[k], 4);
			if (!isfinite(values[k]) ||
				p[0] != (bits >> 24) || p[1] != ((bits >> 16) & 0xff) ||
				p[2] != ((bits >> 8) & 0xff) || p[3] != (bits & 0xff))
				abort();
		}
	}
	return 0;
}
