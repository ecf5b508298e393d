/* jsonio.h -- JSON files in and out, with errors that name file, line and column. */
#ifndef KILN_JSONIO_H
#define KILN_JSONIO_H

#include <jansson.h>
#include "kiln/plugin.h"

/* Parses a file. Returns a new reference, or NULL with err = "FILE:LINE:COL: what". */
json_t *kiln_json_read(const char *path, kiln_error *err);

/* Parses text; `name` is used in messages in place of a file name. */
json_t *kiln_json_parse(const char *text, size_t len, const char *name, kiln_error *err);

/* Writes `value` atomically: sorted keys, 2-space indent, trailing newline. */
int kiln_json_write(const char *path, const json_t *value, kiln_error *err);

#endif
