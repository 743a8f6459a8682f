/*
 * embedding.c
 *		The embedding type: text and binary I/O, typmod, casts to and from
 *		arrays.
 *
 * Parsing and binary decoding live in core/embedding_codec.c (fuzzed);
 * this file maps their status codes onto SQLSTATEs and owns all palloc.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "core/vecmath.h"
#include "embedding.h"

/*
 * embedding_new: a zeroed embedding of dims components in the current
 * memory context.  The caller has validated dims.
 */
Embedding *
embedding_new(int dims)
{
	Size		size = EMBEDDING_SIZE(dims);
	Embedding  *e = (Embedding *) palloc0(size);

	SET_VARSIZE(e, size);
	e->dims = (int16) dims;
	return e;
}

void
embedding_check_dims(int dims)
{
	if (dims < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embedding must have at least 1 dimension"),
				 errhint("Write at least one component, like '[1]'.")));
	if (dims > EMBEDDING_MAX_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("embedding cannot have more than %d dimensions",
						EMBEDDING_MAX_DIMS),
				 errhint("Reduce the number of components.")));
}

/* embedding_check_typmod: enforce embedding(d) on a value; -1 means any. */
void
embedding_check_typmod(const Embedding *e, int32 typmod)
{
	if (typmod != -1 && e->dims != typmod)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, e->dims),
				 errhint("Embeddings stored in an embedding(%d) column must have exactly %d components.",
						 typmod, typmod)));
}

void
embedding_check_same_dims(const Embedding *a, const Embedding *b)
{
	if (a->dims != b->dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different embedding dimensions %d and %d",
						a->dims, b->dims),
				 errhint("Both operands must have the same number of components.")));
}

/* Every embedding an aggregate (sum, avg, irec_gramian, ...) sees has the same dims. */
void
embedding_check_aggregated_dims(int state_dims, int value_dims)
{
	if (state_dims != value_dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different embedding dimensions %d and %d", state_dims, value_dims),
				 errhint("All embeddings aggregated together must have the same number of components.")));
}

void
embedding_check_finite_components(const float *x, int dims)
{
	/*
	 * First the sum of squares with the SIMD kernels: a NaN or an infinity
	 * makes it NaN or infinite, and so does a finite sum too large for
	 * float, which the loop below then clears.  The engines check every
	 * row they read this way (a scalar loop was 3% of a Citus epoch).
	 */
	if (isfinite(vec_norm_squared(x, (size_t) dims)))
		return;
	for (int k = 0; k < dims; k++)
	{
		if (isnan(x[k]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("NaN not allowed in embedding"),
					 errhint("Embedding components must be finite numbers.")));
		if (isinf(x[k]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("infinite value not allowed in embedding"),
					 errhint("Embedding components must be finite numbers.")));
	}
}

/* A result of embedding arithmetic or aggregation that does not fit real. */
void
embedding_overflow_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("value out of range: overflow"),
			 errhint("The result does not fit in real (about ±3.4e38); rescale the embeddings.")));
}

/* What to do about a codec error, for its hint. */
static const char *
status_hint(EmbeddingCodecStatus status)
{
	switch (status)
	{
		case EMBEDDING_OUT_OF_RANGE:
		case EMBEDDING_NOT_FINITE:
			return "Components must be finite and fit in real (about ±3.4e38).";
		case EMBEDDING_TOO_MANY:
			return "Use at most 16000 components.";
		case EMBEDDING_EMPTY:
			return "Write at least one component, like '[1]'.";
		default:
			return "Send the binary form embedding_send produces: int16 dimensions, int16 zero, then one float4 per dimension.";
	}
}

