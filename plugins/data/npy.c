/* npy.c -- .npy header parsing and element conversion (see npy.h). */
#include "npy.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A cursor over the header's dict text; offsets reported relative to the whole buffer. */
typedef struct hdr {
    const char *s, *p, *e;
    size_t base; /* buffer offset of s */
    const char *name;
    kiln_error *err;
} hdr;

static size_t hoff(const hdr *h) { return h->base + (size_t)(h->p - h->s); }

static int hfail(hdr *h, const char *what) {
    return kiln_data_error(h->err, KILN_EFORMAT, "%s: bad .npy header at byte %zu: %s", h->name,
                           hoff(h), what);
}

static void skip_ws(hdr *h) {
    while (h->p < h->e && isspace((unsigned char)*h->p))
        h->p++;
}

/* A Python string literal in single or double quotes (no escapes needed for npy keys). */
static int parse_str(hdr *h, char *out, size_t cap) {
    char q;
    size_t n = 0;
    skip_ws(h);
    if (h->p >= h->e || (*h->p != '\'' && *h->p != '"'))
        return hfail(h, "expected a quoted string");
    q = *h->p++;
    while (h->p < h->e && *h->p != q) {
        if (n + 1 < cap)
            out[n++] = *h->p;
        h->p++;
    }
    if (h->p >= h->e)
        return hfail(h, "unterminated string");
    h->p++;
    out[n] = '\0';
    return 0;
}

static int parse_dtype(const char *d, kiln_data_npy *a) {
    char order = d[0];
    const char *t = d + 1;
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return -1;
    if (strlen(t) < 2 || !strchr("fiub", t[0]))
        return -1;
    for (const char *c = t + 1; *c; c++)
        if (!isdigit((unsigned char)*c))
            return -1;
    a->kind = t[0];
    a->elsize = atoi(t + 1);
    switch (a->kind) {
    case 'f':
        if (a->elsize != 4 && a->elsize != 8)
            return -1;
        break;
    case 'i':
    case 'u':
        if (a->elsize != 1 && a->elsize != 2 && a->elsize != 4 && a->elsize != 8)
            return -1;
        break;
    case 'b':
        if (a->elsize != 1)
            return -1;
        break;
    }
    a->big_endian = order == '>' && a->elsize > 1;
    return 0;
}

