/* dataset.c -- the in-memory dataset type and its metadata (see dataset.h). */
#include "dataset.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kiln_data_set_init(kiln_data_set *s) {
    memset(s, 0, sizeof *s);
}

void kiln_data_set_clear(kiln_data_set *s) {
    free(s->x_owned);
    kiln_data_map_close(s->x_map);
    free(s->y);
    json_decref(s->classes);
    kiln_data_set_init(s);
}

int64_t kiln_data_set_features(const kiln_data_set *s) {
    int64_t f = 1;
    for (int i = 1; i < s->x_ndim; i++)
        f *= s->x_shape[i];
    return f;
}

int kiln_data_check_classes(const json_t *classes, const char *what, kiln_error *err) {
    size_t i, j;
    if (!classes)
        return 0;
    if (!json_is_array(classes) || json_array_size(classes) == 0)
        return kiln_data_error(err, KILN_EINVAL, "%s: expected a non-empty array of class names",
                               what);
    for (i = 0; i < json_array_size(classes); i++) {
        const char *a = json_string_value(json_array_get(classes, i));
        if (!a || !*a)
            return kiln_data_error(err, KILN_EINVAL,
                                   "%s[%zu]: expected a non-empty string", what, i);
        for (j = 0; j < i; j++) {
            if (strcmp(a, json_string_value(json_array_get(classes, j))) == 0)
                return kiln_data_error(err, KILN_EINVAL,
                                       "%s[%zu]: class name '%s' repeats %s[%zu]", what, i, a,
                                       what, j);
        }
    }
    return 0;
}

int64_t kiln_data_label_limit(const json_t *classes) {
    return classes ? (int64_t)json_array_size(classes) : INT64_MAX;
}

json_t *kiln_data_set_metadata(const kiln_data_set *s) {
    json_t *meta = json_object();
    char buf[32];
    int64_t num = 0;
    if (!meta)
        return NULL;
    if (s->classes) {
        char *text = json_dumps(s->classes, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!text || json_object_set_new(meta, "kiln.classes", json_string(text)) != 0) {
            free(text);
            json_decref(meta);
            return NULL;
        }
        free(text);
        num = (int64_t)json_array_size(s->classes);
    } else {
        for (int64_t i = 0; i < s->n; i++)
            if (s->y[i] + 1 > num)
                num = s->y[i] + 1;
    }
    snprintf(buf, sizeof buf, "%" PRId64, num);
    if (json_object_set_new(meta, "kiln.num_classes", json_string(buf)) != 0) {
        json_decref(meta);
        return NULL;
    }
    return meta;
}
