/* dataset.h -- a dataset in memory, as the readers (idx.c, csv.c, npy.c) produce it and the
 * op files write it out: x (uint8 or float32, [N, ...]) and y (int64 [N]), plus optional class
 * names. See README.md for the artifact layout. */
#ifndef KILN_DATA_DATASET_H
#define KILN_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common.h"
#include "file.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_data_set {
    kiln_dtype x_dtype;                       /* KILN_DTYPE_U8 or KILN_DTYPE_F32           */
    int x_ndim;                               /* >= 1                                       */
    int64_t x_shape[KILN_TENSOR_MAX_DIMS];    /* x_shape[0] == n                            */
    const void *x;                            /* x_nbytes of C-order data: points into
                                                 x_owned or into x_map                      */
    size_t x_nbytes;
    void *x_owned;                            /* owned malloc'd buffer, or NULL             */
    kiln_data_map *x_map;                     /* owned mapping x points into, or NULL       */
    int64_t *y;                               /* owned, n labels, each >= 0                 */
    int64_t n;                                /* samples, >= 1                              */
    json_t *classes;                          /* owned array of class names, or NULL        */
} kiln_data_set;

/* Zero-initialises a set (nothing owned). */
void kiln_data_set_init(kiln_data_set *s);

/* Frees everything the set owns and re-initialises it. */
void kiln_data_set_clear(kiln_data_set *s);

/* Number of features per sample: the product of x_shape[1..]; 1 for a 1-D x. */
int64_t kiln_data_set_features(const kiln_data_set *s);

/* Checks a `classes` param value: NULL (none given) is fine; otherwise it must be a non-empty
 * array of distinct, non-empty strings. `what` names it in the message ("param 'classes'").
 * Returns 0 or KILN_EINVAL. */
int kiln_data_check_classes(const json_t *classes, const char *what, kiln_error *err);

/* The exclusive upper bound for labels implied by `classes` (its length), or INT64_MAX when
 * classes is NULL (labels then only need to be >= 0). */
int64_t kiln_data_label_limit(const json_t *classes);

/* The metadata a reader's output carries, as a new JSON object of string values:
 * "kiln.num_classes": classes' length, or max(y)+1 when no classes were given;
 * "kiln.classes": the class names as JSON text (only when given).
 * Returns NULL only when out of memory. */
json_t *kiln_data_set_metadata(const kiln_data_set *s);

#ifdef __cplusplus
}
#endif

#endif
