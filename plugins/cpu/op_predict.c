/* op_predict.c -- cpu.predict: a model and a dataset in, predictions out (class I64 [N] and
 * proba F32 [N, classes], docs/artifacts.md). */
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "common.h"
#include "forward.h"
#include "loss.h"
#include "net.h"
#include "ops.h"

static const char predict_schema[] = KILN_CPU_FORWARD_SCHEMA;

static const kiln_port_def predict_inputs[] = {
    {"model", KILN_TYPE_MODEL, KILN_ONE, 0, NULL, KILN_CPU_MODEL_INPUT_DOC},
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, NULL, "samples to classify (y is ignored)"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def predict_outputs[] = {
    {"predictions", KILN_TYPE_FILE, KILN_ONE, 0, "predictions.safetensors",
     "class I64 [N] and proba F32 [N, classes]"},
    {NULL, 0, 0, 0, NULL, NULL}};

typedef struct pred_acc {
    int64_t classes;
    int64_t *cls;
    float *proba;
} pred_acc;

static int pred_chunk(void *ud, const float *logits, const int64_t *labels, int64_t start, int64_t n) {
    pred_acc *a = ud;
    (void)labels;
    kiln_cpu_softmax(logits, n, a->classes, a->proba + start * a->classes, a->cls + start);
    return 0;
}

static int run_predict(const kiln_host_api *h, kiln_ctx *ctx) {
    kiln_error err = {0};
    kiln_cpu_forward f;
    pred_acc a = {0, NULL, NULL};
    int rc = kiln_cpu_forward_open(h, ctx, &f, &err);
    if (rc)
        return h->fail(ctx, "%s", err.message), rc;
    int64_t n = f.ds.d.n;
    a.classes = kiln_cpu_net_arch(f.net)->num_classes;
    a.cls = malloc((size_t)n * sizeof *a.cls);
    a.proba = malloc((size_t)(n * a.classes) * sizeof *a.proba);
    if (!a.cls || !a.proba)
        rc = kiln_cpu_err(&err, KILN_ENOMEM, "out of memory");
    if (!rc)
        rc = kiln_cpu_forward_run(h, ctx, &f, pred_chunk, &a, &err);
    if (!rc) {
        kiln_tensors_writer *w = h->tensors_writer_new();
        int64_t s1[1] = {n}, s2[2] = {n, a.classes};
        rc = w ? 0 : kiln_cpu_err(&err, KILN_ENOMEM, "out of memory");
        if (!rc)
            rc = h->tensors_writer_add(w, "class", KILN_DTYPE_I64, 1, s1, a.cls, 1, &err);
        if (!rc)
            rc = h->tensors_writer_add(w, "proba", KILN_DTYPE_F32, 2, s2, a.proba, 1, &err);
        if (!rc)
            rc = h->tensors_writer_finish(w, h->output_path(ctx, "predictions"), &err);
        h->tensors_writer_free(w);
        if (!rc)
            h->log(ctx, KILN_LOG_INFO, "cpu.predict: %lld samples, %lld classes", (long long)n,
                   (long long)a.classes);
    }
    free(a.cls);
    free(a.proba);
    kiln_cpu_forward_close(h, &f);
    if (rc == KILN_ECANCELLED)
        return rc;
    if (rc)
        h->fail(ctx, "%s", err.message);
    return rc;
}

const kiln_op_def kiln_cpu_op_predict = {
    sizeof(kiln_op_def),
    "cpu.predict",
    "classifies a dataset with a model: class and probabilities per sample",
    predict_schema,
    predict_inputs,
    predict_outputs,
    KILN_OP_DETERMINISTIC,
    2,
    run_predict,
};
