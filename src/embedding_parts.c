/*
 * embedding_parts.c
 *		Embeddings from parts of others, and their signs as bits: the
 *		functions behind ||, subvector and binary_quantize.
 *
 * Every result is checked against the type's limits (1..16000 dims) before
 * anything is allocated, so no call can build an embedding the type itself
 * would refuse to read back.
 */
#include "postgres.h"

#include "utils/varbit.h"

#include "embedding.h"

/* ||: a's components followed by b's (dims add up, at most 16000) */
PG_FUNCTION_INFO_V1(embedding_concat);
Datum
embedding_concat(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *b = PG_GETARG_EMBEDDING(1);
	int			dims = a->dims + b->dims;
	Embedding  *result;

	if (dims > EMBEDDING_MAX_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("embedding cannot have more than %d dimensions", EMBEDDING_MAX_DIMS),
				 errdetail("The operands have %d and %d dimensions.", a->dims, b->dims),
				 errhint("Concatenate shorter embeddings, or cut them with subvector().")));
	result = embedding_new(dims);
	memcpy(result->x, a->x, sizeof(float) * a->dims);
	memcpy(result->x + a->dims, b->x, sizeof(float) * b->dims);
	PG_RETURN_EMBEDDING(result);
}

/*
 * subvector(e, start, count): components start .. start + count − 1,
 * 1-based as in pgvector.  Unlike pgvector, which clips the range to the
 * vector as substring() does, a range that is not inside the vector is an
 * error: a silently shorter embedding would only fail later, in an operator
 * or a typed column, far from the mistake.
 */
PG_FUNCTION_INFO_V1(embedding_subvector);
Datum
embedding_subvector(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING(0);
	int32		start = PG_GETARG_INT32(1);
	int32		count = PG_GETARG_INT32(2);
	Embedding  *result;

	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embedding must have at least 1 dimension"),
				 errdetail("subvector was asked for %d components.", count),
				 errhint("Pass a count of at least 1.")));
	/* start + count − 1 <= dims, written so that nothing overflows int32 */
	if (start < 1 || start > e->dims || count > e->dims - start + 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("subvector range %d .. %lld is outside the embedding's %d dimensions",
						start, (long long) start + count - 1, e->dims),
				 errhint("Components are numbered from 1; start + count - 1 must not exceed dims(e).")));
	result = embedding_new(count);
	memcpy(result->x, e->x + (start - 1), sizeof(float) * count);
	PG_RETURN_EMBEDDING(result);
}

/*
 * binary_quantize: bit k set when component k is positive (as pgvector), so
 * that bit_count(a # b) is the Hamming distance of two sign patterns.
 */
PG_FUNCTION_INFO_V1(embedding_binary_quantize);
Datum
embedding_binary_quantize(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING(0);
	VarBit	   *result = (VarBit *) palloc0(VARBITTOTALLEN(e->dims));
	bits8	   *out = VARBITS(result);

	SET_VARSIZE(result, VARBITTOTALLEN(e->dims));
	VARBITLEN(result) = e->dims;
	for (int k = 0; k < e->dims; k++)
		if (e->x[k] > 0.0f)
			out[k / BITS_PER_BYTE] |= (bits8) (0x80 >> (k % BITS_PER_BYTE));
	PG_RETURN_VARBIT_P(result);
}
