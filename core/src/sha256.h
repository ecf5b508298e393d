/* sha256.h -- sha256 via OpenSSL's EVP interface. Digests are 64 lowercase hex chars. */
#ifndef KILN_SHA256_H
#define KILN_SHA256_H

#include <stddef.h>
#include "kiln/plugin.h"

#define KILN_DIGEST_HEX_LEN 64

/* hex_out receives 64 hex chars and a NUL. */
void kiln_sha256_hex(const void *data, size_t len, char hex_out[65]);

/* Hashes a file (streamed). Returns 0, KILN_ENOTFOUND or KILN_EIO; *size_out (if non-NULL)
 * receives the byte count hashed. */
int kiln_sha256_file(const char *path, char hex_out[65], int64_t *size_out, kiln_error *err);

/* 1 when `s` is exactly 64 lowercase hex characters. */
int kiln_is_digest(const char *s);

#endif
