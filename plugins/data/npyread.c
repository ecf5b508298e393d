/* npyread.c -- dataset from .npy / .npz files (see npyread.h). */
#include "npyread.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "npy.h"
#include "npz.h"

/* One array located in a mapped file: the parsed header plus whatever owns its bytes. */
typedef struct located {
    kiln_data_npy a;
    uint8_t *owned;       /* inflated member, or NULL */
    char name[1100];      /* "<path>" or "<path>: <key>.npy" for messages */
} located;

static int locate(const kiln_data_map *map, const char *path, const char *key, int need_npz,
                  const char *param, located *out, kiln_error *err) {
    const uint8_t *data = map->data;
    size_t len = map->size;
    out->owned = NULL;
    if (map->size >= 6 && memcmp(map->data, "\x93NUMPY", 6) == 0) {
        if (need_npz)
            return kiln_data_error(err, KILN_EINVAL,
                                   "%s: is a .npy file holding one array; y must then come from "
                                   "param 'y' (a .npy or .npz file)",
                                   path);
        snprintf(out->name, sizeof out->name, "%s", path);
    } else if (kiln_data_zip_is_zip(map->data, map->size)) {
        char member[256];
        int rc;
        snprintf(member, sizeof member, "%s.npy", key);
        rc = kiln_data_zip_extract(map->data, map->size, path, member, &data, &out->owned, &len,
                                   err);
        if (rc)
            return rc;
        snprintf(out->name, sizeof out->name, "%s: %s", path, member);
    } else {
        const uint8_t *b = map->data;
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s (param '%s'): not a .npy or .npz file: magic at byte 0 is "
                               "%02x %02x %02x %02x",
                               path, param, b[0], map->size > 1 ? b[1] : 0,
                               map->size > 2 ? b[2] : 0, map->size > 3 ? b[3] : 0);
    }
    return kiln_data_npy_parse(data, len, out->name, &out->a, err);
}

int kiln_data_npy_read(const char *x_path, const char *y_path, const char *x_key,
                       const char *y_key, const json_t *classes, kiln_data_set *out,
                       kiln_error *err) {
    kiln_data_map *xm = NULL, *ym = NULL;
    located *lx = calloc(1, sizeof *lx), *ly = calloc(1, sizeof *ly);
    kiln_data_set set;
    const void *x = NULL;
    void *xown = NULL;
    kiln_dtype dt = 0;
    int rc;
    kiln_data_set_init(&set);
    if (!lx || !ly) {
        rc = kiln_data_error(err, KILN_ENOMEM, "out of memory");
        goto done;
    }
    rc = kiln_data_map_open(x_path, &xm, err);
    if (rc == 0)
        rc = locate(xm, x_path, x_key, 0, "x", lx, err);
    if (rc == 0 && y_path) {
        rc = kiln_data_map_open(y_path, &ym, err);
        if (rc == 0)
            rc = locate(ym, y_path, y_key, 0, "y", ly, err);
    } else if (rc == 0) {
        rc = locate(xm, x_path, y_key, 1, "x", ly, err);
    }
    if (rc)
        goto done;
    rc = kiln_data_npy_to_x(&lx->a, lx->name, &x, &xown, &dt, err);
    if (rc)
        goto done;
    if (lx->a.shape[0] == 0) {
        rc = kiln_data_error(err, KILN_EINVAL, "%s: x has 0 samples (shape[0] is 0)", lx->name);
        goto done;
    }
    rc = kiln_data_npy_to_labels(&ly->a, ly->name, kiln_data_label_limit(classes), &set.y, err);
    if (rc)
        goto done;
    if (ly->a.shape[0] != lx->a.shape[0]) {
        rc = kiln_data_error(err, KILN_EINVAL,
                             "x/y count mismatch: %s has %" PRId64 " samples, %s has %" PRId64
                             " labels",
                             lx->name, lx->a.shape[0], ly->name, ly->a.shape[0]);
        goto done;
    }
    set.x_dtype = dt;
    set.x_ndim = lx->a.ndim;
    memcpy(set.x_shape, lx->a.shape, sizeof set.x_shape);
    set.n = lx->a.shape[0];
    set.x = x;
    set.x_nbytes = lx->a.count * kiln_dtype_size(dt);
    if (xown) {
        /* Converted: the mapping and the inflated member are no longer needed. */
        set.x_owned = xown;
        xown = NULL;
    } else if (lx->owned) {
        set.x_owned = lx->owned; /* x points into the inflated member */
        lx->owned = NULL;
    } else {
        set.x_map = xm; /* x points into the mapping */
        xm = NULL;
    }
    if (classes) {
        set.classes = json_deep_copy(classes);
        if (!set.classes)
            rc = kiln_data_error(err, KILN_ENOMEM, "out of memory");
    }
done:
    free(xown);
    if (lx)
        free(lx->owned);
    if (ly)
        free(ly->owned);
    free(lx);
    free(ly);
    kiln_data_map_close(xm);
    kiln_data_map_close(ym);
    if (rc)
        kiln_data_set_clear(&set);
    else
        *out = set;
    return rc;
}
