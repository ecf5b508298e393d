/* store.c -- the content-addressed store (see store.h).
 *
 * Blobs live at cas/<first two hex>/<digest>, mode 0444. Next to each, <digest>.meta holds
 * "size mtime_ns ctime_ns ino\n" from a stat taken after the blob was renamed into place.
 * Writers hash while they copy into tmp/, fsync, chmod 0444 and rename: several processes
 * putting the same digest at once is safe (a rename over an identical blob changes nothing
 * a reader can see; a .meta that ends up describing the other inode only costs one re-hash,
 * which then refreshes it).
 *
 * The cheap check trusts the .meta record only when the blob's stat matches it AND the
 * blob's ctime is older than the .meta file itself (git's "racily clean" rule: a change made
 * within the same clock tick as the record would otherwise go unnoticed). */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "diag.h"
#include "fsutil.h"
#include "sha256.h"

#define COPY_CHUNK (1u << 20)

static int64_t ts_ns(struct timespec ts) {
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

/* Sets up the four directories under `home` (home itself, cas, ac, tmp, quarantine). On
 * failure the struct is left empty and err names the directory. */
int kiln_store_open(kiln_store *store, const char *home, kiln_error *err) {
    memset(store, 0, sizeof *store);
    if (!home || !*home) return kiln_error_set(err, KILN_EINVAL, "store: empty home directory");
    char *h = kiln_path_absolute(NULL, home);
    char *cas = kiln_path_join(h, "cas");
    char *ac = kiln_path_join(h, "ac");
    char *tmp = kiln_path_join(h, "tmp");
    char *q = kiln_path_join(h, "quarantine");
    int rc = kiln_mkdir_p(cas, err);
    if (rc == 0) rc = kiln_mkdir_p(ac, err);
    if (rc == 0) rc = kiln_mkdir_p(tmp, err);
    if (rc == 0) rc = kiln_mkdir_p(q, err);
    free(q);
    if (rc != 0) {
        free(h);
        free(cas);
        free(ac);
        free(tmp);
        return rc;
    }
    store->home = h;
    store->cas_dir = cas;
    store->ac_dir = ac;
    store->tmp_dir = tmp;
    return 0;
}

/* Frees the owned paths and zeroes the struct. */
void kiln_store_close(kiln_store *store) {
    if (!store) return;
    free(store->home);
    free(store->cas_dir);
    free(store->ac_dir);
    free(store->tmp_dir);
    memset(store, 0, sizeof *store);
}

/* cas/<d[0..1]>/<digest>. The digest is not validated here (callers pass digests). */
char *kiln_store_blob_path(const kiln_store *store, const char *digest) {
    char *p = NULL;
    if (asprintf(&p, "%s/%.2s/%s", store->cas_dir, digest, digest) < 0) abort();
    return p;
}

static char *meta_path_of(const char *blob) {
    char *p = NULL;
    if (asprintf(&p, "%s.meta", blob) < 0) abort();
    return p;
}

/* Writes the .meta record for the blob at `blob` from `st`. Failure is reported but is not
 * fatal for callers that already have the blob in place (a missing record only costs a
 * re-hash). */
static int write_meta(const char *blob, const struct stat *st, kiln_error *err) {
    char line[128];
    int n = snprintf(line, sizeof line, "%" PRId64 " %" PRId64 " %" PRId64 " %" PRIu64 "\n",
                     (int64_t)st->st_size, ts_ns(st->st_mtim), ts_ns(st->st_ctim),
                     (uint64_t)st->st_ino);
    char *mp = meta_path_of(blob);
    int rc = kiln_write_file_atomic(mp, line, (size_t)n, err);
    free(mp);
    return rc;
}

/* Parses a .meta record; 0 or -1 when missing or malformed. *meta_mtime_ns receives the
 * record file's own mtime (for the racily-clean rule). */
static int read_meta(const char *blob, int64_t v[4], int64_t *meta_mtime_ns) {
    char *mp = meta_path_of(blob);
    int fd = open(mp, O_RDONLY | O_CLOEXEC);
    free(mp);
    if (fd < 0) return -1;
    struct stat st;
    char buf[128];
    ssize_t n = -1;
    if (fstat(fd, &st) == 0) n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    unsigned long long ino;
    long long a, b, c;
    char extra;
    if (sscanf(buf, "%lld %lld %lld %llu %c", &a, &b, &c, &ino, &extra) != 4) return -1;
    v[0] = a;
    v[1] = b;
    v[2] = c;
    v[3] = (int64_t)ino;
    *meta_mtime_ns = ts_ns(st.st_mtim);
    return 0;
}

/* Finalises a sha256 context into 64 lowercase hex chars + NUL. */
static void finish_hex(EVP_MD_CTX *ctx, char hex_out[65]) {
    static const char hx[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    for (unsigned int i = 0; i < len; i++) {
        hex_out[2 * i] = hx[md[i] >> 4];
        hex_out[2 * i + 1] = hx[md[i] & 15];
    }
    hex_out[2 * len] = '\0';
}

/* Hashes an open fd from its current position to EOF. 0 or -1 (errno). */
static int hash_fd(int fd, char hex_out[65], int64_t *size_out) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = malloc(COPY_CHUNK);
    if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        free(buf);
        errno = ENOMEM;
        return -1;
    }
    int64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, COPY_CHUNK);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = -1;
            break;
        }
        if (n == 0) break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        total += n;
    }
    if (rc == 0) {
        finish_hex(ctx, hex_out);
        if (size_out) *size_out = total;
    }
    int e = errno;
    EVP_MD_CTX_free(ctx);
    free(buf);
    errno = e;
    return rc;
}

