/* host_api.c -- the kiln_host_api table plugins call, and the op context behind it.
 *
 * The table is static const data with every slot filled (SQLite's sqlite3_api_routines is
 * the model): it only ever grows at its end. Slots come in two kinds:
 *   - ctx-less helpers (tensors_*, json_*, sha256_file): usable at any time, including from
 *     a plugin's init and from exporters;
 *   - ctx slots (params, inputs, outputs, reporting): valid only during an op's run(),
 *     with the kiln_ctx that exec-node built (see exec_node.h). Passed a NULL ctx they
 *     return "nothing" (NULL, -1, 0) instead of crashing, and log still reaches stderr.
 * Every string and JSON value a ctx slot returns is borrowed from the ctx and stays valid
 * until run() returns. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "exec_node.h"
#include "jsonio.h"
#include "registry.h"
#include "safetensors.h"
#include "sha256.h"

/* Longest log message sent as an event; stderr gets the whole line. Keeps an event inside
 * PIPE_BUF so that it is written with one write(2). */
#define LOG_EVENT_MAX 3000

/* Minimum seconds between two progress events. */
#define PROGRESS_INTERVAL 0.1

static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Replaces bytes that are not valid UTF-8 with '?', in place (JSON strings must be UTF-8,
 * and a plugin may log anything). */
static void utf8_sanitize(char *s) {
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n;
        if (*p < 0x80) n = 0;
        else if ((*p & 0xE0) == 0xC0 && *p >= 0xC2) n = 1;
        else if ((*p & 0xF0) == 0xE0) n = 2;
        else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4) n = 3;
        else { *p++ = '?'; continue; }
        int ok = 1;
        for (int i = 1; i <= n; i++)
            if ((p[i] & 0xC0) != 0x80) { ok = 0; break; }
        if (!ok) { *p++ = '?'; continue; }
        p += n + 1;
    }
}

/* A JSON string of s made valid UTF-8 (s is copied). Never NULL. */
static json_t *json_string_lossy(const char *s) {
    json_t *j = json_string(s);
    if (j) return j;
    char *copy = strdup(s);
    if (!copy) abort();
    utf8_sanitize(copy);
    j = json_string(copy);
    free(copy);
    return j ? j : json_string("");
}

/* vasprintf that never fails (aborts on out of memory, like the rest of the core). */
static char *vformat(const char *fmt, va_list ap) KILN_PRINTF(1, 0);
static char *vformat(const char *fmt, va_list ap) {
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) abort();
    return s;
}

/* ---------------------------------------------------------------------------------------- */
/* The context                                                                               */
/* ---------------------------------------------------------------------------------------- */

void kiln_ctx_init(kiln_ctx *ctx) {
    memset(ctx, 0, sizeof *ctx);
    ctx->outputs = json_object();
    ctx->metrics = json_object();
    ctx->threads = 1;
    ctx->events_fd = -1;
    if (!ctx->outputs || !ctx->metrics) abort();
}

void kiln_ctx_release(kiln_ctx *ctx) {
    json_decref(ctx->outputs);
    json_decref(ctx->metrics);
    ctx->outputs = NULL;
    ctx->metrics = NULL;
}

void kiln_ctx_emit(kiln_ctx *ctx, json_t *event) {
    if (!event) return;
    if (ctx->events_fd >= 0 && kiln_event_write_fd(ctx->events_fd, event) != 0 && errno == EPIPE) {
        /* The parent stopped listening: it is gone, so nobody wants this node any more. */
        ctx->events_fd = -1;
        if (ctx->cancel_flag) *ctx->cancel_flag = 1;
    }
    json_decref(event);
}

static json_t *ctx_event(kiln_ctx *ctx, const char *type) {
    json_t *ev = kiln_event_new(type, ctx->job, ctx->node);
    if (!ev) abort();
    return ev;
}

static void send_progress(kiln_ctx *ctx) {
    json_t *ev = ctx_event(ctx, "progress");
    json_object_set_new(ev, "done", json_real(ctx->progress_done));
    json_object_set_new(ev, "total", json_real(ctx->progress_total));
    json_object_set_new(ev, "unit", json_string_lossy(ctx->progress_unit));
    kiln_ctx_emit(ctx, ev);
    ctx->progress_pending = 0;
    ctx->progress_last = monotonic_now();
}

