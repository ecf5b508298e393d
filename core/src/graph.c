/* graph.c -- parsing a graph spec (JSON, version 1) into kiln_graph: syntax errors with
 * line:column, then every shape problem of the document (see graph.h). */
#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

static char *xstrdup(const char *s) {
    char *r = strdup(s);
    if (!r) abort();
    return r;
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

/* Compact JSON of a value for "got ..." (cut at 80 characters). Caller frees. */
static char *render(const json_t *v) {
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!s) s = xstrdup("?");
    if (strlen(s) > 80) strcpy(s + 77, "...");
    return s;
}

/* 1 when s is a non-empty [A-Za-z0-9_-]+ name. */
static int valid_node_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* 1 when s is a non-empty [A-Za-z0-9_]+ port name (ops declare [a-z][a-z0-9_]*; validate
 * checks the port exists). */
static int valid_port_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Node lines: jansson reports positions only for errors, so a tiny scanner walks the (already */
/* valid) text and records the line of every key of the top-level "nodes" object.           */
/* ---------------------------------------------------------------------------------------- */

typedef struct line_entry {
    char *name;
    int line;
} line_entry;

typedef struct line_table {
    line_entry *items;
    size_t count, cap;
} line_table;

/* Reads the JSON string starting at text[*i] == '"'; returns its raw bytes (escapes kept,
 * enough for [A-Za-z0-9_-] names) as a malloc'd string and leaves *i after the quote. */
static char *scan_string(const char *text, size_t len, size_t *i, int *line) {
    size_t start = ++*i;
    while (*i < len && text[*i] != '"') {
        if (text[*i] == '\\' && *i + 1 < len) ++*i;
        else if (text[*i] == '\n') ++*line;
        ++*i;
    }
    size_t n = *i - start;
    char *s = xcalloc(n + 1, 1);
    memcpy(s, text + start, n);
    if (*i < len) ++*i;
    return s;
}

static void scan_node_lines(const char *text, size_t len, line_table *t) {
    enum { MAXD = 512 };
    char is_obj[MAXD];
    char want_key[MAXD];
    int depth = 0, line = 1, in_nodes = 0;
    char *top_key = NULL;
    size_t i = 0;
    while (i < len) {
        char c = text[i];
        if (c == '\n') {
            line++;
            i++;
        } else if (c == '{' || c == '[') {
            if (depth == MAXD) break;
            is_obj[depth] = c == '{';
            want_key[depth] = c == '{';
            depth++;
            if (depth == 2) in_nodes = top_key && !strcmp(top_key, "nodes") && c == '{';
            i++;
        } else if (c == '}' || c == ']') {
            if (depth > 0) depth--;
            if (depth < 2) in_nodes = 0;
            i++;
        } else if (c == ',') {
            if (depth > 0 && is_obj[depth - 1]) want_key[depth - 1] = 1;
            i++;
        } else if (c == '"') {
            int key_line = line;
            char *s = scan_string(text, len, &i, &line);
            if (depth > 0 && is_obj[depth - 1] && want_key[depth - 1]) {
                want_key[depth - 1] = 0;
                if (depth == 1) {
                    free(top_key);
                    top_key = s;
                    s = NULL;
                } else if (depth == 2 && in_nodes) {
                    if (t->count == t->cap) {
                        t->cap = t->cap ? t->cap * 2 : 16;
                        t->items = realloc(t->items, t->cap * sizeof *t->items);
                        if (!t->items) abort();
                    }
                    t->items[t->count].name = s;
                    t->items[t->count].line = key_line;
                    t->count++;
                    s = NULL;
                }
            }
            free(s);
        } else {
            i++;
        }
    }
    free(top_key);
}

static int line_of(const line_table *t, const char *name) {
    for (size_t i = 0; i < t->count; i++)
        if (!strcmp(t->items[i].name, name)) return t->items[i].line;
    return 0;
}

static void line_table_free(line_table *t) {
    for (size_t i = 0; i < t->count; i++) free(t->items[i].name);
    free(t->items);
}

/* ---------------------------------------------------------------------------------------- */
/* Shape checks                                                                              */
/* ---------------------------------------------------------------------------------------- */

static const char *const node_keys = "op, params, inputs, sweep, timeout, retries";
static const char *const top_keys = "kiln, name, description, nodes";

/* Parses "node.port" into ref; returns 0 or -1 when the syntax is wrong. */
static int parse_ref(const char *s, kiln_ref *ref) {
    const char *dot = strchr(s, '.');
    if (!dot) return -1;
    char *node = strndup(s, (size_t)(dot - s));
    if (!node) abort();
    if (!valid_node_name(node) || !valid_port_name(dot + 1)) {
        free(node);
        return -1;
    }
    ref->node = node;
    ref->port = xstrdup(dot + 1);
    return 0;
}

/* Parses one node's "inputs" object into n->inputs. */
static void parse_inputs(kiln_graph_node *n, const json_t *inputs, const char *where,
                         kiln_diags *diags) {
    n->inputs = xcalloc(json_object_size(inputs), sizeof *n->inputs);
    const char *port;
    json_t *v;
    json_object_foreach((json_t *)inputs, port, v) {
        if (!valid_port_name(port)) {
            kiln_diags_add(diags, "%s: inputs/%s: expected an input port name ([a-z][a-z0-9_]*)",
                           where, port);
            continue;
        }
        int is_array = json_is_array(v);
        size_t nrefs = is_array ? json_array_size(v) : 1;
        if (!json_is_string(v) && !(is_array && nrefs > 0)) {
            char *g = render(v);
            kiln_diags_add(diags, "%s: inputs/%s: expected \"node.port\" or a non-empty array of "
                           "them, got %s", where, port, g);
            free(g);
            continue;
        }
        kiln_graph_input *in = &n->inputs[n->ninputs];
        in->refs = xcalloc(nrefs, sizeof *in->refs);
        in->is_array = is_array;
        int ok = 1;
        for (size_t i = 0; i < nrefs; i++) {
            const json_t *r = is_array ? json_array_get(v, i) : v;
            const char *s = json_string_value(r);
            if (s && parse_ref(s, &in->refs[in->nrefs]) == 0) {
                in->nrefs++;
                continue;
            }
            char *g = render(r);
            if (is_array)
                kiln_diags_add(diags, "%s: inputs/%s/%zu: expected \"node.port\" (a node name, "
                               "a dot, an output port), got %s", where, port, i, g);
            else
                kiln_diags_add(diags, "%s: inputs/%s: expected \"node.port\" (a node name, "
                               "a dot, an output port), got %s", where, port, g);
            free(g);
            ok = 0;
        }
        if (!ok) {
            for (size_t i = 0; i < in->nrefs; i++) {
                free(in->refs[i].node);
                free(in->refs[i].port);
            }
            free(in->refs);
            memset(in, 0, sizeof *in);
            continue;
        }
        in->port = xstrdup(port);
        n->ninputs++;
    }
}

/* Checks the "sweep" object: every value a non-empty array of distinct values. */
static int check_sweep(const json_t *sweep, const char *where, kiln_diags *diags) {
    int bad = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)sweep, k, v) {
        if (!json_is_array(v) || json_array_size(v) == 0) {
            char *g = render(v);
            kiln_diags_add(diags, "%s: sweep/%s: expected a non-empty array of values, got %s",
                           where, k, g);
            free(g);
            bad = 1;
            continue;
        }
        for (size_t i = 1; i < json_array_size(v); i++) {
            for (size_t j = 0; j < i; j++) {
                const json_t *a = json_array_get(v, i), *b = json_array_get(v, j);
                int same = json_is_number(a) && json_is_number(b)
                               ? json_number_value(a) == json_number_value(b)
                               : json_equal((json_t *)a, (json_t *)b);
                if (same) {
                    char *g = render(a);
                    kiln_diags_add(diags, "%s: sweep/%s/%zu: expected distinct values, got %s "
                                   "again (also at sweep/%s/%zu)", where, k, i, g, k, j);
                    free(g);
                    bad = 1;
                    break;
                }
            }
        }
    }
    return bad;
}

