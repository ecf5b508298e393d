/* metrics.c -- Prometheus counters and histograms (see metrics.h).
 *
 * Requests are counted per (route, status class slot): statuses map to a fixed table of
 * the codes this server sends, anything else to "other". Latency is one histogram per
 * route with fixed buckets (seconds). */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/plugin.h"

static const unsigned status_codes[] = {200, 201, 202, 204, 206, 304, 400, 401, 403, 404,
                                        405, 408, 409, 413, 416, 422, 429, 500, 503};
#define NSTATUS (sizeof status_codes / sizeof status_codes[0] + 1) /* + other */

static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5, 10.0};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

typedef struct route_metrics {
    atomic_uint_fast64_t by_status[NSTATUS];
    atomic_uint_fast64_t bucket[NBUCKETS]; /* non-cumulative; summed when rendered */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_ns;
} route_metrics;

struct kiln_api_metrics {
    const char *const *routes;
    size_t nroutes;
    route_metrics *per_route; /* nroutes + 1 */
    atomic_uint_fast64_t nodes_run, nodes_cached, nodes_failed, jobs_accepted;
};

kiln_api_metrics *kiln_api_metrics_new(const char *const *routes, size_t nroutes) {
    kiln_api_metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->routes = routes;
    m->nroutes = nroutes;
    m->per_route = calloc(nroutes + 1, sizeof *m->per_route);
    if (!m->per_route) {
        free(m);
        return NULL;
    }
    return m; /* calloc'd zeroes are valid initial atomic values on this platform */
}

void kiln_api_metrics_free(kiln_api_metrics *m) {
    if (!m) return;
    free(m->per_route);
    free(m);
}

static size_t status_slot(unsigned status) {
    for (size_t i = 0; i < NSTATUS - 1; i++)
        if (status_codes[i] == status) return i;
    return NSTATUS - 1;
}

void kiln_api_metrics_request(kiln_api_metrics *m, size_t route, unsigned status, double seconds) {
    if (!m) return;
    if (route > m->nroutes) route = m->nroutes;
    route_metrics *r = &m->per_route[route];
    atomic_fetch_add_explicit(&r->by_status[status_slot(status)], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKETS && seconds > buckets[b]) b++;
    if (b < NBUCKETS) atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
    if (seconds < 0) seconds = 0;
    atomic_fetch_add_explicit(&r->sum_ns, (uint_fast64_t)(seconds * 1e9), memory_order_relaxed);
}

void kiln_api_metrics_node(kiln_api_metrics *m, const char *result) {
    if (!m || !result) return;
    if (strcmp(result, "run") == 0) atomic_fetch_add(&m->nodes_run, 1);
    else if (strcmp(result, "cached") == 0) atomic_fetch_add(&m->nodes_cached, 1);
    else if (strcmp(result, "failed") == 0) atomic_fetch_add(&m->nodes_failed, 1);
}

void kiln_api_metrics_job_accepted(kiln_api_metrics *m) {
    if (m) atomic_fetch_add(&m->jobs_accepted, 1);
}

/* A growable text buffer; out of memory aborts (the exposition is small). */
typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) KILN_PRINTF(2, 3);

static void put(buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->data && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 8192;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) abort();
        b->data = d;
        b->cap = cap;
    }
}

/* Writes method="M",route="P" for route r into out. */
static const char *route_labels(const kiln_api_metrics *m, size_t r, char *out, size_t len) {
    if (r >= m->nroutes) {
        snprintf(out, len, "method=\"\",route=\"unmatched\"");
        return out;
    }
    const char *name = m->routes[r];
    const char *sp = strchr(name, ' ');
    if (!sp) snprintf(out, len, "method=\"\",route=\"%s\"", name);
    else snprintf(out, len, "method=\"%.*s\",route=\"%s\"", (int)(sp - name), name, sp + 1);
    return out;
}