/* Map a codec status to an ERROR with a fitting SQLSTATE. */
static void
report_codec_error(EmbeddingCodecStatus status, const char *input)
{
	int			code;

	switch (status)
	{
		case EMBEDDING_OUT_OF_RANGE:
		case EMBEDDING_NOT_FINITE:
			code = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			break;
		case EMBEDDING_TOO_MANY:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case EMBEDDING_EMPTY:
			code = ERRCODE_DATA_EXCEPTION;
			break;
		case EMBEDDING_SYNTAX:
		case EMBEDDING_BAD_HEADER:
		case EMBEDDING_BAD_LENGTH:
		default:
			code = input ? ERRCODE_INVALID_TEXT_REPRESENTATION
				: ERRCODE_INVALID_BINARY_REPRESENTATION;
			break;
	}
	if (input && status == EMBEDDING_SYNTAX)
		ereport(ERROR,
				(errcode(code),
				 errmsg("invalid input syntax for type embedding: \"%.40s%s\"",
						input, strlen(input) > 40 ? "..." : ""),
				 errhint("Write an embedding as a bracketed list of numbers, like '[1,2.5,-3]'.")));
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", embedding_codec_status_text(status)),
			 errhint("%s", status_hint(status))));
}

PG_FUNCTION_INFO_V1(embedding_in);
Datum
embedding_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	float	   *buffer = palloc(sizeof(float) * EMBEDDING_MAX_DIMS);
	int			dims;
	size_t		error_offset;
	EmbeddingCodecStatus status;
	Embedding  *result;

	status = embedding_parse_text(text, buffer, &dims, &error_offset);
	if (status != EMBEDDING_OK)
		report_codec_error(status, text);
	result = embedding_new(dims);
	memcpy(result->x, buffer, sizeof(float) * dims);
	pfree(buffer);
	embedding_check_typmod(result, typmod);
	PG_RETURN_EMBEDDING(result);
}

/*
 * embedding_out: shortest decimal text that reads back as the same float4
 * (Ryu, as float4out with extra_float_digits > 0), so text round-trips.
 */
PG_FUNCTION_INFO_V1(embedding_out);
Datum
embedding_out(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING(0);
	char	   *buf = palloc((FLOAT_SHORTEST_DECIMAL_LEN + 1) * e->dims + 2);
	char	   *p = buf;

	*p++ = '[';
	for (int k = 0; k < e->dims; k++)
	{
		if (k > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(e->x[k], p);
	}
	*p++ = ']';
	*p = '\0';
	PG_FREE_IF_COPY(e, 0);
	PG_RETURN_CSTRING(buf);
}

PG_FUNCTION_INFO_V1(embedding_recv);
Datum
embedding_recv(PG_FUNCTION_ARGS)
{
	StringInfo	message = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	const unsigned char *data = (const unsigned char *) message->data + message->cursor;
	size_t		len = message->len - message->cursor;
	int			count = len >= EMBEDDING_WIRE_HEADER ? (int) (int16) ((data[0] << 8) | data[1]) : 0;
	int			dims;
	EmbeddingCodecStatus status;
	Embedding  *result;

	/*
	 * Decoded straight into the result, sized by the header's count (the
	 * decoder refuses a count out of range or disagreeing with the length
	 * before it writes anything), rather than into a buffer of the largest
	 * dims, 64 kB, allocated and freed for every row.
	 */
	result = embedding_new(count >= 1 && count <= EMBEDDING_MAX_DIMS ? count : 1);
	status = embedding_decode_binary(data, len, result->x, &dims);
	if (status != EMBEDDING_OK)
		report_codec_error(status, NULL);
	message->cursor = message->len;
	embedding_check_typmod(result, typmod);
	PG_RETURN_EMBEDDING(result);
}

PG_FUNCTION_INFO_V1(embedding_send);
Datum
embedding_send(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING(0);
	Size		bytes = EMBEDDING_WIRE_HEADER + sizeof(float) * e->dims;
	bytea	   *result = palloc(VARHDRSZ + bytes);

	SET_VARSIZE(result, VARHDRSZ + bytes);
	embedding_encode_binary(e->x, e->dims, (unsigned char *) VARDATA(result));
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(embedding_typmod_in);
Datum
embedding_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *modifiers = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *values;
	int			count;

	values = ArrayGetIntegerTypmods(modifiers, &count);
	if (count != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier"),
				 errhint("Write embedding(d) with one dimension count d.")));
	if (values[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type embedding must be at least 1"),
				 errhint("Declare the column as embedding(n) with n between 1 and 16000.")));
	if (values[0] > EMBEDDING_MAX_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type embedding cannot exceed %d",
						EMBEDDING_MAX_DIMS),
				 errhint("Declare the column as embedding(n) with n between 1 and 16000.")));
	PG_RETURN_INT32(values[0]);
}

