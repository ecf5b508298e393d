/* optim.h -- optimizers and learning-rate schedules, PyTorch's semantics:
 *
 *   sgd:  g += wd * w;  buf = momentum * buf + g (buf = g on the first step);
 *         nesterov: g += momentum * buf, else g = buf (momentum > 0);  w -= lr * g
 *   adam: g += wd * w;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *         w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *
 * Updates are elementwise over raw buffers (any layout, zero padding stays zero), in float,
 * split over the OpenMP threads: the same inputs give the same bits for any thread count.
 */
#ifndef KILN_CPU_OPTIM_H
#define KILN_CPU_OPTIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kiln_cpu_optim_kind { KILN_CPU_SGD = 0, KILN_CPU_ADAM = 1 } kiln_cpu_optim_kind;
typedef enum kiln_cpu_schedule {
    KILN_CPU_LR_CONSTANT = 0,
    KILN_CPU_LR_STEP = 1,
    KILN_CPU_LR_COSINE = 2
} kiln_cpu_schedule;

typedef struct kiln_cpu_optim {
    kiln_cpu_optim_kind kind;
    double lr;            /* base learning rate, > 0                                    */
    double momentum;      /* sgd                                                         */
    int nesterov;         /* sgd                                                         */
    double beta1, beta2, eps; /* adam                                                    */
    double weight_decay;  /* L2 added to the gradient (PyTorch's weight_decay), >= 0     */
    kiln_cpu_schedule schedule;
    int64_t step_size;    /* step: epochs between decays                                 */
    double gamma;         /* step: decay factor                                          */
} kiln_cpu_optim;

/* Number of state buffers per parameter: sgd with momentum 1, without 0; adam 2. */
int kiln_cpu_optim_nstates(const kiln_cpu_optim *o);

/* Learning rate for global step `step` (0-based) of epoch `epoch` (0-based), out of
 * `total_steps` steps: constant lr; step: lr * gamma^floor(epoch / step_size); cosine:
 * lr * (1 + cos(pi * step / total_steps)) / 2, annealed per step down towards 0. */
double kiln_cpu_lr(const kiln_cpu_optim *o, int64_t epoch, int64_t step, int64_t total_steps);

/* One update of n elements. t is the 1-based number of this update (Adam's bias correction;
 * for sgd t == 1 initialises the momentum buffer with g). s1 / s2 are the state buffers
 * (NULL when kiln_cpu_optim_nstates says none). g is not modified. */
void kiln_cpu_optim_update(const kiln_cpu_optim *o, double lr, int64_t t, float *w, const float *g,
                           float *s1, float *s2, int64_t n);

#ifdef __cplusplus
}
#endif

#endif
