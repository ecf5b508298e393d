/* jsonio.c -- JSON files in and out with FILE:LINE:COL errors (see jsonio.h). */
#include "jsonio.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fsutil.h"

/* Parses `len` bytes of `text` (NUL not required). Duplicate object keys are rejected (a
 * graph with two "train" nodes is a mistake, not a merge); any JSON value is accepted at
 * the top. On failure returns NULL and sets err to KILN_EFORMAT "NAME:LINE:COL: reason"
 * (jansson's line and column, both 1-based). */
json_t *kiln_json_parse(const char *text, size_t len, const char *name, kiln_error *err) {
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v) {
        int line = je.line > 0 ? je.line : 1;
        int col = je.column > 0 ? je.column : 1;
        kiln_error_set(err, KILN_EFORMAT, "%s:%d:%d: %s", name ? name : "<json>", line, col,
                       je.text);
    }
    return v;
}

/* Reads the file (KILN_ENOTFOUND / KILN_EIO with the path in err), then parses it. */
json_t *kiln_json_read(const char *path, kiln_error *err) {
    char *data = NULL;
    size_t len = 0;
    if (kiln_read_file(path, &data, &len, err) != 0) return NULL;
    json_t *v = kiln_json_parse(data, len, path, err);
    free(data);
    return v;
}

/* Serialises with sorted keys, 2-space indent and 17 significant digits for reals, adds a
 * newline, and writes through kiln_write_file_atomic. */
int kiln_json_write(const char *path, const json_t *value, kiln_error *err) {
    if (!value) return kiln_error_set(err, KILN_EINVAL, "%s: no JSON value to write", path);
    char *s = json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                    JSON_REAL_PRECISION(17));
    if (!s) return kiln_error_set(err, KILN_ENOMEM, "%s: cannot serialise JSON", path);
    size_t len = strlen(s);
    char *buf = realloc(s, len + 2);
    if (!buf) {
        free(s);
        return kiln_error_set(err, KILN_ENOMEM, "%s: out of memory", path);
    }
    buf[len] = '\n';
    buf[len + 1] = '\0';
    int rc = kiln_write_file_atomic(path, buf, len + 1, err);
    free(buf);
    return rc;
}
