/* normalize.h -- normalisation statistics: computed once (on training data), carried as JSON
 * in a dataset's "__metadata__" ("kiln.normalize"), and applied unchanged to other data.
 *
 * Every mode maps a value v of feature j to (v - shift[j]) / div[j] in float32:
 *   per-feature         shift = mean of feature j, div = std of feature j
 *   global              shift = mean of all values, div = std of all values
 *   minmax              shift = min of all values,  div = max - min: values in [0, 1] exactly
 *   minmax-per-feature  the same per feature
 * (shift and div are the double statistics rounded to float32.) std is the population
 * standard deviation (ddof = 0, as numpy's default). A zero std or range (a constant
 * feature) gets div 1, so that feature becomes 0 (as scikit-learn does).
 * Statistics are computed in double precision (exactly, in integers, for uint8 data). */
#ifndef KILN_DATA_NORMALIZE_H
#define KILN_DATA_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kiln_data_norm_mode {
    KILN_NORM_PER_FEATURE = 1,
    KILN_NORM_GLOBAL = 2,
    KILN_NORM_MINMAX = 3,
    KILN_NORM_MINMAX_PER_FEATURE = 4
} kiln_data_norm_mode;

typedef struct kiln_data_norm_stats {
    kiln_data_norm_mode mode;
    int64_t features; /* features per sample the stats are for                        */
    int64_t count;    /* entries in a and b: features (per-feature modes) or 1          */
    double *a;        /* owned: mean (mean/std modes) or min (minmax modes)             */
    double *b;        /* owned: std or max                                              */
} kiln_data_norm_stats;

/* "per-feature" -> KILN_NORM_PER_FEATURE ...; 0 for an unknown name. */
kiln_data_norm_mode kiln_data_norm_mode_parse(const char *name);

/* The mode's name as used in params and metadata. */
const char *kiln_data_norm_mode_name(kiln_data_norm_mode mode);

/* Frees a and b and zeroes the struct. */
void kiln_data_norm_stats_clear(kiln_data_norm_stats *s);

/* Computes `mode` statistics of x (dtype KILN_DTYPE_U8 or KILN_DTYPE_F32; n rows of f features,
 * C order) into *out (owned by the caller: kiln_data_norm_stats_clear). Fails with KILN_EINVAL
 * when float data holds a NaN or an infinity (naming the sample and feature),
 * KILN_ECANCELLED, KILN_ENOMEM. */
int kiln_data_norm_compute(kiln_data_norm_mode mode, const void *x, kiln_dtype dtype, int64_t n,
                           int64_t f, const kiln_data_monitor *m, kiln_data_norm_stats *out,
                           kiln_error *err);

/* Applies `s` to x (n rows of f features; f must equal s->features) writing n*f float32 values
 * to out. Fails only when cancelled or f does not match (KILN_EINVAL). */
int kiln_data_norm_apply(const kiln_data_norm_stats *s, const void *x, kiln_dtype dtype, int64_t n,
                         int64_t f, const kiln_data_monitor *m, float *out, kiln_error *err);

/* The stats as compact JSON text with sorted keys (new string, caller frees), e.g.
 * {"features":784,"mean":[...],"mode":"per-feature","std":[...]} or, for global modes, scalar
 * "mean"/"std" ("min"/"max"). Doubles are written with 17 significant digits, so reading
 * them back gives the same bits. NULL when out of memory. */
char *kiln_data_norm_to_json(const kiln_data_norm_stats *s);

/* Parses text written by kiln_data_norm_to_json into *out. `what` names the source in messages
 * ("input 'stats_from' metadata kiln.normalize"). Fails with KILN_EFORMAT when the JSON or a
 * field is wrong. */
int kiln_data_norm_from_json(const char *text, const char *what, kiln_data_norm_stats *out,
                             kiln_error *err);

#ifdef __cplusplus
}
#endif

#endif
