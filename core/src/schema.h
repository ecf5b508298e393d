/* schema.h -- the params schema subset (see kiln/plugin.h): parse once per op, then check
 * params, fill defaults, and normalise values so that action keys are stable. */
#ifndef KILN_SCHEMA_H
#define KILN_SCHEMA_H

#include <jansson.h>
#include "diag.h"

typedef struct kiln_schema kiln_schema; /* opaque */

/* Parses schema text (NULL or "" means "no params"). Returns a new schema, or NULL with err
 * naming what in the schema is wrong (unknown keyword, bad type name...). */
kiln_schema *kiln_schema_parse(const char *text, kiln_error *err);

void kiln_schema_free(kiln_schema *s);

/* Checks `params` (an object, modified in place): unknown keys, missing required keys, types,
 * enum/const, ranges, lengths, nested items; fills defaults for absent keys; converts
 * integers given for "number" to reals. Each problem is added to `diags` as
 * "<where>: <json path>: <what was expected>, got <what was found>", e.g.
 * "graph.json: node 'train': params/lr: expected a number > 0, got -1".
 * `skip` (may be NULL) is an object whose keys are not checked for presence (swept params:
 * their values are checked separately). Returns the number of problems added. */
int kiln_schema_apply(const kiln_schema *s, json_t *params, const json_t *skip, const char *where,
                      kiln_diags *diags);

/* Checks one value for param `name` (a sweep value), normalising inside arrays/objects (a
 * top-level scalar cannot be replaced). `where` names the value itself, JSON path included
 * ("graph.json: node 't': sweep/lr/1"); messages are "<where>[/<sub path>]: <what>, got ...".
 * Returns the number of problems; unknown name counts as one ("no param 'x'; known: a, b"). */
int kiln_schema_check_value(const kiln_schema *s, const char *name, json_t *value,
                            const char *where, kiln_diags *diags);

/* 1 when `name` is a declared param. */
int kiln_schema_has(const kiln_schema *s, const char *name);

/* 1 when param `name` is a string with "format": "input-file". */
int kiln_schema_is_input_file(const kiln_schema *s, const char *name);

/* A borrowed JSON view of the parsed schema's properties, for `kiln plugins`:
 * {"lr": {"type": "number", "default": 0.01, "required": false, "description": "..."}}. */
const json_t *kiln_schema_describe(const kiln_schema *s);

#endif
