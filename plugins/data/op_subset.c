/* op_subset.c -- data.subset: the first N samples, or N at random (seeded), for small fast
 * graphs in tests and smoke runs (select.c decides the rows). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "opglue.h"
#include "ops.h"
#include "select.h"

static const char subset_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"n\": {\"type\": \"integer\", \"minimum\": 1,"
    "         \"description\": \"number of samples to keep (all of them when the dataset has "
    "fewer)\"},"
    "  \"mode\": {\"type\": \"string\", \"enum\": [\"first\", \"random\"], \"default\": \"first\","
    "            \"description\": \"first: the first n samples; random: n samples drawn at "
    "random, kept in input order\"},"
    "  \"seed\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0,"
    "            \"description\": \"random seed for mode random\"}},"
    " \"required\": [\"n\"]}";

static const kiln_port_def subset_inputs[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, NULL, "the dataset to take samples from"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def subset_outputs[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, "dataset.safetensors",
     "n samples, in input order"},
    {NULL, 0, 0, 0, NULL, NULL}};

static int run_subset(const kiln_host_api *h, kiln_ctx *ctx) {
    kiln_data_op op;
    kiln_error err = {0};
    kiln_data_view in;
    int64_t *idx = NULL, k;
    int random, rc;
    kiln_data_op_init(&op, h, ctx);
    k = kiln_data_param_int(&op, "n", 0);
    random = strcmp(kiln_data_param_str(&op, "mode", "first"), "random") == 0;
    if (k < 1)
        return h->fail(ctx, "param 'n': expected an integer >= 1");
    rc = kiln_data_view_open(h, kiln_data_input(&op, "dataset"), "input 'dataset'", &in, &err);
    if (rc)
        return kiln_data_op_fail(&op, &err);
    if (k > in.n) {
        h->log(ctx, KILN_LOG_WARN,
               "data.subset: n = %" PRId64 " but the dataset has %" PRId64 " samples; keeping all",
               k, in.n);
        k = in.n;
    }
    rc = kiln_data_select_subset(in.n, k, random, kiln_data_param_seed(&op), &idx, &err);
    if (rc == 0)
        rc = kiln_data_write_rows(h, kiln_data_output(&op, "dataset"), &in, idx, k, in.meta, &err);
    if (rc == 0)
        h->log(ctx, KILN_LOG_INFO, "data.subset: %" PRId64 " of %" PRId64 " samples (%s)", k,
               in.n, random ? "random" : "first");
    free(idx);
    kiln_data_view_close(h, &in);
    return rc ? kiln_data_op_fail(&op, &err) : 0;
}

const kiln_op_def kiln_data_op_subset = {
    sizeof(kiln_op_def),
    "data.subset",
    "keep the first n samples, or n at random (seeded): small graphs for tests and smoke runs",
    subset_schema,
    subset_inputs,
    subset_outputs,
    KILN_OP_DETERMINISTIC,
    1,
    run_subset};
