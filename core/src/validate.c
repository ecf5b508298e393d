/* validate.c -- checking a parsed graph against the loaded ops (see validate.h). Every
 * problem is reported; nothing stops at the first one. */
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

static const char *type_name(kiln_port_type t) {
    switch (t) {
    case KILN_TYPE_DATASET: return "dataset";
    case KILN_TYPE_MODEL: return "model";
    case KILN_TYPE_METRICS: return "metrics";
    case KILN_TYPE_WHEEL: return "wheel";
    case KILN_TYPE_FILE: return "file";
    }
    return "unknown";
}

static const char *type_article(kiln_port_type t) {
    return t == KILN_TYPE_METRICS ? "" : "a ";
}

/* Optimal-string-alignment distance (adjacent transpositions count one edit). */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t *d = xcalloc((la + 1) * (lb + 1), sizeof *d);
#define D(i, j) d[(i) * (lb + 1) + (j)]
    for (size_t i = 0; i <= la; i++) D(i, 0) = i;
    for (size_t j = 0; j <= lb; j++) D(0, j) = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = D(i - 1, j) + 1;
            if (D(i, j - 1) + 1 < best) best = D(i, j - 1) + 1;
            size_t sub = D(i - 1, j - 1) + (a[i - 1] != b[j - 1]);
            if (sub < best) best = sub;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                D(i - 2, j - 2) + 1 < best)
                best = D(i - 2, j - 2) + 1;
            D(i, j) = best;
        }
    size_t r = D(la, lb);
#undef D
    free(d);
    return r;
}

/* Names-list helper: candidates are collected, then listed and searched for a near miss. */
typedef struct names {
    const char **items;
    size_t count, cap;
} names;

static void names_add(names *n, const char *s) {
    if (n->count == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 8;
        n->items = realloc(n->items, n->cap * sizeof *n->items);
        if (!n->items) abort();
    }
    n->items[n->count++] = s;
}

static void names_from_ports(names *n, const kiln_port_def *ports) {
    for (size_t i = 0; ports && ports[i].name; i++) names_add(n, ports[i].name);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a, b, c" (sorted), malloc'd. */
static char *names_join(names *n) {
    qsort(n->items, n->count, sizeof *n->items, cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < n->count; i++) len += strlen(n->items[i]) + 2;
    char *s = xcalloc(len, 1);
    for (size_t i = 0; i < n->count; i++) {
        if (i) strcat(s, ", ");
        strcat(s, n->items[i]);
    }
    return s;
}

/* The closest candidate to `name` when it looks like a typo of it, or NULL. */
static const char *names_closest(const names *n, const char *name) {
    size_t len = strlen(name);
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n->count; i++) {
        size_t d = edit_distance(name, n->items[i]);
        if (d <= limit && (d < best_d || (d == best_d && strcmp(n->items[i], best) < 0))) {
            best = n->items[i];
            best_d = d;
        }
    }
    return best;
}

/* " (did you mean 'x'?)" or "" into buf. */
static const char *did_you_mean(const names *n, const char *name, char *buf, size_t buflen) {
    const char *c = names_closest(n, name);
    if (c)
        snprintf(buf, buflen, " (did you mean '%s'?)", c);
    else
        buf[0] = '\0';
    return buf;
}

