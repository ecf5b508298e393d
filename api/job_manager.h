/* job_manager.h -- the API server's jobs while it runs: a queue, worker threads that run
 * each job's plan through the scheduler (kiln_run_plan) with one slot pool shared by all
 * jobs, the live state of each job (its last event, a cached JSON view), and the event
 * streams waiting on it.
 *
 * Job states: "queued" -> "running" -> "succeeded" | "failed" | "cancelled" | "interrupted"
 * (the server stopped, or was killed, while the job was queued or running). A retry puts a
 * job that did not succeed back to "queued" with a fresh plan; the action cache skips what
 * had finished. Node states are the scheduler's ("waiting", "running", "succeeded",
 * "cached", "failed", "cancelled", "skipped") plus "interrupted".
 *
 * Ordering: every change is committed to the job store first, then announced (the cached
 * view is dropped and waiting event streams are resumed), so nothing is ever shown that a
 * crash could take back. */
#ifndef KILN_API_JOB_MANAGER_H
#define KILN_API_JOB_MANAGER_H

#include <stdint.h>
#include <jansson.h>
#include "job_store.h"
#include "metrics.h"
#include "registry.h"
#include "slot_pool.h"
#include "store.h"
#include "submission.h"

/* Extra error codes of this module (besides KILN_ENOTFOUND, KILN_EIO, ...). */
#define KILN_JM_ECONFLICT (-100) /* the job's state does not allow it (message says why) */
#define KILN_JM_ESTOPPING (-101) /* the server is shutting down                       */
#define KILN_JM_EINVALID (-102)  /* the stored graph no longer validates (diags filled) */

typedef struct kiln_job_manager kiln_job_manager;

typedef struct kiln_job_manager_config {
    const kiln_store *store;    /* borrowed: the CAS and action cache                 */
    const kiln_registry *reg;   /* borrowed: loaded plugins (read-only from here on)  */
    kiln_job_store *db;         /* borrowed                                           */
    kiln_api_metrics *metrics;  /* borrowed, may be NULL                              */
    kiln_api_slots *slots;      /* borrowed: the shared CPU/GPU budget                */
    const char *kiln_exe;       /* borrowed: the binary that runs `kiln exec-node`    */
    int max_jobs;               /* jobs running at once (worker threads), >= 1         */
    double grace_s;             /* SIGTERM -> SIGKILL delay for stopped nodes          */
    double keepalive_s;         /* event streams get a comment this often (0: 15 s)    */
    size_t view_cache_bytes;    /* cap on cached job views (0: 64 MiB)                 */
} kiln_job_manager_config;

/* Marks every job the store has as "queued" or "running" (left by a previous process) as
 * "interrupted" (nodes that had not finished become "interrupted" too), then starts the
 * workers. Returns NULL with err set on failure. *recovered_out (may be NULL) gets how
 * many jobs were marked. */
kiln_job_manager *kiln_job_manager_start(const kiln_job_manager_config *cfg, int *recovered_out, kiln_error *err);

/* Accepts a checked submission: a new job, committed as "queued", then queued. Takes
 * ownership of g and plan in every case. Writes the job id into id_out[40]. Returns 0,
 * KILN_JM_ESTOPPING, or KILN_EIO. */
int kiln_job_manager_submit(kiln_job_manager *m, const kiln_api_submission *sub, kiln_graph *g, kiln_plan *plan,
                            char id_out[40], kiln_error *err);

/* Cancels a job: a queued one becomes "cancelled" at once (*async_out = 0); a running one
 * is asked to stop (its nodes get SIGTERM, then SIGKILL) and ends "cancelled" shortly
 * (*async_out = 1). Returns 0, KILN_ENOTFOUND, KILN_JM_ECONFLICT (already ended), KILN_EIO. */
int kiln_job_manager_cancel(kiln_job_manager *m, const char *id, int *async_out, kiln_error *err);

/* Retries a job that failed, was cancelled or was interrupted: re-checks its stored graph,
 * resets its nodes and queues it again. Returns 0, KILN_ENOTFOUND, KILN_JM_ECONFLICT
 * (queued, running or succeeded), KILN_JM_EINVALID (diags say why), KILN_JM_ESTOPPING, or
 * KILN_EIO. */
int kiln_job_manager_retry(kiln_job_manager *m, const char *id, kiln_diags *diags, kiln_error *err);

/* The job as GET /v1/jobs/{id} returns it (kiln_job_store_get's document, compact JSON),
 * served from a cache that every change invalidates. Returns a malloc'd copy (length in
 * *len_out), or NULL with err: KILN_ENOTFOUND or KILN_EIO. */
char *kiln_job_manager_view(kiln_job_manager *m, const char *id, size_t *len_out, kiln_error *err);

/* Jobs queued and running in this process, and event streams open (any may be NULL). */
void kiln_job_manager_stats(kiln_job_manager *m, int *queued, int *running, int *streams);

/* --- event streams ------------------------------------------------------------------- */

/* One waiting stream, owned by its caller. The manager calls suspend() right after putting
 * it on a job's wait list and resume() when taking it off (a new event, a keep-alive tick,
 * shutdown), both under the manager's lock: they must only flip the stream's state (e.g.
 * MHD_suspend_connection / MHD_resume_connection) and never call back into the manager. */
typedef struct kiln_job_waiter {
    void (*suspend)(struct kiln_job_waiter *w);
    void (*resume)(struct kiln_job_waiter *w);
    void *user;
    /* private to the manager */
    struct kiln_job_waiter *next;
    int listed;
    int ping;
} kiln_job_waiter;

typedef struct kiln_job_watch kiln_job_watch;

/* Opens a watch on job `id` (held until kiln_job_watch_close). Returns NULL with err:
 * KILN_ENOTFOUND or KILN_EIO. */
kiln_job_watch *kiln_job_manager_watch(kiln_job_manager *m, const char *id, kiln_error *err);

typedef enum kiln_job_wait_result {
    KILN_JOB_WAIT_MORE,      /* events after `seen` exist: read them from the job store   */
    KILN_JOB_WAIT_SUSPENDED, /* nothing new: w is listed and suspend() was called         */
    KILN_JOB_WAIT_PING,      /* a keep-alive tick: send a comment, then wait again        */
    KILN_JOB_WAIT_END        /* the job ended (or the server is stopping) and `seen` is the
                                job's last event                                         */
} kiln_job_wait_result;

/* Decides what a stream that has sent every event up to `seen` does next (see above). */
kiln_job_wait_result kiln_job_watch_wait(kiln_job_watch *watch, int64_t seen, kiln_job_waiter *w);

/* Takes w off the wait list if it is there and releases the watch. */
void kiln_job_watch_close(kiln_job_watch *watch, kiln_job_waiter *w);

/* The id of the watched job (borrowed). */
const char *kiln_job_watch_id(const kiln_job_watch *watch);

/* --- shutdown ------------------------------------------------------------------------ */

/* Stops: refuses new jobs, marks queued ones "interrupted", and either cancels running
 * jobs (finish_running == 0; they end "interrupted") or lets them finish for up to
 * timeout_s seconds (then cancels them); joins the workers; ends every event stream
 * (resuming them so that they see KILN_JOB_WAIT_END). Idempotent. */
void kiln_job_manager_shutdown(kiln_job_manager *m, int finish_running, double timeout_s);

/* Frees everything (calls kiln_job_manager_shutdown first if needed). NULL is ignored. */
void kiln_job_manager_free(kiln_job_manager *m);

#endif
