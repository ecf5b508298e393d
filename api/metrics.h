/* metrics.h -- counters and a latency histogram for GET /metrics (Prometheus text format
 * 0.0.4). Recording is lock-free (C11 atomics), so every HTTP thread and job worker may
 * record at once; rendering reads a consistent-enough snapshot (each number atomically). */
#ifndef KILN_API_METRICS_H
#define KILN_API_METRICS_H

#include <stddef.h>
#include <jansson.h>

typedef struct kiln_api_metrics kiln_api_metrics;

/* Metrics for the given routes, each named "METHOD PATH" (borrowed; they must outlive the
 * object), plus one implicit route "unmatched" at index nroutes. Series carry the labels
 * method="METHOD",route="PATH". Returns NULL when out of memory. */
kiln_api_metrics *kiln_api_metrics_new(const char *const *routes, size_t nroutes);

void kiln_api_metrics_free(kiln_api_metrics *m);

/* One finished HTTP request: its route index (nroutes for "unmatched"), status, and wall
 * time from its first byte handled to its last byte sent. */
void kiln_api_metrics_request(kiln_api_metrics *m, size_t route, unsigned status, double seconds);

/* One node instance ended: result is "run" (ran and succeeded), "cached" or "failed". */
void kiln_api_metrics_node(kiln_api_metrics *m, const char *result);

/* One job accepted (POST /v1/jobs or a retry). */
void kiln_api_metrics_job_accepted(kiln_api_metrics *m);

/* Extra gauges the caller knows at render time. */
typedef struct kiln_api_gauges {
    const json_t *jobs_by_state; /* {"succeeded": 3, ...} from the job store (may be NULL) */
    int jobs_queued, jobs_running;
    int threads_busy, threads_total, gpus_busy, gpus_total;
    int sse_streams;
    double uptime_s;
} kiln_api_gauges;

/* The whole exposition as text (malloc'd, caller frees; *len_out gets its length). */
char *kiln_api_metrics_render(kiln_api_metrics *m, const kiln_api_gauges *g, size_t *len_out);

#endif