int kiln_data_npy_parse(const uint8_t *buf, size_t size, const char *name, kiln_data_npy *out,
                        kiln_error *err) {
    kiln_data_npy a;
    size_t hlen, hstart, count = 1;
    int have_descr = 0, have_order = 0, have_shape = 0, rc;
    size_t descr_off = 0;
    hdr h;
    memset(&a, 0, sizeof a);
    if (size < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: wrong magic at byte 0: expected \\x93NUMPY (not a .npy file)",
                               name);
    if (buf[6] == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (buf[6] == 2 || buf[6] == 3) {
        if (size < 12)
            return kiln_data_error(err, KILN_EFORMAT,
                                   "%s: truncated: the .npy header ends at byte %zu", name, size);
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
               (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: unsupported .npy version %u.%u at byte 6 (expected 1, 2 or 3)",
                               name, buf[6], buf[7]);
    }
    if (hlen > size - hstart)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: truncated: the .npy header needs %zu bytes at byte %zu, the "
                               "data ends at byte %zu",
                               name, hlen, hstart, size);
    h.s = h.p = (const char *)buf + hstart;
    h.e = h.s + hlen;
    h.base = hstart;
    h.name = name;
    h.err = err;
    skip_ws(&h);
    if (h.p >= h.e || *h.p != '{')
        return hfail(&h, "expected '{'");
    h.p++;
    for (;;) {
        char key[32];
        skip_ws(&h);
        if (h.p < h.e && *h.p == '}')
            break;
        if ((rc = parse_str(&h, key, sizeof key)))
            return rc;
        skip_ws(&h);
        if (h.p >= h.e || *h.p != ':')
            return hfail(&h, "expected ':'");
        h.p++;
        skip_ws(&h);
        if (strcmp(key, "descr") == 0) {
            descr_off = hoff(&h);
            if (h.p < h.e && *h.p == '[')
                return kiln_data_error(err, KILN_EFORMAT,
                                       "%s: unsupported dtype at byte %zu: a structured dtype; "
                                       "supported: float32, float64, int8..int64, uint8..uint64, "
                                       "bool",
                                       name, descr_off);
            if ((rc = parse_str(&h, a.descr, sizeof a.descr)))
                return rc;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            size_t off = hoff(&h);
            if ((size_t)(h.e - h.p) >= 4 && memcmp(h.p, "True", 4) == 0)
                return kiln_data_error(err, KILN_EFORMAT,
                                       "%s: fortran_order is True at byte %zu: only C-order "
                                       "arrays are supported (save np.ascontiguousarray(a))",
                                       name, off);
            if ((size_t)(h.e - h.p) < 5 || memcmp(h.p, "False", 5) != 0)
                return hfail(&h, "expected True or False");
            h.p += 5;
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (h.p >= h.e || *h.p != '(')
                return hfail(&h, "expected a shape tuple '('");
            h.p++;
            for (;;) {
                int64_t v = 0;
                skip_ws(&h);
                if (h.p < h.e && *h.p == ')') {
                    h.p++;
                    break;
                }
                if (h.p >= h.e || !isdigit((unsigned char)*h.p))
                    return hfail(&h, "expected a dimension (a non-negative integer)");
                /* Digits parsed by hand: the header is not NUL-terminated. */
                while (h.p < h.e && isdigit((unsigned char)*h.p)) {
                    if (v > (INT64_MAX - 9) / 10)
                        return hfail(&h, "dimension too large");
                    v = v * 10 + (*h.p++ - '0');
                }
                if (a.ndim == KILN_TENSOR_MAX_DIMS)
                    return hfail(&h, "too many dimensions (at most 8)");
                a.shape[a.ndim++] = v;
                if (kiln_data_mul_size(count, (size_t)v, &count))
                    return hfail(&h, "the shape overflows the address space");
                skip_ws(&h);
                if (h.p < h.e && *h.p == ',')
                    h.p++;
                else if (h.p < h.e && *h.p == ')')
                    continue;
                else
                    return hfail(&h, "expected ',' or ')' in the shape");
            }
            have_shape = 1;
        } else {
            return hfail(&h, "unknown key (expected descr, fortran_order, shape)");
        }
        skip_ws(&h);
        if (h.p < h.e && *h.p == ',') {
            h.p++;
            continue;
        }
        if (h.p < h.e && *h.p == '}')
            break;
        return hfail(&h, "expected ',' or '}'");
    }
    if (!have_descr || !have_order || !have_shape)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: bad .npy header at byte %zu: it lacks '%s'", name, hstart,
                               !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    if (parse_dtype(a.descr, &a) != 0)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: unsupported dtype '%s' at byte %zu; supported: float32, "
                               "float64, int8..int64, uint8..uint64, bool",
                               name, a.descr, descr_off);
    a.count = count;
    if (kiln_data_mul_size(count, (size_t)a.elsize, &a.nbytes))
        return kiln_data_error(err, KILN_EFORMAT, "%s: the shape overflows the address space",
                               name);
    a.data_offset = hstart + hlen;
    if (size - a.data_offset < a.nbytes)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: truncated: the shape needs %zu bytes of data at byte %zu, the "
                               "data ends at byte %zu",
                               name, a.nbytes, a.data_offset, size);
    if (size - a.data_offset > a.nbytes)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: %zu trailing bytes after the array data at byte %zu", name,
                               size - a.data_offset - a.nbytes, a.data_offset + a.nbytes);
    a.data = buf + a.data_offset;
    *out = a;
    return 0;
}

/* Raw element bits, byte order fixed, as uint64 (zero-extended). */
static uint64_t raw_bits(const kiln_data_npy *a, size_t i) {
    const uint8_t *p = a->data + i * (size_t)a->elsize;
    uint64_t v = 0;
    if (a->big_endian)
        for (int b = 0; b < a->elsize; b++)
            v = v << 8 | p[b];
    else
        for (int b = a->elsize - 1; b >= 0; b--)
            v = v << 8 | p[b];
    return v;
}