/* Moves the blob aside to quarantine/<digest>.<pid>.<time> and drops its .meta. Returns the
 * malloc'd quarantine path, or NULL when the blob could not be moved (then it is unlinked so
 * that it is never served). */
static char *quarantine_blob(const kiln_store *store, const char *digest, const char *blob) {
    char *q = NULL;
    if (asprintf(&q, "%s/quarantine/%s.%ld.%.0f", store->home, digest, (long)getpid(),
                 kiln_now() * 1e6) < 0)
        abort();
    char *mp = meta_path_of(blob);
    unlink(mp);
    free(mp);
    if (rename(blob, q) != 0) {
        unlink(blob);
        free(q);
        return NULL;
    }
    return q;
}

/* See store.h. Order of checks: digest syntax (KILN_EINVAL); lstat (KILN_ENOTFOUND when
 * absent; a non-regular file counts as corrupt); unless `rehash`, the .meta record (size,
 * mtime, ctime and inode all equal, and the blob's ctime older than the record) -> 0;
 * otherwise the content is re-hashed through an open fd. A match refreshes .meta from the
 * stat taken before hashing (so a change during the hash is caught next time); a mismatch
 * quarantines the blob -- unless the path meanwhile names a different inode (a concurrent
 * writer replaced it), in which case the check starts over. */
