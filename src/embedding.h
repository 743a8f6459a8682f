/*
 * embedding.h
 *		The embedding type's on-disk layout and helpers shared by the glue.
 */
#ifndef IREC_EMBEDDING_H
#define IREC_EMBEDDING_H

#include "postgres.h"

#include "fmgr.h"

#include "core/embedding_codec.h"

/*
 * On-disk and in-memory form: a varlena with the number of components and
 * the components themselves.  The layout is frozen: tables store it.
 */
typedef struct Embedding
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int16		dims;			/* number of components, 1..16000 */
	int16		unused;			/* reserved, always zero */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} Embedding;

#define EMBEDDING_SIZE(dims) (offsetof(Embedding, x) + sizeof(float) * (dims))
#define DatumGetEmbedding(d) ((Embedding *) PG_DETOAST_DATUM(d))
#define PG_GETARG_EMBEDDING(n) DatumGetEmbedding(PG_GETARG_DATUM(n))
#define PG_RETURN_EMBEDDING(e) PG_RETURN_POINTER(e)

extern Embedding *embedding_new(int dims);
extern void embedding_check_dims(int dims);
extern void embedding_check_typmod(const Embedding *e, int32 typmod);
extern void embedding_check_same_dims(const Embedding *a, const Embedding *b);
extern void embedding_check_aggregated_dims(int state_dims, int value_dims);
extern void embedding_check_finite_components(const float *x, int dims);
extern void embedding_overflow_error(void) pg_attribute_noreturn();

#endif							/* IREC_EMBEDDING_H */
