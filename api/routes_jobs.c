/* routes_jobs.c -- jobs: submit, list, inspect, cancel, retry, and a node's log. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "routes.h"
#include "submission.h"

#define LIST_DEFAULT 50
#define LIST_MAX 1000
#define TAIL_SCAN_MAX (8u << 20) /* ?tail looks at most this far back */

static const char *const job_states[] = {"queued", "running", "succeeded", "failed", "cancelled", "interrupted"};

/* Answers with the job's current view (GET /v1/jobs/{id}'s body). */
static void respond_view(kiln_api_ctx *ctx, const char *id, unsigned status, kiln_http_resp *resp) {
    kiln_error err = {0};
    size_t len = 0;
    char *view = kiln_job_manager_view(ctx->jobs, id, &len, &err);
    if (!view) {
        if (err.code == KILN_ENOTFOUND) kiln_http_error(resp, 404, "not_found", NULL, "no job '%s'", id);
        else kiln_http_error(resp, 500, "internal", NULL, "%s", err.message);
        return;
    }
    kiln_http_take(resp, status, "application/json", view, len);
}

/* Maps a job manager error to a response. */
static void respond_jm_error(const kiln_error *err, kiln_http_resp *resp) {
    switch (err->code) {
    case KILN_ENOTFOUND: kiln_http_error(resp, 404, "not_found", NULL, "%s", err->message); break;
    case KILN_JM_ECONFLICT: kiln_http_error(resp, 409, "conflict", NULL, "%s", err->message); break;
    case KILN_JM_ESTOPPING: kiln_http_error(resp, 503, "shutting_down", NULL, "%s", err->message); break;
    default: kiln_http_error(resp, 500, "internal", NULL, "%s", err->message); break;
    }
}

static json_t *invalid_details(const kiln_diags *diags) {
    return kiln_api_diags_json(diags);
}

void kiln_route_jobs_create(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    kiln_api_submission sub;
    kiln_api_problem p;
    if (kiln_api_submission_parse(req->body, req->body_len, &sub, &p) != 0) {
        kiln_http_error(resp, p.status, p.code, p.details, "%s", p.message);
        return;
    }
    kiln_diags diags = {0};
    kiln_graph *g = NULL;
    kiln_plan *plan = NULL;
    if (kiln_api_graph_check(ctx->reg, sub.graph_text, sub.path, &g, &plan, &diags) != 0) {
        kiln_http_error(resp, 422, "invalid_graph", invalid_details(&diags),
                        "the graph has %zu problem%s (details.errors lists every one)", diags.count,
                        diags.count == 1 ? "" : "s");
        kiln_diags_free(&diags);
        kiln_api_submission_free(&sub);
        return;
    }
    kiln_diags_free(&diags);
    char id[40];
    kiln_error err = {0};
    int rc = kiln_job_manager_submit(ctx->jobs, &sub, g, plan, id, &err); /* takes g and plan */
    kiln_api_submission_free(&sub);
    if (rc != 0) {
        respond_jm_error(&err, resp);
        return;
    }
    respond_view(ctx, id, 201, resp);
    char loc[64];
    snprintf(loc, sizeof loc, "/v1/jobs/%s", id);
    kiln_http_add_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
}

typedef struct label_filter {
    json_t *labels;
    char bad[160];
} label_filter;

static enum MHD_Result collect_label(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    label_filter *f = cls;
    if (strcmp(key, "label") != 0) return MHD_YES;
    const char *eq = value ? strchr(value, '=') : NULL;
    if (!eq || eq == value) {
        snprintf(f->bad, sizeof f->bad, "label: expected KEY=VALUE, got '%.100s'", value ? value : "");
        return MHD_NO;
    }
    char k[80];
    snprintf(k, sizeof k, "%.*s", (int)(eq - value) < 79 ? (int)(eq - value) : 79, value);
    json_object_set_new(f->labels, k, json_string(eq + 1));
    return MHD_YES;
}