int kiln_store_check(const kiln_store *store, const char *digest, int rehash, kiln_error *err) {
    if (!kiln_is_digest(digest))
        return kiln_error_set(err, KILN_EINVAL,
                              "store: '%s' is not a sha256 digest (64 lowercase hex characters)",
                              digest ? digest : "(null)");
    char *blob = kiln_store_blob_path(store, digest);
    int rc = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        struct stat st;
        if (lstat(blob, &st) != 0) {
            if (errno == ENOENT)
                rc = kiln_error_set(err, KILN_ENOTFOUND, "store: artifact %s is missing (%s)",
                                    digest, blob);
            else
                rc = kiln_error_set(err, KILN_EIO, "%s: cannot stat: %s", blob, strerror(errno));
            break;
        }
        if (!S_ISREG(st.st_mode)) {
            char *q = quarantine_blob(store, digest, blob);
            rc = kiln_error_set(err, KILN_EFORMAT,
                                "store: artifact %s is not a regular file; moved to %s", digest,
                                q ? q : "(removed)");
            free(q);
            break;
        }
        if (!rehash) {
            int64_t v[4], meta_mtime;
            if (read_meta(blob, v, &meta_mtime) == 0 && v[0] == (int64_t)st.st_size &&
                v[1] == ts_ns(st.st_mtim) && v[2] == ts_ns(st.st_ctim) &&
                v[3] == (int64_t)st.st_ino && ts_ns(st.st_ctim) < meta_mtime) {
                rc = 0;
                break;
            }
        }
        int fd = open(blob, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            if (errno == ENOENT) continue; /* removed under us: look again */
            rc = kiln_error_set(err, KILN_EIO, "%s: cannot open: %s", blob, strerror(errno));
            break;
        }
        struct stat fst;
        char hex[65];
        int64_t size = 0;
        if (fstat(fd, &fst) != 0 || hash_fd(fd, hex, &size) != 0) {
            rc = kiln_error_set(err, KILN_EIO, "%s: read failed: %s", blob, strerror(errno));
            close(fd);
            break;
        }
        close(fd);
        if (strcmp(hex, digest) == 0) {
            kiln_error e2 = {0};
            (void)write_meta(blob, &fst, &e2); /* best effort: a missing record costs a re-hash */
            rc = 0;
            break;
        }
        struct stat now;
        if (lstat(blob, &now) == 0 && (now.st_ino != fst.st_ino || now.st_dev != fst.st_dev))
            continue; /* replaced by a concurrent writer: check the new one */
        char *q = quarantine_blob(store, digest, blob);
        rc = kiln_error_set(err, KILN_EFORMAT,
                            "store: artifact %s is corrupt: its %lld bytes hash to %s; moved to %s",
                            digest, (long long)size, hex, q ? q : "(removed)");
        free(q);
        break;
    }
    free(blob);
    return rc;
}

/* Commits a complete, fsynced, closed temp file `tmp` whose content hashes to `digest`:
 * keeps an existing intact blob (and removes tmp), else chmods tmp 0444, renames it into
 * cas/, fsyncs the directory and records .meta. */
static int commit_blob(const kiln_store *store, char *tmp, const char *digest, kiln_error *err) {
    char *blob = kiln_store_blob_path(store, digest);
    kiln_error e2 = {0};
    if (kiln_store_check(store, digest, 0, &e2) == 0) {
        unlink(tmp);
        free(blob);
        return 0;
    }
    char *dir = kiln_path_dirname(blob);
    int rc = kiln_mkdir_p(dir, err);
    if (rc == 0 && chmod(tmp, 0444) != 0)
        rc = kiln_error_set(err, KILN_EIO, "%s: chmod failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, blob) != 0)
        rc = kiln_error_set(err, KILN_EIO, "%s: cannot rename %s into the store: %s", blob, tmp,
                            strerror(errno));
    if (rc != 0) {
        unlink(tmp);
        free(dir);
        free(blob);
        return rc;
    }
    rc = kiln_fsync_dir(dir, err);
    struct stat st;
    if (rc == 0 && lstat(blob, &st) == 0) (void)write_meta(blob, &st, &e2);
    free(dir);
    free(blob);
    return rc;
}

/* A new temp file in tmp/; returns the fd and the malloc'd name, or -1 with err set. */
static int open_tmp(const kiln_store *store, char **name, kiln_error *err) {
    char *t = NULL;
    if (asprintf(&t, "%s/put.XXXXXX", store->tmp_dir) < 0) abort();
    int fd = mkostemp(t, O_CLOEXEC);
    if (fd < 0) {
        kiln_error_set(err, KILN_EIO, "%s: cannot create a temporary file: %s", t,
                       strerror(errno));
        free(t);
        return -1;
    }
    *name = t;
    return fd;
}

/* Copies src into tmp/ while hashing it (one pass), then commits. */
static int put_copy(const kiln_store *store, const char *src, char digest_out[65],
                    int64_t *size_out, kiln_error *err) {
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        int e = errno;
        return kiln_error_set(err, e == ENOENT ? KILN_ENOTFOUND : KILN_EIO, "%s: cannot open: %s",
                              src, strerror(e));
    }
    struct stat sst;
    if (fstat(in, &sst) != 0 || !S_ISREG(sst.st_mode)) {
        close(in);
        return kiln_error_set(err, KILN_EIO, "%s: not a regular file", src);
    }
    char *tmp = NULL;
    int out = open_tmp(store, &tmp, err);
    if (out < 0) {
        close(in);
        return KILN_EIO;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = malloc(COPY_CHUNK);
    int rc = 0;
    if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        rc = kiln_error_set(err, KILN_ENOMEM, "%s: out of memory", src);
    int64_t total = 0;
    while (rc == 0) {
        ssize_t n = read(in, buf, COPY_CHUNK);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = kiln_error_set(err, KILN_EIO, "%s: read failed: %s", src, strerror(errno));
            break;
        }
        if (n == 0) break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        if (kiln_write_all(out, buf, (size_t)n) != 0)
            rc = kiln_error_set(err, KILN_EIO, "%s: write failed: %s", tmp, strerror(errno));
        total += n;
    }
    close(in);
    free(buf);
    char hex[65];
    if (rc == 0) {
        finish_hex(ctx, hex);
    }
    EVP_MD_CTX_free(ctx);
    if (rc == 0 && fsync(out) != 0)
        rc = kiln_error_set(err, KILN_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(out) != 0 && rc == 0)
        rc = kiln_error_set(err, KILN_EIO, "%s: close failed: %s", tmp, strerror(errno));
    if (rc != 0) {
        unlink(tmp);
        free(tmp);
        return rc;
    }
    rc = commit_blob(store, tmp, hex, err);
    free(tmp);
    if (rc == 0) {
        memcpy(digest_out, hex, 65);
        if (size_out) *size_out = total;
    }
    return rc;
}

