/* plan.h -- expanding a validated graph into node instances (sweeps) and computing their
 * action keys.
 *
 * Sweep semantics (DESIGN.md): a node's `sweep` gives axes (param -> list of values); its
 * instances are the cartesian product, named "node[a=1,b=x]" with axes sorted by param name.
 * A consumer wired through a ONE port inherits its producer's axes and is expanded alongside
 * it (one consumer instance per combination; axes shared by two producers stay aligned). A
 * LIST port gathers every producer instance that agrees with the consumer on the axes they
 * share. When two inherited axes have the same param name from different nodes, the name
 * is qualified: "eval[a.lr=0.1,b.lr=0.2]". */
#ifndef KILN_PLAN_H
#define KILN_PLAN_H

#include <stddef.h>
#include <jansson.h>
#include "graph.h"
#include "registry.h"

/* One producer feeding an input port of an instance. */
typedef struct kiln_plan_source {
    size_t instance; /* index into plan->instances */
    char *port;      /* owned: the producer's output port */
} kiln_plan_source;

typedef struct kiln_plan_input {
    char *port;                 /* owned: the consumer's port           */
    kiln_plan_source *sources;  /* owned array (1 for ONE ports)        */
    size_t nsources;
} kiln_plan_input;

typedef struct kiln_instance {
    char *name;                 /* owned: "train[lr=0.05]" (just "train" when not swept) */
    size_t node;                /* index into graph->nodes                                */
    const kiln_op_entry *op;    /* borrowed from the registry                             */
    json_t *params;             /* owned ref: defaults filled, sweep values applied,
                                   input-file params as absolute paths                    */
    json_t *sweep;              /* owned ref: {"lr": 0.05} the axes' values (may be {})   */
    json_t *file_digests;       /* owned ref: {"images": "<sha256>"} for input-file params */
    kiln_plan_input *inputs;    /* owned array                                            */
    size_t ninputs;
    double timeout_s;           /* from the graph node                                    */
    int retries;
} kiln_instance;

typedef struct kiln_plan {
    const kiln_graph *graph;    /* borrowed                                               */
    kiln_instance *instances;   /* owned array, in a topological order (ties by name)     */
    size_t ninstances;
} kiln_plan;

/* Builds the plan of a graph that passed kiln_validate. Hashes input files (problems such
 * as an unreadable file go to diags). Returns NULL when diags got problems. */
kiln_plan *kiln_plan_build(const kiln_graph *g, const kiln_registry *reg, kiln_diags *diags);

void kiln_plan_free(kiln_plan *plan);

/* Index of the instance named `name` (exact), or -1. */
long kiln_plan_find(const kiln_plan *plan, const char *name);

/* Computes the action key of instance `i`: sha256 of the canonical JSON of
 *   {"kiln_key": 1, "op": ..., "plugin": ..., "plugin_version": ...,
 *    "params": <params with input-file params replaced by {"sha256": ...}>,
 *    "inputs": {"port": ["<digest of source 0>", ...]}}
 * plus, for ops flagged KILN_OP_KEY_INPUT_INFO, "producers": {"port": ["<instance name>", ...]}.
 * `input_digest(instance, port, user)` returns the digest of a producer's output (or NULL
 * when unknown yet, in which case this returns KILN_ENOTFOUND). */
int kiln_plan_action_key(const kiln_plan *plan, size_t i,
                         const char *(*input_digest)(size_t instance, const char *port, void *user),
                         void *user, char key_out[65]);

/* The plan as JSON (what `kiln plan --json` prints and exporters receive):
 * {"graph": {"name", "path", "dir"}, "instances": [{"name", "node", "op", "plugin",
 *  "plugin_version", "params", "sweep", "file_digests", "inputs": {"port": [{"instance",
 *  "port"}]}, "outputs": {"port": {"type", "file_name"}}, "flags": [...], "timeout_s",
 *  "retries"}]}. New reference. */
json_t *kiln_plan_to_json(const kiln_plan *plan);

#endif
