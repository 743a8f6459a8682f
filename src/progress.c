/*
 * progress.c
 *		Training progress in shared memory (see progress.h).
 *
 * One slot per PGPROC, written only by its backend under a per-slot
 * change counter (odd while a write is under way, as pgstat's backend
 * status does), so readers copy a consistent slot without a lock and a
 * training never waits for a reader.  The slot is cleared when the
 * backend's transaction ends, committed or not, so a failed or cancelled
 * training disappears from irec_progress().
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "progress.h"

typedef struct ProgressSlot
{
	pg_atomic_uint32 changes;	/* odd while the owner writes */
	int32		pid;			/* 0: free */
	Oid			role;			/* who trains: others see the row as pg_stat_activity shows queries */
	char		model[NAMEDATALEN * 2];
	char		algorithm[32];
	char		phase[32];
	int32		epoch;			/* epochs done */
	int32		epochs;			/* planned */
	double		loss;
	double		validation;
	TimestampTz started;
	TimestampTz epochs_started;	/* when the first epoch began */
	TimestampTz updated;
} ProgressSlot;

static ProgressSlot *slots = NULL;
static int	n_slots = 0;
static bool callback_registered = false;
static shmem_request_hook_type previous_request_hook = NULL;
static shmem_startup_hook_type previous_startup_hook = NULL;

static int
slot_count(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS;
}

static void
progress_request(void)
{
	if (previous_request_hook)
		previous_request_hook();
	RequestAddinShmemSpace(mul_size(sizeof(ProgressSlot), slot_count()));
}

static void
progress_startup(void)
{
	bool		found;

	if (previous_startup_hook)
		previous_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	slots = ShmemInitStruct("irec training progress", mul_size(sizeof(ProgressSlot), slot_count()), &found);
	if (!found)
	{
		memset(slots, 0, mul_size(sizeof(ProgressSlot), slot_count()));
		for (int i = 0; i < slot_count(); i++)
			pg_atomic_init_u32(&slots[i].changes, 0);
	}
	n_slots = slot_count();
	LWLockRelease(AddinShmemInitLock);
}

void
progress_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	previous_request_hook = shmem_request_hook;
	shmem_request_hook = progress_request;
	previous_startup_hook = shmem_startup_hook;
	shmem_startup_hook = progress_startup;
}

static ProgressSlot *
my_slot(void)
{
	if (slots == NULL || MyProc == NULL || MyProc->pgprocno >= n_slots)
		return NULL;
	return &slots[MyProc->pgprocno];
}

static void
write_begin(ProgressSlot *slot)
{
	pg_atomic_fetch_add_u32(&slot->changes, 1);
	pg_write_barrier();
}

static void
write_end(ProgressSlot *slot)
{
	pg_write_barrier();
	pg_atomic_fetch_add_u32(&slot->changes, 1);
}

static void
progress_clear(XactEvent event, void *arg)
{
	ProgressSlot *slot = my_slot();

	if (slot == NULL || slot->pid == 0)
		return;
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	write_begin(slot);
	slot->pid = 0;
	write_end(slot);
}

void
progress_begin(const char *model, const char *algorithm, int epochs)
{
	ProgressSlot *slot = my_slot();
	TimestampTz now = GetCurrentTimestamp();

	if (slot == NULL)
		return;
	if (!callback_registered)
	{
		RegisterXactCallback(progress_clear, NULL);
		callback_registered = true;
	}
	write_begin(slot);
	slot->pid = MyProcPid;
	slot->role = GetUserId();
	strlcpy(slot->model, model, sizeof(slot->model));
	strlcpy(slot->algorithm, algorithm, sizeof(slot->algorithm));
	strlcpy(slot->phase, "loading", sizeof(slot->phase));
	slot->epoch = 0;
	slot->epochs = epochs;
	slot->loss = NAN;
	slot->validation = NAN;
	slot->started = slot->updated = now;
	slot->epochs_started = 0;
	write_end(slot);
}

void
progress_phase(const char *phase)
{
	ProgressSlot *slot = my_slot();

	if (slot == NULL || slot->pid == 0)
		return;
	write_begin(slot);
	strlcpy(slot->phase, phase, sizeof(slot->phase));
	slot->updated = GetCurrentTimestamp();
	if (strcmp(phase, "training") == 0 && slot->epochs_started == 0)
		slot->epochs_started = slot->updated;
	write_end(slot);
}

void
progress_epoch(int epochs_done, double loss, double validation)
{
	ProgressSlot *slot = my_slot();

	if (slot == NULL || slot->pid == 0)
		return;
	write_begin(slot);
	slot->epoch = epochs_done;
	slot->loss = loss;
	slot->validation = validation;
	slot->updated = GetCurrentTimestamp();
	write_end(slot);
}

PG_FUNCTION_INFO_V1(irec_progress);
Datum
irec_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz now = GetCurrentTimestamp();

	if (slots == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("irec_progress needs irec in shared_preload_libraries"),
				 errhint("Add irec to shared_preload_libraries in postgresql.conf and restart the server.")));
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n_slots; i++)
	{
		ProgressSlot copy;
		Datum		values[10];
		bool		nulls[10] = {0};
		double		elapsed;
		uint32		before;
		int			tries = 0;

		/* a consistent copy: the counter even and unchanged across the copy */
		for (;;)
		{
			before = pg_atomic_read_u32(&slots[i].changes);
			pg_read_barrier();
			memcpy(&copy, &slots[i], sizeof(copy));
			pg_read_barrier();
			if ((before & 1) == 0 && before == pg_atomic_read_u32(&slots[i].changes))
				break;
			if (++tries > 1000)
				break;
			CHECK_FOR_INTERRUPTS();
		}
		if (copy.pid == 0 || (before & 1) != 0)
			continue;
		if (!has_privs_of_role(GetUserId(), copy.role) &&
			!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
			continue;
		elapsed = (double) (now - copy.started) / USECS_PER_SEC;
		values[0] = Int32GetDatum(copy.pid);
		values[1] = CStringGetTextDatum(copy.model);
		values[2] = CStringGetTextDatum(copy.algorithm);
		values[3] = CStringGetTextDatum(copy.phase);
		values[4] = Int32GetDatum(copy.epoch);
		values[5] = Int32GetDatum(copy.epochs);
		values[6] = Float8GetDatum(copy.loss);
		nulls[6] = isnan(copy.loss);
		values[7] = Float8GetDatum(copy.validation);
		nulls[7] = isnan(copy.validation);
		values[8] = Float8GetDatum(elapsed);
		/* seconds left: the mean epoch so far times the epochs to go */
		if (copy.epoch > 0 && copy.epochs_started != 0)
			values[9] = Float8GetDatum((double) (copy.updated - copy.epochs_started) / USECS_PER_SEC /
									   copy.epoch * (copy.epochs - copy.epoch));
		else
			nulls[9] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
