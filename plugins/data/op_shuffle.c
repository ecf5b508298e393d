/* op_shuffle.c -- data.shuffle: the dataset's samples in a seeded random order (select.c). */
#include <inttypes.h>
#include <stdlib.h>

#include "artifact.h"
#include "opglue.h"
#include "ops.h"
#include "select.h"

static const char shuffle_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"seed\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0,"
    "            \"description\": \"random seed: the same seed gives the same order, "
    "everywhere\"}}}";

static const kiln_port_def shuffle_inputs[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, NULL, "the dataset to shuffle"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def shuffle_outputs[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, "dataset.safetensors",
     "the same samples in a random order"},
    {NULL, 0, 0, 0, NULL, NULL}};

static int run_shuffle(const kiln_host_api *h, kiln_ctx *ctx) {
    kiln_data_op op;
    kiln_error err = {0};
    kiln_data_view in;
    int64_t *order = NULL;
    int rc;
    kiln_data_op_init(&op, h, ctx);
    rc = kiln_data_view_open(h, kiln_data_input(&op, "dataset"), "input 'dataset'", &in, &err);
    if (rc)
        return kiln_data_op_fail(&op, &err);
    rc = kiln_data_select_shuffle(in.n, kiln_data_param_seed(&op), &order, &err);
    if (rc == 0)
        rc = kiln_data_write_rows(h, kiln_data_output(&op, "dataset"), &in, order, in.n, in.meta,
                                  &err);
    if (rc == 0)
        h->log(ctx, KILN_LOG_INFO, "data.shuffle: %" PRId64 " samples, seed %" PRIu64, in.n,
               kiln_data_param_seed(&op));
    free(order);
    kiln_data_view_close(h, &in);
    return rc ? kiln_data_op_fail(&op, &err) : 0;
}

const kiln_op_def kiln_data_op_shuffle = {
    sizeof(kiln_op_def),
    "data.shuffle",
    "reorder a dataset's samples at random (seeded, reproducible)",
    shuffle_schema,
    shuffle_inputs,
    shuffle_outputs,
    KILN_OP_DETERMINISTIC,
    1,
    run_shuffle};
