/* select.h -- which rows go where, for the seeded ops: a shuffle's order, a split's train and
 * holdout rows (optionally stratified by label), a subset's rows. Pure functions of (n, labels,
 * parameters, seed), using prng.h: the same arguments give the same indices everywhere.
 * Split and subset keep the input's order (their index lists ascend); shuffle reorders. */
#ifndef KILN_DATA_SELECT_H
#define KILN_DATA_SELECT_H

#include <stdint.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A random permutation of 0..n-1 into a new array (*order, caller frees). */
int kiln_data_select_shuffle(int64_t n, uint64_t seed, int64_t **order, kiln_error *err);

/* The holdout size for `holdout` (0 < holdout < 1: that fraction of n, rounded to nearest;
 * holdout >= 1: a whole count). Fails with KILN_EINVAL when it is not a whole count, or when
 * either side would be empty. */
int kiln_data_select_holdout_count(double holdout, int64_t n, int64_t *k, kiln_error *err);

/* Splits rows 0..n-1 into train and holdout. k = kiln_data_select_holdout_count(holdout, n).
 * Without stratify, the holdout is k rows drawn at random. With stratify, each label value c
 * gets round-by-largest-remainder(k * n_c / n) holdout rows (ties to the smaller label), so
 * class proportions match as closely as integers allow and the total is exactly k.
 * *train (n - k rows) and *hold (k rows) are new ascending arrays (caller frees). */
int kiln_data_select_split(const int64_t *y, int64_t n, double holdout, int stratify,
                           uint64_t seed, int64_t **train, int64_t *ntrain, int64_t **hold,
                           int64_t *nhold, kiln_error *err);

/* k rows of n (1 <= k <= n): the first k, or (random) k drawn at random, ascending, in a new
 * array (*idx, caller frees). */
int kiln_data_select_subset(int64_t n, int64_t k, int random, uint64_t seed, int64_t **idx,
                            kiln_error *err);

/* Copies rows idx[0..k) of x (rows of row_bytes bytes) and y into x_out / y_out. */
void kiln_data_take(const void *x, size_t row_bytes, const int64_t *y, const int64_t *idx,
                    int64_t k, void *x_out, int64_t *y_out);

#ifdef __cplusplus
}
#endif

#endif
