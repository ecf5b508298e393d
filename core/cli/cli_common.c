/* cli_common.c -- helpers shared by the subcommands (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "home.h"
#include "validate.h"

int kiln_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kiln %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'kiln %s --help'.\n", cmd);
    va_end(ap);
    return KILN_EXIT_USAGE;
}

void kiln_cli_print_usage(FILE *out, const char *cmd) {
    const kiln_command *c = kiln_cli_find_command(cmd);
    if (!c) return;
    fprintf(out, "kiln %s -- %s\n\n%s", c->name, c->summary, c->usage);
}

int kiln_cli_open_store(const char *home_override, kiln_store *store) {
    char *home = kiln_home_resolve(home_override);
    if (!home) {
        fprintf(stderr, "kiln: cannot determine the state directory; set KILN_HOME or pass --home DIR\n");
        return KILN_EXIT_USAGE;
    }
    kiln_error err = {0};
    int rc = kiln_store_open(store, home, &err);
    free(home);
    if (rc != 0) {
        fprintf(stderr, "kiln: %s\n", err.message);
        return KILN_EXIT_FAIL;
    }
    return 0;
}

kiln_registry *kiln_cli_load_registry(void) {
    kiln_registry *reg = kiln_registry_new();
    kiln_registry_load_default(reg);
    return reg;
}

int kiln_cli_load_plan(const char *path, const kiln_registry *reg, kiln_graph **graph_out,
                       kiln_plan **plan_out) {
    *graph_out = NULL;
    *plan_out = NULL;
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "kiln: %s: cannot read graph: %s\n", path, strerror(errno));
        return KILN_EXIT_USAGE;
    }
    if (!kiln_is_regular_file(path)) {
        fprintf(stderr, "kiln: %s: not a regular file\n", path);
        return KILN_EXIT_USAGE;
    }
    kiln_diags diags = {0};
    kiln_graph *g = kiln_graph_parse_file(path, &diags);
    if (g) kiln_validate(g, reg, &diags); /* report every problem at once */
    kiln_plan *plan = NULL;
    if (g && diags.count == 0) plan = kiln_plan_build(g, reg, &diags);
    if (diags.count || !plan) {
        for (size_t i = 0; i < diags.count; i++) fprintf(stderr, "%s\n", diags.items[i]);
        if (diags.count == 0) fprintf(stderr, "%s: invalid graph\n", path);
        fprintf(stderr, "%s: %zu error%s\n", path, diags.count, diags.count == 1 ? "" : "s");
        kiln_diags_free(&diags);
        kiln_plan_free(plan);
        kiln_graph_free(g);
        return KILN_EXIT_FAIL;
    }
    kiln_diags_free(&diags);
    *graph_out = g;
    *plan_out = plan;
    return 0;
}

int kiln_cli_parse_int(const char *s, long min, long max, long *out) {
    if (!s || !*s) return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int kiln_cli_color(FILE *f) {
    return isatty(fileno(f)) && !getenv("NO_COLOR");
}
