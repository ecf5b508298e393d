/* cmd_cache.c -- `kiln cache ls|verify|gc`. */
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "action_cache.h"
#include "cli.h"
#include "fsutil.h"
#include "jsonio.h"
#include "sha256.h"

/* ---- ls ---- */

typedef struct ls_state {
    int json;
    json_t *all;
    size_t count;
} ls_state;

static int ls_one(const char *key, const json_t *rec, void *user) {
    ls_state *st = user;
    st->count++;
    if (st->json) {
        json_array_append(st->all, (json_t *)rec);
        return 0;
    }
    printf("%.12s  %-28s %-16s %8.2fs", key, json_string_value(json_object_get(rec, "node")),
           json_string_value(json_object_get(rec, "op")), json_number_value(json_object_get(rec, "duration_s")));
    const char *port;
    json_t *o;
    json_object_foreach((json_t *)json_object_get(rec, "outputs"), port, o) {
        printf("  %s=%.12s", port, json_string_value(json_object_get(o, "digest")));
    }
    printf("\n");
    return 0;
}

/* ---- verify ---- */

typedef struct verify_state {
    const kiln_store *store;
    size_t blobs, bad, records, bad_records;
} verify_state;

static int verify_blob(const char *digest, int64_t size, void *user) {
    verify_state *st = user;
    kiln_error err = {0};
    st->blobs++;
    if (kiln_store_check(st->store, digest, 1, &err) != 0) {
        st->bad++;
        printf("CORRUPT %s: %s\n", digest, err.message);
    }
    return 0;
}

static int verify_record(const char *key, const json_t *rec, void *user) {
    verify_state *st = user;
    st->records++;
    const char *port;
    json_t *o;
    int ok = 1;
    json_object_foreach((json_t *)json_object_get(rec, "outputs"), port, o) {
        const char *digest = json_string_value(json_object_get(o, "digest"));
        char *path = kiln_store_blob_path(st->store, digest ? digest : "");
        if (!digest || !kiln_is_regular_file(path)) {
            printf("BROKEN record %.12s (%s): output '%s' is missing from the store\n", key,
                   json_string_value(json_object_get(rec, "node")), port);
            ok = 0;
        }
        free(path);
    }
    if (!ok) {
        st->bad_records++;
        kiln_ac_remove(st->store, key, NULL);
    }
    return 0;
}

/* ---- gc ---- */

typedef struct gc_state {
    const kiln_store *store;
    json_t *live;    /* set of referenced digests (object keys) */
    int dry_run;
    size_t removed, kept;
    int64_t freed;
} gc_state;

static void mark(gc_state *st, const char *digest) {
    if (digest && *digest) json_object_set_new(st->live, digest, json_true());
}

static void mark_outputs(gc_state *st, const json_t *outputs) {
    const char *port;
    json_t *o;
    json_object_foreach((json_t *)outputs, port, o) mark(st, json_string_value(json_object_get(o, "digest")));
}

static int gc_mark_record(const char *key, const json_t *rec, void *user) {
    gc_state *st = user;
    mark_outputs(st, json_object_get(rec, "outputs"));
    mark(st, json_string_value(json_object_get(rec, "log")));
    return 0;
}

static int gc_sweep_blob(const char *digest, int64_t size, void *user) {
    gc_state *st = user;
    if (json_object_get(st->live, digest)) {
        st->kept++;
        return 0;
    }
    st->removed++;
    st->freed += size;
    if (!st->dry_run) kiln_store_remove(st->store, digest, NULL);
    return 0;
}

static int cmp_str_desc(const void *a, const void *b) {
    return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Keeps the newest keep_runs run records (by name: job ids sort by time), marks what they
 * reference, deletes the older ones. */
static void gc_runs(gc_state *st, long keep_runs) {
    char *dir = kiln_path_join(st->store->home, "runs");
    DIR *d = opendir(dir);
    if (!d) {
        free(dir);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, cap * sizeof *names);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str_desc);
    for (size_t i = 0; i < n; i++) {
        char *path = kiln_path_join(dir, names[i]);
        if ((long)i < keep_runs) {
            json_t *rec = kiln_json_read(path, NULL);
            size_t k;
            json_t *inst;
            json_array_foreach(json_object_get(rec, "instances"), k, inst) {
                mark_outputs(st, json_object_get(inst, "outputs"));
                mark(st, json_string_value(json_object_get(inst, "log")));
            }
            json_decref(rec);
        } else if (!st->dry_run) {
            remove(path);
        }
        free(path);
        free(names[i]);
    }
    free(names);
    free(dir);
}