/* move: hash src in place (streamed), fsync it, then rename it straight into cas/ (after
 * chmod 0444). Falls back to copying when src is not a plain file (a symlink is never moved)
 * or lives on another filesystem (EXDEV). With an intact blob already present, src is just
 * removed. */
int kiln_store_put_file(const kiln_store *store, const char *src, int move, char digest_out[65],
                        int64_t *size_out, kiln_error *err) {
    if (!move) return put_copy(store, src, digest_out, size_out, err);
    struct stat st;
    if (lstat(src, &st) != 0) {
        int e = errno;
        return kiln_error_set(err, e == ENOENT ? KILN_ENOTFOUND : KILN_EIO, "%s: cannot stat: %s",
                              src, strerror(e));
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
        int rc = put_copy(store, src, digest_out, size_out, err);
        if (rc == 0) unlink(src);
        return rc;
    }
    int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return kiln_error_set(err, KILN_EIO, "%s: cannot open: %s", src, strerror(errno));
    char hex[65];
    int64_t size = 0;
    if (hash_fd(fd, hex, &size) != 0 || fsync(fd) != 0) {
        int rc = kiln_error_set(err, KILN_EIO, "%s: read/fsync failed: %s", src, strerror(errno));
        close(fd);
        return rc;
    }
    close(fd);
    char *blob = kiln_store_blob_path(store, hex);
    kiln_error e2 = {0};
    int rc = 0;
    if (kiln_store_check(store, hex, 0, &e2) == 0) {
        unlink(src);
    } else {
        char *dir = kiln_path_dirname(blob);
        rc = kiln_mkdir_p(dir, err);
        if (rc == 0 && chmod(src, 0444) != 0)
            rc = kiln_error_set(err, KILN_EIO, "%s: chmod failed: %s", src, strerror(errno));
        if (rc == 0 && rename(src, blob) != 0) {
            if (errno == EXDEV) {
                free(dir);
                free(blob);
                rc = put_copy(store, src, digest_out, size_out, err);
                if (rc == 0) unlink(src);
                return rc;
            }
            rc = kiln_error_set(err, KILN_EIO, "%s: cannot rename %s into the store: %s", blob,
                                src, strerror(errno));
        }
        if (rc == 0) rc = kiln_fsync_dir(dir, err);
        struct stat bst;
        if (rc == 0 && lstat(blob, &bst) == 0) (void)write_meta(blob, &bst, &e2);
        free(dir);
    }
    free(blob);
    if (rc == 0) {
        memcpy(digest_out, hex, 65);
        if (size_out) *size_out = size;
    }
    return rc;
}

