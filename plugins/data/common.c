/* common.c -- kiln_error setting and the progress/cancel monitor (see common.h). */
#include "common.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int kiln_data_error(kiln_error *err, int code, const char *fmt, ...) {
    if (err && err->code == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int kiln_data_cancelled(const kiln_data_monitor *m) {
    return m && m->cancelled && m->cancelled(m->ud) ? 1 : 0;
}

void kiln_data_progress(const kiln_data_monitor *m, double done, double total, const char *unit) {
    if (m && m->progress)
        m->progress(m->ud, done, total, unit);
}

int kiln_data_cancel_error(kiln_error *err) {
    return kiln_data_error(err, KILN_ECANCELLED, "cancelled");
}

int kiln_data_mul_size(size_t a, size_t b, size_t *out) {
    size_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return -1;
    *out = r;
    return 0;
}

void *kiln_data_alloc_large(size_t n) {
    const uintptr_t huge = (uintptr_t)2 << 20;
    void *p = malloc(n ? n : 1);
#ifdef MADV_HUGEPAGE
    if (p && n >= 4 * huge) {
        uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
        uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);
        if (end > start)
            (void)madvise((void *)start, end - start, MADV_HUGEPAGE); /* a hint only */
    }
#endif
    return p;
}
