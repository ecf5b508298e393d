/* ops.h -- the data plugin's op definitions, one per op_*.c file, listed by plugin.c. */
#ifndef KILN_DATA_OPS_H
#define KILN_DATA_OPS_H

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const kiln_op_def kiln_data_op_idx;       /* data.idx       (op_idx.c)       */
extern const kiln_op_def kiln_data_op_csv;       /* data.csv       (op_csv.c)       */
extern const kiln_op_def kiln_data_op_npy;       /* data.npy       (op_npy.c)       */
extern const kiln_op_def kiln_data_op_normalize; /* data.normalize (op_normalize.c) */
extern const kiln_op_def kiln_data_op_shuffle;   /* data.shuffle   (op_shuffle.c)   */
extern const kiln_op_def kiln_data_op_split;     /* data.split     (op_split.c)     */
extern const kiln_op_def kiln_data_op_subset;    /* data.subset    (op_subset.c)    */

/* The plugin's version: part of every action key of its ops. Bump it whenever an op's output
 * bytes for the same inputs and params change (e.g. the PRNG sequence, the metadata). */
#define KILN_DATA_PLUGIN_VERSION "0.1.0"

#ifdef __cplusplus
}
#endif

#endif
