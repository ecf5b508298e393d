/* record.c -- RECORD rows (CSV), URL-safe base64 and the hashes RECORD names. See record.h. */
#include "record.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(kiln_error *err, int code, const char *fmt, ...) KILN_PRINTF(3, 4);
static int fail(kiln_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---------------------------------------------------------------------------------------- */
/* base64url                                                                                 */
/* ---------------------------------------------------------------------------------------- */

size_t kiln_wheel_b64url_encode(const unsigned char *in, size_t n, char *out) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

/* ---------------------------------------------------------------------------------------- */
/* Hashing                                                                                   */
/* ---------------------------------------------------------------------------------------- */

struct kiln_wheel_hasher {
    EVP_MD_CTX *ctx;
    char algorithm[16];
};

kiln_wheel_hasher *kiln_wheel_hasher_new(const char *algorithm, kiln_error *err) {
    const EVP_MD *md = NULL;
    if (strcmp(algorithm, "sha256") == 0) md = EVP_sha256();
    else if (strcmp(algorithm, "sha384") == 0) md = EVP_sha384();
    else if (strcmp(algorithm, "sha512") == 0) md = EVP_sha512();
    else if (strcmp(algorithm, "md5") == 0 || strcmp(algorithm, "sha1") == 0) {
        fail(err, KILN_EINVAL, "hash algorithm '%s' is not allowed in RECORD (insecure; use sha256 or better)",
             algorithm);
        return NULL;
    } else {
        fail(err, KILN_EINVAL, "unknown hash algorithm '%s' (expected sha256, sha384 or sha512)", algorithm);
        return NULL;
    }
    kiln_wheel_hasher *h = calloc(1, sizeof *h);
    if (!h || !(h->ctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
        kiln_wheel_hasher_free(h);
        fail(err, KILN_ENOMEM, "out of memory starting a %s hash", algorithm);
        return NULL;
    }
    snprintf(h->algorithm, sizeof h->algorithm, "%s", algorithm);
    return h;
}

void kiln_wheel_hasher_update(kiln_wheel_hasher *h, const void *data, size_t n) {
    if (n) EVP_DigestUpdate(h->ctx, data, n);
}

int kiln_wheel_hasher_finish(kiln_wheel_hasher *h, char *out, size_t out_len) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char b64[4 * (EVP_MAX_MD_SIZE / 3 + 1) + 1];
    if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1) return KILN_EINTERNAL;
    kiln_wheel_b64url_encode(md, mdlen, b64);
    snprintf(out, out_len, "%s=%s", h->algorithm, b64);
    return 0;
}

