/* context.h -- what every route handler shares: the server's configuration and the
 * long-lived objects (all created at start, read-only or internally synchronised). */
#ifndef KILN_API_CONTEXT_H
#define KILN_API_CONTEXT_H

#include "auth.h"
#include "http.h"
#include "job_manager.h"
#include "job_store.h"
#include "metrics.h"
#include "registry.h"
#include "server.h"
#include "slot_pool.h"
#include "store.h"

typedef struct kiln_api_ctx {
    kiln_api_config cfg;       /* copy; its strings are borrowed from the caller  */
    kiln_store store;          /* the CAS and action cache                         */
    kiln_registry *reg;        /* owned; loaded once, read-only afterwards          */
    char *plugins_json;        /* owned: GET /v1/plugins body (the registry is fixed) */
    size_t plugins_json_len;
    char *db_path;             /* owned                                            */
    kiln_job_store *db;        /* owned                                            */
    kiln_api_slots *slots;     /* owned                                            */
    kiln_job_manager *jobs;    /* owned                                            */
    kiln_api_metrics *metrics; /* owned                                            */
    kiln_api_auth auth;
    char *kiln_exe;            /* owned: /proc/self/exe                            */
    double started;
    int recovered;
} kiln_api_ctx;

#endif