/* Fills n from the node object v; every problem goes to diags. */
static void parse_node(kiln_graph *g, kiln_graph_node *n, const char *name, const json_t *v,
                       kiln_diags *diags) {
    char *where = NULL;
    if (asprintf(&where, "%s: node '%s'", g->path, name) < 0) abort();
    n->name = xstrdup(name);
    n->params = json_object();
    if (!valid_node_name(name))
        kiln_diags_add(diags, "%s: expected a node name of letters, digits, '_' and '-'", where);
    if (!json_is_object(v)) {
        char *gv = render(v);
        kiln_diags_add(diags, "%s: expected an object with \"op\", got %s", where, gv);
        free(gv);
        n->op = xstrdup("");
        free(where);
        return;
    }

    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
        if (strcmp(k, "op") && strcmp(k, "params") && strcmp(k, "inputs") && strcmp(k, "sweep") &&
            strcmp(k, "timeout") && strcmp(k, "retries"))
            kiln_diags_add(diags, "%s: %s: unknown key; allowed: %s", where, k, node_keys);
    }

    const json_t *op = json_object_get(v, "op");
    if (!op) {
        kiln_diags_add(diags, "%s: op: missing; expected \"op\": \"<plugin>.<op>\"", where);
    } else if (!json_is_string(op) || json_string_length(op) == 0) {
        char *gv = render(op);
        kiln_diags_add(diags, "%s: op: expected an op name string (\"cpu.train\"), got %s", where, gv);
        free(gv);
    }
    n->op = xstrdup(json_is_string(op) ? json_string_value(op) : "");

    const json_t *params = json_object_get(v, "params");
    if (params && !json_is_object(params)) {
        char *gv = render(params);
        kiln_diags_add(diags, "%s: params: expected an object, got %s", where, gv);
        free(gv);
    } else if (params) {
        json_decref(n->params);
        n->params = json_deep_copy(params);
        if (!n->params) abort();
    }

    const json_t *inputs = json_object_get(v, "inputs");
    if (inputs && !json_is_object(inputs)) {
        char *gv = render(inputs);
        kiln_diags_add(diags, "%s: inputs: expected an object of \"port\": \"node.port\", got %s",
                       where, gv);
        free(gv);
    } else if (inputs) {
        parse_inputs(n, inputs, where, diags);
    }

    const json_t *sweep = json_object_get(v, "sweep");
    if (sweep && !json_is_object(sweep)) {
        char *gv = render(sweep);
        kiln_diags_add(diags, "%s: sweep: expected an object of \"param\": [values...], got %s",
                       where, gv);
        free(gv);
    } else if (sweep && !check_sweep(sweep, where, diags) && json_object_size(sweep) > 0) {
        n->sweep = json_deep_copy(sweep);
        if (!n->sweep) abort();
    }

    const json_t *timeout = json_object_get(v, "timeout");
    if (timeout) {
        if (!json_is_number(timeout) || !(json_number_value(timeout) >= 0) ||
            !isfinite(json_number_value(timeout))) {
            char *gv = render(timeout);
            kiln_diags_add(diags, "%s: timeout: expected a number of seconds >= 0, got %s", where, gv);
            free(gv);
        } else {
            n->timeout_s = json_number_value(timeout);
        }
    }

    const json_t *retries = json_object_get(v, "retries");
    if (retries) {
        /* An integral real (2.0) counts as an integer, as in the params schema. */
        int is_int = json_is_integer(retries) ||
                     (json_is_real(retries) && json_real_value(retries) == floor(json_real_value(retries)));
        double r = json_number_value(retries);
        if (!is_int || r < 0 || r > 1000000) {
            char *gv = render(retries);
            kiln_diags_add(diags, "%s: retries: expected an integer >= 0, got %s", where, gv);
            free(gv);
        } else {
            n->retries = (int)r;
        }
    }
    free(where);
}

