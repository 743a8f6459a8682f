/*
 * embedding_codec.c
 *		Text parser and binary decoder of the embedding type (see the header).
 *
 * Both are fed by untrusted clients, so every path is bounded: the text
 * parser stops at the first component past EMBEDDING_MAX_DIMS instead of
 * scanning a huge literal to its end, and the decoder checks the length
 * before reading.
 */
#include "embedding_codec.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		c == '\v';
}

/*
 * parse_component: one float4 starting at *pos.  strtof accepts what
 * PostgreSQL's float4in accepts (decimal, exponent, hex floats, "nan",
 * "inf"); the checks after it reject what an embedding must not hold.
 */
static EmbeddingCodecStatus
parse_component(const char **pos, float *value)
{
	char	   *end;
	float		parsed;

	while (is_space(**pos))
		(*pos)++;
	if (**pos == '\0' || **pos == ',' || **pos == ']' || **pos == '[')
		return EMBEDDING_SYNTAX;
	errno = 0;
	parsed = strtof(*pos, &end);
	if (end == *pos)
		return EMBEDDING_SYNTAX;
	if (isnan(parsed))
		return EMBEDDING_NOT_FINITE;
	if (isinf(parsed))
	{
		/* "inf" itself, as opposed to an overflowing literal such as 1e999 */
		return errno == ERANGE ? EMBEDDING_OUT_OF_RANGE : EMBEDDING_NOT_FINITE;
	}
	/* like float4in: a nonzero literal must not underflow to zero */
	if (errno == ERANGE && parsed == 0.0f)
		return EMBEDDING_OUT_OF_RANGE;
	*value = parsed;
	*pos = end;
	return EMBEDDING_OK;
}

EmbeddingCodecStatus
embedding_parse_text(const char *text, float *out, int *dims,
					 size_t *error_offset)
{
	const char *pos = text;
	int			count = 0;
	EmbeddingCodecStatus status;

	*dims = 0;
	while (is_space(*pos))
		pos++;
	if (*pos != '[')
	{
		status = EMBEDDING_SYNTAX;
		goto fail;
	}
	pos++;
	while (is_space(*pos))
		pos++;
	if (*pos == ']')
	{
		status = EMBEDDING_EMPTY;
		goto fail;
	}
	for (;;)
	{
		if (count >= EMBEDDING_MAX_DIMS)
		{
			status = EMBEDDING_TOO_MANY;
			goto fail;
		}
		status = parse_component(&pos, &out[count]);
		if (status != EMBEDDING_OK)
			goto fail;
		count++;
		while (is_space(*pos))
			pos++;
		if (*pos == ',')
		{
			pos++;
			continue;
		}
		if (*pos == ']')
			break;
		status = EMBEDDING_SYNTAX;
		goto fail;
	}
	pos++;
	while (is_space(*pos))
		pos++;
	if (*pos != '\0')
	{
		status = EMBEDDING_SYNTAX;
		goto fail;
	}
	*dims = count;
	return EMBEDDING_OK;

fail:
	*error_offset = (size_t) (pos - text);
	return status;
}

static uint32_t
read_be32(const unsigned char *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

void
embedding_encode_binary(const float *x, int dims, unsigned char *out)
{
	out[0] = (unsigned char) ((unsigned) dims >> 8);
	out[1] = (unsigned char) dims;
	out[2] = 0;
	out[3] = 0;
	for (int k = 0; k < dims; k++)
	{
		uint32_t	bits;
		unsigned char *p = out + EMBEDDING_WIRE_HEADER + 4 * (size_t) k;

		memcpy(&bits, &x[k], sizeof(bits));
		p[0] = (unsigned char) (bits >> 24);
		p[1] = (unsigned char) (bits >> 16);
		p[2] = (unsigned char) (bits >> 8);
		p[3] = (unsigned char) bits;
	}
}

EmbeddingCodecStatus
embedding_decode_binary(const unsigned char *buf, size_t len, float *out,
						int *dims)
{
	int			count;
	unsigned	reserved;

	*dims = 0;
	if (len < EMBEDDING_WIRE_HEADER)
		return EMBEDDING_SYNTAX;
	count = (int) (int16_t) (((unsigned) buf[0] << 8) | buf[1]);
	reserved = ((unsigned) buf[2] << 8) | buf[3];
	if (count < 1)
		return EMBEDDING_EMPTY;
	if (count > EMBEDDING_MAX_DIMS)
		return EMBEDDING_TOO_MANY;
	if (reserved != 0)
		return EMBEDDING_BAD_HEADER;
	if (len != EMBEDDING_WIRE_HEADER + (size_t) count * 4)
		return EMBEDDING_BAD_LENGTH;
	for (int k = 0; k < count; k++)
	{
		uint32_t	bits = read_be32(buf + EMBEDDING_WIRE_HEADER + 4 * (size_t) k);

		memcpy(&out[k], &bits, sizeof(float));
		if (!isfinite(out[k]))
			return EMBEDDING_NOT_FINITE;
	}
	*dims = count;
	return EMBEDDING_OK;
}

const char *
embedding_codec_status_text(EmbeddingCodecStatus status)
{
	switch (status)
	{
		case EMBEDDING_OK:
			return "ok";
		case EMBEDDING_SYNTAX:
			return "malformed embedding";
		case EMBEDDING_EMPTY:
			return "embedding must have at least 1 dimension";
		case EMBEDDING_TOO_MANY:
			return "embedding cannot have more than 16000 dimensions";
		case EMBEDDING_OUT_OF_RANGE:
			return "embedding component is out of range for type real";
		case EMBEDDING_NOT_FINITE:
			return "NaN and infinity are not allowed in an embedding";
		case EMBEDDING_BAD_HEADER:
			return "reserved field of binary embedding must be zero";
		case EMBEDDING_BAD_LENGTH:
			return "binary embedding length does not match its dimensions";
	}
	return "unknown status";
}
