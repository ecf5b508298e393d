/* plugin.c -- the cpu plugin's descriptor: the one exported symbol (KILN_PLUGIN_DEFINE) and the
 * table of its ops. Each op's definition and run() live in op_<name>.c. */
#include "kiln/plugin.h"
#include "ops.h"

static const kiln_op_def *const cpu_ops[] = {
    &kiln_cpu_op_train,   /* datasets -> model (MLP / CNN, oneDNN)        */
    &kiln_cpu_op_predict, /* model + dataset -> predictions (class, proba) */
    NULL};

static const kiln_plugin_desc cpu_plugin = {
    KILN_PLUGIN_ABI_MAJOR,    /* abi_major   */
    KILN_PLUGIN_ABI_MINOR,    /* abi_minor   */
    sizeof(kiln_plugin_desc), /* struct_size */
    "cpu",                    /* name: prefix of every op */
    KILN_CPU_PLUGIN_VERSION,  /* version: part of every action key */
    "train and run MLP / CNN classifiers on the CPU with oneDNN",
    cpu_ops,                  /* ops */
    NULL,                     /* exporters */
    NULL};                    /* init: nothing to check */

KILN_PLUGIN_DEFINE(cpu_plugin)
