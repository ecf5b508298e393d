/* exec_node.c -- `kiln exec-node`: run one op instance from a spec file (see exec_node.h).
 *
 * Steps, each with its own exit status:
 *   1. signals and the events fd (CLOEXEC, so nothing the op spawns inherits it);
 *   2. read and check the spec, field by field (2 on any problem, the message names the
 *      spec file and the field); with "relative_paths", relative paths in it are made
 *      absolute against the current directory first (a Bazel action's spec names the
 *      files of its sandbox so);
 *   3. load ONLY the spec's plugin through the production loader (3 when refused) and
 *      find the op (2 when the plugin has no such op); check the params against its schema;
 *      check input-file params against "file_digests" when given; fill a missing
 *      "digest" of an input's info with the input file's sha256;
 *   4. make work_dir/out and work_dir/scratch fresh, the checkpoint dir if missing;
 *   5. run the op (1 on failure, 143 when cancelled); the outputs it wrote are discarded
 *      on failure;
 *   6. check every declared output is a regular file (1 when one is missing);
 *   7. put the outputs into the store (move) and/or copy them to output_paths (4 on error);
 *   8. send the "result" event, remove scratch/. Each output in the result has "digest",
 *      "size", "file_name", "type", and, only when no store was given, "path" (the file,
 *      left in work_dir/out/).
 *
 * Signals: SIGTERM sets the cancel flag the op polls (host->cancelled). SIGINT is ignored:
 * exec-node always runs under a parent (kiln run, the API server, Bazel) that owns
 * cancellation and sends SIGTERM (then SIGKILL); a terminal's Ctrl-C reaches the whole
 * process group and must not cancel nodes behind the parent's back. Both are handled by
 * functions rather than SIG_IGN so that programs the op executes get default dispositions.
 * SIGPIPE is handled the same way: a vanished parent shows up as EPIPE on the events fd,
 * which cancels the node (see kiln_ctx_emit). */
#include "exec_node.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "events.h"
#include "fsutil.h"
#include "jsonio.h"
#include "registry.h"
#include "schema.h"
#include "sha256.h"
#include "store.h"

enum {
    EXIT_OK = 0,
    EXIT_OP_FAILED = 1,
    EXIT_BAD_SPEC = 2,
    EXIT_PLUGIN = 3,
    EXIT_STORE = 4,
    EXIT_CANCELLED = 143
};

/* The one piece of global mutable state in the core: set by the SIGTERM handler, read by
 * host->cancelled() through ctx->cancel_flag. */
static volatile sig_atomic_t g_cancelled;

static void on_sigterm(int sig) {
    (void)sig;
    g_cancelled = 1;
}

static void on_ignored_signal(int sig) {
    (void)sig;
}

typedef struct saved_signals {
    struct sigaction term, intr, pipe;
} saved_signals;

static void install_signals(saved_signals *saved) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_sigterm;
    sigaction(SIGTERM, &sa, &saved->term);
    sa.sa_handler = on_ignored_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &saved->intr);
    sigaction(SIGPIPE, &sa, &saved->pipe);
}

static void restore_signals(const saved_signals *saved) {
    sigaction(SIGTERM, &saved->term, NULL);
    sigaction(SIGINT, &saved->intr, NULL);
    sigaction(SIGPIPE, &saved->pipe, NULL);
}

static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *port_type_name(kiln_port_type t) {
    switch (t) {
    case KILN_TYPE_DATASET: return "dataset";
    case KILN_TYPE_MODEL: return "model";
    case KILN_TYPE_METRICS: return "metrics";
    case KILN_TYPE_WHEEL: return "wheel";
    case KILN_TYPE_FILE: return "file";
    }
    return "file";
}

