/* idx.c -- IDX reader (see idx.h). */
#include "idx.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define KILN_DATA_IDX_CHUNK (1u << 20)

const char *kiln_data_idx_type_name(uint8_t type) {
    switch (type) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    }
    return NULL;
}

static size_t type_size(uint8_t type) {
    switch (type) {
    case 0x08:
    case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C:
    case 0x0D: return 4;
    case 0x0E: return 8;
    }
    return 0;
}

static const char *dz(const kiln_data_stream *s) {
    return kiln_data_stream_is_gzip(s) ? " (decompressed)" : "";
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int kiln_data_idx_read_header(kiln_data_stream *s, kiln_data_idx_header *h, kiln_error *err) {
    const char *path = kiln_data_stream_path(s);
    unsigned char magic[4], dim[4];
    size_t count = 1;
    int rc;
    memset(h, 0, sizeof *h);
    rc = kiln_data_stream_read_exact(s, magic, 4, "the IDX magic", err);
    if (rc)
        return rc;
    if (magic[0] != 0 || magic[1] != 0)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: wrong magic at byte 0%s: expected 00 00 <type> <ndim>, got "
                               "%02x %02x %02x %02x (not an IDX file)",
                               path, dz(s), magic[0], magic[1], magic[2], magic[3]);
    h->type = magic[2];
    h->elsize = type_size(h->type);
    if (!h->elsize)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: unknown IDX element type 0x%02x at byte 2%s (expected 08, "
                               "09, 0b, 0c, 0d or 0e)",
                               path, h->type, dz(s));
    h->ndim = magic[3];
    if (h->ndim == 0 || h->ndim > KILN_TENSOR_MAX_DIMS)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: %d dimensions at byte 3%s: expected 1 to %d", path, h->ndim,
                               dz(s), KILN_TENSOR_MAX_DIMS);
    for (int i = 0; i < h->ndim; i++) {
        rc = kiln_data_stream_read_exact(s, dim, 4, "the IDX dimensions", err);
        if (rc)
            return rc;
        h->dims[i] = be32(dim);
        if (h->dims[i] == 0)
            return kiln_data_error(err, KILN_EFORMAT,
                                   "%s: dimension %d is 0 at byte %d%s: the file holds no data",
                                   path, i, 4 + 4 * i, dz(s));
        if (kiln_data_mul_size(count, (size_t)h->dims[i], &count))
            return kiln_data_error(err, KILN_EFORMAT,
                                   "%s: dimensions overflow the address space", path);
    }
    h->count = count;
    if (kiln_data_mul_size(count, h->elsize, &h->data_bytes))
        return kiln_data_error(err, KILN_EFORMAT, "%s: dimensions overflow the address space",
                               path);
    h->header_bytes = 4 + 4 * (size_t)h->ndim;
    /* Deflate expands at most ~1032:1, so a gzip file cannot hold more than that: a header
     * claiming more is caught before a huge allocation. */
    if (kiln_data_stream_is_gzip(s) &&
        (double)h->data_bytes > 1100.0 * (double)kiln_data_stream_file_size(s) + 4096)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: the header declares %zu bytes of data, more than a gzip file "
                               "of %" PRIu64 " bytes can hold (truncated or a wrong header)",
                               path, h->data_bytes, kiln_data_stream_file_size(s));
    /* A plain file's size is known: catch truncation before allocating anything. */
    if (!kiln_data_stream_is_gzip(s)) {
        uint64_t want = (uint64_t)h->header_bytes + h->data_bytes;
        uint64_t have = kiln_data_stream_file_size(s);
        if (have < want)
            return kiln_data_error(err, KILN_EFORMAT,
                                   "%s: truncated: the header declares %zu bytes of data from byte "
                                   "%zu (file size %" PRIu64 "), the file ends at byte %" PRIu64,
                                   path, h->data_bytes, h->header_bytes, want, have);
        if (have > want)
            return kiln_data_error(err, KILN_EFORMAT,
                                   "%s: %" PRIu64 " trailing bytes after the data at byte %" PRIu64
                                   " (the header declares %zu bytes of data)",
                                   path, have - want, want, h->data_bytes);
    }
    return 0;
}

