/* net.h -- a kiln_cpu_arch run with oneDNN primitives: forward, backward, parameters.
 *
 * A net owns the parameters of every linear / conv2d layer in the layout oneDNN prefers for
 * the batch size it was created with (format_tag any; e.g. blocked conv weights), their
 * gradients, and up to two optimizer state buffers per parameter in that same layout, so the
 * optimizer runs elementwise over them and nothing is reordered between steps. Plain
 * (PyTorch) layouts are only produced on request (kiln_cpu_net_get / _set: checkpoints and
 * model files).
 *
 * Primitives are created once per batch size: the first forward or backward at a size builds
 * an "instance" (primitives + activation buffers) that later calls reuse (a training run uses
 * two or three: full batches, the last partial batch, the validation remainder). Linear and
 * conv2d layers followed by ReLU get the ReLU fused as a post-op; the backward ReLU uses the
 * fused output. oneDNN runs on the OpenMP threads of the calling thread (kiln_cpu_set_threads).
 *
 * Results are deterministic for a fixed thread count and batch sizes. Not thread-safe: one net
 * is used from one thread.
 */
#ifndef KILN_CPU_NET_H
#define KILN_CPU_NET_H

#include <stdint.h>

#include "arch.h"
#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_cpu_net kiln_cpu_net;

/* Which buffer of a parameter kiln_cpu_net_get / _set / _raw address. */
typedef enum kiln_cpu_buf {
    KILN_CPU_VALUE = 0,  /* the parameter                                     */
    KILN_CPU_GRAD = 1,   /* its gradient from the last backward               */
    KILN_CPU_STATE1 = 2, /* optimizer state (momentum buffer, Adam's m)       */
    KILN_CPU_STATE2 = 3  /* optimizer state (Adam's v)                        */
} kiln_cpu_buf;

/* Flags for kiln_cpu_net_new. */
#define KILN_CPU_NET_TRAIN 0x1u      /* backward primitives and gradients                     */
#define KILN_CPU_NET_INPUT_GRAD 0x2u /* backward also computes d(loss)/d(input) (tests)       */

/* Sets the OpenMP thread count oneDNN (and the net's own loops) use from the calling thread.
 * threads < 1 is taken as 1. */
void kiln_cpu_set_threads(int threads);

/* Creates a net for `arch` (copied; shapes inferred) whose parameter layouts are tuned for
 * `batch` samples per call. Parameters start at zero; state buffers are allocated (zeroed)
 * for `nstates` (0..2) optimizer states. Returns 0 and *out (free with kiln_cpu_net_free),
 * or a negative code with err naming the layer and the oneDNN call that failed. */
int kiln_cpu_net_new(const kiln_cpu_arch *arch, int batch, unsigned flags, int nstates,
                     kiln_cpu_net **out, kiln_error *err);

/* Frees the net and every instance. NULL-safe. */
void kiln_cpu_net_free(kiln_cpu_net *net);

/* The architecture (borrowed). */
const kiln_cpu_arch *kiln_cpu_net_arch(const kiln_cpu_net *net);

/* Number of input features per sample (product of the input shape). */
int64_t kiln_cpu_net_in_features(const kiln_cpu_net *net);

/* Parameter tensors: 2 per linear / conv2d layer, in layer order, weight then bias. Tensor
 * `index` is named "<layer>.weight" / "<layer>.bias" (PyTorch state_dict names) and has the
 * PyTorch shape (Linear [out, in], Conv2d [oc, ic, k, k], bias [out]). */
int kiln_cpu_net_nparams(const kiln_cpu_net *net);
const char *kiln_cpu_net_param_name(const kiln_cpu_net *net, int index);
int kiln_cpu_net_param_shape(const kiln_cpu_net *net, int index, int64_t shape[4]); /* ndim */
int64_t kiln_cpu_net_param_count(const kiln_cpu_net *net, int index); /* elements, plain */

/* Copies buffer `which` of parameter `index` out in the plain PyTorch layout into `plain`
 * (param_count floats), or in from `plain` (padding of blocked layouts stays zero). Returns 0
 * or a negative code with err set (bad index, buffer not allocated, oneDNN reorder failed). */
int kiln_cpu_net_get(kiln_cpu_net *net, int index, kiln_cpu_buf which, float *plain,
                     kiln_error *err);
int kiln_cpu_net_set(kiln_cpu_net *net, int index, kiln_cpu_buf which, const float *plain,
                     kiln_error *err);

/* The raw buffer `which` of parameter `index` in the net's internal layout, and its length in
 * floats (including zero padding of blocked layouts), for elementwise optimizers. NULL when
 * the index is bad or the buffer is not allocated. Borrowed. */
float *kiln_cpu_net_raw(kiln_cpu_net *net, int index, kiln_cpu_buf which, int64_t *count);

/* Makes sure the instance for `n` samples exists (building its primitives on first use) and
 * returns its input buffer: n * in_features floats, plain C order ([n, F] or [n, C, H, W]),
 * for the caller to fill before kiln_cpu_net_forward(n). NULL with err set on failure. */
float *kiln_cpu_net_input(kiln_cpu_net *net, int n, kiln_error *err);

/* Runs the forward pass of the instance for `n` (its input buffer must be filled). On
 * success *logits (borrowed, [n, num_classes] plain, valid until the next call for `n`) holds
 * the output. Returns 0 or a negative code with err set. */
int kiln_cpu_net_forward(kiln_cpu_net *net, int n, const float **logits, kiln_error *err);

/* The d(loss)/d(logits) buffer of the instance for `n` ([n, num_classes] plain): fill it
 * after kiln_cpu_net_forward(n), then call kiln_cpu_net_backward(n). NULL with err set when
 * the net is not a training net or the instance cannot be built. */
float *kiln_cpu_net_dlogits(kiln_cpu_net *net, int n, kiln_error *err);

/* Backward pass of the last forward at `n`: overwrites every parameter's gradient (and, with
 * KILN_CPU_NET_INPUT_GRAD, the input gradient). Returns 0 or a negative code. */
int kiln_cpu_net_backward(kiln_cpu_net *net, int n, kiln_error *err);

/* d(loss)/d(input) of the last backward at `n` ([n, in_features] plain, borrowed), or NULL
 * when the net was not created with KILN_CPU_NET_INPUT_GRAD. */
const float *kiln_cpu_net_dinput(kiln_cpu_net *net, int n);

/* oneDNN implementation names of the primitives of the instance for `n`, one per line
 * ("1.fwd: gemm:jit"), for logs; a new string the caller frees, or NULL. */
char *kiln_cpu_net_describe(kiln_cpu_net *net, int n);

#ifdef __cplusplus
}
#endif

#endif