/* What a JSON value is, for "expected X, got Y" messages. */
static const char *json_kind(const json_t *v) {
    if (!v) return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

static int is_plain_file_name(const char *s) {
    return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && strlen(s) <= 255;
}

/* ---------------------------------------------------------------------------------------- */
/* The run's state                                                                           */
/* ---------------------------------------------------------------------------------------- */

typedef struct run_state {
    const char *spec_path;
    int events_fd;
    json_t *spec;               /* owned */
    const char *job, *node;     /* borrowed from spec (may be NULL) */
    const char *plugin_path, *op_name, *work_dir, *store_home;
    json_t *params;             /* borrowed from spec (or owned_params) */
    json_t *owned_params;       /* owned when the spec had no params */
    json_t *inputs;             /* borrowed from spec, or NULL */
    json_t *spec_outputs;       /* borrowed from spec, or NULL */
    json_t *output_paths;       /* borrowed from spec, or NULL */
    int threads;                /* 0: not given */
    int relative_paths;         /* spec's "relative_paths": relative paths are against the cwd */
    char *checkpoint_dir;       /* owned */
    char *out_dir, *scratch_dir;/* owned */
    kiln_registry *reg;         /* owned */
    const kiln_op_entry *op;    /* borrowed from reg */
    char message[KILN_ERROR_MESSAGE_MAX]; /* why it failed */
} run_state;

/* Sets st->message (printf) and returns `status`. */
static int failf(run_state *st, int status, const char *fmt, ...) KILN_PRINTF(3, 4);
static int failf(run_state *st, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
    return status;
}

/* A spec field problem: "spec FILE: field 'F': expected E, got K". */
#define SPEC_FIELD(st, field, expected, value) \
    failf((st), EXIT_BAD_SPEC, "spec %s: field '%s': expected %s, got %s", (st)->spec_path, (field), (expected), \
          json_kind(value))

/* An optional string field: absent -> *out = NULL. Returns 0 or EXIT_BAD_SPEC. */
static int opt_string(run_state *st, const char *field, const char **out, int absolute) {
    json_t *v = json_object_get(st->spec, field);
    *out = NULL;
    if (!v) return 0;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return SPEC_FIELD(st, field, absolute ? "an absolute path" : "a non-empty string", v);
    if (absolute && json_string_value(v)[0] != '/')
        return failf(st, EXIT_BAD_SPEC, "spec %s: field '%s': expected an absolute path, got '%s'", st->spec_path, field,
                     json_string_value(v));
    *out = json_string_value(v);
    return 0;
}

static int req_string(run_state *st, const char *field, const char **out, int absolute) {
    int rc = opt_string(st, field, out, absolute);
    if (rc) return rc;
    if (!*out)
        return failf(st, EXIT_BAD_SPEC, "spec %s: field '%s' is missing (expected %s)", st->spec_path, field,
                     absolute ? "an absolute path" : "a string");
    return 0;
}

/* Replaces the relative path string at `obj[key]` (when it is one) by its absolute form
 * against the current directory. Anything else is left for the field checks to judge. */
static void absolutize_member(json_t *obj, const char *key) {
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s || !*s || s[0] == '/') return;
    char *abs = kiln_path_absolute(NULL, s);
    json_object_set_new(obj, key, json_string(abs));
    free(abs);
}

/* With "relative_paths": true, relative paths in the spec are relative to the directory
 * exec-node runs in: top-level
 * path fields, inputs' "path", output_paths. (Input-file params are resolved once the
 * op's schema says which params name files: see check_spec_against_op.) */
static void absolutize_paths(json_t *spec) {
    static const char *const fields[] = {"plugin_path", "work_dir", "checkpoint_dir", "store"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) absolutize_member(spec, fields[i]);
    const char *port;
    json_t *v;
    json_object_foreach(json_object_get(spec, "inputs"), port, v) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) absolutize_member(item, "path");
    }
    json_t *paths = json_object_get(spec, "output_paths");
    json_object_foreach(paths, port, v) absolutize_member(paths, port);
}

