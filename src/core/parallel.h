/*
 * parallel.h
 *		A minimal fork-join "parallel for" over index ranges.
 *
 * Threads live only for the duration of one call (DESIGN "Parallelism inside
 * one backend"): they are created with every signal blocked, so PostgreSQL's
 * handlers only ever run on the backend's main thread, they call nothing but
 * the worker function, and they are joined before parallel_for returns.  The
 * caller chunks long work and polls for cancellation between calls.
 */
#ifndef IREC_PARALLEL_H
#define IREC_PARALLEL_H

#include <stddef.h>

/*
 * Worker: process items [begin, end) on thread number `thread`
 * (0 .. threads-1), which indexes per-thread scratch space.  Return 0 on
 * success or a nonzero error code, which stops the remaining work.
 */
typedef int (*parallel_fn) (void *context, size_t begin, size_t end, int thread);

/*
 * parallel_for: run fn over [0, n) in blocks of `grain` items handed out
 * dynamically to `threads` threads (the calling thread is one of them).
 * Which thread handles which block varies, so fn must make each item's
 * result independent of the thread that computes it; then the result is
 * deterministic for any thread count.  Returns the first nonzero code any
 * worker returned, else 0.  If a thread cannot be started, the calling thread
 * does its share.
 */
int			parallel_for(int threads, size_t n, size_t grain, parallel_fn fn,
						 void *context);

/*
 * parallel_for_polled: parallel_for, and the calling thread calls
 * poll(poll_arg) after each of its blocks; once that returns nonzero no
 * thread starts another block.  Blocks are claimed in order and every
 * claimed block is finished, so the items done are a prefix of [0, n):
 * *done receives its end (n when nothing stopped the loop).  This is how a
 * caller that must act on a signal between blocks (PostgreSQL's interrupts
 * are served on the main thread only) runs one loop instead of many short
 * ones, each of which would wait for its slowest thread.
 */
int			parallel_for_polled(int threads, size_t n, size_t grain, parallel_fn fn,
								void *context, int (*poll) (void *arg), void *poll_arg,
								size_t *done);

/* Number of online CPUs (at least 1). */
int			parallel_cpu_count(void);

#endif							/* IREC_PARALLEL_H */
