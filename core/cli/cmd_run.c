/* cmd_run.c -- `kiln run` (execute a graph) and `kiln plan` (show what would run). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action_cache.h"
#include "cli.h"
#include "fsutil.h"
#include "progress_view.h"
#include "run_record.h"
#include "runner.h"
#include "spawn.h"

/* Set by SIGINT/SIGTERM; the runner polls it. The one global of the CLI. */
static volatile sig_atomic_t g_cancel;

static void on_signal(int sig) {
    (void)sig;
    g_cancel = 1;
}

typedef struct run_view {
    int json;                  /* print raw events */
    kiln_progress_view *view;  /* otherwise this   */
} run_view;

static void on_event(const json_t *ev, void *user) {
    run_view *v = user;
    if (v->json) {
        char *s = json_dumps(ev, JSON_COMPACT);
        printf("%s\n", s);
        fflush(stdout);
        free(s);
        return;
    }
    kiln_progress_view_event(v->view, ev);
}

/* Copies every output of every finished instance to out_dir/<instance>/<file_name>. */
static int copy_out(const kiln_plan *plan, const kiln_run *run, const kiln_store *store, const char *out_dir) {
    kiln_error err = {0};
    int rc = 0;
    for (size_t i = 0; i < plan->ninstances; i++) {
        const json_t *outs = run->nodes[i].outputs;
        if (!outs) continue;
        char *dir = kiln_path_join(out_dir, plan->instances[i].name);
        if (kiln_mkdir_p(dir, &err) != 0) {
            fprintf(stderr, "kiln run: --out: %s\n", err.message);
            free(dir);
            return KILN_EXIT_FAIL;
        }
        const char *port;
        json_t *o;
        json_object_foreach((json_t *)outs, port, o) {
            const char *digest = json_string_value(json_object_get(o, "digest"));
            const char *name = json_string_value(json_object_get(o, "file_name"));
            char *src = kiln_store_blob_path(store, digest);
            char *dst = kiln_path_join(dir, name ? name : port);
            if (kiln_copy_file(src, dst, &err) != 0) {
                fprintf(stderr, "kiln run: --out: %s\n", err.message);
                rc = KILN_EXIT_FAIL;
            }
            free(src);
            free(dst);
        }
        free(dir);
    }
    return rc;
}

static void print_summary(const kiln_plan *plan, const kiln_run *run, const kiln_store *store, const char *job) {
    size_t counts[KILN_NODE_SKIPPED + 1] = {0};
    printf("\nSummary of run %s:\n", job);
    for (size_t i = 0; i < plan->ninstances; i++) {
        const kiln_node_outcome *o = &run->nodes[i];
        counts[o->state]++;
        if (o->state == KILN_NODE_CACHED) printf("  %-28s cached\n", plan->instances[i].name);
        else if (o->attempts > 0)
            printf("  %-28s %-9s %.2fs%s\n", plan->instances[i].name, kiln_node_state_name(o->state), o->duration_s,
                   o->attempts > 1 ? " (after retries)" : "");
        else printf("  %-28s %s\n", plan->instances[i].name, kiln_node_state_name(o->state));
        if (o->error && o->state != KILN_NODE_SUCCEEDED)
            printf("      error: %s\n", o->error);
        const char *port;
        json_t *out;
        if (o->outputs) {
            json_object_foreach(o->outputs, port, out) {
                const char *digest = json_string_value(json_object_get(out, "digest"));
                char *path = kiln_store_blob_path(store, digest);
                printf("      %s: %s (%s, %lld bytes)\n", port, path,
                       json_string_value(json_object_get(out, "file_name")),
                       (long long)json_integer_value(json_object_get(out, "size")));
                free(path);
            }
        }
        if (o->metrics) {
            const char *name;
            json_t *m;
            json_object_foreach(o->metrics, name, m) {
                printf("      metric %s = %g\n", name, json_number_value(json_object_get(m, "value")));
            }
        }
        if (o->log_digest[0] && o->state != KILN_NODE_CACHED) {
            char *path = kiln_store_blob_path(store, o->log_digest);
            printf("      log: %s\n", path);
            free(path);
        }
    }
    printf("%zu instances: %zu succeeded, %zu cached, %zu failed, %zu skipped, %zu cancelled  (%.2fs)\n",
           plan->ninstances, counts[KILN_NODE_SUCCEEDED], counts[KILN_NODE_CACHED], counts[KILN_NODE_FAILED],
           counts[KILN_NODE_SKIPPED], counts[KILN_NODE_CANCELLED], run->finished - run->started);
}