/* ---------------------------------------------------------------------------------------- */
/* Public API                                                                                */
/* ---------------------------------------------------------------------------------------- */

/* Parses text: JSON syntax (one error with line:column, then NULL), then the shape. */
kiln_graph *kiln_graph_parse_text(const char *text, size_t len, const char *path,
                                  kiln_diags *diags) {
    if (!path) path = "<graph>";
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        kiln_diags_add(diags, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        char *gv = render(root);
        kiln_diags_add(diags, "%s: expected a JSON object {\"kiln\": 1, \"nodes\": {...}}, got %s",
                       path, gv);
        free(gv);
        json_decref(root);
        return NULL;
    }

    kiln_graph *g = xcalloc(1, sizeof *g);
    g->path = xstrdup(path);
    char *abs = kiln_path_absolute(NULL, path);
    g->dir = kiln_path_dirname(abs);
    free(abs);

    const char *k;
    json_t *x;
    json_object_foreach(root, k, x) {
        if (strcmp(k, "kiln") && strcmp(k, "name") && strcmp(k, "description") && strcmp(k, "nodes"))
            kiln_diags_add(diags, "%s: %s: unknown key; allowed: %s", path, k, top_keys);
    }

    const json_t *ver = json_object_get(root, "kiln");
    if (!ver) {
        kiln_diags_add(diags, "%s: kiln: missing; expected \"kiln\": 1 (the graph spec version)", path);
    } else if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
        char *gv = render(ver);
        kiln_diags_add(diags, "%s: kiln: expected 1 (the only graph spec version this kiln "
                       "reads), got %s", path, gv);
        free(gv);
    }

    const json_t *name = json_object_get(root, "name");
    if (name && !json_is_string(name)) {
        char *gv = render(name);
        kiln_diags_add(diags, "%s: name: expected a string, got %s", path, gv);
        free(gv);
    }
    g->name = xstrdup(json_is_string(name) ? json_string_value(name) : "");

    const json_t *desc = json_object_get(root, "description");
    if (desc && !json_is_string(desc)) {
        char *gv = render(desc);
        kiln_diags_add(diags, "%s: description: expected a string, got %s", path, gv);
        free(gv);
    }

    const json_t *nodes = json_object_get(root, "nodes");
    if (!nodes) {
        kiln_diags_add(diags, "%s: nodes: missing; expected \"nodes\": {\"name\": {\"op\": ...}}", path);
    } else if (!json_is_object(nodes)) {
        char *gv = render(nodes);
        kiln_diags_add(diags, "%s: nodes: expected an object of named nodes, got %s", path, gv);
        free(gv);
    } else {
        line_table lines = {0};
        scan_node_lines(text, len, &lines);
        g->nodes = xcalloc(json_object_size(nodes), sizeof *g->nodes);
        json_object_foreach((json_t *)nodes, k, x) {
            kiln_graph_node *n = &g->nodes[g->nnodes++];
            parse_node(g, n, k, x, diags);
            n->line = line_of(&lines, k);
        }
        line_table_free(&lines);
        if (g->nnodes == 0) kiln_diags_add(diags, "%s: nodes: expected at least one node", path);
    }
    json_decref(root);
    return g;
}