/* Step 2, part one: the fields that do not need the op. */
static int read_spec(run_state *st) {
    kiln_error err = {0};
    st->spec = kiln_json_read(st->spec_path, &err);
    if (!st->spec) return failf(st, EXIT_BAD_SPEC, "spec: %s", err.message);
    if (!json_is_object(st->spec))
        return failf(st, EXIT_BAD_SPEC, "spec %s: expected a JSON object at the top, got %s", st->spec_path,
                     json_kind(st->spec));
    json_t *rel = json_object_get(st->spec, "relative_paths");
    if (rel && !json_is_boolean(rel)) return SPEC_FIELD(st, "relative_paths", "a boolean", rel);
    st->relative_paths = json_is_true(rel);
    if (st->relative_paths) absolutize_paths(st->spec);
    /* job and node first: every later event can carry them. */
    int rc;
    if ((rc = opt_string(st, "job", &st->job, 0)) || (rc = opt_string(st, "node", &st->node, 0))) return rc;

    json_t *v = json_object_get(st->spec, "kiln_spec");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        if (json_is_integer(v))
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'kiln_spec': expected 1, got %lld (written by a newer kiln?)",
                         st->spec_path, (long long)json_integer_value(v));
        return SPEC_FIELD(st, "kiln_spec", "the integer 1", v);
    }
    if ((rc = req_string(st, "plugin_path", &st->plugin_path, 1)) || (rc = req_string(st, "op", &st->op_name, 0)) ||
        (rc = req_string(st, "work_dir", &st->work_dir, 1)) || (rc = opt_string(st, "store", &st->store_home, 1)))
        return rc;
    const char *ckpt = NULL;
    if ((rc = opt_string(st, "checkpoint_dir", &ckpt, 1))) return rc;
    st->checkpoint_dir = ckpt ? strdup(ckpt) : kiln_path_join(st->work_dir, "checkpoint");

    v = json_object_get(st->spec, "params");
    if (v && !json_is_object(v)) return SPEC_FIELD(st, "params", "an object", v);
    if (!v) st->params = st->owned_params = json_object();
    else st->params = v;

    v = json_object_get(st->spec, "threads");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65536)
            return SPEC_FIELD(st, "threads", "an integer >= 1", v);
        st->threads = (int)json_integer_value(v);
    }

    v = json_object_get(st->spec, "inputs");
    if (v && !json_is_object(v)) return SPEC_FIELD(st, "inputs", "an object {\"port\": [{\"path\": ...}]}", v);
    st->inputs = v;
    v = json_object_get(st->spec, "outputs");
    if (v && !json_is_object(v)) return SPEC_FIELD(st, "outputs", "an object {\"port\": {\"type\", \"file_name\"}}", v);
    st->spec_outputs = v;
    v = json_object_get(st->spec, "output_paths");
    if (v && !json_is_object(v)) return SPEC_FIELD(st, "output_paths", "an object {\"port\": \"/abs/file\"}", v);
    st->output_paths = v;
    return 0;
}

static const kiln_port_def *find_port(const kiln_port_def *ports, const char *name) {
    for (size_t i = 0; ports && ports[i].name; i++)
        if (strcmp(ports[i].name, name) == 0) return &ports[i];
    return NULL;
}

/* "a, b, c": the names of a port table, for "known: ..." hints. */
static void port_names(const kiln_port_def *ports, char *buf, size_t len) {
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; ports && ports[i].name && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", ports[i].name);
        if (w < 0) break;
        used += (size_t)w;
    }
    if (!buf[0]) snprintf(buf, len, "none");
}

/* Input files, after the op is known: with "relative_paths", input-file params given as
 * relative paths become absolute (against the current directory); each "file_digests" entry {"param": "<sha256>"}
 * must name an input-file param whose file has that sha256 (a Bazel action checks that
 * the labelled data file is the one the graph was planned with); an input's "info" without
 * "digest" gets the sha256 of the input file, so input_info reads as under `kiln run`. */
static int check_input_files(run_state *st) {
    const char *name;
    json_t *v;
    json_t *params = st->params;
    json_object_foreach(params, name, v) {
        if (st->relative_paths && kiln_schema_is_input_file(st->op->schema, name)) absolutize_member(params, name);
    }
    json_t *digests = json_object_get(st->spec, "file_digests");
    if (digests && !json_is_object(digests))
        return SPEC_FIELD(st, "file_digests", "an object {\"param\": \"<sha256>\"}", digests);
    json_object_foreach(digests, name, v) {
        const char *path = json_string_value(json_object_get(params, name));
        if (!kiln_schema_is_input_file(st->op->schema, name) || !path)
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'file_digests/%s': op '%s' has no input-file param '%s' in params",
                         st->spec_path, name, st->op->def->name, name);
        if (!json_is_string(v) || !kiln_is_digest(json_string_value(v)))
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'file_digests/%s': expected a sha256 (64 lowercase hex), got %s",
                         st->spec_path, name, json_kind(v));
        char hex[65];
        kiln_error err = {0};
        if (kiln_sha256_file(path, hex, NULL, &err) != 0)
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'file_digests/%s': %s", st->spec_path, name, err.message);
        if (strcmp(hex, json_string_value(v)) != 0)
            return failf(st, EXIT_BAD_SPEC,
                         "spec %s: field 'file_digests/%s': %s has sha256 %s, expected %s (the file changed after the "
                         "graph was planned)",
                         st->spec_path, name, path, hex, json_string_value(v));
    }
    json_object_foreach(st->inputs, name, v) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            json_t *info = json_object_get(item, "info");
            if (!json_is_object(info) || json_object_get(info, "digest")) continue;
            char hex[65];
            kiln_error err = {0};
            if (kiln_sha256_file(json_string_value(json_object_get(item, "path")), hex, NULL, &err) != 0)
                return failf(st, EXIT_BAD_SPEC, "spec %s: field 'inputs/%s/%zu/path': %s", st->spec_path, name, i,
                             err.message);
            json_object_set_new(info, "digest", json_string(hex));
        }
    }
    return 0;
}

