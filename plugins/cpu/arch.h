/* arch.h -- a model's architecture: the layer list of a PyTorch nn.Sequential (linear,
 * conv2d, relu, maxpool2d, flatten), its input shape and class count, with the per-layer
 * output shapes inferred and checked. Built from cpu.train's params (mlp / cnn) or parsed
 * from a model's `kiln.arch` metadata (docs/artifacts.md), and written back to that JSON. */
#ifndef KILN_CPU_ARCH_H
#define KILN_CPU_ARCH_H

#include <stdint.h>
#include <jansson.h>

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kiln_cpu_layer_type {
    KILN_CPU_LINEAR = 1,
    KILN_CPU_CONV2D = 2,
    KILN_CPU_RELU = 3,
    KILN_CPU_MAXPOOL2D = 4,
    KILN_CPU_FLATTEN = 5
} kiln_cpu_layer_type;

/* One layer; layer i is Sequential index i. */
typedef struct kiln_cpu_layer {
    kiln_cpu_layer_type type;
    int64_t in, out;     /* linear: features; conv2d: channels                          */
    int64_t kernel;      /* conv2d, maxpool2d: square kernel size                      */
    int64_t stride;      /* conv2d, maxpool2d                                          */
    int64_t padding;     /* conv2d (maxpool2d: always 0)                               */
    /* Filled by inference: this layer's output shape per sample, [F] or [C, H, W]. */
    int out_ndim;
    int64_t out_shape[3];
} kiln_cpu_layer;

typedef struct kiln_cpu_arch {
    int in_ndim;          /* 1 ([F]) or 3 ([C, H, W])                                      */
    int64_t in_shape[3];
    int64_t num_classes;
    int nlayers;
    kiln_cpu_layer *layers; /* owned: kiln_cpu_arch_clear frees                          */
} kiln_cpu_arch;

/* Normalises a dataset's per-sample shape (x's shape without N) into an arch input shape:
 * [F] stays [F]; [H, W] becomes [1, H, W]; [C, H, W] stays. Returns 0, or KILN_EINVAL (with
 * a message naming `what`) for other ranks or non-positive dimensions. */
int kiln_cpu_input_shape(const int64_t *sample_shape, int sample_ndim, const char *what,
                         int *out_ndim, int64_t out_shape[3], kiln_error *err);

/* Builds the architecture cpu.train's params describe (see plugins/cpu/README.md): "arch"
 * "mlp" (Flatten, then Linear+ReLU per "hidden" size, then Linear to the classes) or "cnn"
 * ("conv" channel list of Conv2d(kernel, padding)+ReLU+MaxPool2d(pool), Flatten, "hidden"
 * dense layers, Linear to the classes). in_shape as from kiln_cpu_input_shape. Shapes are
 * inferred; an input that does not fit (a conv on [F], a map shrinking below 1x1) or a
 * hidden size of 0 is KILN_EINVAL naming the param. `arch` is overwritten (caller clears). */
int kiln_cpu_arch_from_params(const json_t *params, int in_ndim, const int64_t in_shape[3],
                              int64_t num_classes, kiln_cpu_arch *arch, kiln_error *err);

/* Parses `kiln.arch` JSON (docs/artifacts.md) and infers shapes. Returns 0, or
 * KILN_EFORMAT naming the field that is wrong. `arch` is overwritten (caller clears). */
int kiln_cpu_arch_from_json(const json_t *j, kiln_cpu_arch *arch, kiln_error *err);

/* Infers every layer's output shape from in_shape and checks the sequence: linear needs [F]
 * with F == in, conv2d needs [C, H, W] with C == in, maxpool2d needs [C, H, W], the last
 * output is [num_classes]. Returns 0 or KILN_EINVAL naming the layer. */
int kiln_cpu_arch_infer(kiln_cpu_arch *arch, kiln_error *err);

/* The `kiln.arch` JSON of `arch` (a new reference), or NULL when out of memory. */
json_t *kiln_cpu_arch_to_json(const kiln_cpu_arch *arch);

/* Number of parameters (weights + biases) of layer i; 0 for parameterless layers. */
int64_t kiln_cpu_layer_params(const kiln_cpu_layer *l);

/* The weight tensor's shape of a linear ([out, in]) or conv2d ([oc, ic, k, k]) layer.
 * Returns its rank (2 or 4), 0 for other layers. */
int kiln_cpu_layer_weight_shape(const kiln_cpu_layer *l, int64_t shape[4]);

/* Frees the layers; `arch` is zeroed. NULL-safe. */
void kiln_cpu_arch_clear(kiln_cpu_arch *arch);

/* Floating-point operations of one forward pass of one sample (2 per multiply-add of the
 * linear and conv2d layers; elementwise layers not counted). */
double kiln_cpu_arch_forward_flops(const kiln_cpu_arch *arch);

#ifdef __cplusplus
}
#endif

#endif
