/* cmd_plugins.c -- `kiln plugins`: what loaded, with ops, ports and params; what was refused. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "registry_json.h"

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
    json_t *doc = kiln_registry_json(reg);
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
