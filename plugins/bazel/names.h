/* names.h -- Bazel names for what a kiln graph holds.
 *
 * Target names: an instance that is not swept keeps its node's name ("combine"); a swept
 * one gets the node's name, then "__<axis>_<value>" per sweep axis, axes sorted by name:
 * "train[lr=0.05]" -> "train__lr_0.05", "eval[a.lr=0.1,b.lr=0.2]" -> "eval__a.lr_0.1__b.lr_0.2".
 * Values print as numbers in their shortest form, strings as they are, booleans and null as
 * words, arrays' and objects' members joined by "_". Every character outside
 * [A-Za-z0-9_.+-] then becomes "_", and the names Bazel gives a meaning on the command line
 * ("all", "all-targets", "*") get a trailing "_". The mapping is deterministic; two things
 * that map to the same label are an error (kb_names_check), never renamed silently.
 *
 * Pure functions over strings and JSON; no I/O, no global state. */
#ifndef KILN_BAZEL_NAMES_H
#define KILN_BAZEL_NAMES_H

#include <stddef.h>
#include <jansson.h>

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The target name of an instance of node `node` with sweep values `sweep` (an object, may
 * be empty or NULL). Returns a malloc'd string (NULL on out-of-memory). */
char *kb_target_name(const char *node, const json_t *sweep);

/* `s` with every character outside [A-Za-z0-9_.+-] replaced by "_" (malloc'd). For file
 * names too: a leading "." also becomes "_" (no hidden files, no "." or ".."). */
char *kb_sanitize(const char *s);

/* A set of labels in one Bazel package, each with what it stands for ("instance
 * 'train[lr=0.05]'"), to find two things with one label. */
typedef struct kb_names {
    struct kb_name_entry {
        char *label; /* owned */
        char *what;  /* owned */
    } *items;
    size_t count, cap;
} kb_names;

/* Adds a label. Returns 0 or KILN_ENOMEM. */
int kb_names_add(kb_names *set, const char *label, const char *what);

/* Finds every label claimed twice. Returns 0 when none; else KILN_EINVAL with err saying,
 * for the first few, which two things map to which label. */
int kb_names_check(kb_names *set, kiln_error *err);

void kb_names_free(kb_names *set);

#ifdef __cplusplus
}
#endif

#endif
