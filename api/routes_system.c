/* routes_system.c -- GET /healthz, GET /metrics, GET /v1/plugins, POST /v1/validate. */
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "routes.h"
#include "submission.h"

#ifndef KILN_VERSION
#define KILN_VERSION "unknown"
#endif

void kiln_route_healthz(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    (void)req;
    int queued = 0, running = 0;
    kiln_job_manager_stats(ctx->jobs, &queued, &running, NULL);
    /* The hottest route (probes, load balancers): one snprintf, no JSON tree. KILN_VERSION
     * is a plain version string, nothing to escape. */
    char *text = malloc(160);
    if (!text) {
        kiln_http_error(resp, 500, "internal", NULL, "out of memory");
        return;
    }
    int n = snprintf(text, 160, "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_s\":%.3f,\"jobs\":{\"queued\":%d,\"running\":%d}}\n",
                     KILN_VERSION, kiln_now() - ctx->started, queued, running);
    kiln_http_take(resp, 200, "application/json", text, n > 0 && n < 160 ? (size_t)n : 0);
}

void kiln_route_metrics(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    (void)req;
    kiln_error err = {0};
    json_t *counts = kiln_job_store_counts(ctx->db, &err);
    kiln_api_gauges g = {0};
    g.jobs_by_state = counts;
    kiln_job_manager_stats(ctx->jobs, &g.jobs_queued, &g.jobs_running, &g.sse_streams);
    kiln_api_slots_usage(ctx->slots, &g.threads_busy, &g.threads_total, &g.gpus_busy, &g.gpus_total);
    g.uptime_s = kiln_now() - ctx->started;
    size_t len = 0;
    char *text = kiln_api_metrics_render(ctx->metrics, &g, &len);
    json_decref(counts);
    kiln_http_take(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

void kiln_route_plugins(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    (void)req;
    char *copy = malloc(ctx->plugins_json_len + 1);
    if (!copy) {
        kiln_http_error(resp, 500, "internal", NULL, "out of memory");
        return;
    }
    memcpy(copy, ctx->plugins_json, ctx->plugins_json_len + 1);
    kiln_http_take(resp, 200, "application/json", copy, ctx->plugins_json_len);
}

void kiln_route_validate(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    kiln_api_submission sub;
    kiln_api_problem p;
    if (kiln_api_submission_parse(req->body, req->body_len, &sub, &p) != 0) {
        kiln_http_error(resp, p.status, p.code, p.details, "%s", p.message);
        return;
    }
    kiln_diags diags = {0};
    kiln_graph *g = NULL;
    kiln_plan *plan = NULL;
    int ok = kiln_api_graph_check(ctx->reg, sub.graph_text, sub.path, &g, &plan, &diags) == 0;
    json_t *body = kiln_api_diags_json(&diags);
    json_object_set_new(body, "valid", json_boolean(ok));
    if (ok) json_object_set_new(body, "instances", json_integer((json_int_t)plan->ninstances));
    kiln_http_json(resp, 200, body);
    kiln_diags_free(&diags);
    kiln_plan_free(plan);
    kiln_graph_free(g);
    kiln_api_submission_free(&sub);
}
