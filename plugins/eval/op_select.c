/* op_select.c -- eval.select: given the gathered metrics and models of a sweep (LIST inputs),
 * picks the best candidate by a named metric (max or min), outputs its model unchanged, and a
 * table of every candidate's node, sweep values, params and metrics.
 *
 * Deterministic, and flagged KILN_OP_KEY_INPUT_INFO: the table names the producing instances
 * (input_info), so the action key holds their names too and a renamed sweep re-runs it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "select.h"

static const char select_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"by\": {\"type\": \"string\", \"minLength\": 1, \"default\": \"accuracy\","
    "          \"description\": \"the metric (a number at the top level of each metrics "
    "artifact) to rank by\"},"
    "  \"mode\": {\"type\": \"string\", \"enum\": [\"max\", \"min\"], \"default\": \"max\","
    "            \"description\": \"max: the largest value wins; min: the smallest (e.g. loss); "
    "ties go to the first candidate\"}}}";

static const kiln_port_def select_inputs[] = {
    {"metrics", KILN_TYPE_METRICS, KILN_LIST, 0, NULL,
     "metrics of every candidate (eval.classify of each swept model)"},
    {"models", KILN_TYPE_MODEL, KILN_LIST, 0, NULL, "the candidates' models"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def select_outputs[] = {
    {"model", KILN_TYPE_MODEL, KILN_ONE, 0, "model.safetensors", "the best candidate's model"},
    {"table", KILN_TYPE_METRICS, KILN_ONE, 0, "table.json",
     "every candidate's node, sweep, params and metrics, and which won"},
    {NULL, 0, 0, 0, NULL, NULL}};

/* Copies file src to dst. Returns 0 or fails through the host. */
static int copy_file(const kiln_host_api *h, kiln_ctx *ctx, const char *src, const char *dst) {
    FILE *in = fopen(src, "rb"), *out = NULL;
    char buf[1 << 16];
    size_t n;
    int rc = 0;
    if (!in)
        return h->fail(ctx, "input 'models': cannot open %s: %s", src, strerror(errno)), KILN_EIO;
    out = fopen(dst, "wb");
    if (!out) {
        fclose(in);
        return h->fail(ctx, "output 'model': cannot create %s: %s", dst, strerror(errno)), KILN_EIO;
    }
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) {
            rc = KILN_EIO;
            break;
        }
    if (ferror(in))
        rc = KILN_EIO;
    if (fclose(out) != 0)
        rc = KILN_EIO;
    fclose(in);
    if (rc)
        h->fail(ctx, "copying the best model to %s: %s", dst, strerror(errno));
    return rc;
}

/* The scalar (number) entries of a metrics object, for the table. */
static json_t *scalars(const json_t *m) {
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) {
        if (json_is_number(v))
            json_object_set(o, k, v);
    }
    return o;
}

