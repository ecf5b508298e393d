/* plugin.c -- the data plugin's descriptor: the one exported symbol (KILN_PLUGIN_DEFINE) and
 * the table of its ops. Each op's definition and glue live in op_<name>.c. */
#include "kiln/plugin.h"
#include "ops.h"

static const kiln_op_def *const data_ops[] = {
    &kiln_data_op_idx,       /* IDX (MNIST family) images + labels -> dataset   */
    &kiln_data_op_csv,       /* numeric CSV -> dataset                          */
    &kiln_data_op_npy,       /* .npy / .npz -> dataset                          */
    &kiln_data_op_normalize, /* standardise / min-max scale, stats in metadata  */
    &kiln_data_op_shuffle,   /* seeded reorder                                  */
    &kiln_data_op_split,     /* seeded train / holdout split                    */
    &kiln_data_op_subset,    /* first n or random n                             */
    NULL};

static const kiln_plugin_desc data_plugin = {
    KILN_PLUGIN_ABI_MAJOR,       /* abi_major   */
    KILN_PLUGIN_ABI_MINOR,       /* abi_minor   */
    sizeof(kiln_plugin_desc),    /* struct_size */
    "data",                      /* name: prefix of every op */
    KILN_DATA_PLUGIN_VERSION,    /* version: part of every action key */
    "datasets in (IDX, CSV, NPY/NPZ), normalise, shuffle, split, subset: safetensors out",
    data_ops,                    /* ops */
    NULL,                        /* exporters */
    NULL};                       /* init: nothing to check */

KILN_PLUGIN_DEFINE(data_plugin)
