/* zipwrite.c -- reproducible zip archives with libzip (see zipwrite.h). */
#include "zipwrite.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

/* 1980-01-01 00:00:00 as DOS fields: date = (year - 1980) << 9 | month << 5 | day. */
#define DOS_DATE ((0u << 9) | (1u << 5) | 1u)
#define DOS_TIME 0u

static int fail(kiln_error *err, int code, const char *fmt, ...) KILN_PRINTF(3, 4);
static int fail(kiln_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void on_progress(zip_t *za, double fraction, void *arg) {
    (void)za;
    const kiln_wheel_zip_monitor *m = arg;
    if (m->progress) m->progress(m->arg, fraction);
}

static int on_cancel(zip_t *za, void *arg) {
    (void)za;
    const kiln_wheel_zip_monitor *m = arg;
    return m->cancelled ? m->cancelled(m->arg) : 0;
}

int kiln_wheel_zip_write(const char *path, const kiln_wheel_zip_entry *entries, size_t n, int level,
                         const kiln_wheel_zip_monitor *monitor, kiln_error *err) {
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        int rc = fail(err, KILN_EIO, "cannot create %s: %s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    if (level < 1 || level > 9) level = 6;
    for (size_t i = 0; i < n; i++) {
        const kiln_wheel_zip_entry *e = &entries[i];
        zip_source_t *src = e->data ? zip_source_buffer(za, e->data, e->size, 0) : zip_source_file(za, e->file, 0, -1);
        if (!src) {
            int rc = fail(err, KILN_EIO, "cannot add %s to %s: %s", e->data ? e->name : e->file, path,
                          zip_error_strerror(zip_get_error(za)));
            zip_discard(za);
            return rc;
        }
        zip_int64_t idx = zip_file_add(za, e->name, src, ZIP_FL_ENC_UTF_8);
        if (idx < 0) {
            int rc = fail(err, KILN_EIO, "cannot add entry %s to %s: %s", e->name, path, zip_error_strerror(zip_get_error(za)));
            zip_source_free(src);
            zip_discard(za);
            return rc;
        }
        if (zip_set_file_compression(za, (zip_uint64_t)idx, e->store ? ZIP_CM_STORE : ZIP_CM_DEFLATE,
                                     e->store ? 0 : (zip_uint32_t)level) != 0 ||
            zip_file_set_dostime(za, (zip_uint64_t)idx, DOS_TIME, DOS_DATE, 0) != 0 ||
            zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX, (zip_uint32_t)(S_IFREG | 0644) << 16) != 0) {
            int rc = fail(err, KILN_EIO, "cannot set the attributes of %s in %s: %s", e->name, path,
                          zip_error_strerror(zip_get_error(za)));
            zip_discard(za);
            return rc;
        }
    }
    if (monitor) {
        zip_register_progress_callback_with_state(za, 0.01, on_progress, NULL, (void *)monitor);
        zip_register_cancel_callback_with_state(za, on_cancel, NULL, (void *)monitor);
    }
    if (zip_close(za) != 0) {
        zip_error_t *ze = zip_get_error(za);
        int cancelled = zip_error_code_zip(ze) == ZIP_ER_CANCELLED;
        int rc = cancelled ? fail(err, KILN_ECANCELLED, "cancelled while writing %s", path)
                           : fail(err, KILN_EIO, "cannot write %s: %s", path, zip_error_strerror(ze));
        zip_discard(za);
        unlink(path);
        return rc;
    }
    return 0;
}
