/* diag.h -- error helpers: set a kiln_error, and collect many diagnostics (validate prints
 * every error, not just the first). */
#ifndef KILN_DIAG_H
#define KILN_DIAG_H

#include <stddef.h>
#include "kiln/plugin.h"

/* Sets err (when non-NULL) to `code` and a printf-formatted message; returns `code`, so
 * callers can write `return kiln_error_set(err, KILN_EIO, "%s: %s", path, strerror(errno));`. */
int kiln_error_set(kiln_error *err, int code, const char *fmt, ...) KILN_PRINTF(3, 4);

/* A growable list of diagnostic lines. Zero-initialise ({0}); release with kiln_diags_free. */
typedef struct kiln_diags {
    char **items;   /* owned strings, each one complete message */
    size_t count;
    size_t cap;
} kiln_diags;

/* Appends a printf-formatted message. Out of memory aborts (diagnostics are tiny). */
void kiln_diags_add(kiln_diags *d, const char *fmt, ...) KILN_PRINTF(2, 3);

/* Frees every message and resets the list to empty. */
void kiln_diags_free(kiln_diags *d);

#endif