void kiln_wheel_hasher_free(kiln_wheel_hasher *h) {
    if (!h) return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

int kiln_wheel_hash_buffer(const void *data, size_t n, char *out, size_t out_len) {
    kiln_wheel_hasher *h = kiln_wheel_hasher_new("sha256", NULL);
    if (!h) return KILN_ENOMEM;
    kiln_wheel_hasher_update(h, data, n);
    int rc = kiln_wheel_hasher_finish(h, out, out_len);
    kiln_wheel_hasher_free(h);
    return rc;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int kiln_wheel_hash_from_hex(const char *hex, char *out, size_t out_len) {
    unsigned char md[32];
    char b64[48];
    if (!hex || strlen(hex) != 64) return KILN_EINVAL;
    for (int i = 0; i < 32; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return KILN_EINVAL;
        md[i] = (unsigned char)(hi << 4 | lo);
    }
    kiln_wheel_b64url_encode(md, sizeof md, b64);
    snprintf(out, out_len, "sha256=%s", b64);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* CSV                                                                                       */
/* ---------------------------------------------------------------------------------------- */

void kiln_wheel_record_clear(kiln_wheel_record *rec) {
    for (size_t i = 0; i < rec->count; i++) {
        free(rec->rows[i].path);
        free(rec->rows[i].hash);
        free(rec->rows[i].size);
    }
    free(rec->rows);
    rec->rows = NULL;
    rec->count = 0;
}

/* A field being collected. */
typedef struct field {
    char *s;
    size_t len, cap;
} field;

static int field_put(field *f, char c) {
    if (f->len + 2 > f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 64;
        char *s = realloc(f->s, cap);
        if (!s) return KILN_ENOMEM;
        f->s = s;
        f->cap = cap;
    }
    f->s[f->len++] = c;
    f->s[f->len] = '\0';
    return 0;
}

static char *field_take(field *f) {
    char *s = f->s ? f->s : strdup("");
    f->s = NULL;
    f->len = f->cap = 0;
    return s;
}

int kiln_wheel_record_parse(const char *text, size_t n, kiln_wheel_record *rec, kiln_error *err) {
    size_t i = 0, cap = 0;
    int line = 1;
    while (i < n) {
        /* one row */
        field fields[3] = {{0}};
        int nf = 0, rc = 0, start_line = line;
        int blank = (text[i] == '\n' || text[i] == '\r');
        if (blank) {
            if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') i++;
            i++;
            line++;
            continue;
        }
        for (;;) {
            field cur = {0};
            if (i < n && text[i] == '"') {
                i++;
                for (;;) {
                    if (i >= n) {
                        free(cur.s);
                        for (int k = 0; k < nf && k < 3; k++) free(fields[k].s);
                        return fail(err, KILN_EFORMAT, "RECORD line %d: unterminated quoted field", start_line);
                    }
                    if (text[i] == '"') {
                        if (i + 1 < n && text[i + 1] == '"') {
                            rc = rc ? rc : field_put(&cur, '"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (text[i] == '\n') line++;
                    rc = rc ? rc : field_put(&cur, text[i]);
                    i++;
                }
                if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
                    free(cur.s);
                    for (int k = 0; k < nf && k < 3; k++) free(fields[k].s);
                    return fail(err, KILN_EFORMAT, "RECORD line %d: text after a closing quote", start_line);
                }
            } else {
                while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
                    rc = rc ? rc : field_put(&cur, text[i]);
                    i++;
                }
            }
            if (nf < 3) fields[nf] = cur;
            else free(cur.s);
            nf++;
            if (i < n && text[i] == ',') {
                i++;
                continue;
            }
            break;
        }
        if (i < n && text[i] == '\r') i++;
        if (i < n && text[i] == '\n') i++;
        line++;
        if (rc || nf != 3) {
            for (int k = 0; k < nf && k < 3; k++) free(fields[k].s);
            if (rc) return fail(err, KILN_ENOMEM, "out of memory reading RECORD");
            return fail(err, KILN_EFORMAT, "RECORD line %d: expected 3 fields (path,hash,size), got %d", start_line, nf);
        }
        if (rec->count == cap) {
            size_t ncap = cap ? 2 * cap : 32;
            kiln_wheel_record_row *rows = realloc(rec->rows, ncap * sizeof *rows);
            if (!rows) {
                for (int k = 0; k < 3; k++) free(fields[k].s);
                return fail(err, KILN_ENOMEM, "out of memory reading RECORD");
            }
            rec->rows = rows;
            cap = ncap;
        }
        kiln_wheel_record_row *row = &rec->rows[rec->count++];
        row->path = field_take(&fields[0]);
        row->hash = field_take(&fields[1]);
        row->size = field_take(&fields[2]);
        row->line = start_line;
        if (!row->path || !row->hash || !row->size) return fail(err, KILN_ENOMEM, "out of memory reading RECORD");
    }
    return 0;
}

static int grow(char **buf, size_t *len, size_t *cap, size_t extra) {
    if (*len + extra + 1 <= *cap) return 0;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < *len + extra + 1) ncap *= 2;
    char *b = realloc(*buf, ncap);
    if (!b) return KILN_ENOMEM;
    *buf = b;
    *cap = ncap;
    return 0;
}

int kiln_wheel_csv_append(char **buf, size_t *len, size_t *cap, const char *text, int last_in_row) {
    size_t n = strlen(text);
    int quote = strpbrk(text, ",\"\r\n") != NULL;
    if (grow(buf, len, cap, 2 * n + 4)) return KILN_ENOMEM;
    char *p = *buf + *len;
    if (quote) *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (quote && text[i] == '"') *p++ = '"';
        *p++ = text[i];
    }
    if (quote) *p++ = '"';
    *p++ = last_in_row ? '\n' : ',';
    *p = '\0';
    *len = (size_t)(p - *buf);
    return 0;
}
