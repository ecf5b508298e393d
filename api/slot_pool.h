/* slot_pool.h -- the machine's CPU-thread and GPU slots, shared by every job the API server
 * runs at once, plus the claims that make concurrent jobs compute a common action once.
 * It implements the runner's kiln_slot_pool (runner.h); every call is thread-safe and
 * never blocks for long (one mutex, held for a few instructions). */
#ifndef KILN_API_SLOT_POOL_H
#define KILN_API_SLOT_POOL_H

#include "runner.h"

typedef struct kiln_api_slots kiln_api_slots;

/* A pool of `threads` CPU threads (>= 1) and `gpus` GPUs (>= 0). Returns NULL when out of
 * memory. Release with kiln_api_slots_free once no run uses it. */
kiln_api_slots *kiln_api_slots_new(int threads, int gpus);

void kiln_api_slots_free(kiln_api_slots *p);

/* The table to put in kiln_run_options.pool (borrowed; valid while `p` lives). */
const kiln_slot_pool *kiln_api_slots_table(kiln_api_slots *p);

/* What is in use right now (for /metrics and /healthz). Any out pointer may be NULL. */
void kiln_api_slots_usage(kiln_api_slots *p, int *threads_busy, int *threads_total, int *gpus_busy,
                          int *gpus_total);

#endif
