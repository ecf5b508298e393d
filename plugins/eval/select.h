/* select.h -- eval.select's decisions, without the host: which metric value wins, and which
 * model goes with which metrics artifact. */
#ifndef KILN_EVAL_SELECT_H
#define KILN_EVAL_SELECT_H

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Index of the best of n values: the largest when maximize, else the smallest; the first one
 * on ties; NaN never wins. -1 when n == 0 or every value is NaN. */
int kiln_eval_best(const double *values, int n, int maximize);

/* Pairs metrics artifact i with model artifact pair[i]. metrics[i] is the metrics JSON,
 * minfo[i] / dinfo[j] the host's input_info of the metrics / model artifacts. Tries, in order:
 * the model digest a metrics artifact names ("model", written by eval.classify), equal sweep
 * values, and finally position (when the counts are equal). Returns 0, or -1 with a message in
 * msg (cap bytes) naming the metrics artifact without a model. */
int kiln_eval_pair(const json_t *const *metrics, const json_t *const *minfo, int nm,
                   const json_t *const *dinfo, int nd, int *pair, char *msg, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