void kiln_route_jobs_list(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    const char *state = kiln_http_query(req, "state");
    if (state) {
        int known = 0;
        for (size_t i = 0; i < sizeof job_states / sizeof job_states[0]; i++) known |= strcmp(state, job_states[i]) == 0;
        if (!known) {
            kiln_http_error(resp, 400, "bad_request", NULL,
                            "state: expected queued, running, succeeded, failed, cancelled or interrupted, got '%s'",
                            state);
            return;
        }
    }
    uint64_t limit = LIST_DEFAULT, cursor = 0;
    const char *ls = kiln_http_query(req, "limit");
    if (ls && (kiln_http_parse_u64(ls, &limit) != 0 || limit < 1 || limit > LIST_MAX)) {
        kiln_http_error(resp, 400, "bad_request", NULL, "limit: expected 1 to %d, got '%s'", LIST_MAX, ls);
        return;
    }
    const char *cs = kiln_http_query(req, "cursor");
    if (cs && (kiln_http_parse_u64(cs, &cursor) != 0 || cursor == 0 || cursor > INT64_MAX)) {
        kiln_http_error(resp, 400, "bad_request", NULL, "cursor: expected the \"next\" of a previous page, got '%s'", cs);
        return;
    }
    label_filter f = {json_object(), ""};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_label, &f);
    if (f.bad[0]) {
        json_decref(f.labels);
        kiln_http_error(resp, 400, "bad_request", NULL, "%s", f.bad);
        return;
    }
    kiln_error err = {0};
    json_t *page = kiln_job_store_list(ctx->db, state, f.labels, (int)limit, (int64_t)cursor, &err);
    json_decref(f.labels);
    if (!page) {
        if (err.code == KILN_EINVAL) kiln_http_error(resp, 400, "bad_request", NULL, "%s", err.message);
        else kiln_http_error(resp, 500, "internal", NULL, "%s", err.message);
        return;
    }
    kiln_http_json(resp, 200, page);
}

void kiln_route_job_get(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    respond_view(ctx, req->params[0], 200, resp);
}

void kiln_route_job_cancel(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    int async = 0;
    kiln_error err = {0};
    if (kiln_job_manager_cancel(ctx->jobs, req->params[0], &async, &err) != 0) {
        respond_jm_error(&err, resp);
        return;
    }
    respond_view(ctx, req->params[0], async ? 202 : 200, resp);
}

void kiln_route_job_retry(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    kiln_diags diags = {0};
    kiln_error err = {0};
    if (kiln_job_manager_retry(ctx->jobs, req->params[0], &diags, &err) != 0) {
        if (err.code == KILN_JM_EINVALID)
            kiln_http_error(resp, 422, "invalid_graph", invalid_details(&diags), "%s", err.message);
        else
            respond_jm_error(&err, resp);
        kiln_diags_free(&diags);
        return;
    }
    kiln_diags_free(&diags);
    respond_view(ctx, req->params[0], 202, resp);
}

/* The node document named `name`: an instance name, or a node with exactly one instance. */
static const json_t *find_node(const json_t *nodes, const char *name, char *why, size_t whylen) {
    size_t i;
    const json_t *n, *by_node = NULL;
    int count = 0;
    json_array_foreach(nodes, i, n) {
        if (strcmp(json_string_value(json_object_get(n, "name")), name) == 0) return n;
        const char *node = json_string_value(json_object_get(n, "node"));
        if (node && strcmp(node, name) == 0) {
            by_node = n;
            count++;
        }
    }
    if (count == 1) return by_node;
    if (count > 1) snprintf(why, whylen, "node '%s' has %d instances; name one (e.g. '%s')", name, count,
                            json_string_value(json_object_get(by_node, "name")));
    else snprintf(why, whylen, "no node or instance '%s' in this job", name);
    return NULL;
}

/* The log file of a running node: the scheduler writes it in its work directory
 * ($KILN_HOME/work/<first 16 of the key>-XXXXXX/log.txt) until the node ends. */
static char *live_log_path(const kiln_api_ctx *ctx, const char *key) {
    char pattern[4096];
    snprintf(pattern, sizeof pattern, "%s/work/%.16s-*/log.txt", ctx->store.home, key);
    glob_t gl;
    char *path = NULL;
    if (glob(pattern, GLOB_NOSORT, NULL, &gl) == 0 && gl.gl_pathc > 0) path = strdup(gl.gl_pathv[0]);
    globfree(&gl);
    return path;
}

