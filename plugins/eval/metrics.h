/* metrics.h -- classification metrics from logits and labels: a confusion matrix, the summed
 * cross-entropy, and the JSON of docs/artifacts.md (accuracy, loss, samples, per_class
 * precision / recall / f1 / support, confusion [true][pred]). Plain C, no host. */
#ifndef KILN_EVAL_METRICS_H
#define KILN_EVAL_METRICS_H

#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_eval_counts {
    int64_t classes;
    int64_t *confusion; /* owned: [classes * classes], row = true class, column = predicted */
    double loss_sum;    /* summed per-sample cross-entropy                                   */
    int64_t n;          /* samples counted                                                   */
} kiln_eval_counts;

/* Allocates a zeroed confusion matrix for `classes` (>= 1). Returns 0 or -1 (out of memory). */
int kiln_eval_counts_init(kiln_eval_counts *c, int64_t classes);

/* Frees the matrix; c is zeroed. */
void kiln_eval_counts_clear(kiln_eval_counts *c);

/* Adds n samples: logits [n, classes] row-major, labels in [0, classes) (checked by the
 * caller). The prediction is the first maximum of each row. */
void kiln_eval_counts_add(kiln_eval_counts *c, const float *logits, const int64_t *labels, int64_t n);

/* The metrics object (a new reference, NULL when out of memory): accuracy, loss (mean),
 * samples, num_classes, per_class [{class, name?, precision, recall, f1, support}], macro_f1,
 * confusion. `names` (borrowed, may be NULL) is a JSON array of class names. Precision of a
 * class never predicted, recall of a class without samples, and f1 when both are 0 are 0. */
json_t *kiln_eval_metrics_json(const kiln_eval_counts *c, const json_t *names);

#ifdef __cplusplus
}
#endif

#endif