/* Reads the file, then parses it; an unreadable file is one diagnostic and NULL. */
kiln_graph *kiln_graph_parse_file(const char *path, kiln_diags *diags) {
    char *data = NULL;
    size_t len = 0;
    kiln_error err = {0};
    if (kiln_read_file(path, &data, &len, &err) != 0) {
        kiln_diags_add(diags, "%s", err.message);
        return NULL;
    }
    kiln_graph *g = kiln_graph_parse_text(data, len, path, diags);
    free(data);
    return g;
}

/* Frees the graph and everything it owns. NULL is ignored. */
void kiln_graph_free(kiln_graph *g) {
    if (!g) return;
    for (size_t i = 0; i < g->nnodes; i++) {
        kiln_graph_node *n = &g->nodes[i];
        free(n->name);
        free(n->op);
        json_decref(n->params);
        json_decref(n->sweep);
        for (size_t j = 0; j < n->ninputs; j++) {
            for (size_t r = 0; r < n->inputs[j].nrefs; r++) {
                free(n->inputs[j].refs[r].node);
                free(n->inputs[j].refs[r].port);
            }
            free(n->inputs[j].refs);
            free(n->inputs[j].port);
        }
        free(n->inputs);
    }
    free(g->nodes);
    free(g->path);
    free(g->dir);
    free(g->name);
    free(g);
}

/* Linear search by exact name; -1 when absent (or g/name is NULL). */
long kiln_graph_find(const kiln_graph *g, const char *name) {
    if (!g || !name) return -1;
    for (size_t i = 0; i < g->nnodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return (long)i;
    return -1;
}
