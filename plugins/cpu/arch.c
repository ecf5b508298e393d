/* arch.c -- architectures: from params, from/to kiln.arch JSON, shape inference; see arch.h. */
#include "arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char *type_name(kiln_cpu_layer_type t) {
    switch (t) {
    case KILN_CPU_LINEAR: return "linear";
    case KILN_CPU_CONV2D: return "conv2d";
    case KILN_CPU_RELU: return "relu";
    case KILN_CPU_MAXPOOL2D: return "maxpool2d";
    case KILN_CPU_FLATTEN: return "flatten";
    }
    return "?";
}

void kiln_cpu_arch_clear(kiln_cpu_arch *arch) {
    if (!arch)
        return;
    free(arch->layers);
    memset(arch, 0, sizeof *arch);
}

int kiln_cpu_input_shape(const int64_t *sample_shape, int sample_ndim, const char *what,
                         int *out_ndim, int64_t out_shape[3], kiln_error *err) {
    for (int i = 0; i < sample_ndim; i++)
        if (sample_shape[i] < 1)
            return kiln_cpu_err(err, KILN_EINVAL, "%s: dimension %d of a sample is %lld, expected >= 1",
                                what, i + 1, (long long)sample_shape[i]);
    switch (sample_ndim) {
    case 1:
        *out_ndim = 1;
        out_shape[0] = sample_shape[0];
        out_shape[1] = out_shape[2] = 1;
        return 0;
    case 2:
        *out_ndim = 3;
        out_shape[0] = 1;
        out_shape[1] = sample_shape[0];
        out_shape[2] = sample_shape[1];
        return 0;
    case 3:
        *out_ndim = 3;
        memcpy(out_shape, sample_shape, 3 * sizeof *out_shape);
        return 0;
    default:
        return kiln_cpu_err(err, KILN_EINVAL,
                            "%s: samples have %d dimensions, expected x of shape [N, F], [N, H, W] "
                            "or [N, C, H, W]",
                            what, sample_ndim);
    }
}

/* Appends a layer (the array is sized by the caller). */
static kiln_cpu_layer *push(kiln_cpu_arch *a, kiln_cpu_layer_type t) {
    kiln_cpu_layer *l = &a->layers[a->nlayers++];
    memset(l, 0, sizeof *l);
    l->type = t;
    return l;
}

