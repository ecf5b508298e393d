/* loss.c -- see loss.h. */
#include "loss.h"

#include <math.h>

/* Index of the first maximum of row z[0..c). */
static int64_t argmax(const float *z, int64_t c) {
    int64_t best = 0;
    for (int64_t j = 1; j < c; j++)
        if (z[j] > z[best])
            best = j;
    return best;
}

double kiln_cpu_xent(const float *logits, const int64_t *labels, int64_t n, int64_t c, float *dlogits,
                     float scale, int64_t *correct) {
    double total = 0;
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + i * c;
        int64_t am = argmax(z, c);
        double m = z[am], s = 0;
        for (int64_t j = 0; j < c; j++)
            s += exp((double)z[j] - m);
        double lse = m + log(s);
        total += lse - (double)z[labels[i]];
        if (am == labels[i])
            ok++;
        if (dlogits) {
            float *d = dlogits + i * c;
            for (int64_t j = 0; j < c; j++)
                d[j] = (float)(exp((double)z[j] - lse) - (j == labels[i] ? 1.0 : 0.0)) * scale;
        }
    }
    if (correct)
        *correct += ok;
    return total;
}

void kiln_cpu_softmax(const float *logits, int64_t n, int64_t c, float *proba, int64_t *cls) {
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + i * c;
        float *p = proba + i * c;
        int64_t am = argmax(z, c);
        double m = z[am], s = 0;
        if (cls)
            cls[i] = am;
        for (int64_t j = 0; j < c; j++)
            s += exp((double)z[j] - m);
        for (int64_t j = 0; j < c; j++)
            p[j] = (float)(exp((double)z[j] - m) / s);
    }
}
