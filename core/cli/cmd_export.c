/* cmd_export.c -- `kiln export EXPORTER GRAPH -o DIR`: a graph in another build system's
 * terms, written by an exporter plugin (the Bazel bridge: `kiln export bazel`).
 *
 * The graph is validated and planned as `kiln run` would (the same errors as `kiln
 * validate`); the exporter receives the plan as `kiln plan --json` prints it, plus options:
 *   "kiln"       the kiln binary the export should run (--kiln, default: this one),
 *   "kiln_libs"  the libkiln that binary loads, when it can be found,
 *   "plugins"    {"name": "/abs/path.so"} of every loaded plugin,
 *   and every --option KEY=VALUE as a string.
 * Exporters get an empty directory (plugin.h): the export is written into a fresh temporary
 * directory beside DIR, then moved into place, so a failed export leaves DIR as it was. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"

#define EXPORT_MAX_OPTIONS 64

/* 1 when `dir` has an entry besides "." and "..", 0 when empty, -1 when unreadable. */
static int dir_has_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)) != NULL) found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return found;
}

/* The file libkiln was loaded from (malloc'd), or NULL. */
static char *libkiln_path(void) {
    Dl_info info;
    if (dladdr((void *)kiln_plan_to_json, &info) == 0 || !info.dli_fname || info.dli_fname[0] != '/') return NULL;
    return strdup(info.dli_fname);
}

/* Options for the exporter: the kiln binary and library, every loaded plugin's path, and
 * the user's KEY=VALUE pairs (which may override). Returns a new object or NULL after
 * printing why. */
static json_t *exporter_options(const char *kiln_arg, const kiln_registry *reg, char **pairs, size_t npairs) {
    char *kiln = kiln_arg ? realpath(kiln_arg, NULL) : realpath("/proc/self/exe", NULL);
    if (!kiln) {
        fprintf(stderr, "kiln export: %s: %s\n", kiln_arg ? kiln_arg : "/proc/self/exe", strerror(errno));
        return NULL;
    }
    json_t *opts = json_object();
    json_object_set_new(opts, "kiln", json_string(kiln));
    json_t *libs = json_array();
    char *lib = libkiln_path();
    if (lib && kiln_arg) {
        /* Another kiln: its own library, where an install or a build tree puts it. */
        char *bin_dir = kiln_path_dirname(kiln), *prefix = kiln_path_dirname(bin_dir);
        char *lib_dir = kiln_path_join(prefix, "lib");
        const char *base = strrchr(lib, '/') + 1;
        char *own = kiln_path_join(lib_dir, base);
        free(lib);
        lib = access(own, R_OK) == 0 ? own : (free(own), NULL);
        free(bin_dir);
        free(prefix);
        free(lib_dir);
    }
    if (lib) json_array_append_new(libs, json_string(lib));
    free(lib);
    json_object_set_new(opts, "kiln_libs", libs);
    json_t *plugins = json_object();
    for (size_t i = 0; i < reg->nplugins; i++)
        json_object_set_new(plugins, reg->plugins[i].desc->name, json_string(reg->plugins[i].path));
    json_object_set_new(opts, "plugins", plugins);
    for (size_t i = 0; i < npairs; i++) {
        char *eq = strchr(pairs[i], '=');
        *eq = '\0';
        json_object_set_new(opts, pairs[i], json_string(eq + 1));
        *eq = '=';
    }
    free(kiln);
    return opts;
}

/* Moves every entry of `from` into `to` (replacing entries of the same name), then removes
 * `from`. When `to` does not exist, renames `from` to it. Returns 0 or prints why. */
