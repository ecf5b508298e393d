/* safetensors.c -- safetensors reader (mmap, strict header validation) and writer
 * (deterministic bytes, atomic rename). See safetensors.h and kiln/plugin.h.
 *
 * File layout: 8 bytes little-endian u64 N, N bytes of JSON header, then the data buffer.
 * Each tensor's data_offsets [begin, end) are relative to the start of the buffer. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "fsutil.h"

/* The reference implementation's limit on the header size (100 MB). */
#define KILN_ST_MAX_HEADER ((uint64_t)100000000)

/* ---------------------------------------------------------------------------------------- */
/* dtypes                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static const struct {
    kiln_dtype dtype;
    const char *name;
} dtype_names[] = {
    {KILN_DTYPE_F32, "F32"}, {KILN_DTYPE_F64, "F64"},   {KILN_DTYPE_U8, "U8"},
    {KILN_DTYPE_I32, "I32"}, {KILN_DTYPE_I64, "I64"},   {KILN_DTYPE_F16, "F16"},
    {KILN_DTYPE_BF16, "BF16"}, {KILN_DTYPE_I8, "I8"}, {KILN_DTYPE_BOOL, "BOOL"},
};

/* The safetensors spelling of `dtype`, or NULL when unknown. */
const char *kiln_dtype_name(kiln_dtype dtype) {
    for (size_t i = 0; i < sizeof dtype_names / sizeof dtype_names[0]; i++)
        if (dtype_names[i].dtype == dtype) return dtype_names[i].name;
    return NULL;
}

/* The dtype for a safetensors spelling ("F32"), or 0 when unknown (case-sensitive). */
kiln_dtype kiln_dtype_parse(const char *name) {
    if (!name) return (kiln_dtype)0;
    for (size_t i = 0; i < sizeof dtype_names / sizeof dtype_names[0]; i++)
        if (strcmp(dtype_names[i].name, name) == 0) return dtype_names[i].dtype;
    return (kiln_dtype)0;
}

/* product(shape) * element size into *out; 0 on success, -1 on a negative dim or overflow. */
static int tensor_nbytes(kiln_dtype dtype, int ndim, const int64_t *shape, uint64_t *out) {
    uint64_t n = kiln_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return -1;
        uint64_t d = (uint64_t)shape[i];
        if (d != 0 && n > UINT64_MAX / d) return -1;
        n *= d;
    }
    if (n > (uint64_t)SIZE_MAX) return -1;
    *out = n;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Reader                                                                                    */
/* ---------------------------------------------------------------------------------------- */

typedef struct st_entry {
    char *name; /* owned */
    kiln_dtype dtype;
    int ndim;
    int64_t shape[KILN_TENSOR_MAX_DIMS];
    uint64_t begin, end; /* offsets in the data buffer */
} st_entry;

struct kiln_tensors {
    void *map;          /* the whole file, PROT_READ */
    size_t map_len;
    const unsigned char *data; /* start of the data buffer inside map */
    size_t data_len;
    st_entry *entries;  /* header order */
    int count;
    int *by_name;       /* indices into entries, sorted by name (for bsearch) */
    json_t *metadata;   /* owned: object of strings, maybe empty */
};

/* Releases everything the handle owns; NULL is ignored. */
void kiln_tensors_close(kiln_tensors *t) {
    if (!t) return;
    if (t->map && t->map != MAP_FAILED) munmap(t->map, t->map_len);
    for (int i = 0; i < t->count; i++) free(t->entries[i].name);
    free(t->entries);
    free(t->by_name);
    json_decref(t->metadata);
    free(t);
}

/* Reads a JSON integer >= 0 into *out; 0 or -1. */
static int json_nonneg_int(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v)) return -1;
    json_int_t x = json_integer_value(v);
    if (x < 0) return -1;
    *out = (uint64_t)x;
    return 0;
}

/* Validates one tensor entry of the header and fills `e` (name not set). Returns 0 or
 * KILN_EFORMAT with err naming the file and the tensor. */
