/* model.h -- check a kiln model artifact before it is packaged (docs/artifacts.md, "model"):
 * its kiln.arch metadata must describe layers the packaged Python module can run
 * (linear, conv2d, relu, maxpool2d, flatten), and every weight tensor must be present, F32,
 * and shaped as the layer chain implies from input_shape down to num_classes logits. A
 * model that passes gives a wheel whose predict() works; one that fails is refused at
 * packaging time with a message naming the layer and the tensor. */
#ifndef KILN_WHEEL_MODEL_H
#define KILN_WHEEL_MODEL_H

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens the model at `path` through the host's safetensors reader and validates it.
 * On success returns 0 and a new JSON object in *out (caller owns) with:
 *   "arch" (the parsed kiln.arch), "input_shape", "num_classes", "parameters" (weights
 *   count), "classes" (array or null), "normalize", "training" (parsed JSON or null),
 *   "layers" (one line per layer: "conv2d 1->32 k3 s1 p0 -> [32, 26, 26]").
 * On failure returns KILN_EFORMAT (or KILN_ENOMEM) with err naming the problem. */
int kiln_wheel_model_inspect(const kiln_host_api *host, const char *path, json_t **out, kiln_error *err);

#ifdef __cplusplus
}
#endif

#endif
