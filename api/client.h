/* client.h -- the HTTP side of the CLI's client commands (kiln submit, jobs, job, cancel,
 * retry, logs, watch), on libcurl. One client = one connection reused across requests.
 *
 * The server is --server URL, else $KILN_SERVER, else http://127.0.0.1:8080. The token is
 * read from --token-file FILE, else $KILN_TOKEN_FILE, else taken from $KILN_TOKEN. */
#ifndef KILN_API_CLIENT_H
#define KILN_API_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "kiln/plugin.h"

typedef struct kiln_api_client {
    char *base;        /* owned: server URL without a trailing slash */
    char *auth;        /* owned: "Authorization: Bearer ..." or NULL  */
    void *curl;        /* CURL* easy handle                           */
} kiln_api_client;

/* server / token_file may be NULL (environment and defaults apply). Returns 0, or
 * KILN_EINVAL / KILN_EIO with err (bad URL scheme, unreadable token file). */
int kiln_api_client_init(kiln_api_client *c, const char *server, const char *token_file, kiln_error *err);

void kiln_api_client_free(kiln_api_client *c);

typedef struct kiln_api_reply {
    long status;       /* HTTP status                                  */
    char *body;        /* owned, NUL-terminated                        */
    size_t len;
    json_t *json;      /* owned ref: the body parsed, or NULL          */
    char *headers;     /* owned: response headers as received          */
} kiln_api_reply;

/* One request. `path` starts with "/" and may carry a query; body may be NULL. Returns 0
 * when a response came back (whatever its status), or KILN_EIO with err ("cannot reach
 * http://...: Connection refused"). Release `out` with kiln_api_reply_free. */
int kiln_api_client_request(kiln_api_client *c, const char *method, const char *path, const char *body,
                            size_t body_len, kiln_api_reply *out, kiln_error *err);

void kiln_api_reply_free(kiln_api_reply *r);

/* The error message of a failed reply: error.message of the error object, else the body
 * (borrowed from r). */
const char *kiln_api_reply_message(const kiln_api_reply *r);

/* The value of response header `name` (case-insensitive) copied into buf, or NULL. */
const char *kiln_api_reply_header(const kiln_api_reply *r, const char *name, char *buf, size_t buflen);

/* A path segment, percent-encoded (malloc'd; caller frees). */
char *kiln_api_client_escape(kiln_api_client *c, const char *segment);

/* Reads a server-sent event stream from `path`, sending Last-Event-ID: last_id when > 0.
 * Calls fn(id, data, user) for every event with data (id: the event's id, or -1); fn
 * returns non-zero to stop. Returns 0 when the server ended the stream, 1 when fn stopped
 * it, or KILN_EIO (connection lost or refused: err says which; *status_out gets the HTTP
 * status when there was one, else 0). */
int kiln_api_client_stream(kiln_api_client *c, const char *path, int64_t last_id,
                           int (*fn)(int64_t id, const char *data, void *user), void *user, long *status_out,
                           kiln_api_reply *error_reply, kiln_error *err);

#endif
