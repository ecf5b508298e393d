/* common.h -- small shared helpers of the cpu plugin's core: setting a kiln_error with a
 * printf-style message. */
#ifndef KILN_CPU_COMMON_H
#define KILN_CPU_COMMON_H

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sets err (when not NULL) to `code` and the formatted message; returns `code`, so that
 * `return kiln_cpu_err(err, KILN_EINVAL, "...")` reads naturally. A message already in err is
 * replaced. */
int kiln_cpu_err(kiln_error *err, int code, const char *fmt, ...) KILN_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif

#endif
