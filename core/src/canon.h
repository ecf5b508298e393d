/* canon.h -- canonical JSON: the bytes that action keys hash. Compact, keys sorted, ASCII,
 * reals printed with 17 significant digits; the same value always gives the same bytes. */
#ifndef KILN_CANON_H
#define KILN_CANON_H

#include <jansson.h>

/* Returns a malloc'd canonical serialisation of `value` (borrowed). Never NULL. */
char *kiln_canonical_json(const json_t *value);

#endif