static int move_into_place(const char *from, const char *to, int to_exists) {
    kiln_error err = {0};
    if (!to_exists) {
        /* The temporary directory was made 0700: give DIR the mode mkdir would. */
        mode_t mask = umask(0);
        umask(mask);
        if (rename(from, to) == 0) {
            chmod(to, 0777 & ~mask); /* cosmetic: a failure leaves a private directory */
            return 0;
        }
        fprintf(stderr, "kiln export: cannot move %s to %s: %s\n", from, to, strerror(errno));
        return -1;
    }
    DIR *d = opendir(from);
    if (!d) {
        fprintf(stderr, "kiln export: cannot read %s: %s\n", from, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *src = kiln_path_join(from, e->d_name), *dst = kiln_path_join(to, e->d_name);
        struct stat sb;
        if (lstat(dst, &sb) == 0 && kiln_remove_tree(dst, &err) != 0) {
            fprintf(stderr, "kiln export: cannot replace %s: %s\n", dst, err.message);
            rc = -1;
        } else if (rename(src, dst) != 0) {
            fprintf(stderr, "kiln export: cannot move %s to %s: %s\n", src, dst, strerror(errno));
            rc = -1;
        }
        free(src);
        free(dst);
    }
    closedir(d);
    if (rc == 0 && rmdir(from) != 0) rc = -1;
    return rc;
}

int cmd_export(int argc, char **argv) {
    static const struct option longopts[] = {{"out", required_argument, NULL, 'o'},
                                             {"force", no_argument, NULL, 'F'},
                                             {"kiln", required_argument, NULL, 'K'},
                                             {"option", required_argument, NULL, 'O'},
                                             {NULL, 0, NULL, 0}};
    const char *out = NULL, *kiln_arg = NULL;
    char *pairs[EXPORT_MAX_OPTIONS];
    size_t npairs = 0;
    int force = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'F') force = 1;
        else if (c == 'K') kiln_arg = optarg;
        else if (c == 'O') {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg)
                return kiln_cli_usage_error("export", "--option expects KEY=VALUE, got '%s'", optarg);
            if (npairs == EXPORT_MAX_OPTIONS)
                return kiln_cli_usage_error("export", "more than %d --option", EXPORT_MAX_OPTIONS);
            pairs[npairs++] = optarg;
        } else {
            return kiln_cli_usage_error("export", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return kiln_cli_usage_error("export", argc - optind < 2 ? "expected EXPORTER and GRAPH.json"
                                                                : "expected only EXPORTER and GRAPH.json");
    if (!out) return kiln_cli_usage_error("export", "missing -o DIR");
    const char *exporter_name = argv[optind], *graph_path = argv[optind + 1];

    /* The output directory: absent, or an empty directory, or any directory with --force. */
    char *dir = kiln_path_absolute(NULL, out);
    struct stat sb;
    int exists = lstat(dir, &sb) == 0;
    if (exists && !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "kiln export: %s exists and is not a directory\n", out);
        free(dir);
        return KILN_EXIT_USAGE;
    }
    if (exists && !force) {
        int has = dir_has_entries(dir);
        if (has != 0) {
            if (has < 0) fprintf(stderr, "kiln export: %s: cannot read: %s\n", out, strerror(errno));
            else fprintf(stderr, "kiln export: %s is not empty (--force writes into it, replacing what the export writes)\n", out);
            free(dir);
            return KILN_EXIT_USAGE;
        }
    }

    kiln_registry *reg = kiln_cli_load_registry();
    const kiln_plugin *plugin = NULL;
    const kiln_exporter_def *ex = kiln_registry_find_exporter(reg, exporter_name, &plugin);
    if (!ex) {
        fprintf(stderr, "kiln export: no exporter '%s'", exporter_name);
        size_t n = 0;
        for (size_t i = 0; i < reg->nplugins; i++)
            for (size_t k = 0; reg->plugins[i].desc->exporters && reg->plugins[i].desc->exporters[k]; k++)
                fprintf(stderr, "%s%s", n++ ? ", " : "; loaded exporters: ", reg->plugins[i].desc->exporters[k]->name);
        fprintf(stderr, "%s\n", n ? "" : " (no loaded plugin provides one: see 'kiln plugins')");
        kiln_registry_free(reg);
        free(dir);
        return KILN_EXIT_USAGE;
    }

    kiln_graph *g = NULL;
    kiln_plan *plan = NULL;
    int rc = kiln_cli_load_plan(graph_path, reg, &g, &plan);
    json_t *doc = NULL, *opts = NULL;
    char *parent = NULL, *tmp = NULL;
    kiln_error err = {0};
    if (rc != 0) goto out;
    rc = KILN_EXIT_FAIL;
    doc = kiln_plan_to_json(plan);
    opts = exporter_options(kiln_arg, reg, pairs, npairs);
    if (!opts) goto out;
    parent = kiln_path_dirname(dir);
    if (kiln_mkdir_p(parent, &err) != 0 || !(tmp = kiln_make_temp_dir(parent, ".kiln-export-", &err))) {
        fprintf(stderr, "kiln export: %s\n", err.message);
        goto out;
    }
    if (ex->export_plan(kiln_host_api_table(), doc, tmp, opts, &err) != 0) {
        fprintf(stderr, "kiln export: %s: %s\n", graph_path, err.message[0] ? err.message : "the exporter failed");
        goto out;
    }
    if (move_into_place(tmp, dir, exists) != 0) goto out;
    free(tmp);
    tmp = NULL;
    printf("%s: exported %zu instance%s with '%s' (plugin %s) to %s\n", graph_path, plan->ninstances,
           plan->ninstances == 1 ? "" : "s", exporter_name, plugin->desc->name, out);
    rc = KILN_EXIT_OK;
out:
    if (tmp) kiln_remove_tree(tmp, &err);
    free(tmp);
    free(parent);
    json_decref(opts);
    json_decref(doc);
    kiln_plan_free(plan);
    kiln_graph_free(g);
    kiln_registry_free(reg);
    free(dir);
    return rc;
}
