/* canon.c -- canonical JSON bytes for hashing (see canon.h). */
#include "canon.h"

#include <stdlib.h>
#include <string.h>

/* jansson with JSON_COMPACT|JSON_SORT_KEYS|JSON_ENSURE_ASCII and 17-digit reals gives the
 * same bytes for equal values. Aborts on OOM (json_dumps returning NULL for a non-NULL
 * value only happens when memory runs out); a NULL value serialises as "null". */
char *kiln_canonical_json(const json_t *value) {
    if (!value) {
        char *s = strdup("null");
        if (!s) abort();
        return s;
    }
    char *s = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII |
                                    JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY);
    if (!s) abort();
    return s;
}
