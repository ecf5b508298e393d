/* plan.c -- expanding a validated graph into node instances (sweeps, fan-out, gathering),
 * ordering them, hashing input files, and computing action keys (see plan.h).
 *
 * An *axis* is one swept param of one node: (origin node, param name, values). Every node
 * gets an axis set: its own axes plus, through each ONE input, every axis of the producer.
 * A node's instances are the cartesian product of its axes (sorted by param name, then by
 * origin node name; the last axis varies fastest). Because a ONE producer's axes are a
 * subset of the consumer's, exactly one producer instance agrees with each consumer
 * instance; a LIST input gathers every producer instance that agrees on the shared axes. */
#include "plan.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "fsutil.h"
#include "sha256.h"

/* Refuse sweeps that would expand past this many instances in total. */
#define KILN_PLAN_MAX_INSTANCES 100000u

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) abort();
    return p;
}

static char *xstrdup(const char *s) {
    char *r = strdup(s);
    if (!r) abort();
    return r;
}

/* ---------------------------------------------------------------------------------------- */
/* Value text for instance names                                                             */
/* ---------------------------------------------------------------------------------------- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1) cap *= 2;
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static char *sb_take(sbuf *b) {
    if (!b->s) sb_putn(b, "", 0);
    char *s = b->s;
    memset(b, 0, sizeof *b);
    return s;
}

/* Shortest text that reads back as the same double, ".0" added when it would read as an
 * integer: 0.05 -> "0.05", 1.0 -> "1.0", 1e-05 stays. */
