/* artifact.c -- reading and writing dataset artifacts through the host (see artifact.h). */
#include "artifact.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"

static const char *dtype_name(kiln_dtype d) {
    switch (d) {
    case KILN_DTYPE_F32: return "F32";
    case KILN_DTYPE_F64: return "F64";
    case KILN_DTYPE_U8: return "U8";
    case KILN_DTYPE_I32: return "I32";
    case KILN_DTYPE_I64: return "I64";
    case KILN_DTYPE_F16: return "F16";
    case KILN_DTYPE_BF16: return "BF16";
    case KILN_DTYPE_I8: return "I8";
    case KILN_DTYPE_BOOL: return "BOOL";
    }
    return "?";
}

int kiln_data_view_open(const kiln_host_api *h, const char *path, const char *what,
                        kiln_data_view *v, kiln_error *err) {
    kiln_error e = {0};
    memset(v, 0, sizeof *v);
    if (!path)
        return kiln_data_error(err, KILN_ENOTFOUND, "%s: not wired", what);
    v->t = h->tensors_open(path, &e);
    if (!v->t)
        return kiln_data_error(err, e.code ? e.code : KILN_EFORMAT, "%s: %s", what,
                               e.code ? e.message : "cannot open the dataset");
    if (h->tensors_get(v->t, "x", &v->x) != 0 || h->tensors_get(v->t, "y", &v->y) != 0) {
        kiln_data_view_close(h, v);
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s (%s): not a dataset: it needs tensors 'x' and 'y'", what, path);
    }
    if ((v->x.dtype != KILN_DTYPE_U8 && v->x.dtype != KILN_DTYPE_F32) || v->x.ndim < 1) {
        int rc = kiln_data_error(err, KILN_EFORMAT,
                                 "%s (%s): x is %s with %d dimensions; a dataset's x is uint8 or "
                                 "float32 [N, ...]",
                                 what, path, dtype_name(v->x.dtype), v->x.ndim);
        kiln_data_view_close(h, v);
        return rc;
    }
    if (v->y.dtype != KILN_DTYPE_I64 || v->y.ndim != 1 || v->y.shape[0] != v->x.shape[0] ||
        v->x.shape[0] < 1) {
        int rc = kiln_data_error(err, KILN_EFORMAT,
                                 "%s (%s): y is %s with %d dimensions (%" PRId64
                                 " entries) for %" PRId64 " samples of x; a dataset's y is "
                                 "int64 [N], N >= 1",
                                 what, path, dtype_name(v->y.dtype), v->y.ndim,
                                 v->y.ndim ? v->y.shape[0] : 0, v->x.shape[0]);
        kiln_data_view_close(h, v);
        return rc;
    }
    v->n = v->x.shape[0];
    v->features = 1;
    for (int i = 1; i < v->x.ndim; i++)
        v->features *= v->x.shape[i];
    v->row_bytes = (size_t)v->features * kiln_dtype_size(v->x.dtype);
    v->meta = h->tensors_metadata(v->t);
    if ((uintptr_t)v->x.data % kiln_dtype_size(v->x.dtype) != 0) {
        v->x_copy = kiln_data_alloc_large(v->x.nbytes);
        if (!v->x_copy) {
            kiln_data_view_close(h, v);
            return kiln_data_error(err, KILN_ENOMEM, "%s: out of memory", what);
        }
        memcpy(v->x_copy, v->x.data, v->x.nbytes);
        v->x.data = v->x_copy;
    }
    if ((uintptr_t)v->y.data % sizeof(int64_t) != 0) {
        v->y_copy = malloc(v->y.nbytes ? v->y.nbytes : 1);
        if (!v->y_copy) {
            kiln_data_view_close(h, v);
            return kiln_data_error(err, KILN_ENOMEM, "%s: out of memory", what);
        }
        memcpy(v->y_copy, v->y.data, v->y.nbytes);
        v->y.data = v->y_copy;
    }
    return 0;
}

void kiln_data_view_close(const kiln_host_api *h, kiln_data_view *v) {
    if (v->t)
        h->tensors_close(v->t);
    free(v->x_copy);
    free(v->y_copy);
    memset(v, 0, sizeof *v);
}

int kiln_data_write(const kiln_host_api *h, const char *path, kiln_dtype dtype, int ndim,
                    const int64_t *shape, const void *x, const int64_t *y, const json_t *meta,
                    kiln_error *err) {
    kiln_error e = {0};
    kiln_tensors_writer *w;
    int64_t yshape[1] = {shape[0]};
    int rc;
    if (!path)
        return kiln_data_error(err, KILN_EINTERNAL, "no output path for the dataset");
    w = h->tensors_writer_new();
    if (!w)
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    rc = h->tensors_writer_add(w, "x", dtype, ndim, shape, x, 1, &e);
    if (rc == 0)
        rc = h->tensors_writer_add(w, "y", KILN_DTYPE_I64, 1, yshape, y, 1, &e);
    if (rc == 0 && meta) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)meta, key, val) {
            if (!json_is_string(val))
                continue;
            rc = h->tensors_writer_set_meta(w, key, json_string_value(val));
            if (rc) {
                kiln_data_error(&e, rc, "cannot set metadata '%s'", key);
                break;
            }
        }
    }
    if (rc == 0)
        rc = h->tensors_writer_finish(w, path, &e);
    h->tensors_writer_free(w);
    if (rc)
        return kiln_data_error(err, rc, "writing the dataset: %s",
                               e.code ? e.message : "the writer failed");
    return 0;
}

int kiln_data_write_set(const kiln_host_api *h, const char *path, const kiln_data_set *s,
                        kiln_error *err) {
    json_t *meta = kiln_data_set_metadata(s);
    int rc;
    if (!meta)
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    rc = kiln_data_write(h, path, s->x_dtype, s->x_ndim, s->x_shape, s->x, s->y, meta, err);
    json_decref(meta);
    return rc;
}

int kiln_data_write_rows(const kiln_host_api *h, const char *path, const kiln_data_view *v,
                         const int64_t *idx, int64_t k, const json_t *meta, kiln_error *err) {
    int64_t shape[KILN_TENSOR_MAX_DIMS];
    size_t xbytes;
    void *x;
    int64_t *y;
    int rc;
    if (kiln_data_mul_size((size_t)k, v->row_bytes, &xbytes))
        return kiln_data_error(err, KILN_ENOMEM, "output too large");
    x = kiln_data_alloc_large(xbytes);
    y = malloc((size_t)(k > 0 ? k : 1) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return kiln_data_error(err, KILN_ENOMEM, "out of memory for %" PRId64 " samples", k);
    }
    kiln_data_take(v->x.data, v->row_bytes, v->y.data, idx, k, x, y);
    memcpy(shape, v->x.shape, sizeof shape);
    shape[0] = k;
    rc = kiln_data_write(h, path, v->x.dtype, v->x.ndim, shape, x, y, meta, err);
    free(x);
    free(y);
    return rc;
}
