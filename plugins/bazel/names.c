/* names.c -- target names and label collisions (see names.h). */
#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

static int is_label_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '+' || c == '-';
}

char *kb_sanitize(const char *s) {
    char *out = strdup(s);
    if (!out) return NULL;
    for (char *p = out; *p; p++)
        if (!is_label_char((unsigned char)*p)) *p = '_';
    if (out[0] == '.') out[0] = '_';
    return out;
}

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sweep value as name text: numbers shortest, strings raw, members joined by "_". */
static void put_value(kb_buf *b, const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_STRING: kb_putn(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: kb_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL: {
        /* The shortest form, without the ".0" JSON text keeps for reals: "3", "0.05". */
        kb_buf num = {0};
        kb_put_number(&num, json_real_value(v));
        const char *t = kb_str(&num);
        size_t n = strlen(t);
        if (n > 2 && strcmp(t + n - 2, ".0") == 0) n -= 2;
        kb_putn(b, t, n);
        kb_buf_free(&num);
        break;
    }
    case JSON_TRUE: kb_puts(b, "true"); break;
    case JSON_FALSE: kb_puts(b, "false"); break;
    case JSON_NULL: kb_puts(b, "null"); break;
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) kb_putc(b, '_');
            put_value(b, json_array_get(v, i));
        }
        break;
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        if (!keys) {
            b->oom = 1;
            return;
        }
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) keys[i++] = k;
        qsort(keys, n, sizeof *keys, cmp_cstr);
        for (i = 0; i < n; i++) {
            if (i) kb_putc(b, '_');
            kb_puts(b, keys[i]);
            kb_putc(b, '_');
            put_value(b, json_object_get(v, keys[i]));
        }
        free(keys);
        break;
    }
    }
}

char *kb_target_name(const char *node, const json_t *sweep) {
    kb_buf b = {0};
    kb_puts(&b, node);
    size_t n = json_is_object(sweep) ? json_object_size(sweep) : 0;
    if (n) {
        const char **keys = malloc(n * sizeof *keys);
        if (!keys) return NULL;
        size_t i = 0;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)sweep, k, x) keys[i++] = k;
        qsort(keys, n, sizeof *keys, cmp_cstr);
        for (i = 0; i < n; i++) {
            kb_puts(&b, "__");
            kb_puts(&b, keys[i]);
            kb_putc(&b, '_');
            put_value(&b, json_object_get(sweep, keys[i]));
        }
        free(keys);
    }
    char *raw = kb_take(&b);
    if (!raw) return NULL;
    char *name = kb_sanitize(raw);
    free(raw);
    if (!name) return NULL;
    /* ":all" and ":all-targets" mean every target on Bazel's command line ("*" became "_"). */
    if (!strcmp(name, "all") || !strcmp(name, "all-targets")) {
        char *t = malloc(strlen(name) + 2);
        if (t) sprintf(t, "%s_", name);
        free(name);
        name = t;
    }
    return name;
}

int kb_names_add(kb_names *set, const char *label, const char *what) {
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        void *items = realloc(set->items, cap * sizeof *set->items);
        if (!items) return KILN_ENOMEM;
        set->items = items;
        set->cap = cap;
    }
    char *l = strdup(label), *w = strdup(what);
    if (!l || !w) {
        free(l);
        free(w);
        return KILN_ENOMEM;
    }
    set->items[set->count].label = l;
    set->items[set->count].what = w;
    set->count++;
    return 0;
}

/* By label, then by insertion order (stable for messages). */
static int cmp_entry(const void *a, const void *b) {
    const struct kb_name_entry *x = a, *y = b;
    int c = strcmp(x->label, y->label);
    if (c) return c;
    return x < y ? -1 : x > y;
}

int kb_names_check(kb_names *set, kiln_error *err) {
    if (set->count < 2) return 0;
    qsort(set->items, set->count, sizeof *set->items, cmp_entry);
    size_t found = 0, used = 0;
    char *msg = err->message;
    size_t cap = sizeof err->message;
    for (size_t i = 1; i < set->count; i++) {
        if (strcmp(set->items[i].label, set->items[i - 1].label) != 0) continue;
        if (found < 3 && used < cap) {
            int w = snprintf(msg + used, cap - used, "%s%s and %s both map to the Bazel label ':%s'", found ? "; " : "",
                             set->items[i - 1].what, set->items[i].what, set->items[i].label);
            if (w > 0) used += (size_t)w;
        }
        found++;
    }
    if (!found) return 0;
    if (found > 3 && used < cap) snprintf(msg + used, cap - used, "; and %zu more", found - 3);
    used = strlen(msg);
    if (used < cap)
        snprintf(msg + used, cap - used, " (names map characters outside [A-Za-z0-9_.+-] to '_'; rename a node or "
                                         "change the sweep values so that they differ)");
    err->code = KILN_EINVAL;
    return KILN_EINVAL;
}

void kb_names_free(kb_names *set) {
    for (size_t i = 0; i < set->count; i++) {
        free(set->items[i].label);
        free(set->items[i].what);
    }
    free(set->items);
    memset(set, 0, sizeof *set);
}