char *kiln_api_metrics_render(kiln_api_metrics *m, const kiln_api_gauges *g, size_t *len_out) {
    buf b = {0};
    put(&b, "# HELP kiln_jobs Jobs in the job store by state.\n# TYPE kiln_jobs gauge\n");
    static const char *const states[] = {"queued", "running", "succeeded", "failed", "cancelled", "interrupted"};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        put(&b, "kiln_jobs{state=\"%s\"} %lld\n", states[i],
            (long long)json_integer_value(json_object_get(g->jobs_by_state, states[i])));
    put(&b, "# HELP kiln_jobs_active Jobs this server process is running or has queued.\n"
            "# TYPE kiln_jobs_active gauge\n"
            "kiln_jobs_active{state=\"queued\"} %d\nkiln_jobs_active{state=\"running\"} %d\n",
        g->jobs_queued, g->jobs_running);
    put(&b, "# HELP kiln_jobs_accepted_total Jobs accepted (submitted or retried) since start.\n"
            "# TYPE kiln_jobs_accepted_total counter\nkiln_jobs_accepted_total %llu\n",
        (unsigned long long)atomic_load(&m->jobs_accepted));
    put(&b, "# HELP kiln_nodes_total Node instances ended since start, by result.\n"
            "# TYPE kiln_nodes_total counter\n"
            "kiln_nodes_total{result=\"run\"} %llu\nkiln_nodes_total{result=\"cached\"} %llu\n"
            "kiln_nodes_total{result=\"failed\"} %llu\n",
        (unsigned long long)atomic_load(&m->nodes_run), (unsigned long long)atomic_load(&m->nodes_cached),
        (unsigned long long)atomic_load(&m->nodes_failed));
    put(&b, "# HELP kiln_slots_busy CPU-thread and GPU slots in use by running nodes.\n"
            "# TYPE kiln_slots_busy gauge\n"
            "kiln_slots_busy{kind=\"cpu\"} %d\nkiln_slots_busy{kind=\"gpu\"} %d\n"
            "# HELP kiln_slots_total CPU-thread and GPU slots of this server.\n# TYPE kiln_slots_total gauge\n"
            "kiln_slots_total{kind=\"cpu\"} %d\nkiln_slots_total{kind=\"gpu\"} %d\n",
        g->threads_busy, g->gpus_busy, g->threads_total, g->gpus_total);
    put(&b, "# HELP kiln_event_streams Open event streams (GET /v1/jobs/{id}/events).\n"
            "# TYPE kiln_event_streams gauge\nkiln_event_streams %d\n", g->sse_streams);
    put(&b, "# HELP kiln_uptime_seconds Seconds since the server started.\n# TYPE kiln_uptime_seconds gauge\n"
            "kiln_uptime_seconds %.3f\n", g->uptime_s);

    put(&b, "# HELP kiln_http_requests_total HTTP requests by route and status.\n"
            "# TYPE kiln_http_requests_total counter\n");
    for (size_t r = 0; r <= m->nroutes; r++) {
        char name[160];
        route_labels(m, r, name, sizeof name);
        for (size_t s = 0; s < NSTATUS; s++) {
            uint_fast64_t n = atomic_load_explicit(&m->per_route[r].by_status[s], memory_order_relaxed);
            if (!n) continue;
            if (s < NSTATUS - 1)
                put(&b, "kiln_http_requests_total{%s,status=\"%u\"} %llu\n", name, status_codes[s],
                    (unsigned long long)n);
            else
                put(&b, "kiln_http_requests_total{%s,status=\"other\"} %llu\n", name, (unsigned long long)n);
        }
    }
    put(&b, "# HELP kiln_http_request_duration_seconds HTTP request latency by route.\n"
            "# TYPE kiln_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= m->nroutes; r++) {
        const route_metrics *rm = &m->per_route[r];
        uint_fast64_t count = atomic_load_explicit(&rm->count, memory_order_relaxed);
        if (!count) continue;
        char name[160];
        route_labels(m, r, name, sizeof name);
        uint_fast64_t cum = 0;
        for (size_t k = 0; k < NBUCKETS; k++) {
            cum += atomic_load_explicit(&rm->bucket[k], memory_order_relaxed);
            put(&b, "kiln_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", name, buckets[k],
                (unsigned long long)cum);
        }
        put(&b, "kiln_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", name,
            (unsigned long long)count);
        put(&b, "kiln_http_request_duration_seconds_sum{%s} %.6f\n", name,
            (double)atomic_load_explicit(&rm->sum_ns, memory_order_relaxed) / 1e9);
        put(&b, "kiln_http_request_duration_seconds_count{%s} %llu\n", name, (unsigned long long)count);
    }
    *len_out = b.len;
    return b.data;
}
