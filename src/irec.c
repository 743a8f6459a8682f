/*
 * irec.c
 *		Module entry point of the irec extension.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init: called once per backend when the library is loaded.
 */
void
_PG_init(void)
{
}
