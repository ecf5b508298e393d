/* sse.c -- GET /v1/jobs/{id}/events: the job's events as server-sent events.
 *
 * Each event goes out as "id: <seq>\ndata: <event JSON>\n\n"; a client that reconnects
 * with Last-Event-ID: <seq> (or ?after=<seq>) gets what followed. Events are read from the
 * job store, so a stream only ever shows committed events, and a stream opened after the
 * job ended replays all of them. The response is produced by a libmicrohttpd content
 * reader: when it has nothing to send it registers as a waiter with the job manager, which
 * suspends the connection (no thread blocked, no polling) and resumes it on the next
 * event, on a keep-alive tick (a ": keep-alive" comment goes out) or at shutdown. The
 * stream ends after the job's last event once the job has ended. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"

#define SSE_BATCH 256

typedef struct sse_stream {
    kiln_api_ctx *ctx;
    struct MHD_Connection *conn;
    kiln_job_watch *watch;
    kiln_job_waiter waiter;
    int64_t seen;   /* seq of the last event put into buf */
    char *buf;      /* pending bytes: buf[pos..len)       */
    size_t len, pos, cap;
    int ended;
} sse_stream;

static void sse_suspend(kiln_job_waiter *w) {
    sse_stream *s = w->user;
    MHD_suspend_connection(s->conn);
}

static void sse_resume(kiln_job_waiter *w) {
    sse_stream *s = w->user;
    MHD_resume_connection(s->conn);
}

static int buf_add(sse_stream *s, const char *data, size_t n) {
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n) cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b) return -1;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return 0;
}

static int add_event(int64_t seq, const char *text, size_t len, void *user) {
    sse_stream *s = user;
    char head[48];
    int n = snprintf(head, sizeof head, "id: %" PRId64 "\ndata: ", seq);
    if (buf_add(s, head, (size_t)n) || buf_add(s, text, len) || buf_add(s, "\n\n", 2)) return 1;
    s->seen = seq;
    return 0;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max) {
    (void)pos;
    sse_stream *s = cls;
    for (;;) {
        if (s->pos < s->len) {
            size_t n = s->len - s->pos;
            if (n > max) n = max;
            memcpy(out, s->buf + s->pos, n);
            s->pos += n;
            if (s->pos == s->len) s->pos = s->len = 0;
            return (ssize_t)n;
        }
        if (s->ended) return MHD_CONTENT_READER_END_OF_STREAM;
        kiln_error err = {0};
        int n = kiln_job_store_events(s->ctx->db, kiln_job_watch_id(s->watch), s->seen, SSE_BATCH, add_event, s, &err);
        if (n < 0) {
            fprintf(stderr, "kiln serve: event stream: %s\n", err.message);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (s->len > 0) continue;
        switch (kiln_job_watch_wait(s->watch, s->seen, &s->waiter)) {
        case KILN_JOB_WAIT_MORE: continue;
        case KILN_JOB_WAIT_PING:
            if (buf_add(s, ": keep-alive\n\n", 14)) return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        case KILN_JOB_WAIT_END: s->ended = 1; return MHD_CONTENT_READER_END_OF_STREAM;
        case KILN_JOB_WAIT_SUSPENDED: return 0; /* resumed later; then called again */
        }
    }
}

static void sse_free(void *cls) {
    sse_stream *s = cls;
    kiln_job_watch_close(s->watch, &s->waiter);
    free(s->buf);
    free(s);
}

void kiln_route_job_events(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    const char *id = req->params[0];
    uint64_t after = 0;
    const char *last = kiln_http_header(req, "Last-Event-ID");
    const char *q = kiln_http_query(req, "after");
    if (last && *last && kiln_http_parse_u64(last, &after) != 0) {
        kiln_http_error(resp, 400, "bad_request", NULL, "Last-Event-ID: expected an event number, got '%s'", last);
        return;
    }
    if (q && kiln_http_parse_u64(q, &after) != 0) {
        kiln_http_error(resp, 400, "bad_request", NULL, "after: expected an event number, got '%s'", q);
        return;
    }
    sse_stream *s = calloc(1, sizeof *s);
    if (!s) {
        kiln_http_error(resp, 500, "internal", NULL, "out of memory");
        return;
    }
    kiln_error err = {0};
    s->watch = kiln_job_manager_watch(ctx->jobs, id, &err);
    if (!s->watch) {
        free(s);
        if (err.code == KILN_ENOTFOUND) kiln_http_error(resp, 404, "not_found", NULL, "no job '%s'", id);
        else kiln_http_error(resp, 500, "internal", NULL, "%s", err.message);
        return;
    }
    s->ctx = ctx;
    s->conn = req->conn;
    s->seen = (int64_t)(after > INT64_MAX ? INT64_MAX : after);
    s->waiter.suspend = sse_suspend;
    s->waiter.resume = sse_resume;
    s->waiter.user = s;
    char hello[96];
    int n = snprintf(hello, sizeof hello, ": events of job %s\nretry: 2000\n\n", id);
    buf_add(s, hello, (size_t)n); /* headers and a first chunk go out at once */
    resp->r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_read, s, sse_free);
    if (!resp->r) {
        sse_free(s);
        kiln_http_error(resp, 500, "internal", NULL, "cannot create the event stream");
        return;
    }
    resp->status = 200;
    MHD_add_response_header(resp->r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp->r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp->r, "X-Accel-Buffering", "no");
}
