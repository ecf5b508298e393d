/* common.h -- what every part of the data plugin shares: setting a kiln_error, and the
 * monitor through which long loops report progress and notice cancellation.
 *
 * The parsing and computing code (idx.c, csv.c, npy.c, normalize.c, ...) never sees the host
 * API: it takes paths or buffers, a kiln_error and an optional monitor, so unit tests can call
 * it directly. The op files (op_*.c) bridge the monitor to host->progress / host->cancelled. */
#ifndef KILN_DATA_COMMON_H
#define KILN_DATA_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Progress and cancellation hooks for long loops. Every member may be NULL, and so may a
 * pointer to the whole monitor: then nothing is reported and nothing cancels. */
typedef struct kiln_data_monitor {
    void *ud;                                       /* passed back to both hooks */
    int (*cancelled)(void *ud);                     /* non-zero: stop soon       */
    void (*progress)(void *ud, double done, double total, const char *unit);
} kiln_data_monitor;

/* Sets err (when non-NULL and not yet set) to `code` and a printf-formatted message, and
 * returns `code`: `return kiln_data_error(err, KILN_EFORMAT, "%s: ...", path);`. The first
 * error wins, so a low-level message is not overwritten by a vaguer caller. */
int kiln_data_error(kiln_error *err, int code, const char *fmt, ...) KILN_PRINTF(3, 4);

/* 1 when the monitor says stop, 0 otherwise (also when m or its hook is NULL). */
int kiln_data_cancelled(const kiln_data_monitor *m);

/* Reports progress through the monitor; a no-op when m or its hook is NULL. */
void kiln_data_progress(const kiln_data_monitor *m, double done, double total, const char *unit);

/* Sets err to KILN_ECANCELLED ("cancelled") and returns KILN_ECANCELLED. */
int kiln_data_cancel_error(kiln_error *err);

/* size_t multiplication that reports overflow: returns 0 and sets *out, or -1 on overflow. */
int kiln_data_mul_size(size_t a, size_t b, size_t *out);

/* malloc(n) for a large buffer that will be filled at once (a dataset's x): when n is big,
 * the buffer's interior is advised for transparent huge pages (madvise MADV_HUGEPAGE), so
 * that filling it takes hundreds of page faults instead of tens of thousands. Free with
 * free(). Returns NULL when out of memory. */
void *kiln_data_alloc_large(size_t n);

#ifdef __cplusplus
}
#endif

#endif
