/*
 * embedding_codec.h
 *		Parsing of the embedding type's text form and decoding of its binary
 *		wire form.
 *
 * Kept in the core (no PostgreSQL headers) so that the libFuzzer targets in
 * test/fuzz exercise exactly the code the server runs.
 */
#ifndef IREC_EMBEDDING_CODEC_H
#define IREC_EMBEDDING_CODEC_H

#include <stddef.h>

/* Largest number of components an embedding may have (DESIGN SQL contract). */
#define EMBEDDING_MAX_DIMS 16000

/* Size of the binary wire header: int16 dims, int16 reserved (zero). */
#define EMBEDDING_WIRE_HEADER 4

typedef enum EmbeddingCodecStatus
{
	EMBEDDING_OK = 0,
	EMBEDDING_SYNTAX,			/* malformed text or truncated message */
	EMBEDDING_EMPTY,			/* zero components */
	EMBEDDING_TOO_MANY,			/* more than EMBEDDING_MAX_DIMS components */
	EMBEDDING_OUT_OF_RANGE,		/* a number overflows or underflows float4 */
	EMBEDDING_NOT_FINITE,		/* NaN or infinity */
	EMBEDDING_BAD_HEADER,		/* binary: reserved field not zero */
	EMBEDDING_BAD_LENGTH		/* binary: length disagrees with dims */
} EmbeddingCodecStatus;

/*
 * embedding_parse_text: parse a NUL-terminated "[1, 2.5, -3]" into out[],
 * which must have room for EMBEDDING_MAX_DIMS floats.  Whitespace is allowed
 * around the brackets and the numbers.  On success *dims is set; on failure
 * *error_offset is the byte offset where the problem was found.
 */
EmbeddingCodecStatus embedding_parse_text(const char *text, float *out,
										  int *dims, size_t *error_offset);

/*
 * embedding_decode_binary: decode the wire form (big-endian int16 dims,
 * int16 reserved = 0, dims big-endian IEEE float4) of exactly len bytes into
 * out[] (room for EMBEDDING_MAX_DIMS floats).
 */
EmbeddingCodecStatus embedding_decode_binary(const unsigned char *buf,
											 size_t len, float *out,
											 int *dims);

/*
 * embedding_encode_binary: the wire form of x[0..dims) into out
 * (EMBEDDING_WIRE_HEADER + 4·dims bytes), as embedding_decode_binary reads
 * it.  One pass that the compiler turns into byte swaps of whole vectors:
 * writing it a float at a time through the protocol's buffer was most of
 * a binary COPY's cost of a row (Citus ships embeddings so).
 */
void		embedding_encode_binary(const float *x, int dims, unsigned char *out);

/* A short English description of a status, for error messages and tests. */
const char *embedding_codec_status_text(EmbeddingCodecStatus status);

#endif							/* IREC_EMBEDDING_CODEC_H */