int kiln_cpu_arch_infer(kiln_cpu_arch *arch, kiln_error *err) {
    int nd = arch->in_ndim;
    int64_t s[3] = {arch->in_shape[0], arch->in_shape[1], arch->in_shape[2]};
    if (nd != 1 && nd != 3)
        return kiln_cpu_err(err, KILN_EINVAL, "input shape has %d dimensions, expected 1 or 3", nd);
    if (arch->num_classes < 1)
        return kiln_cpu_err(err, KILN_EINVAL, "num_classes is %lld, expected >= 1",
                            (long long)arch->num_classes);
    if (arch->nlayers < 1)
        return kiln_cpu_err(err, KILN_EINVAL, "the architecture has no layers");
    for (int i = 0; i < arch->nlayers; i++) {
        kiln_cpu_layer *l = &arch->layers[i];
        switch (l->type) {
        case KILN_CPU_LINEAR:
            if (nd != 1)
                return kiln_cpu_err(err, KILN_EINVAL,
                                    "layer %d (linear) gets a [%lld, %lld, %lld] input; a flatten "
                                    "layer must come before it",
                                    i, (long long)s[0], (long long)s[1], (long long)s[2]);
            if (l->in != s[0] || l->out < 1)
                return kiln_cpu_err(err, KILN_EINVAL,
                                    "layer %d (linear %lld -> %lld) gets %lld features, expected "
                                    "in == %lld and out >= 1",
                                    i, (long long)l->in, (long long)l->out, (long long)s[0],
                                    (long long)s[0]);
            s[0] = l->out;
            break;
        case KILN_CPU_CONV2D: {
            if (nd != 3)
                return kiln_cpu_err(err, KILN_EINVAL,
                                    "layer %d (conv2d) gets a flat [%lld] input, expected [C, H, W] "
                                    "(a dataset of images)",
                                    i, (long long)s[0]);
            if (l->in != s[0] || l->out < 1 || l->kernel < 1 || l->stride < 1 || l->padding < 0)
                return kiln_cpu_err(err, KILN_EINVAL,
                                    "layer %d (conv2d %lld -> %lld, kernel %lld, stride %lld, "
                                    "padding %lld) gets %lld channels, expected in_channels == "
                                    "%lld, out_channels, kernel, stride >= 1, padding >= 0",
                                    i, (long long)l->in, (long long)l->out, (long long)l->kernel,
                                    (long long)l->stride, (long long)l->padding, (long long)s[0],
                                    (long long)s[0]);
            int64_t h = s[1] + 2 * l->padding - l->kernel, w = s[2] + 2 * l->padding - l->kernel;
            if (h < 0 || w < 0)
                return kiln_cpu_err(err, KILN_EINVAL,
                                    "layer %d (conv2d, kernel %lld) gets a %lldx%lld map, smaller "
                                    "than its kernel",
                                    i, (long long)l->kernel, (long long)s[1], (long long)s[2]);
            s[0] = l->out;
            s[1] = h / l->stride + 1;
            s[2] = w / l->stride + 1;
            break;
        }
        case KILN_CPU_MAXPOOL2D:
            if (nd != 3)
                return kiln_cpu_err(err, KILN_EINVAL,
                                    "layer %d (maxpool2d) gets a flat input, expected [C, H, W]", i);
            if (l->kernel < 1 || l->stride < 1)
                return kiln_cpu_err(err, KILN_EINVAL,
                                    "layer %d (maxpool2d): kernel and stride must be >= 1", i);
            if (s[1] < l->kernel || s[2] < l->kernel)
                return kiln_cpu_err(err, KILN_EINVAL,
                                    "layer %d (maxpool2d, kernel %lld) gets a %lldx%lld map, "
                                    "smaller than its kernel",
                                    i, (long long)l->kernel, (long long)s[1], (long long)s[2]);
            s[1] = (s[1] - l->kernel) / l->stride + 1;
            s[2] = (s[2] - l->kernel) / l->stride + 1;
            break;
        case KILN_CPU_FLATTEN:
            if (nd == 3) {
                s[0] = s[0] * s[1] * s[2];
                s[1] = s[2] = 1;
                nd = 1;
            }
            break;
        case KILN_CPU_RELU: break;
        default: return kiln_cpu_err(err, KILN_EINVAL, "layer %d has an unknown type", i);
        }
        l->out_ndim = nd;
        memcpy(l->out_shape, s, sizeof s);
    }
    if (nd != 1 || s[0] != arch->num_classes)
        return kiln_cpu_err(err, KILN_EINVAL,
                            "the last layer gives %s%lld outputs, expected %lld (one logit per class)",
                            nd == 1 ? "" : "a map, not ", (long long)(nd == 1 ? s[0] : s[0] * s[1] * s[2]),
                            (long long)arch->num_classes);
    return 0;
}

/* Copies an integer array param into `out` (at most `max`); returns the count, or -1 when
 * it is not an array of integers. */
static int int_list(const json_t *a, int64_t *out, int max) {
    size_t i;
    json_t *v;
    if (!json_is_array(a) || (int)json_array_size(a) > max)
        return -1;
    json_array_foreach(a, i, v) {
        if (!json_is_integer(v))
            return -1;
        out[i] = json_integer_value(v);
    }
    return (int)json_array_size(a);
}

