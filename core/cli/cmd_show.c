/* cmd_show.c -- `kiln show DIGEST|NODE` and `kiln get NODE[.PORT] -o DIR`: locating and
 * copying results out of the store. */
#include <ctype.h>
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "action_cache.h"
#include "cli.h"
#include "fsutil.h"
#include "run_record.h"
#include "sha256.h"

/* 1 when s looks like a digest or a digest prefix (>= 8 lowercase hex chars). */
static int looks_like_digest(const char *s) {
    size_t n = strlen(s);
    if (n < 8 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) return 0;
    return 1;
}

typedef struct prefix_search {
    const char *prefix;
    char found[65];
    size_t matches;
} prefix_search;

static int match_prefix(const char *digest, int64_t size, void *user) {
    prefix_search *ps = user;
    if (strncmp(digest, ps->prefix, strlen(ps->prefix)) == 0) {
        ps->matches++;
        snprintf(ps->found, sizeof ps->found, "%s", digest);
    }
    return 0;
}

typedef struct producers {
    const char *digest;
    json_t *list;
} producers;

static int find_producers(const char *key, const json_t *rec, void *user) {
    producers *p = user;
    const char *port;
    json_t *o;
    json_object_foreach((json_t *)json_object_get(rec, "outputs"), port, o) {
        const char *d = json_string_value(json_object_get(o, "digest"));
        if (d && strcmp(d, p->digest) == 0)
            json_array_append_new(p->list, json_pack("{s:s, s:s, s:s, s:s, s:O}", "key", key, "node",
                                                     json_string_value(json_object_get(rec, "node")), "op",
                                                     json_string_value(json_object_get(rec, "op")), "port", port,
                                                     "file_name", json_object_get(o, "file_name")));
    }
    const char *log = json_string_value(json_object_get(rec, "log"));
    if (log && strcmp(log, p->digest) == 0)
        json_array_append_new(p->list, json_pack("{s:s, s:s, s:s, s:s}", "key", key, "node",
                                                 json_string_value(json_object_get(rec, "node")), "op",
                                                 json_string_value(json_object_get(rec, "op")), "port", "(log)"));
    return 0;
}

