/* ckpt.c -- see ckpt.h. */
#include "ckpt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char *const prefixes[3] = {"value/", "state1/", "state2/"};

static int ckpt_path(const char *dir, char *buf, size_t cap, kiln_error *err) {
    if (!dir || (size_t)snprintf(buf, cap, "%s/checkpoint.safetensors", dir) >= cap)
        return kiln_cpu_err(err, KILN_EINVAL, "checkpoint directory path too long or missing");
    return 0;
}

void kiln_cpu_ckpt_clear(kiln_cpu_ckpt *c) {
    free(c->history);
    memset(c, 0, sizeof *c);
}

int kiln_cpu_ckpt_save(const kiln_host_api *h, const char *dir, kiln_cpu_net *net, int nstates,
                       const kiln_cpu_ckpt *c, const char *fingerprint, kiln_error *err) {
    char path[4096], name[256];
    int rc = ckpt_path(dir, path, sizeof path, err);
    if (rc)
        return rc;
    kiln_tensors_writer *w = h->tensors_writer_new();
    if (!w)
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    for (int b = 0; !rc && b <= nstates; b++) {
        kiln_cpu_buf which = b == 0 ? KILN_CPU_VALUE : b == 1 ? KILN_CPU_STATE1 : KILN_CPU_STATE2;
        for (int i = 0; !rc && i < kiln_cpu_net_nparams(net); i++) {
            int64_t shape[4], n = kiln_cpu_net_param_count(net, i);
            int nd = kiln_cpu_net_param_shape(net, i, shape);
            float *buf = malloc((size_t)n * sizeof *buf);
            if (!buf) {
                rc = kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
                break;
            }
            snprintf(name, sizeof name, "%s%s", prefixes[b], kiln_cpu_net_param_name(net, i));
            rc = kiln_cpu_net_get(net, i, which, buf, err);
            if (!rc)
                rc = h->tensors_writer_add(w, name, KILN_DTYPE_F32, nd, shape, buf, 0, err);
            free(buf);
        }
    }
    if (!rc && c->epochs_done > 0) {
        int64_t hs[2] = {c->epochs_done, KILN_CPU_HIST_COLS};
        rc = h->tensors_writer_add(w, "history", KILN_DTYPE_F64, 2, hs, c->history, 0, err);
    }
    if (!rc) {
        char words[4][17];
        for (int i = 0; i < 4; i++)
            snprintf(words[i], sizeof words[i], "%016" PRIx64, c->rng.s[i]);
        json_t *m = json_pack("{s:i, s:I, s:I, s:[s,s,s,s], s:s}", "version", 1, "epochs_done",
                              (json_int_t)c->epochs_done, "steps", (json_int_t)c->steps, "rng",
                              words[0], words[1], words[2], words[3], "fingerprint", fingerprint);
        char *s = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (!s || h->tensors_writer_set_meta(w, "kiln.checkpoint", s))
            rc = kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
        free(s);
        json_decref(m);
    }
    if (!rc)
        rc = h->tensors_writer_finish(w, path, err);
    h->tensors_writer_free(w);
    return rc;
}

int kiln_cpu_ckpt_load(const kiln_host_api *h, const char *dir, kiln_cpu_net *net, int nstates,
                       kiln_cpu_ckpt *c, const char *fingerprint, kiln_error *err) {
    char path[4096], name[256];
    int rc = ckpt_path(dir, path, sizeof path, err);
    json_t *m = NULL;
    json_error_t jerr;
    memset(c, 0, sizeof *c);
    if (rc)
        return rc;
    if (access(path, F_OK) != 0)
        return 0;
    kiln_tensors *t = h->tensors_open(path, err);
    if (!t)
        return err && err->code ? err->code : KILN_EIO;
    const char *ms = json_string_value(json_object_get(h->tensors_metadata(t), "kiln.checkpoint"));
    m = ms ? json_loads(ms, 0, &jerr) : NULL;
    const char *fp = json_string_value(json_object_get(m, "fingerprint"));
    json_t *jr = json_object_get(m, "rng");
    if (!m || !fp || !json_is_integer(json_object_get(m, "epochs_done")) ||
        !json_is_integer(json_object_get(m, "steps")) || json_array_size(jr) != 4) {
        rc = kiln_cpu_err(err, KILN_EFORMAT, "checkpoint %s: metadata kiln.checkpoint missing or malformed",
                          path);
        goto out;
    }
    if (strcmp(fp, fingerprint) != 0) {
        rc = kiln_cpu_err(err, KILN_EINVAL,
                          "checkpoint %s was written for other params or inputs; starting afresh", path);
        goto out;
    }
    c->epochs_done = json_integer_value(json_object_get(m, "epochs_done"));
    c->steps = json_integer_value(json_object_get(m, "steps"));
    for (int i = 0; i < 4; i++) {
        const char *wd = json_string_value(json_array_get(jr, (size_t)i));
        char *end = NULL;
        c->rng.s[i] = wd ? strtoull(wd, &end, 16) : 0;
        if (!wd || *end) {
            rc = kiln_cpu_err(err, KILN_EFORMAT, "checkpoint %s: bad rng word %d", path, i);
            goto out;
        }
    }
    if (c->epochs_done < 0 || c->steps < 0) {
        rc = kiln_cpu_err(err, KILN_EFORMAT, "checkpoint %s: negative epoch or step count", path);
        goto out;
    }
    if (c->epochs_done > 0) {
        kiln_tensor ht;
        if (h->tensors_get(t, "history", &ht) != 0 || ht.dtype != KILN_DTYPE_F64 || ht.ndim != 2 ||
            ht.shape[0] != c->epochs_done || ht.shape[1] != KILN_CPU_HIST_COLS) {
            rc = kiln_cpu_err(err, KILN_EFORMAT, "checkpoint %s: history missing or of the wrong shape",
                              path);
            goto out;
        }
        c->history = malloc(ht.nbytes);
        if (!c->history) {
            rc = kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(c->history, ht.data, ht.nbytes);
    }
    for (int b = 0; !rc && b <= nstates; b++) {
        kiln_cpu_buf which = b == 0 ? KILN_CPU_VALUE : b == 1 ? KILN_CPU_STATE1 : KILN_CPU_STATE2;
        for (int i = 0; !rc && i < kiln_cpu_net_nparams(net); i++) {
            int64_t shape[4];
            int nd = kiln_cpu_net_param_shape(net, i, shape);
            kiln_tensor tv;
            snprintf(name, sizeof name, "%s%s", prefixes[b], kiln_cpu_net_param_name(net, i));
            int ok = h->tensors_get(t, name, &tv) == 0 && tv.dtype == KILN_DTYPE_F32 && tv.ndim == nd;
            for (int d = 0; ok && d < nd; d++)
                ok = tv.shape[d] == shape[d];
            if (!ok) {
                rc = kiln_cpu_err(err, KILN_EFORMAT, "checkpoint %s: tensor %s missing or mismatched",
                                  path, name);
                break;
            }
            rc = kiln_cpu_net_set(net, i, which, tv.data, err);
        }
    }
out:
    json_decref(m);
    h->tensors_close(t);
    if (rc) {
        kiln_cpu_ckpt_clear(c);
        return rc;
    }
    return 1;
}
