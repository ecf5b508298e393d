/* kiln_test.c -- plugin "test": small, fast, deterministic ops that the core's tests (unit,
 * end-to-end, benchmarks) build graphs from. Loaded through the production loader like any
 * other plugin (KILN_PLUGIN_PATH=<build>/tests/plugins).
 *
 *   test.echo     message + the contents of every "items" input, in order -> out (echo.txt)
 *   test.source   param "text", or a copy of the input-file param "file" -> out (source.txt)
 *   test.sleep    sleeps "seconds", polling cancelled() every 10 ms, with progress -> out
 *   test.fail     fails with "message", writes nothing
 *   test.crash    writes part of its output, then dies of SIGSEGV (a NULL write)
 *   test.noop     fixed content -> out (benchmarks: the cost of one node)
 *   test.tensors  a small safetensors dataset (x F32 [4,3], y I64 [4]) -> dataset
 *   test.count    the number of "items" inputs, as "N\n" -> out (sweep gathering)
 *   test.param    "value=<number>\n" (and "tag=<tag>\n") -> out, metric "value"
 *   test.nowrite  returns success without writing its output (a buggy op)
 *   test.flaky    fails until it has been attempted "fail_times" times, counting attempts
 *                 in its checkpoint dir (which survives retries and re-runs) -> out
 *   test.stats    reads a dataset (safetensors) through the host API -> metrics JSON
 *   test.gate     waits until the file "path" exists, polling cancelled() -> out (API tests
 *                 hold a node running across kill -9 / shutdown; a retry finishes at once)
 *
 * Only test.sleep is non-deterministic (always run, so scheduling, timeout and cancel tests
 * see it run every time); every other op is deterministic, so a re-run is served from the
 * action cache (failures are never cached, so a fixed graph re-runs exactly what failed). */
#include <kiln/plugin.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static const char *param_string(const kiln_host_api *host, kiln_ctx *ctx, const char *name, const char *dflt) {
    const char *s = json_string_value(json_object_get(host->params(ctx), name));
    return s ? s : dflt;
}

/* Opens output `port` for writing, or fails the op. */
static FILE *open_output(const kiln_host_api *host, kiln_ctx *ctx, const char *port, int *rc) {
    const char *path = host->output_path(ctx, port);
    if (!path) {
        *rc = host->fail(ctx, "output '%s': the host gave no path", port);
        return NULL;
    }
    FILE *f = fopen(path, "wb");
    if (!f) *rc = host->fail(ctx, "output '%s': cannot create %s: %s", port, path, strerror(errno));
    return f;
}

static int close_output(const kiln_host_api *host, kiln_ctx *ctx, FILE *f, const char *port) {
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return host->fail(ctx, "output '%s': write failed: %s", port, strerror(errno));
    return 0;
}

/* Appends the bytes of the file at `path` to `out`. */
static int append_file(const kiln_host_api *host, kiln_ctx *ctx, FILE *out, const char *path, const char *what) {
    FILE *in = fopen(path, "rb");
    if (!in) return host->fail(ctx, "%s: cannot open %s: %s", what, path, strerror(errno));
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) break;
    int bad = ferror(in) || ferror(out);
    fclose(in);
    if (bad) return host->fail(ctx, "%s: copying %s failed", what, path);
    return 0;
}

