/* plugin.c -- the eval plugin's descriptor: the one exported symbol (KILN_PLUGIN_DEFINE) and
 * the table of its ops. Each op's definition and run() live in op_<name>.c. */
#include "kiln/plugin.h"
#include "ops.h"

static const kiln_op_def *const eval_ops[] = {
    &kiln_eval_op_classify, /* model + dataset -> metrics                          */
    &kiln_eval_op_select,   /* a sweep's metrics + models -> best model + a table  */
    NULL};

static const kiln_plugin_desc eval_plugin = {
    KILN_PLUGIN_ABI_MAJOR,    /* abi_major   */
    KILN_PLUGIN_ABI_MINOR,    /* abi_minor   */
    sizeof(kiln_plugin_desc), /* struct_size */
    "eval",                   /* name: prefix of every op */
    KILN_EVAL_PLUGIN_VERSION, /* version: part of every action key */
    "evaluate classifiers (accuracy, loss, per-class scores, confusion) and pick the best of a sweep",
    eval_ops,                 /* ops */
    NULL,                     /* exporters */
    NULL};                    /* init: nothing to check */

KILN_PLUGIN_DEFINE(eval_plugin)
