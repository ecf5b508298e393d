/* cmd_wheel.c -- `kiln wheel check [--json] [--max-entries N] [--max-size BYTES]
 * [--max-ratio R] FILE.whl...`: validate wheels from the command
 * line with the checker behind the wheel.check op (plugins/wheel/check.h), the way people
 * use `auditwheel show`. Built with the checker when plugins/wheel is (it defines
 * KILN_HAVE_WHEEL_CHECK and links kiln_wheel_check into the kiln command); otherwise the
 * command says so and fails.
 *
 * Exit status: 0 every wheel is valid, 1 one is not (or cannot be read), 2 usage error.
 * Uses nothing of the other commands' helpers, so tests can link it alone. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifdef KILN_HAVE_WHEEL_CHECK
#include "wheel/check.h"
#endif

static int wheel_usage(const char *fmt, ...) KILN_PRINTF(1, 2);
static int wheel_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kiln wheel: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nUsage: kiln wheel check [--json] [--max-entries N] [--max-size BYTES] [--max-ratio R] "
                    "FILE.whl...\nTry 'kiln wheel --help'.\n");
    va_end(ap);
    return KILN_EXIT_USAGE;
}

#ifdef KILN_HAVE_WHEEL_CHECK
/* The human summary of one report. */
static void print_report(const char *path, const json_t *r) {
    const json_t *errors = json_object_get(r, "errors"), *warnings = json_object_get(r, "warnings");
    size_t nerr = json_array_size(errors), nwarn = json_array_size(warnings);
    if (nerr) printf("%s: INVALID (%zu error%s", path, nerr, nerr == 1 ? "" : "s");
    else printf("%s: valid (", path);
    if (nerr && nwarn) printf(", ");
    if (nwarn || !nerr) printf("%zu warning%s", nwarn, nwarn == 1 ? "" : "s");
    printf(")\n");
    const char *name = json_string_value(json_object_get(r, "name"));
    const char *version = json_string_value(json_object_get(r, "version"));
    const json_t *tags = json_object_get(r, "tags");
    const json_t *rec = json_object_get(r, "record");
    if (name || version || json_array_size(tags)) {
        printf("  %s %s", name ? name : "?", version ? version : "?");
        size_t i;
        const json_t *t;
        json_array_foreach(tags, i, t) printf("%s%s", i ? ", " : ", tags ", json_string_value(t));
        if (rec) {
            long long files = (long long)json_integer_value(json_object_get(r, "files"));
            long long verified = (long long)json_integer_value(json_object_get(rec, "verified"));
            printf(", %lld file%s, %lld RECORD hash%s verified", files, files == 1 ? "" : "s", verified,
                   verified == 1 ? "" : "es");
        }
        printf("\n");
    }
    const json_t *platform = json_object_get(r, "platform");
    const json_t *elfs = json_object_get(platform, "elf_files");
    if (json_array_size(elfs)) {
        const json_t *maxv = json_object_get(platform, "max_versions");
        printf("  %zu ELF file%s; newest symbol versions:", json_array_size(elfs), json_array_size(elfs) == 1 ? "" : "s");
        const char *key;
        const json_t *v;
        int any = 0;
        json_object_foreach((json_t *)maxv, key, v) if (json_is_string(v)) {
            printf(" %s_%s", key, json_string_value(v));
            any = 1;
        }
        printf("%s\n", any ? "" : " none");
        const char *sat = json_string_value(json_object_get(platform, "satisfied_tag"));
        if (sat) printf("  most compatible platform tag it satisfies: %s\n", sat);
    }
    size_t i;
    const json_t *item;
    json_array_foreach(errors, i, item) {
        printf("  error [%s] %s\n", json_string_value(json_object_get(item, "check")),
               json_string_value(json_object_get(item, "message")));
    }
    json_array_foreach(warnings, i, item) {
        printf("  warning [%s] %s\n", json_string_value(json_object_get(item, "check")),
               json_string_value(json_object_get(item, "message")));
    }
}
#endif

/* The value of a limit option ("--max-entries N"): a positive integer, or with `real` a
 * number above 1. Returns 0, or -1 with *why set to what was expected. */