static int write_text(const kiln_host_api *host, kiln_ctx *ctx, const char *port, const char *text) {
    int rc = 0;
    FILE *f = open_output(host, ctx, port, &rc);
    if (!f) return rc;
    fputs(text, f);
    return close_output(host, ctx, f, port);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The shortest "%.*g" form of v that reads back as v: 0.05 -> "0.05", 3.0 -> "3". */
static void canonical_number(double v, char *buf, size_t len) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* ops                                                                                       */
/* ---------------------------------------------------------------------------------------- */

static int echo_run(const kiln_host_api *host, kiln_ctx *ctx) {
    const char *message = param_string(host, ctx, "message", "hello");
    int rc = 0;
    FILE *f = open_output(host, ctx, "out", &rc);
    if (!f) return rc;
    fputs(message, f);
    int n = host->input_count(ctx, "items");
    for (int i = 0; i < n && rc == 0; i++) {
        char what[64];
        snprintf(what, sizeof what, "input 'items'[%d]", i);
        rc = append_file(host, ctx, f, host->input_path(ctx, "items", i), what);
    }
    if (rc) {
        fclose(f);
        return rc;
    }
    host->log(ctx, KILN_LOG_INFO, "echo: message of %zu bytes and %d item(s)", strlen(message), n < 0 ? 0 : n);
    return close_output(host, ctx, f, "out");
}

static int source_run(const kiln_host_api *host, kiln_ctx *ctx) {
    const char *text = param_string(host, ctx, "text", NULL);
    const char *file = param_string(host, ctx, "file", NULL);
    if (text && file) return host->fail(ctx, "params: give 'text' or 'file', not both");
    if (!text && !file) return host->fail(ctx, "params: expected 'text' (a string) or 'file' (an input file)");
    if (text) return write_text(host, ctx, "out", text);
    int rc = 0;
    FILE *f = open_output(host, ctx, "out", &rc);
    if (!f) return rc;
    rc = append_file(host, ctx, f, file, "param 'file'");
    if (rc) {
        fclose(f);
        return rc;
    }
    return close_output(host, ctx, f, "out");
}

static int sleep_run(const kiln_host_api *host, kiln_ctx *ctx) {
    double seconds = json_number_value(json_object_get(host->params(ctx), "seconds"));
    double start = now_s();
    for (;;) {
        double elapsed = now_s() - start;
        if (elapsed >= seconds) break;
        if (host->cancelled(ctx)) {
            host->log(ctx, KILN_LOG_INFO, "sleep: cancelled after %.2f s", elapsed);
            return KILN_ECANCELLED;
        }
        host->progress(ctx, elapsed, seconds, "second");
        sleep_ms(10);
    }
    host->progress(ctx, seconds, seconds, "second");
    char text[64];
    char num[32];
    canonical_number(seconds, num, sizeof num);
    snprintf(text, sizeof text, "slept %s\n", num);
    return write_text(host, ctx, "out", text);
}

static int fail_run(const kiln_host_api *host, kiln_ctx *ctx) {
    return host->fail(ctx, "%s", param_string(host, ctx, "message", "test.fail failed as asked"));
}

/* The crash must be a real SIGSEGV in every build: sanitizers check NULL stores (UBSan) and
 * install their own SIGSEGV handler (ASan) that would turn the signal into an exit code. */
#if defined(__GNUC__)
__attribute__((no_sanitize("null"), no_sanitize_address, noinline))
#endif
static void crash_now(void) {
    signal(SIGSEGV, SIG_DFL);
    volatile int *volatile target = NULL;
    *target = 42;
    raise(SIGSEGV); /* in case an optimiser still found a way around the write */
}

static int crash_run(const kiln_host_api *host, kiln_ctx *ctx) {
    int rc = 0;
    FILE *f = open_output(host, ctx, "out", &rc);
    if (!f) return rc;
    fputs("partial output, then a crash", f);
    fclose(f);
    host->log(ctx, KILN_LOG_WARN, "crash: writing through a NULL pointer");
    crash_now();
    return host->fail(ctx, "crash: still alive after a NULL write");
}

static int noop_run(const kiln_host_api *host, kiln_ctx *ctx) {
    return write_text(host, ctx, "out", "noop\n");
}

static int tensors_run(const kiln_host_api *host, kiln_ctx *ctx) {
    float x[4][3];
    int64_t y[4];
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 3; j++) x[i][j] = (float)(i * 3 + j) / 4.0f;
        y[i] = i % 2;
    }
    const int64_t xshape[2] = {4, 3}, yshape[1] = {4};
    kiln_error err = {0};
    kiln_tensors_writer *w = host->tensors_writer_new();
    if (!w) return host->fail(ctx, "tensors: out of memory");
    int rc = host->tensors_writer_add(w, "x", KILN_DTYPE_F32, 2, xshape, x, 0, &err);
    if (rc == 0) rc = host->tensors_writer_add(w, "y", KILN_DTYPE_I64, 1, yshape, y, 0, &err);
    if (rc == 0) rc = host->tensors_writer_set_meta(w, "source", "kiln test.tensors");
    if (rc == 0) rc = host->tensors_writer_finish(w, host->output_path(ctx, "dataset"), &err);
    host->tensors_writer_free(w);
    if (rc) {
        host->fail(ctx, "tensors: %s", err.message[0] ? err.message : "writing the dataset failed");
        return rc < 0 ? rc : KILN_EIO;
    }
    return 0;
}

