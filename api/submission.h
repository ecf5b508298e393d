/* submission.h -- what POST /v1/jobs and POST /v1/validate accept, and the graph check they
 * share with POST /v1/jobs/{id}/retry.
 *
 * Body: either the graph itself ({"kiln": 1, "nodes": {...}}), or
 *   {"graph": {...}, "name": "optional job name", "labels": {"key": "value"},
 *    "path": "/absolute/path/of/the/graph.json"}
 * "path" names the graph in messages and is where relative input files are resolved (its
 * directory); without it the graph is called "graph.json" in the server's working
 * directory. Label keys are 1-63 characters of [A-Za-z0-9_.:/-], values strings of at most
 * 256 bytes, at most 32 labels. */
#ifndef KILN_API_SUBMISSION_H
#define KILN_API_SUBMISSION_H

#include <jansson.h>
#include "diag.h"
#include "graph.h"
#include "plan.h"
#include "registry.h"

typedef struct kiln_api_submission {
    char *graph_text; /* owned: the graph, compact JSON             */
    char *path;       /* owned: absolute name the graph is checked under */
    char *name;       /* owned: job name ("" when none)              */
    json_t *labels;   /* owned ref: object of strings ({} when none) */
} kiln_api_submission;

/* Why a body was refused: HTTP status (400 or 422), an error code for the error object
 * ("bad_json", "bad_request", "invalid_graph"), a message and details (owned ref or NULL:
 * {"line", "column", "position"} for bad JSON, {"errors": [...]} for an invalid graph). */
typedef struct kiln_api_problem {
    unsigned status;
    const char *code;
    char message[KILN_ERROR_MESSAGE_MAX];
    json_t *details;
} kiln_api_problem;

/* Parses a request body into `out` (zeroed first; release with kiln_api_submission_free).
 * Returns 0, or -1 with `problem` filled (the caller releases problem->details). */
int kiln_api_submission_parse(const char *body, size_t len, kiln_api_submission *out, kiln_api_problem *problem);

void kiln_api_submission_free(kiln_api_submission *s);

/* Parses, validates and plans graph_text under `path` against the registry. Returns 0 with
 * *graph_out and *plan_out (caller frees: kiln_plan_free, then kiln_graph_free), or -1 with
 * every problem in diags. */
int kiln_api_graph_check(const kiln_registry *reg, const char *graph_text, const char *path,
                         kiln_graph **graph_out, kiln_plan **plan_out, kiln_diags *diags);

/* {"errors": [every diagnostic]} (new reference). */
json_t *kiln_api_diags_json(const kiln_diags *diags);

#endif