/* After the data: anything more is an error. */
static int expect_end(kiln_data_stream *s, kiln_error *err) {
    unsigned char extra;
    size_t got;
    uint64_t at = kiln_data_stream_offset(s);
    int rc = kiln_data_stream_read(s, &extra, 1, &got, err);
    if (rc)
        return rc;
    if (got)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: trailing bytes after the data at byte %" PRIu64 "%s",
                               kiln_data_stream_path(s), at, dz(s));
    return 0;
}

/* Big-endian element i of raw as a double. */
static double element(uint8_t type, const unsigned char *p) {
    switch (type) {
    case 0x08: return p[0];
    case 0x09: return (int8_t)p[0];
    case 0x0B: return (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
    case 0x0C: return (int32_t)be32(p);
    case 0x0D: {
        uint32_t u = be32(p);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case 0x0E: {
        uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    }
    return 0;
}

/* Reads the labels' data into a new int64 array, checking the range. */
static int read_labels(kiln_data_stream *s, const kiln_data_idx_header *h, int64_t limit,
                       int64_t **out, kiln_error *err) {
    const char *path = kiln_data_stream_path(s);
    unsigned char *raw;
    int64_t *y;
    int rc;
    if (h->type == 0x0D || h->type == 0x0E)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: labels must be integers, the IDX type at byte 2 is %s", path,
                               kiln_data_idx_type_name(h->type));
    raw = malloc(h->data_bytes);
    y = malloc(h->count * sizeof *y);
    if (!raw || !y) {
        free(raw);
        free(y);
        return kiln_data_error(err, KILN_ENOMEM, "%s: out of memory for %zu labels", path,
                               h->count);
    }
    rc = kiln_data_stream_read_exact(s, raw, h->data_bytes, "the label data", err);
    if (rc == 0)
        rc = expect_end(s, err);
    for (size_t i = 0; rc == 0 && i < h->count; i++) {
        double v = element(h->type, raw + i * h->elsize);
        if (v < 0 || v >= (double)limit) {
            if (limit == INT64_MAX)
                rc = kiln_data_error(err, KILN_EINVAL,
                                     "%s: label %.0f of item %zu at byte %zu%s is out of range: "
                                     "labels must be >= 0",
                                     path, v, i, h->header_bytes + i * h->elsize, dz(s));
            else
                rc = kiln_data_error(err, KILN_EINVAL,
                                     "%s: label %.0f of item %zu at byte %zu%s is out of range: "
                                     "%" PRId64 " classes given, labels must be 0..%" PRId64,
                                     path, v, i, h->header_bytes + i * h->elsize, dz(s), limit,
                                     limit - 1);
            break;
        }
        y[i] = (int64_t)v;
    }
    free(raw);
    if (rc) {
        free(y);
        return rc;
    }
    *out = y;
    return 0;
}

/* Reads the images' data: raw into a uint8 buffer, or converted chunk by chunk to float32. */
static int read_images(kiln_data_stream *s, const kiln_data_idx_header *h, kiln_dtype dtype,
                       const kiln_data_monitor *m, void **out, size_t *nbytes, kiln_error *err) {
    const char *path = kiln_data_stream_path(s);
    size_t out_bytes, done = 0;
    unsigned char *buf = NULL, *raw = NULL;
    float *f = NULL;
    int rc = 0;
    if (dtype == KILN_DTYPE_U8) {
        out_bytes = h->data_bytes;
    } else if (kiln_data_mul_size(h->count, sizeof(float), &out_bytes)) {
        return kiln_data_error(err, KILN_ENOMEM, "%s: too many elements", path);
    }
    buf = kiln_data_alloc_large(out_bytes);
    if (!buf)
        return kiln_data_error(err, KILN_ENOMEM, "%s: out of memory for %zu bytes of images",
                               path, out_bytes);
    if (dtype != KILN_DTYPE_U8) {
        raw = malloc(KILN_DATA_IDX_CHUNK);
        if (!raw) {
            free(buf);
            return kiln_data_error(err, KILN_ENOMEM, "out of memory");
        }
        f = (float *)(void *)buf;
    }
    while (rc == 0 && done < h->data_bytes) {
        size_t n = h->data_bytes - done;
        if (n > KILN_DATA_IDX_CHUNK)
            n = KILN_DATA_IDX_CHUNK; /* a multiple of every element size */
        if (kiln_data_cancelled(m)) {
            rc = kiln_data_cancel_error(err);
            break;
        }
        if (dtype == KILN_DTYPE_U8) {
            rc = kiln_data_stream_read_exact(s, buf + done, n, "the image data", err);
        } else {
            rc = kiln_data_stream_read_exact(s, raw, n, "the image data", err);
            if (rc == 0) {
                size_t first = done / h->elsize, k = n / h->elsize;
                if (h->type == 0x08) {
                    for (size_t i = 0; i < k; i++)
                        f[first + i] = (float)raw[i];
                } else {
                    for (size_t i = 0; i < k; i++)
                        f[first + i] = (float)element(h->type, raw + i * h->elsize);
                }
            }
        }
        done += n;
        kiln_data_progress(m, (double)done, (double)h->data_bytes, "byte");
    }
    if (rc == 0)
        rc = expect_end(s, err);
    free(raw);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *nbytes = out_bytes;
    return 0;
}

int kiln_data_idx_read(const char *images_path, const char *labels_path, kiln_dtype x_dtype,
                       const json_t *classes, const kiln_data_monitor *m, kiln_data_set *out,
                       kiln_error *err) {
    kiln_data_stream *si = NULL, *sl = NULL;
    kiln_data_idx_header hi, hl;
    kiln_data_set set;
    int rc;
    kiln_data_set_init(&set);
    rc = kiln_data_stream_open(images_path, &si, err);
    if (rc == 0)
        rc = kiln_data_idx_read_header(si, &hi, err);
    if (rc == 0)
        rc = kiln_data_stream_open(labels_path, &sl, err);
    if (rc == 0)
        rc = kiln_data_idx_read_header(sl, &hl, err);
    if (rc)
        goto done;
    if (hl.ndim != 1) {
        rc = kiln_data_error(err, KILN_EFORMAT,
                             "%s: labels must have 1 dimension, the header at byte 3 says %d",
                             labels_path, hl.ndim);
        goto done;
    }
    if (hi.dims[0] != hl.dims[0]) {
        rc = kiln_data_error(err, KILN_EFORMAT,
                             "image/label count mismatch: %s has %" PRId64
                             " images (dimension 0 at byte 4), %s has %" PRId64
                             " labels (dimension 0 at byte 4)",
                             images_path, hi.dims[0], labels_path, hl.dims[0]);
        goto done;
    }
    if (x_dtype == 0)
        x_dtype = hi.type == 0x08 ? KILN_DTYPE_U8 : KILN_DTYPE_F32;
    if (x_dtype == KILN_DTYPE_U8 && hi.type != 0x08) {
        rc = kiln_data_error(err, KILN_EINVAL,
                             "%s: the images are %s (type byte 2), they cannot be kept as uint8; "
                             "use dtype \"float32\" or \"auto\"",
                             images_path, kiln_data_idx_type_name(hi.type));
        goto done;
    }
    if (x_dtype != KILN_DTYPE_U8 && x_dtype != KILN_DTYPE_F32) {
        rc = kiln_data_error(err, KILN_EINTERNAL, "idx: unsupported output dtype %d",
                             (int)x_dtype);
        goto done;
    }
    rc = read_labels(sl, &hl, kiln_data_label_limit(classes), &set.y, err);
    if (rc)
        goto done;
    rc = read_images(si, &hi, x_dtype, m, &set.x_owned, &set.x_nbytes, err);
    if (rc)
        goto done;
    set.x = set.x_owned;
    set.x_dtype = x_dtype;
    set.x_ndim = hi.ndim;
    memcpy(set.x_shape, hi.dims, sizeof hi.dims);
    set.n = hi.dims[0];
    if (classes) {
        set.classes = json_deep_copy(classes);
        if (!set.classes)
            rc = kiln_data_error(err, KILN_ENOMEM, "out of memory");
    }
done:
    kiln_data_stream_close(si);
    kiln_data_stream_close(sl);
    if (rc)
        kiln_data_set_clear(&set);
    else
        *out = set;
    return rc;
}
