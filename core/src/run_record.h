/* run_record.h -- what a run did, kept under $KILN_HOME/runs/<job>.json (and runs/LAST,
 * holding the newest job id), so `kiln show NODE` and `kiln get NODE` find results later.
 * Record: {"job", "graph", "graph_name", "started", "finished",
 *          "state": "succeeded|failed|cancelled",
 *          "instances": [{"name", "node", "op", "state", "key", "outputs", "log",
 *                         "duration_s", "attempts", "error", "metrics", "sweep"}]} */
#ifndef KILN_RUN_RECORD_H
#define KILN_RUN_RECORD_H

#include <jansson.h>
#include "plan.h"
#include "runner.h"
#include "store.h"

/* Builds the record of a finished run (new reference). */
json_t *kiln_run_record_new(const kiln_plan *plan, const kiln_run *run, const char *job,
                            const char *graph_path);

/* Saves it atomically as runs/<job>.json and points runs/LAST at it. */
int kiln_run_record_save(const kiln_store *store, const json_t *record, kiln_error *err);

/* Loads runs/<job>.json, or the newest run when job is NULL. New reference or NULL with err
 * set ("no runs yet in HOME" / "no run 'x'"). */
json_t *kiln_run_record_load(const kiln_store *store, const char *job, kiln_error *err);

/* Finds an instance by exact name, or by node name when the node has exactly one instance.
 * Returns a borrowed object or NULL; on ambiguity (a swept node) writes the candidates to
 * err. */
const json_t *kiln_run_record_find(const json_t *record, const char *name, kiln_error *err);

#endif
