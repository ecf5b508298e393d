/* http.h -- one HTTP request as the route handlers see it, and the responses they build
 * (JSON bodies, the error object, text, files). Handlers run on libmicrohttpd's threads:
 * several at once, each with its own request. */
#ifndef KILN_API_HTTP_H
#define KILN_API_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>
#include "kiln/plugin.h"

#define KILN_HTTP_MAX_PARAMS 4

typedef struct kiln_http_req {
    struct MHD_Connection *conn;
    const char *method;                        /* "GET" (also for HEAD), "POST", ...      */
    const char *path;                          /* decoded path, without the query          */
    const char *params[KILN_HTTP_MAX_PARAMS];  /* the route's {placeholders}, in order     */
    size_t nparams;
    const char *body;                          /* NULL when none                          */
    size_t body_len;
} kiln_http_req;

/* What a handler produces: a status and a libmicrohttpd response (owned until queued).
 * A handler that leaves `r` NULL gets a 500 error. */
typedef struct kiln_http_resp {
    unsigned status;
    struct MHD_Response *r;
} kiln_http_resp;

/* Query argument `key` (first occurrence, decoded), or NULL. Borrowed from the connection. */
const char *kiln_http_query(const kiln_http_req *req, const char *key);

/* Request header `name` (case-insensitive), or NULL. Borrowed. */
const char *kiln_http_header(const kiln_http_req *req, const char *name);

/* A JSON body (steals `body`; compact, with a trailing newline). */
void kiln_http_json(kiln_http_resp *resp, unsigned status, json_t *body);

/* A body taken over from malloc'd `data` (freed by the response) with a content type. */
void kiln_http_take(kiln_http_resp *resp, unsigned status, const char *content_type, char *data, size_t len);

/* The error object {"error": {"code", "message", "details"}}; steals `details` (NULL:
 * null). The message is printf-formatted. */
void kiln_http_error(kiln_http_resp *resp, unsigned status, const char *code, json_t *details, const char *fmt, ...)
    KILN_PRINTF(5, 6);

/* Adds a header to the response built so far (ignored when there is none). */
void kiln_http_add_header(kiln_http_resp *resp, const char *name, const char *value);

/* Parses a non-negative decimal integer; returns 0 and *out, or -1. */
int kiln_http_parse_u64(const char *s, uint64_t *out);

#endif
