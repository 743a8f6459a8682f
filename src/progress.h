/*
 * progress.h
 *		A running training, visible from other connections: one slot per
 *		backend in shared memory, read by irec_progress().  Needs irec in
 *		shared_preload_libraries; without it, reporting does nothing and
 *		irec_progress() says how to enable it.
 */
#ifndef IREC_PROGRESS_H
#define IREC_PROGRESS_H

#include "postgres.h"

/* From _PG_init: ask for the shared memory when preloaded. */
extern void progress_init(void);

/* A training starts (clears the backend's slot at the end of the transaction). */
extern void progress_begin(const char *model, const char *algorithm, int epochs);
extern void progress_phase(const char *phase);
/* validation: NaN when there is none */
extern void progress_epoch(int epochs_done, double loss, double validation);

#endif							/* IREC_PROGRESS_H */