/* Step 2, part two: the fields checked against the op's declaration. */
static int check_spec_against_op(run_state *st) {
    const kiln_op_def *op = st->op->def;
    char known[512];
    const char *port;
    json_t *v;

    json_object_foreach(st->inputs, port, v) {
        const kiln_port_def *p = find_port(op->inputs, port);
        if (!p) {
            port_names(op->inputs, known, sizeof known);
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'inputs/%s': op '%s' has no input '%s' (known: %s)", st->spec_path,
                         port, op->name, port, known);
        }
        if (!json_is_array(v))
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'inputs/%s': expected an array of {\"path\": ...}, got %s",
                         st->spec_path, port, json_kind(v));
        if (p->cardinality == KILN_ONE && json_array_size(v) > 1)
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'inputs/%s': input '%s' takes one artifact, got %zu",
                         st->spec_path, port, port, json_array_size(v));
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            json_t *path = json_object_get(item, "path");
            if (!json_is_object(item) || !json_is_string(path) || json_string_value(path)[0] != '/')
                return failf(st, EXIT_BAD_SPEC, "spec %s: field 'inputs/%s/%zu/path': expected an absolute path, got %s",
                             st->spec_path, port, i, json_kind(path));
            json_t *info = json_object_get(item, "info");
            if (info && !json_is_object(info))
                return failf(st, EXIT_BAD_SPEC, "spec %s: field 'inputs/%s/%zu/info': expected an object, got %s",
                             st->spec_path, port, i, json_kind(info));
            if (!kiln_is_regular_file(json_string_value(path)))
                return failf(st, EXIT_BAD_SPEC, "spec %s: field 'inputs/%s/%zu/path': %s is not a readable regular file",
                             st->spec_path, port, i, json_string_value(path));
        }
    }
    for (size_t i = 0; op->inputs && op->inputs[i].name; i++) {
        const kiln_port_def *p = &op->inputs[i];
        json_t *arr = st->inputs ? json_object_get(st->inputs, p->name) : NULL;
        if (!(p->flags & KILN_PORT_OPTIONAL) && p->cardinality == KILN_ONE && json_array_size(arr) != 1)
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'inputs/%s': op '%s' requires input '%s' (one artifact)",
                         st->spec_path, p->name, op->name, p->name);
    }

    json_object_foreach(st->spec_outputs, port, v) {
        const kiln_port_def *p = find_port(op->outputs, port);
        if (!p) {
            port_names(op->outputs, known, sizeof known);
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'outputs/%s': op '%s' has no output '%s' (known: %s)",
                         st->spec_path, port, op->name, port, known);
        }
        if (!json_is_object(v))
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'outputs/%s': expected an object {\"type\", \"file_name\"}, got %s",
                         st->spec_path, port, json_kind(v));
        json_t *type = json_object_get(v, "type");
        if (type && (!json_is_string(type) || strcmp(json_string_value(type), port_type_name(p->type)) != 0))
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'outputs/%s/type': expected \"%s\" (as op '%s' declares), got %s%s%s",
                         st->spec_path, port, port_type_name(p->type), op->name, json_is_string(type) ? "\"" : "",
                         json_is_string(type) ? json_string_value(type) : json_kind(type), json_is_string(type) ? "\"" : "");
        json_t *fname = json_object_get(v, "file_name");
        if (fname && (!json_is_string(fname) || !is_plain_file_name(json_string_value(fname))))
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'outputs/%s/file_name': expected a plain file name, got %s",
                         st->spec_path, port, json_kind(fname));
    }
    json_object_foreach(st->output_paths, port, v) {
        if (!find_port(op->outputs, port)) {
            port_names(op->outputs, known, sizeof known);
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'output_paths/%s': op '%s' has no output '%s' (known: %s)",
                         st->spec_path, port, op->name, port, known);
        }
        if (!json_is_string(v) || json_string_value(v)[0] != '/')
            return failf(st, EXIT_BAD_SPEC, "spec %s: field 'output_paths/%s': expected an absolute path, got %s",
                         st->spec_path, port, json_kind(v));
    }

    int rc = check_input_files(st);
    if (rc) return rc;

    /* Params: the caller filled defaults; checking again costs little and catches a spec
     * written by hand or by an older planner. */
    kiln_diags diags = {0};
    char where[KILN_ERROR_MESSAGE_MAX];
    snprintf(where, sizeof where, "spec %s", st->spec_path);
    if (kiln_schema_apply(st->op->schema, st->params, NULL, where, &diags) > 0) {
        size_t used = 0;
        for (size_t i = 0; i < diags.count && used < sizeof st->message; i++) {
            int w = snprintf(st->message + used, sizeof st->message - used, "%s%s", i ? "; " : "", diags.items[i]);
            if (w < 0) break;
            used += (size_t)w;
        }
        kiln_diags_free(&diags);
        return EXIT_BAD_SPEC;
    }
    kiln_diags_free(&diags);
    return 0;
}

