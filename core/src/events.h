/* events.h -- the one event format (DESIGN.md), shared by `kiln run --json`, exec-node's
 * pipe, the REST event stream and the job store:
 *   {"ts": 1763900000.123, "job": "r-...", "node": "train[lr=0.05]", "type": "state", ...}
 * type "state":    "state": "waiting|running|succeeded|cached|failed|cancelled|skipped",
 *                  plus "error", "signal", "duration_s", "outputs", "log" where known
 * type "progress": "done", "total", "unit"
 * type "metric":   "name", "value", "step"
 * type "log":      "level", "message"
 * type "result":   exec-node's last word to its parent: "status": "ok|failed|cancelled",
 *                  "error", "outputs": {"port": {"digest", "size", "file_name", "type"}},
 *                  "metrics": {"name": {"value", "step"}}  */
#ifndef KILN_EVENTS_H
#define KILN_EVENTS_H

#include <jansson.h>

/* A new event object with ts, type, and job/node when non-NULL. Caller owns it. */
json_t *kiln_event_new(const char *type, const char *job, const char *node);

/* Writes the event as one compact JSON line to fd (a single write(2) when it fits in
 * PIPE_BUF, so lines from one writer never interleave). Returns 0 or -1 (errno set). */
int kiln_event_write_fd(int fd, const json_t *event);

#endif
