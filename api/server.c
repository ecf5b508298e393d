/* server.c -- libmicrohttpd glue: the route table, request bodies and their limits,
 * authentication, per-request metrics, start and clean shutdown (see server.h).
 *
 * The access handler's first call routes the request and checks the method, the token and
 * a declared Content-Length; the body (if any) is gathered up to cfg.max_body; the handler
 * runs on the final call. Responses are queued only then -- libmicrohttpd closes a
 * connection whose response was queued in the first call -- except when a body follows
 * that must not be read (413, or an error for a request with a body). */
#include "server.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "context.h"
#include "diag.h"
#include "fsutil.h"
#include "home.h"
#include "registry_json.h"
#include "routes.h"
#include "spawn.h"

typedef struct route {
    const char *method;   /* "GET" routes also answer HEAD                   */
    const char *pattern;  /* segments; "{name}" captures one segment        */
    kiln_route_fn fn;
    int open;             /* never needs the token (GET /healthz)            */
} route;

/* The API. api/openapi.yaml describes exactly these (tests/e2e/test_api_spec.sh checks). */
static const route routes[] = {
    {"GET", "/healthz", kiln_route_healthz, 1},
    {"GET", "/metrics", kiln_route_metrics, 0},
    {"GET", "/v1/plugins", kiln_route_plugins, 0},
    {"POST", "/v1/validate", kiln_route_validate, 0},
    {"POST", "/v1/jobs", kiln_route_jobs_create, 0},
    {"GET", "/v1/jobs", kiln_route_jobs_list, 0},
    {"GET", "/v1/jobs/{id}", kiln_route_job_get, 0},
    {"POST", "/v1/jobs/{id}/cancel", kiln_route_job_cancel, 0},
    {"POST", "/v1/jobs/{id}/retry", kiln_route_job_retry, 0},
    {"GET", "/v1/jobs/{id}/events", kiln_route_job_events, 0},
    {"GET", "/v1/jobs/{id}/nodes/{node}/log", kiln_route_node_log, 0},
    {"GET", "/v1/artifacts/{digest}", kiln_route_artifact, 0},
};
#define NROUTES (sizeof routes / sizeof routes[0])

/* "METHOD PATH" of each route, for the metrics' labels. */
static const char *const route_names[NROUTES] = {
    "GET /healthz", "GET /metrics", "GET /v1/plugins", "POST /v1/validate", "POST /v1/jobs", "GET /v1/jobs",
    "GET /v1/jobs/{id}", "POST /v1/jobs/{id}/cancel", "POST /v1/jobs/{id}/retry", "GET /v1/jobs/{id}/events",
    "GET /v1/jobs/{id}/nodes/{node}/log", "GET /v1/artifacts/{digest}"};

struct kiln_api_server {
    kiln_api_ctx ctx;
    struct MHD_Daemon *daemon;
    int port;
};

/* Per request (MHD's con_cls), freed when the request completes. */
typedef struct req_state {
    double t0;           /* monotonic start                          */
    size_t route;        /* index into routes, NROUTES: unmatched     */
    unsigned status;     /* what was queued                           */
    int responded;
    int too_large;
    kiln_http_resp pending; /* an error decided before the body was read */
    char *body;
    size_t len, cap;
    char *segs;          /* owned copy of the path, cut into segments */
    kiln_http_req req;
} req_state;

static double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void kiln_api_routes_print(FILE *out) {
    for (size_t i = 0; i < NROUTES; i++) fprintf(out, "%s %s\n", routes[i].method, routes[i].pattern);
}

void kiln_api_config_defaults(kiln_api_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    cfg->host = "127.0.0.1";
    cfg->port = 8080;
    cfg->max_body = 1u << 20;
    cfg->max_connections = 256;
    cfg->timeout_s = 30;
    cfg->body_deadline_s = 60;
    cfg->http_threads = (unsigned)cores;
    cfg->cpu_slots = (int)cores;
    cfg->max_jobs = 0; /* derived from cpu_slots at start */
    cfg->gpus = -1;    /* detected at start */
    cfg->grace_s = 5;
    cfg->keepalive_s = 15;
}

