/* names.h -- the naming rules of Python packaging, as the wheel plugin needs them:
 *   - distribution names (core metadata "Name", PEP 508) and their normalised form (PEP 503),
 *   - the escaped name used in wheel file names and .dist-info directories (binary
 *     distribution format, "Escaping and Unicode"),
 *   - the import name of the package a model wheel carries,
 *   - versions (PEP 440): validation and normalisation,
 *   - wheel file names ({name}-{version}(-{build})?-{python}-{abi}-{platform}.whl) and their
 *     compressed tag sets ("py2.py3-none-any").
 * Pure string functions: no I/O, no global state. Every function that can fail writes a
 * message naming what was wrong into err (when err is not NULL) and returns KILN_EINVAL. */
#ifndef KILN_WHEEL_NAMES_H
#define KILN_WHEEL_NAMES_H

#include <stddef.h>
#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest name, version or tag the plugin handles (bytes, without the NUL). */
#define KILN_WHEEL_NAME_MAX 200

/* 1 when `name` is a valid distribution name: ASCII letters and digits, with '.', '_' and
 * '-' allowed inside (not first or last), 1..KILN_WHEEL_NAME_MAX bytes. */
int kiln_wheel_name_valid(const char *name);

/* PEP 503 normalisation of a valid name into out: lowercase, every run of '-', '_' and '.'
 * replaced by one '-' ("Fashion__MLP" -> "fashion-mlp"). Returns 0, or KILN_EINVAL for an
 * invalid name or a buffer that is too small. */
int kiln_wheel_name_normalize(const char *name, char *out, size_t out_len, kiln_error *err);

/* The escaped form used in wheel file names and dist-info directories: the normalised name
 * with '-' replaced by '_' ("fashion_mlp"). Returns 0 or KILN_EINVAL. */
int kiln_wheel_name_escape(const char *name, char *out, size_t out_len, kiln_error *err);

/* The import name of the Python package inside a model wheel: the escaped name, which must
 * be a Python identifier that is not a keyword ("fashion-mlp" -> "fashion_mlp"; "3d-net"
 * fails: pass an explicit import name). Returns 0 or KILN_EINVAL naming the problem. */
int kiln_wheel_import_name(const char *name, char *out, size_t out_len, kiln_error *err);

/* 1 when `s` is a Python identifier (ASCII subset) that is not a keyword. */
int kiln_wheel_is_identifier(const char *s);

/* PEP 440: parses `version` (any spelling PEP 440 accepts: "v1.0-RC1", "1.0.post-2") and
 * writes its normalised form into out ("1.0rc1", "1.0.post2"). Returns 0, or KILN_EINVAL
 * with a message saying which part did not parse. */
int kiln_wheel_version_normalize(const char *version, char *out, size_t out_len, kiln_error *err);

/* 1 when the normalised version has a local part ("+..."). */
int kiln_wheel_version_is_local(const char *normalized);

/* A wheel file name split into its parts (all pointers into `buf`). */
typedef struct kiln_wheel_filename {
    char buf[4 * KILN_WHEEL_NAME_MAX];
    const char *name;     /* escaped distribution name as written                   */
    const char *version;  /* version as written (escaped: '-' appears as '_')        */
    const char *build;    /* build tag or NULL                                        */
    const char *python;   /* python tag set, e.g. "py2.py3"                           */
    const char *abi;      /* abi tag set, e.g. "none"                                 */
    const char *platform; /* platform tag set, e.g. "manylinux_2_17_x86_64.manylinux2014_x86_64" */
} kiln_wheel_filename;

/* Splits a wheel file name (no directory part) and checks its grammar: ".whl" suffix, five
 * or six '-'-separated parts, a valid escaped name, a PEP 440 version, a build tag starting
 * with a digit, tags of [A-Za-z0-9_] joined by '.'. Returns 0 or KILN_EINVAL. */
int kiln_wheel_filename_parse(const char *file_name, kiln_wheel_filename *out, kiln_error *err);

/* Expands compressed tag sets into every "python-abi-platform" triple, in the order of the
 * file name, into a new JSON array of strings (caller owns). NULL on allocation failure. */
json_t *kiln_wheel_filename_tags(const kiln_wheel_filename *fn);

#ifdef __cplusplus
}
#endif

#endif
