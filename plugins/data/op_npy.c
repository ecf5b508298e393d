/* op_npy.c -- data.npy: NumPy .npy / .npz arrays to a dataset artifact (npyread.c). */
#include <inttypes.h>
#include <string.h>

#include "artifact.h"
#include "npyread.h"
#include "opglue.h"
#include "ops.h"

static const char npy_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"x\": {\"type\": \"string\", \"format\": \"input-file\","
    "         \"description\": \"a .npy file holding x [N, ...], or a .npz archive holding "
    "array x_key (and y_key when 'y' is not given)\"},"
    "  \"y\": {\"type\": \"string\", \"format\": \"input-file\","
    "         \"description\": \"a .npy file holding y [N] (integer labels), or a .npz "
    "holding array y_key; default: array y_key of the .npz given as x\"},"
    "  \"x_key\": {\"type\": \"string\", \"minLength\": 1, \"default\": \"x\","
    "             \"description\": \"name of the x array inside a .npz\"},"
    "  \"y_key\": {\"type\": \"string\", \"minLength\": 1, \"default\": \"y\","
    "             \"description\": \"name of the y array inside a .npz\"},"
    "  \"classes\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"minLength\": 1},"
    "               \"minItems\": 1,"
    "               \"description\": \"class names; labels must be below their count\"}},"
    " \"required\": [\"x\"]}";

static const kiln_port_def npy_outputs[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, "dataset.safetensors",
     "x [N, ...] uint8|float32 and y [N] int64"},
    {NULL, 0, 0, 0, NULL, NULL}};

static int run_npy(const kiln_host_api *h, kiln_ctx *ctx) {
    kiln_data_op op;
    kiln_error err = {0};
    kiln_data_set set;
    const json_t *classes;
    const char *x, *y;
    int rc;
    kiln_data_op_init(&op, h, ctx);
    kiln_data_set_init(&set);
    x = kiln_data_param_str(&op, "x", NULL);
    y = kiln_data_param_str(&op, "y", NULL);
    classes = json_object_get(op.params, "classes");
    rc = kiln_data_check_classes(classes, "param 'classes'", &err);
    if (rc == 0)
        rc = kiln_data_npy_read(x, y, kiln_data_param_str(&op, "x_key", "x"),
                                kiln_data_param_str(&op, "y_key", "y"), classes, &set, &err);
    if (rc == 0 && h->cancelled(ctx))
        rc = kiln_data_cancel_error(&err);
    if (rc == 0)
        rc = kiln_data_write_set(h, kiln_data_output(&op, "dataset"), &set, &err);
    if (rc == 0)
        h->log(ctx, KILN_LOG_INFO, "data.npy: %" PRId64 " samples, x %s with %" PRId64
                                   " features, from %s%s%s",
               set.n, set.x_dtype == KILN_DTYPE_U8 ? "uint8" : "float32",
               kiln_data_set_features(&set), x, y ? " and " : "", y ? y : "");
    kiln_data_set_clear(&set);
    return rc ? kiln_data_op_fail(&op, &err) : 0;
}

const kiln_op_def kiln_data_op_npy = {
    sizeof(kiln_op_def),
    "data.npy",
    "NumPy .npy / .npz arrays (x and y) to a dataset",
    npy_schema,
    NULL,
    npy_outputs,
    KILN_OP_DETERMINISTIC,
    1,
    run_npy};
