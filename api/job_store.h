/* job_store.h -- the API server's jobs, node states and events, in SQLite (WAL mode).
 *
 * Tables (one database file, $KILN_HOME/api/jobs.db by default):
 *   jobs(seq INTEGER PRIMARY KEY, id TEXT UNIQUE, state TEXT, labels TEXT, created REAL,
 *        data TEXT, graph TEXT, path TEXT, last_event INTEGER)
 *        data: the job document {"id", "name", "labels", "state", "created", "started",
 *              "finished", "error", "runs", "instances"}; graph: the submitted graph (JSON
 *              text); path: the name it was validated under (relative input files resolve
 *              against its directory); last_event: the newest event's seq
 *   nodes(job TEXT, idx INTEGER, data TEXT)   one row per plan instance (the node document)
 *   events(job TEXT, seq INTEGER, data TEXT)  every event of the job, seq 1, 2, ... (DESIGN's
 *                                             event format, compact JSON)
 * Every change is one transaction: it is committed (durable against a crash of the process;
 * with sync_full also against an OS crash) before the call returns, so callers announce
 * only what is committed. All functions are thread-safe: writes go through one connection
 * under a mutex, reads through a small pool of read connections (WAL lets them run while a
 * write is in progress). */
#ifndef KILN_API_JOB_STORE_H
#define KILN_API_JOB_STORE_H

#include <stdint.h>
#include <jansson.h>
#include "kiln/plugin.h"

typedef struct kiln_job_store kiln_job_store;

/* Opens (creating it and its directory as needed) the database at `path`. sync_full
 * selects PRAGMA synchronous=FULL (fsync on every commit) over NORMAL. Returns 0 and *out,
 * or KILN_EIO with err naming the file and SQLite's message. */
int kiln_job_store_open(const char *path, int sync_full, kiln_job_store **out, kiln_error *err);

/* Closes every connection (the last one checkpoints the WAL). NULL is ignored. */
void kiln_job_store_close(kiln_job_store *st);

/* Inserts a new job: its document (`doc`, must hold "id" and "state"), the submitted graph
 * text and path, its node documents (array, in plan order) and its first event. Writes the
 * event's seq to *seq_out. Returns 0, KILN_EINVAL when the id exists already (the caller
 * picks another), or KILN_EIO. All borrowed. */
int kiln_job_store_create(kiln_job_store *st, const json_t *doc, const char *graph_text, const char *path,
                          const json_t *nodes, const json_t *event, int64_t *seq_out, kiln_error *err);

/* One change of job `id`, in one transaction: the new job document (or NULL: unchanged),
 * node document number `node_idx` (or node NULL: none), and an event appended (or NULL).
 * *seq_out (may be NULL) gets the event's seq, or the current last seq when no event.
 * Returns 0, KILN_ENOTFOUND, or KILN_EIO. */
int kiln_job_store_update(kiln_job_store *st, const char *id, const json_t *doc, long node_idx, const json_t *node,
                          const json_t *event, int64_t *seq_out, kiln_error *err);

/* Like kiln_job_store_update, but replaces every node document with `nodes` (a retry
 * starts from a fresh plan). */
int kiln_job_store_reset(kiln_job_store *st, const char *id, const json_t *doc, const json_t *nodes,
                         const json_t *event, int64_t *seq_out, kiln_error *err);

/* The job as the API shows it: its document plus "last_event", "counts" (instances by node
 * state) and "nodes" (array). New reference, or NULL: KILN_ENOTFOUND or KILN_EIO in err. */
json_t *kiln_job_store_get(kiln_job_store *st, const char *id, kiln_error *err);

/* The submitted graph text and its path (both malloc'd, caller frees). Returns 0,
 * KILN_ENOTFOUND or KILN_EIO. */
int kiln_job_store_graph(kiln_job_store *st, const char *id, char **graph_out, char **path_out, kiln_error *err);

/* Calls fn(seq, text, len, user) for up to `limit` events of job `id` with seq > after, in
 * order; stops early when fn returns non-zero. Returns the number delivered, or KILN_EIO. */
int kiln_job_store_events(kiln_job_store *st, const char *id, int64_t after, int limit,
                          int (*fn)(int64_t seq, const char *text, size_t len, void *user), void *user,
                          kiln_error *err);

/* A page of job documents, newest first: state (or NULL: any); labels (object of strings
 * that must all match, or NULL); at most `limit`; only jobs older than cursor `before`
 * (0: from the newest). Returns {"jobs": [...], "next": cursor or null}, or NULL with err. */
json_t *kiln_job_store_list(kiln_job_store *st, const char *state, const json_t *labels, int limit, int64_t before,
                            kiln_error *err);

/* Number of jobs per state: {"succeeded": 3, ...}. New reference or NULL with err. */
json_t *kiln_job_store_counts(kiln_job_store *st, kiln_error *err);

/* The ids of jobs in any of the given states (NULL-terminated list). New array or NULL. */
json_t *kiln_job_store_ids_in_state(kiln_job_store *st, const char *const *states, kiln_error *err);

#endif