static int parse_entry(const char *path, const char *name, const json_t *info, size_t data_len,
                       st_entry *e, kiln_error *err) {
    if (!json_is_object(info))
        return kiln_error_set(err, KILN_EFORMAT,
                              "%s: safetensors header: tensor '%s' must be an object with "
                              "dtype, shape and data_offsets",
                              path, name);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)info, key, val) {
        if (strcmp(key, "dtype") != 0 && strcmp(key, "shape") != 0 &&
            strcmp(key, "data_offsets") != 0)
            return kiln_error_set(err, KILN_EFORMAT,
                                  "%s: safetensors header: tensor '%s' has unknown field '%s' "
                                  "(expected dtype, shape, data_offsets)",
                                  path, name, key);
    }
    const json_t *dt = json_object_get(info, "dtype");
    if (!json_is_string(dt))
        return kiln_error_set(err, KILN_EFORMAT,
                              "%s: safetensors header: tensor '%s': dtype must be a string", path,
                              name);
    e->dtype = kiln_dtype_parse(json_string_value(dt));
    if (e->dtype == 0)
        return kiln_error_set(err, KILN_EFORMAT,
                              "%s: safetensors header: tensor '%s': unknown dtype '%s' (expected "
                              "F32, F64, F16, BF16, I64, I32, I8, U8 or BOOL)",
                              path, name, json_string_value(dt));
    const json_t *shape = json_object_get(info, "shape");
    if (!json_is_array(shape))
        return kiln_error_set(err, KILN_EFORMAT,
                              "%s: safetensors header: tensor '%s': shape must be an array of "
                              "non-negative integers",
                              path, name);
    size_t nd = json_array_size(shape);
    if (nd > KILN_TENSOR_MAX_DIMS)
        return kiln_error_set(err, KILN_EFORMAT,
                              "%s: safetensors header: tensor '%s' has %zu dimensions (at most %d "
                              "supported)",
                              path, name, nd, KILN_TENSOR_MAX_DIMS);
    e->ndim = (int)nd;
    for (size_t i = 0; i < nd; i++) {
        uint64_t d;
        if (json_nonneg_int(json_array_get(shape, i), &d) != 0 || d > (uint64_t)INT64_MAX)
            return kiln_error_set(err, KILN_EFORMAT,
                                  "%s: safetensors header: tensor '%s': shape[%zu] must be a "
                                  "non-negative integer",
                                  path, name, i);
        e->shape[i] = (int64_t)d;
    }
    const json_t *off = json_object_get(info, "data_offsets");
    if (!json_is_array(off) || json_array_size(off) != 2 ||
        json_nonneg_int(json_array_get(off, 0), &e->begin) != 0 ||
        json_nonneg_int(json_array_get(off, 1), &e->end) != 0)
        return kiln_error_set(err, KILN_EFORMAT,
                              "%s: safetensors header: tensor '%s': data_offsets must be "
                              "[begin, end] with non-negative integers",
                              path, name);
    if (e->begin > e->end || e->end > data_len)
        return kiln_error_set(err, KILN_EFORMAT,
                              "%s: safetensors header: tensor '%s': data_offsets [%llu, %llu] out "
                              "of range (data buffer is %zu bytes)",
                              path, name, (unsigned long long)e->begin,
                              (unsigned long long)e->end, data_len);
    uint64_t nbytes;
    if (tensor_nbytes(e->dtype, e->ndim, e->shape, &nbytes) != 0)
        return kiln_error_set(err, KILN_EFORMAT,
                              "%s: safetensors header: tensor '%s': shape too large", path, name);
    if (e->end - e->begin != nbytes)
        return kiln_error_set(err, KILN_EFORMAT,
                              "%s: safetensors header: tensor '%s': data_offsets span %llu bytes "
                              "but dtype %s and its shape need %llu",
                              path, name, (unsigned long long)(e->end - e->begin),
                              kiln_dtype_name(e->dtype), (unsigned long long)nbytes);
    return 0;
}

/* qsort context-free comparators need the entries: sort index pairs instead. */
typedef struct {
    const st_entry *e;
    int index;
} st_ref;

static int cmp_ref_offset(const void *a, const void *b) {
    const st_ref *x = a, *y = b;
    if (x->e->begin != y->e->begin) return x->e->begin < y->e->begin ? -1 : 1;
    if (x->e->end != y->e->end) return x->e->end < y->e->end ? -1 : 1;
    return x->index - y->index;
}

static int cmp_ref_name(const void *a, const void *b) {
    const st_ref *x = a, *y = b;
    return strcmp(x->e->name, y->e->name);
}

