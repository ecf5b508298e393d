/* exec_node.h -- `kiln exec-node`: run ONE op instance from a spec file in this process.
 * Every executor (kiln run, the API server, Bazel actions) runs nodes through it.
 *
 * Spec (JSON, written by the caller):
 *   {"kiln_spec": 1,
 *    "plugin_path": "/abs/libkiln_cpu.so",       the one plugin to load
 *    "op": "cpu.train", "node": "train[lr=0.05]", "job": "r-20261123-...",
 *    "params": {...},                             defaults filled, files absolute
 *    "inputs": {"port": [{"path": "/abs/file", "info": {...input_info...}}]},
 *    "outputs": {"port": {"type": "model", "file_name": "model.safetensors"}},
 *    "work_dir": "/abs/dir",                      private; out/ and scratch/ are made in it
 *    "checkpoint_dir": "/abs/dir",                survives retries
 *    "threads": 2,
 *    "store": "/abs/KILN_HOME",                   optional: put outputs into this CAS
 *    "output_paths": {"port": "/abs/file"},       optional: also copy outputs here (Bazel)
 *    "file_digests": {"param": "<sha256>"},       optional: input-file params must hash so
 *    "relative_paths": true}                      optional, default false: see below
 *
 * With "relative_paths", every path above may be relative: it is taken relative to the
 * directory exec-node runs in (a Bazel action names the files of its sandbox so; input-file
 * params included). An input's "info" without "digest" gets the input file's sha256, so ops
 * see the same input_info with or without a store.
 *
 * Events (events.h) go as JSON lines to `events_fd` (-1: none); the last one is a "result".
 * Plugin log lines also go to stderr, which the caller captures into the node's log.
 * Exit status: 0 ok; 1 the op failed; 2 bad spec or usage; 3 the plugin did not load;
 * 4 outputs could not be stored; 143 cancelled by SIGTERM. */
#ifndef KILN_EXEC_NODE_H
#define KILN_EXEC_NODE_H

#include <signal.h>
#include <jansson.h>
#include "kiln/plugin.h"

/* Runs the node described by the spec file. Returns the process exit status above. */
int kiln_exec_node(const char *spec_path, int events_fd);

/* ---------------------------------------------------------------------------------------- */
/* Internal to exec-node: the context of one running op. exec_node.c fills it in; host_api.c */
/* implements the host API's ctx slots over it. Nothing else should touch it.               */
/* ---------------------------------------------------------------------------------------- */

struct kiln_ctx {
    const kiln_op_def *op;        /* borrowed: the op being run                              */
    json_t *params;               /* borrowed: the spec's params object                      */
    json_t *inputs;               /* borrowed: the spec's "inputs" object, or NULL           */
    json_t *outputs;              /* owned: {"port": {"path": "/abs/out/port",
                                     "file_name": "..."}} for every declared output          */
    json_t *metrics;              /* owned: {"name": {"value": v, "step": s}} (last wins)    */
    const char *scratch_dir;      /* borrowed                                                */
    const char *checkpoint_dir;   /* borrowed                                                */
    const char *job;              /* borrowed, may be NULL                                   */
    const char *node;             /* borrowed, may be NULL                                   */
    int threads;                  /* >= 1                                                    */
    int events_fd;                /* -1: no events; set to -1 once the reader is gone        */
    volatile sig_atomic_t *cancel_flag; /* borrowed: set by the SIGTERM handler              */
    /* progress rate limiting (at most one event per 100 ms; the last one always goes) */
    double progress_last;         /* monotonic seconds of the last event sent                */
    int progress_pending;         /* a newer value than the last one sent is waiting         */
    double progress_done, progress_total;
    char progress_unit[64];
    /* failure: the first message wins */
    int failed;
    char fail_message[KILN_ERROR_MESSAGE_MAX];
};

/* Zero-initialises ctx and creates its owned objects (outputs, metrics empty). */
void kiln_ctx_init(kiln_ctx *ctx);

/* Frees ctx's owned objects; borrowed pointers are untouched. */
void kiln_ctx_release(kiln_ctx *ctx);

/* Writes `event` (stolen) to ctx->events_fd when there is one. A reader that went away
 * (EPIPE) sets the cancel flag, since nobody waits for this node any more. */
void kiln_ctx_emit(kiln_ctx *ctx, json_t *event);

/* Sends the newest progress value if it was held back by rate limiting. */
void kiln_ctx_flush_progress(kiln_ctx *ctx);

#endif
