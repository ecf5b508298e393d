/* opglue.c -- params, monitor and failure plumbing for the op files (see opglue.h). */
#include "opglue.h"

static int mon_cancelled(void *ud) {
    kiln_data_op *op = ud;
    return op->h->cancelled(op->ctx);
}

static void mon_progress(void *ud, double done, double total, const char *unit) {
    kiln_data_op *op = ud;
    op->h->progress(op->ctx, done, total, unit);
}

void kiln_data_op_init(kiln_data_op *op, const kiln_host_api *h, kiln_ctx *ctx) {
    op->h = h;
    op->ctx = ctx;
    op->params = h->params(ctx);
    op->mon.ud = op;
    op->mon.cancelled = mon_cancelled;
    op->mon.progress = mon_progress;
}

int kiln_data_op_fail(kiln_data_op *op, const kiln_error *err) {
    int code = err->code ? err->code : KILN_EINTERNAL;
    op->h->fail(op->ctx, "%s", err->code ? err->message : "internal error (no message)");
    return code;
}

const char *kiln_data_param_str(const kiln_data_op *op, const char *name, const char *dflt) {
    const char *s = json_string_value(json_object_get(op->params, name));
    return s ? s : dflt;
}

int64_t kiln_data_param_int(const kiln_data_op *op, const char *name, int64_t dflt) {
    const json_t *v = json_object_get(op->params, name);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    return dflt;
}

double kiln_data_param_num(const kiln_data_op *op, const char *name, double dflt) {
    const json_t *v = json_object_get(op->params, name);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

int kiln_data_param_bool(const kiln_data_op *op, const char *name, int dflt) {
    const json_t *v = json_object_get(op->params, name);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

uint64_t kiln_data_param_seed(const kiln_data_op *op) {
    return (uint64_t)kiln_data_param_int(op, "seed", 0);
}

const char *kiln_data_input(const kiln_data_op *op, const char *port) {
    if (op->h->input_count(op->ctx, port) < 1)
        return NULL;
    return op->h->input_path(op->ctx, port, 0);
}

const char *kiln_data_output(const kiln_data_op *op, const char *port) {
    return op->h->output_path(op->ctx, port);
}