static int run_select(const kiln_host_api *h, kiln_ctx *ctx) {
    const json_t *params = h->params(ctx);
    const char *by = json_string_value(json_object_get(params, "by"));
    const char *mode = json_string_value(json_object_get(params, "mode"));
    int nm = h->input_count(ctx, "metrics"), nd = h->input_count(ctx, "models");
    int maximize, rc = 0, best;
    kiln_error err = {0};
    json_t **metrics = NULL, *table = NULL, *cands = NULL;
    const json_t **minfo = NULL, **dinfo = NULL;
    int *pair = NULL;
    double *values = NULL;
    char msg[1024];
    if (!by)
        by = "accuracy";
    maximize = !mode || strcmp(mode, "min") != 0;
    if (nm < 1)
        return h->fail(ctx, "input 'metrics': no candidates (wire it to the metrics of a sweep)");
    if (nd < 1)
        return h->fail(ctx, "input 'models': no candidates (wire it to the models of a sweep)");
    metrics = calloc((size_t)nm, sizeof *metrics);
    minfo = calloc((size_t)nm, sizeof *minfo);
    dinfo = calloc((size_t)nd, sizeof *dinfo);
    pair = calloc((size_t)nm, sizeof *pair);
    values = calloc((size_t)nm, sizeof *values);
    if (!metrics || !minfo || !dinfo || !pair || !values) {
        rc = h->fail(ctx, "out of memory");
        goto out;
    }
    for (int i = 0; i < nd; i++)
        dinfo[i] = h->input_info(ctx, "models", i);
    for (int i = 0; i < nm; i++) {
        minfo[i] = h->input_info(ctx, "metrics", i);
        metrics[i] = h->json_read(h->input_path(ctx, "metrics", i), &err);
        if (!metrics[i]) {
            rc = h->fail(ctx, "input 'metrics' #%d: %s", i, err.message);
            goto out;
        }
        const json_t *v = json_object_get(metrics[i], by);
        if (!json_is_number(v)) {
            char keys[512] = "";
            size_t len = 0;
            const char *k;
            json_t *x;
            json_object_foreach(metrics[i], k, x) {
                if (json_is_number(x) && len < sizeof keys)
                    len += (size_t)snprintf(keys + len, sizeof keys - len, "%s%s", len ? ", " : "", k);
            }
            rc = h->fail(ctx, "param 'by': metrics #%d (from %s) has no number '%s'; it has: %s", i,
                         json_string_value(json_object_get(minfo[i], "node")), by, keys);
            goto out;
        }
        values[i] = json_number_value(v);
    }
    if (kiln_eval_pair((const json_t *const *)metrics, minfo, nm, dinfo, nd, pair, msg, sizeof msg)) {
        rc = h->fail(ctx, "%s", msg);
        goto out;
    }
    best = kiln_eval_best(values, nm, maximize);
    if (best < 0) {
        rc = h->fail(ctx, "param 'by': every candidate's '%s' is NaN", by);
        goto out;
    }
    rc = copy_file(h, ctx, h->input_path(ctx, "models", pair[best]), h->output_path(ctx, "model"));
    if (rc)
        goto out;
    table = json_object();
    cands = json_array();
    for (int i = 0; i < nm; i++) {
        const json_t *di = dinfo[pair[i]];
        json_t *c = json_object();
        json_object_set_new(c, "index", json_integer(i));
        json_object_set_new(c, "value", json_real(values[i]));
        json_object_set_new(c, "metrics", scalars(metrics[i]));
        if (json_object_get(minfo[i], "node"))
            json_object_set(c, "metrics_node", json_object_get(minfo[i], "node"));
        static const char *const keys[] = {"node", "sweep", "params", "digest"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            if (json_object_get(di, keys[k]))
                json_object_set(c, strcmp(keys[k], "digest") ? keys[k] : "model_digest",
                                json_object_get(di, keys[k]));
        json_array_append_new(cands, c);
    }
    json_object_set_new(table, "by", json_string(by));
    json_object_set_new(table, "mode", json_string(maximize ? "max" : "min"));
    json_object_set_new(table, "best", json_integer(best));
    if (json_object_get(dinfo[pair[best]], "node"))
        json_object_set(table, "best_node", json_object_get(dinfo[pair[best]], "node"));
    json_object_set_new(table, "best_value", json_real(values[best]));
    json_object_set_new(table, "candidates", cands);
    rc = h->json_write(h->output_path(ctx, "table"), table, &err);
    if (rc) {
        h->fail(ctx, "output 'table': %s", err.message);
        goto out;
    }
    h->log(ctx, KILN_LOG_INFO, "eval.select: best of %d by %s (%s) is %s with %g", nm, by,
           maximize ? "max" : "min",
           json_string_value(json_object_get(dinfo[pair[best]], "node"))
               ? json_string_value(json_object_get(dinfo[pair[best]], "node"))
               : "?",
           values[best]);
out:
    for (int i = 0; metrics && i < nm; i++)
        json_decref(metrics[i]);
    free(metrics);
    free(minfo);
    free(dinfo);
    free(pair);
    free(values);
    json_decref(table);
    return rc;
}

const kiln_op_def kiln_eval_op_select = {
    sizeof(kiln_op_def),
    "eval.select",
    "picks the best model of a sweep by a metric; outputs it and a table of every candidate",
    select_schema,
    select_inputs,
    select_outputs,
    KILN_OP_DETERMINISTIC | KILN_OP_KEY_INPUT_INFO, /* the table names the candidates */
    1,
    run_select,
};
