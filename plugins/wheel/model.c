/* model.c -- validate a model artifact's kiln.arch against its tensors (see model.h). */
#include "model.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_RANK 3

static int fail(kiln_error *err, int code, const char *fmt, ...) KILN_PRINTF(3, 4);
static int fail(kiln_error *err, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

/* A metadata value that holds JSON text, parsed (new reference), or NULL when absent. */
static json_t *meta_json(const json_t *meta, const char *key, const char *path, kiln_error *err, int *bad) {
    const char *text = json_string_value(json_object_get(meta, key));
    if (!text) return NULL;
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) {
        fail(err, KILN_EFORMAT, "model %s: metadata %s is not JSON (%s at line %d)", path, key, je.text, je.line);
        *bad = 1;
    }
    return v;
}

/* An int or a pair [a, b] (kernel, stride, padding); `dflt` when absent. */
static int int_pair(const json_t *layer, const char *key, int64_t dflt, int64_t out[2], int64_t min) {
    const json_t *v = json_object_get(layer, key);
    if (!v) {
        out[0] = out[1] = dflt;
    } else if (json_is_integer(v)) {
        out[0] = out[1] = json_integer_value(v);
    } else if (json_is_array(v) && json_array_size(v) == 2 && json_is_integer(json_array_get(v, 0)) &&
               json_is_integer(json_array_get(v, 1))) {
        out[0] = json_integer_value(json_array_get(v, 0));
        out[1] = json_integer_value(json_array_get(v, 1));
    } else {
        return -1;
    }
    return (out[0] >= min && out[1] >= min && out[0] <= 65536 && out[1] <= 65536) ? 0 : -1;
}

/* Checks tensor `name` exists as F32 with the given shape. */
static int want_tensor(const kiln_host_api *h, const kiln_tensors *t, const char *path, int layer, const char *name,
                       int ndim, const int64_t *shape, int64_t *params, kiln_error *err) {
    kiln_tensor tn;
    char want[160] = "", have[160] = "";
    size_t u = 0;
    for (int i = 0; i < ndim; i++) u += (size_t)snprintf(want + u, sizeof want - u, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (h->tensors_get(t, name, &tn) != 0)
        return fail(err, KILN_EFORMAT, "model %s: layer %d needs tensor '%s' (F32 [%s]), which is missing", path, layer,
                    name, want);
    int same = tn.ndim == ndim && tn.dtype == KILN_DTYPE_F32;
    for (int i = 0; same && i < ndim; i++) same = tn.shape[i] == shape[i];
    if (!same) {
        u = 0;
        for (int i = 0; i < tn.ndim && u < sizeof have; i++)
            u += (size_t)snprintf(have + u, sizeof have - u, "%s%" PRId64, i ? ", " : "", tn.shape[i]);
        return fail(err, KILN_EFORMAT, "model %s: layer %d: tensor '%s' should be F32 [%s], it is %s [%s]", path, layer,
                    name, want, tn.dtype == KILN_DTYPE_F32 ? "F32" : "not F32", have);
    }
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    *params += n;
    return 0;
}

static void shape_text(const int64_t *s, int rank, char *buf, size_t len) {
    size_t u = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && u < len; i++) u += (size_t)snprintf(buf + u, len - u, "%s%" PRId64, i ? ", " : "", s[i]);
    if (u < len) snprintf(buf + u, len - u, "]");
}

