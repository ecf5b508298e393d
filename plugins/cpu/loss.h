/* loss.h -- softmax cross-entropy (the training loss) and softmax (predicted probabilities).
 * Plain C over [n, c] row-major logits; sums in double, sequentially, so results are the same
 * on every run. */
#ifndef KILN_CPU_LOSS_H
#define KILN_CPU_LOSS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Cross-entropy of softmax(logits) against labels (each in [0, c); the caller checked), over n
 * rows. Returns the SUM of the per-sample losses (NaN or Inf when a logit is). When `dlogits`
 * is not NULL writes d(scale * sum)/d(logits) = scale * (softmax - onehot) there; use
 * scale = 1/n for the mean loss. When `correct` is not NULL adds the number of rows whose
 * argmax (first maximum) equals the label. */
double kiln_cpu_xent(const float *logits, const int64_t *labels, int64_t n, int64_t c, float *dlogits,
                     float scale, int64_t *correct);

/* Row-wise softmax of [n, c] logits into proba (may alias logits); each row's argmax into
 * cls when not NULL. */
void kiln_cpu_softmax(const float *logits, int64_t n, int64_t c, float *proba, int64_t *cls);

#ifdef __cplusplus
}
#endif

#endif
