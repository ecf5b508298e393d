/* diag.c -- kiln_error setter and the diagnostics list (see diag.h). */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets err->code and formats err->message (truncated to KILN_ERROR_MESSAGE_MAX); returns
 * `code`. A NULL err only returns the code. */
int kiln_error_set(kiln_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

/* Appends one formatted message to d, growing the array geometrically. Aborts on OOM. */
void kiln_diags_add(kiln_diags *d, const char *fmt, ...) {
    va_list ap;
    char *msg = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0 || !msg) abort();
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **items = realloc(d->items, cap * sizeof *items);
        if (!items) abort();
        d->items = items;
        d->cap = cap;
    }
    d->items[d->count++] = msg;
}

/* Frees every message and the array; leaves d zeroed and reusable. */
void kiln_diags_free(kiln_diags *d) {
    if (!d) return;
    for (size_t i = 0; i < d->count; i++) free(d->items[i]);
    free(d->items);
    d->items = NULL;
    d->count = 0;
    d->cap = 0;
}
