/* emit.c -- WORKSPACE, BUILD.bazel and README.md text (see emit.h). */
#include "emit.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

/* The embedded README template (templates/README.md, see CMakeLists.txt). */
extern const unsigned char kb_tpl_readme_md[];

/* ---------------------------------------------------------------------------------------- */
/* Starlark values as buildifier prints them                                                 */
/* ---------------------------------------------------------------------------------------- */

/* A value to print: a string, or a list / dict of values (dict keys are strings). */
typedef struct sval {
    enum { SV_STR, SV_LIST, SV_DICT, SV_RAW } kind;
    const char *str;              /* SV_STR: the string; SV_RAW: literal text (True) */
    const char **keys;            /* SV_DICT */
    const struct sval *items;     /* SV_LIST, SV_DICT values */
    size_t n;
} sval;

static void put_indent(kb_buf *b, int indent) {
    for (int i = 0; i < indent; i++) kb_putc(b, ' ');
}

/* buildifier: a container of two or more items puts one a line (trailing comma); one item
 * stays on the opening line, so a multi-line item inside keeps the outer indent. */
static void put_value(kb_buf *b, const sval *v, int indent) {
    if (v->kind == SV_STR) {
        kb_put_string(b, v->str);
        return;
    }
    if (v->kind == SV_RAW) {
        kb_puts(b, v->str);
        return;
    }
    const char *open = v->kind == SV_LIST ? "[" : "{", *close = v->kind == SV_LIST ? "]" : "}";
    kb_puts(b, open);
    if (v->n == 1) {
        if (v->kind == SV_DICT) {
            kb_put_string(b, v->keys[0]);
            kb_puts(b, ": ");
        }
        put_value(b, &v->items[0], indent);
    } else if (v->n > 1) {
        kb_putc(b, '\n');
        for (size_t i = 0; i < v->n; i++) {
            put_indent(b, indent + 4);
            if (v->kind == SV_DICT) {
                kb_put_string(b, v->keys[i]);
                kb_puts(b, ": ");
            }
            put_value(b, &v->items[i], indent + 4);
            kb_puts(b, ",\n");
        }
        put_indent(b, indent);
    }
    kb_puts(b, close);
}

static void put_arg(kb_buf *b, const char *name, const sval *v) {
    kb_printf(b, "    %s = ", name);
    put_value(b, v, 4);
    kb_puts(b, ",\n");
}

static void put_arg_str(kb_buf *b, const char *name, const char *s) {
    sval v = {SV_STR, s, NULL, NULL, 0};
    put_arg(b, name, &v);
}

/* ---------------------------------------------------------------------------------------- */
/* BUILD.bazel                                                                               */
/* ---------------------------------------------------------------------------------------- */

