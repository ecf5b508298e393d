/* client.c -- libcurl requests and a server-sent-events reader (see client.h). */
#include "client.h"

#include <curl/curl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "fsutil.h"

#define DEFAULT_SERVER "http://127.0.0.1:8080"

typedef struct grow {
    char *data;
    size_t len, cap;
} grow;

static int grow_add(grow *g, const char *p, size_t n) {
    if (g->len + n + 1 > g->cap) {
        size_t cap = g->cap ? g->cap : 4096;
        while (cap < g->len + n + 1) cap *= 2;
        char *d = realloc(g->data, cap);
        if (!d) return -1;
        g->data = d;
        g->cap = cap;
    }
    memcpy(g->data + g->len, p, n);
    g->len += n;
    g->data[g->len] = '\0';
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *user) {
    return grow_add(user, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *user) {
    return grow_add(user, p, size * n) == 0 ? size * n : 0;
}

int kiln_api_client_init(kiln_api_client *c, const char *server, const char *token_file, kiln_error *err) {
    memset(c, 0, sizeof *c);
    if (!server || !*server) server = getenv("KILN_SERVER");
    if (!server || !*server) server = DEFAULT_SERVER;
    if (strncmp(server, "http://", 7) != 0 && strncmp(server, "https://", 8) != 0)
        return kiln_error_set(err, KILN_EINVAL, "--server: expected http://HOST:PORT, got '%s'", server);
    c->base = strdup(server);
    if (!c->base) return kiln_error_set(err, KILN_ENOMEM, "out of memory");
    size_t bl = strlen(c->base);
    while (bl > 0 && c->base[bl - 1] == '/') c->base[--bl] = '\0';
    if (!token_file || !*token_file) token_file = getenv("KILN_TOKEN_FILE");
    char *token = NULL;
    if (token_file && *token_file) {
        size_t len = 0;
        int rc = kiln_read_file(token_file, &token, &len, err);
        if (rc != 0) {
            kiln_api_client_free(c);
            return rc;
        }
    } else if (getenv("KILN_TOKEN") && *getenv("KILN_TOKEN")) {
        token = strdup(getenv("KILN_TOKEN"));
    }
    if (token) {
        char *s = token;
        while (*s && isspace((unsigned char)*s)) s++;
        char *e = s;
        while (*e && *e != '\n' && *e != '\r') e++;
        while (e > s && isspace((unsigned char)e[-1])) e--;
        *e = '\0';
        size_t n = strlen(s) + 32;
        c->auth = malloc(n);
        if (c->auth) snprintf(c->auth, n, "Authorization: Bearer %s", s);
        memset(token, 0, strlen(token));
        free(token);
    }
    c->curl = curl_easy_init();
    if (!c->curl) {
        kiln_api_client_free(c);
        return kiln_error_set(err, KILN_EIO, "cannot initialise libcurl");
    }
    return 0;
}

void kiln_api_client_free(kiln_api_client *c) {
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    free(c->base);
    if (c->auth) memset(c->auth, 0, strlen(c->auth));
    free(c->auth);
    memset(c, 0, sizeof *c);
}

void kiln_api_reply_free(kiln_api_reply *r) {
    if (!r) return;
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

const char *kiln_api_reply_message(const kiln_api_reply *r) {
    const char *m = json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));
    if (m) return m;
    return r->body && *r->body ? r->body : "(empty reply)";
}

const char *kiln_api_reply_header(const kiln_api_reply *r, const char *name, char *buf, size_t buflen) {
    size_t nl = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ') v++;
            size_t vl = (size_t)(line + len - v);
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' ')) vl--;
            snprintf(buf, buflen, "%.*s", (int)vl, v);
            return buf;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

char *kiln_api_client_escape(kiln_api_client *c, const char *segment) {
    char *e = curl_easy_escape(c->curl, segment, 0);
    char *copy = e ? strdup(e) : NULL;
    curl_free(e);
    return copy;
}

/* Sets what every request shares; returns the header list to free. */
static struct curl_slist *setup(kiln_api_client *c, const char *path, char *url, size_t urllen, int sse) {
    CURL *h = c->curl;
    curl_easy_reset(h);
    snprintf(url, urllen, "%s%s", c->base, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "kiln-cli");
    struct curl_slist *hdrs = NULL;
    if (c->auth) hdrs = curl_slist_append(hdrs, c->auth);
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (sse) hdrs = curl_slist_append(hdrs, "Accept: text/event-stream");
    return hdrs;
}

