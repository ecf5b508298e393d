/* artifact.c -- datasets in, models out and in; see artifact.h. */
#include "artifact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int kiln_cpu_dataset_open(const kiln_host_api *h, const char *path, const char *what,
                          kiln_cpu_dataset *ds, kiln_error *err) {
    kiln_tensor x, y;
    int rc;
    memset(ds, 0, sizeof *ds);
    if (!path)
        return kiln_cpu_err(err, KILN_ENOTFOUND, "%s: not wired", what);
    ds->t = h->tensors_open(path, err);
    if (!ds->t)
        return err && err->code ? err->code : KILN_EIO;
    ds->meta = h->tensors_metadata(ds->t);
    if (h->tensors_get(ds->t, "x", &x) != 0 || h->tensors_get(ds->t, "y", &y) != 0) {
        kiln_cpu_dataset_close(h, ds);
        return kiln_cpu_err(err, KILN_EFORMAT,
                            "%s: %s is not a dataset: expected tensors x and y (docs/artifacts.md)",
                            what, path);
    }
    rc = kiln_cpu_data_init(&ds->d, &x, &y, ds->meta, what, err);
    if (!rc)
        rc = kiln_cpu_input_shape(ds->d.sample_shape, ds->d.sample_ndim, what, &ds->in_ndim,
                                  ds->in_shape, err);
    if (rc)
        kiln_cpu_dataset_close(h, ds);
    return rc;
}

void kiln_cpu_dataset_close(const kiln_host_api *h, kiln_cpu_dataset *ds) {
    if (ds->t)
        h->tensors_close(ds->t);
    memset(ds, 0, sizeof *ds);
}

static void shape_str(char *buf, size_t cap, int nd, const int64_t *s) {
    size_t len = 0;
    len += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < nd && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)s[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
}

int kiln_cpu_dataset_fits(const kiln_cpu_dataset *ds, const kiln_cpu_arch *arch, const char *what,
                          kiln_error *err) {
    int same = ds->in_ndim == arch->in_ndim;
    for (int i = 0; same && i < arch->in_ndim; i++)
        same = ds->in_shape[i] == arch->in_shape[i];
    /* A model that starts with Flatten takes any sample shape with its feature count. */
    if (!same && arch->nlayers > 0 && arch->layers[0].type == KILN_CPU_FLATTEN)
        same = ds->d.features ==
               arch->in_shape[0] * (arch->in_ndim == 3 ? arch->in_shape[1] * arch->in_shape[2] : 1);
    if (!same) {
        char a[128], b[128];
        shape_str(a, sizeof a, ds->d.sample_ndim, ds->d.sample_shape);
        shape_str(b, sizeof b, arch->in_ndim, arch->in_shape);
        return kiln_cpu_err(err, KILN_EINVAL,
                            "%s: samples of shape %s do not fit the model, whose input shape is %s",
                            what, a, b);
    }
    return 0;
}

/* Sets metadata `key` to the compact, key-sorted JSON text of `v`. */
static int set_json_meta(const kiln_host_api *h, kiln_tensors_writer *w, const char *key,
                         const json_t *v, kiln_error *err) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    int rc;
    if (!s)
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    rc = h->tensors_writer_set_meta(w, key, s);
    free(s);
    return rc ? kiln_cpu_err(err, rc, "model metadata %s: cannot set", key) : 0;
}

int kiln_cpu_model_write(const kiln_host_api *h, const char *path, kiln_cpu_net *net,
                         const json_t *training, const json_t *data_meta, kiln_error *err) {
    kiln_tensors_writer *w = h->tensors_writer_new();
    json_t *arch = NULL;
    int rc = 0;
    if (!w)
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < kiln_cpu_net_nparams(net); i++) {
        int64_t shape[4], n = kiln_cpu_net_param_count(net, i);
        int nd = kiln_cpu_net_param_shape(net, i, shape);
        float *buf = malloc((size_t)n * sizeof *buf);
        if (!buf) {
            rc = kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
            break;
        }
        rc = kiln_cpu_net_get(net, i, KILN_CPU_VALUE, buf, err);
        if (!rc)
            rc = h->tensors_writer_add(w, kiln_cpu_net_param_name(net, i), KILN_DTYPE_F32, nd, shape,
                                       buf, 0, err);
        free(buf);
    }
    if (!rc && h->tensors_writer_set_meta(w, "format", "pt"))
        rc = kiln_cpu_err(err, KILN_ENOMEM, "model metadata: cannot set format");
    if (!rc) {
        arch = kiln_cpu_arch_to_json(kiln_cpu_net_arch(net));
        rc = arch ? set_json_meta(h, w, "kiln.arch", arch, err) : kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    }
    if (!rc && training)
        rc = set_json_meta(h, w, "kiln.training", training, err);
    static const char *const copied[] = {"kiln.classes", "kiln.normalize"};
    for (size_t k = 0; !rc && data_meta && k < sizeof copied / sizeof *copied; k++) {
        const char *v = json_string_value(json_object_get(data_meta, copied[k]));
        if (v && h->tensors_writer_set_meta(w, copied[k], v))
            rc = kiln_cpu_err(err, KILN_ENOMEM, "model metadata %s: cannot set", copied[k]);
    }
    if (!rc)
        rc = h->tensors_writer_finish(w, path, err);
    h->tensors_writer_free(w);
    json_decref(arch);
    return rc;
}

