/* op_classify.c -- eval.classify: runs a model over a labelled dataset (oneDNN forward passes,
 * shared with cpu.predict through kiln_cpu_core) and writes its metrics (docs/artifacts.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/artifact.h"
#include "cpu/common.h"
#include "cpu/forward.h"
#include "cpu/net.h"
#include "metrics.h"
#include "ops.h"

static const char classify_schema[] = KILN_CPU_FORWARD_SCHEMA;

static const kiln_port_def classify_inputs[] = {
    {"model", KILN_TYPE_MODEL, KILN_ONE, 0, NULL, KILN_CPU_MODEL_INPUT_DOC},
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, NULL, "a labelled dataset (the test set)"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def classify_outputs[] = {
    {"metrics", KILN_TYPE_METRICS, KILN_ONE, 0, "metrics.json",
     "accuracy, loss, samples, per-class precision/recall/f1/support, confusion [true][pred]"},
    {NULL, 0, 0, 0, NULL, NULL}};

static int add_chunk(void *ud, const float *logits, const int64_t *labels, int64_t start, int64_t n) {
    (void)start;
    kiln_eval_counts_add(ud, logits, labels, n);
    return 0;
}

/* Class names: the model's kiln.classes, else the dataset's (a new reference or NULL). */
static json_t *class_names(const json_t *model_meta, const json_t *data_meta) {
    const char *s = json_string_value(json_object_get(model_meta, "kiln.classes"));
    if (!s)
        s = json_string_value(json_object_get(data_meta, "kiln.classes"));
    json_t *a = s ? json_loads(s, 0, NULL) : NULL;
    if (a && !json_is_array(a)) {
        json_decref(a);
        a = NULL;
    }
    return a;
}

static int run_classify(const kiln_host_api *h, kiln_ctx *ctx) {
    kiln_error err = {0};
    kiln_cpu_forward f;
    json_t *names = NULL, *m = NULL;
    kiln_eval_counts counts = {0};
    int rc = kiln_cpu_forward_open(h, ctx, &f, &err);
    if (rc)
        return h->fail(ctx, "%s", err.message), rc;
    int64_t classes = kiln_cpu_net_arch(f.net)->num_classes;
    rc = kiln_cpu_data_check_labels(&f.ds.d, classes, "input 'dataset'", &err);
    if (rc) {
        char msg[KILN_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "%s", err.message);
        kiln_cpu_err(&err, rc, "%s; the model has %lld classes", msg, (long long)classes);
    } else if (kiln_eval_counts_init(&counts, classes)) {
        rc = kiln_cpu_err(&err, KILN_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = kiln_cpu_forward_run(h, ctx, &f, add_chunk, &counts, &err);
    if (!rc) {
        names = class_names(f.model_meta, f.ds.meta);
        m = kiln_eval_metrics_json(&counts, names);
        if (!m)
            rc = kiln_cpu_err(&err, KILN_ENOMEM, "out of memory");
    }
    if (!rc) {
        /* Which model and data these are: eval.select pairs metrics with models by digest. */
        static const char *const ports[2] = {"model", "dataset"};
        for (int i = 0; i < 2 && !rc; i++) {
            const json_t *info = h->input_info(ctx, ports[i], 0);
            const char *d = json_string_value(json_object_get(info, "digest"));
            char hex[65];
            if (!d || strlen(d) != 64) {
                rc = h->sha256_file(h->input_path(ctx, ports[i], 0), hex, &err);
                d = hex;
            }
            if (!rc)
                json_object_set_new(m, ports[i], json_string(d));
        }
    }
    if (!rc)
        rc = h->json_write(h->output_path(ctx, "metrics"), m, &err);
    if (!rc)
        h->log(ctx, KILN_LOG_INFO, "eval.classify: accuracy %.4f, loss %.4f over %lld samples",
               json_real_value(json_object_get(m, "accuracy")),
               json_real_value(json_object_get(m, "loss")), (long long)counts.n);
    json_decref(m);
    json_decref(names);
    kiln_eval_counts_clear(&counts);
    kiln_cpu_forward_close(h, &f);
    if (rc == KILN_ECANCELLED)
        return rc;
    if (rc)
        h->fail(ctx, "%s", err.message);
    return rc;
}

const kiln_op_def kiln_eval_op_classify = {
    sizeof(kiln_op_def),
    "eval.classify",
    "evaluates a classifier on a labelled dataset: accuracy, loss, per-class scores, confusion",
    classify_schema,
    classify_inputs,
    classify_outputs,
    KILN_OP_DETERMINISTIC,
    2,
    run_classify,
};
