/*
 * test_embedding_codec.c
 *		The embedding text parser and binary decoder on good and bad input.
 */
#include <stdlib.h>
#include <string.h>

#include "core/embedding_codec.h"
#include "unit.h"

static float out[EMBEDDING_MAX_DIMS];

static EmbeddingCodecStatus
parse(const char *text, int *dims)
{
	size_t		offset;

	return embedding_parse_text(text, out, dims, &offset);
}

static void
test_parse_valid(void)
{
	int			dims;

	CHECK(parse("[1,2.5,-3]", &dims) == EMBEDDING_OK);
	CHECK(dims == 3 && out[0] == 1.0f && out[1] == 2.5f && out[2] == -3.0f);
	CHECK(parse("  [ 1 ,\t2 ,\n3 ]  ", &dims) == EMBEDDING_OK && dims == 3);
	CHECK(parse("[1e3]", &dims) == EMBEDDING_OK && dims == 1 && out[0] == 1000.0f);
	CHECK(parse("[-0]", &dims) == EMBEDDING_OK && dims == 1);
	CHECK(parse("[3.4028235e38]", &dims) == EMBEDDING_OK);
	CHECK(parse("[1.17549435e-38]", &dims) == EMBEDDING_OK);
	/* round trip of a value that needs 9 significant digits */
	CHECK(parse("[0.100000001]", &dims) == EMBEDDING_OK && out[0] == 0.1f);
}

static void
test_parse_invalid(void)
{
	int			dims;

	CHECK(parse("[1,,2]", &dims) == EMBEDDING_SYNTAX);
	CHECK(parse("[", &dims) == EMBEDDING_SYNTAX);
	CHECK(parse("1,2", &dims) == EMBEDDING_SYNTAX);
	CHECK(parse("[]", &dims) == EMBEDDING_EMPTY);
	CHECK(parse("[ ]", &dims) == EMBEDDING_EMPTY);
	CHECK(parse("[1,2]x", &dims) == EMBEDDING_SYNTAX);
	CHECK(parse("[a]", &dims) == EMBEDDING_SYNTAX);
	CHECK(parse("[1,]", &dims) == EMBEDDING_SYNTAX);
	CHECK(parse("[,1]", &dims) == EMBEDDING_SYNTAX);
	CHECK(parse("[1 2]", &dims) == EMBEDDING_SYNTAX);
	CHECK(parse("[[1]]", &dims) == EMBEDDING_SYNTAX);
	CHECK(parse("", &dims) == EMBEDDING_SYNTAX);
	CHECK(parse("[1e999]", &dims) == EMBEDDING_OUT_OF_RANGE);
	CHECK(parse("[-1e999]", &dims) == EMBEDDING_OUT_OF_RANGE);
	CHECK(parse("[1e39]", &dims) == EMBEDDING_OUT_OF_RANGE);
	CHECK(parse("[1e-50]", &dims) == EMBEDDING_OUT_OF_RANGE);
	CHECK(parse("[nan]", &dims) == EMBEDDING_NOT_FINITE);
	CHECK(parse("[NaN]", &dims) == EMBEDDING_NOT_FINITE);
	CHECK(parse("[inf]", &dims) == EMBEDDING_NOT_FINITE);
	CHECK(parse("[-Infinity]", &dims) == EMBEDDING_NOT_FINITE);
}

static void
test_parse_dimension_limit(void)
{
	size_t		n = 16001;
	char	   *text = malloc(2 * n + 3);
	char	   *p = text;
	int			dims;

	*p++ = '[';
	for (size_t k = 0; k < n; k++)
	{
		*p++ = '1';
		*p++ = ',';
	}
	p[-1] = ']';
	*p = '\0';
	CHECK(parse(text, &dims) == EMBEDDING_TOO_MANY);
	/* exactly the limit is fine */
	text[2 * (n - 1)] = ']';
	text[2 * (n - 1) + 1] = '\0';
	CHECK(parse(text, &dims) == EMBEDDING_OK && dims == 16000);
	free(text);
}