PG_FUNCTION_INFO_V1(embedding_typmod_out);
Datum
embedding_typmod_out(PG_FUNCTION_ARGS)
{
	int32		typmod = PG_GETARG_INT32(0);

	PG_RETURN_CSTRING(typmod < 0 ? pstrdup("") : psprintf("(%d)", typmod));
}

/* embedding(embedding, typmod, explicit): the length coercion of embedding(d) */
PG_FUNCTION_INFO_V1(embedding_coerce);
Datum
embedding_coerce(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING(0);

	embedding_check_typmod(e, PG_GETARG_INT32(1));
	PG_RETURN_EMBEDDING(e);
}

/*
 * array_to_embedding: cast real[], double precision[], integer[] and
 * numeric[] to embedding.  One-dimensional, no NULLs, every value finite and
 * representable as float4.
 */
PG_FUNCTION_INFO_V1(array_to_embedding);
Datum
array_to_embedding(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	Embedding  *result;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be one-dimensional"),
				 errhint("Cast a single row of the array, such as a[1:1][:] flattened, instead.")));
	if (elemtype != FLOAT4OID && elemtype != FLOAT8OID &&
		elemtype != INT4OID && elemtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot cast an array of %s to embedding",
						format_type_be(elemtype)),
				 errhint("Cast from real[], double precision[], integer[] or numeric[].")));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign,
					  &elems, &nulls, &count);
	embedding_check_dims(count);
	result = embedding_new(count);
	for (int k = 0; k < count; k++)
	{
		double		value;

		if (nulls[k])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array must not contain nulls"),
					 errhint("Replace NULL elements, for example with coalesce(x, 0).")));
		switch (elemtype)
		{
			case FLOAT4OID:
				value = DatumGetFloat4(elems[k]);
				break;
			case FLOAT8OID:
				value = DatumGetFloat8(elems[k]);
				break;
			case INT4OID:
				value = DatumGetInt32(elems[k]);
				break;
			default:
				value = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
														   elems[k]));
				break;
		}
		if (isnan(value))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("NaN not allowed in embedding"),
					 errhint("Embedding components must be finite numbers.")));
		if (isinf(value) || fabs(value) > FLT_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value %g is out of range for an embedding component",
							value),
					 errhint("Components must fit in real (about ±3.4e38); rescale the values.")));
		result->x[k] = (float) value;
	}
	embedding_check_typmod(result, typmod);
	PG_RETURN_EMBEDDING(result);
}

static ArrayType *
embedding_to_array(const Embedding *e, Oid elemtype)
{
	Datum	   *elems = palloc(sizeof(Datum) * e->dims);

	for (int k = 0; k < e->dims; k++)
		elems[k] = elemtype == FLOAT4OID ? Float4GetDatum(e->x[k])
			: Float8GetDatum((double) e->x[k]);
	return construct_array(elems, e->dims, elemtype,
						   elemtype == FLOAT4OID ? 4 : 8,
						   FLOAT8PASSBYVAL || elemtype == FLOAT4OID,
						   elemtype == FLOAT4OID ? TYPALIGN_INT : TYPALIGN_DOUBLE);
}

PG_FUNCTION_INFO_V1(embedding_to_float4_array);
Datum
embedding_to_float4_array(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(embedding_to_array(PG_GETARG_EMBEDDING(0), FLOAT4OID));
}

PG_FUNCTION_INFO_V1(embedding_to_float8_array);
Datum
embedding_to_float8_array(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(embedding_to_array(PG_GETARG_EMBEDDING(0), FLOAT8OID));
}
