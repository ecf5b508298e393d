/* op_package.c -- wheel.package: a model artifact (+ optional metrics) -> an installable,
 * reproducible {name}-{version}-py3-none-any.whl.
 *
 * The wheel (binary distribution format, PEP 427):
 *   <import>/__init__.py        the numpy-only module (python/kiln_model.py, identical in
 *                               every wheel): load, predict, predict_proba, classes, metadata
 *   <import>/kiln_model.json    name, version, architecture, classes, normalisation,
 *                               training facts, metrics, the model's sha256
 *   <import>/model.safetensors  the model artifact, byte for byte
 *   <dist>-<ver>.dist-info/METADATA, WHEEL, RECORD (RECORD last)
 * Entries are in that order, dated 1980-01-01 00:00:00, mode 0644: the same model, metrics
 * and params give the same bytes. The version comes from params only (never the clock):
 * suffix "dev" appends .devYYYYMMDD from param `date`; "local" appends +g<commit> from param
 * `commit`, else from the model's sha256. The wheel is checked with wheel.check's checker
 * before the op succeeds. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "model.h"
#include "names.h"
#include "ops.h"
#include "record.h"
#include "zipwrite.h"

static const char package_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 200,"
    "    \"description\": \"distribution name: letters, digits, '.', '_', '-' (the wheel file uses its "
    "normalised, escaped form)\"},"
    "  \"version\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 100, \"default\": \"0.1.0\","
    "    \"description\": \"PEP 440 version, normalised (v1.0-RC1 -> 1.0rc1)\"},"
    "  \"suffix\": {\"type\": \"string\", \"enum\": [\"release\", \"dev\", \"local\"], \"default\": \"release\","
    "    \"description\": \"release: the version as given; dev: + .devYYYYMMDD (param date); local: + +g<hash> "
    "(param commit, else the model's sha256)\"},"
    "  \"date\": {\"type\": \"string\", \"minLength\": 8, \"maxLength\": 8,"
    "    \"description\": \"YYYYMMDD for suffix dev; required then: the op never reads the clock, so the same "
    "inputs always give the same wheel\"},"
    "  \"commit\": {\"type\": \"string\", \"minLength\": 4, \"maxLength\": 40,"
    "    \"description\": \"hex commit hash for suffix local (default: the first 12 hex digits of the model's sha256)\"},"
    "  \"summary\": {\"type\": \"string\", \"maxLength\": 500,"
    "    \"description\": \"METADATA Summary (default: '<N>-class classifier trained with kiln')\"},"
    "  \"import_name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 100,"
    "    \"description\": \"the Python package name (default: the escaped distribution name, fashion-mlp -> "
    "fashion_mlp)\"},"
    "  \"requires_python\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 100, \"default\": \">=3.8\","
    "    \"description\": \"METADATA Requires-Python\"},"
    "  \"weights_compression\": {\"type\": \"string\", \"enum\": [\"deflate\", \"store\"], \"default\": \"deflate\","
    "    \"description\": \"how model.safetensors is stored: deflate (smaller) or store (much faster to build and "
    "install; float weights compress little)\"},"
    "  \"compress_level\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 9, \"default\": 6,"
    "    \"description\": \"deflate level of compressed entries\"},"
    "  \"verify\": {\"type\": \"boolean\", \"default\": true,"
    "    \"description\": \"re-read the finished wheel with wheel.check's checker before succeeding\"}},"
    " \"required\": [\"name\"]}";

static const kiln_port_def package_inputs[] = {
    {"model", KILN_TYPE_MODEL, KILN_ONE, 0, NULL, "the model to package (safetensors with kiln.arch)"},
    {"metrics", KILN_TYPE_METRICS, KILN_ONE, KILN_PORT_OPTIONAL, NULL,
     "metrics to ship in the package metadata (eval.classify's output, say)"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def package_outputs[] = {
    {"wheel", KILN_TYPE_WHEEL, KILN_ONE, 0, "model.whl",
     "{name}-{version}-py3-none-any.whl (the output is renamed to it)"},
    {NULL, 0, 0, 0, NULL, NULL}};

/* ---------------------------------------------------------------------------------------- */
/* A growing string                                                                          */
/* ---------------------------------------------------------------------------------------- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) KILN_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The op                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Everything run_package allocates, released in one place. */
typedef struct package {
    json_t *model;        /* model.h's description                 */
    json_t *metrics;      /* the metrics input or NULL             */
    json_t *info;         /* kiln_model.json                       */
    char *info_text;
    sbuf metadata, wheel, record;
} package;

