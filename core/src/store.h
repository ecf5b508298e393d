/* store.h -- the content-addressed store under $KILN_HOME/cas.
 *
 * Layout:  cas/ab/abcdef...      the artifact bytes, stored once under their sha256, read-only
 *          cas/ab/abcdef....meta "size mtime_ns ctime_ns ino\n" recorded at write time
 *          tmp/                  temporary files (same filesystem, so rename is atomic)
 *          quarantine/           blobs found corrupt, moved aside (never served again)
 * Every write goes to tmp/, is fsynced, then renamed: a crash never leaves a half artifact
 * under a real digest. A cheap check on every cache hit compares the blob's stat against
 * the .meta record (as git's index and Bazel do) and re-hashes only when they differ. */
#ifndef KILN_STORE_H
#define KILN_STORE_H

#include <stdint.h>
#include "kiln/plugin.h"

typedef struct kiln_store {
    char *home;    /* owned: the state directory ($KILN_HOME)  */
    char *cas_dir; /* owned: home/cas                           */
    char *ac_dir;  /* owned: home/ac (the action cache)          */
    char *tmp_dir; /* owned: home/tmp                            */
} kiln_store;

/* Opens (creating directories as needed) the store rooted at `home`. Release with
 * kiln_store_close. Returns 0 or KILN_EIO. */
int kiln_store_open(kiln_store *store, const char *home, kiln_error *err);

/* Frees the paths; the directory is untouched. */
void kiln_store_close(kiln_store *store);

/* malloc'd path of the blob for `digest` (whether or not it exists). */
char *kiln_store_blob_path(const kiln_store *store, const char *digest);

/* Puts the file at `src` into the store. With `move` non-zero the source is renamed into
 * place when possible (it must then not be used again); otherwise it is copied. On success
 * writes the digest to digest_out and, when size_out is non-NULL, the size. Idempotent: an
 * existing valid blob is kept. */
int kiln_store_put_file(const kiln_store *store, const char *src, int move, char digest_out[65],
                        int64_t *size_out, kiln_error *err);

/* Puts `len` bytes. Same contract as kiln_store_put_file. */
int kiln_store_put_bytes(const kiln_store *store, const void *data, size_t len,
                         char digest_out[65], kiln_error *err);

/* Checks that the blob exists and is intact. Cheap path: stat matches the .meta record ->
 * 0. Otherwise re-hashes: a match refreshes .meta and returns 0; a mismatch moves the blob
 * to quarantine/ and returns KILN_EFORMAT with a message; a missing blob is KILN_ENOTFOUND.
 * `rehash` non-zero forces the re-hash (used by `kiln cache verify`). */
int kiln_store_check(const kiln_store *store, const char *digest, int rehash, kiln_error *err);

/* 1 when `s` names a fan-out directory of the store's layouts (cas/ and ac/): two lowercase
 * hex digits. */
int kiln_store_is_fanout_name(const char *s);

/* Calls fn(digest, size, user) for every blob, in sorted order. Stops and returns fn's
 * value when it is non-zero. */
int kiln_store_foreach(const kiln_store *store,
                       int (*fn)(const char *digest, int64_t size, void *user), void *user);

/* Deletes the blob (and its .meta). Missing is success. */
int kiln_store_remove(const kiln_store *store, const char *digest, kiln_error *err);

#endif