/* Step 3. */
static int load_plugin(run_state *st) {
    kiln_error err = {0};
    st->reg = kiln_registry_new();
    if (kiln_registry_load_file(st->reg, st->plugin_path, &err) != 0)
        return failf(st, EXIT_PLUGIN, "plugin did not load: %s", err.message);
    /* Keep the code mapped until the process ends, even after kiln_registry_free: an op may
     * leave threads behind (OpenMP pools, say) that would crash in unmapped code. */
    void *pin = dlopen(st->reg->plugins[0].path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD | RTLD_NODELETE);
    if (pin) dlclose(pin);
    st->op = kiln_registry_find_op(st->reg, st->op_name);
    if (!st->op) {
        char hint[512];
        kiln_registry_suggest(st->reg, st->op_name, hint, sizeof hint);
        return failf(st, EXIT_BAD_SPEC, "spec %s: field 'op': plugin %s has no op '%s'%s%s%s", st->spec_path, st->plugin_path,
                     st->op_name, hint[0] ? "; did you mean " : "", hint, hint[0] ? "?" : "");
    }
    return 0;
}

/* Step 4: fresh out/ and scratch/, the checkpoint dir kept. */
static int make_dirs(run_state *st) {
    kiln_error err = {0};
    st->out_dir = kiln_path_join(st->work_dir, "out");
    st->scratch_dir = kiln_path_join(st->work_dir, "scratch");
    if (kiln_mkdir_p(st->work_dir, &err) || kiln_remove_tree(st->out_dir, &err) ||
        kiln_remove_tree(st->scratch_dir, &err) || kiln_mkdir_p(st->out_dir, &err) ||
        kiln_mkdir_p(st->scratch_dir, &err) || kiln_mkdir_p(st->checkpoint_dir, &err))
        return failf(st, EXIT_BAD_SPEC, "spec %s: work_dir/checkpoint_dir: %s", st->spec_path, err.message);
    return 0;
}

/* Fills ctx->outputs: path and file name of every declared output. */
static void setup_outputs(run_state *st, kiln_ctx *ctx) {
    const kiln_op_def *op = st->op->def;
    for (size_t i = 0; op->outputs[i].name; i++) {
        const kiln_port_def *p = &op->outputs[i];
        const char *fname = json_string_value(json_object_get(json_object_get(st->spec_outputs, p->name), "file_name"));
        if (!fname) fname = p->file_name ? p->file_name : p->name;
        char *path = kiln_path_join(st->out_dir, p->name);
        json_t *o = json_pack("{s:s, s:s}", "path", path, "file_name", fname);
        if (!o) abort();
        json_object_set_new(ctx->outputs, p->name, o);
        free(path);
    }
}