/* GPU slots when --gpus is not given: $KILN_GPUS, else the number of /dev/nvidiaN devices. */
static long default_gpus(void) {
    long n = 0;
    const char *env = getenv("KILN_GPUS");
    if (env && kiln_cli_parse_int(env, 0, 64, &n) == 0) return n;
    char path[32];
    for (n = 0; n < 64; n++) {
        snprintf(path, sizeof path, "/dev/nvidia%ld", n);
        if (access(path, F_OK) != 0) break;
    }
    return n;
}

int cmd_run(int argc, char **argv) {
    static const struct option longopts[] = {
        {"jobs", required_argument, NULL, 'j'},  {"no-cache", no_argument, NULL, 'N'},
        {"keep-going", no_argument, NULL, 'K'},  {"fail-fast", no_argument, NULL, 'F'},
        {"json", no_argument, NULL, 'J'},        {"out", required_argument, NULL, 'o'},
        {"home", required_argument, NULL, 'H'},  {"grace", required_argument, NULL, 'g'},
        {"gpus", required_argument, NULL, 'G'},  {NULL, 0, NULL, 0}};
    long gpus = default_gpus();
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1) jobs = 1;
    int no_cache = 0, fail_fast = 0, json_out = 0;
    const char *out_dir = NULL, *home = NULL;
    double grace = 5.0;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (kiln_cli_parse_int(optarg, 1, 4096, &jobs) != 0)
                return kiln_cli_usage_error("run", "-j/--jobs expects an integer from 1 to 4096, got '%s'", optarg);
            break;
        case 'G':
            if (kiln_cli_parse_int(optarg, 0, 64, &gpus) != 0)
                return kiln_cli_usage_error("run", "--gpus expects an integer from 0 to 64, got '%s'", optarg);
            break;
        case 'N': no_cache = 1; break;
        case 'K': fail_fast = 0; break;
        case 'F': fail_fast = 1; break;
        case 'J': json_out = 1; break;
        case 'o': out_dir = optarg; break;
        case 'H': home = optarg; break;
        case 'g': {
            char *end = NULL;
            errno = 0;
            grace = strtod(optarg, &end);
            if (errno || !end || *end || grace < 0)
                return kiln_cli_usage_error("run", "--grace expects seconds >= 0, got '%s'", optarg);
            break;
        }
        default: return kiln_cli_usage_error("run", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return kiln_cli_usage_error("run", optind >= argc ? "missing GRAPH.json" : "expected one GRAPH.json");
    const char *path = argv[optind];

    kiln_store store;
    if (kiln_cli_open_store(home, &store) != 0) return KILN_EXIT_USAGE;
    kiln_registry *reg = kiln_cli_load_registry();
    kiln_graph *g = NULL;
    kiln_plan *plan = NULL;
    int rc = kiln_cli_load_plan(path, reg, &g, &plan);
    if (rc != 0) {
        kiln_registry_free(reg);
        kiln_store_close(&store);
        return rc == KILN_EXIT_FAIL ? KILN_EXIT_USAGE : rc;
    }

    char job[40];
    kiln_job_id_new(job);
    char *self = kiln_self_exe();
    run_view view = {json_out, json_out ? NULL : kiln_progress_view_new(stdout, kiln_cli_color(stdout), plan->ninstances, kiln_now())};
    kiln_run_options opt = {0};
    opt.jobs = (int)jobs;
    opt.gpus = (int)gpus;
    opt.no_cache = no_cache;
    opt.fail_fast = fail_fast;
    opt.grace_s = grace > 0 ? grace : 0.001;
    opt.kiln_exe = self;
    opt.job = job;
    opt.on_event = on_event;
    opt.user = &view;
    opt.cancel = &g_cancel;

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!json_out) printf("kiln run %s: %zu instance%s, -j %ld, job %s, home %s\n", path, plan->ninstances,
                          plan->ninstances == 1 ? "" : "s", jobs, job, store.home);
    kiln_run run;
    kiln_error err = {0};
    int r = kiln_run_plan(plan, &store, &opt, &run, &err);
    if (view.view) kiln_progress_view_finish(view.view);
    if (r < 0 && r != KILN_ECANCELLED) {
        fprintf(stderr, "kiln run: %s\n", err.message);
        rc = KILN_EXIT_FAIL;
    } else {
        json_t *rec = kiln_run_record_new(plan, &run, job, path);
        if (kiln_run_record_save(&store, rec, &err) != 0) fprintf(stderr, "kiln run: warning: %s\n", err.message);
        if (json_out) {
            json_t *ev = json_pack("{s:f, s:s, s:s, s:O}", "ts", kiln_now(), "job", job, "type", "state", "state",
                                   json_object_get(rec, "state"));
            char *s = json_dumps(ev, JSON_COMPACT);
            printf("%s\n", s);
            free(s);
            json_decref(ev);
        } else {
            print_summary(plan, &run, &store, job);
        }
        json_decref(rec);
        rc = r == KILN_ECANCELLED ? KILN_EXIT_CANCELLED : r == 0 ? KILN_EXIT_OK : KILN_EXIT_FAIL;
        if (out_dir && copy_out(plan, &run, &store, out_dir) != 0 && rc == 0) rc = KILN_EXIT_FAIL;
        if (r == KILN_ECANCELLED && !json_out) printf("run cancelled; finished results are kept in the cache\n");
    }
    kiln_run_free(&run);
    kiln_progress_view_free(view.view);
    free(self);
    kiln_plan_free(plan);
    kiln_graph_free(g);
    kiln_registry_free(reg);
    kiln_store_close(&store);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

