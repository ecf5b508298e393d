/* metrics.c -- see metrics.h. */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include "cpu/loss.h"

int kiln_eval_counts_init(kiln_eval_counts *c, int64_t classes) {
    memset(c, 0, sizeof *c);
    if (classes < 1)
        return -1;
    c->confusion = calloc((size_t)(classes * classes), sizeof *c->confusion);
    if (!c->confusion)
        return -1;
    c->classes = classes;
    return 0;
}

void kiln_eval_counts_clear(kiln_eval_counts *c) {
    free(c->confusion);
    memset(c, 0, sizeof *c);
}

void kiln_eval_counts_add(kiln_eval_counts *c, const float *logits, const int64_t *labels, int64_t n) {
    const int64_t k = c->classes;
    c->loss_sum += kiln_cpu_xent(logits, labels, n, k, NULL, 0, NULL);
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + i * k;
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            if (z[j] > z[best])
                best = j;
        c->confusion[labels[i] * k + best]++;
    }
    c->n += n;
}

json_t *kiln_eval_metrics_json(const kiln_eval_counts *c, const json_t *names) {
    const int64_t k = c->classes;
    json_t *m = json_object(), *per = json_array(), *conf = json_array();
    int64_t correct = 0;
    double f1_sum = 0;
    if (!m || !per || !conf) {
        json_decref(m);
        json_decref(per);
        json_decref(conf);
        return NULL;
    }
    for (int64_t t = 0; t < k; t++) {
        json_t *row = json_array();
        int64_t support = 0, predicted = 0, tp = c->confusion[t * k + t];
        for (int64_t p = 0; p < k; p++) {
            json_array_append_new(row, json_integer(c->confusion[t * k + p]));
            support += c->confusion[t * k + p];
            predicted += c->confusion[p * k + t];
        }
        json_array_append_new(conf, row);
        correct += tp;
        double precision = predicted ? (double)tp / (double)predicted : 0.0;
        double recall = support ? (double)tp / (double)support : 0.0;
        double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
        f1_sum += f1;
        json_t *o = json_pack("{s:I, s:f, s:f, s:f, s:I}", "class", (json_int_t)t, "precision",
                              precision, "recall", recall, "f1", f1, "support", (json_int_t)support);
        const char *name = names ? json_string_value(json_array_get(names, (size_t)t)) : NULL;
        if (name)
            json_object_set_new(o, "name", json_string(name));
        json_array_append_new(per, o);
    }
    json_object_set_new(m, "accuracy", json_real(c->n ? (double)correct / (double)c->n : 0.0));
    json_object_set_new(m, "loss", json_real(c->n ? c->loss_sum / (double)c->n : 0.0));
    json_object_set_new(m, "samples", json_integer(c->n));
    json_object_set_new(m, "num_classes", json_integer(k));
    json_object_set_new(m, "macro_f1", json_real(f1_sum / (double)k));
    json_object_set_new(m, "per_class", per);
    json_object_set_new(m, "confusion", conf);
    if (names && json_array_size(names) == (size_t)k)
        json_object_set(m, "classes", (json_t *)names);
    return m;
}