static void put_real(sbuf *b, double d) {
    char buf[40];
    if (!isfinite(d)) {
        sb_puts(b, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eE")) strcat(buf, ".0");
    sb_puts(b, buf);
}

/* 1 when s is non-empty [A-Za-z0-9_.-]+ (printed unquoted in names). */
static int plain_string(const char *s) {
    if (!*s) return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Compact JSON, shortest reals; a top-level plain string is written bare. */
static void put_value(sbuf *b, const json_t *v, int top) {
    switch (json_typeof(v)) {
    case JSON_REAL: put_real(b, json_real_value(v)); return;
    case JSON_STRING:
        if (top && plain_string(json_string_value(v))) {
            sb_puts(b, json_string_value(v));
            return;
        }
        break;
    case JSON_ARRAY:
        sb_puts(b, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) sb_puts(b, ",");
            put_value(b, json_array_get(v, i), 0);
        }
        sb_puts(b, "]");
        return;
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        int first = 1;
        sb_puts(b, "{");
        json_object_foreach((json_t *)v, k, x) {
            if (!first) sb_puts(b, ",");
            first = 0;
            json_t *ks = json_string(k);
            char *kd = json_dumps(ks, JSON_ENCODE_ANY);
            json_decref(ks);
            sb_puts(b, kd ? kd : "\"\"");
            free(kd);
            sb_puts(b, ":");
            put_value(b, x, 0);
        }
        sb_puts(b, "}");
        return;
    }
    default: break;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    sb_puts(b, s ? s : "null");
    free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* Building                                                                                  */
/* ---------------------------------------------------------------------------------------- */

typedef struct axis {
    size_t node;          /* origin node                    */
    const char *param;    /* borrowed from the graph's sweep */
    const json_t *values; /* borrowed: non-empty array       */
} axis;

typedef struct node_info {
    const kiln_op_entry *op;
    size_t *axes;     /* owned: axis ids in naming order */
    char **labels;    /* owned: display name of each axis ("lr" or "train.lr") */
    size_t naxes;
    size_t first;     /* first instance (build order)    */
    size_t count;     /* number of instances             */
    int done;
} node_info;

typedef struct builder {
    const kiln_graph *g;
    const kiln_registry *reg;
    kiln_diags *diags;
    axis *axes;
    size_t naxes;
    node_info *info;
    kiln_instance *inst; /* build order */
    size_t ninst;
    json_t *hashed;      /* absolute path -> digest, so each file is read once */
    int failed;
} builder;

static int axis_cmp(const builder *b, size_t x, size_t y) {
    int c = strcmp(b->axes[x].param, b->axes[y].param);
    if (c) return c;
    return strcmp(b->g->nodes[b->axes[x].node].name, b->g->nodes[b->axes[y].node].name);
}

/* Adds axis `a` to node n's set unless present (kept sorted by insertion sort). */
static void add_axis(builder *b, node_info *ni, size_t a) {
    for (size_t i = 0; i < ni->naxes; i++)
        if (ni->axes[i] == a) return;
    ni->axes = xrealloc(ni->axes, (ni->naxes + 1) * sizeof *ni->axes);
    size_t pos = ni->naxes;
    while (pos > 0 && axis_cmp(b, ni->axes[pos - 1], a) > 0) {
        ni->axes[pos] = ni->axes[pos - 1];
        pos--;
    }
    ni->axes[pos] = a;
    ni->naxes++;
}

/* Index within the node-local axis list of global axis a, or -1. */
static long local_axis(const node_info *ni, size_t a) {
    for (size_t i = 0; i < ni->naxes; i++)
        if (ni->axes[i] == a) return (long)i;
    return -1;
}

/* Decodes instance k of node ni (0..count-1) into assign[global axis] = value index. */
static void decode(const builder *b, const node_info *ni, size_t k, size_t *assign) {
    for (size_t i = ni->naxes; i-- > 0;) {
        size_t n = json_array_size(b->axes[ni->axes[i]].values);
        assign[ni->axes[i]] = k % n;
        k /= n;
    }
}

/* Local instance index of node pi agreeing with assign on all pi's axes. */
static size_t encode(const builder *b, const node_info *pi, const size_t *assign) {
    size_t k = 0;
    for (size_t i = 0; i < pi->naxes; i++)
        k = k * json_array_size(b->axes[pi->axes[i]].values) + assign[pi->axes[i]];
    return k;
}

static const kiln_port_def *find_port(const kiln_port_def *ports, const char *name) {
    for (size_t i = 0; ports && ports[i].name; i++)
        if (!strcmp(ports[i].name, name)) return &ports[i];
    return NULL;
}

/* Node-level topological order (Kahn; ties by document order). Returns a malloc'd array of
 * g->nnodes indices, or NULL (with a diagnostic) when the graph has a cycle. */
static size_t *node_order(builder *b) {
    const kiln_graph *g = b->g;
    size_t n = g->nnodes;
    size_t *indeg = xcalloc(n, sizeof *indeg);
    size_t *order = xcalloc(n, sizeof *order);
    int *placed = xcalloc(n, sizeof *placed);
    for (size_t v = 0; v < n; v++)
        for (size_t i = 0; i < g->nodes[v].ninputs; i++)
            indeg[v] += g->nodes[v].inputs[i].nrefs;
    size_t count = 0;
    int progress = 1;
    while (count < n && progress) {
        progress = 0;
        for (size_t v = 0; v < n; v++) {
            if (placed[v] || indeg[v]) continue;
            placed[v] = 1;
            order[count++] = v;
            progress = 1;
            for (size_t c = 0; c < n; c++)
                for (size_t i = 0; i < g->nodes[c].ninputs; i++)
                    for (size_t r = 0; r < g->nodes[c].inputs[i].nrefs; r++)
                        if (!strcmp(g->nodes[c].inputs[i].refs[r].node, g->nodes[v].name)) indeg[c]--;
            break; /* restart from the first node: document order breaks ties */
        }
    }
    free(indeg);
    free(placed);
    if (count < n) {
        kiln_diags_add(b->diags, "%s: nodes: expected an acyclic graph (kiln validate names the "
                       "cycle)", g->path);
        free(order);
        return NULL;
    }
    return order;
}

/* Hashes the input-file params of instance `in` into file_digests and makes their paths
 * absolute. */
static void hash_files(builder *b, kiln_instance *in, const char *where) {
    const char *k;
    json_t *v;
    json_object_foreach(in->params, k, v) {
        if (!kiln_schema_is_input_file(in->op->schema, k) || !json_is_string(v)) continue;
        char *abs = kiln_path_absolute(b->g->dir, json_string_value(v));
        const char *digest = json_string_value(json_object_get(b->hashed, abs));
        char hex[65];
        if (!digest) {
            kiln_error err = {0};
            if (kiln_sha256_file(abs, hex, NULL, &err) != 0) {
                kiln_diags_add(b->diags, "%s: params/%s: expected a readable input file: %s", where,
                               k, err.message);
                b->failed = 1;
                free(abs);
                continue;
            }
            json_object_set_new(b->hashed, abs, json_string(hex));
            digest = hex;
        }
        json_object_set_new(in->file_digests, k, json_string(digest));
        json_object_set_new(in->params, k, json_string(abs)); /* replaces v: safe in foreach */
        free(abs);
    }
}

/* Creates the instances of node v (its producers are built). */
static void build_node(builder *b, size_t v) {
    const kiln_graph *g = b->g;
    const kiln_graph_node *n = &g->nodes[v];
    node_info *ni = &b->info[v];

    /* Axis set: own axes, then every axis inherited through ONE ports. */
    for (size_t a = 0; a < b->naxes; a++)
        if (b->axes[a].node == v) add_axis(b, ni, a);
    for (size_t i = 0; i < n->ninputs; i++) {
        const kiln_port_def *port = find_port(ni->op->def->inputs, n->inputs[i].port);
        if (!port || port->cardinality != KILN_ONE) continue;
        for (size_t r = 0; r < n->inputs[i].nrefs; r++) {
            const node_info *pi = &b->info[kiln_graph_find(g, n->inputs[i].refs[r].node)];
            for (size_t k = 0; k < pi->naxes; k++) add_axis(b, ni, pi->axes[k]);
        }
    }
    ni->labels = xcalloc(ni->naxes, sizeof *ni->labels);
    size_t count = 1;
    for (size_t i = 0; i < ni->naxes; i++) {
        const axis *ax = &b->axes[ni->axes[i]];
        int clash = 0;
        for (size_t j = 0; j < ni->naxes; j++)
            clash |= j != i && !strcmp(b->axes[ni->axes[j]].param, ax->param);
        if (clash) {
            sbuf s = {0};
            sb_puts(&s, g->nodes[ax->node].name);
            sb_puts(&s, ".");
            sb_puts(&s, ax->param);
            ni->labels[i] = sb_take(&s);
        } else {
            ni->labels[i] = xstrdup(ax->param);
        }
        size_t nv = json_array_size(ax->values);
        if (count > KILN_PLAN_MAX_INSTANCES / nv) count = KILN_PLAN_MAX_INSTANCES + 1;
        else count *= nv;
    }
    if (count > KILN_PLAN_MAX_INSTANCES || b->ninst + count > KILN_PLAN_MAX_INSTANCES) {
        kiln_diags_add(b->diags, "%s: node '%s': sweep: expected at most %u instances in all, "
                       "the sweep expands past that", g->path, n->name, KILN_PLAN_MAX_INSTANCES);
        b->failed = 1;
        ni->done = 1;
        return;
    }

    ni->first = b->ninst;
    ni->count = count;
    b->inst = xrealloc(b->inst, (b->ninst + count) * sizeof *b->inst);
    size_t *assign = xcalloc(b->naxes, sizeof *assign);
    for (size_t k = 0; k < count; k++) {
        kiln_instance *in = &b->inst[b->ninst++];
        memset(in, 0, sizeof *in);
        decode(b, ni, k, assign);

        /* Name and sweep values. */
        sbuf name = {0};
        sb_puts(&name, n->name);
        in->sweep = json_object();
        for (size_t i = 0; i < ni->naxes; i++) {
            const axis *ax = &b->axes[ni->axes[i]];
            const json_t *val = json_array_get(ax->values, assign[ni->axes[i]]);
            sb_puts(&name, i ? "," : "[");
            sb_puts(&name, ni->labels[i]);
            sb_puts(&name, "=");
            put_value(&name, val, 1);
            json_object_set_new(in->sweep, ni->labels[i], json_deep_copy(val));
        }
        if (ni->naxes) sb_puts(&name, "]");
        in->name = sb_take(&name);
        in->node = v;
        in->op = ni->op;
        in->timeout_s = n->timeout_s;
        in->retries = n->retries;

        /* Params: the node's, own sweep values applied, defaults filled, numbers normalised. */
        in->params = json_deep_copy(n->params);
        if (!in->params) abort();
        for (size_t i = 0; i < ni->naxes; i++) {
            const axis *ax = &b->axes[ni->axes[i]];
            if (ax->node != v) continue;
            json_object_set_new(in->params, ax->param,
                                json_deep_copy(json_array_get(ax->values, assign[ni->axes[i]])));
        }
        char *where = NULL;
        if (asprintf(&where, "%s: node '%s'", g->path, in->name) < 0) abort();
        if (kiln_schema_apply(ni->op->schema, in->params, NULL, where, b->diags) > 0) b->failed = 1;
        in->file_digests = json_object();
        hash_files(b, in, where);
        free(where);

        /* Inputs. */
        in->inputs = xcalloc(n->ninputs, sizeof *in->inputs);
        for (size_t i = 0; i < n->ninputs; i++) {
            const kiln_graph_input *gi = &n->inputs[i];
            const kiln_port_def *port = find_port(ni->op->def->inputs, gi->port);
            kiln_plan_input *pin = &in->inputs[in->ninputs++];
            pin->port = xstrdup(gi->port);
            for (size_t r = 0; r < gi->nrefs; r++) {
                size_t p = (size_t)kiln_graph_find(g, gi->refs[r].node);
                const node_info *pi = &b->info[p];
                if (port && port->cardinality == KILN_ONE) {
                    pin->sources = xrealloc(pin->sources, (pin->nsources + 1) * sizeof *pin->sources);
                    pin->sources[pin->nsources].instance = pi->first + encode(b, pi, assign);
                    pin->sources[pin->nsources].port = xstrdup(gi->refs[r].port);
                    pin->nsources++;
                    continue;
                }
                /* LIST: every producer instance agreeing on the axes both nodes have. */
                size_t *pa = xcalloc(b->naxes, sizeof *pa);
                for (size_t pk = 0; pk < pi->count; pk++) {
                    decode(b, pi, pk, pa);
                    int agree = 1;
                    for (size_t j = 0; j < pi->naxes && agree; j++)
                        if (local_axis(ni, pi->axes[j]) >= 0) agree = pa[pi->axes[j]] == assign[pi->axes[j]];
                    if (!agree) continue;
                    pin->sources = xrealloc(pin->sources, (pin->nsources + 1) * sizeof *pin->sources);
                    pin->sources[pin->nsources].instance = pi->first + pk;
                    pin->sources[pin->nsources].port = xstrdup(gi->refs[r].port);
                    pin->nsources++;
                }
                free(pa);
            }
        }
    }
    free(assign);
    ni->done = 1;
}

static void instance_clear(kiln_instance *in) {
    free(in->name);
    json_decref(in->params);
    json_decref(in->sweep);
    json_decref(in->file_digests);
    for (size_t i = 0; i < in->ninputs; i++) {
        for (size_t s = 0; s < in->inputs[i].nsources; s++) free(in->inputs[i].sources[s].port);
        free(in->inputs[i].sources);
        free(in->inputs[i].port);
    }
    free(in->inputs);
}

/* Min-heap of instance indices by name (ties cannot happen: names are unique). */
typedef struct heap {
    size_t *items;
    size_t count;
    const kiln_instance *inst;
} heap;

static int heap_less(const heap *h, size_t a, size_t b) {
    return strcmp(h->inst[h->items[a]].name, h->inst[h->items[b]].name) < 0;
}

static void heap_push(heap *h, size_t v) {
    size_t i = h->count++;
    h->items[i] = v;
    while (i > 0 && heap_less(h, i, (i - 1) / 2)) {
        size_t p = (i - 1) / 2, t = h->items[p];
        h->items[p] = h->items[i];
        h->items[i] = t;
        i = p;
    }
}

static size_t heap_pop(heap *h) {
    size_t top = h->items[0];
    h->items[0] = h->items[--h->count];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->count && heap_less(h, l, m)) m = l;
        if (r < h->count && heap_less(h, r, m)) m = r;
        if (m == i) break;
        size_t t = h->items[m];
        h->items[m] = h->items[i];
        h->items[i] = t;
        i = m;
    }
    return top;
}

static int cmp_name_idx(const void *a, const void *b, void *ctx) {
    const kiln_instance *inst = ctx;
    return strcmp(inst[*(const size_t *)a].name, inst[*(const size_t *)b].name);
}

/* Reorders b->inst topologically (ties by name) into the plan, remapping sources. */
static void order_instances(builder *b, kiln_plan *plan) {
    size_t n = b->ninst;
    size_t *indeg = xcalloc(n, sizeof *indeg);
    size_t *nsucc = xcalloc(n, sizeof *nsucc);
    for (size_t v = 0; v < n; v++)
        for (size_t i = 0; i < b->inst[v].ninputs; i++)
            for (size_t s = 0; s < b->inst[v].inputs[i].nsources; s++) {
                indeg[v]++;
                nsucc[b->inst[v].inputs[i].sources[s].instance]++;
            }
    /* CSR adjacency: producer -> consumers (with multiplicity, matching indeg). */
    size_t *start = xcalloc(n + 1, sizeof *start);
    for (size_t v = 0; v < n; v++) start[v + 1] = start[v] + nsucc[v];
    size_t *succ = xcalloc(start[n], sizeof *succ);
    memset(nsucc, 0, n * sizeof *nsucc);
    for (size_t v = 0; v < n; v++)
        for (size_t i = 0; i < b->inst[v].ninputs; i++)
            for (size_t s = 0; s < b->inst[v].inputs[i].nsources; s++) {
                size_t p = b->inst[v].inputs[i].sources[s].instance;
                succ[start[p] + nsucc[p]++] = v;
            }
    heap h = {xcalloc(n, sizeof(size_t)), 0, b->inst};
    for (size_t v = 0; v < n; v++)
        if (!indeg[v]) heap_push(&h, v);
    size_t *newpos = xcalloc(n, sizeof *newpos);
    plan->instances = xcalloc(n, sizeof *plan->instances);
    size_t count = 0;
    while (h.count) {
        size_t v = heap_pop(&h);
        newpos[v] = count;
        plan->instances[count++] = b->inst[v];
        for (size_t k = start[v]; k < start[v + 1]; k++)
            if (--indeg[succ[k]] == 0) heap_push(&h, succ[k]);
    }
    /* count == n: the node graph is acyclic, so the instance graph is too. */
    plan->ninstances = count;
    for (size_t v = 0; v < count; v++)
        for (size_t i = 0; i < plan->instances[v].ninputs; i++)
            for (size_t s = 0; s < plan->instances[v].inputs[i].nsources; s++) {
                kiln_plan_source *src = &plan->instances[v].inputs[i].sources[s];
                src->instance = newpos[src->instance];
            }
    free(b->inst);
    b->inst = NULL;
    b->ninst = 0;
    free(h.items);
    free(newpos);
    free(indeg);
    free(nsucc);
    free(start);
    free(succ);
}

/* See plan.h. */
kiln_plan *kiln_plan_build(const kiln_graph *g, const kiln_registry *reg, kiln_diags *diags) {
    builder b = {g, reg, diags, NULL, 0, xcalloc(g->nnodes, sizeof(node_info)), NULL, 0,
                 json_object(), 0};
    size_t *order = NULL;

    for (size_t v = 0; v < g->nnodes; v++) {
        const kiln_graph_node *n = &g->nodes[v];
        b.info[v].op = kiln_registry_find_op(reg, n->op);
        if (!b.info[v].op) {
            kiln_diags_add(diags, "%s: node '%s': op: unknown op '%s' (kiln plugins lists the "
                           "loaded ops)", g->path, n->name, n->op);
            b.failed = 1;
        }
        for (size_t i = 0; i < n->ninputs; i++)
            for (size_t r = 0; r < n->inputs[i].nrefs; r++)
                if (kiln_graph_find(g, n->inputs[i].refs[r].node) < 0) {
                    kiln_diags_add(diags, "%s: node '%s': inputs/%s: no node '%s'", g->path,
                                   n->name, n->inputs[i].port, n->inputs[i].refs[r].node);
                    b.failed = 1;
                }
        /* Axes, in the node's sweep sorted by param name. */
        const char *k;
        json_t *vals;
        json_object_foreach(n->sweep, k, vals) {
            if (!json_is_array(vals) || json_array_size(vals) == 0) continue;
            b.axes = xrealloc(b.axes, (b.naxes + 1) * sizeof *b.axes);
            b.axes[b.naxes++] = (axis){v, k, vals};
        }
    }
    if (!b.failed) order = node_order(&b);
    if (!order) b.failed = 1;
    for (size_t i = 0; !b.failed && i < g->nnodes; i++) build_node(&b, order[i]);

    /* Names must be unique ("1" and 1 in one sweep would collide). */
    if (!b.failed && b.ninst > 1) {
        size_t *idx = xcalloc(b.ninst, sizeof *idx);
        for (size_t i = 0; i < b.ninst; i++) idx[i] = i;
        qsort_r(idx, b.ninst, sizeof *idx, cmp_name_idx, b.inst);
        for (size_t i = 1; i < b.ninst; i++)
            if (!strcmp(b.inst[idx[i]].name, b.inst[idx[i - 1]].name)) {
                kiln_diags_add(diags, "%s: node '%s': sweep: expected values that print "
                               "differently, got two instances named '%s'", g->path,
                               g->nodes[b.inst[idx[i]].node].name, b.inst[idx[i]].name);
                b.failed = 1;
                break;
            }
        free(idx);
    }

    kiln_plan *plan = NULL;
    if (!b.failed) {
        plan = xcalloc(1, sizeof *plan);
        plan->graph = g;
        order_instances(&b, plan);
    }
    for (size_t i = 0; i < b.ninst; i++) instance_clear(&b.inst[i]);
    free(b.inst);
    for (size_t v = 0; v < g->nnodes; v++) {
        for (size_t i = 0; i < b.info[v].naxes; i++) free(b.info[v].labels ? b.info[v].labels[i] : NULL);
        free(b.info[v].labels);
        free(b.info[v].axes);
    }
    free(b.info);
    free(b.axes);
    free(order);
    json_decref(b.hashed);
    return plan;
}

/* Frees every instance and the plan (not the borrowed graph). NULL is ignored. */
void kiln_plan_free(kiln_plan *plan) {
    if (!plan) return;
    for (size_t i = 0; i < plan->ninstances; i++) instance_clear(&plan->instances[i]);
    free(plan->instances);
    free(plan);
}

/* Linear search by exact instance name; -1 when absent. */
long kiln_plan_find(const kiln_plan *plan, const char *name) {
    if (!plan || !name) return -1;
    for (size_t i = 0; i < plan->ninstances; i++)
        if (!strcmp(plan->instances[i].name, name)) return (long)i;
    return -1;
}

/* ---------------------------------------------------------------------------------------- */
/* Keys and JSON                                                                             */
/* ---------------------------------------------------------------------------------------- */

static const char *plugin_name(const kiln_op_entry *op) {
    return op->plugin && op->plugin->desc && op->plugin->desc->name ? op->plugin->desc->name : "";
}

static const char *plugin_version(const kiln_op_entry *op) {
    return op->plugin && op->plugin->desc && op->plugin->desc->version ? op->plugin->desc->version : "";
}

/* See plan.h. The key document holds no path: input files are keyed by content. */
int kiln_plan_action_key(const kiln_plan *plan, size_t i,
                         const char *(*input_digest)(size_t instance, const char *port, void *user),
                         void *user, char key_out[65]) {
    if (!plan || i >= plan->ninstances) return KILN_EINVAL;
    const kiln_instance *in = &plan->instances[i];
    int with_producers = (in->op->def->flags & KILN_OP_KEY_INPUT_INFO) != 0;
    json_t *inputs = json_object(), *producers = with_producers ? json_object() : NULL;
    for (size_t p = 0; p < in->ninputs; p++) {
        json_t *list = json_array(), *names = with_producers ? json_array() : NULL;
        for (size_t s = 0; s < in->inputs[p].nsources; s++) {
            const kiln_plan_source *src = &in->inputs[p].sources[s];
            const char *d = input_digest ? input_digest(src->instance, src->port, user) : NULL;
            if (!d) {
                json_decref(list);
                json_decref(names);
                json_decref(inputs);
                json_decref(producers);
                return KILN_ENOTFOUND;
            }
            json_array_append_new(list, json_string(d));
            if (names) json_array_append_new(names, json_string(plan->instances[src->instance].name));
        }
        json_object_set_new(inputs, in->inputs[p].port, list);
        if (producers) json_object_set_new(producers, in->inputs[p].port, names);
    }
    json_t *params = json_deep_copy(in->params);
    if (!params) abort();
    const char *k;
    json_t *d;
    json_object_foreach(in->file_digests, k, d)
        json_object_set_new(params, k, json_pack("{sO}", "sha256", d));
    json_t *doc = json_pack("{si ss ss ss so so}", "kiln_key", 1, "op", in->op->def->name, "plugin",
                            plugin_name(in->op), "plugin_version", plugin_version(in->op), "params",
                            params, "inputs", inputs);
    if (!doc) abort();
    if (producers) json_object_set_new(doc, "producers", producers); /* KILN_OP_KEY_INPUT_INFO */
    char *text = kiln_canonical_json(doc);
    kiln_sha256_hex(text, strlen(text), key_out);
    free(text);
    json_decref(doc);
    return 0;
}

static const char *port_type_name(kiln_port_type t) {
    switch (t) {
    case KILN_TYPE_DATASET: return "dataset";
    case KILN_TYPE_MODEL: return "model";
    case KILN_TYPE_METRICS: return "metrics";
    case KILN_TYPE_WHEEL: return "wheel";
    case KILN_TYPE_FILE: return "file";
    }
    return "unknown";
}

/* See plan.h. */
json_t *kiln_plan_to_json(const kiln_plan *plan) {
    const kiln_graph *g = plan->graph;
    json_t *list = json_array();
    for (size_t i = 0; i < plan->ninstances; i++) {
        const kiln_instance *in = &plan->instances[i];
        const kiln_op_def *def = in->op->def;
        json_t *inputs = json_object();
        for (size_t p = 0; p < in->ninputs; p++) {
            json_t *srcs = json_array();
            for (size_t s = 0; s < in->inputs[p].nsources; s++) {
                const kiln_plan_source *src = &in->inputs[p].sources[s];
                json_array_append_new(srcs, json_pack("{ss ss}", "instance",
                                                      plan->instances[src->instance].name, "port",
                                                      src->port));
            }
            json_object_set_new(inputs, in->inputs[p].port, srcs);
        }
        json_t *outputs = json_object();
        for (size_t p = 0; def->outputs && def->outputs[p].name; p++) {
            const kiln_port_def *o = &def->outputs[p];
            json_object_set_new(outputs, o->name,
                                json_pack("{ss ss}", "type", port_type_name(o->type), "file_name",
                                          o->file_name ? o->file_name : o->name));
        }
        json_t *flags = json_array();
        if (def->flags & KILN_OP_DETERMINISTIC) json_array_append_new(flags, json_string("deterministic"));
        if (def->flags & KILN_OP_NEEDS_GPU) json_array_append_new(flags, json_string("needs_gpu"));
        if (def->flags & KILN_OP_NO_CACHE) json_array_append_new(flags, json_string("no_cache"));
        if (def->flags & KILN_OP_KEY_INPUT_INFO) json_array_append_new(flags, json_string("key_input_info"));
        json_t *obj = json_pack("{ss ss ss ss ss so so so so so so sf si}", "name", in->name, "node",
                                g->nodes[in->node].name, "op", def->name, "plugin",
                                plugin_name(in->op), "plugin_version", plugin_version(in->op),
                                "params", json_deep_copy(in->params), "sweep",
                                json_deep_copy(in->sweep), "file_digests",
                                json_deep_copy(in->file_digests), "inputs", inputs, "outputs", outputs, "flags",
                                flags, "timeout_s", in->timeout_s, "retries", in->retries);
        if (!obj) abort();
        json_array_append_new(list, obj);
    }
    json_t *doc = json_pack("{s{ss ss ss} so}", "graph", "name", g->name, "path", g->path, "dir",
                            g->dir, "instances", list);
    if (!doc) abort();
    return doc;
}