static const kiln_port_def *find_port(const kiln_port_def *ports, const char *name) {
    for (size_t i = 0; ports && ports[i].name; i++)
        if (!strcmp(ports[i].name, name)) return &ports[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */

/* Checks that the input-file value `v` (at "<where>: <path>") names a regular file. */
static void check_input_file(const kiln_graph *g, const json_t *v, const char *where,
                             const char *path, kiln_diags *diags) {
    const char *s = json_string_value(v);
    if (!s) return; /* ill-typed: the schema reported it */
    if (!*s) {
        kiln_diags_add(diags, "%s: %s: expected the path of an existing file, got \"\"", where, path);
        return;
    }
    char *abs = kiln_path_absolute(g->dir, s);
    if (!kiln_is_regular_file(abs)) {
        const char *why = kiln_is_directory(abs) ? "a directory" : "no such file";
        if (strcmp(abs, s))
            kiln_diags_add(diags, "%s: %s: expected an existing regular file, got \"%s\" "
                           "(resolved to %s: %s)", where, path, s, abs, why);
        else
            kiln_diags_add(diags, "%s: %s: expected an existing regular file, got \"%s\" (%s)",
                           where, path, s, why);
    }
    free(abs);
}

/* Params and sweep of node n against its op's schema. */
static void check_params(const kiln_graph *g, const kiln_graph_node *n, const kiln_op_entry *op,
                         const char *where, kiln_diags *diags) {
    json_t *params = json_deep_copy(n->params);
    if (!params) abort();
    kiln_schema_apply(op->schema, params, n->sweep, where, diags);
    const char *k;
    json_t *v;
    json_object_foreach(params, k, v) {
        if (n->sweep && json_object_get(n->sweep, k)) continue; /* the sweep's values win */
        if (!kiln_schema_is_input_file(op->schema, k)) continue;
        char path[512];
        snprintf(path, sizeof path, "params/%s", k);
        check_input_file(g, v, where, path, diags);
    }
    json_decref(params);

    if (!n->sweep) return;
    json_object_foreach(n->sweep, k, v) {
        char *loc = NULL;
        if (!kiln_schema_has(op->schema, k)) {
            if (asprintf(&loc, "%s: sweep/%s", where, k) < 0) abort();
            kiln_schema_check_value(op->schema, k, json_array_get(v, 0), loc, diags);
            free(loc);
            continue;
        }
        int is_file = kiln_schema_is_input_file(op->schema, k);
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *copy = json_deep_copy(json_array_get(v, i));
            if (!copy) abort();
            if (asprintf(&loc, "%s: sweep/%s/%zu", where, k, i) < 0) abort();
            int bad = kiln_schema_check_value(op->schema, k, copy, loc, diags);
            free(loc);
            if (!bad && is_file) {
                char path[512];
                snprintf(path, sizeof path, "sweep/%s/%zu", k, i);
                check_input_file(g, copy, where, path, diags);
            }
            json_decref(copy);
        }
    }
}

/* One reference of input `in` of node n (at "inputs/port[/i]"). */
static void check_ref(const kiln_graph *g, const kiln_registry *reg, const kiln_ref *ref,
                      const kiln_port_def *in, const char *where, const char *path,
                      kiln_diags *diags) {
    char hint[256];
    long p = kiln_graph_find(g, ref->node);
    if (p < 0) {
        names all = {0};
        for (size_t i = 0; i < g->nnodes; i++) names_add(&all, g->nodes[i].name);
        kiln_diags_add(diags, "%s: %s: expected \"node.port\" naming a node of the graph; no node "
                       "'%s'%s", where, path, ref->node, did_you_mean(&all, ref->node, hint, sizeof hint));
        free(all.items);
        return;
    }
    const kiln_op_entry *pop = kiln_registry_find_op(reg, g->nodes[p].op);
    if (!pop) return; /* its unknown op is reported on that node */
    const kiln_port_def *out = find_port(pop->def->outputs, ref->port);
    if (!out) {
        names outs = {0};
        names_from_ports(&outs, pop->def->outputs);
        did_you_mean(&outs, ref->port, hint, sizeof hint);
        char *list = names_join(&outs);
        kiln_diags_add(diags, "%s: %s: node '%s' (op %s) has no output '%s'; outputs: %s%s", where,
                       path, ref->node, pop->def->name, ref->port, list, hint);
        free(list);
        free(outs.items);
        return;
    }
    if (in && in->type != KILN_TYPE_FILE && in->type != out->type) {
        kiln_diags_add(diags, "%s: %s: expected %s%s output for port '%s', got '%s.%s', %s%s", where,
                       path, type_article(in->type), type_name(in->type), in->name, ref->node,
                       ref->port, type_article(out->type), type_name(out->type));
    }
}

/* Inputs of node n: ports exist, references resolve, types and cardinality fit, required
 * inputs are wired. `op` may be NULL (unknown op): only references are checked then. */
static void check_inputs(const kiln_graph *g, const kiln_registry *reg, const kiln_graph_node *n,
                         const kiln_op_entry *op, const char *where, kiln_diags *diags) {
    char hint[256];
    for (size_t i = 0; i < n->ninputs; i++) {
        const kiln_graph_input *gi = &n->inputs[i];
        const kiln_port_def *in = NULL;
        if (op) {
            in = find_port(op->def->inputs, gi->port);
            if (!in) {
                names ins = {0};
                names_from_ports(&ins, op->def->inputs);
                if (ins.count == 0) {
                    kiln_diags_add(diags, "%s: inputs/%s: unknown input port; op %s takes no inputs",
                                   where, gi->port, op->def->name);
                } else {
                    did_you_mean(&ins, gi->port, hint, sizeof hint);
                    char *list = names_join(&ins);
                    kiln_diags_add(diags, "%s: inputs/%s: unknown input port of op %s; known: %s%s",
                                   where, gi->port, op->def->name, list, hint);
                    free(list);
                }
                free(ins.items);
            } else if (in->cardinality == KILN_ONE && gi->nrefs != 1) {
                kiln_diags_add(diags, "%s: inputs/%s: expected exactly one reference (port '%s' "
                               "takes one %s, it is not a list port), got %zu", where, gi->port,
                               in->name, type_name(in->type), gi->nrefs);
            }
        }
        for (size_t r = 0; r < gi->nrefs; r++) {
            char path[512];
            if (gi->is_array)
                snprintf(path, sizeof path, "inputs/%s/%zu", gi->port, r);
            else
                snprintf(path, sizeof path, "inputs/%s", gi->port);
            check_ref(g, reg, &gi->refs[r], in, where, path, diags);
        }
    }
    if (!op) return;
    for (size_t p = 0; op->def->inputs && op->def->inputs[p].name; p++) {
        const kiln_port_def *in = &op->def->inputs[p];
        if (in->flags & KILN_PORT_OPTIONAL) continue;
        int wired = 0;
        for (size_t i = 0; i < n->ninputs && !wired; i++) wired = !strcmp(n->inputs[i].port, in->name);
        if (!wired)
            kiln_diags_add(diags, "%s: inputs: missing required input '%s' (%s%s, \"node.port\")",
                           where, in->name, in->cardinality == KILN_LIST ? "list of " : "",
                           type_name(in->type));
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Cycles                                                                                    */
/* ---------------------------------------------------------------------------------------- */

typedef struct cycle_ctx {
    const kiln_graph *g;
    size_t **succ;   /* succ[p]: consumers of p (data flows p -> consumer), no duplicates */
    size_t *nsucc;
    int *color;      /* 0 white, 1 on the stack, 2 done */
    size_t *stack;
    size_t depth;
    kiln_diags *diags;
} cycle_ctx;

static void report_cycle(cycle_ctx *c, size_t from) {
    /* stack[from..depth-1] is the cycle in data-flow order; start it at its earliest node in
     * the document so that the message does not depend on where the search began. */
    size_t len = c->depth - from;
    size_t start = from;
    for (size_t i = from; i < c->depth; i++)
        if (c->stack[i] < c->stack[start]) start = i;
    size_t total = 1;
    for (size_t i = 0; i <= len; i++) total += strlen(c->g->nodes[c->stack[from + (start - from + i) % len]].name) + 4;
    char *s = xcalloc(total, 1);
    for (size_t i = 0; i <= len; i++) {
        if (i) strcat(s, " -> ");
        strcat(s, c->g->nodes[c->stack[from + (start - from + i) % len]].name);
    }
    kiln_diags_add(c->diags, "%s: node '%s': inputs: expected no cycles, got the cycle %s",
                   c->g->path, c->g->nodes[c->stack[start]].name, s);
    free(s);
}

static void dfs(cycle_ctx *c, size_t v) {
    c->color[v] = 1;
    c->stack[c->depth++] = v;
    for (size_t i = 0; i < c->nsucc[v]; i++) {
        size_t w = c->succ[v][i];
        if (c->color[w] == 1) {
            size_t from = 0;
            while (c->stack[from] != w) from++;
            report_cycle(c, from);
        } else if (c->color[w] == 0) {
            dfs(c, w);
        }
    }
    c->depth--;
    c->color[v] = 2;
}

static void check_cycles(const kiln_graph *g, kiln_diags *diags) {
    size_t n = g->nnodes;
    cycle_ctx c = {g, xcalloc(n, sizeof(size_t *)), xcalloc(n, sizeof(size_t)),
                   xcalloc(n, sizeof(int)), xcalloc(n, sizeof(size_t)), 0, diags};
    size_t *cap = xcalloc(n, sizeof(size_t));
    for (size_t v = 0; v < n; v++) {
        const kiln_graph_node *node = &g->nodes[v];
        for (size_t i = 0; i < node->ninputs; i++)
            for (size_t r = 0; r < node->inputs[i].nrefs; r++) {
                long p = kiln_graph_find(g, node->inputs[i].refs[r].node);
                if (p < 0) continue;
                int dup = 0;
                for (size_t k = 0; k < c.nsucc[p] && !dup; k++) dup = c.succ[p][k] == v;
                if (dup) continue;
                if (c.nsucc[p] == cap[p]) {
                    cap[p] = cap[p] ? cap[p] * 2 : 4;
                    c.succ[p] = realloc(c.succ[p], cap[p] * sizeof(size_t));
                    if (!c.succ[p]) abort();
                }
                c.succ[p][c.nsucc[p]++] = v;
            }
    }
    for (size_t v = 0; v < n; v++)
        if (c.color[v] == 0) dfs(&c, v);
    for (size_t i = 0; i < n; i++) free(c.succ[i]);
    free(cap);
    free(c.succ);
    free(c.nsucc);
    free(c.color);
    free(c.stack);
}

/* ---------------------------------------------------------------------------------------- */

/* See validate.h. */
int kiln_validate(const kiln_graph *g, const kiln_registry *reg, kiln_diags *diags) {
    size_t before = diags->count;
    for (size_t i = 0; i < g->nnodes; i++) {
        const kiln_graph_node *n = &g->nodes[i];
        char *where = NULL;
        if (asprintf(&where, "%s: node '%s'", g->path, n->name) < 0) abort();
        const kiln_op_entry *op = NULL;
        if (n->op && *n->op) { /* an empty op was reported by the parser */
            op = kiln_registry_find_op(reg, n->op);
            if (!op) {
                char sugg[512];
                kiln_registry_suggest(reg, n->op, sugg, sizeof sugg);
                if (*sugg)
                    kiln_diags_add(diags, "%s: op: unknown op '%s'; did you mean %s? (kiln plugins "
                                   "lists the loaded ops)", where, n->op, sugg);
                else
                    kiln_diags_add(diags, "%s: op: unknown op '%s' (kiln plugins lists the loaded "
                                   "ops)", where, n->op);
            }
        }
        if (op) check_params(g, n, op, where, diags);
        check_inputs(g, reg, n, op, where, diags);
        free(where);
    }
    check_cycles(g, diags);
    return (int)(diags->count - before);
}
