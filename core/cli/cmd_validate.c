/* cmd_validate.c -- `kiln validate`: report every problem of a graph at once. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "validate.h"

int cmd_validate(int argc, char **argv) {
    static const struct option longopts[] = {{"json", no_argument, NULL, 'J'}, {NULL, 0, NULL, 0}};
    int json_out = 0;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'J') json_out = 1;
        else return kiln_cli_usage_error("validate", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return kiln_cli_usage_error("validate", optind >= argc ? "missing GRAPH.json" : "expected one GRAPH.json");
    const char *path = argv[optind];
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "kiln validate: %s: cannot read: %s\n", path, strerror(errno));
        return KILN_EXIT_USAGE;
    }
    if (!kiln_is_regular_file(path)) {
        fprintf(stderr, "kiln validate: %s: not a regular file\n", path);
        return KILN_EXIT_USAGE;
    }
    kiln_registry *reg = kiln_cli_load_registry();
    kiln_diags diags = {0};
    kiln_graph *g = kiln_graph_parse_file(path, &diags);
    if (g) kiln_validate(g, reg, &diags);
    kiln_plan *plan = NULL;
    if (g && diags.count == 0) plan = kiln_plan_build(g, reg, &diags);
    int valid = g && plan && diags.count == 0;
    if (json_out) {
        json_t *errs = json_array();
        for (size_t i = 0; i < diags.count; i++) json_array_append_new(errs, json_string(diags.items[i]));
        json_t *doc = json_pack("{s:b, s:o, s:I}", "valid", valid, "errors", errs, "instances",
                                (json_int_t)(plan ? plan->ninstances : 0));
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", s);
        free(s);
        json_decref(doc);
    } else {
        for (size_t i = 0; i < diags.count; i++) fprintf(stderr, "%s\n", diags.items[i]);
        if (valid)
            printf("%s: valid (%zu node%s, %zu instance%s)\n", path, g->nnodes, g->nnodes == 1 ? "" : "s",
                   plan->ninstances, plan->ninstances == 1 ? "" : "s");
        else
            fprintf(stderr, "%s: %zu error%s\n", path, diags.count ? diags.count : 1, diags.count == 1 ? "" : "s");
    }
    kiln_plan_free(plan);
    kiln_graph_free(g);
    kiln_diags_free(&diags);
    kiln_registry_free(reg);
    return valid ? KILN_EXIT_OK : KILN_EXIT_FAIL;
}
