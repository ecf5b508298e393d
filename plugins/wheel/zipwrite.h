/* zipwrite.h -- write a zip archive reproducibly with libzip: entries in the order given,
 * every timestamp 1980-01-01 00:00:00 (the zip epoch; written as DOS date/time fields, so
 * the time zone does not matter), Unix mode 0644, no extra fields, UTF-8 names. The same
 * entries give the same bytes (with the same zlib). */
#ifndef KILN_WHEEL_ZIPWRITE_H
#define KILN_WHEEL_ZIPWRITE_H

#include <stddef.h>
#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_wheel_zip_entry {
    const char *name;  /* path inside the archive                                        */
    const void *data;  /* content in memory (borrowed until kiln_wheel_zip_write returns) */
    size_t size;       /* its length                                                       */
    const char *file;  /* or, when data is NULL, a file to copy the content from           */
    int store;         /* 1: store uncompressed, 0: deflate                               */
} kiln_wheel_zip_entry;

/* Progress and cancellation while libzip writes (it compresses when the archive is closed).
 * progress gets a fraction in [0, 1]; cancelled returns non-zero to stop. Both optional. */
typedef struct kiln_wheel_zip_monitor {
    void (*progress)(void *arg, double fraction);
    int (*cancelled)(void *arg);
    void *arg;
} kiln_wheel_zip_monitor;

/* Writes the archive to `path` (created or replaced; libzip writes a temporary file next to
 * it and renames). `level` is the deflate level 1..9. Returns 0, or KILN_EIO with a message
 * naming the entry or file, KILN_ECANCELLED, KILN_ENOMEM. On failure nothing is left at
 * path. */
int kiln_wheel_zip_write(const char *path, const kiln_wheel_zip_entry *entries, size_t n, int level,
                         const kiln_wheel_zip_monitor *monitor, kiln_error *err);

#ifdef __cplusplus
}
#endif

#endif
