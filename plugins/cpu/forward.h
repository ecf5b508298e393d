/* forward.h -- what every op that runs a model over a dataset shares (cpu.predict,
 * eval.classify): its params (KILN_CPU_FORWARD_SCHEMA: batch, threads), opening its 'model'
 * and 'dataset' inputs and checking they fit, and the batched, cancellable forward pass. */
#ifndef KILN_CPU_FORWARD_H
#define KILN_CPU_FORWARD_H

#include <jansson.h>

#include "artifact.h"
#include "kiln/plugin.h"
#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A model and a dataset, open for forward passes. */
typedef struct kiln_cpu_forward {
    kiln_cpu_dataset ds;  /* the 'dataset' input, open                         */
    kiln_cpu_net *net;    /* owned: the 'model' input as an inference net       */
    json_t *model_meta;   /* owned ref: the model file's metadata object        */
    int batch;            /* samples per pass: the param, at most the data size */
} kiln_cpu_forward;

/* Reads the op's batch and threads params, sets the threads, opens input 'dataset', loads
 * input 'model' and checks the dataset's samples fit its architecture. Returns 0, or a
 * negative code with err naming the input; nothing is left open then. */
int kiln_cpu_forward_open(const kiln_host_api *h, kiln_ctx *ctx, kiln_cpu_forward *f, kiln_error *err);

/* Runs the model over every sample in order, calling fn per chunk (kiln_cpu_forward_all);
 * stops with KILN_ECANCELLED as soon as the host says the node is cancelled. */
int kiln_cpu_forward_run(const kiln_host_api *h, kiln_ctx *ctx, kiln_cpu_forward *f, kiln_cpu_chunk_fn fn,
                         void *ud, kiln_error *err);

/* Frees what kiln_cpu_forward_open opened; `f` is zeroed. Safe on a zeroed struct. */
void kiln_cpu_forward_close(const kiln_host_api *h, kiln_cpu_forward *f);

#ifdef __cplusplus
}
#endif

#endif
