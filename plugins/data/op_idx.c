/* op_idx.c -- data.idx: an IDX images file and an IDX labels file (plain or gzip) to a
 * dataset artifact. The parsing is idx.c's; this file is the op's definition and glue. */
#include <inttypes.h>
#include <string.h>

#include "artifact.h"
#include "idx.h"
#include "opglue.h"
#include "ops.h"

static const char idx_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"images\": {\"type\": \"string\", \"format\": \"input-file\","
    "              \"description\": \"IDX images file, plain or gzip (e.g. "
    "train-images-idx3-ubyte.gz)\"},"
    "  \"labels\": {\"type\": \"string\", \"format\": \"input-file\","
    "              \"description\": \"IDX labels file, plain or gzip, one integer label per "
    "image\"},"
    "  \"classes\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"minLength\": 1},"
    "               \"minItems\": 1,"
    "               \"description\": \"class names, label i is classes[i]; labels must be below "
    "their count\"},"
    "  \"dtype\": {\"type\": \"string\", \"enum\": [\"auto\", \"uint8\", \"float32\"],"
    "             \"default\": \"auto\","
    "             \"description\": \"x element type: auto keeps uint8 images as uint8 and turns "
    "other IDX types into float32; values are never rescaled (see data.normalize)\"}},"
    " \"required\": [\"images\", \"labels\"]}";

static const kiln_port_def idx_outputs[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, "dataset.safetensors",
     "x [N, ...] uint8|float32 and y [N] int64"},
    {NULL, 0, 0, 0, NULL, NULL}};

static int run_idx(const kiln_host_api *h, kiln_ctx *ctx) {
    kiln_data_op op;
    kiln_error err = {0};
    kiln_data_set set;
    const json_t *classes;
    const char *images, *labels, *dt;
    kiln_dtype dtype = 0;
    int rc;
    kiln_data_op_init(&op, h, ctx);
    kiln_data_set_init(&set);
    images = kiln_data_param_str(&op, "images", NULL);
    labels = kiln_data_param_str(&op, "labels", NULL);
    classes = json_object_get(op.params, "classes");
    dt = kiln_data_param_str(&op, "dtype", "auto");
    if (strcmp(dt, "uint8") == 0)
        dtype = KILN_DTYPE_U8;
    else if (strcmp(dt, "float32") == 0)
        dtype = KILN_DTYPE_F32;
    rc = kiln_data_check_classes(classes, "param 'classes'", &err);
    if (rc == 0)
        rc = kiln_data_idx_read(images, labels, dtype, classes, &op.mon, &set, &err);
    if (rc == 0)
        rc = kiln_data_write_set(h, kiln_data_output(&op, "dataset"), &set, &err);
    if (rc == 0)
        h->log(ctx, KILN_LOG_INFO, "data.idx: %" PRId64 " samples, x %s with %" PRId64
                                   " features, from %s and %s",
               set.n, set.x_dtype == KILN_DTYPE_U8 ? "uint8" : "float32",
               kiln_data_set_features(&set), images, labels);
    kiln_data_set_clear(&set);
    return rc ? kiln_data_op_fail(&op, &err) : 0;
}

const kiln_op_def kiln_data_op_idx = {
    sizeof(kiln_op_def),
    "data.idx",
    "IDX images + labels (MNIST family, plain or gzip) to a dataset",
    idx_schema,
    NULL,
    idx_outputs,
    KILN_OP_DETERMINISTIC,
    1,
    run_idx};
