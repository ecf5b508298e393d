/* runner.h -- the scheduler: runs a plan's instances, each in its own `kiln exec-node`
 * child, in parallel within CPU-thread slots, serving deterministic ops from the action
 * cache, with per-node timeouts and retries, fail-fast or keep-going, and cancellation. */
#ifndef KILN_RUNNER_H
#define KILN_RUNNER_H

#include <signal.h>
#include <stddef.h>
#include <jansson.h>
#include "plan.h"
#include "store.h"

typedef enum kiln_node_state {
    KILN_NODE_WAITING = 0,
    KILN_NODE_RUNNING,
    KILN_NODE_SUCCEEDED,
    KILN_NODE_CACHED,
    KILN_NODE_FAILED,
    KILN_NODE_CANCELLED,
    KILN_NODE_SKIPPED /* an input failed, or fail-fast stopped the run */
} kiln_node_state;

/* "waiting", "running", "succeeded", "cached", "failed", "cancelled", "skipped". */
const char *kiln_node_state_name(kiln_node_state s);

/* What happened to one instance. */
typedef struct kiln_node_outcome {
    kiln_node_state state;
    char key[65];       /* action key; "" when its inputs never became available        */
    json_t *outputs;    /* owned ref or NULL: {"port": {"digest", "size", "file_name", "type"}} */
    json_t *metrics;    /* owned ref or NULL: {"name": {"value", "step"}}                */
    char log_digest[65];/* the log artifact; "" when none                                */
    double started;     /* epoch seconds of the last attempt's start; 0 when never run   */
    double duration_s;  /* wall time of the last attempt (of the original run when cached) */
    int attempts;       /* times it was started in this run                              */
    char *error;        /* owned or NULL: why it failed ("killed by signal 11 (SIGSEGV)") */
} kiln_node_outcome;

typedef void (*kiln_event_fn)(const json_t *event, void *user);

/* An optional budget shared by several runs in one process (the API server runs many jobs
 * at once). Every function is called from the run's own thread and must never block.
 *  try_acquire: take `threads` CPU threads and, when want_gpu, one GPU (its index to
 *               *gpu_out, else *gpu_out = -1). Returns 1 when taken, 0 when not now.
 *  release:     give back what try_acquire took (threads, and gpu when >= 0).
 *  claim:       (may be NULL) ask to compute the cacheable action `key`. Returns 1 when
 *               this run may compute it, 0 while another run is computing it: the node
 *               then waits and is served from the cache when that computation succeeds
 *               (or claims it again when it did not), so concurrent runs with a common
 *               prefix compute it once.
 *  unclaim:     (with claim) the node holding `key` ended; its cache record, if any, is
 *               written already. */
typedef struct kiln_slot_pool {
    int (*try_acquire)(void *user, int threads, int want_gpu, int *gpu_out);
    void (*release)(void *user, int threads, int gpu);
    int (*claim)(void *user, const char *key);
    void (*unclaim)(void *user, const char *key);
    void *user;
} kiln_slot_pool;

typedef struct kiln_run_options {
    int jobs;                        /* CPU-thread slots (>= 1)                          */
    int gpus;                        /* GPU slots; ops flagged NEEDS_GPU take one each   */
    int no_cache;                    /* do not read the action cache (still writes it)   */
    int fail_fast;                   /* stop scheduling and cancel running on a failure  */
    double grace_s;                  /* SIGTERM -> SIGKILL delay (default 5 when 0)     */
    const char *kiln_exe;            /* the kiln binary to run exec-node with            */
    const char *job;                 /* job id put in every event                        */
    kiln_event_fn on_event;          /* may be NULL                                      */
    void *user;
    volatile sig_atomic_t *cancel;   /* set non-zero (from a signal handler) to cancel   */
    const kiln_slot_pool *pool;      /* optional (NULL: none): a budget shared with other
                                        runs, on top of `jobs` and `gpus`; when set, GPU
                                        indices come from the pool                       */
} kiln_run_options;

typedef struct kiln_run {
    kiln_node_outcome *nodes;        /* owned: one per plan instance, same order          */
    size_t nnodes;
    double started, finished;
    int cancelled;                   /* the run was cancelled                            */
} kiln_run;

/* Runs the plan. Fills `out` (release with kiln_run_free) even on failure. Returns 0 when
 * every instance succeeded or was cached, 1 when some failed or were skipped,
 * KILN_ECANCELLED when cancelled, or another negative code (err set) when the run could not
 * be set up. Never leaves a child process behind. */
int kiln_run_plan(const kiln_plan *plan, const kiln_store *store, const kiln_run_options *opt,
                  kiln_run *out, kiln_error *err);

void kiln_run_free(kiln_run *run);

/* A new job id "r-YYYYMMDD-HHMMSS-xxxxxx" (UTC + random) into buf[40]. */
void kiln_job_id_new(char buf[40]);

#endif