void kiln_ctx_flush_progress(kiln_ctx *ctx) {
    if (ctx->progress_pending) send_progress(ctx);
}

/* Input artifact `index` of `port` in the spec ({"path", "info"}), or NULL. */
static const json_t *input_item(kiln_ctx *ctx, const char *port, int index) {
    if (!ctx || !port || index < 0 || !ctx->inputs) return NULL;
    const json_t *arr = json_object_get(ctx->inputs, port);
    if (!json_is_array(arr) || (size_t)index >= json_array_size(arr)) return NULL;
    return json_array_get(arr, (size_t)index);
}

static const kiln_port_def *find_port(const kiln_port_def *ports, const char *name) {
    for (size_t i = 0; ports && name && ports[i].name; i++)
        if (strcmp(ports[i].name, name) == 0) return &ports[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* ctx slots                                                                                 */
/* ---------------------------------------------------------------------------------------- */

static const json_t *host_params(kiln_ctx *ctx) {
    return ctx ? ctx->params : NULL;
}

static int host_input_count(kiln_ctx *ctx, const char *port) {
    if (!ctx || !ctx->op || !find_port(ctx->op->inputs, port)) return -1;
    const json_t *arr = ctx->inputs ? json_object_get(ctx->inputs, port) : NULL;
    return json_is_array(arr) ? (int)json_array_size(arr) : 0;
}

static const char *host_input_path(kiln_ctx *ctx, const char *port, int index) {
    return json_string_value(json_object_get(input_item(ctx, port, index), "path"));
}

static const json_t *host_input_info(kiln_ctx *ctx, const char *port, int index) {
    const json_t *info = json_object_get(input_item(ctx, port, index), "info");
    return json_is_object(info) ? info : NULL;
}

static const char *host_output_path(kiln_ctx *ctx, const char *port) {
    if (!ctx || !port) return NULL;
    return json_string_value(json_object_get(json_object_get(ctx->outputs, port), "path"));
}

static int host_set_output_name(kiln_ctx *ctx, const char *port, const char *file_name) {
    if (!ctx || !port) return KILN_EINVAL;
    json_t *out = json_object_get(ctx->outputs, port);
    if (!out) return KILN_ENOTFOUND;
    if (!file_name || !*file_name || strchr(file_name, '/') || strcmp(file_name, ".") == 0 ||
        strcmp(file_name, "..") == 0 || strlen(file_name) > 255)
        return KILN_EINVAL;
    json_t *s = json_string(file_name);
    if (!s) return KILN_EINVAL; /* not UTF-8 */
    json_object_set_new(out, "file_name", s);
    return 0;
}

static const char *host_scratch_dir(kiln_ctx *ctx) {
    return ctx ? ctx->scratch_dir : NULL;
}

static const char *host_checkpoint_dir(kiln_ctx *ctx) {
    return ctx ? ctx->checkpoint_dir : NULL;
}

static const char *level_name(kiln_log_level level) {
    switch (level) {
    case KILN_LOG_DEBUG: return "debug";
    case KILN_LOG_INFO: return "info";
    case KILN_LOG_WARN: return "warn";
    case KILN_LOG_ERROR: return "error";
    }
    return "info";
}

static void host_log(kiln_ctx *ctx, kiln_log_level level, const char *fmt, ...) KILN_PRINTF(3, 4);
static void host_log(kiln_ctx *ctx, kiln_log_level level, const char *fmt, ...) {
    if (!fmt) return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    size_t len = strlen(msg);
    while (len > 0 && msg[len - 1] == '\n') msg[--len] = '\0';
    /* One write(2) per line, so concurrent writers to the same log do not interleave. */
    char *line = NULL;
    int n = asprintf(&line, "[%s] %s\n", level_name(level), msg);
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)n);
        (void)w; /* nowhere to report a failing stderr */
    }
    free(line);
    if (ctx) {
        if (len > LOG_EVENT_MAX) {
            memcpy(msg + LOG_EVENT_MAX - 3, "...", 4);
        }
        json_t *ev = ctx_event(ctx, "log");
        json_object_set_new(ev, "level", json_string(level_name(level)));
        json_object_set_new(ev, "message", json_string_lossy(msg));
        kiln_ctx_emit(ctx, ev);
    }
    free(msg);
}

