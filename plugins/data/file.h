/* file.h -- opening input files with errors that say what is wrong: missing, unreadable, a
 * directory (or other non-regular file) where a file is expected, empty. And a read-only
 * memory mapping of a whole file for the readers that want random access (NPY/NPZ). */
#ifndef KILN_DATA_FILE_H
#define KILN_DATA_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens `path` read-only and checks it is a non-empty regular file. On success returns 0,
 * the descriptor in *fd_out (caller closes) and the size in *size_out. Fails with
 * KILN_ENOTFOUND (no such file), KILN_EIO (cannot open/stat; a directory or other
 * non-regular file) or KILN_EFORMAT (empty file); the message names the path. */
int kiln_data_file_open(const char *path, int *fd_out, uint64_t *size_out, kiln_error *err);

/* A whole file mapped read-only. */
typedef struct kiln_data_map {
    const uint8_t *data; /* size bytes, read-only               */
    size_t size;         /* > 0 (empty files are refused)        */
} kiln_data_map;

/* Maps `path` (checked as by kiln_data_file_open). Returns 0 and a new map in *out (free with
 * kiln_data_map_close), or a negative code with err set. */
int kiln_data_map_open(const char *path, kiln_data_map **out, kiln_error *err);

/* Unmaps and frees. NULL is ignored. */
void kiln_data_map_close(kiln_data_map *m);

#ifdef __cplusplus
}
#endif

#endif