/* Hashes the buffer, and when no intact blob exists writes it to tmp/ and commits it. */
int kiln_store_put_bytes(const kiln_store *store, const void *data, size_t len,
                         char digest_out[65], kiln_error *err) {
    char hex[65];
    kiln_sha256_hex(data, len, hex);
    kiln_error e2 = {0};
    if (kiln_store_check(store, hex, 0, &e2) == 0) {
        memcpy(digest_out, hex, 65);
        return 0;
    }
    char *tmp = NULL;
    int fd = open_tmp(store, &tmp, err);
    if (fd < 0) return KILN_EIO;
    int rc = 0;
    if (kiln_write_all(fd, data, len) != 0)
        rc = kiln_error_set(err, KILN_EIO, "%s: write failed: %s", tmp, strerror(errno));
    if (rc == 0 && fsync(fd) != 0)
        rc = kiln_error_set(err, KILN_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = kiln_error_set(err, KILN_EIO, "%s: close failed: %s", tmp, strerror(errno));
    if (rc != 0) {
        unlink(tmp);
        free(tmp);
        return rc;
    }
    rc = commit_blob(store, tmp, hex, err);
    free(tmp);
    if (rc == 0) memcpy(digest_out, hex, 65);
    return rc;
}

/* See store.h. */
int kiln_store_is_fanout_name(const char *s) {
    return strlen(s) == 2 && strchr("0123456789abcdef", s[0]) && strchr("0123456789abcdef", s[1]);
}

/* Walks cas/<xx>/ in sorted order (fan-out dirs sorted, then digests within each, which is
 * global digest order). Only names that are digests count (not .meta, not temp files).
 * The size is from lstat; a blob that vanished meanwhile is skipped. Returns 0, fn's first
 * non-zero value, or KILN_EIO when cas/ cannot be read. */
int kiln_store_foreach(const kiln_store *store,
                       int (*fn)(const char *digest, int64_t size, void *user), void *user) {
    char **subs = NULL;
    int ns = kiln_dir_names_sorted(store->cas_dir, kiln_store_is_fanout_name, &subs);
    if (ns < 0) return KILN_EIO;
    int rc = 0;
    for (int i = 0; i < ns && rc == 0; i++) {
        char *sub = kiln_path_join(store->cas_dir, subs[i]);
        char **names = NULL;
        int nn = kiln_dir_names_sorted(sub, kiln_is_digest, &names);
        for (int j = 0; j < nn && rc == 0; j++) {
            if (strncmp(names[j], subs[i], 2) != 0) continue;
            char *p = kiln_path_join(sub, names[j]);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
                rc = fn(names[j], (int64_t)st.st_size, user);
            free(p);
        }
        kiln_names_free(names, nn > 0 ? nn : 0);
        free(sub);
    }
    kiln_names_free(subs, ns);
    return rc;
}

/* Unlinks the blob and its .meta (ENOENT ignored). A bad digest is KILN_EINVAL. */
int kiln_store_remove(const kiln_store *store, const char *digest, kiln_error *err) {
    if (!kiln_is_digest(digest))
        return kiln_error_set(err, KILN_EINVAL, "store: '%s' is not a sha256 digest",
                              digest ? digest : "(null)");
    char *blob = kiln_store_blob_path(store, digest);
    char *mp = meta_path_of(blob);
    int rc = 0;
    if (unlink(blob) != 0 && errno != ENOENT)
        rc = kiln_error_set(err, KILN_EIO, "%s: cannot remove: %s", blob, strerror(errno));
    if (unlink(mp) != 0 && errno != ENOENT && rc == 0)
        rc = kiln_error_set(err, KILN_EIO, "%s: cannot remove: %s", mp, strerror(errno));
    free(mp);
    free(blob);
    return rc;
}