/* Walks the layers, checking tensors and shapes. Appends one description per layer. */
static int walk_layers(const kiln_host_api *h, const kiln_tensors *t, const char *path, const json_t *arch, json_t *descr,
                       int64_t *params, kiln_error *err) {
    const json_t *in = json_object_get(arch, "input_shape");
    const json_t *layers = json_object_get(arch, "layers");
    const json_t *nc = json_object_get(arch, "num_classes");
    int64_t s[MAX_RANK];
    int rank = (int)json_array_size(in);
    if (!json_is_array(in) || rank < 1 || rank > MAX_RANK)
        return fail(err, KILN_EFORMAT, "model %s: kiln.arch input_shape must be an array of 1 to 3 positive integers", path);
    for (int i = 0; i < rank; i++) {
        const json_t *d = json_array_get(in, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > (1 << 24))
            return fail(err, KILN_EFORMAT, "model %s: kiln.arch input_shape[%d] must be a positive integer", path, i);
        s[i] = json_integer_value(d);
    }
    if (!json_is_integer(nc) || json_integer_value(nc) < 1)
        return fail(err, KILN_EFORMAT, "model %s: kiln.arch num_classes must be an integer >= 1", path);
    if (!json_is_array(layers) || json_array_size(layers) == 0)
        return fail(err, KILN_EFORMAT, "model %s: kiln.arch layers must be a non-empty array", path);
    size_t i;
    const json_t *layer;
    json_array_foreach(layers, i, layer) {
        const char *type = json_string_value(json_object_get(layer, "type"));
        char name_w[32], name_b[32], line[256], sh[96];
        int li = (int)i;
        snprintf(name_w, sizeof name_w, "%d.weight", li);
        snprintf(name_b, sizeof name_b, "%d.bias", li);
        if (!type) return fail(err, KILN_EFORMAT, "model %s: kiln.arch layer %d has no \"type\"", path, li);
        if (strcmp(type, "linear") == 0) {
            const json_t *jin = json_object_get(layer, "in"), *jout = json_object_get(layer, "out");
            if (!json_is_integer(jin) || !json_is_integer(jout) || json_integer_value(jin) < 1 || json_integer_value(jout) < 1)
                return fail(err, KILN_EFORMAT, "model %s: linear layer %d needs positive integers \"in\" and \"out\"", path, li);
            int64_t fin = json_integer_value(jin), fout = json_integer_value(jout);
            if (rank != 1 || s[0] != fin) {
                shape_text(s, rank, sh, sizeof sh);
                return fail(err, KILN_EFORMAT,
                            "model %s: linear layer %d expects %" PRId64 " input features, but the layer before gives %s%s",
                            path, li, fin, sh, rank != 1 ? " (add a flatten layer)" : "");
            }
            int64_t ws[2] = {fout, fin}, bs[1] = {fout};
            if (want_tensor(h, t, path, li, name_w, 2, ws, params, err) || want_tensor(h, t, path, li, name_b, 1, bs, params, err))
                return err->code;
            s[0] = fout;
            snprintf(line, sizeof line, "linear %" PRId64 "->%" PRId64, fin, fout);
        } else if (strcmp(type, "conv2d") == 0) {
            const json_t *ic = json_object_get(layer, "in_channels"), *oc = json_object_get(layer, "out_channels");
            int64_t k[2], st[2], pad[2];
            if (!json_is_integer(ic) || !json_is_integer(oc) || json_integer_value(ic) < 1 || json_integer_value(oc) < 1 ||
                int_pair(layer, "kernel", 0, k, 1) || int_pair(layer, "stride", 1, st, 1) || int_pair(layer, "padding", 0, pad, 0))
                return fail(err, KILN_EFORMAT,
                            "model %s: conv2d layer %d needs positive in_channels, out_channels, kernel (and optional "
                            "stride >= 1, padding >= 0; integers or [h, w] pairs)", path, li);
            int64_t cin = json_integer_value(ic), cout = json_integer_value(oc);
            if (rank != 3 || s[0] != cin) {
                shape_text(s, rank, sh, sizeof sh);
                return fail(err, KILN_EFORMAT, "model %s: conv2d layer %d expects [%" PRId64 ", H, W] inputs, the layer before gives %s",
                            path, li, cin, sh);
            }
            int64_t oh = (s[1] + 2 * pad[0] - k[0]) / st[0] + 1, ow = (s[2] + 2 * pad[1] - k[1]) / st[1] + 1;
            if (s[1] + 2 * pad[0] < k[0] || s[2] + 2 * pad[1] < k[1])
                return fail(err, KILN_EFORMAT, "model %s: conv2d layer %d: kernel %" PRId64 "x%" PRId64 " is larger than its %" PRId64 "x%" PRId64 " input",
                            path, li, k[0], k[1], s[1] + 2 * pad[0], s[2] + 2 * pad[1]);
            int64_t ws[4] = {cout, cin, k[0], k[1]}, bs[1] = {cout};
            if (want_tensor(h, t, path, li, name_w, 4, ws, params, err) || want_tensor(h, t, path, li, name_b, 1, bs, params, err))
                return err->code;
            s[0] = cout;
            s[1] = oh;
            s[2] = ow;
            snprintf(line, sizeof line, "conv2d %" PRId64 "->%" PRId64 " k%" PRId64 "x%" PRId64 " s%" PRId64 " p%" PRId64, cin, cout,
                     k[0], k[1], st[0], pad[0]);
        } else if (strcmp(type, "maxpool2d") == 0) {
            int64_t k[2], st[2], pad[2];
            if (int_pair(layer, "kernel", 0, k, 1))
                return fail(err, KILN_EFORMAT, "model %s: maxpool2d layer %d needs a positive kernel", path, li);
            if (int_pair(layer, "stride", k[0], st, 1) || int_pair(layer, "padding", 0, pad, 0))
                return fail(err, KILN_EFORMAT, "model %s: maxpool2d layer %d: bad stride or padding", path, li);
            if (!json_object_get(layer, "stride")) st[1] = k[1];
            if (rank != 3) {
                shape_text(s, rank, sh, sizeof sh);
                return fail(err, KILN_EFORMAT, "model %s: maxpool2d layer %d expects [C, H, W] inputs, the layer before gives %s",
                            path, li, sh);
            }
            if (s[1] + 2 * pad[0] < k[0] || s[2] + 2 * pad[1] < k[1] || 2 * pad[0] > k[0] || 2 * pad[1] > k[1])
                return fail(err, KILN_EFORMAT, "model %s: maxpool2d layer %d: kernel %" PRId64 "x%" PRId64 " does not fit its input",
                            path, li, k[0], k[1]);
            s[1] = (s[1] + 2 * pad[0] - k[0]) / st[0] + 1;
            s[2] = (s[2] + 2 * pad[1] - k[1]) / st[1] + 1;
            snprintf(line, sizeof line, "maxpool2d k%" PRId64 "x%" PRId64 " s%" PRId64, k[0], k[1], st[0]);
        } else if (strcmp(type, "relu") == 0) {
            snprintf(line, sizeof line, "relu");
        } else if (strcmp(type, "flatten") == 0) {
            int64_t n = 1;
            for (int d = 0; d < rank; d++) n *= s[d];
            s[0] = n;
            rank = 1;
            snprintf(line, sizeof line, "flatten");
        } else {
            return fail(err, KILN_EFORMAT,
                        "model %s: kiln.arch layer %d has type '%s'; the wheel's Python module runs linear, conv2d, relu, "
                        "maxpool2d and flatten", path, li, type);
        }
        shape_text(s, rank, sh, sizeof sh);
        char full[384];
        snprintf(full, sizeof full, "%s -> %s", line, sh);
        json_array_append_new(descr, json_string(full));
    }
    if (rank != 1 || s[0] != json_integer_value(nc)) {
        char sh[96];
        shape_text(s, rank, sh, sizeof sh);
        return fail(err, KILN_EFORMAT, "model %s: the last layer gives %s, but num_classes is %" PRId64 " (logits expected)",
                    path, sh, (int64_t)json_integer_value(nc));
    }
    return 0;
}

