/* fsutil.h -- small filesystem helpers with explicit errors. Paths returned by *_new /
 * kiln_path_join are malloc'd: the caller frees them. */
#ifndef KILN_FSUTIL_H
#define KILN_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include "kiln/plugin.h"

/* Returns malloc'd "a/b" (no doubled slash). Never NULL (aborts on OOM). */
char *kiln_path_join(const char *a, const char *b);

/* Returns the malloc'd absolute, normalised form of `path` relative to `base_dir` (or the
 * cwd when base_dir is NULL or path is absolute). The file need not exist. */
char *kiln_path_absolute(const char *base_dir, const char *path);

/* Returns the malloc'd directory part of `path` ("." when none). */
char *kiln_path_dirname(const char *path);

/* mkdir -p with mode 0755. Returns 0 or KILN_EIO with the failing path in err. */
int kiln_mkdir_p(const char *path, kiln_error *err);

/* Reads a whole file into a new NUL-terminated buffer (*out_data, caller frees) of length
 * *out_len (not counting the NUL). Returns 0, KILN_ENOTFOUND, or KILN_EIO (also when `path`
 * is a directory) with the path and reason in err. */
int kiln_read_file(const char *path, char **out_data, size_t *out_len, kiln_error *err);

/* Writes `len` bytes to `path` atomically: a temporary file in the same directory, fsync,
 * rename, fsync of the directory. Never leaves a partial file under `path`. */
int kiln_write_file_atomic(const char *path, const void *data, size_t len, kiln_error *err);

/* Copies src to dst atomically (same temp+fsync+rename discipline). */
int kiln_copy_file(const char *src, const char *dst, kiln_error *err);

/* fsyncs the directory `dir` (after a rename into it). */
int kiln_fsync_dir(const char *dir, kiln_error *err);

/* Writes all `len` bytes to fd, retrying short writes and EINTR. Returns 0 or -1 (errno). */
int kiln_write_all(int fd, const void *data, size_t len);

/* Opens a fresh temporary file "<dir>/.<base>.tmp.XXXXXX" beside `path` (mode 0644) for an
 * atomic write. Returns the fd and the malloc'd name in *tmp_out, or -1 with err set. */
int kiln_open_temp_beside(const char *path, char **tmp_out, kiln_error *err);

/* Finishes an atomic write: fsync + close `fd`, rename `tmp` over `path`, fsync the directory.
 * Takes ownership of fd and tmp (freed; the temp file is unlinked on failure). */
int kiln_commit_temp(int fd, char *tmp, const char *path, kiln_error *err);

/* The names in `dir` that satisfy `keep`, sorted (strcmp), into *out: a malloc'd array of
 * malloc'd strings (free with kiln_names_free). Returns the count (0 for a missing dir), or
 * -1 when the directory cannot be read. */
int kiln_dir_names_sorted(const char *dir, int (*keep)(const char *), char ***out);

/* Frees what kiln_dir_names_sorted returned (n may be <= 0). */
void kiln_names_free(char **names, int n);

/* rm -rf. Missing path is success. */
int kiln_remove_tree(const char *path, kiln_error *err);

/* Creates a new unique directory "<parent>/<prefix>XXXXXX"; returns its malloc'd path or
 * NULL with err set. */
char *kiln_make_temp_dir(const char *parent, const char *prefix, kiln_error *err);

/* 1 when `path` names an existing regular file, 0 otherwise. */
int kiln_is_regular_file(const char *path);

/* 1 when `path` names an existing directory, 0 otherwise. */
int kiln_is_directory(const char *path);

/* Current wall-clock time as seconds since the epoch, with sub-second precision. */
double kiln_now(void);

#endif