typedef struct plan_probe {
    json_t **outputs; /* per instance: outputs of a cache hit, or NULL */
} plan_probe;

static const char *probe_digest(size_t instance, const char *port, void *user) {
    plan_probe *p = user;
    return json_string_value(json_object_get(json_object_get(p->outputs[instance], port), "digest"));
}

int cmd_plan(int argc, char **argv) {
    static const struct option longopts[] = {{"json", no_argument, NULL, 'J'},
                                             {"home", required_argument, NULL, 'H'},
                                             {NULL, 0, NULL, 0}};
    int json_out = 0, c;
    const char *home = NULL;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'J') json_out = 1;
        else if (c == 'H') home = optarg;
        else return kiln_cli_usage_error("plan", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return kiln_cli_usage_error("plan", optind >= argc ? "missing GRAPH.json" : "expected one GRAPH.json");
    kiln_store store;
    if (kiln_cli_open_store(home, &store) != 0) return KILN_EXIT_USAGE;
    kiln_registry *reg = kiln_cli_load_registry();
    kiln_graph *g = NULL;
    kiln_plan *plan = NULL;
    int rc = kiln_cli_load_plan(argv[optind], reg, &g, &plan);
    if (rc != 0) {
        kiln_registry_free(reg);
        kiln_store_close(&store);
        return rc;
    }
    plan_probe probe = {calloc(plan->ninstances ? plan->ninstances : 1, sizeof(json_t *))};
    json_t *doc = kiln_plan_to_json(plan);
    json_t *insts = json_object_get(doc, "instances");
    size_t hits = 0, misses = 0, pending = 0;
    for (size_t i = 0; i < plan->ninstances; i++) {
        const kiln_instance *in = &plan->instances[i];
        json_t *jin = json_array_get(insts, i);
        char key[65];
        const char *status = "pending";
        if (kiln_plan_action_key(plan, i, probe_digest, &probe, key) == 0) {
            json_object_set_new(jin, "key", json_string(key));
            uint32_t f = in->op->def->flags;
            kiln_error err = {0};
            json_t *rec = ((f & KILN_OP_DETERMINISTIC) && !(f & KILN_OP_NO_CACHE)) ? kiln_ac_get_valid(&store, key, &err) : NULL;
            if (rec) {
                probe.outputs[i] = json_incref(json_object_get(rec, "outputs"));
                json_decref(rec);
                status = "hit";
            } else {
                status = "miss";
            }
        }
        if (strcmp(status, "hit") == 0) hits++;
        else if (strcmp(status, "miss") == 0) misses++;
        else pending++;
        json_object_set_new(jin, "cache", json_string(status));
    }
    if (json_out) {
        char *s = json_dumps(doc, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
    } else {
        printf("%s: %zu instance%s (%zu hit, %zu miss, %zu pending: inputs not computed yet)\n", argv[optind],
               plan->ninstances, plan->ninstances == 1 ? "" : "s", hits, misses, pending);
        size_t i;
        json_t *jin;
        json_array_foreach(insts, i, jin) {
            const char *key = json_string_value(json_object_get(jin, "key"));
            printf("  %-7s %-12.12s %-28s %s\n", json_string_value(json_object_get(jin, "cache")), key ? key : "-",
                   json_string_value(json_object_get(jin, "name")), json_string_value(json_object_get(jin, "op")));
            const char *port;
            json_t *srcs;
            json_object_foreach(json_object_get(jin, "inputs"), port, srcs) {
                size_t k;
                json_t *src;
                printf("  %-7s %-12s %-28s   %s <-", "", "", "", port);
                json_array_foreach(srcs, k, src) {
                    printf(" %s.%s", json_string_value(json_object_get(src, "instance")),
                           json_string_value(json_object_get(src, "port")));
                }
                printf("\n");
            }
        }
    }
    for (size_t i = 0; i < plan->ninstances; i++) json_decref(probe.outputs[i]);
    free(probe.outputs);
    json_decref(doc);
    kiln_plan_free(plan);
    kiln_graph_free(g);
    kiln_registry_free(reg);
    kiln_store_close(&store);
    return 0;
}