static int limit_value(const char *text, int real, double *out, const char **why) {
    char *end = NULL;
    errno = 0;
    double v = real ? strtod(text, &end) : (double)strtoull(text, &end, 10);
    if (!text[0] || *end || errno || text[0] == '-' || v <= (real ? 1.0 : 0.0)) {
        *why = real ? "a number above 1" : "a positive integer";
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_wheel(int argc, char **argv) {
    if (argc < 2) return wheel_usage("missing subcommand (check)");
    if (strcmp(argv[1], "check") != 0) return wheel_usage("unknown subcommand '%s' (expected check)", argv[1]);
    int json_out = 0, nfiles = 0, options_done = 0;
    /* Limits as wheel.check's params: entries, total bytes, ratio (0: the default). */
    double max_entries = 0, max_size = 0, max_ratio = 0;
    for (int i = 2; i < argc; i++) {
        if (!options_done && strcmp(argv[i], "--") == 0) {
            options_done = 1;
        } else if (!options_done && strcmp(argv[i], "--json") == 0) {
            json_out = 1;
        } else if (!options_done && (strcmp(argv[i], "--max-entries") == 0 || strcmp(argv[i], "--max-size") == 0 ||
                                     strcmp(argv[i], "--max-ratio") == 0)) {
            int real = strcmp(argv[i], "--max-ratio") == 0;
            double *dst = real ? &max_ratio : strcmp(argv[i], "--max-size") == 0 ? &max_size : &max_entries;
            const char *why = NULL;
            if (i + 1 >= argc) return wheel_usage("option '%s' needs a value", argv[i]);
            if (limit_value(argv[i + 1], real, dst, &why) != 0)
                return wheel_usage("option '%s': expected %s, got '%s'", argv[i], why, argv[i + 1]);
            i++;
        } else if (!options_done && argv[i][0] == '-' && argv[i][1]) {
            return wheel_usage("unknown option '%s'", argv[i]);
        } else {
            nfiles++;
        }
    }
    if (nfiles == 0) return wheel_usage("missing FILE.whl");
#ifndef KILN_HAVE_WHEEL_CHECK
    (void)json_out;
    fprintf(stderr, "kiln wheel: this kiln was built without the wheel plugin (it needs libzip and libelf)\n");
    return KILN_EXIT_FAIL;
#else
    kiln_wheel_limits lim;
    kiln_wheel_limits_default(&lim);
    if (max_entries > 0) lim.max_entries = (uint64_t)max_entries;
    if (max_size > 0) lim.max_total_size = (uint64_t)max_size;
    if (max_ratio > 0) lim.max_ratio = max_ratio;
    if (lim.max_entry_size > lim.max_total_size) lim.max_entry_size = lim.max_total_size;
    int all_valid = 1;
    json_t *reports = json_array();
    options_done = 0;
    for (int i = 2; i < argc; i++) {
        if (!options_done && strcmp(argv[i], "--") == 0) {
            options_done = 1;
            continue;
        }
        if (!options_done && strcmp(argv[i], "--json") == 0) continue;
        if (!options_done && (strcmp(argv[i], "--max-entries") == 0 || strcmp(argv[i], "--max-size") == 0 ||
                              strcmp(argv[i], "--max-ratio") == 0)) {
            i++;
            continue;
        }
        json_t *r = kiln_wheel_check(argv[i], NULL, &lim);
        if (!r) {
            fprintf(stderr, "kiln wheel: out of memory checking %s\n", argv[i]);
            json_decref(reports);
            return KILN_EXIT_FAIL;
        }
        if (!json_is_true(json_object_get(r, "valid"))) all_valid = 0;
        if (json_out) {
            json_object_set_new(r, "path", json_string(argv[i]));
            json_array_append_new(reports, r);
        } else {
            print_report(argv[i], r);
            json_decref(r);
        }
    }
    if (json_out) {
        json_t *doc = json_pack("{s:b, s:o}", "valid", all_valid, "wheels", reports);
        char *s = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        if (s) printf("%s\n", s);
        free(s);
        json_decref(doc);
    } else {
        json_decref(reports);
    }
    fflush(stdout);
    return all_valid ? KILN_EXIT_OK : KILN_EXIT_FAIL;
#endif
}