static void package_free(package *p) {
    json_decref(p->model);
    json_decref(p->metrics);
    json_decref(p->info);
    free(p->info_text);
    free(p->metadata.s);
    free(p->wheel.s);
    free(p->record.s);
}

/* One line of header text: newlines and tabs become spaces. */
static void one_line(const char *in, char *out, size_t len) {
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 1 < len; i++) out[o++] = (in[i] == '\n' || in[i] == '\r' || in[i] == '\t') ? ' ' : in[i];
    out[o] = '\0';
}

static int valid_date(const char *d) {
    if (strlen(d) != 8) return 0;
    for (int i = 0; i < 8; i++)
        if (!isdigit((unsigned char)d[i])) return 0;
    int month = (d[4] - '0') * 10 + (d[5] - '0'), day = (d[6] - '0') * 10 + (d[7] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31 && d[0] != '0';
}

/* The version with the requested suffix, normalised. Returns 0 or fails the node. */
static int make_version(const kiln_host_api *h, kiln_ctx *ctx, const json_t *params, const char *model_hex, char *out,
                        size_t len) {
    const char *given = json_string_value(json_object_get(params, "version"));
    const char *suffix = json_string_value(json_object_get(params, "suffix"));
    char base[KILN_WHEEL_NAME_MAX + 1], full[2 * KILN_WHEEL_NAME_MAX];
    kiln_error err = {0};
    if (!given) given = "0.1.0";
    if (!suffix) suffix = "release";
    if (kiln_wheel_version_normalize(given, base, sizeof base, &err) != 0) return h->fail(ctx, "param 'version': %s", err.message);
    if (strcmp(suffix, "release") == 0) {
        snprintf(full, sizeof full, "%s", base);
    } else if (strcmp(suffix, "dev") == 0) {
        const char *date = json_string_value(json_object_get(params, "date"));
        if (!date)
            return h->fail(ctx, "param 'date' (YYYYMMDD) is required with suffix 'dev': wheel.package never reads the "
                                "clock, so that the same inputs give the same wheel");
        if (!valid_date(date)) return h->fail(ctx, "param 'date': expected YYYYMMDD (such as 20250131), got '%s'", date);
        if (strstr(base, ".dev") || strchr(base, '+'))
            return h->fail(ctx, "param 'version' '%s' already has a dev or local part; suffix 'dev' adds .dev%s", base, date);
        snprintf(full, sizeof full, "%s.dev%s", base, date);
    } else {
        const char *commit = json_string_value(json_object_get(params, "commit"));
        char hash[41];
        if (commit) {
            size_t n = strlen(commit);
            if (n < 4 || n > 40) return h->fail(ctx, "param 'commit': expected 4 to 40 hex digits, got '%s'", commit);
            for (size_t i = 0; i < n; i++) {
                if (!isxdigit((unsigned char)commit[i]))
                    return h->fail(ctx, "param 'commit': expected hex digits, got '%s'", commit);
                hash[i] = (char)tolower((unsigned char)commit[i]);
            }
            hash[n] = '\0';
        } else {
            snprintf(hash, sizeof hash, "%.12s", model_hex);
        }
        if (strchr(base, '+')) return h->fail(ctx, "param 'version' '%s' already has a local part; suffix 'local' adds +g%s", base, hash);
        snprintf(full, sizeof full, "%s+g%s", base, hash);
    }
    if (kiln_wheel_version_normalize(full, out, len, &err) != 0) return h->fail(ctx, "version '%s': %s", full, err.message);
    return 0;
}

static void build_metadata(package *p, const char *name, const char *version, const char *imp, const json_t *params) {
    char summary[600];
    const char *given = json_string_value(json_object_get(params, "summary"));
    const char *requires_python = json_string_value(json_object_get(params, "requires_python"));
    json_int_t nclasses = json_integer_value(json_object_get(p->model, "num_classes"));
    if (given) one_line(given, summary, sizeof summary);
    else snprintf(summary, sizeof summary, "%" JSON_INTEGER_FORMAT "-class classifier trained with kiln", nclasses);
    char rp[128];
    one_line(requires_python ? requires_python : ">=3.8", rp, sizeof rp);
    sbuf *b = &p->metadata;
    sb_printf(b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\nRequires-Python: %s\nRequires-Dist: numpy\n"
                 "Description-Content-Type: text/markdown\n\n",
              name, version, summary, rp);
    /* The description: what the model is and how to call it. */
    sb_printf(b, "# %s %s\n\n%s, packaged by kiln's wheel.package. It needs numpy only.\n\n", name, version, summary);
    sb_printf(b, "```python\nimport %s\n%s.predict(x)        # class indices [N]\n%s.predict_proba(x)  # probabilities "
                 "[N, %" JSON_INTEGER_FORMAT "]\n%s.classes\n%s.metadata\n```\n\n",
              imp, imp, imp, nclasses, imp, imp);
    char *shape = json_dumps(json_object_get(p->model, "input_shape"), JSON_COMPACT);
    sb_printf(b, "Input shape: %s. Parameters: %" JSON_INTEGER_FORMAT ".\n\nLayers:\n\n", shape ? shape : "?",
              json_integer_value(json_object_get(p->model, "parameters")));
    free(shape);
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(p->model, "layers"), i, l) sb_printf(b, "%zu. %s\n", i, json_string_value(l));
    if (json_is_object(p->metrics)) {
        const char *key;
        json_t *v;
        int any = 0;
        /* jansson iterates in insertion order; sort the keys for stable text. */
        json_t *keys = json_array();
        json_object_foreach(p->metrics, key, v) if (json_is_number(v)) json_array_append_new(keys, json_string(key));
        size_t n = json_array_size(keys);
        for (size_t a = 1; a < n; a++)
            for (size_t c = a; c > 0 && strcmp(json_string_value(json_array_get(keys, c - 1)),
                                               json_string_value(json_array_get(keys, c))) > 0; c--) {
                json_t *x = json_incref(json_array_get(keys, c - 1));
                json_array_set(keys, c - 1, json_array_get(keys, c));
                json_array_set_new(keys, c, x);
            }
        json_array_foreach(keys, i, l) {
            if (!any) sb_printf(b, "\nMetrics:\n\n");
            any = 1;
            sb_printf(b, "- %s: %.6g\n", json_string_value(l), json_number_value(json_object_get(p->metrics, json_string_value(l))));
        }
        json_decref(keys);
    }
}