static int show_digest(const kiln_store *store, const char *arg, int json_out) {
    prefix_search ps = {arg, "", 0};
    kiln_store_foreach(store, match_prefix, &ps);
    if (ps.matches == 0) {
        fprintf(stderr, "kiln show: no artifact %s in %s\n", arg, store->cas_dir);
        return KILN_EXIT_FAIL;
    }
    if (ps.matches > 1) {
        fprintf(stderr, "kiln show: %s is ambiguous (%zu artifacts); give more characters\n", arg, ps.matches);
        return KILN_EXIT_FAIL;
    }
    kiln_error err = {0};
    int ok = kiln_store_check(store, ps.found, 0, &err) == 0;
    char *path = kiln_store_blob_path(store, ps.found);
    struct stat_size { long long size; } sz = {0};
    FILE *f = fopen(path, "rb");
    if (f) {
        fseek(f, 0, SEEK_END);
        sz.size = ftell(f);
        fclose(f);
    }
    producers p = {ps.found, json_array()};
    kiln_ac_foreach(store, find_producers, &p);
    if (json_out) {
        json_t *doc = json_pack("{s:s, s:s, s:I, s:b, s:O}", "digest", ps.found, "path", path, "size",
                                (json_int_t)sz.size, "intact", ok, "produced_by", p.list);
        if (!ok) json_object_set_new(doc, "error", json_string(err.message));
        char *s = json_dumps(doc, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
        json_decref(doc);
    } else {
        printf("artifact %s\n  path: %s\n  size: %lld bytes\n  intact: %s\n", ps.found, path, sz.size,
               ok ? "yes" : err.message);
        size_t i;
        json_t *e;
        json_array_foreach(p.list, i, e) {
            printf("  produced by %s (%s) port %s, action key %.12s\n", json_string_value(json_object_get(e, "node")),
                   json_string_value(json_object_get(e, "op")), json_string_value(json_object_get(e, "port")),
                   json_string_value(json_object_get(e, "key")));
        }
    }
    json_decref(p.list);
    free(path);
    return ok ? KILN_EXIT_OK : KILN_EXIT_FAIL;
}

static int show_node(const kiln_store *store, const char *run_id, const char *name, int json_out) {
    kiln_error err = {0};
    json_t *rec = kiln_run_record_load(store, run_id, &err);
    if (!rec) {
        fprintf(stderr, "kiln show: %s\n", err.message);
        return KILN_EXIT_FAIL;
    }
    const json_t *inst = kiln_run_record_find(rec, name, &err);
    if (!inst) {
        fprintf(stderr, "kiln show: %s\n", err.message);
        json_decref(rec);
        return KILN_EXIT_FAIL;
    }
    json_t *doc = json_deep_copy(inst);
    json_object_set(doc, "job", json_object_get(rec, "job"));
    const char *port;
    json_t *o;
    json_object_foreach(json_object_get(doc, "outputs"), port, o) {
        char *path = kiln_store_blob_path(store, json_string_value(json_object_get(o, "digest")));
        json_object_set_new(o, "path", json_string(path));
        free(path);
    }
    const char *log = json_string_value(json_object_get(doc, "log"));
    if (log && *log) {
        char *path = kiln_store_blob_path(store, log);
        json_object_set_new(doc, "log_path", json_string(path));
        free(path);
    }
    if (json_out) {
        char *s = json_dumps(doc, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
    } else {
        printf("%s (run %s)\n  op: %s\n  state: %s\n  action key: %s\n", json_string_value(json_object_get(doc, "name")),
               json_string_value(json_object_get(rec, "job")), json_string_value(json_object_get(doc, "op")),
               json_string_value(json_object_get(doc, "state")), json_string_value(json_object_get(doc, "key")));
        const char *error = json_string_value(json_object_get(doc, "error"));
        if (error) printf("  error: %s\n", error);
        json_object_foreach(json_object_get(doc, "outputs"), port, o) {
            printf("  output %s: %s\n    digest %s, %lld bytes, file name %s\n", port,
                   json_string_value(json_object_get(o, "path")), json_string_value(json_object_get(o, "digest")),
                   (long long)json_integer_value(json_object_get(o, "size")),
                   json_string_value(json_object_get(o, "file_name")));
        }
        const char *lp = json_string_value(json_object_get(doc, "log_path"));
        if (lp) printf("  log: %s\n", lp);
    }
    json_decref(doc);
    json_decref(rec);
    return KILN_EXIT_OK;
}

int cmd_show(int argc, char **argv) {
    static const struct option longopts[] = {{"json", no_argument, NULL, 'J'},
                                             {"home", required_argument, NULL, 'H'},
                                             {"run", required_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
    int json_out = 0, c;
    const char *home = NULL, *run_id = NULL;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'J') json_out = 1;
        else if (c == 'H') home = optarg;
        else if (c == 'r') run_id = optarg;
        else return kiln_cli_usage_error("show", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return kiln_cli_usage_error("show", optind >= argc ? "missing DIGEST or NODE" : "expected one DIGEST or NODE");
    kiln_store store;
    if (kiln_cli_open_store(home, &store) != 0) return KILN_EXIT_USAGE;
    const char *arg = argv[optind];
    int rc = looks_like_digest(arg) ? show_digest(&store, arg, json_out) : show_node(&store, run_id, arg, json_out);
    kiln_store_close(&store);
    return rc;
}

int cmd_get(int argc, char **argv) {
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"home", required_argument, NULL, 'H'},
                                             {"run", required_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
    int c;
    const char *home = NULL, *run_id = NULL, *out_dir = NULL;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (c == 'o') out_dir = optarg;
        else if (c == 'H') home = optarg;
        else if (c == 'r') run_id = optarg;
        else return kiln_cli_usage_error("get", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return kiln_cli_usage_error("get", optind >= argc ? "missing NODE[.PORT]" : "expected one NODE[.PORT]");
    if (!out_dir) return kiln_cli_usage_error("get", "missing -o DIR");
    kiln_store store;
    if (kiln_cli_open_store(home, &store) != 0) return KILN_EXIT_USAGE;
    kiln_error err = {0};
    json_t *rec = kiln_run_record_load(&store, run_id, &err);
    if (!rec) {
        fprintf(stderr, "kiln get: %s\n", err.message);
        kiln_store_close(&store);
        return KILN_EXIT_FAIL;
    }
    /* NODE[.PORT]: the port is after the last '.' that is outside any [...] sweep suffix. */
    char *name = strdup(argv[optind]);
    char *port = NULL;
    const json_t *inst = kiln_run_record_find(rec, name, &err);
    if (!inst) {
        char *dot = strrchr(name, '.');
        char *bracket = strrchr(name, ']');
        if (dot && (!bracket || dot > bracket)) {
            *dot = '\0';
            port = dot + 1;
            kiln_error err2 = {0};
            inst = kiln_run_record_find(rec, name, &err2);
            if (!inst) err = err2;
        }
    }
    int rc = KILN_EXIT_OK;
    if (!inst) {
        fprintf(stderr, "kiln get: %s\n", err.message);
        rc = KILN_EXIT_FAIL;
    } else {
        const json_t *outs = json_object_get(inst, "outputs");
        if (port && !json_object_get(outs, port)) {
            fprintf(stderr, "kiln get: %s has no output '%s' (outputs:", json_string_value(json_object_get(inst, "name")), port);
            const char *p;
            json_t *o;
            json_object_foreach((json_t *)outs, p, o) fprintf(stderr, " %s", p);
            fprintf(stderr, ")\n");
            rc = KILN_EXIT_FAIL;
        } else if (json_object_size(outs) == 0) {
            fprintf(stderr, "kiln get: %s has no outputs (state: %s)\n", json_string_value(json_object_get(inst, "name")),
                    json_string_value(json_object_get(inst, "state")));
            rc = KILN_EXIT_FAIL;
        } else if (kiln_mkdir_p(out_dir, &err) != 0) {
            fprintf(stderr, "kiln get: %s\n", err.message);
            rc = KILN_EXIT_FAIL;
        } else {
            const char *p;
            json_t *o;
            json_object_foreach((json_t *)outs, p, o) {
                if (port && strcmp(p, port) != 0) continue;
                const char *digest = json_string_value(json_object_get(o, "digest"));
                const char *fname = json_string_value(json_object_get(o, "file_name"));
                if (kiln_store_check(&store, digest, 0, &err) != 0) {
                    fprintf(stderr, "kiln get: %s.%s: %s\n", json_string_value(json_object_get(inst, "name")), p, err.message);
                    rc = KILN_EXIT_FAIL;
                    continue;
                }
                char *src = kiln_store_blob_path(&store, digest);
                char *dst = kiln_path_join(out_dir, fname ? fname : p);
                if (kiln_copy_file(src, dst, &err) != 0) {
                    fprintf(stderr, "kiln get: %s\n", err.message);
                    rc = KILN_EXIT_FAIL;
                } else {
                    printf("%s\n", dst);
                }
                free(src);
                free(dst);
            }
        }
    }
    free(name);
    json_decref(rec);
    kiln_store_close(&store);
    return rc;
}
