/* data.c -- see data.h. */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int kiln_cpu_data_check_labels(const kiln_cpu_data *d, int64_t num_classes, const char *what,
                               kiln_error *err) {
    for (int64_t i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= num_classes)
            return kiln_cpu_err(err, KILN_EINVAL,
                                "%s: label y[%lld] = %lld is out of range, expected 0 <= y < %lld "
                                "(the number of classes)",
                                what, (long long)i, (long long)d->y[i], (long long)num_classes);
    return 0;
}

int kiln_cpu_data_init(kiln_cpu_data *d, const kiln_tensor *x, const kiln_tensor *y,
                       const json_t *meta, const char *what, kiln_error *err) {
    memset(d, 0, sizeof *d);
    if (x->dtype != KILN_DTYPE_U8 && x->dtype != KILN_DTYPE_F32)
        return kiln_cpu_err(err, KILN_EFORMAT, "%s: tensor x must be U8 or F32", what);
    if (x->ndim < 2)
        return kiln_cpu_err(err, KILN_EFORMAT,
                            "%s: tensor x has rank %d, expected [N, features...] (rank >= 2)", what,
                            x->ndim);
    if (y->dtype != KILN_DTYPE_I64 || y->ndim != 1)
        return kiln_cpu_err(err, KILN_EFORMAT, "%s: tensor y must be I64 of shape [N]", what);
    if (y->shape[0] != x->shape[0])
        return kiln_cpu_err(err, KILN_EINVAL, "%s: x has %lld samples but y has %lld labels", what,
                            (long long)x->shape[0], (long long)y->shape[0]);
    d->n = x->shape[0];
    if (d->n < 1)
        return kiln_cpu_err(err, KILN_EINVAL, "%s: the dataset is empty (0 samples)", what);
    d->sample_ndim = x->ndim - 1;
    d->features = 1;
    for (int i = 1; i < x->ndim; i++) {
        d->sample_shape[i - 1] = x->shape[i];
        d->features *= x->shape[i];
    }
    if (d->features < 1)
        return kiln_cpu_err(err, KILN_EINVAL, "%s: samples have no features (x shape has a 0)", what);
    d->xdtype = x->dtype;
    d->x = x->data;
    d->y = y->data;
    /* Classes: the metadata's count, else one past the largest label. */
    const char *nc = meta ? json_string_value(json_object_get(meta, "kiln.num_classes")) : NULL;
    if (nc) {
        char *end;
        long long v = strtoll(nc, &end, 10);
        if (*end || v < 1)
            return kiln_cpu_err(err, KILN_EFORMAT,
                                "%s: metadata kiln.num_classes is \"%s\", expected an integer >= 1",
                                what, nc);
        d->num_classes = v;
    } else {
        int64_t mx = -1;
        for (int64_t i = 0; i < d->n; i++)
            if (d->y[i] > mx)
                mx = d->y[i];
        d->num_classes = mx + 1;
    }
    int rc = kiln_cpu_data_check_labels(d, d->num_classes, what, err);
    if (rc)
        return rc;
    if (d->num_classes < 2)
        return kiln_cpu_err(err, KILN_EINVAL, "%s: only %lld class, expected at least 2", what,
                            (long long)d->num_classes);
    if (d->xdtype == KILN_DTYPE_F32) {
        const float *xf = d->x;
        int64_t total = d->n * d->features, bad = -1;
        /* Blocks of 4096 checked without branches (x - x is 0 exactly when x is finite), so
         * the check vectorises; a failing block is scanned again for the first bad value. */
        for (int64_t s = 0; s < total && bad < 0; s += 4096) {
            int64_t e = total - s < 4096 ? total : s + 4096;
            int ok = 1;
            for (int64_t i = s; i < e; i++)
                ok &= (xf[i] - xf[i]) == 0.0f;
            for (int64_t i = s; !ok && i < e; i++)
                if (!isfinite(xf[i])) {
                    bad = i;
                    break;
                }
        }
        if (bad >= 0)
            return kiln_cpu_err(err, KILN_EINVAL,
                                "%s: x holds %s at sample %lld (feature %lld); inputs must be finite",
                                what, isnan(xf[bad]) ? "NaN" : "Inf", (long long)(bad / d->features),
                                (long long)(bad % d->features));
    }
    return 0;
}

void kiln_cpu_data_gather(const kiln_cpu_data *d, const int64_t *idx, int64_t start, int64_t n,
                          float *out, int64_t *labels) {
    const int64_t f = d->features;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = idx ? idx[i] : start + i;
        float *o = out + i * f;
        if (d->xdtype == KILN_DTYPE_F32) {
            memcpy(o, (const float *)d->x + r * f, (size_t)f * sizeof(float));
        } else {
            const uint8_t *s = (const uint8_t *)d->x + r * f;
            for (int64_t j = 0; j < f; j++)
                o[j] = (float)s[j];
        }
        if (labels)
            labels[i] = d->y[r];
    }
}