/* kiln_node(...): arguments in buildifier's order (name, outs, then alphabetical). */
static void put_node(kb_buf *b, const kb_model *m, const kb_target *t) {
    size_t n = t->nouts > t->nins ? t->nouts : t->nins;
    if (t->nfiles > n) n = t->nfiles;
    const char **keys = calloc(n + 1, sizeof *keys);
    sval *items = calloc(n + 1, sizeof *items);
    sval *lists = calloc(t->nins + 1, sizeof *lists);
    sval **inner = calloc(t->nins + 1, sizeof *inner);
    if (!keys || !items || !lists || !inner) {
        b->oom = 1;
        goto out;
    }
    kb_puts(b, "kiln_node(\n");
    put_arg_str(b, "name", t->name);

    for (size_t i = 0; i < t->nouts; i++) {
        keys[i] = t->outs[i].port;
        items[i] = (sval){SV_STR, t->outs[i].rel, NULL, NULL, 0};
    }
    sval outs = {SV_DICT, NULL, keys, items, t->nouts};
    put_arg(b, "outs", &outs);

    if (!t->cache) {
        sval no = {SV_RAW, "False", NULL, NULL, 0};
        put_arg(b, "cache", &no);
    }
    if (t->nfiles) {
        for (size_t i = 0; i < t->nfiles; i++) {
            keys[i] = t->files[i].param;
            items[i] = (sval){SV_STR, m->data[t->files[i].data].sha256, NULL, NULL, 0};
        }
        sval digests = {SV_DICT, NULL, keys, items, t->nfiles};
        put_arg(b, "file_digests", &digests);
        for (size_t i = 0; i < t->nfiles; i++) items[i] = (sval){SV_STR, m->data[t->files[i].data].rel, NULL, NULL, 0};
        sval files = {SV_DICT, NULL, keys, items, t->nfiles};
        put_arg(b, "files", &files);
    }
    if (t->nins) {
        for (size_t i = 0; i < t->nins; i++) {
            inner[i] = calloc(t->ins[i].nlabels + 1, sizeof **inner);
            if (!inner[i]) {
                b->oom = 1;
                goto out;
            }
            for (size_t k = 0; k < t->ins[i].nlabels; k++) inner[i][k] = (sval){SV_STR, t->ins[i].labels[k], NULL, NULL, 0};
            keys[i] = t->ins[i].port;
            lists[i] = (sval){SV_LIST, NULL, NULL, inner[i], t->ins[i].nlabels};
        }
        sval inputs = {SV_DICT, NULL, keys, lists, t->nins};
        put_arg(b, "inputs", &inputs);
    }
    put_arg_str(b, "node", t->instance);
    put_arg_str(b, "op", t->op);
    if (strcmp(t->params, "{}") != 0) put_arg_str(b, "params", t->params);
    put_arg_str(b, "plugin", t->plugin);
    if (t->sweep) put_arg_str(b, "sweep", t->sweep);
    kb_puts(b, ")\n");
out:
    for (size_t i = 0; inner && i < t->nins; i++) free(inner[i]);
    free(inner);
    free(lists);
    free(items);
    free(keys);
}

static void put_group(kb_buf *b, const kb_group *g) {
    const char **members = malloc((g->nmembers + 1) * sizeof *members);
    sval *items = calloc(g->nmembers + 1, sizeof *items);
    if (!members || !items) {
        b->oom = 1;
        free(members);
        free(items);
        return;
    }
    memcpy(members, g->members, g->nmembers * sizeof *members);
    qsort(members, g->nmembers, sizeof *members, kb_buildifier_cmp);
    for (size_t i = 0; i < g->nmembers; i++) items[i] = (sval){SV_STR, members[i], NULL, NULL, 0};
    sval srcs = {SV_LIST, NULL, NULL, items, g->nmembers};
    kb_puts(b, "filegroup(\n");
    put_arg_str(b, "name", g->name);
    put_arg(b, "srcs", &srcs);
    kb_puts(b, ")\n");
    free(items);
    free(members);
}

static void put_wheel_test(kb_buf *b, const kb_target *t) {
    kb_buf loc = {0};
    kb_printf(&loc, "$(location %s)", t->wheel_label);
    sval one[1];
    kb_puts(b, "py_test(\n");
    put_arg_str(b, "name", t->wheel_test);
    put_arg_str(b, "size", "medium");
    one[0] = (sval){SV_STR, "kiln_wheel_test.py", NULL, NULL, 0};
    sval srcs = {SV_LIST, NULL, NULL, one, 1};
    put_arg(b, "srcs", &srcs);
    sval args_item = {SV_STR, kb_str(&loc), NULL, NULL, 0};
    sval args = {SV_LIST, NULL, NULL, &args_item, 1};
    put_arg(b, "args", &args);
    sval data_item = {SV_STR, t->wheel_label, NULL, NULL, 0};
    sval data = {SV_LIST, NULL, NULL, &data_item, 1};
    put_arg(b, "data", &data);
    put_arg_str(b, "main", "kiln_wheel_test.py");
    kb_puts(b, ")\n");
    if (loc.oom) b->oom = 1;
    kb_buf_free(&loc);
}

