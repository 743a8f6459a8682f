/*
 * parallel.c
 *		Fork-join parallel_for with dynamic block scheduling (see parallel.h).
 */
#include "parallel.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#define PARALLEL_MAX_THREADS 64

typedef struct ParallelJob
{
	parallel_fn fn;
	void	   *context;
	size_t		n;
	size_t		grain;
	atomic_size_t next;			/* first item of the next unclaimed block */
	atomic_int	error;			/* first nonzero worker result */
	atomic_int	stop;			/* set once poll asked to stop */
	int			(*poll) (void *arg);	/* called by thread 0 between blocks */
	void	   *poll_arg;
} ParallelJob;

typedef struct ParallelWorker
{
	ParallelJob *job;
	int			thread;
} ParallelWorker;

static void
run_blocks(ParallelJob *job, int thread)
{
	for (;;)
	{
		size_t		begin;
		size_t		end;
		int			rc;

		if (atomic_load(&job->error) != 0 || atomic_load(&job->stop) != 0)
			return;
		begin = atomic_fetch_add(&job->next, job->grain);
		if (begin >= job->n)
			return;
		end = begin + job->grain < job->n ? begin + job->grain : job->n;
		rc = job->fn(job->context, begin, end, thread);
		if (rc != 0)
		{
			int			expected = 0;

			atomic_compare_exchange_strong(&job->error, &expected, rc);
			return;
		}
		if (thread == 0 && job->poll != NULL && job->poll(job->poll_arg) != 0)
			atomic_store(&job->stop, 1);
	}
}

static void *
worker_main(void *arg)
{
	ParallelWorker *worker = (ParallelWorker *) arg;

	run_blocks(worker->job, worker->thread);
	return NULL;
}

int
parallel_for(int threads, size_t n, size_t grain, parallel_fn fn, void *context)
{
	size_t		done;

	return parallel_for_polled(threads, n, grain, fn, context, NULL, NULL, &done);
}

int
parallel_for_polled(int threads, size_t n, size_t grain, parallel_fn fn, void *context,
					int (*poll) (void *arg), void *poll_arg, size_t *done)
{
	ParallelJob job;
	ParallelWorker workers[PARALLEL_MAX_THREADS];
	pthread_t	handles[PARALLEL_MAX_THREADS];
	int			started = 0;

	*done = 0;
	if (n == 0)
		return 0;
	if (grain == 0)
		grain = 1;
	if (threads < 1)
		threads = 1;
	if (threads > PARALLEL_MAX_THREADS)
		threads = PARALLEL_MAX_THREADS;
	if ((size_t) threads > (n + grain - 1) / grain)
		threads = (int) ((n + grain - 1) / grain);

	job.fn = fn;
	job.context = context;
	job.n = n;
	job.grain = grain;
	atomic_init(&job.next, 0);
	atomic_init(&job.error, 0);
	atomic_init(&job.stop, 0);
	job.poll = poll;
	job.poll_arg = poll_arg;

	if (threads > 1)
	{
		sigset_t	all;
		sigset_t	saved;

		/* new threads inherit the creator's mask: block everything for them */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &saved);
		for (int t = 1; t < threads; t++)
		{
			workers[t].job = &job;
			workers[t].thread = t;
			/* if a thread cannot start, the calling thread does its blocks */
			if (pthread_create(&handles[t], NULL, worker_main, &workers[t]) != 0)
				break;
			started = t;
		}
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	run_blocks(&job, 0);
	for (int t = 1; t <= started; t++)
		pthread_join(handles[t], NULL);
	/* every block claimed was finished: the claims past n are no items */
	*done = atomic_load(&job.next) < n ? atomic_load(&job.next) : n;
	return atomic_load(&job.error);
}

int
parallel_cpu_count(void)
{
	long		n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (int) n;
}
