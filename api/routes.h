/* routes.h -- the route handlers. Each fills `resp` for one request; server.c has already
 * matched the route, checked the method and the token, and read the body (within the
 * size limit). Handlers never block for long: jobs run elsewhere. */
#ifndef KILN_API_ROUTES_H
#define KILN_API_ROUTES_H

#include "context.h"
#include "http.h"

typedef void (*kiln_route_fn)(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);

/* routes_system.c */
void kiln_route_healthz(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);
void kiln_route_metrics(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);
void kiln_route_plugins(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);
void kiln_route_validate(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);

/* routes_jobs.c */
void kiln_route_jobs_create(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);
void kiln_route_jobs_list(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);
void kiln_route_job_get(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);
void kiln_route_job_cancel(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);
void kiln_route_job_retry(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);
void kiln_route_node_log(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);

/* sse.c */
void kiln_route_job_events(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);

/* routes_artifacts.c */
void kiln_route_artifact(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp);

#endif