static int64_t int_param(const json_t *params, const char *name, int64_t dflt) {
    const json_t *v = json_object_get(params, name);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

#define MAX_LIST 64

int kiln_cpu_arch_from_params(const json_t *params, int in_ndim, const int64_t in_shape[3],
                              int64_t num_classes, kiln_cpu_arch *arch, kiln_error *err) {
    const char *kind = json_string_value(json_object_get(params, "arch"));
    int64_t hidden[MAX_LIST], conv[MAX_LIST];
    int nh, nc = 0, cnn;
    const json_t *h = json_object_get(params, "hidden");
    memset(arch, 0, sizeof *arch);
    if (!kind)
        kind = "mlp";
    cnn = strcmp(kind, "cnn") == 0;
    if (!cnn && strcmp(kind, "mlp") != 0)
        return kiln_cpu_err(err, KILN_EINVAL, "param 'arch': expected \"mlp\" or \"cnn\", got \"%s\"",
                            kind);
    if (h) {
        nh = int_list(h, hidden, MAX_LIST);
        if (nh < 0)
            return kiln_cpu_err(err, KILN_EINVAL,
                                "param 'hidden': expected a list of at most %d integers", MAX_LIST);
    } else if (cnn) {
        nh = 1;
        hidden[0] = 128;
    } else {
        nh = 2;
        hidden[0] = 256;
        hidden[1] = 128;
    }
    for (int i = 0; i < nh; i++)
        if (hidden[i] < 1)
            return kiln_cpu_err(err, KILN_EINVAL,
                                "param 'hidden': hidden size %d is %lld, expected >= 1", i,
                                (long long)hidden[i]);
    if (cnn) {
        const json_t *c = json_object_get(params, "conv");
        if (c) {
            nc = int_list(c, conv, MAX_LIST);
            if (nc < 0)
                return kiln_cpu_err(err, KILN_EINVAL,
                                    "param 'conv': expected a list of at most %d integers", MAX_LIST);
        } else {
            nc = 2;
            conv[0] = 32;
            conv[1] = 64;
        }
        for (int i = 0; i < nc; i++)
            if (conv[i] < 1)
                return kiln_cpu_err(err, KILN_EINVAL,
                                    "param 'conv': channel count %d is %lld, expected >= 1", i,
                                    (long long)conv[i]);
        if (in_ndim != 3)
            return kiln_cpu_err(err, KILN_EINVAL,
                                "param 'arch' is \"cnn\" but the training set's samples are flat "
                                "([N, %lld]); a cnn needs images: x of shape [N, H, W] or "
                                "[N, C, H, W]",
                                (long long)in_shape[0]);
    }
    arch->layers = calloc((size_t)(3 * nc + 2 * nh + 2), sizeof *arch->layers);
    if (!arch->layers)
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    arch->in_ndim = in_ndim;
    memcpy(arch->in_shape, in_shape, 3 * sizeof *in_shape);
    arch->num_classes = num_classes;
    int64_t k = int_param(params, "kernel", 3), pool = int_param(params, "pool", 2),
            pad = int_param(params, "padding", 0);
    int64_t ch = in_shape[0], hh = in_shape[1], ww = in_shape[2];
    for (int i = 0; i < nc; i++) {
        kiln_cpu_layer *l = push(arch, KILN_CPU_CONV2D);
        l->in = ch;
        l->out = conv[i];
        l->kernel = k;
        l->stride = 1;
        l->padding = pad;
        hh = hh + 2 * pad - k + 1;
        ww = ww + 2 * pad - k + 1;
        if (hh < 1 || ww < 1) {
            kiln_cpu_arch_clear(arch);
            return kiln_cpu_err(err, KILN_EINVAL,
                                "the input [%lld, %lld, %lld] does not fit the cnn: conv layer %d "
                                "(params 'conv', 'kernel' %lld, 'padding' %lld) would get a map "
                                "smaller than its kernel",
                                (long long)in_shape[0], (long long)in_shape[1],
                                (long long)in_shape[2], i, (long long)k, (long long)pad);
        }
        push(arch, KILN_CPU_RELU);
        l = push(arch, KILN_CPU_MAXPOOL2D);
        l->kernel = pool;
        l->stride = pool;
        if (hh < pool || ww < pool) {
            kiln_cpu_arch_clear(arch);
            return kiln_cpu_err(err, KILN_EINVAL,
                                "the input [%lld, %lld, %lld] does not fit the cnn: pooling after "
                                "conv layer %d (param 'pool' %lld) would get a %lldx%lld map",
                                (long long)in_shape[0], (long long)in_shape[1],
                                (long long)in_shape[2], i, (long long)pool, (long long)hh,
                                (long long)ww);
        }
        hh /= pool;
        ww /= pool;
        ch = conv[i];
    }
    push(arch, KILN_CPU_FLATTEN);
    int64_t f = in_ndim == 1 ? in_shape[0] : ch * hh * ww;
    for (int i = 0; i < nh; i++) {
        kiln_cpu_layer *l = push(arch, KILN_CPU_LINEAR);
        l->in = f;
        l->out = hidden[i];
        f = hidden[i];
        push(arch, KILN_CPU_RELU);
    }
    kiln_cpu_layer *l = push(arch, KILN_CPU_LINEAR);
    l->in = f;
    l->out = num_classes;
    int rc = kiln_cpu_arch_infer(arch, err);
    if (rc)
        kiln_cpu_arch_clear(arch);
    return rc;
}

/* Reads integer field `key` of layer object `o` into *out; `dflt` < 0 means required. */
static int layer_int(const json_t *o, int i, const char *key, int64_t dflt, int64_t *out,
                     kiln_error *err) {
    const json_t *v = json_object_get(o, key);
    if (!v && dflt >= 0) {
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v))
        return kiln_cpu_err(err, KILN_EFORMAT, "kiln.arch: layers[%d].%s: expected an integer", i,
                            key);
    *out = json_integer_value(v);
    return 0;
}

