/* opglue.h -- what every data.* op's run() needs from the host: typed param lookups (the host
 * has already checked params against the schema and filled defaults; these only convert), a
 * monitor bridged to host->progress / host->cancelled, and failing with a kiln_error. */
#ifndef KILN_DATA_OPGLUE_H
#define KILN_DATA_OPGLUE_H

#include <stdint.h>
#include <jansson.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One running op: the host table, its context, and a monitor that reports through them. */
typedef struct kiln_data_op {
    const kiln_host_api *h;
    kiln_ctx *ctx;
    const json_t *params;   /* borrowed from the host */
    kiln_data_monitor mon;  /* ud points back to this struct */
} kiln_data_op;

/* Fills `op` for (h, ctx). `op` must not move afterwards (the monitor points to it). */
void kiln_data_op_init(kiln_data_op *op, const kiln_host_api *h, kiln_ctx *ctx);

/* Reports `err` through host->fail and returns its code (KILN_EINTERNAL when unset). */
int kiln_data_op_fail(kiln_data_op *op, const kiln_error *err);

/* Param lookups: the value when present and of the right type, else `dflt`. */
const char *kiln_data_param_str(const kiln_data_op *op, const char *name, const char *dflt);
int64_t kiln_data_param_int(const kiln_data_op *op, const char *name, int64_t dflt);
double kiln_data_param_num(const kiln_data_op *op, const char *name, double dflt);
int kiln_data_param_bool(const kiln_data_op *op, const char *name, int dflt);

/* The seed param ("seed", an integer >= 0) as the generator's 64-bit seed. */
uint64_t kiln_data_param_seed(const kiln_data_op *op);

/* Path of the single artifact on input `port`, or NULL when the port is unwired. */
const char *kiln_data_input(const kiln_data_op *op, const char *port);

/* Path to write output `port` to, or NULL (unknown port: a bug). */
const char *kiln_data_output(const kiln_data_op *op, const char *port);

#ifdef __cplusplus
}
#endif

#endif