/* Matches `path` against pattern p; on success fills params (pointing into `segs`, a
 * writable copy of path). */
static int match(const char *pattern, char *segs, const char **params, size_t *nparams) {
    const char *p = pattern;
    char *s = segs;
    size_t n = 0;
    for (;;) {
        if (*p != '/' || *s != '/') return 0;
        p++;
        s++;
        const char *pe = strchr(p, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        char *se = strchr(s, '/');
        size_t slen = se ? (size_t)(se - s) : strlen(s);
        if (plen > 1 && p[0] == '{') {
            if (slen == 0 || n == KILN_HTTP_MAX_PARAMS) return 0;
            params[n++] = s;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
        if (!*p && !*s) break;
        if (!*p || !*s) return 0;
    }
    /* Cut the captured segments out of the copy: each ends at the next '/'. */
    for (size_t i = 0; i < n; i++) {
        char *end = strchr((char *)params[i], '/');
        if (end) *end = '\0';
    }
    *nparams = n;
    return 1;
}

static enum MHD_Result queue(struct MHD_Connection *c, req_state *rs, kiln_http_resp *resp) {
    if (!resp->r) {
        resp->status = 500;
        resp->r = MHD_create_response_from_buffer(
            sizeof "{\"error\":{\"code\":\"internal\",\"message\":\"no response\",\"details\":null}}\n" - 1,
            (void *)"{\"error\":{\"code\":\"internal\",\"message\":\"no response\",\"details\":null}}\n",
            MHD_RESPMEM_PERSISTENT);
        if (!resp->r) return MHD_NO;
        MHD_add_response_header(resp->r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    }
    rs->status = resp->status;
    rs->responded = 1;
    enum MHD_Result r = MHD_queue_response(c, resp->status, resp->r);
    MHD_destroy_response(resp->r);
    resp->r = NULL;
    return r;
}

/* Sets the request's pending error response (queued by the caller). */
static void set_error(req_state *rs, unsigned status, const char *code, const char *extra_header,
                      const char *extra_value, const char *msg) {
    kiln_http_error(&rs->pending, status, code, NULL, "%s", msg);
    if (extra_header) kiln_http_add_header(&rs->pending, extra_header, extra_value);
}

static enum MHD_Result respond_error(struct MHD_Connection *c, req_state *rs, unsigned status, const char *code,
                                     const char *extra_header, const char *extra_value, const char *msg) {
    set_error(rs, status, code, extra_header, extra_value, msg);
    return queue(c, rs, &rs->pending);
}

static enum MHD_Result dispatch(kiln_api_server *srv, struct MHD_Connection *c, req_state *rs) {
    kiln_http_resp resp = {0};
    rs->req.body = rs->body;
    rs->req.body_len = rs->len;
    routes[rs->route].fn(&srv->ctx, &rs->req, &resp);
    return queue(c, rs, &resp);
}

static int has_body(struct MHD_Connection *c, uint64_t *declared) {
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    *declared = 0;
    if (cl && kiln_http_parse_u64(cl, declared) == 0 && *declared > 0) return 1;
    return te != NULL;
}

/* An error found in the first call: answered at once when a body follows (libmicrohttpd
 * then closes the connection instead of reading the body), else on the next call, which
 * keeps the connection alive (a response queued in the first call always closes it). */
static enum MHD_Result decided(struct MHD_Connection *c, req_state *rs) {
    uint64_t declared = 0;
    if (has_body(c, &declared)) return queue(c, rs, &rs->pending);
    return MHD_YES;
}

/* The first call for a request: route, method, token, declared size. Nothing is answered
 * here unless the body must not be read. */
static enum MHD_Result begin(kiln_api_server *srv, struct MHD_Connection *c, const char *url, const char *method,
                             req_state *rs) {
    const kiln_api_ctx *ctx = &srv->ctx;
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    rs->segs = strdup(url);
    if (!rs->segs) return MHD_NO;
    char allow[64] = "";
    rs->route = NROUTES;
    for (size_t i = 0; i < NROUTES; i++) {
        strcpy(rs->segs, url); /* match() cuts it; same length every time */
        size_t np = 0;
        const char *params[KILN_HTTP_MAX_PARAMS];
        if (!match(routes[i].pattern, rs->segs, params, &np)) continue;
        if (strcmp(routes[i].method, m) != 0) {
            size_t al = strlen(allow);
            snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "",
                     strcmp(routes[i].method, "GET") == 0 ? "GET, HEAD" : routes[i].method);
            continue;
        }
        rs->route = i;
        memcpy(rs->req.params, params, sizeof params);
        rs->req.nparams = np;
        break;
    }
    if (rs->route == NROUTES) {
        char msg[512];
        if (allow[0]) {
            snprintf(msg, sizeof msg, "%s is not allowed on %.300s; allowed: %s", method, url, allow);
            set_error(rs, 405, "method_not_allowed", MHD_HTTP_HEADER_ALLOW, allow, msg);
            return decided(c, rs);
        }
        if (strncmp(url, "/v1/artifacts/", 14) == 0) { /* "a/../b", "x%2Fy": never a path, always a bad digest */
            snprintf(msg, sizeof msg, "expected /v1/artifacts/DIGEST with a sha256 digest of 64 hex characters, got %.300s",
                     url);
            set_error(rs, 400, "bad_digest", NULL, NULL, msg);
            return decided(c, rs);
        }
        snprintf(msg, sizeof msg, "no route %.300s (see api/openapi.yaml)", url);
        set_error(rs, 404, "not_found", NULL, NULL, msg);
        return decided(c, rs);
    }
    const route *r = &routes[rs->route];
    rs->req.conn = c;
    rs->req.method = m;
    rs->req.path = url;
    int needs_token = !r->open && (strcmp(r->method, "POST") == 0 || ctx->auth.reads);
    if (needs_token &&
        !kiln_api_auth_ok(&ctx->auth, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)))
    {
        set_error(rs, 401, "unauthorized", MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"kiln\"",
                  "missing or wrong bearer token (Authorization: Bearer <token>)");
        return decided(c, rs);
    }
    uint64_t declared = 0;
    has_body(c, &declared);
    if (declared > ctx->cfg.max_body) {
        char msg[160];
        snprintf(msg, sizeof msg, "request body of %llu bytes is over the limit of %zu bytes",
                 (unsigned long long)declared, ctx->cfg.max_body);
        return respond_error(c, rs, 413, "body_too_large", NULL, NULL, msg); /* without reading it */
    }
    return MHD_YES; /* the handler runs once the (possibly empty) body is in */
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls) {
    (void)version;
    kiln_api_server *srv = cls;
    req_state *rs = *con_cls;
    if (!rs) {
        rs = calloc(1, sizeof *rs);
        if (!rs) return MHD_NO;
        rs->t0 = mono_now();
        rs->route = NROUTES;
        *con_cls = rs;
        return begin(srv, c, url, method, rs);
    }
    if (rs->responded) { /* answered early: drop whatever body follows */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (mono_now() - rs->t0 > srv->ctx.cfg.body_deadline_s) return MHD_NO; /* a crawling upload: drop it */
        if (rs->too_large || rs->len + n > srv->ctx.cfg.max_body) {
            rs->too_large = 1; /* keep reading (and discarding) to answer 413 at the end */
            return MHD_YES;
        }
        if (rs->len + n + 1 > rs->cap) {
            size_t cap = rs->cap ? rs->cap : 4096;
            while (cap < rs->len + n + 1) cap *= 2;
            char *b = realloc(rs->body, cap);
            if (!b) return MHD_NO;
            rs->body = b;
            rs->cap = cap;
        }
        memcpy(rs->body + rs->len, upload_data, n);
        rs->len += n;
        rs->body[rs->len] = '\0';
        return MHD_YES;
    }
    if (rs->pending.r) return queue(c, rs, &rs->pending);
    if (rs->too_large) {
        char msg[160];
        snprintf(msg, sizeof msg, "request body is over the limit of %zu bytes", srv->ctx.cfg.max_body);
        return respond_error(c, rs, 413, "body_too_large", NULL, NULL, msg);
    }
    return dispatch(srv, c, rs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)c;
    (void)toe;
    kiln_api_server *srv = cls;
    req_state *rs = *con_cls;
    if (!rs) return;
    kiln_api_metrics_request(srv->ctx.metrics, rs->route, rs->responded ? rs->status : 499, mono_now() - rs->t0);
    if (rs->pending.r) MHD_destroy_response(rs->pending.r);
    free(rs->body);
    free(rs->segs);
    free(rs);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    fprintf(stderr, "kiln serve: http: ");
    vfprintf(stderr, fmt, ap);
}

/* GPU slots: $KILN_GPUS, else the number of /dev/nvidiaN devices (as `kiln run`). */
static int detect_gpus(void) {
    const char *env = getenv("KILN_GPUS");
    if (env && *env) {
        char *end = NULL;
        long n = strtol(env, &end, 10);
        if (end && !*end && n >= 0 && n <= 64) return (int)n;
    }
    int n = 0;
    char path[32];
    for (; n < 64; n++) {
        snprintf(path, sizeof path, "/dev/nvidia%d", n);
        if (access(path, F_OK) != 0) break;
    }
    return n;
}

static void ctx_free(kiln_api_ctx *ctx) {
    kiln_job_manager_free(ctx->jobs);
    kiln_job_store_close(ctx->db);
    kiln_api_slots_free(ctx->slots);
    kiln_api_metrics_free(ctx->metrics);
    kiln_registry_free(ctx->reg);
    kiln_api_auth_free(&ctx->auth);
    free(ctx->plugins_json);
    free(ctx->db_path);
    free(ctx->kiln_exe);
    if (ctx->store.home) kiln_store_close(&ctx->store);
}

/* Fills a socket address for host:port. Returns 0, or -1 when host is not an IP address
 * ("localhost" is taken as 127.0.0.1). */
static int make_addr(const char *host, int port, struct sockaddr_storage *ss, int *ipv6) {
    memset(ss, 0, sizeof *ss);
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *ipv6 = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *ipv6 = 1;
        return 0;
    }
    return -1;
}

