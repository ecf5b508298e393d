/* normalize.c -- normalisation statistics: compute, apply, (de)serialise (see normalize.h). */
#include "normalize.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#define ROW_BLOCK 4096 /* rows between progress reports / cancellation checks */

kiln_data_norm_mode kiln_data_norm_mode_parse(const char *name) {
    if (!name)
        return 0;
    if (strcmp(name, "per-feature") == 0)
        return KILN_NORM_PER_FEATURE;
    if (strcmp(name, "global") == 0)
        return KILN_NORM_GLOBAL;
    if (strcmp(name, "minmax") == 0)
        return KILN_NORM_MINMAX;
    if (strcmp(name, "minmax-per-feature") == 0)
        return KILN_NORM_MINMAX_PER_FEATURE;
    return 0;
}

const char *kiln_data_norm_mode_name(kiln_data_norm_mode mode) {
    switch (mode) {
    case KILN_NORM_PER_FEATURE: return "per-feature";
    case KILN_NORM_GLOBAL: return "global";
    case KILN_NORM_MINMAX: return "minmax";
    case KILN_NORM_MINMAX_PER_FEATURE: return "minmax-per-feature";
    }
    return "?";
}

static int per_feature(kiln_data_norm_mode mode) {
    return mode == KILN_NORM_PER_FEATURE || mode == KILN_NORM_MINMAX_PER_FEATURE;
}

static int is_minmax(kiln_data_norm_mode mode) {
    return mode == KILN_NORM_MINMAX || mode == KILN_NORM_MINMAX_PER_FEATURE;
}

void kiln_data_norm_stats_clear(kiln_data_norm_stats *s) {
    free(s->a);
    free(s->b);
    memset(s, 0, sizeof *s);
}

static int alloc_stats(kiln_data_norm_stats *s, kiln_data_norm_mode mode, int64_t f,
                       kiln_error *err) {
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->features = f;
    s->count = per_feature(mode) ? f : 1;
    s->a = calloc((size_t)s->count, sizeof *s->a);
    s->b = calloc((size_t)s->count, sizeof *s->b);
    if (!s->a || !s->b) {
        kiln_data_norm_stats_clear(s);
        return kiln_data_error(err, KILN_ENOMEM, "out of memory for %" PRId64 " statistics", f);
    }
    return 0;
}

/* Reports progress and checks cancellation at the end of a row block. */
static int block_done(const kiln_data_monitor *m, int64_t rows, int64_t n, kiln_error *err) {
    kiln_data_progress(m, (double)rows, (double)n, "sample");
    return kiln_data_cancelled(m) ? kiln_data_cancel_error(err) : 0;
}

