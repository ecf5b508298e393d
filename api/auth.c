/* auth.c -- bearer tokens and loopback checks (see auth.h). */
#include "auth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "fsutil.h"

#define TOKEN_MIN 16

int kiln_api_auth_load(kiln_api_auth *a, const char *token_file, int reads, kiln_error *err) {
    memset(a, 0, sizeof *a);
    a->reads = reads;
    if (!token_file) return 0;
    char *data = NULL;
    size_t len = 0;
    int rc = kiln_read_file(token_file, &data, &len, err);
    if (rc != 0) return rc;
    char *start = data;
    while (*start && isspace((unsigned char)*start)) start++;
    char *end = start;
    while (*end && *end != '\n' && *end != '\r') end++;
    while (end > start && isspace((unsigned char)end[-1])) end--;
    *end = '\0';
    size_t n = (size_t)(end - start);
    if (n < TOKEN_MIN) {
        free(data);
        return kiln_error_set(err, KILN_EINVAL, "%s: the token must be at least %d characters on the first line",
                              token_file, TOKEN_MIN);
    }
    a->token = strdup(start);
    a->len = n;
    free(data);
    if (!a->token) return kiln_error_set(err, KILN_ENOMEM, "out of memory");
    return 0;
}

void kiln_api_auth_free(kiln_api_auth *a) {
    if (!a) return;
    if (a->token) memset(a->token, 0, a->len);
    free(a->token);
    a->token = NULL;
}

int kiln_api_auth_ok(const kiln_api_auth *a, const char *authorization) {
    if (!a->token) return 1;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) return 0;
    const char *given = authorization + 7;
    while (*given == ' ') given++;
    size_t n = strlen(given);
    unsigned char diff = (unsigned char)(n != a->len);
    for (size_t i = 0; i < a->len; i++) /* always the token's length: no early exit */
        diff |= (unsigned char)(a->token[i] ^ (i < n ? given[i] : 0));
    return diff == 0;
}

int kiln_api_host_is_loopback(const char *host) {
    if (!host) return 0;
    if (strcmp(host, "localhost") == 0) return 1;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6)) return 1;
        if (IN6_IS_ADDR_V4MAPPED(&a6)) return a6.s6_addr[12] == 127;
    }
    return 0;
}
