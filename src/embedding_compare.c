/*
 * embedding_compare.c
 *		Equality, order and hashing of embeddings: the functions behind
 *		= <> < <= > >= and the btree and hash operator classes, so that
 *		DISTINCT, GROUP BY, UNION, joins, UNIQUE and ORDER BY e work.
 *
 * The order is pgvector's (and PostgreSQL's arrays'): component by
 * component, then the shorter of two vectors with equal leading components
 * first (core/vecmath.c vec_compare).  Components are never NaN, so this is
 * a total order; −0 and +0 compare equal, and the hash agrees.
 */
#include "postgres.h"

#include "common/hashfn.h"

#include "core/vecmath.h"
#include "embedding.h"

static int
embedding_compare_args(FunctionCallInfo fcinfo)
{
	Embedding  *a = PG_GETARG_EMBEDDING(0);
	Embedding  *b = PG_GETARG_EMBEDDING(1);

	return vec_compare(a->x, a->dims, b->x, b->dims);
}

PG_FUNCTION_INFO_V1(embedding_cmp);
Datum
embedding_cmp(PG_FUNCTION_ARGS)
{
	int			order = embedding_compare_args(fcinfo);

	PG_RETURN_INT32(order < 0 ? -1 : order > 0 ? 1 : 0);
}

PG_FUNCTION_INFO_V1(embedding_lt);
Datum
embedding_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(embedding_compare_args(fcinfo) < 0);
}

PG_FUNCTION_INFO_V1(embedding_le);
Datum
embedding_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(embedding_compare_args(fcinfo) <= 0);
}

PG_FUNCTION_INFO_V1(embedding_eq);
Datum
embedding_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(embedding_compare_args(fcinfo) == 0);
}

PG_FUNCTION_INFO_V1(embedding_ne);
Datum
embedding_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(embedding_compare_args(fcinfo) != 0);
}

PG_FUNCTION_INFO_V1(embedding_ge);
Datum
embedding_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(embedding_compare_args(fcinfo) >= 0);
}

PG_FUNCTION_INFO_V1(embedding_gt);
Datum
embedding_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(embedding_compare_args(fcinfo) > 0);
}

/*
 * embedding_hash_seeded: a hash of the dims and the components' bits, −0
 * hashed as +0 because they are equal.  The sign is cleared on the bits, not
 * by a float comparison, which -fno-signed-zeros would let the compiler drop.
 */
static uint64
embedding_hash_seeded(const Embedding *e, uint64 seed)
{
	uint64		hash = hash_bytes_uint32_extended((uint32) e->dims, seed);

	for (int k = 0; k < e->dims; k++)
	{
		uint32		bits;

		memcpy(&bits, &e->x[k], sizeof(bits));
		if ((bits & 0x7FFFFFFFu) == 0)
			bits = 0;
		hash = hash_combine64(hash, hash_bytes_uint32_extended(bits, seed));
	}
	return hash;
}

PG_FUNCTION_INFO_V1(embedding_hash);
Datum
embedding_hash(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING(0);

	PG_RETURN_INT32((int32) embedding_hash_seeded(e, 0));
}

/* Support function 2 of the hash class (hash partitioning asks for it). */
PG_FUNCTION_INFO_V1(embedding_hash_extended);
Datum
embedding_hash_extended(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING(0);

	PG_RETURN_INT64((int64) embedding_hash_seeded(e, (uint64) PG_GETARG_INT64(1)));
}
