/* text.c -- buffers, Starlark literals and canonical JSON text (see text.h). */
#include "text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kb_buf_free(kb_buf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

const char *kb_str(const kb_buf *b) {
    return b->s ? b->s : "";
}

char *kb_take(kb_buf *b) {
    char *s = b->oom ? NULL : b->s ? b->s : strdup("");
    if (b->oom) free(b->s);
    memset(b, 0, sizeof *b);
    return s;
}

/* Makes room for n more bytes plus the NUL. Returns 0, or -1 (and sets oom). */
static int reserve(kb_buf *b, size_t n) {
    if (b->oom) return -1;
    if (b->len + n + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void kb_putn(kb_buf *b, const char *s, size_t n) {
    if (reserve(b, n) != 0) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void kb_puts(kb_buf *b, const char *s) {
    kb_putn(b, s, strlen(s));
}

void kb_putc(kb_buf *b, char c) {
    kb_putn(b, &c, 1);
}

void kb_printf(kb_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && reserve(b, (size_t)n) == 0) {
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void kb_put_string(kb_buf *b, const char *s) {
    kb_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\': kb_puts(b, "\\\\"); break;
        case '"': kb_puts(b, "\\\""); break;
        case '\n': kb_puts(b, "\\n"); break;
        case '\r': kb_puts(b, "\\r"); break;
        case '\t': kb_puts(b, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) kb_printf(b, "\\%03o", *p);
            else kb_putc(b, (char)*p);
        }
    }
    kb_putc(b, '"');
}

void kb_put_number(kb_buf *b, double v) {
    if (!isfinite(v)) {
        kb_puts(b, "null");
        return;
    }
    char text[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, v);
        if (strtod(text, NULL) == v) break;
    }
    kb_puts(b, text);
    /* Keep a real a real: "3" would read back as an integer. */
    if (!strpbrk(text, ".eE")) kb_puts(b, ".0");
}

static void put_json_string(kb_buf *b, const char *s, size_t len) {
    kb_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\\': kb_puts(b, "\\\\"); break;
        case '"': kb_puts(b, "\\\""); break;
        case '\n': kb_puts(b, "\\n"); break;
        case '\r': kb_puts(b, "\\r"); break;
        case '\t': kb_puts(b, "\\t"); break;
        case '\b': kb_puts(b, "\\b"); break;
        case '\f': kb_puts(b, "\\f"); break;
        default:
            if (c < 0x20) kb_printf(b, "\\u%04x", c);
            else kb_putc(b, (char)c);
        }
    }
    kb_putc(b, '"');
}

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void kb_put_json(kb_buf *b, const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        if (!keys) {
            b->oom = 1;
            return;
        }
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) keys[i++] = k;
        qsort(keys, n, sizeof *keys, cmp_cstr);
        kb_putc(b, '{');
        for (i = 0; i < n; i++) {
            if (i) kb_puts(b, ", ");
            put_json_string(b, keys[i], strlen(keys[i]));
            kb_puts(b, ": ");
            kb_put_json(b, json_object_get(v, keys[i]));
        }
        kb_putc(b, '}');
        free(keys);
        break;
    }
    case JSON_ARRAY: {
        kb_putc(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) kb_puts(b, ", ");
            kb_put_json(b, json_array_get(v, i));
        }
        kb_putc(b, ']');
        break;
    }
    case JSON_STRING: put_json_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: kb_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL: kb_put_number(b, json_real_value(v)); break;
    case JSON_TRUE: kb_puts(b, "true"); break;
    case JSON_FALSE: kb_puts(b, "false"); break;
    case JSON_NULL: kb_puts(b, "null"); break;
    }
}

char *kb_json_text(const json_t *v) {
    kb_buf b = {0};
    kb_put_json(&b, v);
    return kb_take(&b);
}

/* buildifier's phases: plain 0, ":" 1, "//" 2, "@" 3. */
static int phase(const char *s) {
    if (s[0] == ':') return 1;
    if (s[0] == '/' && s[1] == '/') return 2;
    if (s[0] == '@') return 3;
    return 0;
}

static size_t parts(const char *s) {
    size_t n = 1;
    for (; *s; s++) n += *s == '.' || *s == ':';
    return n;
}

int kb_buildifier_cmp(const void *pa, const void *pb) {
    const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
    int fa = phase(a), fb = phase(b);
    if (fa != fb) return fa < fb ? -1 : 1;
    /* Piecewise: compare the parts between separators bytewise. */
    const char *x = a, *y = b;
    for (;;) {
        size_t lx = strcspn(x, ".:"), ly = strcspn(y, ".:");
        size_t m = lx < ly ? lx : ly;
        int c = memcmp(x, y, m);
        if (c != 0) return c < 0 ? -1 : 1;
        if (lx != ly) return lx < ly ? -1 : 1;
        if (!x[lx] || !y[ly]) break; /* one of them has no more parts */
        x += lx + 1;
        y += ly + 1;
    }
    size_t na = parts(a), nb = parts(b);
    if (na != nb) return na < nb ? -1 : 1;
    int c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}