/* Steps 6 and 7. Fills `outputs` (the result's) and returns 0, or an exit status with
 * st->message set. */
static int collect_outputs(run_state *st, kiln_ctx *ctx, json_t *outputs) {
    const kiln_op_def *op = st->op->def;
    kiln_error err = {0};
    for (size_t i = 0; op->outputs[i].name; i++) {
        const char *port = op->outputs[i].name;
        const char *path = json_string_value(json_object_get(json_object_get(ctx->outputs, port), "path"));
        struct stat sb;
        if (lstat(path, &sb) != 0)
            return failf(st, EXIT_OP_FAILED, "op did not write output '%s' (expected a file at %s)", port, path);
        if (!S_ISREG(sb.st_mode))
            return failf(st, EXIT_OP_FAILED, "op output '%s' at %s is not a regular file", port, path);
    }
    kiln_store store = {0};
    int have_store = 0;
    if (st->store_home) {
        if (kiln_store_open(&store, st->store_home, &err) != 0)
            return failf(st, EXIT_STORE, "store %s: %s", st->store_home, err.message);
        have_store = 1;
    }
    int status = 0;
    for (size_t i = 0; op->outputs[i].name && status == 0; i++) {
        const kiln_port_def *p = &op->outputs[i];
        json_t *o = json_object_get(ctx->outputs, p->name);
        const char *path = json_string_value(json_object_get(o, "path"));
        char digest[65];
        int64_t size = 0;
        char *where = NULL; /* where the bytes are now: the blob, or out/<port> */
        if (have_store) {
            if (kiln_store_put_file(&store, path, 1, digest, &size, &err) != 0) {
                status = failf(st, EXIT_STORE, "could not store output '%s': %s", p->name, err.message);
                break;
            }
            where = kiln_store_blob_path(&store, digest);
        } else {
            if (kiln_sha256_file(path, digest, &size, &err) != 0) {
                status = failf(st, EXIT_STORE, "could not hash output '%s': %s", p->name, err.message);
                break;
            }
            where = strdup(path);
        }
        const char *copy_to = json_string_value(json_object_get(st->output_paths, p->name));
        if (copy_to) {
            char *parent = kiln_path_dirname(copy_to);
            if (kiln_mkdir_p(parent, &err) != 0 || kiln_copy_file(where, copy_to, &err) != 0)
                status = failf(st, EXIT_STORE, "could not copy output '%s' to %s: %s", p->name, copy_to, err.message);
            free(parent);
        }
        json_t *rec = json_pack("{s:s, s:I, s:s, s:s}", "digest", digest, "size", (json_int_t)size, "file_name",
                                json_string_value(json_object_get(o, "file_name")), "type", port_type_name(p->type));
        if (!rec) abort();
        /* Without a store the caller cannot derive where the bytes are: say it. (With one,
         * the digest names the blob, and the record stays free of machine paths, since
         * callers copy it into the action cache.) */
        if (!have_store) json_object_set_new(rec, "path", json_string(where));
        json_object_set_new(outputs, p->name, rec);
        free(where);
    }
    if (have_store) kiln_store_close(&store);
    return status;
}

/* Sends the "result" event: status "ok|failed|cancelled", error, outputs, metrics. */
static void emit_result(run_state *st, int events_fd, const char *status, json_t *outputs, json_t *metrics,
                        double duration) {
    if (events_fd < 0) return;
    json_t *ev = kiln_event_new("result", st->job, st->node);
    if (!ev) return;
    json_object_set_new(ev, "status", json_string(status));
    if (strcmp(status, "ok") != 0) {
        json_t *msg = json_string(st->message[0] ? st->message : status);
        json_object_set_new(ev, "error", msg ? msg : json_string("(message is not UTF-8)"));
    }
    json_object_set_new(ev, "outputs", outputs ? json_incref(outputs) : json_object());
    json_object_set_new(ev, "metrics", metrics ? json_incref(metrics) : json_object());
    if (duration >= 0) json_object_set_new(ev, "duration_s", json_real(duration));
    kiln_event_write_fd(events_fd, ev); /* nothing to do if the parent is gone */
    json_decref(ev);
}