/* Removes work directories left by killed runs (untouched for an hour: never a live one). */
static void remove_stale_work(const kiln_store *store) {
    char *work = kiln_path_join(store->home, "work");
    DIR *d = opendir(work);
    if (d) {
        struct dirent *e;
        double now = kiln_now();
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char *p = kiln_path_join(work, e->d_name);
            struct stat stt;
            if (stat(p, &stt) == 0 && now - (double)stt.st_mtime > 3600) kiln_remove_tree(p, NULL);
            free(p);
        }
        closedir(d);
    }
    free(work);
}

int cmd_cache(int argc, char **argv) {
    if (argc < 2) return kiln_cli_usage_error("cache", "missing subcommand: ls, verify or gc");
    const char *sub = argv[1];
    static const struct option longopts[] = {{"json", no_argument, NULL, 'J'},
                                             {"home", required_argument, NULL, 'H'},
                                             {"keep-runs", required_argument, NULL, 'k'},
                                             {"dry-run", no_argument, NULL, 'n'},
                                             {NULL, 0, NULL, 0}};
    int json_out = 0, dry_run = 0, c;
    long keep_runs = 10;
    const char *home = NULL;
    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'J': json_out = 1; break;
        case 'H': home = optarg; break;
        case 'n': dry_run = 1; break;
        case 'k':
            if (kiln_cli_parse_int(optarg, 0, 1000000, &keep_runs) != 0)
                return kiln_cli_usage_error("cache", "--keep-runs expects an integer >= 0, got '%s'", optarg);
            break;
        default: return kiln_cli_usage_error("cache", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc) return kiln_cli_usage_error("cache", "unexpected argument '%s'", argv[optind]);
    if (strcmp(sub, "ls") && strcmp(sub, "verify") && strcmp(sub, "gc"))
        return kiln_cli_usage_error("cache", "unknown subcommand '%s' (expected ls, verify or gc)", sub);
    kiln_store store;
    if (kiln_cli_open_store(home, &store) != 0) return KILN_EXIT_USAGE;
    int rc = KILN_EXIT_OK;
    if (strcmp(sub, "ls") == 0) {
        ls_state st = {json_out, json_array(), 0};
        kiln_ac_foreach(&store, ls_one, &st);
        if (json_out) {
            char *s = json_dumps(st.all, JSON_INDENT(2));
            printf("%s\n", s);
            free(s);
        } else {
            printf("%zu cached result%s in %s\n", st.count, st.count == 1 ? "" : "s", store.home);
        }
        json_decref(st.all);
    } else if (strcmp(sub, "verify") == 0) {
        verify_state st = {&store, 0, 0, 0, 0};
        kiln_store_foreach(&store, verify_blob, &st);
        kiln_ac_foreach(&store, verify_record, &st);
        printf("%zu artifact%s checked, %zu corrupt (quarantined); %zu cache record%s, %zu broken (dropped)\n",
               st.blobs, st.blobs == 1 ? "" : "s", st.bad, st.records, st.records == 1 ? "" : "s", st.bad_records);
        if (st.bad || st.bad_records) rc = KILN_EXIT_FAIL;
    } else {
        gc_state st = {&store, json_object(), dry_run, 0, 0, 0};
        kiln_ac_foreach(&store, gc_mark_record, &st);
        gc_runs(&st, keep_runs);
        kiln_store_foreach(&store, gc_sweep_blob, &st);
        if (!dry_run) remove_stale_work(&store);
        printf("%s%zu artifact%s (%lld bytes) unreferenced and %s, %zu kept\n", dry_run ? "dry run: " : "",
               st.removed, st.removed == 1 ? "" : "s", (long long)st.freed, dry_run ? "would be deleted" : "deleted",
               st.kept);
        json_decref(st.live);
    }
    kiln_store_close(&store);
    return rc;
}