/* Element i as a double (exact for every integer that fits in 53 bits). */
static double as_double(const kiln_data_npy *a, size_t i) {
    uint64_t v = raw_bits(a, i);
    switch (a->kind) {
    case 'b':
    case 'u': return (double)v;
    case 'i': {
        int shift = 64 - 8 * a->elsize;
        return (double)((int64_t)(v << shift) >> shift);
    }
    case 'f':
        if (a->elsize == 4) {
            uint32_t u = (uint32_t)v;
            float f;
            memcpy(&f, &u, 4);
            return f;
        } else {
            double d;
            memcpy(&d, &v, 8);
            return d;
        }
    }
    return 0;
}

static int is_native(const kiln_data_npy *a) {
    return !a->big_endian; /* kiln targets little-endian hosts */
}

int kiln_data_npy_to_x(const kiln_data_npy *a, const char *name, const void **x, void **owned,
                       kiln_dtype *dtype, kiln_error *err) {
    float *f;
    *owned = NULL;
    if (a->ndim < 1)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: x must have at least 1 dimension [N, ...], got a 0-d array",
                               name);
    if ((a->kind == 'u' || a->kind == 'b') && a->elsize == 1) {
        *x = a->data;
        *dtype = KILN_DTYPE_U8;
        return 0;
    }
    if (a->kind == 'f' && a->elsize == 4 && is_native(a) && (uintptr_t)a->data % 4 == 0) {
        *x = a->data;
        *dtype = KILN_DTYPE_F32;
        return 0;
    }
    f = kiln_data_alloc_large(a->count * sizeof *f);
    if (!f)
        return kiln_data_error(err, KILN_ENOMEM, "%s: out of memory converting %zu values", name,
                               a->count);
    for (size_t i = 0; i < a->count; i++)
        f[i] = (float)as_double(a, i);
    *owned = f;
    *x = f;
    *dtype = KILN_DTYPE_F32;
    return 0;
}

int kiln_data_npy_to_labels(const kiln_data_npy *a, const char *name, int64_t limit, int64_t **y,
                            kiln_error *err) {
    int64_t *out;
    if (a->ndim != 1)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: y must be 1-D [N], got %d dimensions (header)", name, a->ndim);
    out = malloc(a->count ? a->count * sizeof *out : 1);
    if (!out)
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    for (size_t i = 0; i < a->count; i++) {
        size_t off = a->data_offset + i * (size_t)a->elsize;
        int64_t v;
        if (a->kind == 'u' && a->elsize == 8) {
            uint64_t u = raw_bits(a, i);
            if (u > (uint64_t)INT64_MAX) {
                free(out);
                return kiln_data_error(err, KILN_EINVAL,
                                       "%s: label y[%zu] = %" PRIu64 " at byte %zu is out of range",
                                       name, i, u, off);
            }
            v = (int64_t)u;
        } else if (a->kind == 'i' && a->elsize == 8) {
            v = (int64_t)raw_bits(a, i);
        } else {
            double d = as_double(a, i);
            if (!(d == floor(d)) || fabs(d) > 9007199254740992.0) {
                free(out);
                return kiln_data_error(err, KILN_EINVAL,
                                       "%s: label y[%zu] = %g at byte %zu is not a whole number",
                                       name, i, d, off);
            }
            v = (int64_t)d;
        }
        if (v < 0 || v >= limit) {
            free(out);
            if (limit == INT64_MAX)
                return kiln_data_error(err, KILN_EINVAL,
                                       "%s: label y[%zu] = %" PRId64 " at byte %zu is out of "
                                       "range: labels must be >= 0",
                                       name, i, v, off);
            return kiln_data_error(err, KILN_EINVAL,
                                   "%s: label y[%zu] = %" PRId64 " at byte %zu is out of range: "
                                   "%" PRId64 " classes given, labels must be 0..%" PRId64,
                                   name, i, v, off, limit, limit - 1);
        }
        out[i] = v;
    }
    *y = out;
    return 0;
}
