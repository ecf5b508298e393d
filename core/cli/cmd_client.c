/* cmd_client.c -- the client commands of a `kiln serve` server: submit, jobs, job,
 * cancel, retry, logs, watch. They talk HTTP through api/client.h (libcurl); the server is
 * --server URL, else $KILN_SERVER, else http://127.0.0.1:8080. Exit status: 0 ok, 1 the
 * server said no (or a watched job did not succeed), 2 usage error or server unreachable,
 * 130 a watched job was cancelled or interrupted. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "fsutil.h"
#include "progress_view.h"

/* Options every client command takes. */
#define CLIENT_LONGOPTS {"server", required_argument, NULL, 1001}, {"token-file", required_argument, NULL, 1002}

typedef struct client_opts {
    const char *server;
    const char *token_file;
} client_opts;

/* Handles a common option; returns 1 when `c` was one. */
static int common_opt(int c, client_opts *o) {
    if (c == 1001) o->server = optarg;
    else if (c == 1002) o->token_file = optarg;
    else return 0;
    return 1;
}

static int connect_client(const char *cmd, const client_opts *o, kiln_api_client *cl) {
    kiln_error err = {0};
    if (kiln_api_client_init(cl, o->server, o->token_file, &err) != 0) {
        fprintf(stderr, "kiln %s: %s\n", cmd, err.message);
        return KILN_EXIT_USAGE;
    }
    return 0;
}

/* Sends a request; prints the failure (transport or HTTP status >= 400) and returns its
 * exit status, or 0 with *out filled (caller frees). */
static int call(const char *cmd, kiln_api_client *cl, const char *method, const char *path, const char *body,
                size_t len, kiln_api_reply *out) {
    kiln_error err = {0};
    if (kiln_api_client_request(cl, method, path, body, len, out, &err) != 0) {
        fprintf(stderr, "kiln %s: %s\n", cmd, err.message);
        return KILN_EXIT_USAGE;
    }
    if (out->status >= 400) {
        fprintf(stderr, "kiln %s: %s (HTTP %ld)\n", cmd, kiln_api_reply_message(out), out->status);
        const json_t *errors = json_object_get(json_object_get(json_object_get(out->json, "error"), "details"), "errors");
        size_t i;
        const json_t *e;
        json_array_foreach(errors, i, e) fprintf(stderr, "%s\n", json_string_value(e));
        int rc = KILN_EXIT_FAIL;
        kiln_api_reply_free(out);
        return rc;
    }
    return 0;
}

static char *job_path(kiln_api_client *cl, const char *id, const char *suffix) {
    char *eid = kiln_api_client_escape(cl, id);
    size_t n = strlen(eid ? eid : "") + strlen(suffix) + 16;
    char *p = malloc(n);
    if (p) snprintf(p, n, "/v1/jobs/%s%s", eid ? eid : "", suffix);
    free(eid);
    return p;
}

static void print_json(const json_t *v) {
    char *s = json_dumps(v, JSON_INDENT(2));
    if (s) printf("%s\n", s);
    free(s);
}

static const char *fmt_time(const json_t *t, char *buf, size_t len) {
    if (!json_is_number(t)) return "-";
    time_t secs = (time_t)json_number_value(t);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0) return "-";
    return buf;
}

/* ---- kiln submit --------------------------------------------------------------------- */

static int parse_label(const char *cmd, const char *arg, json_t *labels) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return kiln_cli_usage_error(cmd, "--label expects KEY=VALUE, got '%s'", arg);
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)(eq - arg) < 127 ? (int)(eq - arg) : 127, arg);
    json_object_set_new(labels, key, json_string(eq + 1));
    return 0;
}

static int watch_job(kiln_api_client *cl, const char *cmd, const char *id, int json_out);