/* Checks that the tensors tile the data buffer exactly: sorted by offset, each begins where
 * the previous one ended, and the last ends at the end of the buffer (as the reference
 * implementation requires). Also builds t->by_name. */
static int check_layout(const char *path, kiln_tensors *t, kiln_error *err) {
    if (t->count == 0) {
        if (t->data_len != 0)
            return kiln_error_set(err, KILN_EFORMAT,
                                  "%s: safetensors: %zu bytes of data after the header but no "
                                  "tensors",
                                  path, t->data_len);
        return 0;
    }
    st_ref *refs = malloc((size_t)t->count * sizeof *refs);
    t->by_name = malloc((size_t)t->count * sizeof *t->by_name);
    if (!refs || !t->by_name) {
        free(refs);
        return kiln_error_set(err, KILN_ENOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < t->count; i++) {
        refs[i].e = &t->entries[i];
        refs[i].index = i;
    }
    qsort(refs, (size_t)t->count, sizeof *refs, cmp_ref_offset);
    uint64_t pos = 0;
    int rc = 0;
    for (int i = 0; i < t->count && rc == 0; i++) {
        const st_entry *e = refs[i].e;
        if (e->begin < pos) {
            const st_entry *p = refs[i - 1].e;
            rc = kiln_error_set(err, KILN_EFORMAT,
                                "%s: safetensors header: tensor '%s' data_offsets [%llu, %llu] "
                                "overlap tensor '%s' [%llu, %llu]",
                                path, e->name, (unsigned long long)e->begin,
                                (unsigned long long)e->end, p->name,
                                (unsigned long long)p->begin, (unsigned long long)p->end);
        } else if (e->begin > pos) {
            rc = kiln_error_set(err, KILN_EFORMAT,
                                "%s: safetensors header: gap in the data buffer: bytes [%llu, "
                                "%llu) belong to no tensor (tensor '%s' starts at %llu)",
                                path, (unsigned long long)pos, (unsigned long long)e->begin,
                                e->name, (unsigned long long)e->begin);
        }
        pos = e->end;
    }
    if (rc == 0 && pos != t->data_len)
        rc = kiln_error_set(err, KILN_EFORMAT,
                            "%s: safetensors: data buffer is %zu bytes but the tensors cover "
                            "only %llu",
                            path, t->data_len, (unsigned long long)pos);
    if (rc == 0) {
        qsort(refs, (size_t)t->count, sizeof *refs, cmp_ref_name);
        for (int i = 0; i < t->count; i++) t->by_name[i] = refs[i].index;
    }
    free(refs);
    return rc;
}

/* Maps the file and validates it completely before returning a handle:
 *   - at least 8 bytes; header length N <= 100 MB and 8 + N <= file size;
 *   - the header is a JSON object (duplicate keys rejected); "__metadata__", when present,
 *     is an object of string values; every other key is a tensor with exactly dtype (known),
 *     shape (<= 8 non-negative integers) and data_offsets [begin <= end <= buffer size],
 *     with end - begin == product(shape) * element size;
 *   - the tensors tile the data buffer: no overlap, no gap, nothing left over.
 * Returns NULL with err (KILN_ENOTFOUND, KILN_EIO, KILN_EFORMAT, KILN_ENOMEM) naming the
 * file and the problem. */
kiln_tensors *kiln_tensors_open(const char *path, kiln_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        kiln_error_set(err, e == ENOENT ? KILN_ENOTFOUND : KILN_EIO, "%s: cannot open: %s", path,
                       strerror(e));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        kiln_error_set(err, KILN_EIO, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        kiln_error_set(err, KILN_EIO, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    uint64_t fsize = (uint64_t)st.st_size;
    if (fsize < 8) {
        kiln_error_set(err, KILN_EFORMAT,
                       "%s: not a safetensors file: %llu bytes, too short for the 8-byte header "
                       "length",
                       path, (unsigned long long)fsize);
        close(fd);
        return NULL;
    }
    if (fsize > (uint64_t)SIZE_MAX) {
        kiln_error_set(err, KILN_EFORMAT, "%s: file too large to map", path);
        close(fd);
        return NULL;
    }
    kiln_tensors *t = calloc(1, sizeof *t);
    if (!t) {
        close(fd);
        kiln_error_set(err, KILN_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    t->map_len = (size_t)fsize;
    t->map = mmap(NULL, t->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (t->map == MAP_FAILED) {
        kiln_error_set(err, KILN_EIO, "%s: mmap failed: %s", path, strerror(errno));
        t->map = NULL;
        kiln_tensors_close(t);
        return NULL;
    }
    const unsigned char *base = t->map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | base[i];
    if (hlen > KILN_ST_MAX_HEADER || hlen > fsize - 8) {
        kiln_error_set(err, KILN_EFORMAT,
                       "%s: safetensors header length %llu is beyond the file (%llu bytes) or "
                       "above the %llu-byte limit",
                       path, (unsigned long long)hlen, (unsigned long long)fsize,
                       (unsigned long long)KILN_ST_MAX_HEADER);
        kiln_tensors_close(t);
        return NULL;
    }
    t->data = base + 8 + hlen;
    t->data_len = (size_t)(fsize - 8 - hlen);

    json_error_t je;
    json_t *hdr = json_loadb((const char *)base + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!hdr) {
        kiln_error_set(err, KILN_EFORMAT,
                       "%s: safetensors header is not valid JSON (header byte %d): %s", path,
                       je.position, je.text);
        kiln_tensors_close(t);
        return NULL;
    }
    if (!json_is_object(hdr)) {
        kiln_error_set(err, KILN_EFORMAT, "%s: safetensors header must be a JSON object", path);
        json_decref(hdr);
        kiln_tensors_close(t);
        return NULL;
    }
    size_t n = json_object_size(hdr);
    t->entries = calloc(n ? n : 1, sizeof *t->entries);
    t->metadata = json_object();
    if (!t->entries || !t->metadata) {
        kiln_error_set(err, KILN_ENOMEM, "%s: out of memory", path);
        json_decref(hdr);
        kiln_tensors_close(t);
        return NULL;
    }
    int rc = 0;
    const char *key;
    json_t *val;
    json_object_foreach(hdr, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(val)) {
                rc = kiln_error_set(err, KILN_EFORMAT,
                                    "%s: safetensors header: __metadata__ must be an object of "
                                    "strings",
                                    path);
                break;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = kiln_error_set(err, KILN_EFORMAT,
                                        "%s: safetensors header: __metadata__['%s'] must be a "
                                        "string",
                                        path, mk);
                    break;
                }
                json_object_set(t->metadata, mk, mv);
            }
            if (rc) break;
            continue;
        }
        st_entry *e = &t->entries[t->count];
        rc = parse_entry(path, key, val, t->data_len, e, err);
        if (rc) break;
        e->name = strdup(key);
        if (!e->name) {
            rc = kiln_error_set(err, KILN_ENOMEM, "%s: out of memory", path);
            break;
        }
        t->count++;
    }
    json_decref(hdr);
    if (rc == 0) rc = check_layout(path, t, err);
    if (rc != 0) {
        kiln_tensors_close(t);
        return NULL;
    }
    return t;
}

/* Number of tensors (0 for NULL). */
int kiln_tensors_count(const kiln_tensors *t) {
    return t ? t->count : 0;
}

static void fill_tensor(const kiln_tensors *t, const st_entry *e, kiln_tensor *out) {
    memset(out, 0, sizeof *out);
    out->name = e->name;
    out->dtype = e->dtype;
    out->ndim = e->ndim;
    for (int i = 0; i < e->ndim; i++) out->shape[i] = e->shape[i];
    out->data = t->data + e->begin;
    out->nbytes = (size_t)(e->end - e->begin);
}

/* Tensor `index` in header order; KILN_ENOTFOUND for a bad index. */
int kiln_tensors_at(const kiln_tensors *t, int index, kiln_tensor *out) {
    if (!t || !out || index < 0 || index >= t->count) return KILN_ENOTFOUND;
    fill_tensor(t, &t->entries[index], out);
    return 0;
}

/* Binary search over the name-sorted index. */
int kiln_tensors_get(const kiln_tensors *t, const char *name, kiln_tensor *out) {
    if (!t || !name || !out) return KILN_ENOTFOUND;
    int lo = 0, hi = t->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const st_entry *e = &t->entries[t->by_name[mid]];
        int c = strcmp(name, e->name);
        if (c == 0) {
            fill_tensor(t, e, out);
            return 0;
        }
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return KILN_ENOTFOUND;
}

/* The metadata object (borrowed; empty when the file has none). */
const json_t *kiln_tensors_metadata(const kiln_tensors *t) {
    return t ? t->metadata : NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Writer                                                                                    */
/* ---------------------------------------------------------------------------------------- */

typedef struct wt_entry {
    char *name; /* owned */
    kiln_dtype dtype;
    int ndim;
    int64_t shape[KILN_TENSOR_MAX_DIMS];
    const void *data; /* owned copy unless `borrowed` */
    size_t nbytes;
    int borrowed;
} wt_entry;

struct kiln_tensors_writer {
    wt_entry *entries;
    size_t count, cap;
    json_t *metadata; /* owned: object of strings */
};

/* A new, empty writer; NULL on OOM. */
kiln_tensors_writer *kiln_tensors_writer_new(void) {
    kiln_tensors_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->metadata = json_object();
    if (!w->metadata) {
        free(w);
        return NULL;
    }
    return w;
}

/* Releases the writer, its copies of tensor data and its metadata. NULL is ignored. */
void kiln_tensors_writer_free(kiln_tensors_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->count; i++) {
        free(w->entries[i].name);
        if (!w->entries[i].borrowed) free((void *)w->entries[i].data);
    }
    free(w->entries);
    json_decref(w->metadata);
    free(w);
}

/* Validates name (non-empty, not "__metadata__", unique), dtype, ndim (0..8) and shape
 * (non-negative, size fits), then records the tensor, copying `data` unless `borrow`.
 * `data` may be NULL only for a tensor of 0 bytes. */
int kiln_tensors_writer_add(kiln_tensors_writer *w, const char *name, kiln_dtype dtype, int ndim,
                            const int64_t *shape, const void *data, int borrow, kiln_error *err) {
    if (!w) return kiln_error_set(err, KILN_EINVAL, "safetensors writer: NULL writer");
    if (!name || !*name)
        return kiln_error_set(err, KILN_EINVAL, "safetensors writer: tensor name is empty");
    if (strcmp(name, "__metadata__") == 0)
        return kiln_error_set(err, KILN_EINVAL,
                              "safetensors writer: '__metadata__' is reserved, not a tensor name");
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->entries[i].name, name) == 0)
            return kiln_error_set(err, KILN_EINVAL,
                                  "safetensors writer: duplicate tensor name '%s'", name);
    if (!kiln_dtype_name(dtype))
        return kiln_error_set(err, KILN_EINVAL, "safetensors writer: tensor '%s': unknown dtype %d",
                              name, (int)dtype);
    if (ndim < 0 || ndim > KILN_TENSOR_MAX_DIMS || (ndim > 0 && !shape))
        return kiln_error_set(err, KILN_EINVAL,
                              "safetensors writer: tensor '%s': ndim %d (expected 0..%d with a "
                              "shape)",
                              name, ndim, KILN_TENSOR_MAX_DIMS);
    uint64_t nbytes;
    if (tensor_nbytes(dtype, ndim, shape, &nbytes) != 0)
        return kiln_error_set(err, KILN_EINVAL,
                              "safetensors writer: tensor '%s': shape has a negative or too large "
                              "dimension",
                              name);
    if (nbytes > 0 && !data)
        return kiln_error_set(err, KILN_EINVAL, "safetensors writer: tensor '%s': no data", name);
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        wt_entry *ne = realloc(w->entries, cap * sizeof *ne);
        if (!ne) return kiln_error_set(err, KILN_ENOMEM, "safetensors writer: out of memory");
        w->entries = ne;
        w->cap = cap;
    }
    wt_entry e;
    memset(&e, 0, sizeof e);
    e.name = strdup(name);
    if (!e.name) return kiln_error_set(err, KILN_ENOMEM, "safetensors writer: out of memory");
    e.dtype = dtype;
    e.ndim = ndim;
    for (int i = 0; i < ndim; i++) e.shape[i] = shape[i];
    e.nbytes = (size_t)nbytes;
    if (borrow || nbytes == 0) {
        e.data = nbytes ? data : NULL;
        e.borrowed = 1;
    } else {
        void *copy = malloc(e.nbytes);
        if (!copy) {
            free(e.name);
            return kiln_error_set(err, KILN_ENOMEM,
                                  "safetensors writer: tensor '%s': out of memory copying %zu "
                                  "bytes",
                                  name, e.nbytes);
        }
        memcpy(copy, data, e.nbytes);
        e.data = copy;
    }
    w->entries[w->count++] = e;
    return 0;
}

