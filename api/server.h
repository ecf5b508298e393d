/* server.h -- the REST control plane: `kiln serve` starts one of these.
 *
 * libmicrohttpd runs the HTTP side (a pool of polling threads, epoll, suspend/resume for
 * event streams); routes are a static table (server.c) that GET /v1/... and api/openapi.yaml
 * must agree with (`kiln serve --routes` prints it). Jobs run through the scheduler in
 * worker threads (job_manager.h) and live in SQLite (job_store.h). */
#ifndef KILN_API_SERVER_H
#define KILN_API_SERVER_H

#include <stddef.h>
#include <stdio.h>
#include "kiln/plugin.h"

typedef struct kiln_api_config {
    const char *host;            /* address to bind (default "127.0.0.1")                 */
    int port;                    /* TCP port (default 8080; 0: any free port)             */
    const char *home;            /* state directory, or NULL: $KILN_HOME / default         */
    const char *db_path;         /* job database, or NULL: <home>/api/jobs.db             */
    const char *token_file;      /* bearer token file, or NULL: no authentication          */
    int auth_reads;              /* reads need the token too                              */
    size_t max_body;             /* request bodies above this get 413 (default 1 MiB)      */
    unsigned max_connections;    /* connections at once (default 256)                      */
    unsigned timeout_s;          /* idle connections are closed after this (default 30)    */
    double body_deadline_s;      /* a body must arrive within this (default 60)            */
    unsigned http_threads;       /* HTTP polling threads (default: number of cores)        */
    int max_jobs;                /* jobs running at once (default: 2 x cpu_slots, >= 4)    */
    int cpu_slots;               /* CPU-thread slots shared by all jobs (default: cores)   */
    int gpus;                    /* GPU slots (default: $KILN_GPUS or /dev/nvidiaN count)  */
    double grace_s;              /* SIGTERM -> SIGKILL delay for stopped nodes (default 5) */
    int db_sync_full;            /* fsync the database on every commit                    */
    double keepalive_s;          /* event-stream keep-alive comment interval (default 15)  */
} kiln_api_config;

/* Fills the defaults above. */
void kiln_api_config_defaults(kiln_api_config *cfg);

typedef struct kiln_api_server kiln_api_server;

/* Opens the store and job database, marks jobs a previous process left open as
 * interrupted, loads plugins, starts the job workers and the HTTP server. Refuses
 * (KILN_EINVAL) a non-loopback host without a token file. Returns NULL with err set. */
kiln_api_server *kiln_api_server_start(const kiln_api_config *cfg, kiln_error *err);

/* The bound TCP port (useful with port 0). */
int kiln_api_server_port(const kiln_api_server *srv);

/* Where state lives (borrowed): the state directory and the job database. */
const char *kiln_api_server_home(const kiln_api_server *srv);
const char *kiln_api_server_db_path(const kiln_api_server *srv);

/* Jobs marked interrupted at start. */
int kiln_api_server_recovered(const kiln_api_server *srv);

/* Shuts down cleanly: stops accepting connections, marks queued jobs interrupted, cancels
 * running jobs (finish_running == 0) or lets them finish for up to timeout_s, ends event
 * streams, stops the HTTP threads, closes the database. Frees srv. */
void kiln_api_server_stop(kiln_api_server *srv, int finish_running, double timeout_s);

/* Prints the route table, "METHOD PATH" per line (PATH with {placeholders}). */
void kiln_api_routes_print(FILE *out);

#endif