int cmd_submit(int argc, char **argv) {
    static const struct option longopts[] = {{"name", required_argument, NULL, 'n'},
                                             {"label", required_argument, NULL, 'l'},
                                             {"json", no_argument, NULL, 'J'},
                                             {"watch", no_argument, NULL, 'w'},
                                             CLIENT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    client_opts co = {0};
    const char *name = NULL;
    int json_out = 0, watch = 0, c;
    json_t *labels = json_object();
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (common_opt(c, &co)) continue;
        switch (c) {
        case 'n': name = optarg; break;
        case 'l':
            if (parse_label("submit", optarg, labels) != 0) {
                json_decref(labels);
                return KILN_EXIT_USAGE;
            }
            break;
        case 'J': json_out = 1; break;
        case 'w': watch = 1; break;
        default:
            json_decref(labels);
            return kiln_cli_usage_error("submit", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) {
        json_decref(labels);
        return kiln_cli_usage_error("submit", optind >= argc ? "missing GRAPH.json" : "expected one GRAPH.json");
    }
    const char *file = argv[optind];
    json_error_t je;
    json_t *graph = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!graph) {
        fprintf(stderr, "kiln submit: %s:%d:%d: %s\n", file, je.line, je.column, je.text);
        json_decref(labels);
        return KILN_EXIT_USAGE;
    }
    char *abs = kiln_path_absolute(NULL, file);
    json_t *req = json_pack("{s:o, s:s, s:o}", "graph", graph, "path", abs, "labels", labels);
    free(abs);
    if (name) json_object_set_new(req, "name", json_string(name));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    kiln_api_client cl;
    int rc = connect_client("submit", &co, &cl);
    if (rc) {
        free(body);
        return rc;
    }
    kiln_api_reply r;
    rc = call("submit", &cl, "POST", "/v1/jobs", body, strlen(body), &r);
    free(body);
    if (rc == 0) {
        const char *id = json_string_value(json_object_get(r.json, "id"));
        if (json_out) print_json(r.json);
        else if (!watch) printf("%s\n", id ? id : "?");
        else fprintf(stderr, "kiln submit: job %s\n", id ? id : "?");
        fflush(stdout);
        if (watch && id) {
            char *idc = strdup(id);
            kiln_api_reply_free(&r);
            rc = watch_job(&cl, "submit", idc, json_out);
            free(idc);
        } else {
            kiln_api_reply_free(&r);
        }
    }
    kiln_api_client_free(&cl);
    return rc;
}

/* ---- kiln jobs ----------------------------------------------------------------------- */

int cmd_jobs(int argc, char **argv) {
    static const struct option longopts[] = {{"state", required_argument, NULL, 's'},
                                             {"label", required_argument, NULL, 'l'},
                                             {"limit", required_argument, NULL, 'n'},
                                             {"all", no_argument, NULL, 'a'},
                                             {"json", no_argument, NULL, 'J'},
                                             CLIENT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    client_opts co = {0};
    const char *state = NULL;
    long limit = 50;
    int all = 0, json_out = 0, c;
    json_t *labels = json_array();
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (common_opt(c, &co)) continue;
        switch (c) {
        case 's': state = optarg; break;
        case 'l': json_array_append_new(labels, json_string(optarg)); break;
        case 'n':
            if (kiln_cli_parse_int(optarg, 1, 1000, &limit) != 0) {
                json_decref(labels);
                return kiln_cli_usage_error("jobs", "--limit expects 1 to 1000, got '%s'", optarg);
            }
            break;
        case 'a': all = 1; break;
        case 'J': json_out = 1; break;
        default:
            json_decref(labels);
            return kiln_cli_usage_error("jobs", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc) {
        json_decref(labels);
        return kiln_cli_usage_error("jobs", "unexpected argument '%s'", argv[optind]);
    }
    kiln_api_client cl;
    int rc = connect_client("jobs", &co, &cl);
    if (rc) {
        json_decref(labels);
        return rc;
    }
    char query[4096];
    size_t qlen = (size_t)snprintf(query, sizeof query, "/v1/jobs?limit=%ld", limit);
    if (state) {
        char *e = kiln_api_client_escape(&cl, state);
        qlen += (size_t)snprintf(query + qlen, sizeof query - qlen, "&state=%s", e ? e : "");
        free(e);
    }
    size_t i;
    json_t *l;
    json_array_foreach(labels, i, l) {
        char *e = kiln_api_client_escape(&cl, json_string_value(l));
        qlen += (size_t)snprintf(query + qlen, sizeof query - qlen, "&label=%s", e ? e : "");
        free(e);
    }
    json_decref(labels);
    json_t *jobs = json_array();
    char *cursor = NULL;
    for (;;) {
        char path[4200];
        snprintf(path, sizeof path, "%s%s%s", query, cursor ? "&cursor=" : "", cursor ? cursor : "");
        free(cursor);
        cursor = NULL;
        kiln_api_reply r;
        rc = call("jobs", &cl, "GET", path, NULL, 0, &r);
        if (rc) break;
        json_array_extend(jobs, json_object_get(r.json, "jobs"));
        const char *next = json_string_value(json_object_get(r.json, "next"));
        if (all && next) cursor = strdup(next);
        kiln_api_reply_free(&r);
        if (!cursor) break;
    }
    if (rc == 0) {
        if (json_out) {
            print_json(jobs);
        } else {
            printf("%-26s %-11s %-19s %9s  %s\n", "ID", "STATE", "CREATED (UTC)", "INSTANCES", "NAME");
            json_t *j;
            json_array_foreach(jobs, i, j) {
                char tb[32];
                printf("%-26s %-11s %-19s %9lld  %s\n", json_string_value(json_object_get(j, "id")),
                       json_string_value(json_object_get(j, "state")), fmt_time(json_object_get(j, "created"), tb, sizeof tb),
                       (long long)json_integer_value(json_object_get(j, "instances")),
                       json_string_value(json_object_get(j, "name")));
            }
        }
    }
    json_decref(jobs);
    kiln_api_client_free(&cl);
    return rc;
}

/* ---- kiln job ------------------------------------------------------------------------ */

static void print_job(const json_t *job) {
    char t1[32], t2[32], t3[32];
    printf("job %s  %s\n", json_string_value(json_object_get(job, "id")), json_string_value(json_object_get(job, "state")));
    const char *name = json_string_value(json_object_get(job, "name"));
    if (name && *name) printf("  name:     %s\n", name);
    const char *lk;
    json_t *lv;
    json_object_foreach(json_object_get(job, "labels"), lk, lv) printf("  label:    %s=%s\n", lk, json_string_value(lv));
    printf("  created:  %s UTC   started: %s   finished: %s   runs: %lld\n",
           fmt_time(json_object_get(job, "created"), t1, sizeof t1), fmt_time(json_object_get(job, "started"), t2, sizeof t2),
           fmt_time(json_object_get(job, "finished"), t3, sizeof t3),
           (long long)json_integer_value(json_object_get(job, "runs")));
    const char *error = json_string_value(json_object_get(job, "error"));
    if (error) printf("  error:    %s\n", error);
    printf("  instances:");
    const char *st;
    json_t *n;
    json_object_foreach(json_object_get(job, "counts"), st, n) printf(" %lld %s", (long long)json_integer_value(n), st);
    printf("\n\n  %-28s %-11s %-22s %9s\n", "INSTANCE", "STATE", "PROGRESS", "TIME");
    size_t i;
    json_t *nd;
    json_array_foreach(json_object_get(job, "nodes"), i, nd) {
        char prog[64] = "";
        const json_t *p = json_object_get(nd, "progress");
        if (json_is_object(p))
            snprintf(prog, sizeof prog, "%g/%g %s", json_number_value(json_object_get(p, "done")),
                     json_number_value(json_object_get(p, "total")),
                     json_string_value(json_object_get(p, "unit")) ? json_string_value(json_object_get(p, "unit")) : "");
        char dur[32] = "";
        const json_t *d = json_object_get(nd, "duration_s");
        if (json_is_number(d)) snprintf(dur, sizeof dur, "%.2fs", json_number_value(d));
        printf("  %-28s %-11s %-22s %9s\n", json_string_value(json_object_get(nd, "name")),
               json_string_value(json_object_get(nd, "state")), prog, dur);
        const char *port;
        json_t *o;
        json_object_foreach(json_object_get(nd, "outputs"), port, o) {
            printf("      %s: %s (%s, %lld bytes)\n", port, json_string_value(json_object_get(o, "digest")),
                   json_string_value(json_object_get(o, "file_name")),
                   (long long)json_integer_value(json_object_get(o, "size")));
        }
        const char *mname;
        json_t *m;
        json_object_foreach(json_object_get(nd, "metrics"), mname, m)
            printf("      metric %s = %g\n", mname, json_number_value(json_object_get(m, "value")));
        const char *nerr = json_string_value(json_object_get(nd, "error"));
        if (nerr) printf("      error: %s\n", nerr);
    }
}

int cmd_job(int argc, char **argv) {
    static const struct option longopts[] = {{"json", no_argument, NULL, 'J'}, CLIENT_LONGOPTS, {NULL, 0, NULL, 0}};
    client_opts co = {0};
    int json_out = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (common_opt(c, &co)) continue;
        if (c == 'J') json_out = 1;
        else return kiln_cli_usage_error("job", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1) return kiln_cli_usage_error("job", optind >= argc ? "missing job ID" : "expected one job ID");
    kiln_api_client cl;
    int rc = connect_client("job", &co, &cl);
    if (rc) return rc;
    char *path = job_path(&cl, argv[optind], "");
    kiln_api_reply r;
    rc = call("job", &cl, "GET", path, NULL, 0, &r);
    free(path);
    if (rc == 0) {
        if (json_out) print_json(r.json);
        else print_job(r.json);
        kiln_api_reply_free(&r);
    }
    kiln_api_client_free(&cl);
    return rc;
}

/* ---- kiln cancel / kiln retry -------------------------------------------------------- */

static int job_action(const char *cmd, int argc, char **argv) {
    static const struct option longopts[] = {{"json", no_argument, NULL, 'J'},
                                             {"watch", no_argument, NULL, 'w'},
                                             CLIENT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    client_opts co = {0};
    int json_out = 0, watch = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (common_opt(c, &co)) continue;
        if (c == 'J') json_out = 1;
        else if (c == 'w') watch = 1;
        else return kiln_cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1) return kiln_cli_usage_error(cmd, optind >= argc ? "missing job ID" : "expected one job ID");
    const char *id = argv[optind];
    kiln_api_client cl;
    int rc = connect_client(cmd, &co, &cl);
    if (rc) return rc;
    char suffix[16];
    snprintf(suffix, sizeof suffix, "/%s", cmd);
    char *path = job_path(&cl, id, suffix);
    kiln_api_reply r;
    rc = call(cmd, &cl, "POST", path, NULL, 0, &r);
    free(path);
    if (rc == 0) {
        const char *state = json_string_value(json_object_get(r.json, "state"));
        if (json_out) print_json(r.json);
        else if (strcmp(cmd, "cancel") == 0)
            printf("job %s: %s\n", id, r.status == 202 ? "cancel requested; running nodes are being stopped" : state);
        else
            printf("job %s: %s again; the cache skips what had finished\n", id, state ? state : "queued");
        fflush(stdout);
        kiln_api_reply_free(&r);
        if (watch) rc = watch_job(&cl, cmd, id, json_out);
    }
    kiln_api_client_free(&cl);
    return rc;
}

int cmd_cancel(int argc, char **argv) {
    return job_action("cancel", argc, argv);
}

int cmd_retry(int argc, char **argv) {
    return job_action("retry", argc, argv);
}

/* ---- kiln logs ----------------------------------------------------------------------- */

/* The state of instance/node `name` in job document `job`, or NULL. */
static const char *node_state(const json_t *job, const char *name) {
    size_t i;
    const json_t *nd;
    const char *by_node = NULL;
    json_array_foreach(json_object_get(job, "nodes"), i, nd) {
        if (strcmp(json_string_value(json_object_get(nd, "name")), name) == 0)
            return json_string_value(json_object_get(nd, "state"));
        const char *node = json_string_value(json_object_get(nd, "node"));
        if (node && strcmp(node, name) == 0) by_node = json_string_value(json_object_get(nd, "state"));
    }
    return by_node;
}

int cmd_logs(int argc, char **argv) {
    static const struct option longopts[] = {{"tail", required_argument, NULL, 't'},
                                             {"offset", required_argument, NULL, 'o'},
                                             {"follow", no_argument, NULL, 'f'},
                                             CLIENT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    client_opts co = {0};
    long tail = -1, offset = 0;
    int follow = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "f", longopts, NULL)) != -1) {
        if (common_opt(c, &co)) continue;
        switch (c) {
        case 't':
            if (kiln_cli_parse_int(optarg, 0, 100000000, &tail) != 0)
                return kiln_cli_usage_error("logs", "--tail expects a number of lines, got '%s'", optarg);
            break;
        case 'o':
            if (kiln_cli_parse_int(optarg, 0, (long)(((unsigned long)-1) >> 1), &offset) != 0)
                return kiln_cli_usage_error("logs", "--offset expects a byte offset, got '%s'", optarg);
            break;
        case 'f': follow = 1; break;
        default: return kiln_cli_usage_error("logs", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 2) return kiln_cli_usage_error("logs", "expected a job ID and a NODE");
    const char *id = argv[optind], *node = argv[optind + 1];
    kiln_api_client cl;
    int rc = connect_client("logs", &co, &cl);
    if (rc) return rc;
    char *enode = kiln_api_client_escape(&cl, node);
    char *jpath = job_path(&cl, id, "");
    size_t n = strlen(jpath) + strlen(enode ? enode : "") + 32;
    char *lpath = malloc(n);
    snprintf(lpath, n, "%s/nodes/%s/log", jpath, enode ? enode : "");
    free(enode);
    for (int first = 1, rounds = 0; rounds < 100000; first = 0, rounds++) {
        char path[8192];
        if (first && tail >= 0) snprintf(path, sizeof path, "%s?tail=%ld", lpath, tail);
        else snprintf(path, sizeof path, "%s?offset=%ld", lpath, offset);
        kiln_api_reply r;
        kiln_error err = {0};
        if (kiln_api_client_request(&cl, "GET", path, NULL, 0, &r, &err) != 0) {
            fprintf(stderr, "kiln logs: %s\n", err.message);
            rc = KILN_EXIT_USAGE;
            break;
        }
        if (r.status == 200) {
            fwrite(r.body, 1, r.len, stdout);
            fflush(stdout);
            char hv[32];
            const char *off = kiln_api_reply_header(&r, "X-Kiln-Log-Offset", hv, sizeof hv);
            offset = (off ? strtol(off, NULL, 10) : offset) + (long)r.len;
        } else if (!(follow && r.status == 404 && strstr(kiln_api_reply_message(&r), "has no log"))) {
            fprintf(stderr, "kiln logs: %s (HTTP %ld)\n", kiln_api_reply_message(&r), r.status);
            rc = KILN_EXIT_FAIL;
            kiln_api_reply_free(&r);
            break;
        }
        kiln_api_reply_free(&r);
        if (!follow) break;
        kiln_api_reply jr;
        if (call("logs", &cl, "GET", jpath, NULL, 0, &jr) != 0) {
            rc = KILN_EXIT_FAIL;
            break;
        }
        const char *st = node_state(jr.json, node);
        int open_node = st && (strcmp(st, "waiting") == 0 || strcmp(st, "running") == 0);
        const char *jst = json_string_value(json_object_get(jr.json, "state"));
        int open_job = jst && (strcmp(jst, "queued") == 0 || strcmp(jst, "running") == 0);
        kiln_api_reply_free(&jr);
        if (!open_node || !open_job) {
            follow = 0; /* one last read picks up what was written before it ended */
            continue;
        }
        struct timespec ts = {0, 300 * 1000000L};
        nanosleep(&ts, NULL);
    }
    free(lpath);
    free(jpath);
    kiln_api_client_free(&cl);
    return rc;
}

/* ---- kiln watch ---------------------------------------------------------------------- */

typedef struct watch_state {
    int json_out;
    kiln_progress_view *view;
    int64_t last_id;
} watch_state;

static int on_watch_event(int64_t id, const char *data, void *user) {
    watch_state *w = user;
    if (id > 0) w->last_id = id;
    if (w->json_out) {
        printf("%s\n", data);
        fflush(stdout);
        return 0;
    }
    json_t *ev = json_loads(data, 0, NULL);
    if (!ev) return 0;
    if (!json_object_get(ev, "node") && json_is_string(json_object_get(ev, "state"))) {
        if (w->view) kiln_progress_view_finish(w->view);
        const char *err = json_string_value(json_object_get(ev, "error"));
        printf("job %s: %s%s%s\n", json_string_value(json_object_get(ev, "job")),
               json_string_value(json_object_get(ev, "state")), err ? ": " : "", err ? err : "");
        fflush(stdout);
    } else if (w->view) {
        kiln_progress_view_event(w->view, ev);
    }
    json_decref(ev);
    return 0;
}

/* Follows job `id`'s events until the server ends the stream (the job ended), reconnecting
 * with Last-Event-ID when the connection drops. Returns the exit status for the job's final
 * state. */
static int watch_job(kiln_api_client *cl, const char *cmd, const char *id, int json_out) {
    char *jpath = job_path(cl, id, "");
    char *epath = job_path(cl, id, "/events");
    kiln_api_reply r;
    int rc = call(cmd, cl, "GET", jpath, NULL, 0, &r);
    if (rc) {
        free(jpath);
        free(epath);
        return rc;
    }
    size_t total = (size_t)json_integer_value(json_object_get(r.json, "instances"));
    double created = json_number_value(json_object_get(r.json, "created")); /* event times count from here */
    kiln_api_reply_free(&r);
    watch_state w = {json_out, NULL, 0};
    if (!json_out) w.view = kiln_progress_view_new(stdout, kiln_cli_color(stdout), total, created > 0 ? created : kiln_now());
    int failures = 0;
    for (;;) {
        long status = 0;
        kiln_api_reply er = {0};
        kiln_error err = {0};
        int s = kiln_api_client_stream(cl, epath, w.last_id, on_watch_event, &w, &status, &er, &err);
        if (s >= 0) break; /* the job ended */
        if (status >= 400) {
            fprintf(stderr, "kiln %s: %s (HTTP %ld)\n", cmd, kiln_api_reply_message(&er), status);
            kiln_api_reply_free(&er);
            rc = KILN_EXIT_FAIL;
            break;
        }
        kiln_api_reply_free(&er);
        if (++failures > 5) {
            fprintf(stderr, "kiln %s: %s; giving up\n", cmd, err.message);
            rc = KILN_EXIT_USAGE;
            break;
        }
        fprintf(stderr, "kiln %s: %s; reconnecting\n", cmd, err.message);
        sleep(1);
    }
    if (w.view) kiln_progress_view_finish(w.view);
    kiln_progress_view_free(w.view);
    if (rc == 0 && call(cmd, cl, "GET", jpath, NULL, 0, &r) == 0) {
        const char *state = json_string_value(json_object_get(r.json, "state"));
        if (!json_out) print_job(r.json);
        if (!state || strcmp(state, "succeeded") == 0) rc = KILN_EXIT_OK;
        else if (strcmp(state, "cancelled") == 0 || strcmp(state, "interrupted") == 0) rc = KILN_EXIT_CANCELLED;
        else rc = KILN_EXIT_FAIL;
        kiln_api_reply_free(&r);
    } else if (rc == 0) {
        rc = KILN_EXIT_FAIL;
    }
    free(jpath);
    free(epath);
    return rc;
}

int cmd_watch(int argc, char **argv) {
    static const struct option longopts[] = {{"json", no_argument, NULL, 'J'}, CLIENT_LONGOPTS, {NULL, 0, NULL, 0}};
    client_opts co = {0};
    int json_out = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (common_opt(c, &co)) continue;
        if (c == 'J') json_out = 1;
        else return kiln_cli_usage_error("watch", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return kiln_cli_usage_error("watch", optind >= argc ? "missing job ID" : "expected one job ID");
    kiln_api_client cl;
    int rc = connect_client("watch", &co, &cl);
    if (rc) return rc;
    rc = watch_job(&cl, "watch", argv[optind], json_out);
    kiln_api_client_free(&cl);
    return rc;
}