static int count_run(const kiln_host_api *host, kiln_ctx *ctx) {
    char text[32];
    int n = host->input_count(ctx, "items");
    snprintf(text, sizeof text, "%d\n", n < 0 ? 0 : n);
    return write_text(host, ctx, "out", text);
}

static int param_run(const kiln_host_api *host, kiln_ctx *ctx) {
    double value = json_number_value(json_object_get(host->params(ctx), "value"));
    const char *tag = param_string(host, ctx, "tag", "");
    char num[32];
    canonical_number(value, num, sizeof num);
    size_t len = strlen(num) + strlen(tag) + 32;
    char *text = malloc(len);
    if (!text) return host->fail(ctx, "param: out of memory");
    if (*tag) snprintf(text, len, "value=%s\ntag=%s\n", num, tag);
    else snprintf(text, len, "value=%s\n", num);
    int rc = write_text(host, ctx, "out", text);
    free(text);
    if (rc == 0) host->metric(ctx, "value", value, 0);
    return rc;
}

/* Counts attempts in checkpoint_dir/attempts; fails while the count <= fail_times. */
static int flaky_run(const kiln_host_api *host, kiln_ctx *ctx) {
    json_int_t fail_times = json_integer_value(json_object_get(host->params(ctx), "fail_times"));
    char path[4096];
    snprintf(path, sizeof path, "%s/attempts", host->checkpoint_dir(ctx));
    long attempts = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &attempts) != 1) attempts = 0;
        fclose(f);
    }
    attempts++;
    f = fopen(path, "w");
    if (!f) return host->fail(ctx, "flaky: cannot write %s: %s", path, strerror(errno));
    fprintf(f, "%ld\n", attempts);
    fclose(f);
    if (attempts <= fail_times)
        return host->fail(ctx, "flaky: attempt %ld of %lld planned failures", attempts, (long long)fail_times);
    char text[64];
    snprintf(text, sizeof text, "succeeded at attempt %ld\n", attempts);
    return write_text(host, ctx, "out", text);
}

/* Reads the dataset and writes {"samples": N, "features": F} as metrics. */
static int stats_run(const kiln_host_api *host, kiln_ctx *ctx) {
    kiln_error err = {0};
    kiln_tensors *t = host->tensors_open(host->input_path(ctx, "dataset", 0), &err);
    if (!t) return host->fail(ctx, "stats: %s", err.message);
    kiln_tensor x;
    int rc = host->tensors_get(t, "x", &x);
    if (rc != 0) {
        host->tensors_close(t);
        return host->fail(ctx, "stats: dataset has no tensor 'x'");
    }
    json_int_t features = 1;
    for (int i = 1; i < x.ndim; i++) features *= x.shape[i];
    json_t *m = json_pack("{s:I, s:I}", "samples", (json_int_t)(x.ndim ? x.shape[0] : 0), "features", features);
    host->tensors_close(t);
    rc = host->json_write(host->output_path(ctx, "metrics"), m, &err);
    json_decref(m);
    if (rc != 0) return host->fail(ctx, "stats: %s", err.message);
    return 0;
}

/* Waits (polling cancelled() every 10 ms) until the file named by 'path' exists, then
 * writes "gate opened". Deterministic: a test holds a node running for as long as it
 * needs (kill -9 the server, a clean shutdown) and a retry finishes at once. */
static int gate_run(const kiln_host_api *host, kiln_ctx *ctx) {
    const char *path = param_string(host, ctx, "path", "");
    host->log(ctx, KILN_LOG_INFO, "gate: waiting for %s", path);
    while (access(path, F_OK) != 0) {
        if (host->cancelled(ctx)) {
            host->log(ctx, KILN_LOG_INFO, "gate: cancelled while waiting");
            return KILN_ECANCELLED;
        }
        sleep_ms(10);
    }
    return write_text(host, ctx, "out", "gate opened\n");
}

