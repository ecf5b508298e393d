/* submission.c -- request bodies that carry a graph (see submission.h). */
#include "submission.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "validate.h"

#define LABELS_MAX 32
#define LABEL_KEY_MAX 63
#define LABEL_VALUE_MAX 256

static int problem_set(kiln_api_problem *p, unsigned status, const char *code, json_t *details, const char *fmt, ...)
    KILN_PRINTF(5, 6);

static int problem_set(kiln_api_problem *p, unsigned status, const char *code, json_t *details, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
    p->status = status;
    p->code = code;
    p->details = details;
    return -1;
}

static int label_key_ok(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > LABEL_KEY_MAX) return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || strchr("_.:/-", *k)))
            return 0;
    return 1;
}

void kiln_api_submission_free(kiln_api_submission *s) {
    if (!s) return;
    free(s->graph_text);
    free(s->path);
    free(s->name);
    json_decref(s->labels);
    memset(s, 0, sizeof *s);
}

int kiln_api_submission_parse(const char *body, size_t len, kiln_api_submission *out, kiln_api_problem *problem) {
    memset(out, 0, sizeof *out);
    memset(problem, 0, sizeof *problem);
    if (len == 0)
        return problem_set(problem, 400, "bad_request", NULL,
                           "empty body: expected a graph or {\"graph\": {...}, \"name\", \"labels\", \"path\"}");
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        json_t *d = json_pack("{s:i, s:i, s:i}", "line", je.line, "column", je.column, "position", je.position);
        return problem_set(problem, 400, "bad_json", d, "malformed JSON at line %d, column %d (byte %d): %s", je.line,
                           je.column, je.position, je.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return problem_set(problem, 400, "bad_request", NULL, "expected a JSON object (a graph, or {\"graph\": {...}})");
    }
    const json_t *graph = root;
    const json_t *wrapped = json_object_get(root, "graph");
    if (wrapped) {
        const char *k;
        json_t *v;
        json_object_foreach(root, k, v) {
            if (strcmp(k, "graph") && strcmp(k, "name") && strcmp(k, "labels") && strcmp(k, "path")) {
                problem_set(problem, 400, "bad_request", NULL, "%s: unknown key; allowed: graph, name, labels, path", k);
                json_decref(root); /* k points into it */
                return -1;
            }
        }
        if (!json_is_object(wrapped)) {
            json_decref(root);
            return problem_set(problem, 400, "bad_request", NULL, "graph: expected a JSON object");
        }
        graph = wrapped;
    }
    int rc = 0;
    const json_t *name = wrapped ? json_object_get(root, "name") : NULL;
    const json_t *labels = wrapped ? json_object_get(root, "labels") : NULL;
    const json_t *path = wrapped ? json_object_get(root, "path") : NULL;
    if (name && !json_is_string(name)) {
        rc = problem_set(problem, 400, "bad_request", NULL, "name: expected a string");
    } else if (name && strlen(json_string_value(name)) > 256) {
        rc = problem_set(problem, 400, "bad_request", NULL, "name: at most 256 bytes");
    } else if (labels && !json_is_object(labels)) {
        rc = problem_set(problem, 400, "bad_request", NULL, "labels: expected an object of strings");
    } else if (json_object_size(labels) > LABELS_MAX) {
        rc = problem_set(problem, 400, "bad_request", NULL, "labels: at most %d", LABELS_MAX);
    } else if (path && (!json_is_string(path) || json_string_value(path)[0] != '/')) {
        rc = problem_set(problem, 400, "bad_request", NULL, "path: expected an absolute path");
    }
    if (rc == 0 && labels) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)labels, k, v) {
            if (!label_key_ok(k)) {
                rc = problem_set(problem, 400, "bad_request", NULL,
                                 "labels/%s: expected a key of 1-%d characters from [A-Za-z0-9_.:/-]", k, LABEL_KEY_MAX);
                break;
            }
            if (!json_is_string(v) || strlen(json_string_value(v)) > LABEL_VALUE_MAX) {
                rc = problem_set(problem, 400, "bad_request", NULL, "labels/%s: expected a string of at most %d bytes", k,
                                 LABEL_VALUE_MAX);
                break;
            }
        }
    }
    if (rc == 0) {
        out->graph_text = json_dumps(graph, JSON_COMPACT);
        out->path = path ? kiln_path_absolute(NULL, json_string_value(path)) : kiln_path_absolute(NULL, "graph.json");
        const char *gname = json_string_value(json_object_get(graph, "name"));
        out->name = strdup(name ? json_string_value(name) : gname ? gname : "");
        out->labels = labels ? json_deep_copy(labels) : json_object();
        if (!out->graph_text || !out->path || !out->name || !out->labels) {
            kiln_api_submission_free(out);
            rc = problem_set(problem, 500, "internal", NULL, "out of memory");
        }
    }
    json_decref(root);
    return rc;
}

int kiln_api_graph_check(const kiln_registry *reg, const char *graph_text, const char *path,
                         kiln_graph **graph_out, kiln_plan **plan_out, kiln_diags *diags) {
    *graph_out = NULL;
    *plan_out = NULL;
    kiln_graph *g = kiln_graph_parse_text(graph_text, strlen(graph_text), path, diags);
    if (g) kiln_validate(g, reg, diags); /* every problem at once */
    kiln_plan *plan = NULL;
    if (g && diags->count == 0) plan = kiln_plan_build(g, reg, diags);
    if (diags->count || !plan) {
        if (diags->count == 0) kiln_diags_add(diags, "%s: invalid graph", path);
        kiln_plan_free(plan);
        kiln_graph_free(g);
        return -1;
    }
    *graph_out = g;
    *plan_out = plan;
    return 0;
}

json_t *kiln_api_diags_json(const kiln_diags *diags) {
    json_t *arr = json_array();
    for (size_t i = 0; i < diags->count; i++) json_array_append_new(arr, json_string(diags->items[i]));
    return json_pack("{s:o}", "errors", arr);
}
