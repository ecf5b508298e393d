/* ops.h -- the cpu plugin's op definitions, one per op_*.c file, listed by plugin.c. */
#ifndef KILN_CPU_OPS_H
#define KILN_CPU_OPS_H

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const kiln_op_def kiln_cpu_op_train;   /* cpu.train   (op_train.c)   */
extern const kiln_op_def kiln_cpu_op_predict; /* cpu.predict (op_predict.c) */

/* The plugin's version: part of every action key of its ops. Bump it whenever an op's output
 * bytes for the same inputs and params may change (init, arithmetic order, metadata). */
#define KILN_CPU_PLUGIN_VERSION "0.1.0"

#ifdef __cplusplus
}
#endif

#endif
