/* action_cache.c -- action key -> result record, one JSON file per key under
 * ac/<first two hex>/<key>.json (see action_cache.h). */
#include "action_cache.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "fsutil.h"
#include "jsonio.h"
#include "sha256.h"

static char *record_path(const kiln_store *store, const char *key) {
    char *p = NULL;
    if (asprintf(&p, "%s/%.2s/%s.json", store->ac_dir, key, key) < 0) abort();
    return p;
}

/* A missing record is a plain miss (NULL, err untouched). A bad key is KILN_EINVAL. A record
 * that cannot be read or parsed, is not an object, or names another key is a miss reported
 * through err (KILN_EIO / KILN_EFORMAT); it is left in place for `kiln cache verify`. */
json_t *kiln_ac_get(const kiln_store *store, const char *key, kiln_error *err) {
    if (!kiln_is_digest(key)) {
        kiln_error_set(err, KILN_EINVAL, "action cache: '%s' is not a sha256 action key",
                       key ? key : "(null)");
        return NULL;
    }
    char *path = record_path(store, key);
    kiln_error e2 = {0};
    json_t *rec = kiln_json_read(path, &e2);
    if (!rec) {
        if (e2.code != KILN_ENOTFOUND && err) *err = e2;
        free(path);
        return NULL;
    }
    const json_t *k = json_object_get(rec, "key");
    if (!json_is_object(rec) || (k && !(json_is_string(k) && strcmp(json_string_value(k), key) == 0))) {
        kiln_error_set(err, KILN_EFORMAT,
                       "%s: action cache record must be an object whose \"key\" is %s", path,
                       key);
        json_decref(rec);
        free(path);
        return NULL;
    }
    free(path);
    return rec;
}

/* kiln_ac_get, then kiln_store_check (cheap path) on every outputs.*.digest and on "log"
 * when present. Any failure -- a malformed outputs entry, a missing, corrupt (now
 * quarantined) or unreadable blob -- deletes the record and returns NULL with the reason in
 * err (a miss, not a fatal error). */
json_t *kiln_ac_get_valid(const kiln_store *store, const char *key, kiln_error *err) {
    json_t *rec = kiln_ac_get(store, key, err);
    if (!rec) return NULL;
    int rc = 0;
    const json_t *outputs = json_object_get(rec, "outputs");
    if (!json_is_object(outputs)) {
        rc = kiln_error_set(err, KILN_EFORMAT,
                            "action cache record %s: \"outputs\" must be an object", key);
    } else {
        const char *port;
        json_t *o;
        json_object_foreach((json_t *)outputs, port, o) {
            const char *d = json_string_value(json_object_get(o, "digest"));
            if (!d || !kiln_is_digest(d)) {
                rc = kiln_error_set(err, KILN_EFORMAT,
                                    "action cache record %s: outputs.%s.digest must be a sha256 "
                                    "digest",
                                    key, port);
                break;
            }
            kiln_error ce = {0};
            if (kiln_store_check(store, d, 0, &ce) != 0) {
                rc = kiln_error_set(err, ce.code,
                                    "action cache record %s: output '%s' is not intact: %s", key,
                                    port, ce.message);
                break;
            }
        }
    }
    /* The log is not checked here: it is never served as a result, and a hit must stay
     * cheap (one stat per output). `kiln cache verify` re-hashes logs with everything else. */
    if (rc != 0) {
        kiln_error re = {0};
        (void)kiln_ac_remove(store, key, &re);
        json_decref(rec);
        return NULL;
    }
    return rec;
}

/* Creates ac/<xx>/ and writes the record with kiln_json_write (atomic, sorted keys). */
int kiln_ac_put(const kiln_store *store, const char *key, const json_t *record, kiln_error *err) {
    if (!kiln_is_digest(key))
        return kiln_error_set(err, KILN_EINVAL, "action cache: '%s' is not a sha256 action key",
                              key ? key : "(null)");
    if (!json_is_object(record))
        return kiln_error_set(err, KILN_EINVAL, "action cache: record for %s must be an object",
                              key);
    char *path = record_path(store, key);
    char *dir = kiln_path_dirname(path);
    int rc = kiln_mkdir_p(dir, err);
    if (rc == 0) rc = kiln_json_write(path, record, err);
    free(dir);
    free(path);
    return rc;
}

/* Unlinks the record; ENOENT is success. */
int kiln_ac_remove(const kiln_store *store, const char *key, kiln_error *err) {
    if (!kiln_is_digest(key))
        return kiln_error_set(err, KILN_EINVAL, "action cache: '%s' is not a sha256 action key",
                              key ? key : "(null)");
    char *path = record_path(store, key);
    int rc = 0;
    if (unlink(path) != 0 && errno != ENOENT)
        rc = kiln_error_set(err, KILN_EIO, "%s: cannot remove: %s", path, strerror(errno));
    free(path);
    return rc;
}

/* "<64 hex>.json" */
static int is_record_name(const char *s) {
    size_t n = strlen(s);
    if (n != KILN_DIGEST_HEX_LEN + 5 || strcmp(s + KILN_DIGEST_HEX_LEN, ".json") != 0) return 0;
    char key[KILN_DIGEST_HEX_LEN + 1];
    memcpy(key, s, KILN_DIGEST_HEX_LEN);
    key[KILN_DIGEST_HEX_LEN] = '\0';
    return kiln_is_digest(key);
}

/* Every readable record in key order (records that fail kiln_ac_get are skipped). The record
 * passed to fn is borrowed for the call. Returns 0 or fn's first non-zero value. */
int kiln_ac_foreach(const kiln_store *store,
                    int (*fn)(const char *key, const json_t *record, void *user), void *user) {
    char **subs = NULL;
    int ns = kiln_dir_names_sorted(store->ac_dir, kiln_store_is_fanout_name, &subs);
    int rc = 0;
    for (int i = 0; i < ns && rc == 0; i++) {
        char *sub = kiln_path_join(store->ac_dir, subs[i]);
        char **names = NULL;
        int nn = kiln_dir_names_sorted(sub, is_record_name, &names);
        for (int j = 0; j < nn && rc == 0; j++) {
            if (strncmp(names[j], subs[i], 2) != 0) continue;
            char key[KILN_DIGEST_HEX_LEN + 1];
            memcpy(key, names[j], KILN_DIGEST_HEX_LEN);
            key[KILN_DIGEST_HEX_LEN] = '\0';
            kiln_error e2 = {0};
            json_t *rec = kiln_ac_get(store, key, &e2);
            if (rec) {
                rc = fn(key, rec, user);
                json_decref(rec);
            }
        }
        kiln_names_free(names, nn);
        free(sub);
    }
    kiln_names_free(subs, ns);
    return rc;
}