/* uint8 data: exact integer sums (or min/max) per feature. */
static int compute_u8(kiln_data_norm_stats *s, const uint8_t *x, int64_t n, int64_t f,
                      const kiln_data_monitor *m, kiln_error *err) {
    if (is_minmax(s->mode)) {
        uint8_t *lo = malloc((size_t)f), *hi = malloc((size_t)f);
        if (!lo || !hi) {
            free(lo);
            free(hi);
            return kiln_data_error(err, KILN_ENOMEM, "out of memory");
        }
        memset(lo, 255, (size_t)f);
        memset(hi, 0, (size_t)f);
        for (int64_t r0 = 0; r0 < n; r0 += ROW_BLOCK) {
            int64_t r1 = r0 + ROW_BLOCK < n ? r0 + ROW_BLOCK : n;
            for (int64_t i = r0; i < r1; i++) {
                const uint8_t *row = x + i * f;
                for (int64_t j = 0; j < f; j++) {
                    lo[j] = row[j] < lo[j] ? row[j] : lo[j];
                    hi[j] = row[j] > hi[j] ? row[j] : hi[j];
                }
            }
            int rc = block_done(m, r1, n, err);
            if (rc) {
                free(lo);
                free(hi);
                return rc;
            }
        }
        for (int64_t j = 0; j < f; j++) {
            if (s->count == f) {
                s->a[j] = lo[j];
                s->b[j] = hi[j];
            } else { /* one global range */
                if (j == 0 || lo[j] < s->a[0])
                    s->a[0] = lo[j];
                if (j == 0 || hi[j] > s->b[0])
                    s->b[0] = hi[j];
            }
        }
        free(lo);
        free(hi);
        return 0;
    }
    if (s->mode == KILN_NORM_GLOBAL) {
        uint64_t hist[256] = {0};
        unsigned __int128 sum = 0, sq = 0, cnt = (unsigned __int128)n * (uint64_t)f;
        for (int64_t r0 = 0; r0 < n; r0 += ROW_BLOCK) {
            int64_t r1 = r0 + ROW_BLOCK < n ? r0 + ROW_BLOCK : n;
            const uint8_t *p = x + r0 * f, *e = x + r1 * f;
            while (p < e)
                hist[*p++]++;
            int rc = block_done(m, r1, n, err);
            if (rc)
                return rc;
        }
        for (unsigned v = 0; v < 256; v++) {
            sum += (unsigned __int128)hist[v] * v;
            sq += (unsigned __int128)hist[v] * v * v;
        }
        s->a[0] = (double)sum / (double)cnt;
        s->b[0] = sqrt((double)(cnt * sq - sum * sum) / ((double)cnt * (double)cnt));
        return 0;
    }
    {
        uint64_t *sum = calloc((size_t)f, sizeof *sum), *sq = calloc((size_t)f, sizeof *sq);
        if (!sum || !sq) {
            free(sum);
            free(sq);
            return kiln_data_error(err, KILN_ENOMEM, "out of memory");
        }
        for (int64_t r0 = 0; r0 < n; r0 += ROW_BLOCK) {
            int64_t r1 = r0 + ROW_BLOCK < n ? r0 + ROW_BLOCK : n;
            for (int64_t i = r0; i < r1; i++) {
                const uint8_t *row = x + i * f;
                for (int64_t j = 0; j < f; j++) {
                    uint32_t v = row[j];
                    sum[j] += v;
                    sq[j] += v * v;
                }
            }
            int rc = block_done(m, r1, n, err);
            if (rc) {
                free(sum);
                free(sq);
                return rc;
            }
        }
        for (int64_t j = 0; j < f; j++) {
            unsigned __int128 num = (unsigned __int128)(uint64_t)n * sq[j] -
                                    (unsigned __int128)sum[j] * sum[j];
            s->a[j] = (double)sum[j] / (double)n;
            s->b[j] = sqrt((double)num / ((double)n * (double)n));
        }
        free(sum);
        free(sq);
        return 0;
    }
}

/* Names the first non-finite value of float data. */
static int nonfinite(const float *x, int64_t n, int64_t f, kiln_error *err) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < f; j++)
            if (!isfinite(x[i * f + j]))
                return kiln_data_error(err, KILN_EINVAL,
                                       "x[%" PRId64 "] feature %" PRId64 " is %s: normalisation "
                                       "needs finite values",
                                       i, j, isnan(x[i * f + j]) ? "NaN" : "infinite");
    return kiln_data_error(err, KILN_EINVAL, "x holds values too large to normalise");
}