int kiln_wheel_model_inspect(const kiln_host_api *h, const char *path, json_t **out, kiln_error *err) {
    *out = NULL;
    kiln_tensors *t = h->tensors_open(path, err);
    if (!t) return err->code ? err->code : KILN_EFORMAT;
    const json_t *meta = h->tensors_metadata(t);
    int bad = 0, rc = 0;
    json_t *arch = meta_json(meta, "kiln.arch", path, err, &bad);
    json_t *training = bad ? NULL : meta_json(meta, "kiln.training", path, err, &bad);
    json_t *classes = bad ? NULL : meta_json(meta, "kiln.classes", path, err, &bad);
    json_t *normalize = bad ? NULL : meta_json(meta, "kiln.normalize", path, err, &bad);
    json_t *descr = json_array();
    int64_t params = 0;
    if (bad) {
        rc = KILN_EFORMAT;
    } else if (!arch) {
        rc = fail(err, KILN_EFORMAT, "model %s has no kiln.arch metadata (is it a kiln model artifact?)", path);
    } else if (!json_is_object(arch)) {
        rc = fail(err, KILN_EFORMAT, "model %s: kiln.arch is not a JSON object", path);
    } else if (classes && (!json_is_array(classes) ||
                           json_array_size(classes) != (size_t)json_integer_value(json_object_get(arch, "num_classes")))) {
        rc = fail(err, KILN_EFORMAT, "model %s: kiln.classes must be an array of num_classes names", path);
    } else if (!descr) {
        rc = fail(err, KILN_ENOMEM, "out of memory");
    } else {
        rc = walk_layers(h, t, path, arch, descr, &params, err);
    }
    if (rc == 0) {
        *out = json_pack("{s:O, s:O, s:O, s:I, s:o, s:o, s:o, s:o, s:o}", "arch", arch, "input_shape",
                         json_object_get(arch, "input_shape"), "num_classes", json_object_get(arch, "num_classes"),
                         "parameters", (json_int_t)params, "layers", descr, "classes", classes ? classes : json_null(),
                         "normalize", normalize ? normalize : json_null(), "training", training ? training : json_null(),
                         "tensors", json_integer(h->tensors_count(t)));
        descr = classes = normalize = training = NULL; /* stolen by json_pack ("o") */
        if (!*out) rc = fail(err, KILN_ENOMEM, "out of memory");
    }
    json_decref(arch);
    json_decref(training);
    json_decref(classes);
    json_decref(normalize);
    json_decref(descr);
    h->tensors_close(t);
    return rc;
}