int kiln_api_client_request(kiln_api_client *c, const char *method, const char *path, const char *body,
                            size_t body_len, kiln_api_reply *out, kiln_error *err) {
    memset(out, 0, sizeof *out);
    char url[4096];
    struct curl_slist *hdrs = setup(c, path, url, sizeof url, 0);
    CURL *h = c->curl;
    grow b = {0}, hd = {0};
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hd);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        free(b.data);
        free(hd.data);
        return kiln_error_set(err, KILN_EIO, "cannot reach %s: %s (is `kiln serve` running? --server / KILN_SERVER)",
                              c->base, curl_easy_strerror(rc));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = b.data ? b.data : strdup("");
    out->len = b.len;
    out->headers = hd.data;
    out->json = json_loadb(out->body ? out->body : "", out->len, 0, NULL);
    return 0;
}

typedef struct sse_reader {
    grow line;            /* the current line                 */
    grow data;            /* data of the current event         */
    int64_t id;
    int (*fn)(int64_t id, const char *data, void *user);
    void *user;
    int stopped;
    long status;          /* HTTP status, when known           */
    CURL *h;
    grow error_body;      /* the body of a non-200 reply       */
} sse_reader;

static void sse_line(sse_reader *r, const char *line, size_t len) {
    if (len == 0) { /* dispatch */
        if (r->data.len && !r->stopped) {
            if (r->data.data[r->data.len - 1] == '\n') r->data.data[--r->data.len] = '\0';
            if (r->fn(r->id, r->data.data, r->user)) r->stopped = 1;
        }
        r->data.len = 0;
        if (r->data.data) r->data.data[0] = '\0';
        r->id = -1;
        return;
    }
    if (line[0] == ':') return; /* comment (keep-alive) */
    const char *colon = memchr(line, ':', len);
    size_t flen = colon ? (size_t)(colon - line) : len;
    const char *v = colon ? colon + 1 : line + len;
    if (colon && v < line + len && *v == ' ') v++;
    size_t vlen = (size_t)(line + len - v);
    if (flen == 4 && memcmp(line, "data", 4) == 0) {
        grow_add(&r->data, v, vlen);
        grow_add(&r->data, "\n", 1);
    } else if (flen == 2 && memcmp(line, "id", 2) == 0) {
        char num[32];
        snprintf(num, sizeof num, "%.*s", (int)(vlen < 31 ? vlen : 31), v);
        r->id = strtoll(num, NULL, 10);
    }
}

static size_t on_sse(char *p, size_t size, size_t n, void *user) {
    sse_reader *r = user;
    size_t total = size * n;
    if (!r->status) curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status != 200) {
        grow_add(&r->error_body, p, total);
        return total;
    }
    for (size_t i = 0; i < total; i++) {
        if (p[i] == '\n') {
            size_t len = r->line.len;
            if (len && r->line.data[len - 1] == '\r') len--;
            sse_line(r, r->line.data ? r->line.data : "", len);
            r->line.len = 0;
        } else {
            grow_add(&r->line, p + i, 1);
        }
    }
    return r->stopped ? 0 : total; /* 0 aborts the transfer */
}

int kiln_api_client_stream(kiln_api_client *c, const char *path, int64_t last_id,
                           int (*fn)(int64_t id, const char *data, void *user), void *user, long *status_out,
                           kiln_api_reply *error_reply, kiln_error *err) {
    char url[4096];
    struct curl_slist *hdrs = setup(c, path, url, sizeof url, 1);
    if (last_id > 0) {
        char h[64];
        snprintf(h, sizeof h, "Last-Event-ID: %lld", (long long)last_id);
        hdrs = curl_slist_append(hdrs, h);
    }
    sse_reader r = {0};
    r.id = -1;
    r.fn = fn;
    r.user = user;
    r.h = c->curl;
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_sse);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &r);
    /* No overall timeout: a stream lasts as long as the job. A dead server is noticed by
     * the missing keep-alives: less than 1 byte/s for 60 s ends the transfer. */
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, 60L);
    CURLcode rc = curl_easy_perform(c->curl);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r.status);
    if (status_out) *status_out = r.status;
    int ret;
    if (r.stopped) ret = 1;
    else if (rc == CURLE_OK && r.status == 200) ret = 0;
    else if (rc == CURLE_OK) {
        ret = kiln_error_set(err, KILN_EIO, "HTTP %ld", r.status);
        if (error_reply) {
            memset(error_reply, 0, sizeof *error_reply);
            error_reply->status = r.status;
            error_reply->body = r.error_body.data ? r.error_body.data : strdup("");
            error_reply->len = r.error_body.len;
            error_reply->json = json_loadb(error_reply->body ? error_reply->body : "", error_reply->len, 0, NULL);
            r.error_body.data = NULL;
        }
    } else {
        ret = kiln_error_set(err, KILN_EIO, "event stream from %s: %s", c->base, curl_easy_strerror(rc));
    }
    free(r.line.data);
    free(r.data.data);
    free(r.error_body.data);
    return ret;
}
