/* op_split.c -- data.split: a dataset into "train" and "holdout" (seeded, optionally
 * stratified by label; select.c decides the rows). */
#include <inttypes.h>
#include <stdlib.h>

#include "artifact.h"
#include "opglue.h"
#include "ops.h"
#include "select.h"

static const char split_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"holdout\": {\"type\": \"number\", \"exclusiveMinimum\": 0, \"default\": 0.1,"
    "               \"description\": \"below 1: the fraction of samples held out (rounded to the "
    "nearest count); 1 or more: the number of samples held out (a whole number)\"},"
    "  \"stratify\": {\"type\": \"boolean\", \"default\": false,"
    "                \"description\": \"hold out the same fraction of every label (as closely as "
    "whole counts allow)\"},"
    "  \"seed\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0,"
    "            \"description\": \"random seed: the same seed gives the same split, "
    "everywhere\"}}}";

static const kiln_port_def split_inputs[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, NULL, "the dataset to split"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def split_outputs[] = {
    {"train", KILN_TYPE_DATASET, KILN_ONE, 0, "train.safetensors",
     "the samples not held out, in input order"},
    {"holdout", KILN_TYPE_DATASET, KILN_ONE, 0, "holdout.safetensors",
     "the held-out samples, in input order"},
    {NULL, 0, 0, 0, NULL, NULL}};

static int run_split(const kiln_host_api *h, kiln_ctx *ctx) {
    kiln_data_op op;
    kiln_error err = {0};
    kiln_data_view in;
    int64_t *tr = NULL, *ho = NULL, ntr = 0, nho = 0;
    int stratify, rc;
    kiln_data_op_init(&op, h, ctx);
    stratify = kiln_data_param_bool(&op, "stratify", 0);
    rc = kiln_data_view_open(h, kiln_data_input(&op, "dataset"), "input 'dataset'", &in, &err);
    if (rc)
        return kiln_data_op_fail(&op, &err);
    rc = kiln_data_select_split(in.y.data, in.n, kiln_data_param_num(&op, "holdout", 0.1),
                                stratify, kiln_data_param_seed(&op), &tr, &ntr, &ho, &nho, &err);
    if (rc == 0)
        rc = kiln_data_write_rows(h, kiln_data_output(&op, "train"), &in, tr, ntr, in.meta, &err);
    if (rc == 0 && h->cancelled(ctx))
        rc = kiln_data_cancel_error(&err);
    if (rc == 0)
        rc = kiln_data_write_rows(h, kiln_data_output(&op, "holdout"), &in, ho, nho, in.meta,
                                  &err);
    if (rc == 0)
        h->log(ctx, KILN_LOG_INFO,
               "data.split: %" PRId64 " samples -> train %" PRId64 ", holdout %" PRId64
               "%s, seed %" PRIu64,
               in.n, ntr, nho, stratify ? " (stratified)" : "", kiln_data_param_seed(&op));
    free(tr);
    free(ho);
    kiln_data_view_close(h, &in);
    return rc ? kiln_data_op_fail(&op, &err) : 0;
}

const kiln_op_def kiln_data_op_split = {
    sizeof(kiln_op_def),
    "data.split",
    "split a dataset into train and holdout (seeded, optionally stratified)",
    split_schema,
    split_inputs,
    split_outputs,
    KILN_OP_DETERMINISTIC,
    1,
    run_split};
