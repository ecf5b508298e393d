/* fsutil.c -- filesystem helpers with explicit errors (see fsutil.h). */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"

static char *xstrdup(const char *s) {
    char *r = strdup(s);
    if (!r) abort();
    return r;
}

/* "a" + "/" + "b", without doubling a slash already at the end of a or the start of b.
 * An empty `a` gives a copy of b. */
char *kiln_path_join(const char *a, const char *b) {
    size_t la = strlen(a);
    while (*b == '/' && la > 0) b++;
    while (la > 1 && a[la - 1] == '/') la--;
    size_t lb = strlen(b);
    int sep = la > 0 && a[la - 1] != '/';
    char *r = malloc(la + (size_t)sep + lb + 1);
    if (!r) abort();
    memcpy(r, a, la);
    if (sep) r[la] = '/';
    memcpy(r + la + (size_t)sep, b, lb + 1);
    return r;
}

/* Lexical normalisation of an absolute path: collapses "//", drops ".", resolves ".."
 * (never above "/"). Symlinks are not resolved: the file need not exist. */
static char *normalise_abs(const char *path) {
    size_t n = strlen(path);
    char *out = malloc(n + 2);
    if (!out) abort();
    size_t len = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *s = p;
        while (*p && *p != '/') p++;
        size_t cl = (size_t)(p - s);
        if (cl == 1 && s[0] == '.') continue;
        if (cl == 2 && s[0] == '.' && s[1] == '.') {
            while (len > 0 && out[len - 1] != '/') len--;
            if (len > 0) len--; /* drop the slash before the component */
            continue;
        }
        out[len++] = '/';
        memcpy(out + len, s, cl);
        len += cl;
    }
    if (len == 0) out[len++] = '/';
    out[len] = '\0';
    return out;
}

/* Absolute path of `path`: itself when absolute, else base_dir/path (base_dir itself made
 * absolute against the cwd), else cwd/path; normalised lexically. Aborts on OOM; if the cwd
 * cannot be read, "/" is used as the base. */
char *kiln_path_absolute(const char *base_dir, const char *path) {
    char *joined;
    if (path[0] == '/') {
        joined = xstrdup(path);
    } else {
        char *base;
        if (base_dir && base_dir[0] == '/') {
            base = xstrdup(base_dir);
        } else {
            char *cwd = getcwd(NULL, 0);
            if (!cwd) cwd = xstrdup("/");
            if (base_dir && base_dir[0]) {
                base = kiln_path_join(cwd, base_dir);
                free(cwd);
            } else {
                base = cwd;
            }
        }
        joined = kiln_path_join(base, path);
        free(base);
    }
    char *r = normalise_abs(joined);
    free(joined);
    return r;
}

/* Everything before the last '/', trailing slashes ignored: "a/b" -> "a", "/a" -> "/",
 * "a" -> ".". */
char *kiln_path_dirname(const char *path) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    while (len > 0 && path[len - 1] != '/') len--;
    if (len == 0) return xstrdup(".");
    while (len > 1 && path[len - 1] == '/') len--;
    char *r = malloc(len + 1);
    if (!r) abort();
    memcpy(r, path, len);
    r[len] = '\0';
    return r;
}

/* Creates each missing component with mode 0755; an existing directory is fine, an existing
 * non-directory is KILN_EIO. Safe against a concurrent creator (EEXIST re-checked). */
int kiln_mkdir_p(const char *path, kiln_error *err) {
    if (!path || !*path) return kiln_error_set(err, KILN_EINVAL, "mkdir: empty path");
    struct stat fast;
    if (stat(path, &fast) == 0 && S_ISDIR(fast.st_mode)) return 0; /* the common case: one call */
    char *buf = xstrdup(path);
    size_t len = strlen(buf);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        if (buf[i - 1] == '/') continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0) {
            int e = errno;
            struct stat st;
            if (!(e == EEXIST && stat(buf, &st) == 0 && S_ISDIR(st.st_mode))) {
                int rc = kiln_error_set(err, KILN_EIO, "%s: cannot create directory: %s", buf,
                                        e == EEXIST ? "exists and is not a directory"
                                                    : strerror(e));
                free(buf);
                return rc;
            }
        }
        buf[i] = saved;
    }
    free(buf);
    return 0;
}