/* Sets metadata[key] = value (replacing). Returns 0, KILN_EINVAL (NULL argument) or
 * KILN_ENOMEM. */
int kiln_tensors_writer_set_meta(kiln_tensors_writer *w, const char *key, const char *value) {
    if (!w || !key || !value) return KILN_EINVAL;
    json_t *s = json_string(value);
    if (!s) return KILN_EINVAL; /* not valid UTF-8 */
    if (json_object_set_new(w->metadata, key, s) != 0) return KILN_ENOMEM;
    return 0;
}

/* Layout order of the reference writer: larger elements first, then by name. With the
 * header padded to a multiple of 8, every tensor's data is then aligned to its element size,
 * so readers may cast the mapped pointer (float *, int64_t *) directly. */
static int cmp_wt_name(const void *a, const void *b) {
    const wt_entry *x = a, *y = b;
    size_t sx = kiln_dtype_size(x->dtype), sy = kiln_dtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Lays the tensors out (larger elements first, then name order), builds the header (keys sorted, compact, padded with
 * spaces to a multiple of 8 bytes as the reference writer does; "__metadata__" only when
 * some metadata was set), and streams header + data into a temporary file beside `path`,
 * which is fsynced and renamed over `path` (then the directory is fsynced). The same
 * tensors and metadata always give the same bytes. On failure nothing appears at `path`. */
int kiln_tensors_writer_finish(kiln_tensors_writer *w, const char *path, kiln_error *err) {
    if (!w) return kiln_error_set(err, KILN_EINVAL, "%s: NULL safetensors writer", path);
    if (w->count > 1) qsort(w->entries, w->count, sizeof *w->entries, cmp_wt_name);
    json_t *hdr = json_object();
    if (!hdr) return kiln_error_set(err, KILN_ENOMEM, "%s: out of memory", path);
    uint64_t pos = 0;
    for (size_t i = 0; i < w->count; i++) {
        const wt_entry *e = &w->entries[i];
        json_t *shape = json_array();
        for (int d = 0; d < e->ndim; d++) json_array_append_new(shape, json_integer(e->shape[d]));
        json_t *info = json_pack("{s:s, s:o, s:[I,I]}", "dtype", kiln_dtype_name(e->dtype),
                                 "shape", shape, "data_offsets", (json_int_t)pos,
                                 (json_int_t)(pos + e->nbytes));
        if (!info || json_object_set_new(hdr, e->name, info) != 0) {
            json_decref(hdr);
            return kiln_error_set(err, KILN_EINVAL,
                                  "%s: cannot build the header entry for tensor '%s' (name not "
                                  "UTF-8?)",
                                  path, e->name);
        }
        pos += e->nbytes;
    }
    if (json_object_size(w->metadata) > 0)
        json_object_set(hdr, "__metadata__", w->metadata);
    char *text = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(hdr);
    if (!text) return kiln_error_set(err, KILN_ENOMEM, "%s: cannot serialise the header", path);
    size_t tlen = strlen(text);
    size_t hlen = (tlen + 7) / 8 * 8;
    unsigned char *head = malloc(8 + hlen);
    if (!head) {
        free(text);
        return kiln_error_set(err, KILN_ENOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < 8; i++) head[i] = (unsigned char)(((uint64_t)hlen >> (8 * i)) & 0xff);
    memcpy(head + 8, text, tlen);
    memset(head + 8 + tlen, ' ', hlen - tlen);
    free(text);

    char *tmp = NULL;
    int fd = kiln_open_temp_beside(path, &tmp, err);
    if (fd < 0) {
        free(head);
        return KILN_EIO;
    }
    int rc = 0;
    if (kiln_write_all(fd, head, 8 + hlen) != 0)
        rc = kiln_error_set(err, KILN_EIO, "%s: write failed: %s", tmp, strerror(errno));
    for (size_t i = 0; rc == 0 && i < w->count; i++)
        if (w->entries[i].nbytes && kiln_write_all(fd, w->entries[i].data, w->entries[i].nbytes) != 0)
            rc = kiln_error_set(err, KILN_EIO, "%s: write failed: %s", tmp, strerror(errno));
    free(head);
    if (rc != 0) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return rc;
    }
    return kiln_commit_temp(fd, tmp, path, err); /* fsync, rename, fsync the directory */
}
