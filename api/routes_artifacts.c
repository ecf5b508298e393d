/* routes_artifacts.c -- GET /v1/artifacts/{digest}: one blob of the content-addressed
 * store. The digest must be 64 hex characters (anything else is 400, so no path can be
 * smuggled in); the blob is checked (size and stat against its record, as on a cache hit)
 * before it is served. ETag is the digest; If-None-Match gives 304; a single
 * "Range: bytes=a-b" (or "a-", or "-n") gives 206, an unsatisfiable one 416. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "routes.h"

/* Parses a single byte range against `size`. Returns 1 with [*start, *end] (inclusive),
 * 0 when the header should be ignored (not bytes=, several ranges, malformed), -1 when
 * unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *end) {
    if (strncmp(h, "bytes=", 6) != 0) return 0;
    h += 6;
    if (strchr(h, ',')) return 0;
    const char *dash = strchr(h, '-');
    if (!dash) return 0;
    char a[32] = "", b[32] = "";
    size_t la = (size_t)(dash - h), lb = strlen(dash + 1);
    if (la >= sizeof a || lb >= sizeof b) return 0;
    memcpy(a, h, la);
    memcpy(b, dash + 1, lb);
    uint64_t x = 0, y = 0;
    if (la == 0) { /* suffix: the last y bytes */
        if (kiln_http_parse_u64(b, &y) != 0) return 0;
        if (y == 0 || size == 0) return -1;
        *start = y >= size ? 0 : size - y;
        *end = size - 1;
        return 1;
    }
    if (kiln_http_parse_u64(a, &x) != 0) return 0;
    if (lb == 0) y = size ? size - 1 : 0;
    else if (kiln_http_parse_u64(b, &y) != 0 || y < x) return 0;
    if (x >= size) return -1;
    if (y >= size) y = size - 1;
    *start = x;
    *end = y;
    return 1;
}

void kiln_route_artifact(kiln_api_ctx *ctx, const kiln_http_req *req, kiln_http_resp *resp) {
    const char *given = req->params[0];
    char digest[65];
    size_t n = strlen(given);
    int ok = n == 64;
    for (size_t i = 0; ok && i < n; i++) {
        if (!isxdigit((unsigned char)given[i])) ok = 0;
        else digest[i] = (char)tolower((unsigned char)given[i]);
    }
    if (!ok) {
        kiln_http_error(resp, 400, "bad_digest", NULL, "expected a sha256 digest of 64 hex characters, got '%.80s'%s",
                        given, n > 80 ? "..." : "");
        return;
    }
    digest[64] = '\0';
    kiln_error err = {0};
    int rc = kiln_store_check(&ctx->store, digest, 0, &err);
    if (rc == KILN_ENOTFOUND) {
        kiln_http_error(resp, 404, "not_found", NULL, "no artifact %s in the store", digest);
        return;
    }
    if (rc != 0) { /* corrupt: moved to quarantine by the check, never served */
        kiln_http_error(resp, 404, "not_found", NULL, "artifact %s is not available: %s", digest, err.message);
        return;
    }
    char etag[70];
    snprintf(etag, sizeof etag, "\"%s\"", digest);
    const char *inm = kiln_http_header(req, "If-None-Match");
    if (inm && (strstr(inm, digest) || strcmp(inm, "*") == 0)) {
        resp->r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        resp->status = 304;
        kiln_http_add_header(resp, MHD_HTTP_HEADER_ETAG, etag);
        return;
    }
    char *path = kiln_store_blob_path(&ctx->store, digest);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        kiln_http_error(resp, 404, "not_found", NULL, "artifact %s: %s", digest, strerror(e));
        return;
    }
    uint64_t size = (uint64_t)st.st_size, start = 0, end = size ? size - 1 : 0;
    const char *range = kiln_http_header(req, "Range");
    int pr = range ? parse_range(range, size, &start, &end) : 0;
    if (pr < 0) {
        close(fd);
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
        kiln_http_error(resp, 416, "range_not_satisfiable", NULL, "range '%s' is outside the %llu bytes of %s", range,
                        (unsigned long long)size, digest);
        kiln_http_add_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
        return;
    }
    uint64_t len = pr > 0 ? end - start + 1 : size;
    resp->r = MHD_create_response_from_fd_at_offset64(len, fd, pr > 0 ? start : 0); /* takes fd */
    if (!resp->r) {
        close(fd);
        kiln_http_error(resp, 500, "internal", NULL, "cannot create the response");
        return;
    }
    resp->status = pr > 0 ? 206 : 200;
    kiln_http_add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    kiln_http_add_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    kiln_http_add_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    kiln_http_add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=31536000, immutable");
    if (pr > 0) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)start, (unsigned long long)end,
                 (unsigned long long)size);
        kiln_http_add_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    }
}