/* Reads with fstat's size as a hint, then keeps reading until EOF (files may grow or be
 * special). Directories are refused with KILN_EIO. */
int kiln_read_file(const char *path, char **out_data, size_t *out_len, kiln_error *err) {
    *out_data = NULL;
    if (out_len) *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return kiln_error_set(err, e == ENOENT ? KILN_ENOTFOUND : KILN_EIO, "%s: cannot open: %s",
                              path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return kiln_error_set(err, KILN_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return kiln_error_set(err, KILN_EIO, "%s: is a directory, expected a file", path);
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    size_t len = 0;
    char *data = malloc(cap);
    if (!data) {
        close(fd);
        return kiln_error_set(err, KILN_ENOMEM, "%s: out of memory reading the file", path);
    }
    for (;;) {
        if (len + 1 >= cap) {
            size_t ncap = cap * 2;
            char *nd = realloc(data, ncap);
            if (!nd) {
                free(data);
                close(fd);
                return kiln_error_set(err, KILN_ENOMEM, "%s: out of memory reading the file",
                                      path);
            }
            data = nd;
            cap = ncap;
        }
        ssize_t n = read(fd, data + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(data);
            close(fd);
            return kiln_error_set(err, KILN_EIO, "%s: read failed: %s", path, strerror(e));
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    close(fd);
    data[len] = '\0';
    *out_data = data;
    if (out_len) *out_len = len;
    return 0;
}

/* See fsutil.h. (Chunks of at most 1 GiB: larger writes are short on Linux anyway.) */
int kiln_write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* See fsutil.h. */
int kiln_open_temp_beside(const char *path, char **tmp_out, kiln_error *err) {
    char *dir = kiln_path_dirname(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char *tmpl = NULL;
    if (asprintf(&tmpl, "%s/.%s.tmp.XXXXXX", dir, base) < 0) abort();
    free(dir);
    int fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        kiln_error_set(err, KILN_EIO, "%s: cannot create a temporary file: %s", tmpl,
                       strerror(e));
        free(tmpl);
        return -1;
    }
    /* mkostemp creates 0600; results are meant to be readable like normal files. (umask is
     * not consulted: reading it means changing it, which races with other threads.) */
    (void)fchmod(fd, 0644);
    *tmp_out = tmpl;
    return fd;
}

/* See fsutil.h. */
int kiln_commit_temp(int fd, char *tmp, const char *path, kiln_error *err) {
    int rc = 0;
    if (fsync(fd) != 0) {
        rc = kiln_error_set(err, KILN_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
        close(fd);
    } else if (close(fd) != 0) {
        rc = kiln_error_set(err, KILN_EIO, "%s: close failed: %s", tmp, strerror(errno));
    } else if (rename(tmp, path) != 0) {
        rc = kiln_error_set(err, KILN_EIO, "%s: cannot rename %s into place: %s", path, tmp,
                            strerror(errno));
    }
    if (rc != 0) {
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    char *dir = kiln_path_dirname(path);
    rc = kiln_fsync_dir(dir, err);
    free(dir);
    return rc;
}

/* Temp file beside `path`, write, fsync, rename, fsync dir. The file gets mode 0644. On any
 * failure the temp file is removed and `path` is untouched. */
int kiln_write_file_atomic(const char *path, const void *data, size_t len, kiln_error *err) {
    char *tmp = NULL;
    int fd = kiln_open_temp_beside(path, &tmp, err);
    if (fd < 0) return KILN_EIO;
    if (kiln_write_all(fd, data, len) != 0) {
        int rc = kiln_error_set(err, KILN_EIO, "%s: write failed: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return rc;
    }
    return kiln_commit_temp(fd, tmp, path, err);
}

/* Streams src into a temp file beside dst, then commits it like kiln_write_file_atomic.
 * A missing src is KILN_ENOTFOUND. */
int kiln_copy_file(const char *src, const char *dst, kiln_error *err) {
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        int e = errno;
        return kiln_error_set(err, e == ENOENT ? KILN_ENOTFOUND : KILN_EIO, "%s: cannot open: %s",
                              src, strerror(e));
    }
    char *tmp = NULL;
    int out = kiln_open_temp_beside(dst, &tmp, err);
    if (out < 0) {
        close(in);
        return KILN_EIO;
    }
    const size_t bufsz = 1u << 20;
    char *buf = malloc(bufsz);
    int rc = 0;
    if (!buf) rc = kiln_error_set(err, KILN_ENOMEM, "%s: out of memory copying", src);
    while (rc == 0) {
        ssize_t n = read(in, buf, bufsz);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = kiln_error_set(err, KILN_EIO, "%s: read failed: %s", src, strerror(errno));
            break;
        }
        if (n == 0) break;
        if (kiln_write_all(out, buf, (size_t)n) != 0)
            rc = kiln_error_set(err, KILN_EIO, "%s: write failed: %s", tmp, strerror(errno));
    }
    free(buf);
    close(in);
    if (rc != 0) {
        close(out);
        unlink(tmp);
        free(tmp);
        return rc;
    }
    return kiln_commit_temp(out, tmp, dst, err);
}

/* Opens the directory read-only and fsyncs it. EINVAL from fsync (filesystems that do not
 * support it on directories) is not an error. */
int kiln_fsync_dir(const char *dir, kiln_error *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return kiln_error_set(err, KILN_EIO, "%s: cannot open directory: %s", dir,
                              strerror(errno));
    int rc = 0;
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = kiln_error_set(err, KILN_EIO, "%s: fsync of directory failed: %s", dir,
                            strerror(errno));
    close(fd);
    return rc;
}

/* Recursive removal with lstat (symlinks are removed, never followed). Read-only files are
 * fine (unlink needs only the directory's write permission); a directory without write or
 * search permission is made writable first. */
static int remove_tree_rec(const char *path, kiln_error *err) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return 0;
        return kiln_error_set(err, KILN_EIO, "%s: cannot stat: %s", path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) != 0 && errno != ENOENT)
            return kiln_error_set(err, KILN_EIO, "%s: cannot remove: %s", path, strerror(errno));
        return 0;
    }
    if ((st.st_mode & 0700) != 0700) (void)chmod(path, st.st_mode | 0700);
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT) return 0;
        return kiln_error_set(err, KILN_EIO, "%s: cannot open directory: %s", path,
                              strerror(errno));
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *child = kiln_path_join(path, de->d_name);
        rc = remove_tree_rec(child, err);
        free(child);
    }
    closedir(d);
    if (rc != 0) return rc;
    if (rmdir(path) != 0 && errno != ENOENT)
        return kiln_error_set(err, KILN_EIO, "%s: cannot remove directory: %s", path,
                              strerror(errno));
    return 0;
}