int kiln_cpu_arch_from_json(const json_t *j, kiln_cpu_arch *arch, kiln_error *err) {
    const json_t *shape = json_object_get(j, "input_shape"), *layers = json_object_get(j, "layers");
    const json_t *nc = json_object_get(j, "num_classes"), *fmt = json_object_get(j, "format");
    int64_t s[3];
    int n, rc;
    size_t i;
    json_t *lj;
    memset(arch, 0, sizeof *arch);
    if (!json_is_object(j))
        return kiln_cpu_err(err, KILN_EFORMAT, "kiln.arch: expected a JSON object");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "kiln.model/1") != 0)
        return kiln_cpu_err(err, KILN_EFORMAT, "kiln.arch: format: expected \"kiln.model/1\"");
    n = int_list(shape, s, 3);
    if (n != 1 && n != 3)
        return kiln_cpu_err(err, KILN_EFORMAT,
                            "kiln.arch: input_shape: expected [F] or [C, H, W] integers");
    if (!json_is_integer(nc))
        return kiln_cpu_err(err, KILN_EFORMAT, "kiln.arch: num_classes: expected an integer");
    if (!json_is_array(layers) || json_array_size(layers) == 0 || json_array_size(layers) > 4096)
        return kiln_cpu_err(err, KILN_EFORMAT, "kiln.arch: layers: expected a non-empty array");
    arch->layers = calloc(json_array_size(layers), sizeof *arch->layers);
    if (!arch->layers)
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    arch->in_ndim = n;
    arch->in_shape[0] = s[0];
    arch->in_shape[1] = n == 3 ? s[1] : 1;
    arch->in_shape[2] = n == 3 ? s[2] : 1;
    arch->num_classes = json_integer_value(nc);
    rc = 0;
    json_array_foreach(layers, i, lj) {
        const char *t = json_string_value(json_object_get(lj, "type"));
        int li = (int)i;
        kiln_cpu_layer *l;
        if (!t) {
            rc = kiln_cpu_err(err, KILN_EFORMAT, "kiln.arch: layers[%d].type: expected a string", li);
            break;
        }
        if (strcmp(t, "linear") == 0) {
            l = push(arch, KILN_CPU_LINEAR);
            rc = layer_int(lj, li, "in", -1, &l->in, err);
            if (!rc)
                rc = layer_int(lj, li, "out", -1, &l->out, err);
        } else if (strcmp(t, "conv2d") == 0) {
            l = push(arch, KILN_CPU_CONV2D);
            rc = layer_int(lj, li, "in_channels", -1, &l->in, err);
            if (!rc)
                rc = layer_int(lj, li, "out_channels", -1, &l->out, err);
            if (!rc)
                rc = layer_int(lj, li, "kernel", -1, &l->kernel, err);
            if (!rc)
                rc = layer_int(lj, li, "stride", 1, &l->stride, err);
            if (!rc)
                rc = layer_int(lj, li, "padding", 0, &l->padding, err);
        } else if (strcmp(t, "maxpool2d") == 0) {
            l = push(arch, KILN_CPU_MAXPOOL2D);
            rc = layer_int(lj, li, "kernel", -1, &l->kernel, err);
            if (!rc)
                rc = layer_int(lj, li, "stride", l->kernel, &l->stride, err);
        } else if (strcmp(t, "relu") == 0) {
            push(arch, KILN_CPU_RELU);
        } else if (strcmp(t, "flatten") == 0) {
            push(arch, KILN_CPU_FLATTEN);
        } else {
            rc = kiln_cpu_err(err, KILN_EFORMAT,
                              "kiln.arch: layers[%d].type: \"%s\" is not one of linear, conv2d, "
                              "relu, maxpool2d, flatten",
                              li, t);
        }
        if (rc)
            break;
    }
    if (!rc) {
        rc = kiln_cpu_arch_infer(arch, err);
        if (rc) {
            char msg[KILN_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            rc = kiln_cpu_err(err, KILN_EFORMAT, "kiln.arch: %s", msg);
        }
    }
    if (rc)
        kiln_cpu_arch_clear(arch);
    return rc;
}