kiln_api_server *kiln_api_server_start(const kiln_api_config *cfg_in, kiln_error *err) {
    kiln_api_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        kiln_error_set(err, KILN_ENOMEM, "out of memory");
        return NULL;
    }
    kiln_api_ctx *ctx = &srv->ctx;
    ctx->cfg = *cfg_in;
    kiln_api_config *cfg = &ctx->cfg;
    if (cfg->cpu_slots < 1) cfg->cpu_slots = 1;
    if (cfg->max_jobs < 1) cfg->max_jobs = cfg->cpu_slots * 2 < 4 ? 4 : cfg->cpu_slots * 2;
    if (cfg->gpus < 0) cfg->gpus = detect_gpus();
    if (cfg->http_threads < 1) cfg->http_threads = 1;
    ctx->started = kiln_now();

    struct sockaddr_storage addr;
    int ipv6 = 0;
    if (!cfg->host || make_addr(cfg->host, cfg->port, &addr, &ipv6) != 0) {
        kiln_error_set(err, KILN_EINVAL, "--host: expected an IP address (or localhost), got '%s'",
                       cfg->host ? cfg->host : "");
        goto fail;
    }
    if (kiln_api_auth_load(&ctx->auth, cfg->token_file, cfg->auth_reads, err) != 0) goto fail;
    if (!kiln_api_host_is_loopback(cfg->host) && !ctx->auth.token) {
        kiln_error_set(err, KILN_EINVAL,
                       "refusing to bind %s without a token: anyone who can reach it could run jobs; "
                       "pass --token-file FILE (or bind 127.0.0.1)", cfg->host);
        goto fail;
    }
    if (cfg->auth_reads && !ctx->auth.token) {
        kiln_error_set(err, KILN_EINVAL, "--auth-reads needs --token-file");
        goto fail;
    }
    char *home = kiln_home_resolve(cfg->home);
    if (!home) {
        kiln_error_set(err, KILN_EINVAL, "cannot determine the state directory; set KILN_HOME or pass --home DIR");
        goto fail;
    }
    int rc = kiln_store_open(&ctx->store, home, err);
    free(home);
    if (rc != 0) goto fail;
    ctx->kiln_exe = kiln_self_exe();
    if (!ctx->kiln_exe) {
        kiln_error_set(err, KILN_EIO, "cannot find the kiln executable (/proc/self/exe)");
        goto fail;
    }
    ctx->reg = kiln_registry_new();
    kiln_registry_load_default(ctx->reg);
    json_t *pj = kiln_registry_json(ctx->reg);
    ctx->plugins_json = json_dumps(pj, JSON_COMPACT);
    json_decref(pj);
    if (!ctx->plugins_json) {
        kiln_error_set(err, KILN_ENOMEM, "out of memory");
        goto fail;
    }
    ctx->plugins_json_len = strlen(ctx->plugins_json);
    ctx->metrics = kiln_api_metrics_new(route_names, NROUTES);
    ctx->slots = kiln_api_slots_new(cfg->cpu_slots, cfg->gpus);
    if (!ctx->metrics || !ctx->slots) {
        kiln_error_set(err, KILN_ENOMEM, "out of memory");
        goto fail;
    }
    if (cfg->db_path) {
        ctx->db_path = kiln_path_absolute(NULL, cfg->db_path);
    } else {
        char *dir = kiln_path_join(ctx->store.home, "api");
        ctx->db_path = kiln_path_join(dir, "jobs.db");
        free(dir);
    }
    if (kiln_job_store_open(ctx->db_path, cfg->db_sync_full, &ctx->db, err) != 0) goto fail;
    kiln_job_manager_config jc = {0};
    jc.store = &ctx->store;
    jc.reg = ctx->reg;
    jc.db = ctx->db;
    jc.metrics = ctx->metrics;
    jc.slots = ctx->slots;
    jc.kiln_exe = ctx->kiln_exe;
    jc.max_jobs = cfg->max_jobs;
    jc.grace_s = cfg->grace_s > 0 ? cfg->grace_s : 0.001;
    jc.keepalive_s = cfg->keepalive_s;
    ctx->jobs = kiln_job_manager_start(&jc, &ctx->recovered, err);
    if (!ctx->jobs) goto fail;

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ipv6) flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, cfg->http_threads, MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1u, MHD_OPTION_END);
    if (!srv->daemon) {
        kiln_error_set(err, KILN_EIO, "cannot listen on %s port %d (in use? not an address of this machine?)",
                       cfg->host, cfg->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    return srv;
fail:
    if (srv->daemon) MHD_stop_daemon(srv->daemon);
    ctx_free(ctx);
    free(srv);
    return NULL;
}

int kiln_api_server_port(const kiln_api_server *srv) {
    return srv->port;
}

const char *kiln_api_server_home(const kiln_api_server *srv) {
    return srv->ctx.store.home;
}

const char *kiln_api_server_db_path(const kiln_api_server *srv) {
    return srv->ctx.db_path;
}

int kiln_api_server_recovered(const kiln_api_server *srv) {
    return srv->ctx.recovered;
}

void kiln_api_server_stop(kiln_api_server *srv, int finish_running, double timeout_s) {
    if (!srv) return;
    MHD_socket fd = MHD_quiesce_daemon(srv->daemon); /* no new connections from here on */
    if (fd != MHD_INVALID_SOCKET) close(fd);
    kiln_job_manager_shutdown(srv->ctx.jobs, finish_running, timeout_s); /* also ends event streams */
    /* The streams were resumed to send their last events and end: give libmicrohttpd's
     * threads a moment (at most 5 s: a client that reads nothing must not hold us) to
     * finish them, so that clients see a complete response rather than a cut connection. */
    for (int i = 0; i < 500; i++) {
        int streams = 0;
        kiln_job_manager_stats(srv->ctx.jobs, NULL, NULL, &streams);
        if (streams == 0) break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(srv->daemon);
    ctx_free(&srv->ctx);
    free(srv);
}
