/* text.h -- the text the Bazel exporter writes: a growing buffer, Starlark literals in the
 * style of buildifier's output, and canonical JSON text for params.
 *
 * Buffers never fail loudly: on out-of-memory they set `oom` and ignore later writes; the
 * caller checks `oom` once before using the text. Pure functions, no global state. */
#ifndef KILN_BAZEL_TEXT_H
#define KILN_BAZEL_TEXT_H

#include <stddef.h>
#include <jansson.h>

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A growing NUL-terminated string. Zero-initialise; free with kb_buf_free. */
typedef struct kb_buf {
    char *s;    /* owned; NULL until something was written */
    size_t len; /* bytes, without the NUL */
    size_t cap;
    int oom;    /* set once an allocation failed; the text is then incomplete */
} kb_buf;

void kb_buf_free(kb_buf *b);

/* The text so far ("" when empty); borrowed from b. */
const char *kb_str(const kb_buf *b);

/* Hands the text to the caller (malloc'd, never NULL unless oom) and resets b. */
char *kb_take(kb_buf *b);

void kb_puts(kb_buf *b, const char *s);
void kb_putn(kb_buf *b, const char *s, size_t n);
void kb_putc(kb_buf *b, char c);
void kb_printf(kb_buf *b, const char *fmt, ...) KILN_PRINTF(2, 3);

/* A Starlark string literal: double quotes; backslash, quote, \n, \r, \t escaped, other
 * control bytes as octal escapes; other bytes (UTF-8 included) as they are. */
void kb_put_string(kb_buf *b, const char *s);

/* The shortest decimal text that reads back as the same double ("0.05", "1e-07", "3.0"
 * keeps no ".0": "3"), as JSON allows it. NaN and infinities, which JSON lacks, give "null". */
void kb_put_number(kb_buf *b, double v);

/* JSON text of `v`: object keys sorted bytewise, ", " and ": " separators, numbers in
 * their shortest form (kb_put_number), strings escaped as JSON requires (non-ASCII kept).
 * The same value always gives the same bytes. */
void kb_put_json(kb_buf *b, const json_t *v);

/* kb_put_json into a new malloc'd string (NULL on out-of-memory). */
char *kb_json_text(const json_t *v);

/* buildifier's order for string lists it sorts (srcs, deps, data): strings starting with
 * ":" after plain ones, then "//", then "@"; then piecewise by the parts between '.' and
 * ':'; then by the number of parts; then bytewise. A qsort comparator over `const char *`. */
int kb_buildifier_cmp(const void *a, const void *b);

#ifdef __cplusplus
}
#endif

#endif
