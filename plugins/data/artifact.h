/* artifact.h -- dataset artifacts through the host: open an input dataset (checked against
 * the layout: x uint8|float32 [N, ...], y int64 [N], N >= 1) and write an output dataset
 * with its "__metadata__". Everything goes through the kiln_host_api table. */
#ifndef KILN_DATA_ARTIFACT_H
#define KILN_DATA_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common.h"
#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An input dataset, memory-mapped by the host. */
typedef struct kiln_data_view {
    kiln_tensors *t;     /* owned: close with kiln_data_view_close                      */
    kiln_tensor x, y;    /* borrowed from t                                              */
    int64_t n;           /* samples                                                      */
    int64_t features;    /* product of x's shape after the first dimension (1 for 1-D)   */
    size_t row_bytes;    /* bytes of one sample of x                                     */
    const json_t *meta;  /* borrowed from t: object of string values                     */
    void *x_copy;        /* owned aligned copies, made only when the file's data is not   */
    void *y_copy;        /* aligned for its type (x.data / y.data then point here)        */
} kiln_data_view;

/* Opens the dataset at `path`; `what` names it in messages ("input 'dataset'"). x.data and
 * y.data are aligned for their element type (copied when a file written elsewhere leaves
 * them unaligned). Returns 0, or a negative code with err naming the input, the path and
 * what is wrong. */
int kiln_data_view_open(const kiln_host_api *h, const char *path, const char *what,
                        kiln_data_view *v, kiln_error *err);

/* Releases the view. Safe on a zeroed or already closed view. */
void kiln_data_view_close(const kiln_host_api *h, kiln_data_view *v);

/* Writes a dataset to `path` (atomically, by the host's writer): x (dtype U8 or F32, shape
 * [shape[0] == n, ...]) and y (int64 [n]) are borrowed, not copied. `meta` (may be NULL) is an
 * object whose string values become "__metadata__" entries. */
int kiln_data_write(const kiln_host_api *h, const char *path, kiln_dtype dtype, int ndim,
                    const int64_t *shape, const void *x, const int64_t *y, const json_t *meta,
                    kiln_error *err);

/* Writes a reader's dataset with its metadata (kiln_data_set_metadata). */
int kiln_data_write_set(const kiln_host_api *h, const char *path, const kiln_data_set *s,
                        kiln_error *err);

/* Writes rows idx[0..k) of the input `v` (x and y, in that order) as a dataset to `path` with
 * metadata `meta` (may be NULL). Memory: one output-sized buffer, freed before returning. */
int kiln_data_write_rows(const kiln_host_api *h, const char *path, const kiln_data_view *v,
                         const int64_t *idx, int64_t k, const json_t *meta, kiln_error *err);

#ifdef __cplusplus
}
#endif

#endif
