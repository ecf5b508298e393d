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

/* The param schema of every op that runs a model's forward pass over a dataset in batches
 * (cpu.predict, eval.classify): batch size and threads. */
#define KILN_CPU_FORWARD_SCHEMA                                                                   \
    "{\"type\": \"object\","                                                                      \
    " \"properties\": {"                                                                         \
    "  \"batch\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 65536, \"default\": 256,"   \
    "             \"description\": \"samples per forward pass\"},"                                \
    "  \"threads\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 256, \"default\": 2,"      \
    "               \"description\": \"CPU threads\"}}}"

/* The `model` input port's description in those ops. */
#define KILN_CPU_MODEL_INPUT_DOC "a model artifact (cpu.train)"

#ifdef __cplusplus
}
#endif

#endif