static int nowrite_run(const kiln_host_api *host, kiln_ctx *ctx) {
    host->log(ctx, KILN_LOG_INFO, "nowrite: returning success without writing 'out'");
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* ports and ops                                                                             */
/* ---------------------------------------------------------------------------------------- */

static const kiln_port_def items_optional[] = {
    {"items", KILN_TYPE_FILE, KILN_LIST, KILN_PORT_OPTIONAL, NULL, "files appended after the message, in order"},
    {NULL, 0, 0, 0, NULL, NULL}};
static const kiln_port_def items_required[] = {
    {"items", KILN_TYPE_FILE, KILN_LIST, 0, NULL, "the artifacts to count"},
    {NULL, 0, 0, 0, NULL, NULL}};

#define OUT_PORT(fname, what) \
    static const kiln_port_def out_##fname[] = {{"out", KILN_TYPE_FILE, KILN_ONE, 0, #fname ".txt", what}, \
                                                {NULL, 0, 0, 0, NULL, NULL}}
OUT_PORT(echo, "the message, then each item");
OUT_PORT(source, "the text or the file's bytes");
OUT_PORT(sleep, "\"slept N\"");
OUT_PORT(fail, "never written");
OUT_PORT(crash, "partly written, never complete");
OUT_PORT(noop, "\"noop\"");
OUT_PORT(count, "the number of items");
OUT_PORT(param, "\"value=...\"");
OUT_PORT(nowrite, "never written");

OUT_PORT(flaky, "\"succeeded at attempt N\"");
OUT_PORT(gate, "\"gate opened\"");

static const kiln_port_def in_dataset[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, NULL, "a safetensors dataset"},
    {NULL, 0, 0, 0, NULL, NULL}};
static const kiln_port_def out_metrics[] = {
    {"metrics", KILN_TYPE_METRICS, KILN_ONE, 0, "metrics.json", "samples and features"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def out_dataset[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, "dataset.safetensors", "x F32 [4,3], y I64 [4]"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_op_def op_echo = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.echo",
    .summary = "writes the message, then the contents of each input in order",
    .params_schema = "{\"type\": \"object\", \"properties\": {"
                     "\"message\": {\"type\": \"string\", \"default\": \"hello\", \"description\": \"text written first\"}}}",
    .inputs = items_optional,
    .outputs = out_echo,
    .flags = KILN_OP_DETERMINISTIC,
    .run = echo_run,
};

static const kiln_op_def op_source = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.source",
    .summary = "writes 'text', or copies the input file 'file'",
    .params_schema = "{\"type\": \"object\", \"properties\": {"
                     "\"text\": {\"type\": \"string\", \"description\": \"the bytes to write\"},"
                     "\"file\": {\"type\": \"string\", \"format\": \"input-file\", \"description\": \"a file to copy\"}}}",
    .inputs = NULL,
    .outputs = out_source,
    .flags = KILN_OP_DETERMINISTIC,
    .run = source_run,
};

static const kiln_op_def op_sleep = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.sleep",
    .summary = "sleeps, polling cancelled() every 10 ms and reporting progress (always runs)",
    .params_schema = "{\"type\": \"object\", \"properties\": {"
                     "\"seconds\": {\"type\": \"number\", \"minimum\": 0, \"default\": 1, \"description\": \"how long\"},"
                     "\"threads\": {\"type\": \"integer\", \"minimum\": 1, \"default\": 1, \"description\": \"CPU slots it occupies\"}}}",
    .inputs = items_optional,
    .outputs = out_sleep,
    .flags = 0,
    .run = sleep_run,
};

static const kiln_op_def op_fail = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.fail",
    .summary = "fails with 'message', writes nothing",
    .params_schema = "{\"type\": \"object\", \"properties\": {"
                     "\"message\": {\"type\": \"string\", \"default\": \"test.fail failed as asked\"}}}",
    .inputs = items_optional,
    .outputs = out_fail,
    .flags = KILN_OP_DETERMINISTIC,
    .run = fail_run,
};