static size_t
encode(unsigned char *buf, int dims, int reserved, const float *x, int count)
{
	size_t		len = 0;

	buf[len++] = (unsigned char) ((dims >> 8) & 0xff);
	buf[len++] = (unsigned char) (dims & 0xff);
	buf[len++] = (unsigned char) ((reserved >> 8) & 0xff);
	buf[len++] = (unsigned char) (reserved & 0xff);
	for (int k = 0; k < count; k++)
	{
		unsigned int bits;

		memcpy(&bits, &x[k], 4);
		buf[len++] = (unsigned char) (bits >> 24);
		buf[len++] = (unsigned char) (bits >> 16);
		buf[len++] = (unsigned char) (bits >> 8);
		buf[len++] = (unsigned char) bits;
	}
	return len;
}

/*
 * embedding_encode_binary against the test's own byte-by-byte encoder (the
 * layout written out by hand: 1.5f is 0x3FC00000), and round trips through
 * the decoder at every length up to 70, bit for bit (negative zero and
 * denormals included).
 */
static void
test_encode_binary(void)
{
	unsigned char mine[4 + 4 * 70];
	unsigned char theirs[4 + 4 * 70];
	float		x[70];
	int			dims;
	const unsigned char one_and_a_half[8] = {0, 1, 0, 0, 0x3F, 0xC0, 0, 0};
	float		v = 1.5f;

	embedding_encode_binary(&v, 1, mine);
	CHECK(memcmp(mine, one_and_a_half, 8) == 0);
	for (int k = 0; k < 70; k++)
		x[k] = k == 0 ? -0.0f : k == 1 ? 1e-40f : (float) (k * 0.37 - 9.1) * (k % 2 ? 1e20f : 1e-20f);
	for (int n = 1; n <= 70; n++)
	{
		size_t		len = encode(theirs, n, 0, x, n);

		embedding_encode_binary(x, n, mine);
		CHECK(memcmp(mine, theirs, len) == 0);
		CHECK(embedding_decode_binary(mine, len, out, &dims) == EMBEDDING_OK && dims == n);
		CHECK(memcmp(out, x, sizeof(float) * n) == 0);
	}
}

static void
test_decode_binary(void)
{
	unsigned char buf[64];
	float		x[3] = {1.5f, -2.0f, 3.25f};
	float		bad[2] = {1.0f, NAN};
	int			dims;
	size_t		len;

	len = encode(buf, 3, 0, x, 3);
	CHECK(embedding_decode_binary(buf, len, out, &dims) == EMBEDDING_OK);
	CHECK(dims == 3 && out[0] == 1.5f && out[1] == -2.0f && out[2] == 3.25f);
	CHECK(embedding_decode_binary(buf, len - 1, out, &dims) == EMBEDDING_BAD_LENGTH);
	CHECK(embedding_decode_binary(buf, 3, out, &dims) == EMBEDDING_SYNTAX);
	len = encode(buf, 4, 0, x, 3);
	CHECK(embedding_decode_binary(buf, len, out, &dims) == EMBEDDING_BAD_LENGTH);
	len = encode(buf, 3, 1, x, 3);
	CHECK(embedding_decode_binary(buf, len, out, &dims) == EMBEDDING_BAD_HEADER);
	len = encode(buf, 0, 0, x, 0);
	CHECK(embedding_decode_binary(buf, len, out, &dims) == EMBEDDING_EMPTY);
	len = encode(buf, -1, 0, x, 0);
	CHECK(embedding_decode_binary(buf, len, out, &dims) == EMBEDDING_EMPTY);
	len = encode(buf, 16001, 0, x, 0);
	CHECK(embedding_decode_binary(buf, len, out, &dims) == EMBEDDING_TOO_MANY);
	len = encode(buf, 2, 0, bad, 2);
	CHECK(embedding_decode_binary(buf, len, out, &dims) == EMBEDDING_NOT_FINITE);
}

int
main(void)
{
	RUN_TEST(test_parse_valid);
	RUN_TEST(test_parse_invalid);
	RUN_TEST(test_parse_dimension_limit);
	RUN_TEST(test_decode_binary);
	RUN_TEST(test_encode_binary);
	return unit_tests_failed != 0;
}