int kiln_cpu_model_load(const kiln_host_api *h, const char *path, int batch, unsigned flags,
                        kiln_cpu_net **net_out, json_t **meta_out, kiln_error *err) {
    kiln_tensors *t = h->tensors_open(path, err);
    kiln_cpu_arch arch = {0};
    kiln_cpu_net *net = NULL;
    json_t *aj = NULL;
    json_error_t jerr;
    int rc = 0;
    *net_out = NULL;
    if (meta_out)
        *meta_out = NULL;
    if (!t)
        return err && err->code ? err->code : KILN_EIO;
    const json_t *meta = h->tensors_metadata(t);
    const char *as = json_string_value(json_object_get(meta, "kiln.arch"));
    if (!as) {
        rc = kiln_cpu_err(err, KILN_EFORMAT,
                          "model %s: no kiln.arch in its metadata (not a kiln model? see "
                          "docs/artifacts.md)",
                          path);
        goto out;
    }
    aj = json_loads(as, 0, &jerr);
    if (!aj) {
        rc = kiln_cpu_err(err, KILN_EFORMAT, "model %s: kiln.arch is not JSON: %s", path, jerr.text);
        goto out;
    }
    rc = kiln_cpu_arch_from_json(aj, &arch, err);
    if (rc) {
        char msg[KILN_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->message : "");
        rc = kiln_cpu_err(err, rc, "model %s: %s", path, msg);
        goto out;
    }
    rc = kiln_cpu_net_new(&arch, batch, flags, 0, &net, err);
    if (rc)
        goto out;
    for (int i = 0; !rc && i < kiln_cpu_net_nparams(net); i++) {
        const char *name = kiln_cpu_net_param_name(net, i);
        int64_t shape[4];
        int nd = kiln_cpu_net_param_shape(net, i, shape);
        kiln_tensor tv;
        if (h->tensors_get(t, name, &tv) != 0) {
            rc = kiln_cpu_err(err, KILN_EFORMAT, "model %s: tensor %s is missing", path, name);
            break;
        }
        int ok = tv.dtype == KILN_DTYPE_F32 && tv.ndim == nd;
        for (int d = 0; ok && d < nd; d++)
            ok = tv.shape[d] == shape[d];
        if (!ok) {
            char a[128], b[128];
            shape_str(a, sizeof a, tv.ndim, tv.shape);
            shape_str(b, sizeof b, nd, shape);
            rc = kiln_cpu_err(err, KILN_EFORMAT,
                              "model %s: tensor %s has shape %s (dtype code %d), expected F32 %s "
                              "from kiln.arch",
                              path, name, a, (int)tv.dtype, b);
            break;
        }
        rc = kiln_cpu_net_set(net, i, KILN_CPU_VALUE, tv.data, err);
    }
    if (!rc && meta_out)
        *meta_out = json_deep_copy(meta);
out:
    if (rc) {
        kiln_cpu_net_free(net);
        net = NULL;
    }
    *net_out = net;
    json_decref(aj);
    kiln_cpu_arch_clear(&arch);
    h->tensors_close(t);
    return rc;
}

int kiln_cpu_forward_all(kiln_cpu_net *net, const kiln_cpu_data *d, int batch, kiln_cpu_chunk_fn fn,
                         void *ud, int (*cancelled)(void *), void *cancel_ud, kiln_error *err) {
    int64_t *labels = malloc((size_t)batch * sizeof *labels);
    int rc = 0;
    if (!labels)
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    for (int64_t start = 0; start < d->n && !rc; start += batch) {
        int n = (int)(d->n - start < batch ? d->n - start : batch);
        const float *logits;
        if (cancelled && cancelled(cancel_ud)) {
            rc = kiln_cpu_err(err, KILN_ECANCELLED, "cancelled");
            break;
        }
        float *x = kiln_cpu_net_input(net, n, err);
        if (!x) {
            rc = err && err->code ? err->code : KILN_EINTERNAL;
            break;
        }
        kiln_cpu_data_gather(d, NULL, start, n, x, labels);
        rc = kiln_cpu_net_forward(net, n, &logits, err);
        if (!rc)
            rc = fn(ud, logits, labels, start, n);
    }
    free(labels);
    return rc;
}