json_t *kiln_cpu_arch_to_json(const kiln_cpu_arch *arch) {
    json_t *j = json_object(), *shape = json_array(), *layers = json_array();
    if (!j || !shape || !layers) {
        json_decref(j);
        json_decref(shape);
        json_decref(layers);
        return NULL;
    }
    json_object_set_new(j, "format", json_string("kiln.model/1"));
    for (int i = 0; i < arch->in_ndim; i++)
        json_array_append_new(shape, json_integer(arch->in_shape[i]));
    json_object_set_new(j, "input_shape", shape);
    json_object_set_new(j, "num_classes", json_integer(arch->num_classes));
    for (int i = 0; i < arch->nlayers; i++) {
        const kiln_cpu_layer *l = &arch->layers[i];
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string(type_name(l->type)));
        if (l->type == KILN_CPU_LINEAR) {
            json_object_set_new(o, "in", json_integer(l->in));
            json_object_set_new(o, "out", json_integer(l->out));
        } else if (l->type == KILN_CPU_CONV2D) {
            json_object_set_new(o, "in_channels", json_integer(l->in));
            json_object_set_new(o, "out_channels", json_integer(l->out));
            json_object_set_new(o, "kernel", json_integer(l->kernel));
            json_object_set_new(o, "stride", json_integer(l->stride));
            json_object_set_new(o, "padding", json_integer(l->padding));
        } else if (l->type == KILN_CPU_MAXPOOL2D) {
            json_object_set_new(o, "kernel", json_integer(l->kernel));
            json_object_set_new(o, "stride", json_integer(l->stride));
        }
        json_array_append_new(layers, o);
    }
    json_object_set_new(j, "layers", layers);
    return j;
}

int kiln_cpu_layer_weight_shape(const kiln_cpu_layer *l, int64_t shape[4]) {
    if (l->type == KILN_CPU_LINEAR) {
        shape[0] = l->out;
        shape[1] = l->in;
        return 2;
    }
    if (l->type == KILN_CPU_CONV2D) {
        shape[0] = l->out;
        shape[1] = l->in;
        shape[2] = shape[3] = l->kernel;
        return 4;
    }
    return 0;
}

int64_t kiln_cpu_layer_params(const kiln_cpu_layer *l) {
    int64_t s[4];
    int nd = kiln_cpu_layer_weight_shape(l, s);
    if (!nd)
        return 0;
    int64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= s[i];
    return n + l->out;
}

double kiln_cpu_arch_forward_flops(const kiln_cpu_arch *arch) {
    double f = 0;
    for (int i = 0; i < arch->nlayers; i++) {
        const kiln_cpu_layer *l = &arch->layers[i];
        if (l->type == KILN_CPU_LINEAR)
            f += 2.0 * (double)l->in * (double)l->out;
        else if (l->type == KILN_CPU_CONV2D)
            f += 2.0 * (double)l->in * (double)l->out * (double)(l->kernel * l->kernel) *
                 (double)(l->out_shape[1] * l->out_shape[2]);
    }
    return f;
}
