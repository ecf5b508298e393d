/* artifact.h -- reading and writing the artifacts of docs/artifacts.md through the host API:
 * datasets (opened and checked as a kiln_cpu_data) and models (a kiln_cpu_net's parameters
 * under PyTorch nn.Sequential state_dict names, with kiln.arch and kiln.training metadata). */
#ifndef KILN_CPU_ARTIFACT_H
#define KILN_CPU_ARTIFACT_H

#include <jansson.h>

#include "arch.h"
#include "data.h"
#include "kiln/plugin.h"
#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An open dataset file. */
typedef struct kiln_cpu_dataset {
    kiln_tensors *t;     /* owned; closed by kiln_cpu_dataset_close        */
    const json_t *meta;  /* borrowed from t                                */
    kiln_cpu_data d;
    int in_ndim;         /* the samples' shape as a model input (arch.h)  */
    int64_t in_shape[3];
} kiln_cpu_dataset;

/* Opens the dataset at `path` and checks it (kiln_cpu_data_init; `what` names it in errors:
 * "input 'train'"). Returns 0 or a negative code with err set; on failure nothing is left
 * open. */
int kiln_cpu_dataset_open(const kiln_host_api *h, const char *path, const char *what,
                          kiln_cpu_dataset *ds, kiln_error *err);

/* Closes the file; `ds` is zeroed. Safe on a zeroed dataset. */
void kiln_cpu_dataset_close(const kiln_host_api *h, kiln_cpu_dataset *ds);

/* Checks that the dataset's samples have the architecture's input shape; KILN_EINVAL with a
 * message naming both shapes otherwise. */
int kiln_cpu_dataset_fits(const kiln_cpu_dataset *ds, const kiln_cpu_arch *arch, const char *what,
                          kiln_error *err);

/* Writes `net`'s parameters as a model file to `path` (atomically). `training` (borrowed, may
 * be NULL) becomes kiln.training; kiln.classes and kiln.normalize are copied from
 * `data_meta` (may be NULL) when present. JSON metadata is written compact with sorted keys,
 * so the same content gives the same bytes. Returns 0 or a negative code with err set. */
int kiln_cpu_model_write(const kiln_host_api *h, const char *path, kiln_cpu_net *net,
                         const json_t *training, const json_t *data_meta, kiln_error *err);

/* Loads the model at `path` into a new inference net (or a training net with `flags`) tuned
 * for `batch` samples per call: parses kiln.arch, checks every weight's name, dtype (F32) and
 * shape. *meta_out (when not NULL) gets a new reference to the file's metadata object.
 * Returns 0 or a negative code with err naming the model file and the field. */
int kiln_cpu_model_load(const kiln_host_api *h, const char *path, int batch, unsigned flags,
                        kiln_cpu_net **net_out, json_t **meta_out, kiln_error *err);

/* Runs the forward pass over every sample of `d` in order, `batch` at a time, and calls
 * fn(ud, logits, labels, start, n) for each chunk (logits [n, classes], borrowed until fn
 * returns). Stops when fn returns non-zero (returned) or `cancelled` (may be NULL) says so
 * (KILN_ECANCELLED). Returns 0 or a negative code with err set. */
typedef int (*kiln_cpu_chunk_fn)(void *ud, const float *logits, const int64_t *labels, int64_t start,
                                 int64_t n);
int kiln_cpu_forward_all(kiln_cpu_net *net, const kiln_cpu_data *d, int batch, kiln_cpu_chunk_fn fn,
                         void *ud, int (*cancelled)(void *), void *cancel_ud, kiln_error *err);

#ifdef __cplusplus
}
#endif

#endif