/* float32 data: two passes in double (mean, then squared deviations), or min/max. */
static int compute_f32(kiln_data_norm_stats *s, const float *x, int64_t n, int64_t f,
                       const kiln_data_monitor *m, kiln_error *err) {
    double *acc = calloc((size_t)f, sizeof *acc), *acc2 = calloc((size_t)f, sizeof *acc2);
    int rc = 0;
    if (!acc || !acc2) {
        free(acc);
        free(acc2);
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    }
    if (is_minmax(s->mode)) {
        /* acc = min, acc2 = max; a NaN anywhere makes the sum check below fail. */
        double total = 0;
        for (int64_t j = 0; j < f; j++) {
            acc[j] = x[j];
            acc2[j] = x[j];
        }
        for (int64_t r0 = 0; rc == 0 && r0 < n; r0 += ROW_BLOCK) {
            int64_t r1 = r0 + ROW_BLOCK < n ? r0 + ROW_BLOCK : n;
            for (int64_t i = r0; i < r1; i++) {
                const float *row = x + i * f;
                for (int64_t j = 0; j < f; j++) {
                    double v = row[j];
                    acc[j] = v < acc[j] ? v : acc[j];
                    acc2[j] = v > acc2[j] ? v : acc2[j];
                    total += v * 0.0; /* NaN or inf poisons it: v * 0 is NaN for both */
                }
            }
            rc = block_done(m, r1, n, err);
        }
        if (rc == 0 && !isfinite(total))
            rc = nonfinite(x, n, f, err);
        for (int64_t j = 0; rc == 0 && j < f; j++) {
            if (s->count != f) { /* one global range */
                if (j == 0 || acc[j] < s->a[0])
                    s->a[0] = acc[j];
                if (j == 0 || acc2[j] > s->b[0])
                    s->b[0] = acc2[j];
            } else {
                s->a[j] = acc[j];
                s->b[j] = acc2[j];
            }
        }
        free(acc);
        free(acc2);
        return rc;
    }
    /* Pass 1: sums per feature. */
    for (int64_t r0 = 0; rc == 0 && r0 < n; r0 += ROW_BLOCK) {
        int64_t r1 = r0 + ROW_BLOCK < n ? r0 + ROW_BLOCK : n;
        for (int64_t i = r0; i < r1; i++) {
            const float *row = x + i * f;
            for (int64_t j = 0; j < f; j++)
                acc[j] += row[j];
        }
        rc = block_done(m, r1 / 2, n, err);
    }
    if (rc == 0) {
        double total = 0;
        for (int64_t j = 0; j < f; j++)
            total += acc[j];
        if (!isfinite(total))
            rc = nonfinite(x, n, f, err);
        if (s->mode == KILN_NORM_GLOBAL) {
            double mean = total / ((double)n * (double)f);
            for (int64_t j = 0; j < f; j++)
                acc[j] = mean;
            s->a[0] = mean;
        } else {
            for (int64_t j = 0; j < f; j++) {
                acc[j] /= (double)n;
                s->a[j] = acc[j];
            }
        }
    }
    /* Pass 2: squared deviations from the mean. */
    for (int64_t r0 = 0; rc == 0 && r0 < n; r0 += ROW_BLOCK) {
        int64_t r1 = r0 + ROW_BLOCK < n ? r0 + ROW_BLOCK : n;
        for (int64_t i = r0; i < r1; i++) {
            const float *row = x + i * f;
            for (int64_t j = 0; j < f; j++) {
                double d = row[j] - acc[j];
                acc2[j] += d * d;
            }
        }
        rc = block_done(m, n / 2 + r1 / 2, n, err);
    }
    if (rc == 0) {
        if (s->mode == KILN_NORM_GLOBAL) {
            double ss = 0;
            for (int64_t j = 0; j < f; j++)
                ss += acc2[j];
            s->b[0] = sqrt(ss / ((double)n * (double)f));
        } else {
            for (int64_t j = 0; j < f; j++)
                s->b[j] = sqrt(acc2[j] / (double)n);
        }
        for (int64_t j = 0; j < s->count; j++)
            if (!isfinite(s->b[j]))
                rc = kiln_data_error(err, KILN_EINVAL,
                                     "x holds values too large to normalise (the variance of "
                                     "feature %" PRId64 " overflows)",
                                     j);
    }
    free(acc);
    free(acc2);
    return rc;
}