char *kb_emit_build(const kb_model *m) {
    kb_buf b = {0};
    kb_printf(&b,
              "# Generated by `kiln export bazel` from graph \"%s\" (%s).\n"
              "# One kiln_node target per node instance, running the same `kiln exec-node` as\n"
              "# `kiln run`. Do not edit: re-export. README.md says how to build, test and share\n"
              "# caches.\n\n"
              "load(\"//:kiln.bzl\", \"kiln_node\")\n",
              m->graph_name, m->graph_file);
    for (size_t i = 0; i < m->ntargets; i++) {
        kb_putc(&b, '\n');
        put_node(&b, m, &m->targets[i]);
    }
    if (m->ngroups) kb_puts(&b, "\n# The results of every instance of each swept node.\n");
    for (size_t i = 0; i < m->ngroups; i++) {
        if (i) kb_putc(&b, '\n');
        put_group(&b, &m->groups[i]);
    }
    if (m->nwheel_tests) kb_puts(&b, "\n# Each wheel installed with pip into a fresh venv, then its predict() called.\n");
    int first = 1;
    for (size_t i = 0; i < m->ntargets; i++) {
        if (!m->targets[i].wheel_test) continue;
        if (!first) kb_putc(&b, '\n');
        first = 0;
        put_wheel_test(&b, &m->targets[i]);
    }
    return kb_take(&b);
}

/* ---------------------------------------------------------------------------------------- */
/* WORKSPACE                                                                                 */
/* ---------------------------------------------------------------------------------------- */

char *kb_emit_workspace(const kb_model *m) {
    kb_buf b = {0};
    kb_printf(&b,
              "# Generated by `kiln export bazel` from graph \"%s\" (%s).\n# Do not edit: re-export.\n\n",
              m->graph_name, m->graph_file);
    kb_puts(&b, "workspace(name = ");
    kb_put_string(&b, m->workspace);
    kb_puts(&b, m->nwheel_tests ? ")\n\nload(\"//:kiln.bzl\", \"kiln_offline_repository\", \"kiln_toolchain\")\n\n"
                                : ")\n\nload(\"//:kiln.bzl\", \"kiln_toolchain\")\n\n");
    kb_puts(&b,
            "# @kiln: the kiln binary, its library and the plugins this graph uses, linked from\n"
            "# the paths below (those of the kiln that exported it). Use another kiln without\n"
            "# re-exporting: --repo_env=KILN_BAZEL_KILN=/path/to/bin/kiln and\n"
            "# --repo_env=KILN_BAZEL_PLUGIN_PATH=/dir1:/dir2 (see README.md).\n");
    kb_puts(&b, "kiln_toolchain(\n");
    put_arg_str(&b, "name", "kiln");
    put_arg_str(&b, "kiln", m->kiln);
    sval *items = calloc(m->nlibs + m->nplugins + 1, sizeof *items);
    const char **keys = calloc(m->nplugins + 1, sizeof *keys);
    if (!items || !keys) {
        b.oom = 1;
    } else {
        if (m->nlibs) {
            for (size_t i = 0; i < m->nlibs; i++) items[i] = (sval){SV_STR, m->libs[i], NULL, NULL, 0};
            sval libs = {SV_LIST, NULL, NULL, items, m->nlibs};
            put_arg(&b, "libs", &libs);
        }
        for (size_t i = 0; i < m->nplugins; i++) {
            keys[i] = m->plugins[i].name;
            items[i] = (sval){SV_STR, m->plugins[i].path, NULL, NULL, 0};
        }
        sval plugins = {SV_DICT, NULL, keys, items, m->nplugins};
        put_arg(&b, "plugins", &plugins);
    }
    free(items);
    free(keys);
    kb_puts(&b, ")\n");
    if (m->nwheel_tests)
        kb_puts(&b, "\n# Tests (the wheel py_tests) make Bazel 4 load rules_cc, rules_java and its coverage\n"
                    "# tools, which it would download: offline stand-ins (Bazel's native rules) keep the\n"
                    "# workspace building without a network. Remove them to use the real ones.\n"
                    "kiln_offline_repository(name = \"remote_coverage_tools\")\n\n"
                    "kiln_offline_repository(name = \"rules_cc\")\n\n"
                    "kiln_offline_repository(name = \"rules_java\")\n");
    return kb_take(&b);
}

/* ---------------------------------------------------------------------------------------- */
/* README.md                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/* Markdown table cell text: "|" and "`" would end the cell or the code span. */
static void put_cell_code(kb_buf *b, const char *s) {
    kb_putc(b, '`');
    for (; *s; s++) kb_putc(b, *s == '|' ? '/' : *s == '`' ? '\'' : *s);
    kb_putc(b, '`');
}

