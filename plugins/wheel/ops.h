/* ops.h -- the wheel plugin's ops and shared constants (plugin.c lists the ops). */
#ifndef KILN_WHEEL_OPS_H
#define KILN_WHEEL_OPS_H

#include <stddef.h>
#include "kiln/plugin.h"

/* Bump whenever wheel.package's output bytes may change for the same inputs and params
 * (the Python module, metadata layout, zip settings): cached wheels are keyed by it. */
#define KILN_WHEEL_PLUGIN_VERSION "1.0.0"

/* WHEEL's Generator line. */
#define KILN_WHEEL_GENERATOR "kiln-wheel " KILN_WHEEL_PLUGIN_VERSION

extern const kiln_op_def kiln_wheel_op_package; /* op_package.c */
extern const kiln_op_def kiln_wheel_op_check;   /* op_check.c   */

/* python/kiln_model.py, the module every model wheel carries (generated pymodule.c). */
extern const unsigned char kiln_wheel_pymodule[];
extern const size_t kiln_wheel_pymodule_len;

#endif
