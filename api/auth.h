/* auth.h -- bearer-token authentication and the bind-address rule.
 * With a token configured, every POST route needs "Authorization: Bearer <token>"; with
 * auth_reads, every other route too except GET /healthz. The token comes from a file (its
 * first line, surrounding whitespace removed). Binding an address that is not loopback is
 * refused unless a token is configured. */
#ifndef KILN_API_AUTH_H
#define KILN_API_AUTH_H

#include <stddef.h>
#include "kiln/plugin.h"

typedef struct kiln_api_auth {
    char *token;   /* owned; NULL: no authentication */
    size_t len;
    int reads;     /* reads need the token too       */
} kiln_api_auth;

/* Loads the token from `token_file` (NULL: no auth). Returns 0, or KILN_EIO / KILN_EINVAL
 * (unreadable, empty, or shorter than 16 characters) with err naming the file. */
int kiln_api_auth_load(kiln_api_auth *a, const char *token_file, int reads, kiln_error *err);

void kiln_api_auth_free(kiln_api_auth *a);

/* 1 when `authorization` (the header's value, may be NULL) carries the token; compares in
 * constant time. Always 1 without a token. */
int kiln_api_auth_ok(const kiln_api_auth *a, const char *authorization);

/* 1 when `host` is a loopback address (127.0.0.0/8, ::1, "localhost"). */
int kiln_api_host_is_loopback(const char *host);

#endif