static void put_targets_table(kb_buf *b, const kb_model *m) {
    kb_puts(b, "| target | instance | op |\n| --- | --- | --- |\n");
    for (size_t i = 0; i < m->ntargets; i++) {
        const kb_target *t = &m->targets[i];
        kb_puts(b, "| ");
        kb_buf label = {0};
        kb_printf(&label, "//:%s", t->name);
        put_cell_code(b, kb_str(&label));
        kb_buf_free(&label);
        kb_puts(b, " | ");
        put_cell_code(b, t->instance);
        kb_puts(b, " | ");
        put_cell_code(b, t->op);
        kb_puts(b, t->cache ? " |\n" : " (never cached) |\n");
    }
    for (size_t i = 0; i < m->ngroups; i++) {
        kb_buf label = {0};
        kb_printf(&label, "//:%s", m->groups[i].name);
        kb_puts(b, "| ");
        put_cell_code(b, kb_str(&label));
        kb_printf(b, " | every instance of `%s` (%zu) | filegroup |\n", m->groups[i].node, m->groups[i].nmembers);
        kb_buf_free(&label);
    }
    for (size_t i = 0; i < m->ntargets; i++) {
        if (!m->targets[i].wheel_test) continue;
        kb_buf label = {0};
        kb_printf(&label, "//:%s", m->targets[i].wheel_test);
        kb_puts(b, "| ");
        put_cell_code(b, kb_str(&label));
        kb_puts(b, " | installs the wheel of ");
        put_cell_code(b, m->targets[i].instance);
        kb_puts(b, ", calls predict() | py_test |\n");
        kb_buf_free(&label);
    }
}

static void put_list_lines(kb_buf *b, const kb_model *m, const char *what) {
    if (!strcmp(what, "PLUGINS")) {
        for (size_t i = 0; i < m->nplugins; i++) kb_printf(b, "- plugin `%s`: `%s`\n", m->plugins[i].name, m->plugins[i].path);
    } else if (!strcmp(what, "DATA")) {
        if (!m->ndata) kb_puts(b, "(This graph reads no input files.)\n");
        for (size_t i = 0; i < m->ndata; i++)
            kb_printf(b, "- `%s` (sha256 `%s`), %s `%s`\n", m->data[i].rel, m->data[i].sha256,
                      m->link_data ? "a symbolic link to" : "copied from", m->data[i].src);
    }
}

char *kb_emit_readme(const kb_model *m) {
    kb_buf b = {0};
    const char *tpl = (const char *)kb_tpl_readme_md;
    const char *example = m->ntargets ? m->targets[m->ntargets - 1].name : "all";
    while (*tpl) {
        const char *open = strstr(tpl, "{{");
        if (!open) {
            kb_puts(&b, tpl);
            break;
        }
        kb_putn(&b, tpl, (size_t)(open - tpl));
        const char *close = strstr(open, "}}");
        if (!close) {
            kb_puts(&b, open);
            break;
        }
        char key[32];
        size_t klen = (size_t)(close - open - 2);
        snprintf(key, sizeof key, "%.*s", (int)(klen < sizeof key ? klen : sizeof key - 1), open + 2);
        if (!strcmp(key, "GRAPH")) kb_puts(&b, m->graph_name);
        else if (!strcmp(key, "GRAPH_FILE")) kb_puts(&b, m->graph_file);
        else if (!strcmp(key, "NTARGETS")) kb_printf(&b, "%zu", m->ntargets);
        else if (!strcmp(key, "TARGETS")) put_targets_table(&b, m);
        else if (!strcmp(key, "KILN")) kb_puts(&b, m->kiln);
        else if (!strcmp(key, "PLUGINS") || !strcmp(key, "DATA")) put_list_lines(&b, m, key);
        else if (!strcmp(key, "EXAMPLE")) kb_puts(&b, example);
        else kb_putn(&b, open, (size_t)(close + 2 - open));
        tpl = close + 2;
    }
    return kb_take(&b);
}
