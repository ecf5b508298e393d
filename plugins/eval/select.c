/* select.c -- see select.h. */
#include "select.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kiln_eval_best(const double *values, int n, int maximize) {
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (isnan(values[i]))
            continue;
        if (best < 0 || (maximize ? values[i] > values[best] : values[i] < values[best]))
            best = i;
    }
    return best;
}

/* Canonical text of a JSON value, for comparison (caller frees); NULL for NULL. */
static char *canon(const json_t *v) {
    return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

static const char *node_of(const json_t *info) {
    const char *s = json_string_value(json_object_get(info, "node"));
    return s ? s : "?";
}

int kiln_eval_pair(const json_t *const *metrics, const json_t *const *minfo, int nm,
                   const json_t *const *dinfo, int nd, int *pair, char *msg, size_t cap) {
    for (int i = 0; i < nm; i++) {
        const char *want = json_string_value(json_object_get(metrics[i], "model"));
        pair[i] = -1;
        /* 1. The digest of the model the metrics were computed from. */
        for (int j = 0; want && j < nd && pair[i] < 0; j++) {
            const char *d = json_string_value(json_object_get(dinfo[j], "digest"));
            if (d && strcmp(d, want) == 0)
                pair[i] = j;
        }
        /* 2. The same sweep values. */
        if (pair[i] < 0) {
            char *ms = canon(json_object_get(minfo[i], "sweep"));
            int found = -1, count = 0;
            for (int j = 0; ms && j < nd; j++) {
                char *ds = canon(json_object_get(dinfo[j], "sweep"));
                if (ds && strcmp(ds, ms) == 0) {
                    found = j;
                    count++;
                }
                free(ds);
            }
            free(ms);
            if (count == 1)
                pair[i] = found;
        }
        /* 3. Position. */
        if (pair[i] < 0 && nm == nd)
            pair[i] = i;
        if (pair[i] < 0) {
            snprintf(msg, cap,
                     "input 'metrics' #%d (from %s): no model on input 'models' matches it (by the "
                     "model digest it names, by sweep values, or by position)",
                     i, node_of(minfo[i]));
            return -1;
        }
    }
    return 0;
}