/* Step 5 and after: run the op with a fresh ctx. */
static int run_op(run_state *st, int *events_fd) {
    kiln_ctx ctx;
    kiln_ctx_init(&ctx);
    ctx.op = st->op->def;
    ctx.params = st->params;
    ctx.inputs = st->inputs;
    ctx.scratch_dir = st->scratch_dir;
    ctx.checkpoint_dir = st->checkpoint_dir;
    ctx.job = st->job;
    ctx.node = st->node;
    ctx.events_fd = *events_fd;
    ctx.cancel_flag = &g_cancelled;
    json_t *pthreads = json_object_get(st->params, "threads");
    if (st->threads > 0) ctx.threads = st->threads;
    else if (json_is_integer(pthreads) && json_integer_value(pthreads) > 0 && json_integer_value(pthreads) <= 65536)
        ctx.threads = (int)json_integer_value(pthreads);
    else ctx.threads = st->op->def->threads > 0 ? (int)st->op->def->threads : 1;
    setup_outputs(st, &ctx);

    int status;
    double t0 = monotonic_now();
    int rc = g_cancelled ? KILN_ECANCELLED : st->op->def->run(kiln_host_api_table(), &ctx);
    double duration = monotonic_now() - t0;
    kiln_ctx_flush_progress(&ctx);
    *events_fd = ctx.events_fd; /* -1 when the reader went away */

    json_t *outputs = json_object();
    if (rc != 0 || ctx.failed) {
        if (g_cancelled) {
            status = EXIT_CANCELLED;
            failf(st, status, "cancelled%s%s", ctx.failed ? ": " : "", ctx.failed ? ctx.fail_message : "");
        } else {
            status = EXIT_OP_FAILED;
            if (ctx.failed) failf(st, status, "%s", ctx.fail_message);
            else failf(st, status, "op '%s' returned %d without a message (host->fail was not called)", st->op->def->name, rc);
        }
    } else {
        status = collect_outputs(st, &ctx, outputs);
    }
    if (status != 0) {
        /* Nothing half-written survives a failure: out/ goes, the store was not touched
         * (or, when storing failed midway, holds only complete blobs nobody refers to). */
        kiln_error rm_err = {0};
        kiln_remove_tree(st->out_dir, &rm_err);
        json_object_clear(outputs);
        fprintf(stderr, "kiln exec-node: %s\n", st->message);
    }
    emit_result(st, *events_fd, status == 0 ? "ok" : status == EXIT_CANCELLED ? "cancelled" : "failed", outputs,
                ctx.metrics, duration);
    json_decref(outputs);
    kiln_ctx_release(&ctx);
    return status;
}

int kiln_exec_node(const char *spec_path, int events_fd) {
    saved_signals saved;
    g_cancelled = 0;
    install_signals(&saved);

    run_state st;
    memset(&st, 0, sizeof st);
    st.spec_path = spec_path ? spec_path : "(none)";
    st.events_fd = events_fd;

    int status = 0;
    if (events_fd >= 0) {
        int flags = fcntl(events_fd, F_GETFD);
        if (flags < 0 || fcntl(events_fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
            status = failf(&st, EXIT_BAD_SPEC, "--events-fd %d: %s", events_fd, strerror(errno));
            events_fd = -1;
        }
    }
    if (status == 0 && !spec_path) status = failf(&st, EXIT_BAD_SPEC, "no spec file given");
    if (status == 0) status = read_spec(&st);
    if (status == 0) status = load_plugin(&st);
    if (status == 0) status = check_spec_against_op(&st);
    if (status == 0) status = make_dirs(&st);
    if (status == 0) {
        status = run_op(&st, &events_fd);
    } else {
        fprintf(stderr, "kiln exec-node: %s\n", st.message);
        emit_result(&st, events_fd, "failed", NULL, NULL, -1);
    }

    kiln_error rm_err = {0};
    if (st.scratch_dir) kiln_remove_tree(st.scratch_dir, &rm_err);
    kiln_registry_free(st.reg);
    json_decref(st.spec);
    json_decref(st.owned_params);
    free(st.checkpoint_dir);
    free(st.out_dir);
    free(st.scratch_dir);
    restore_signals(&saved);
    return status;
}
