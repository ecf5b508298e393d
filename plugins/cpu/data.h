/* data.h -- a dataset artifact (docs/artifacts.md) as the trainer sees it: x (U8 or F32,
 * [N, ...]) and y (I64 [N]) borrowed from an open safetensors file, checked once (shape,
 * labels in range, no NaN / Inf), and gathered batch by batch into float rows. The data are
 * never copied whole: batches read the mapped file, so memory stays near the file's size. */
#ifndef KILN_CPU_DATA_H
#define KILN_CPU_DATA_H

#include <stdint.h>

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_cpu_data {
    int64_t n;                /* samples                                               */
    int sample_ndim;          /* x's rank - 1                                          */
    int64_t sample_shape[KILN_TENSOR_MAX_DIMS];
    int64_t features;         /* product of sample_shape                               */
    kiln_dtype xdtype;        /* KILN_DTYPE_U8 or KILN_DTYPE_F32                       */
    const void *x;            /* borrowed                                              */
    const int64_t *y;         /* borrowed                                              */
    int64_t num_classes;      /* from metadata kiln.num_classes, else max(y) + 1       */
} kiln_cpu_data;

/* Fills `d` from tensors x and y of an open file (`meta` its __metadata__, may be NULL).
 * `what` names the input in messages ("input 'train'"). Checks: x is U8 or F32 with rank >= 2,
 * y is I64 [N] with the same N, N >= 1 (an empty dataset is an error), every label in
 * [0, num_classes) (naming the first bad index), and no NaN or Inf in an F32 x (naming the
 * first sample). Returns 0 or KILN_EINVAL / KILN_EFORMAT with err set. */
int kiln_cpu_data_init(kiln_cpu_data *d, const kiln_tensor *x, const kiln_tensor *y,
                       const json_t *meta, const char *what, kiln_error *err);

/* Checks that every label is below `num_classes` (for a validation set judged against the
 * training set's classes). Returns 0 or KILN_EINVAL naming the first bad index. */
int kiln_cpu_data_check_labels(const kiln_cpu_data *d, int64_t num_classes, const char *what,
                               kiln_error *err);

/* Copies samples idx[0..n) (or start..start+n when idx is NULL) as float rows into out
 * ([n, features]) and their labels into labels (when not NULL). U8 converts by value. */
void kiln_cpu_data_gather(const kiln_cpu_data *d, const int64_t *idx, int64_t start, int64_t n,
                          float *out, int64_t *labels);

#ifdef __cplusplus
}
#endif

#endif
