/*
 * fuzz_text.c
 *		libFuzzer target: the embedding text parser.
 *
 * Beyond "no crash": whatever parses must be 1..16000 finite components and
 * must parse back to the same floats from its %.9g text (the round trip the
 * server's output function relies on).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/embedding_codec.h"

static float values[EMBEDDING_MAX_DIMS];
static float again[EMBEDDING_MAX_DIMS];

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	int			dims;
	size_t		offset;

	memcpy(text, data, size);
	text[size] = '\0';
	if (embedding_parse_text(text, values, &dims, &offset) == EMBEDDING_OK)
	{
		char	   *printed = malloc((size_t) dims * 20 + 3);
		char	   *p = printed;
		int			dims_again;

		if (dims < 1 || dims > EMBEDDING_MAX_DIMS)
			abort();
		*p++ = '[';
		for (int k = 0; k < dims; k++)
		{
			if (!isfinite(values[k]))
				abort();
			p += sprintf(p, "%s%.9g", k ? "," : "", values[k]);
		}
		strcpy(p, "]");
		if (embedding_parse_text(printed, again, &dims_again, &offset) != EMBEDDING_OK ||
			dims_again != dims || memcmp(values, again, sizeof(float) * dims) != 0)
			abort();
		free(printed);
	}
	else if (offset > size)
		abort();
	free(text);
	return 0;
}
