/* npy.h -- the NumPy .npy array format (versions 1, 2 and 3): header parsing and conversion
 * of the array to a dataset's x (uint8 / float32) or y (int64).
 *
 * Supported dtypes: float32, float64, int8..int64, uint8..uint64 and bool, in either byte
 * order. C order only ("fortran_order": True is refused with advice). Anything else (float16,
 * complex, strings, objects, structured, datetimes) is an "unsupported dtype" error that names
 * the dtype and its byte offset in the header. */
#ifndef KILN_DATA_NPY_H
#define KILN_DATA_NPY_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_data_npy {
    char kind;                              /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
    int elsize;                             /* 1, 2, 4 or 8                                  */
    int big_endian;                         /* 1 for '>' dtypes of more than one byte        */
    char descr[32];                         /* the dtype string as written ("<f4")           */
    int ndim;                               /* 0..KILN_TENSOR_MAX_DIMS                       */
    int64_t shape[KILN_TENSOR_MAX_DIMS];
    size_t count;                           /* product of shape (1 for a 0-d array)          */
    const uint8_t *data;                    /* points into the parsed buffer                 */
    size_t nbytes;                          /* count * elsize                                */
    size_t data_offset;                     /* offset of data in the buffer                  */
} kiln_data_npy;

/* Parses the .npy bytes buf[0..size) (a file, or a member of an .npz). `name` names it in
 * messages ("/d/x.npy", "/d/data.npz: x.npy"). Checks the magic, version, header syntax,
 * dtype, order and shape, and that exactly `nbytes` of data follow the header (no truncation,
 * no trailing bytes). Returns 0 or KILN_EFORMAT with the byte offset of the problem. */
int kiln_data_npy_parse(const uint8_t *buf, size_t size, const char *name, kiln_data_npy *out,
                        kiln_error *err);

/* The array as dataset x: uint8/bool arrays, and float32 ("<f4") arrays whose data is 4-byte
 * aligned, are used in place (*x points into a->data, *owned is NULL); everything else is
 * converted (or copied) to float32 into a new buffer (*owned, caller frees; *x == *owned).
 * 0-d arrays are refused. */
int kiln_data_npy_to_x(const kiln_data_npy *a, const char *name, const void **x, void **owned,
                       kiln_dtype *dtype, kiln_error *err);

/* The array as dataset y: a new int64 array (*y, caller frees) of a->count labels. The array
 * must be 1-D; integer and bool values are taken as they are, float values must be whole;
 * every label must be >= 0 and < limit (INT64_MAX: no upper bound). Errors name the index and
 * the byte offset of the first bad label. */
int kiln_data_npy_to_labels(const kiln_data_npy *a, const char *name, int64_t limit, int64_t **y,
                            kiln_error *err);

#ifdef __cplusplus
}
#endif

#endif
