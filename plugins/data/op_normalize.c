/* op_normalize.c -- data.normalize: float32 x scaled by statistics computed on this dataset or
 * taken from the optional "stats_from" input, recorded in the output's metadata
 * ("kiln.normalize") so that a test set can be normalised with the train set's numbers.
 * The maths is normalize.c's. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "normalize.h"
#include "opglue.h"
#include "ops.h"

static const char normalize_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"mode\": {\"type\": \"string\","
    "            \"enum\": [\"per-feature\", \"global\", \"minmax\", \"minmax-per-feature\"],"
    "            \"default\": \"per-feature\","
    "            \"description\": \"per-feature: (x - mean_j) / std_j; global: one mean and std; "
    "minmax: (x - min) / (max - min) over all values, into [0, 1]; minmax-per-feature: per "
    "feature\"}}}";

static const kiln_port_def normalize_inputs[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, NULL, "the dataset to normalise"},
    {"stats_from", KILN_TYPE_DATASET, KILN_ONE, KILN_PORT_OPTIONAL, NULL,
     "take the statistics from this dataset: its kiln.normalize metadata (a data.normalize "
     "output, e.g. the normalised train set), or else computed from its x"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def normalize_outputs[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, "dataset.safetensors",
     "x float32, same shape; y unchanged; statistics in metadata kiln.normalize"},
    {NULL, 0, 0, 0, NULL, NULL}};

/* The statistics: from stats_from's metadata, from stats_from's x, or from the input's x.
 * *source receives a description for the log. */
static int get_stats(kiln_data_op *op, kiln_data_norm_mode mode, const kiln_data_view *in,
                     kiln_data_norm_stats *st, const char **source, kiln_error *err) {
    const char *sf_path = kiln_data_input(op, "stats_from");
    kiln_data_view sf;
    const char *text;
    int rc;
    if (!sf_path) {
        *source = "computed from the input";
        return kiln_data_norm_compute(mode, in->x.data, in->x.dtype, in->n, in->features,
                                      &op->mon, st, err);
    }
    rc = kiln_data_view_open(op->h, sf_path, "input 'stats_from'", &sf, err);
    if (rc)
        return rc;
    text = json_string_value(json_object_get(sf.meta, "kiln.normalize"));
    if (text) {
        *source = "taken from input 'stats_from' (metadata kiln.normalize)";
        rc = kiln_data_norm_from_json(text, "input 'stats_from': metadata kiln.normalize", st,
                                      err);
        if (rc == 0 && st->mode != mode)
            rc = kiln_data_error(err, KILN_EINVAL,
                                 "input 'stats_from' carries %s statistics (metadata "
                                 "kiln.normalize) but param 'mode' is %s: set mode to \"%s\"",
                                 kiln_data_norm_mode_name(st->mode),
                                 kiln_data_norm_mode_name(mode),
                                 kiln_data_norm_mode_name(st->mode));
    } else {
        *source = "computed from input 'stats_from'";
        rc = kiln_data_norm_compute(mode, sf.x.data, sf.x.dtype, sf.n, sf.features, &op->mon, st,
                                    err);
    }
    if (rc == 0 && st->features != in->features)
        rc = kiln_data_error(err, KILN_EINVAL,
                             "input 'stats_from' has statistics for %" PRId64
                             " features, input 'dataset' has %" PRId64 " features per sample",
                             st->features, in->features);
    if (rc)
        kiln_data_norm_stats_clear(st);
    kiln_data_view_close(op->h, &sf);
    return rc;
}

static int run_normalize(const kiln_host_api *h, kiln_ctx *ctx) {
    kiln_data_op op;
    kiln_error err = {0};
    kiln_data_view in;
    kiln_data_norm_stats st;
    kiln_data_norm_mode mode;
    const char *source = "";
    float *out = NULL;
    json_t *meta = NULL;
    char *text = NULL;
    size_t nbytes;
    int rc;
    kiln_data_op_init(&op, h, ctx);
    memset(&st, 0, sizeof st);
    mode = kiln_data_norm_mode_parse(kiln_data_param_str(&op, "mode", "per-feature"));
    if (!mode)
        return h->fail(ctx, "param 'mode': expected per-feature, global, minmax or "
                            "minmax-per-feature");
    rc = kiln_data_view_open(h, kiln_data_input(&op, "dataset"), "input 'dataset'", &in, &err);
    if (rc)
        return kiln_data_op_fail(&op, &err);
    rc = get_stats(&op, mode, &in, &st, &source, &err);
    if (rc == 0 && kiln_data_mul_size((size_t)in.n * (size_t)in.features, sizeof(float), &nbytes))
        rc = kiln_data_error(&err, KILN_ENOMEM, "input 'dataset' is too large");
    if (rc == 0 && !(out = kiln_data_alloc_large(nbytes)))
        rc = kiln_data_error(&err, KILN_ENOMEM, "out of memory for %zu bytes of output", nbytes);
    if (rc == 0)
        rc = kiln_data_norm_apply(&st, in.x.data, in.x.dtype, in.n, in.features, &op.mon, out,
                                  &err);
    if (rc == 0) {
        meta = json_deep_copy(in.meta);
        text = kiln_data_norm_to_json(&st);
        if (!meta || !text || json_object_set_new(meta, "kiln.normalize", json_string(text)))
            rc = kiln_data_error(&err, KILN_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = kiln_data_write(h, kiln_data_output(&op, "dataset"), KILN_DTYPE_F32, in.x.ndim,
                             in.x.shape, out, in.y.data, meta, &err);
    if (rc == 0)
        h->log(ctx, KILN_LOG_INFO, "data.normalize: %" PRId64 " samples x %" PRId64
                                   " features, mode %s, statistics %s",
               in.n, in.features, kiln_data_norm_mode_name(mode), source);
    free(out);
    free(text);
    json_decref(meta);
    kiln_data_norm_stats_clear(&st);
    kiln_data_view_close(h, &in);
    return rc ? kiln_data_op_fail(&op, &err) : 0;
}

const kiln_op_def kiln_data_op_normalize = {
    sizeof(kiln_op_def),
    "data.normalize",
    "standardise or min-max scale x to float32; statistics travel in the metadata",
    normalize_schema,
    normalize_inputs,
    normalize_outputs,
    KILN_OP_DETERMINISTIC,
    1,
    run_normalize};
