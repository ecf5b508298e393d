/* record.h -- the RECORD file of a wheel's .dist-info directory: a CSV file (Python's csv
 * module, default dialect) with one row per file: path, "algorithm=digest" (the digest in
 * URL-safe base64 without '=' padding), size in bytes. RECORD itself (and RECORD.jws /
 * RECORD.p7s) are listed with empty hash and size.
 *
 * Also the hashing the RECORD needs: an incremental hasher over the algorithms RECORD may
 * name (sha256, sha384, sha512; md5 and sha1 are refused as insecure, as the spec says),
 * on OpenSSL's EVP interface. */
#ifndef KILN_WHEEL_RECORD_H
#define KILN_WHEEL_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- base64 (URL-safe alphabet, no padding) -------------------------------------------- */

/* Encodes n bytes into out (needs 4 * ceil(n / 3) + 1 bytes), no '=' padding, NUL-terminated.
 * Returns the length written. */
size_t kiln_wheel_b64url_encode(const unsigned char *in, size_t n, char *out);

/* ---- hashing ----------------------------------------------------------------------------- */

#define KILN_WHEEL_DIGEST_MAX 64 /* sha512 */

typedef struct kiln_wheel_hasher kiln_wheel_hasher;

/* Starts hashing with `algorithm` ("sha256", "sha384", "sha512"). Returns a new hasher
 * (free with kiln_wheel_hasher_free), or NULL with err set: KILN_EINVAL for an unknown or
 * insecure algorithm (the message says which and why), KILN_ENOMEM. */
kiln_wheel_hasher *kiln_wheel_hasher_new(const char *algorithm, kiln_error *err);

/* Adds n bytes. */
void kiln_wheel_hasher_update(kiln_wheel_hasher *h, const void *data, size_t n);

/* Finishes: writes "algorithm=<urlsafe b64 digest>" into out (at least 100 bytes) and
 * returns 0; the hasher cannot be updated afterwards. */
int kiln_wheel_hasher_finish(kiln_wheel_hasher *h, char *out, size_t out_len);

/* Releases a hasher. NULL is ignored. */
void kiln_wheel_hasher_free(kiln_wheel_hasher *h);

/* "sha256=<urlsafe b64>" of a buffer into out (at least 100 bytes). Returns 0 or KILN_ENOMEM. */
int kiln_wheel_hash_buffer(const void *data, size_t n, char *out, size_t out_len);

/* "sha256=<urlsafe b64>" from 64 lowercase hex characters (what host->sha256_file gives).
 * Returns 0 or KILN_EINVAL when hex is not 64 hex characters. */
int kiln_wheel_hash_from_hex(const char *hex, char *out, size_t out_len);

/* ---- CSV ---------------------------------------------------------------------------------- */

/* One parsed RECORD row (strings owned by the kiln_wheel_record that holds it). */
typedef struct kiln_wheel_record_row {
    char *path;
    char *hash;   /* "" when empty */
    char *size;   /* "" when empty */
    int line;     /* 1-based line number in RECORD */
} kiln_wheel_record_row;

typedef struct kiln_wheel_record {
    kiln_wheel_record_row *rows;
    size_t count;
} kiln_wheel_record;

/* Parses RECORD text (n bytes, need not be NUL-terminated) into rec (zero it first; release
 * with kiln_wheel_record_clear). Rows must have exactly 3 fields; blank lines are skipped.
 * Returns 0, or KILN_EFORMAT with a message naming the line ("RECORD line 4: expected 3
 * fields, got 2"), or KILN_ENOMEM. */
int kiln_wheel_record_parse(const char *text, size_t n, kiln_wheel_record *rec, kiln_error *err);

/* Frees every row; rec is left empty. */
void kiln_wheel_record_clear(kiln_wheel_record *rec);

/* Appends one CSV field to a growing string (quoting it when it holds ',', '"', CR or LF,
 * as Python's csv.writer does). `buf`/`len`/`cap` describe a malloc'd buffer, NUL kept.
 * Returns 0 or KILN_ENOMEM. */
int kiln_wheel_csv_append(char **buf, size_t *len, size_t *cap, const char *field, int last_in_row);

#ifdef __cplusplus
}
#endif

#endif
