/* ops.h -- the eval plugin's op definitions, one per op_*.c file, listed by plugin.c. */
#ifndef KILN_EVAL_OPS_H
#define KILN_EVAL_OPS_H

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const kiln_op_def kiln_eval_op_classify; /* eval.classify (op_classify.c) */
extern const kiln_op_def kiln_eval_op_select;   /* eval.select   (op_select.c)   */

/* The plugin's version: part of every action key of its ops. Bump it whenever an op's output
 * bytes for the same inputs and params may change. */
#define KILN_EVAL_PLUGIN_VERSION "0.1.0"

#ifdef __cplusplus
}
#endif

#endif
