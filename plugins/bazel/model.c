/* model.c -- a kiln plan as Bazel targets (see model.h). */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "text.h"

/* Sets err (printf) and returns KILN_EINVAL; the first message wins. */
static int seterr(kiln_error *err, int code, const char *fmt, ...) KILN_PRINTF(3, 4);
static int seterr(kiln_error *err, int code, const char *fmt, ...) {
    if (err->code) return err->code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

#define OOM(err) seterr((err), KILN_ENOMEM, "bazel: out of memory")

static char *xstrdup_or(const char *s, int *oom) {
    char *r = strdup(s ? s : "");
    if (!r) *oom = 1;
    return r;
}

static char *printf_new(const char *fmt, ...) KILN_PRINTF(1, 2);
static char *printf_new(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of a JSON object, sorted (malloc'd array of borrowed strings; NULL when empty
 * or on out-of-memory, *n = 0 then). */
static const char **sorted_keys(const json_t *obj, size_t *n) {
    *n = json_is_object(obj) ? json_object_size(obj) : 0;
    if (!*n) return NULL;
    const char **keys = malloc(*n * sizeof *keys);
    if (!keys) {
        *n = 0;
        return NULL;
    }
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
    qsort(keys, *n, sizeof *keys, cmp_cstr);
    return keys;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---------------------------------------------------------------------------------------- */
/* Instance lookup by name                                                                   */
/* ---------------------------------------------------------------------------------------- */

typedef struct name_index {
    const char *name; /* borrowed from the plan */
    size_t target;
} name_index;

static int cmp_index(const void *a, const void *b) {
    return strcmp(((const name_index *)a)->name, ((const name_index *)b)->name);
}

static long find_instance(const name_index *idx, size_t n, const char *name) {
    name_index key = {name, 0};
    const name_index *hit = bsearch(&key, idx, n, sizeof *idx, cmp_index);
    return hit ? (long)hit->target : -1;
}

/* ---------------------------------------------------------------------------------------- */
/* Options                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static int read_options(kb_model *m, const json_t *plan, const json_t *options, kiln_error *err) {
    static const char *const known = "kiln, kiln_libs, plugins, data, graph_file";
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)options, k, v) {
        if (strcmp(k, "kiln") && strcmp(k, "kiln_libs") && strcmp(k, "plugins") && strcmp(k, "data") &&
            strcmp(k, "graph_file"))
            return seterr(err, KILN_EINVAL, "bazel: unknown option '%s' (known: %s)", k, known);
    }
    const char *kiln = json_string_value(json_object_get(options, "kiln"));
    if (!kiln || kiln[0] != '/')
        return seterr(err, KILN_EINVAL, "bazel: option 'kiln': expected the absolute path of the kiln binary");
    int oom = 0;
    m->kiln = xstrdup_or(kiln, &oom);
    json_t *libs = json_object_get(options, "kiln_libs");
    if (libs && !json_is_array(libs))
        return seterr(err, KILN_EINVAL, "bazel: option 'kiln_libs': expected a list of absolute paths");
    m->libs = calloc(json_array_size(libs) + 1, sizeof *m->libs);
    if (!m->libs) return OOM(err);
    size_t i;
    json_array_foreach(libs, i, v) {
        if (!json_is_string(v) || json_string_value(v)[0] != '/')
            return seterr(err, KILN_EINVAL, "bazel: option 'kiln_libs/%zu': expected an absolute path", i);
        m->libs[m->nlibs++] = xstrdup_or(json_string_value(v), &oom);
    }
    const char *data = json_string_value(json_object_get(options, "data"));
    if (json_object_get(options, "data") && (!data || (strcmp(data, "copy") && strcmp(data, "link"))))
        return seterr(err, KILN_EINVAL, "bazel: option 'data': expected \"copy\" or \"link\"");
    m->link_data = data && !strcmp(data, "link");
    const char *gf = json_string_value(json_object_get(options, "graph_file"));
    const char *path = json_string_value(json_object_get(json_object_get(plan, "graph"), "path"));
    m->graph_file = xstrdup_or(gf ? gf : path ? base_name(path) : "graph.json", &oom);
    return oom ? OOM(err) : 0;
}

/* The plugin `name`'s path from options "plugins", recorded once in m->plugins. */
static int use_plugin(kb_model *m, const json_t *options, const char *name, const char *instance, kiln_error *err) {
    for (size_t i = 0; i < m->nplugins; i++)
        if (!strcmp(m->plugins[i].name, name)) return 0;
    const char *path = json_string_value(json_object_get(json_object_get(options, "plugins"), name));
    if (!path || path[0] != '/')
        return seterr(err, KILN_EINVAL,
                      "bazel: instance '%s': no path for plugin '%s' (option 'plugins' must map it to the absolute "
                      "path of its .so)",
                      instance, name);
    kb_plugin_ref *p = realloc(m->plugins, (m->nplugins + 1) * sizeof *p);
    if (!p) return OOM(err);
    m->plugins = p;
    int oom = 0;
    p[m->nplugins].name = xstrdup_or(name, &oom);
    p[m->nplugins].path = xstrdup_or(path, &oom);
    m->nplugins++;
    return oom ? OOM(err) : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Pieces of a target                                                                        */
/* ---------------------------------------------------------------------------------------- */

/* Outputs, sorted by port: "<file>" under <target>/, or "<port>/<file>" for every port when
 * two ports' file names coincide. */
static int build_outputs(kb_target *t, const json_t *outputs, kiln_error *err) {
    size_t n;
    const char **ports = sorted_keys(outputs, &n);
    if (!n) return seterr(err, KILN_EINVAL, "bazel: instance '%s': the plan lists no outputs", t->instance);
    t->outs = calloc(n, sizeof *t->outs);
    char **names = calloc(n, sizeof *names);
    int rc = 0, oom = !t->outs || !names;
    for (size_t i = 0; !oom && i < n; i++) {
        const char *fn = json_string_value(json_object_get(json_object_get(outputs, ports[i]), "file_name"));
        names[i] = kb_sanitize(fn && *fn ? fn : ports[i]);
        oom |= !names[i];
    }
    int by_port = 0;
    for (size_t i = 0; !oom && i < n; i++)
        for (size_t j = i + 1; j < n; j++) by_port |= !strcmp(names[i], names[j]);
    for (size_t i = 0; !oom && i < n; i++) {
        kb_output *o = &t->outs[t->nouts++];
        o->port = xstrdup_or(ports[i], &oom);
        o->type = xstrdup_or(json_string_value(json_object_get(json_object_get(outputs, ports[i]), "type")), &oom);
        o->rel = by_port ? printf_new("%s/%s", ports[i], names[i]) : xstrdup_or(names[i], &oom);
        oom |= !o->rel;
    }
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
    free(ports);
    if (oom) rc = OOM(err);
    return rc;
}

/* Inputs, sorted by port, each port's producers in graph order. */
static int build_inputs(kb_model *m, kb_target *t, const json_t *inputs, const name_index *idx, size_t nidx,
                        kiln_error *err) {
    size_t n;
    const char **ports = sorted_keys(inputs, &n);
    if (!n) return 0;
    t->ins = calloc(n, sizeof *t->ins);
    if (!t->ins) {
        free(ports);
        return OOM(err);
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const json_t *srcs = json_object_get(inputs, ports[i]);
        kb_input *in = &t->ins[t->nins++];
        in->port = strdup(ports[i]);
        in->labels = calloc(json_array_size(srcs) + 1, sizeof *in->labels);
        if (!in->port || !in->labels) {
            rc = OOM(err);
            break;
        }
        size_t k;
        json_t *src;
        json_array_foreach(srcs, k, src) {
            const char *pname = json_string_value(json_object_get(src, "instance"));
            const char *pport = json_string_value(json_object_get(src, "port"));
            long p = pname ? find_instance(idx, nidx, pname) : -1;
            const kb_output *po = NULL;
            for (size_t o = 0; p >= 0 && pport && o < m->targets[p].nouts; o++)
                if (!strcmp(m->targets[p].outs[o].port, pport)) po = &m->targets[p].outs[o];
            if (!po || (size_t)p >= m->ntargets || !m->targets[p].name) {
                rc = seterr(err, KILN_EINVAL,
                            "bazel: instance '%s': input '%s' names '%s.%s', which the plan does not produce before it",
                            t->instance, ports[i], pname ? pname : "?", pport ? pport : "?");
                break;
            }
            in->labels[in->nlabels] = printf_new(":%s/%s", m->targets[p].name, po->rel);
            if (!in->labels[in->nlabels++]) {
                rc = OOM(err);
                break;
            }
        }
    }
    free(ports);
    return rc;
}

/* The data file for `path` (sha256 `digest`), added once per path. Returns its index, or
 * -1 with err set. Where it goes (rel) is decided after every file is known. */
static long add_data(kb_model *m, const char *path, const char *digest, kiln_error *err) {
    for (size_t i = 0; i < m->ndata; i++)
        if (!strcmp(m->data[i].src, path)) return (long)i;
    kb_data *d = realloc(m->data, (m->ndata + 1) * sizeof *d);
    if (!d) return OOM(err), -1;
    m->data = d;
    int oom = 0;
    d[m->ndata].src = xstrdup_or(path, &oom);
    d[m->ndata].sha256 = xstrdup_or(digest, &oom);
    d[m->ndata].rel = NULL;
    m->ndata++;
    if (oom) return OOM(err), -1;
    return (long)m->ndata - 1;
}

/* Params without the input-file ones (JSON text), and the data files they name. */
static int build_params(kb_model *m, kb_target *t, const json_t *params, const json_t *digests, kiln_error *err) {
    json_t *copy = json_deep_copy(params ? params : json_object());
    if (!copy) return OOM(err);
    size_t n;
    const char **names = sorted_keys(digests, &n);
    int rc = 0;
    if (n) {
        t->files = calloc(n, sizeof *t->files);
        if (!t->files) rc = OOM(err);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *path = json_string_value(json_object_get(params, names[i]));
        const char *digest = json_string_value(json_object_get(digests, names[i]));
        if (!path || path[0] != '/' || !digest || strlen(digest) != 64) {
            rc = seterr(err, KILN_EINVAL,
                        "bazel: instance '%s': param '%s': expected an absolute file path and its sha256 in the plan",
                        t->instance, names[i]);
            break;
        }
        long d = add_data(m, path, digest, err);
        if (d < 0) {
            rc = err->code;
            break;
        }
        kb_file_param *f = &t->files[t->nfiles++];
        f->param = strdup(names[i]);
        f->data = (size_t)d;
        if (!f->param) rc = OOM(err);
        json_object_del(copy, names[i]);
    }
    free(names);
    if (rc == 0) {
        t->params = kb_json_text(copy);
        if (!t->params) rc = OOM(err);
    }
    json_decref(copy);
    return rc;
}

static int has_flag(const json_t *flags, const char *flag) {
    size_t i;
    json_t *v;
    json_array_foreach(flags, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), flag)) return 1;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Data file placement, groups, workspace name                                               */
/* ---------------------------------------------------------------------------------------- */

static int cmp_data(const void *a, const void *b) {
    return strcmp(((const kb_data *)a)->rel, ((const kb_data *)b)->rel);
}

/* data/<file>, unless two different files share a (sanitised) file name: then each of
 * those goes to data/<first 12 hex of its sha256>/<file>. Same name and same content is
 * one file. */
static int place_data(kb_model *m, kb_target *targets, size_t ntargets, kiln_error *err) {
    const size_t total = m->ndata;
    if (total == 0) return 0; /* m->data is NULL: nothing to place (nor to memcpy from) */
    char **names = calloc(total + 1, sizeof *names);
    if (!names) return OOM(err);
    int rc = 0;
    for (size_t i = 0; i < m->ndata && rc == 0; i++)
        if (!(names[i] = kb_sanitize(base_name(m->data[i].src)))) rc = OOM(err);
    /* Merge files with the same name and content (different paths, same bytes). */
    size_t *same = calloc(m->ndata + 1, sizeof *same);
    if (!same && rc == 0) rc = OOM(err);
    for (size_t i = 0; i < m->ndata && rc == 0; i++) {
        same[i] = i;
        for (size_t j = 0; j < i; j++)
            if (same[j] == j && !strcmp(names[i], names[j]) && !strcmp(m->data[i].sha256, m->data[j].sha256)) {
                same[i] = j;
                break;
            }
    }
    for (size_t i = 0; i < m->ndata && rc == 0; i++) {
        int clash = 0;
        for (size_t j = 0; j < m->ndata; j++)
            clash |= same[j] == j && j != same[i] && !strcmp(names[i], names[j]);
        m->data[i].rel = clash ? printf_new("data/%.12s/%s", m->data[i].sha256, names[i]) : printf_new("data/%s", names[i]);
        if (!m->data[i].rel) rc = OOM(err);
    }
    /* Drop merged duplicates, re-pointing the params that used them, then sort by rel. */
    size_t *newidx = calloc(m->ndata + 1, sizeof *newidx);
    if (!newidx && rc == 0) rc = OOM(err);
    if (rc == 0) {
        size_t kept = 0;
        for (size_t i = 0; i < m->ndata; i++) {
            if (same[i] != i) {
                free(m->data[i].src);
                free(m->data[i].rel);
                free(m->data[i].sha256);
                continue;
            }
            m->data[kept] = m->data[i];
            newidx[i] = kept++;
        }
        for (size_t i = 0; i < m->ndata; i++) newidx[i] = newidx[same[i]];
        size_t old = m->ndata;
        m->ndata = kept;
        /* Sort, remembering where each went. */
        size_t *order = calloc(kept + 1, sizeof *order);
        kb_data *sorted = calloc(kept + 1, sizeof *sorted);
        if (!order || !sorted) {
            free(order);
            free(sorted);
            rc = OOM(err);
        } else {
            memcpy(sorted, m->data, kept * sizeof *sorted);
            qsort(sorted, kept, sizeof *sorted, cmp_data);
            for (size_t i = 0; i < kept; i++)
                for (size_t j = 0; j < kept; j++)
                    if (sorted[j].rel == m->data[i].rel) order[i] = j;
            memcpy(m->data, sorted, kept * sizeof *sorted);
            for (size_t t = 0; t < ntargets; t++)
                for (size_t f = 0; f < targets[t].nfiles; f++)
                    if (targets[t].files[f].data < old) targets[t].files[f].data = order[newidx[targets[t].files[f].data]];
            free(order);
            free(sorted);
        }
    }
    for (size_t i = 0; names && i < total; i++) free(names[i]);
    free(names);
    free(same);
    free(newidx);
    return rc;
}

static int cmp_group(const void *a, const void *b) {
    return strcmp(((const kb_group *)a)->name, ((const kb_group *)b)->name);
}

/* One filegroup per node with swept instances, holding them all, named like the node. */
static int build_groups(kb_model *m, kiln_error *err) {
    for (size_t i = 0; i < m->ntargets; i++) {
        const kb_target *t = &m->targets[i];
        if (!t->sweep) continue;
        kb_group *g = NULL;
        for (size_t j = 0; j < m->ngroups; j++)
            if (!strcmp(m->groups[j].node, t->node)) g = &m->groups[j];
        if (!g) {
            kb_group *gs = realloc(m->groups, (m->ngroups + 1) * sizeof *gs);
            if (!gs) return OOM(err);
            m->groups = gs;
            g = &gs[m->ngroups++];
            memset(g, 0, sizeof *g);
            g->node = strdup(t->node);
            g->name = kb_target_name(t->node, NULL);
            if (!g->node || !g->name) return OOM(err);
        }
        char **mem = realloc(g->members, (g->nmembers + 1) * sizeof *mem);
        if (!mem) return OOM(err);
        g->members = mem;
        if (!(mem[g->nmembers++] = printf_new(":%s", t->name))) return OOM(err);
    }
    if (m->ngroups) qsort(m->groups, m->ngroups, sizeof *m->groups, cmp_group);
    return 0;
}

/* [A-Za-z][A-Za-z0-9_]*: the graph's name with other characters as "_", "kiln_" before a
 * name that does not start with a letter. */
static char *workspace_name(const char *graph) {
    const char *g = graph && *graph ? graph : "graph";
    int letter = (g[0] >= 'a' && g[0] <= 'z') || (g[0] >= 'A' && g[0] <= 'Z');
    char *w = printf_new("%s%s", letter ? "" : "kiln_", g);
    for (char *p = w; p && *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) *p = '_';
    return w;
}

/* ---------------------------------------------------------------------------------------- */
/* Labels: everything in the package, to find two things with one label                     */
/* ---------------------------------------------------------------------------------------- */

static int add_label(kb_names *set, kiln_error *err, const char *label, const char *fmt, ...) KILN_PRINTF(4, 5);
static int add_label(kb_names *set, kiln_error *err, const char *label, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return kb_names_add(set, label, what) ? OOM(err) : 0;
}

/* Adds the labels of the package to `set`: with derived = 0 the names a user chooses through
 * the graph (targets, filegroups, wheel tests, data files, the generated files); with
 * derived = 1 also the files each target declares (outputs, log, spec, work dir). */
static int add_labels(const kb_model *m, kb_names *set, int derived, kiln_error *err) {
    int rc = 0;
    static const char *const files[] = {"WORKSPACE", "BUILD.bazel", "kiln.bzl", "README.md"};
    for (size_t i = 0; i < sizeof files / sizeof files[0] && !rc; i++)
        rc = add_label(set, err, files[i], "the generated file %s", files[i]);
    if (!rc && m->nwheel_tests) rc = add_label(set, err, "kiln_wheel_test.py", "the generated wheel test");
    for (size_t i = 0; i < m->ntargets && !rc; i++) {
        const kb_target *t = &m->targets[i];
        char label[4096];
        rc = add_label(set, err, t->name, "instance '%s'", t->instance);
        if (!rc && t->wheel_test) rc = add_label(set, err, t->wheel_test, "the wheel test of instance '%s'", t->instance);
        if (!derived) continue;
        static const char *const aux[] = {".kiln.log", ".kiln_spec.json", ".kiln_work"};
        for (size_t a = 0; a < 3 && !rc; a++) {
            snprintf(label, sizeof label, "%s%s", t->name, aux[a]);
            rc = add_label(set, err, label, "the %s of instance '%s'", aux[a] + 1, t->instance);
        }
        for (size_t o = 0; o < t->nouts && !rc; o++) {
            snprintf(label, sizeof label, "%s/%s", t->name, t->outs[o].rel);
            rc = add_label(set, err, label, "output '%s' of instance '%s'", t->outs[o].port, t->instance);
        }
    }
    for (size_t i = 0; i < m->ngroups && !rc; i++)
        rc = add_label(set, err, m->groups[i].name, "the filegroup of swept node '%s'", m->groups[i].node);
    for (size_t i = 0; i < m->ndata && !rc; i++) rc = add_label(set, err, m->data[i].rel, "input file %s", m->data[i].src);
    return rc;
}

/* Two things with one label are an error. The names chosen through the graph are checked
 * first, so that two instances with one target name are reported as that, not also as
 * each pair of files the two targets would declare. */
static int check_labels(const kb_model *m, kiln_error *err) {
    int rc = 0;
    for (int derived = 0; derived <= 1 && !rc; derived++) {
        kb_names set = {0};
        rc = add_labels(m, &set, derived, err);
        if (!rc && kb_names_check(&set, err) != 0) {
            /* Prefix "bazel: ", dropping the message's tail if it no longer fits. */
            static const char prefix[] = "bazel: ";
            size_t keep = strnlen(err->message, sizeof err->message - sizeof prefix);
            memmove(err->message + sizeof prefix - 1, err->message, keep);
            memcpy(err->message, prefix, sizeof prefix - 1);
            err->message[sizeof prefix - 1 + keep] = '\0';
            rc = KILN_EINVAL;
        }
        kb_names_free(&set);
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* The model                                                                                 */
/* ---------------------------------------------------------------------------------------- */

kb_model *kb_model_build(const json_t *plan, const json_t *options, kiln_error *err) {
    kb_model *m = calloc(1, sizeof *m);
    if (!m) return OOM(err), NULL;
    const json_t *instances = json_object_get(plan, "instances");
    name_index *idx = NULL;
    int rc = 0;
    if (!json_is_array(instances)) {
        rc = seterr(err, KILN_EINVAL, "bazel: the plan has no \"instances\" list");
        goto out;
    }
    if ((rc = read_options(m, plan, options, err)) != 0) goto out;
    int oom = 0;
    m->graph_name = xstrdup_or(json_string_value(json_object_get(json_object_get(plan, "graph"), "name")), &oom);
    m->workspace = workspace_name(m->graph_name);
    if (oom || !m->workspace) {
        rc = OOM(err);
        goto out;
    }
    size_t n = json_array_size(instances);
    m->targets = calloc(n + 1, sizeof *m->targets);
    idx = calloc(n + 1, sizeof *idx);
    if (!m->targets || !idx) {
        rc = OOM(err);
        goto out;
    }
    size_t nidx = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const json_t *in = json_array_get(instances, i);
        kb_target *t = &m->targets[m->ntargets++];
        const char *name = json_string_value(json_object_get(in, "name"));
        const char *node = json_string_value(json_object_get(in, "node"));
        const char *op = json_string_value(json_object_get(in, "op"));
        const char *plugin = json_string_value(json_object_get(in, "plugin"));
        if (!name || !node || !op || !plugin) {
            rc = seterr(err, KILN_EINVAL, "bazel: plan instance %zu: expected \"name\", \"node\", \"op\" and \"plugin\"", i);
            break;
        }
        t->instance = xstrdup_or(name, &oom);
        t->node = xstrdup_or(node, &oom);
        t->op = xstrdup_or(op, &oom);
        t->plugin = xstrdup_or(plugin, &oom);
        const json_t *sweep = json_object_get(in, "sweep");
        t->name = kb_target_name(node, sweep);
        if (json_object_size(sweep)) t->sweep = kb_json_text(sweep);
        if (oom || !t->name || (json_object_size(sweep) && !t->sweep)) {
            rc = OOM(err);
            break;
        }
        const json_t *flags = json_object_get(in, "flags");
        t->cache = has_flag(flags, "deterministic") && !has_flag(flags, "no_cache");
        if ((rc = use_plugin(m, options, plugin, name, err)) || (rc = build_outputs(t, json_object_get(in, "outputs"), err)) ||
            (rc = build_inputs(m, t, json_object_get(in, "inputs"), idx, nidx, err)) ||
            (rc = build_params(m, t, json_object_get(in, "params"), json_object_get(in, "file_digests"), err)))
            break;
        if (!strcmp(op, "wheel.package")) {
            for (size_t o = 0; o < t->nouts && !t->wheel_test; o++) {
                if (strcmp(t->outs[o].type, "wheel") != 0) continue;
                t->wheel_test = printf_new("%s_test", t->name);
                t->wheel_label = printf_new(":%s/%s", t->name, t->outs[o].rel);
                if (!t->wheel_test || !t->wheel_label) rc = OOM(err);
                m->nwheel_tests++;
            }
        }
        /* Producers come before consumers in a plan: index this one for those after it. */
        idx[nidx].name = t->instance;
        idx[nidx].target = i;
        nidx++;
        qsort(idx, nidx, sizeof *idx, cmp_index);
    }
    if (rc == 0) rc = place_data(m, m->targets, m->ntargets, err);
    if (rc == 0) rc = build_groups(m, err);
    if (rc == 0 && m->nplugins > 1) {
        /* sorted by name */
        for (size_t i = 1; i < m->nplugins; i++)
            for (size_t j = i; j > 0 && strcmp(m->plugins[j - 1].name, m->plugins[j].name) > 0; j--) {
                kb_plugin_ref tmp = m->plugins[j];
                m->plugins[j] = m->plugins[j - 1];
                m->plugins[j - 1] = tmp;
            }
    }
    if (rc == 0) rc = check_labels(m, err);
out:
    free(idx);
    if (rc != 0) {
        kb_model_free(m);
        return NULL;
    }
    return m;
}

void kb_model_free(kb_model *m) {
    if (!m) return;
    for (size_t i = 0; i < m->ntargets; i++) {
        kb_target *t = &m->targets[i];
        free(t->name);
        free(t->instance);
        free(t->node);
        free(t->op);
        free(t->plugin);
        free(t->params);
        free(t->sweep);
        for (size_t o = 0; o < t->nouts; o++) {
            free(t->outs[o].port);
            free(t->outs[o].rel);
            free(t->outs[o].type);
        }
        free(t->outs);
        for (size_t k = 0; k < t->nins; k++) {
            free(t->ins[k].port);
            for (size_t l = 0; l < t->ins[k].nlabels; l++) free(t->ins[k].labels[l]);
            free(t->ins[k].labels);
        }
        free(t->ins);
        for (size_t f = 0; f < t->nfiles; f++) free(t->files[f].param);
        free(t->files);
        free(t->wheel_test);
        free(t->wheel_label);
    }
    free(m->targets);
    for (size_t i = 0; i < m->ngroups; i++) {
        free(m->groups[i].name);
        free(m->groups[i].node);
        for (size_t k = 0; k < m->groups[i].nmembers; k++) free(m->groups[i].members[k]);
        free(m->groups[i].members);
    }
    free(m->groups);
    for (size_t i = 0; i < m->ndata; i++) {
        free(m->data[i].src);
        free(m->data[i].rel);
        free(m->data[i].sha256);
    }
    free(m->data);
    for (size_t i = 0; i < m->nplugins; i++) {
        free(m->plugins[i].name);
        free(m->plugins[i].path);
    }
    free(m->plugins);
    for (size_t i = 0; i < m->nlibs; i++) free(m->libs[i]);
    free(m->libs);
    free(m->graph_name);
    free(m->graph_file);
    free(m->workspace);
    free(m->kiln);
    free(m);
}