int kiln_data_norm_compute(kiln_data_norm_mode mode, const void *x, kiln_dtype dtype, int64_t n,
                           int64_t f, const kiln_data_monitor *m, kiln_data_norm_stats *out,
                           kiln_error *err) {
    int rc;
    if (!kiln_data_norm_mode_parse(kiln_data_norm_mode_name(mode)))
        return kiln_data_error(err, KILN_EINVAL, "unknown normalisation mode %d", (int)mode);
    if (n < 1 || f < 1)
        return kiln_data_error(err, KILN_EINVAL, "cannot normalise an empty dataset");
    if (dtype != KILN_DTYPE_U8 && dtype != KILN_DTYPE_F32)
        return kiln_data_error(err, KILN_EINVAL, "x must be uint8 or float32 to normalise");
    rc = alloc_stats(out, mode, f, err);
    if (rc)
        return rc;
    rc = dtype == KILN_DTYPE_U8 ? compute_u8(out, x, n, f, m, err)
                                : compute_f32(out, x, n, f, m, err);
    if (rc)
        kiln_data_norm_stats_clear(out);
    return rc;
}

/* shift and divisor of entry k as the float32 values apply uses. Dividing (rather than
 * multiplying by an inverse) keeps minmax results exactly within [0, 1]: x == max gives 1. */
static void coeffs(const kiln_data_norm_stats *s, int64_t k, float *shift, float *div) {
    double range = is_minmax(s->mode) ? s->b[k] - s->a[k] : s->b[k];
    *shift = (float)s->a[k];
    *div = range > 0 && (float)range > 0 ? (float)range : 1.0f;
}

int kiln_data_norm_apply(const kiln_data_norm_stats *s, const void *x, kiln_dtype dtype, int64_t n,
                         int64_t f, const kiln_data_monitor *m, float *out, kiln_error *err) {
    float *shift, *div;
    int rc = 0;
    if (f != s->features)
        return kiln_data_error(err, KILN_EINVAL,
                               "the statistics are for %" PRId64 " features, x has %" PRId64,
                               s->features, f);
    if (dtype != KILN_DTYPE_U8 && dtype != KILN_DTYPE_F32)
        return kiln_data_error(err, KILN_EINVAL, "x must be uint8 or float32 to normalise");
    if (dtype == KILN_DTYPE_U8 && s->count == 1) {
        /* One table of 256 results serves every value. */
        float lut[256], sh, dv;
        coeffs(s, 0, &sh, &dv);
        for (int v = 0; v < 256; v++)
            lut[v] = ((float)v - sh) / dv;
        for (int64_t r0 = 0; rc == 0 && r0 < n; r0 += ROW_BLOCK) {
            int64_t r1 = r0 + ROW_BLOCK < n ? r0 + ROW_BLOCK : n;
            const uint8_t *p = (const uint8_t *)x + r0 * f;
            float *o = out + r0 * f;
            for (int64_t i = 0, e = (r1 - r0) * f; i < e; i++)
                o[i] = lut[p[i]];
            rc = block_done(m, r1, n, err);
        }
        return rc;
    }
    shift = malloc((size_t)f * sizeof *shift);
    div = malloc((size_t)f * sizeof *div);
    if (!shift || !div) {
        free(shift);
        free(div);
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    }
    for (int64_t j = 0; j < f; j++)
        coeffs(s, s->count == 1 ? 0 : j, &shift[j], &div[j]);
    for (int64_t r0 = 0; rc == 0 && r0 < n; r0 += ROW_BLOCK) {
        int64_t r1 = r0 + ROW_BLOCK < n ? r0 + ROW_BLOCK : n;
        if (dtype == KILN_DTYPE_U8) {
            for (int64_t i = r0; i < r1; i++) {
                const uint8_t *row = (const uint8_t *)x + i * f;
                float *o = out + i * f;
                for (int64_t j = 0; j < f; j++)
                    o[j] = ((float)row[j] - shift[j]) / div[j];
            }
        } else {
            for (int64_t i = r0; i < r1; i++) {
                const float *row = (const float *)x + i * f;
                float *o = out + i * f;
                for (int64_t j = 0; j < f; j++)
                    o[j] = (row[j] - shift[j]) / div[j];
            }
        }
        rc = block_done(m, r1, n, err);
    }
    free(shift);
    free(div);
    return rc;
}

