/* npyread.h -- a dataset from NumPy files: x and y each from a .npy file or from an array of
 * a .npz archive (told apart by content, not by file name). */
#ifndef KILN_DATA_NPYREAD_H
#define KILN_DATA_NPYREAD_H

#include <jansson.h>
#include "common.h"
#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads x from `x_path` and y from `y_path` into `out` (initialised by the caller; filled only
 * on success).
 *   x_path: a .npy file (x), or a .npz archive holding array `x_key`.
 *   y_path: a .npy file or .npz archive (array `y_key`); NULL: y is array `y_key` of the
 *           .npz at x_path (an error when x_path is a .npy file).
 *   classes: optional class names (checked by the caller): labels must be below their count.
 * x keeps uint8, bool (as uint8) and little-endian float32 data as it is (a .npy x stays
 * memory-mapped, not copied); other dtypes become float32. y becomes int64. Checks that x has
 * at least one dimension, y exactly one, both the same N >= 1. */
int kiln_data_npy_read(const char *x_path, const char *y_path, const char *x_key,
                       const char *y_key, const json_t *classes, kiln_data_set *out,
                       kiln_error *err);

#ifdef __cplusplus
}
#endif

#endif
