/* forward.c -- see forward.h. */
#include "forward.h"

#include <string.h>

int kiln_cpu_forward_open(const kiln_host_api *h, kiln_ctx *ctx, kiln_cpu_forward *f, kiln_error *err) {
    memset(f, 0, sizeof *f);
    const json_t *params = h->params(ctx);
    const json_t *bj = json_object_get(params, "batch"), *tj = json_object_get(params, "threads");
    int batch = json_is_integer(bj) ? (int)json_integer_value(bj) : 256;
    kiln_cpu_set_threads(json_is_integer(tj) ? (int)json_integer_value(tj) : 2);
    int rc = kiln_cpu_dataset_open(h, h->input_path(ctx, "dataset", 0), "input 'dataset'", &f->ds, err);
    if (rc) return rc;
    f->batch = batch > f->ds.d.n ? (int)f->ds.d.n : batch;
    rc = kiln_cpu_model_load(h, h->input_path(ctx, "model", 0), f->batch, 0, &f->net, &f->model_meta, err);
    if (!rc) rc = kiln_cpu_dataset_fits(&f->ds, kiln_cpu_net_arch(f->net), "input 'dataset'", err);
    if (rc) kiln_cpu_forward_close(h, f);
    return rc;
}

typedef struct host_ctx {
    const kiln_host_api *h;
    kiln_ctx *ctx;
} host_ctx;

static int cancelled(void *ud) {
    host_ctx *c = ud;
    return c->h->cancelled(c->ctx);
}

int kiln_cpu_forward_run(const kiln_host_api *h, kiln_ctx *ctx, kiln_cpu_forward *f, kiln_cpu_chunk_fn fn,
                         void *ud, kiln_error *err) {
    host_ctx hc = {h, ctx};
    return kiln_cpu_forward_all(f->net, &f->ds.d, f->batch, fn, ud, cancelled, &hc, err);
}

void kiln_cpu_forward_close(const kiln_host_api *h, kiln_cpu_forward *f) {
    kiln_cpu_net_free(f->net);
    json_decref(f->model_meta);
    kiln_cpu_dataset_close(h, &f->ds);
    memset(f, 0, sizeof *f);
}