/* rm -rf `path`; a missing path is success. */
int kiln_remove_tree(const char *path, kiln_error *err) {
    if (!path || !*path) return kiln_error_set(err, KILN_EINVAL, "remove: empty path");
    return remove_tree_rec(path, err);
}

/* mkdtemp on "<parent>/<prefix>XXXXXX"; the parent must exist. */
char *kiln_make_temp_dir(const char *parent, const char *prefix, kiln_error *err) {
    char *tmpl = NULL;
    if (asprintf(&tmpl, "%s/%sXXXXXX", parent, prefix ? prefix : "") < 0) abort();
    if (!mkdtemp(tmpl)) {
        kiln_error_set(err, KILN_EIO, "%s: cannot create a temporary directory: %s", tmpl,
                       strerror(errno));
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

/* stat (following symlinks) says S_ISREG. */
int kiln_is_regular_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* stat (following symlinks) says S_ISDIR. */
int kiln_is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* CLOCK_REALTIME as a double. */
double kiln_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* See fsutil.h. */
int kiln_dir_names_sorted(const char *dir, int (*keep)(const char *), char ***out) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!keep(de->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) abort();
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (!names[n]) abort();
        n++;
    }
    closedir(d);
    if (n > 1) qsort(names, n, sizeof *names, cmp_name);
    *out = names;
    return (int)n;
}

/* See fsutil.h. */
void kiln_names_free(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}
