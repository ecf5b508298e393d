/* http.c -- request accessors and response builders (see http.h). */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *kiln_http_query(const kiln_http_req *req, const char *key) {
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *kiln_http_header(const kiln_http_req *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void kiln_http_take(kiln_http_resp *resp, unsigned status, const char *content_type, char *data, size_t len) {
    if (resp->r) MHD_destroy_response(resp->r);
    resp->r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    resp->status = status;
    if (!resp->r) {
        free(data);
        return;
    }
    MHD_add_response_header(resp->r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
}

void kiln_http_json(kiln_http_resp *resp, unsigned status, json_t *body) {
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        resp->status = 500;
        return;
    }
    size_t len = strlen(text);
    char *with_nl = realloc(text, len + 2);
    if (with_nl) {
        with_nl[len++] = '\n';
        with_nl[len] = '\0';
        text = with_nl;
    }
    kiln_http_take(resp, status, "application/json", text, len);
}

void kiln_http_error(kiln_http_resp *resp, unsigned status, const char *code, json_t *details, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *err = json_object();
    json_object_set_new(err, "code", json_string(code));
    json_object_set_new(err, "message", json_string(msg));
    json_object_set_new(err, "details", details ? details : json_null());
    kiln_http_json(resp, status, json_pack("{s:o}", "error", err));
}

void kiln_http_add_header(kiln_http_resp *resp, const char *name, const char *value) {
    if (resp->r) MHD_add_response_header(resp->r, name, value);
}

int kiln_http_parse_u64(const char *s, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = (uint64_t)v;
    return 0;
}
