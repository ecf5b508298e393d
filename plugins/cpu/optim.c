/* optim.c -- see optim.h. */
#include "optim.h"

#include <math.h>

int kiln_cpu_optim_nstates(const kiln_cpu_optim *o) {
    if (o->kind == KILN_CPU_ADAM)
        return 2;
    return o->momentum != 0.0 ? 1 : 0;
}

double kiln_cpu_lr(const kiln_cpu_optim *o, int64_t epoch, int64_t step, int64_t total_steps) {
    switch (o->schedule) {
    case KILN_CPU_LR_STEP: {
        int64_t k = o->step_size > 0 ? epoch / o->step_size : 0;
        return o->lr * pow(o->gamma, (double)k);
    }
    case KILN_CPU_LR_COSINE:
        if (total_steps <= 0)
            return o->lr;
        return o->lr * 0.5 * (1.0 + cos(M_PI * (double)step / (double)total_steps));
    case KILN_CPU_LR_CONSTANT: break;
    }
    return o->lr;
}

/* One SGD-with-momentum loop per (first step, Nesterov) pair, without branches inside, so that
 * each vectorises: the same IEEE add / mul per element in every variant (no contraction across
 * elements), so the model bytes do not depend on the vector width. B is the new momentum
 * buffer value, U the update applied to the weight. */
#define SGD_LOOP(B, U)                                                                     \
    {                                                                                      \
        _Pragma("omp parallel for simd schedule(static) if (n > 65536)")                   \
        for (int64_t i = 0; i < n; i++) {                                                  \
            float gi = g[i] + wd * w[i];                                                   \
            float b = (B);                                                                 \
            s1[i] = b;                                                                     \
            w[i] -= flr * (U);                                                             \
        }                                                                                  \
    }

void kiln_cpu_optim_update(const kiln_cpu_optim *o, double lr, int64_t t, float *restrict w,
                           const float *restrict g, float *restrict s1, float *restrict s2,
                           int64_t n) {
    const float flr = (float)lr, wd = (float)o->weight_decay;
    if (o->kind == KILN_CPU_ADAM) {
        const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
        const float c1 = (float)(1.0 - pow(o->beta1, (double)t));
        const float c2 = (float)(1.0 - pow(o->beta2, (double)t));
        const float step = flr / c1, rc2 = 1.0f / sqrtf(c2);
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float m = b1 * s1[i] + (1.0f - b1) * gi;
            float v = b2 * s2[i] + (1.0f - b2) * gi * gi;
            s1[i] = m;
            s2[i] = v;
            w[i] -= step * m / (sqrtf(v) * rc2 + eps);
        }
        return;
    }
    if (o->momentum == 0.0) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (int64_t i = 0; i < n; i++)
            w[i] -= flr * (g[i] + wd * w[i]);
        return;
    }
    const float mu = (float)o->momentum;
    if (t <= 1 && o->nesterov)
        SGD_LOOP(gi, gi + mu * b)
    else if (t <= 1)
        SGD_LOOP(gi, b)
    else if (o->nesterov)
        SGD_LOOP(mu * s1[i] + gi, gi + mu * b)
    else
        SGD_LOOP(mu * s1[i] + gi, b)
}