/* Byte offset where the last `lines` lines of fd (of `size` bytes) start. */
static uint64_t tail_offset(int fd, uint64_t size, uint64_t lines) {
    if (lines == 0 || size == 0) return size;
    uint64_t span = size < TAIL_SCAN_MAX ? size : TAIL_SCAN_MAX;
    char *buf = malloc(span);
    if (!buf) return 0;
    ssize_t got = pread(fd, buf, span, (off_t)(size - span));
    uint64_t at = 0;
    if (got == (ssize_t)span) {
        uint64_t seen = 0;
        uint64_t i = span;
        if (buf[span - 1] == '\n') i--; /* the last line's own newline */
        at = size - span;
        while (i > 0) {
            if (buf[i - 1] == '\n' && ++seen == lines) {
                at = size - span + i;
                break;
            }
            i--;
        }
    }
    free(buf);
    return at;
}

void kiln_route_node_log(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    const char *id = req->params[0], *name = req->params[1];
    uint64_t offset = 0, tail = 0;
    const char *os = kiln_http_query(req, "offset"), *ts = kiln_http_query(req, "tail");
    if (os && kiln_http_parse_u64(os, &offset) != 0) {
        kiln_http_error(resp, 400, "bad_request", NULL, "offset: expected a byte offset, got '%s'", os);
        return;
    }
    if (ts && kiln_http_parse_u64(ts, &tail) != 0) {
        kiln_http_error(resp, 400, "bad_request", NULL, "tail: expected a number of lines, got '%s'", ts);
        return;
    }
    kiln_error err = {0};
    json_t *job = kiln_job_store_get(ctx->db, id, &err);
    if (!job) {
        if (err.code == KILN_ENOTFOUND) kiln_http_error(resp, 404, "not_found", NULL, "no job '%s'", id);
        else kiln_http_error(resp, 500, "internal", NULL, "%s", err.message);
        return;
    }
    char why[256] = "";
    const json_t *nd = find_node(json_object_get(job, "nodes"), name, why, sizeof why);
    if (!nd) {
        json_decref(job);
        kiln_http_error(resp, 404, "not_found", NULL, "job '%s': %s", id, why);
        return;
    }
    const char *digest = json_string_value(json_object_get(nd, "log"));
    const char *state = json_string_value(json_object_get(nd, "state"));
    const char *key = json_string_value(json_object_get(nd, "key"));
    char *path = NULL;
    int live = 0;
    if (digest && *digest) {
        path = kiln_store_blob_path(&ctx->store, digest);
    } else if (state && strcmp(state, "running") == 0 && key) {
        path = live_log_path(ctx, key);
        live = 1;
    }
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    free(path);
    if (fd < 0) {
        kiln_http_error(resp, 404, "not_found", NULL, "job '%s': node '%s' has no log (state %s)", id,
                        json_string_value(json_object_get(nd, "name")), state ? state : "?");
        json_decref(job);
        return;
    }
    json_decref(job);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        kiln_http_error(resp, 500, "internal", NULL, "log: %s", strerror(e));
        return;
    }
    uint64_t size = (uint64_t)st.st_size;
    uint64_t start = ts ? tail_offset(fd, size, tail) : offset;
    if (start > size) start = size;
    resp->r = MHD_create_response_from_fd_at_offset64(size - start, fd, start); /* takes fd */
    if (!resp->r) {
        close(fd);
        kiln_http_error(resp, 500, "internal", NULL, "cannot create the response");
        return;
    }
    resp->status = 200;
    char num[32];
    kiln_http_add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    snprintf(num, sizeof num, "%" PRIu64, size);
    kiln_http_add_header(resp, "X-Kiln-Log-Size", num);
    snprintf(num, sizeof num, "%" PRIu64, start);
    kiln_http_add_header(resp, "X-Kiln-Log-Offset", num);
    kiln_http_add_header(resp, "X-Kiln-Log-Live", live ? "1" : "0");
}
