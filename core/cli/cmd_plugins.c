/* cmd_plugins.c -- `kiln plugins`: what loaded, with ops, ports and params; what was refused. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *type_name(kiln_port_type t) {
    switch (t) {
    case KILN_TYPE_DATASET: return "dataset";
    case KILN_TYPE_MODEL: return "model";
    case KILN_TYPE_METRICS: return "metrics";
    case KILN_TYPE_WHEEL: return "wheel";
    case KILN_TYPE_FILE: return "file";
    }
    return "?";
}

static json_t *ports_json(const kiln_port_def *ports, int is_input) {
    json_t *arr = json_array();
    for (const kiln_port_def *p = ports; p && p->name; p++) {
        json_t *o = json_pack("{s:s, s:s}", "name", p->name, "type", type_name(p->type));
        if (is_input) {
            json_object_set_new(o, "cardinality", json_string(p->cardinality == KILN_LIST ? "list" : "one"));
            json_object_set_new(o, "optional", json_boolean(p->flags & KILN_PORT_OPTIONAL));
        } else {
            json_object_set_new(o, "file_name", json_string(p->file_name ? p->file_name : p->name));
        }
        if (p->summary) json_object_set_new(o, "summary", json_string(p->summary));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *flags_json(uint32_t f) {
    json_t *arr = json_array();
    if (f & KILN_OP_DETERMINISTIC) json_array_append_new(arr, json_string("deterministic"));
    if (f & KILN_OP_NEEDS_GPU) json_array_append_new(arr, json_string("needs_gpu"));
    if (f & KILN_OP_NO_CACHE) json_array_append_new(arr, json_string("no_cache"));
    return arr;
}

/* The whole listing as JSON (also the shape GET /v1/plugins returns). */
static json_t *registry_json(const kiln_registry *reg) {
    json_t *plugins = json_array();
    for (size_t i = 0; i < reg->nplugins; i++) {
        const kiln_plugin *pl = &reg->plugins[i];
        json_t *ops = json_array();
        for (size_t k = 0; k < reg->nops; k++) {
            const kiln_op_entry *op = &reg->ops[k];
            if (op->plugin != pl) continue;
            json_t *o = json_pack("{s:s, s:s}", "name", op->def->name, "summary", op->def->summary ? op->def->summary : "");
            json_object_set_new(o, "flags", flags_json(op->def->flags));
            json_object_set_new(o, "threads", json_integer(op->def->threads ? op->def->threads : 1));
            json_object_set_new(o, "inputs", ports_json(op->def->inputs, 1));
            json_object_set_new(o, "outputs", ports_json(op->def->outputs, 0));
            const json_t *params = kiln_schema_describe(op->schema);
            json_object_set_new(o, "params", params ? json_deep_copy(params) : json_object());
            json_array_append_new(ops, o);
        }
        json_t *exps = json_array();
        for (const kiln_exporter_def *const *e = pl->desc->exporters; e && *e; e++)
            json_array_append_new(exps, json_pack("{s:s, s:s}", "name", (*e)->name, "summary", (*e)->summary ? (*e)->summary : ""));
        json_array_append_new(plugins, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "name", pl->desc->name, "version",
                                                 pl->desc->version, "summary", pl->desc->summary ? pl->desc->summary : "",
                                                 "path", pl->path, "ops", ops, "exporters", exps));
    }
    json_t *refused = json_array();
    for (size_t i = 0; i < reg->nrefused; i++)
        json_array_append_new(refused, json_pack("{s:s, s:s}", "path", reg->refused[i].path, "reason", reg->refused[i].reason));
    json_t *dirs = json_array();
    char **sd = kiln_registry_search_dirs();
    for (char **d = sd; d && *d; d++) {
        json_array_append_new(dirs, json_string(*d));
        free(*d);
    }
    free(sd);
    return json_pack("{s:o, s:o, s:o}", "plugins", plugins, "refused", refused, "search_path", dirs);
}

static void print_text(const json_t *doc) {
    size_t i, k, j;
    const json_t *pl, *op, *port;
    printf("Search path:");
    json_array_foreach(json_object_get(doc, "search_path"), i, pl) printf(" %s", json_string_value(pl));
    printf("\n\n");
    json_array_foreach(json_object_get(doc, "plugins"), i, pl) {
        printf("%s %s  (%s)\n  %s\n", json_string_value(json_object_get(pl, "name")),
               json_string_value(json_object_get(pl, "version")), json_string_value(json_object_get(pl, "path")),
               json_string_value(json_object_get(pl, "summary")));
        json_array_foreach(json_object_get(pl, "ops"), k, op) {
            printf("\n  %s -- %s\n", json_string_value(json_object_get(op, "name")),
                   json_string_value(json_object_get(op, "summary")));
            const json_t *flags = json_object_get(op, "flags");
            printf("    flags:");
            if (json_array_size(flags) == 0) printf(" (none)");
            json_array_foreach(flags, j, port) printf(" %s", json_string_value(port));
            printf("; threads: %lld\n", (long long)json_integer_value(json_object_get(op, "threads")));
            json_array_foreach(json_object_get(op, "inputs"), j, port) {
                printf("    in   %-12s %-8s %s%s\n", json_string_value(json_object_get(port, "name")),
                       json_string_value(json_object_get(port, "type")),
                       json_string_value(json_object_get(port, "cardinality")),
                       json_is_true(json_object_get(port, "optional")) ? ", optional" : "");
            }
            json_array_foreach(json_object_get(op, "outputs"), j, port) {
                printf("    out  %-12s %-8s -> %s\n", json_string_value(json_object_get(port, "name")),
                       json_string_value(json_object_get(port, "type")),
                       json_string_value(json_object_get(port, "file_name")));
            }
            const char *pname;
            json_t *pdesc;
            json_object_foreach((json_t *)json_object_get(op, "params"), pname, pdesc) {
                char *d = json_dumps(pdesc, JSON_COMPACT | JSON_SORT_KEYS);
                printf("    param %-11s %s\n", pname, d);
                free(d);
            }
        }
        json_array_foreach(json_object_get(pl, "exporters"), k, op) {
            printf("\n  exporter %s -- %s\n", json_string_value(json_object_get(op, "name")),
                   json_string_value(json_object_get(op, "summary")));
        }
        printf("\n");
    }
    const json_t *refused = json_object_get(doc, "refused");
    if (json_array_size(refused)) {
        printf("Refused:\n");
        json_array_foreach(refused, i, pl) printf("  %s\n    %s\n", json_string_value(json_object_get(pl, "path")),
                                                  json_string_value(json_object_get(pl, "reason")));
    }
}

int cmd_plugins(int argc, char **argv) {
    static const struct option longopts[] = {{"json", no_argument, NULL, 'J'}, {NULL, 0, NULL, 0}};
    int json_out = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'J') json_out = 1;
        else return kiln_cli_usage_error("plugins", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind != argc) return kiln_cli_usage_error("plugins", "unexpected argument '%s'", argv[optind]);
    kiln_registry *reg = kiln_cli_load_registry();
    json_t *doc = registry_json(reg);
    if (json_out) {
        char *s = json_dumps(doc, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
    } else {
        print_text(doc);
    }
    json_decref(doc);
    kiln_registry_free(reg);
    return 0;
}