static void host_progress(kiln_ctx *ctx, double done, double total, const char *unit) {
    if (!ctx) return;
    ctx->progress_done = isfinite(done) ? done : 0;
    ctx->progress_total = isfinite(total) ? total : 0;
    snprintf(ctx->progress_unit, sizeof ctx->progress_unit, "%s", unit ? unit : "");
    ctx->progress_pending = 1;
    if (ctx->progress_last == 0 || monotonic_now() - ctx->progress_last >= PROGRESS_INTERVAL)
        send_progress(ctx);
}

static void host_metric(kiln_ctx *ctx, const char *name, double value, int64_t step) {
    if (!ctx || !name || !*name) return;
    json_t *jname = json_string(name);
    if (!jname) return; /* not UTF-8: not a usable metric name */
    /* JSON has no NaN or infinity: such a value is recorded as null. */
    json_t *v1 = isfinite(value) ? json_real(value) : json_null();
    json_t *v2 = isfinite(value) ? json_real(value) : json_null();
    json_t *rec = json_object();
    json_object_set_new(rec, "value", v1);
    json_object_set_new(rec, "step", json_integer(step));
    json_object_set_new(ctx->metrics, name, rec);

    json_t *ev = ctx_event(ctx, "metric");
    json_object_set_new(ev, "name", jname);
    json_object_set_new(ev, "value", v2);
    json_object_set_new(ev, "step", json_integer(step));
    kiln_ctx_emit(ctx, ev);
}

static int host_cancelled(kiln_ctx *ctx) {
    return ctx && ctx->cancel_flag && *ctx->cancel_flag != 0;
}

static int host_fail(kiln_ctx *ctx, const char *fmt, ...) KILN_PRINTF(2, 3);
static int host_fail(kiln_ctx *ctx, const char *fmt, ...) {
    if (!ctx || ctx->failed) return KILN_EINVAL; /* the first message wins */
    ctx->failed = 1;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->fail_message, sizeof ctx->fail_message, fmt, ap);
        va_end(ap);
    }
    if (!ctx->fail_message[0]) snprintf(ctx->fail_message, sizeof ctx->fail_message, "op failed (empty message)");
    utf8_sanitize(ctx->fail_message);
    return KILN_EINVAL;
}

static int host_threads(kiln_ctx *ctx) {
    return ctx && ctx->threads > 0 ? ctx->threads : 1;
}

/* ---------------------------------------------------------------------------------------- */
/* ctx-less slots                                                                            */
/* ---------------------------------------------------------------------------------------- */

static int host_sha256_file(const char *path, char hex_out[65], kiln_error *err) {
    return kiln_sha256_file(path, hex_out, NULL, err);
}

/* ---------------------------------------------------------------------------------------- */
/* The table                                                                                 */
/* ---------------------------------------------------------------------------------------- */

static const kiln_host_api host_api = {
    .struct_size = sizeof(kiln_host_api),
    .abi_major = KILN_PLUGIN_ABI_MAJOR,
    .abi_minor = KILN_PLUGIN_ABI_MINOR,
    /* params */
    .params = host_params,
    /* inputs */
    .input_count = host_input_count,
    .input_path = host_input_path,
    .input_info = host_input_info,
    /* outputs */
    .output_path = host_output_path,
    .set_output_name = host_set_output_name,
    /* directories */
    .scratch_dir = host_scratch_dir,
    .checkpoint_dir = host_checkpoint_dir,
    /* reporting */
    .log = host_log,
    .progress = host_progress,
    .metric = host_metric,
    .cancelled = host_cancelled,
    .fail = host_fail,
    .threads = host_threads,
    /* safetensors reading */
    .tensors_open = kiln_tensors_open,
    .tensors_close = kiln_tensors_close,
    .tensors_count = kiln_tensors_count,
    .tensors_at = kiln_tensors_at,
    .tensors_get = kiln_tensors_get,
    .tensors_metadata = kiln_tensors_metadata,
    /* safetensors writing */
    .tensors_writer_new = kiln_tensors_writer_new,
    .tensors_writer_add = kiln_tensors_writer_add,
    .tensors_writer_set_meta = kiln_tensors_writer_set_meta,
    .tensors_writer_finish = kiln_tensors_writer_finish,
    .tensors_writer_free = kiln_tensors_writer_free,
    /* JSON artifacts */
    .json_read = kiln_json_read,
    .json_write = kiln_json_write,
    /* hashing */
    .sha256_file = host_sha256_file,
};

const kiln_host_api *kiln_host_api_table(void) {
    return &host_api;
}