static void progress_cb(void *arg, double fraction) {
    void **a = arg;
    const kiln_host_api *h = a[0];
    h->progress((kiln_ctx *)a[1], fraction, 1.0, "fraction");
}

static int cancelled_cb(void *arg) {
    void **a = arg;
    const kiln_host_api *h = a[0];
    return h->cancelled((kiln_ctx *)a[1]);
}

static int run_package(const kiln_host_api *h, kiln_ctx *ctx) {
    const json_t *params = h->params(ctx);
    const char *model_path = h->input_path(ctx, "model", 0);
    const char *out = h->output_path(ctx, "wheel");
    const char *name = json_string_value(json_object_get(params, "name"));
    const char *imp_param = json_string_value(json_object_get(params, "import_name"));
    const char *compression = json_string_value(json_object_get(params, "weights_compression"));
    const json_t *jlevel = json_object_get(params, "compress_level"), *jverify = json_object_get(params, "verify");
    int level = json_is_integer(jlevel) ? (int)json_integer_value(jlevel) : 6;
    int verify = jverify ? json_is_true(jverify) : 1;
    char esc[KILN_WHEEL_NAME_MAX + 1], imp[KILN_WHEEL_NAME_MAX + 1], version[2 * KILN_WHEEL_NAME_MAX];
    char model_hex[65], model_hash[100];
    kiln_error err = {0};
    package p;
    memset(&p, 0, sizeof p);
    int rc = 0;

    if (!model_path || !out) return h->fail(ctx, "wheel.package: input 'model' or output 'wheel' is missing");
    if (!name) return h->fail(ctx, "param 'name' is required: the distribution name of the wheel");
    if (kiln_wheel_name_escape(name, esc, sizeof esc, &err) != 0) return h->fail(ctx, "param 'name': %s", err.message);
    if (imp_param) {
        if (!kiln_wheel_is_identifier(imp_param))
            return h->fail(ctx, "param 'import_name': '%s' is not a Python identifier (letters, digits, '_'; not a keyword)",
                           imp_param);
        snprintf(imp, sizeof imp, "%s", imp_param);
    } else if (kiln_wheel_import_name(name, imp, sizeof imp, &err) != 0) {
        return h->fail(ctx, "param 'name': %s", err.message);
    }

    /* The module imports these itself: a package of the same name would shadow them (or,
     * for numpy, overwrite the installed numpy) and could not even import. */
    static const char *const taken[] = {"numpy", "json", "os", "struct", NULL};
    for (int i = 0; taken[i]; i++)
        if (strcmp(imp, taken[i]) == 0)
            return h->fail(ctx, "import name '%s' (from param '%s') would shadow the module '%s' the packaged code "
                                "imports: set param 'import_name' to another name",
                           imp, imp_param ? "import_name" : "name", taken[i]);

    /* The model: validated, hashed, measured. */
    struct stat sb;
    if (stat(model_path, &sb) != 0) return h->fail(ctx, "input 'model': cannot read %s", model_path);
    if (h->sha256_file(model_path, model_hex, &err) != 0) return h->fail(ctx, "input 'model': %s", err.message);
    kiln_wheel_hash_from_hex(model_hex, model_hash, sizeof model_hash);
    if (kiln_wheel_model_inspect(h, model_path, &p.model, &err) != 0) {
        rc = h->fail(ctx, "input 'model': %s", err.message);
        goto done;
    }
    if (h->input_count(ctx, "metrics") > 0) {
        p.metrics = h->json_read(h->input_path(ctx, "metrics", 0), &err);
        if (!p.metrics) {
            rc = h->fail(ctx, "input 'metrics': %s", err.message);
            goto done;
        }
        if (!json_is_object(p.metrics)) {
            rc = h->fail(ctx, "input 'metrics': expected a JSON object");
            goto done;
        }
    }
    if ((rc = make_version(h, ctx, params, model_hex, version, sizeof version)) != 0) goto done;

    /* Names inside the wheel. */
    char dist_info[sizeof esc + sizeof version + 16], file_name[sizeof esc + sizeof version + 32];
    char n_init[sizeof imp + 32], n_info[sizeof imp + 32], n_weights[sizeof imp + 32];
    char n_metadata[sizeof dist_info + 16], n_wheel[sizeof dist_info + 16], n_record[sizeof dist_info + 16];
    snprintf(dist_info, sizeof dist_info, "%s-%s.dist-info", esc, version);
    snprintf(file_name, sizeof file_name, "%s-%s-py3-none-any.whl", esc, version);
    snprintf(n_init, sizeof n_init, "%s/__init__.py", imp);
    snprintf(n_info, sizeof n_info, "%s/kiln_model.json", imp);
    snprintf(n_weights, sizeof n_weights, "%s/model.safetensors", imp);
    snprintf(n_metadata, sizeof n_metadata, "%s/METADATA", dist_info);
    snprintf(n_wheel, sizeof n_wheel, "%s/WHEEL", dist_info);
    snprintf(n_record, sizeof n_record, "%s/RECORD", dist_info);

    /* kiln_model.json: what the module exposes as `metadata`. */
    p.info = json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:s, s:s}", "name", name, "version",
                       version, "import_name", imp, "arch", json_object_get(p.model, "arch"), "input_shape",
                       json_object_get(p.model, "input_shape"), "num_classes", json_object_get(p.model, "num_classes"),
                       "parameters", json_object_get(p.model, "parameters"), "classes",
                       json_object_get(p.model, "classes"), "normalize", json_object_get(p.model, "normalize"),
                       "training", json_object_get(p.model, "training"), "metrics",
                       p.metrics ? p.metrics : json_null(), "model_sha256", model_hex, "generator", KILN_WHEEL_GENERATOR);
    p.info_text = p.info ? json_dumps(p.info, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    if (!p.info_text) {
        rc = h->fail(ctx, "wheel.package: out of memory");
        goto done;
    }
    size_t info_len = strlen(p.info_text);
    char *grown = realloc(p.info_text, info_len + 2);
    if (!grown) {
        rc = h->fail(ctx, "wheel.package: out of memory");
        goto done;
    }
    p.info_text = grown;
    memcpy(p.info_text + info_len, "\n", 2);
    info_len++;

    build_metadata(&p, name, version, imp, params);
    sb_printf(&p.wheel, "Wheel-Version: 1.0\nGenerator: %s\nRoot-Is-Purelib: true\nTag: py3-none-any\n", KILN_WHEEL_GENERATOR);

    /* The entries, RECORD last. */
    kiln_wheel_zip_entry entries[6] = {
        {n_init, kiln_wheel_pymodule, kiln_wheel_pymodule_len, NULL, 0},
        {n_info, p.info_text, info_len, NULL, 0},
        {n_weights, NULL, (size_t)sb.st_size, model_path, compression && strcmp(compression, "store") == 0},
        {n_metadata, p.metadata.s, p.metadata.len, NULL, 0},
        {n_wheel, p.wheel.s, p.wheel.len, NULL, 0},
        {n_record, NULL, 0, NULL, 0},
    };
    for (int i = 0; i < 5; i++) {
        char hash[100], size[32];
        if (entries[i].data) kiln_wheel_hash_buffer(entries[i].data, entries[i].size, hash, sizeof hash);
        else snprintf(hash, sizeof hash, "%s", model_hash);
        snprintf(size, sizeof size, "%zu", entries[i].size);
        if (kiln_wheel_csv_append(&p.record.s, &p.record.len, &p.record.cap, entries[i].name, 0) ||
            kiln_wheel_csv_append(&p.record.s, &p.record.len, &p.record.cap, hash, 0) ||
            kiln_wheel_csv_append(&p.record.s, &p.record.len, &p.record.cap, size, 1))
            p.record.oom = 1;
    }
    if (kiln_wheel_csv_append(&p.record.s, &p.record.len, &p.record.cap, n_record, 0) ||
        kiln_wheel_csv_append(&p.record.s, &p.record.len, &p.record.cap, "", 0) ||
        kiln_wheel_csv_append(&p.record.s, &p.record.len, &p.record.cap, "", 1))
        p.record.oom = 1;
    if (p.metadata.oom || p.wheel.oom || p.record.oom) {
        rc = h->fail(ctx, "wheel.package: out of memory");
        goto done;
    }
    entries[5].data = p.record.s;
    entries[5].size = p.record.len;

    void *cb_arg[2] = {(void *)h, ctx};
    kiln_wheel_zip_monitor monitor = {progress_cb, cancelled_cb, cb_arg};
    rc = kiln_wheel_zip_write(out, entries, 6, level, &monitor, &err);
    if (rc == KILN_ECANCELLED) goto done;
    if (rc) {
        h->fail(ctx, "output 'wheel': %s", err.message);
        goto done;
    }
    if (h->cancelled(ctx)) {
        rc = KILN_ECANCELLED;
        goto done;
    }

    if (verify) {
        json_t *report = kiln_wheel_check(out, file_name, NULL);
        if (!report) {
            rc = h->fail(ctx, "wheel.package: out of memory verifying the wheel");
            goto done;
        }
        if (!json_is_true(json_object_get(report, "valid"))) {
            json_t *first = json_array_get(json_object_get(report, "errors"), 0);
            rc = h->fail(ctx, "wheel.package: the wheel it wrote fails its own check (a bug): %s",
                         json_string_value(json_object_get(first, "message")));
            json_decref(report);
            goto done;
        }
        json_decref(report);
    }
    if ((rc = h->set_output_name(ctx, "wheel", file_name)) != 0) {
        h->fail(ctx, "output 'wheel': cannot name it %s", file_name);
        goto done;
    }
    struct stat wsb;
    h->log(ctx, KILN_LOG_INFO, "wheel.package: %s (%lld bytes; model %lld bytes, %s; import %s)%s", file_name,
           stat(out, &wsb) == 0 ? (long long)wsb.st_size : -1LL, (long long)sb.st_size,
           compression && strcmp(compression, "store") == 0 ? "stored" : "deflated", imp, verify ? "; verified" : "");
done:
    package_free(&p);
    return rc;
}

const kiln_op_def kiln_wheel_op_package = {
    sizeof(kiln_op_def),
    "wheel.package",
    "package a model (+ metrics) as an installable, reproducible, numpy-only Python wheel",
    package_schema,
    package_inputs,
    package_outputs,
    KILN_OP_DETERMINISTIC,
    1,
    run_package};