static const char *key_a(kiln_data_norm_mode mode) { return is_minmax(mode) ? "min" : "mean"; }
static const char *key_b(kiln_data_norm_mode mode) { return is_minmax(mode) ? "max" : "std"; }

static json_t *values_json(const kiln_data_norm_stats *s, const double *v) {
    json_t *arr;
    if (!per_feature(s->mode))
        return json_real(v[0]);
    arr = json_array();
    for (int64_t j = 0; arr && j < s->count; j++)
        if (json_array_append_new(arr, json_real(v[j])) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

char *kiln_data_norm_to_json(const kiln_data_norm_stats *s) {
    json_t *o = json_object();
    char *text = NULL;
    if (o && json_object_set_new(o, "mode", json_string(kiln_data_norm_mode_name(s->mode))) == 0 &&
        json_object_set_new(o, "features", json_integer(s->features)) == 0 &&
        json_object_set_new(o, key_a(s->mode), values_json(s, s->a)) == 0 &&
        json_object_set_new(o, key_b(s->mode), values_json(s, s->b)) == 0)
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(o);
    return text;
}

/* Reads a number or an array of `count` numbers into v. */
static int read_values(const json_t *o, const char *key, const kiln_data_norm_stats *s, double *v,
                       const char *what, kiln_error *err) {
    const json_t *j = json_object_get(o, key);
    if (!per_feature(s->mode)) {
        if (!json_is_number(j))
            return kiln_data_error(err, KILN_EFORMAT, "%s: \"%s\" must be a number", what, key);
        v[0] = json_number_value(j);
    } else {
        if (!json_is_array(j) || (int64_t)json_array_size(j) != s->count)
            return kiln_data_error(err, KILN_EFORMAT,
                                   "%s: \"%s\" must be an array of %" PRId64 " numbers", what, key,
                                   s->count);
        for (int64_t k = 0; k < s->count; k++) {
            const json_t *e = json_array_get(j, (size_t)k);
            if (!json_is_number(e))
                return kiln_data_error(err, KILN_EFORMAT, "%s: \"%s\"[%" PRId64 "] is not a number",
                                       what, key, k);
            v[k] = json_number_value(e);
        }
    }
    for (int64_t k = 0; k < s->count; k++)
        if (!isfinite(v[k]))
            return kiln_data_error(err, KILN_EFORMAT, "%s: \"%s\" holds a non-finite value", what,
                                   key);
    return 0;
}

int kiln_data_norm_from_json(const char *text, const char *what, kiln_data_norm_stats *out,
                             kiln_error *err) {
    json_error_t je;
    json_t *o = json_loads(text ? text : "", 0, &je);
    kiln_data_norm_mode mode;
    const json_t *fj;
    int rc;
    memset(out, 0, sizeof *out);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return kiln_data_error(err, KILN_EFORMAT, "%s: not a JSON object (%s)", what,
                               o ? "another JSON value" : je.text);
    }
    mode = kiln_data_norm_mode_parse(json_string_value(json_object_get(o, "mode")));
    fj = json_object_get(o, "features");
    if (!mode || !json_is_integer(fj) || json_integer_value(fj) < 1) {
        json_decref(o);
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: expected \"mode\" (per-feature, global, minmax, "
                               "minmax-per-feature) and \"features\" (an integer >= 1)",
                               what);
    }
    rc = alloc_stats(out, mode, (int64_t)json_integer_value(fj), err);
    if (rc == 0)
        rc = read_values(o, key_a(mode), out, out->a, what, err);
    if (rc == 0)
        rc = read_values(o, key_b(mode), out, out->b, what, err);
    for (int64_t k = 0; rc == 0 && k < out->count; k++)
        if (is_minmax(mode) ? out->b[k] < out->a[k] : out->b[k] < 0)
            rc = kiln_data_error(err, KILN_EFORMAT, "%s: entry %" PRId64 " has %s", what, k,
                                 is_minmax(mode) ? "max < min" : "a negative std");
    json_decref(o);
    if (rc)
        kiln_data_norm_stats_clear(out);
    return rc;
}
