/* select.c -- seeded row selection for shuffle, split and subset (see select.h). */
#include "select.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"

static int64_t *iota_new(int64_t n) {
    int64_t *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (v)
        for (int64_t i = 0; i < n; i++)
            v[i] = i;
    return v;
}

int kiln_data_select_shuffle(int64_t n, uint64_t seed, int64_t **order, kiln_error *err) {
    kiln_data_rng r;
    int64_t *v = iota_new(n);
    if (!v)
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    kiln_data_rng_seed(&r, seed);
    kiln_data_shuffle_indices(v, n, &r);
    *order = v;
    return 0;
}

int kiln_data_select_holdout_count(double holdout, int64_t n, int64_t *k, kiln_error *err) {
    int64_t c;
    if (!(holdout > 0) || !isfinite(holdout))
        return kiln_data_error(err, KILN_EINVAL,
                               "param 'holdout': expected a fraction in (0, 1) or a count >= 1, "
                               "got %g",
                               holdout);
    if (holdout < 1) {
        c = (int64_t)floor(holdout * (double)n + 0.5);
        if (c == 0 || c == n)
            return kiln_data_error(err, KILN_EINVAL,
                                   "param 'holdout': %g of %" PRId64 " samples is %" PRId64
                                   ": %s would be empty",
                                   holdout, n, c, c == 0 ? "the holdout" : "the train set");
    } else {
        if (holdout != floor(holdout))
            return kiln_data_error(err, KILN_EINVAL,
                                   "param 'holdout': %g is >= 1, so it is a count and must be a "
                                   "whole number (use a value below 1 for a fraction)",
                                   holdout);
        if (holdout >= (double)n)
            return kiln_data_error(err, KILN_EINVAL,
                                   "param 'holdout': %g samples of %" PRId64
                                   " leaves none to train on",
                                   holdout, n);
        c = (int64_t)holdout;
    }
    *k = c;
    return 0;
}

typedef struct ranked {
    int64_t label, rank, idx;
} ranked;

static int by_label_rank(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->label != b->label)
        return a->label < b->label ? -1 : 1;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

typedef struct quota {
    int64_t label, start, count, take;
    unsigned __int128 rem;
} quota;

static int by_remainder(const void *pa, const void *pb) {
    const quota *a = pa, *b = pb;
    if (a->rem != b->rem)
        return a->rem > b->rem ? -1 : 1;
    return a->label < b->label ? -1 : a->label > b->label;
}

static int by_start(const void *pa, const void *pb) {
    const quota *a = pa, *b = pb;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Marks the stratified holdout rows in flag[]. `perm` is a random permutation. */
static int mark_stratified(const int64_t *y, int64_t n, int64_t k, const int64_t *perm,
                           uint8_t *flag, kiln_error *err) {
    ranked *rk = malloc((size_t)n * sizeof *rk);
    quota *q = NULL;
    int64_t nq = 0, given = 0;
    if (!rk)
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        rk[i].label = y[perm[i]];
        rk[i].rank = i;
        rk[i].idx = perm[i];
    }
    qsort(rk, (size_t)n, sizeof *rk, by_label_rank);
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || rk[i].label != rk[i - 1].label)
            nq++;
    q = calloc((size_t)nq, sizeof *q);
    if (!q) {
        free(rk);
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    }
    nq = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i == 0 || rk[i].label != rk[i - 1].label) {
            q[nq].label = rk[i].label;
            q[nq].start = i;
            nq++;
        }
        q[nq - 1].count++;
    }
    for (int64_t c = 0; c < nq; c++) {
        unsigned __int128 num = (unsigned __int128)k * (uint64_t)q[c].count;
        q[c].take = (int64_t)(num / (uint64_t)n);
        q[c].rem = num % (uint64_t)n;
        given += q[c].take;
    }
    qsort(q, (size_t)nq, sizeof *q, by_remainder);
    for (int64_t c = 0; given < k && c < nq; c++, given++)
        q[c].take++;
    qsort(q, (size_t)nq, sizeof *q, by_start);
    for (int64_t c = 0; c < nq; c++)
        for (int64_t i = 0; i < q[c].take; i++)
            flag[rk[q[c].start + i].idx] = 1;
    free(q);
    free(rk);
    return 0;
}

int kiln_data_select_split(const int64_t *y, int64_t n, double holdout, int stratify,
                           uint64_t seed, int64_t **train, int64_t *ntrain, int64_t **hold,
                           int64_t *nhold, kiln_error *err) {
    int64_t k, *perm = NULL, *tr = NULL, *ho = NULL, a = 0, b = 0;
    uint8_t *flag = NULL;
    int rc = kiln_data_select_holdout_count(holdout, n, &k, err);
    if (rc)
        return rc;
    rc = kiln_data_select_shuffle(n, seed, &perm, err);
    if (rc)
        return rc;
    flag = calloc((size_t)n, 1);
    tr = malloc((size_t)(n - k) * sizeof *tr);
    ho = malloc((size_t)k * sizeof *ho);
    if (!flag || !tr || !ho) {
        rc = kiln_data_error(err, KILN_ENOMEM, "out of memory");
        goto done;
    }
    if (stratify) {
        rc = mark_stratified(y, n, k, perm, flag, err);
        if (rc)
            goto done;
    } else {
        for (int64_t i = 0; i < k; i++)
            flag[perm[i]] = 1;
    }
    for (int64_t i = 0; i < n; i++) {
        if (flag[i])
            ho[b++] = i;
        else
            tr[a++] = i;
    }
    if (a != n - k || b != k) {
        rc = kiln_data_error(err, KILN_EINTERNAL, "split: %" PRId64 "+%" PRId64 " != %" PRId64, a,
                             b, n);
        goto done;
    }
    *train = tr;
    *hold = ho;
    *ntrain = a;
    *nhold = b;
    tr = ho = NULL;
done:
    free(perm);
    free(flag);
    free(tr);
    free(ho);
    return rc;
}

static int cmp_i64(const void *pa, const void *pb) {
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return a < b ? -1 : a > b;
}

int kiln_data_select_subset(int64_t n, int64_t k, int random, uint64_t seed, int64_t **idx,
                            kiln_error *err) {
    int64_t *v;
    if (k < 1 || k > n)
        return kiln_data_error(err, KILN_EINVAL, "subset of %" PRId64 " rows out of %" PRId64, k,
                               n);
    v = iota_new(n);
    if (!v)
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    if (random) {
        kiln_data_rng r;
        kiln_data_rng_seed(&r, seed);
        for (int64_t i = 0; i < k; i++) {
            int64_t j = i + (int64_t)kiln_data_rng_below(&r, (uint64_t)(n - i));
            int64_t t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
        qsort(v, (size_t)k, sizeof *v, cmp_i64);
    }
    *idx = v; /* only the first k entries matter */
    return 0;
}

void kiln_data_take(const void *x, size_t row_bytes, const int64_t *y, const int64_t *idx,
                    int64_t k, void *x_out, int64_t *y_out) {
    const uint8_t *src = x;
    uint8_t *dst = x_out;
    for (int64_t i = 0; i < k; i++) {
        memcpy(dst + (size_t)i * row_bytes, src + (size_t)idx[i] * row_bytes, row_bytes);
        y_out[i] = y[idx[i]];
    }
}