static const kiln_op_def op_crash = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.crash",
    .summary = "writes part of its output, then dies of SIGSEGV",
    .params_schema = NULL,
    .inputs = items_optional,
    .outputs = out_crash,
    .flags = KILN_OP_DETERMINISTIC,
    .run = crash_run,
};

static const kiln_op_def op_noop = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.noop",
    .summary = "writes fixed content (the cost of one node)",
    .params_schema = NULL,
    .inputs = NULL,
    .outputs = out_noop,
    .flags = KILN_OP_DETERMINISTIC,
    .run = noop_run,
};

static const kiln_op_def op_tensors = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.tensors",
    .summary = "writes a small safetensors dataset through the host API",
    .params_schema = NULL,
    .inputs = NULL,
    .outputs = out_dataset,
    .flags = KILN_OP_DETERMINISTIC,
    .run = tensors_run,
};

static const kiln_op_def op_count = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.count",
    .summary = "writes how many artifacts the list input 'items' gathered",
    .params_schema = NULL,
    .inputs = items_required,
    .outputs = out_count,
    .flags = KILN_OP_DETERMINISTIC,
    .run = count_run,
};

static const kiln_op_def op_param = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.param",
    .summary = "writes \"value=<value>\" (distinct output per sweep value) and reports it as a metric",
    .params_schema = "{\"type\": \"object\", \"properties\": {"
                     "\"value\": {\"type\": \"number\", \"description\": \"any number\"},"
                     "\"tag\": {\"type\": \"string\", \"default\": \"\", \"description\": \"written as tag=... when set\"}},"
                     " \"required\": [\"value\"]}",
    .inputs = items_optional,
    .outputs = out_param,
    .flags = KILN_OP_DETERMINISTIC,
    .run = param_run,
};

static const kiln_op_def op_nowrite = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.nowrite",
    .summary = "returns success without writing its output (the host must fail it)",
    .params_schema = NULL,
    .inputs = NULL,
    .outputs = out_nowrite,
    .flags = KILN_OP_DETERMINISTIC,
    .run = nowrite_run,
};

static const kiln_op_def op_flaky = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.flaky",
    .summary = "fails until attempted more than 'fail_times' times (attempts counted in the checkpoint dir)",
    .params_schema = "{\"type\": \"object\", \"properties\": {"
                     "\"fail_times\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 1}}}",
    .inputs = NULL,
    .outputs = out_flaky,
    .flags = KILN_OP_DETERMINISTIC,
    .run = flaky_run,
};

static const kiln_op_def op_stats = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.stats",
    .summary = "reads a dataset through the host API, writes its sample and feature counts",
    .params_schema = NULL,
    .inputs = in_dataset,
    .outputs = out_metrics,
    .flags = KILN_OP_DETERMINISTIC,
    .run = stats_run,
};

static const kiln_op_def op_gate = {
    .struct_size = sizeof(kiln_op_def),
    .name = "test.gate",
    .summary = "waits until the file 'path' exists, then writes \"gate opened\" (holds a node running for a test)",
    .params_schema = "{\"type\": \"object\", \"properties\": {"
                     "\"path\": {\"type\": \"string\", \"description\": \"the file whose creation opens the gate\"}},"
                     " \"required\": [\"path\"]}",
    .inputs = items_optional,
    .outputs = out_gate,
    .flags = KILN_OP_DETERMINISTIC,
    .run = gate_run,
};

static const kiln_op_def *const test_ops[] = {&op_echo,  &op_source, &op_sleep,   &op_fail,  &op_crash,
                                              &op_noop,  &op_tensors, &op_count, &op_param, &op_nowrite,
                                              &op_flaky, &op_stats,   &op_gate,  NULL};

static const kiln_plugin_desc test_plugin = {
    .abi_major = KILN_PLUGIN_ABI_MAJOR,
    .abi_minor = KILN_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(kiln_plugin_desc),
    .name = "test",
    .version = "1.0.0",
    .summary = "ops for kiln's own tests and benchmarks",
    .ops = test_ops,
    .exporters = NULL,
    .init = NULL,
};

KILN_PLUGIN_DEFINE(test_plugin)
