/* runner.c -- the scheduler (see runner.h).
 *
 * One loop, no threads: ready instances are launched while CPU-thread slots are free;
 * poll(2) waits on the children's event pipes; a pipe at EOF means its child is exiting, so
 * it is reaped and its outcome recorded. A node's dependents become ready when their last
 * distinct producer finishes; a failed producer makes its dependents "skipped". With an
 * optional opt->pool (runner.h), a node also needs the pool's threads/GPU (shared with other
 * runs in the process) and, for cacheable actions, the pool's claim on its key. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "action_cache.h"
#include "diag.h"
#include "events.h"
#include "fsutil.h"
#include "jsonio.h"
#include "spawn.h"

#define KILN_POLL_MS 50
#define KILN_RETRY_BASE_S 1.0
#define KILN_RETRY_MAX_S 30.0
#define KILN_LINE_MAX (1 << 20)

const char *kiln_node_state_name(kiln_node_state s) {
    switch (s) {
    case KILN_NODE_WAITING: return "waiting";
    case KILN_NODE_RUNNING: return "running";
    case KILN_NODE_SUCCEEDED: return "succeeded";
    case KILN_NODE_CACHED: return "cached";
    case KILN_NODE_FAILED: return "failed";
    case KILN_NODE_CANCELLED: return "cancelled";
    case KILN_NODE_SKIPPED: return "skipped";
    }
    return "unknown";
}

void kiln_job_id_new(char buf[40]) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    unsigned char rnd[3] = {0, 0, 0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) rnd[0] = (unsigned char)getpid();
        close(fd);
    }
    char stamp[24];
    if (strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm) == 0) snprintf(stamp, sizeof stamp, "0");
    snprintf(buf, 40, "r-%.15s-%02x%02x%02x", stamp, rnd[0], rnd[1], rnd[2]);
}

/* Per-instance scheduling state, private to one kiln_run_plan call. */
typedef struct slot {
    size_t *dependents;   /* owned: instances that consume this one (distinct) */
    size_t ndependents, capdependents;
    size_t pending;       /* distinct producers not finished yet              */
    int threads;          /* CPU threads it occupies while running            */
    int needs_gpu;        /* the op is flagged KILN_OP_NEEDS_GPU              */
    int gpu;              /* GPU index held while running, or -1              */
    int cacheable;
    kiln_child child;     /* valid while state == RUNNING                     */
    char *work_dir;       /* owned while running                              */
    char *log_path;       /* owned while running                              */
    char *linebuf;        /* owned: partial event line                        */
    size_t linelen, linecap;
    json_t *result;       /* owned: exec-node's "result" event                */
    double next_try_at;   /* retry backoff                                    */
    int timed_out;
    int cancel_sent;
    double term_at;       /* when SIGTERM was sent (0: not sent)             */
    int pool_held;        /* its threads (and GPU) came from opt->pool        */
    int claimed;          /* it holds opt->pool's claim on its action key     */
    int claim_waited;     /* another run held the claim: re-check the cache   */
} slot;

typedef struct sched {
    const kiln_plan *plan;
    const kiln_store *store;
    const kiln_run_options *opt;
    kiln_run *run;
    slot *slots;
    size_t *ready;        /* instances ready to start, kept sorted by index  */
    size_t nready, capready;
    size_t nrunning;
    int free_threads;
    unsigned char *gpu_busy; /* per GPU index: 1 while a node holds it        */
    size_t nfinished;
    int any_failed;
    int stopping;         /* fail-fast or cancel: launch nothing more         */
} sched;

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) abort();
    return q;
}

static void emit(sched *s, json_t *ev /* stolen */) {
    if (s->opt->on_event) s->opt->on_event(ev, s->opt->user);
    json_decref(ev);
}

static void emit_state(sched *s, size_t i) {
    const kiln_node_outcome *o = &s->run->nodes[i];
    json_t *ev = kiln_event_new("state", s->opt->job, s->plan->instances[i].name);
    json_object_set_new(ev, "state", json_string(kiln_node_state_name(o->state)));
    if (o->key[0]) json_object_set_new(ev, "key", json_string(o->key));
    if (o->state != KILN_NODE_RUNNING && o->state != KILN_NODE_WAITING) {
        if (o->outputs) json_object_set(ev, "outputs", o->outputs);
        if (o->log_digest[0]) json_object_set_new(ev, "log", json_string(o->log_digest));
        if (o->attempts > 0 || o->state == KILN_NODE_CACHED)
            json_object_set_new(ev, "duration_s", json_real(o->duration_s));
        if (o->error) json_object_set_new(ev, "error", json_string(o->error));
        if (o->metrics && json_object_size(o->metrics))
            json_object_set(ev, "metrics", o->metrics);
    } else if (o->state == KILN_NODE_RUNNING) {
        json_object_set_new(ev, "attempt", json_integer(o->attempts));
        json_object_set_new(ev, "threads", json_integer(s->slots[i].threads));
    }
    emit(s, ev);
}

static void ready_push(sched *s, size_t i) {
    if (s->nready == s->capready) {
        s->capready = s->capready ? s->capready * 2 : 64;
        s->ready = xrealloc(s->ready, s->capready * sizeof *s->ready);
    }
    size_t at = s->nready;
    while (at > 0 && s->ready[at - 1] > i) at--; /* keep sorted: lowest index first */
    memmove(&s->ready[at + 1], &s->ready[at], (s->nready - at) * sizeof *s->ready);
    s->ready[at] = i;
    s->nready++;
}

static void ready_remove_at(sched *s, size_t at) {
    memmove(&s->ready[at], &s->ready[at + 1], (s->nready - at - 1) * sizeof *s->ready);
    s->nready--;
}

static void add_dependent(slot *sl, size_t consumer) {
    for (size_t k = 0; k < sl->ndependents; k++)
        if (sl->dependents[k] == consumer) return;
    if (sl->ndependents == sl->capdependents) {
        sl->capdependents = sl->capdependents ? sl->capdependents * 2 : 4;
        sl->dependents = xrealloc(sl->dependents, sl->capdependents * sizeof(size_t));
    }
    sl->dependents[sl->ndependents++] = consumer;
}

static int succeeded(kiln_node_state st) {
    return st == KILN_NODE_SUCCEEDED || st == KILN_NODE_CACHED;
}

/* Records that instance i reached a final state and releases its dependents. */
static void finish(sched *s, size_t i) {
    s->nfinished++;
    kiln_node_state st = s->run->nodes[i].state;
    if (!succeeded(st)) s->any_failed = 1;
    emit_state(s, i);
    slot *sl = &s->slots[i];
    for (size_t k = 0; k < sl->ndependents; k++) {
        size_t c = sl->dependents[k];
        if (--s->slots[c].pending == 0) ready_push(s, c);
    }
}

/* The digest of a producer's output port, for kiln_plan_action_key. */
static const char *producer_digest(size_t instance, const char *port, void *user) {
    const kiln_run *run = user;
    const json_t *outs = run->nodes[instance].outputs;
    const json_t *d = json_object_get(json_object_get(outs, port), "digest");
    return json_string_value(d);
}

/* Threads an instance asks for: its params' integer "threads", else the op's, capped by -j. */
static int wanted_threads(const kiln_instance *in, int jobs) {
    json_int_t t = in->op->def->threads ? (json_int_t)in->op->def->threads : 1;
    const json_t *p = json_object_get(in->params, "threads");
    if (json_is_integer(p) && json_integer_value(p) > 0) t = json_integer_value(p);
    if (t > jobs) t = jobs;
    return t < 1 ? 1 : (int)t;
}

/* Tries the action cache for instance i. Returns 1 on a valid hit (outcome filled). */
static int try_cache(sched *s, size_t i) {
    kiln_node_outcome *o = &s->run->nodes[i];
    kiln_error err = {0};
    json_t *rec = kiln_ac_get_valid(s->store, o->key, &err);
    if (!rec) return 0;
    o->outputs = json_incref(json_object_get(rec, "outputs"));
    json_t *m = json_object_get(rec, "metrics");
    o->metrics = m ? json_incref(m) : NULL;
    const char *log = json_string_value(json_object_get(rec, "log"));
    if (log) snprintf(o->log_digest, sizeof o->log_digest, "%s", log);
    o->duration_s = json_number_value(json_object_get(rec, "duration_s"));
    o->state = KILN_NODE_CACHED;
    json_decref(rec);
    return 1;
}

/* The exec-node spec for instance i (new reference). */
static json_t *make_spec(sched *s, size_t i, const char *work_dir, const char *ckpt_dir) {
    const kiln_instance *in = &s->plan->instances[i];
    json_t *spec = json_object();
    json_object_set_new(spec, "kiln_spec", json_integer(1));
    json_object_set_new(spec, "plugin_path", json_string(in->op->plugin->path));
    json_object_set_new(spec, "op", json_string(in->op->def->name));
    json_object_set_new(spec, "node", json_string(in->name));
    json_object_set_new(spec, "job", json_string(s->opt->job ? s->opt->job : ""));
    json_object_set(spec, "params", in->params);
    json_t *inputs = json_object();
    for (size_t p = 0; p < in->ninputs; p++) {
        const kiln_plan_input *pi = &in->inputs[p];
        json_t *arr = json_array();
        for (size_t k = 0; k < pi->nsources; k++) {
            const kiln_plan_source *src = &pi->sources[k];
            const kiln_instance *prod = &s->plan->instances[src->instance];
            const char *digest = producer_digest(src->instance, src->port, s->run);
            char *path = kiln_store_blob_path(s->store, digest ? digest : "");
            json_t *info = json_object();
            json_object_set_new(info, "node", json_string(prod->name));
            json_object_set_new(info, "port", json_string(src->port));
            json_object_set_new(info, "digest", json_string(digest ? digest : ""));
            json_object_set(info, "params", prod->params);
            json_object_set(info, "sweep", prod->sweep);
            json_t *metrics = s->run->nodes[src->instance].metrics;
            if (metrics) json_object_set(info, "metrics", metrics);
            json_array_append_new(arr, json_pack("{s:s, s:o}", "path", path, "info", info));
            free(path);
        }
        json_object_set_new(inputs, pi->port, arr);
    }
    json_object_set_new(spec, "inputs", inputs);
    json_t *outputs = json_object();
    for (const kiln_port_def *p = in->op->def->outputs; p && p->name; p++) {
        json_t *o = json_object();
        json_object_set_new(o, "file_name", json_string(p->file_name ? p->file_name : p->name));
        json_object_set_new(outputs, p->name, o);
    }
    json_object_set_new(spec, "outputs", outputs);
    json_object_set_new(spec, "work_dir", json_string(work_dir));
    json_object_set_new(spec, "checkpoint_dir", json_string(ckpt_dir));
    json_object_set_new(spec, "threads", json_integer(s->slots[i].threads));
    json_object_set_new(spec, "store", json_string(s->store->home));
    return spec;
}

/* Fails instance i before or instead of running it, with a message. */
static void fail_now(sched *s, size_t i, const char *why, const char *detail) {
    kiln_node_outcome *o = &s->run->nodes[i];
    char buf[2 * KILN_ERROR_MESSAGE_MAX];
    snprintf(buf, sizeof buf, "%s%s", why, detail ? detail : "");
    free(o->error);
    o->error = strdup(buf);
    o->state = KILN_NODE_FAILED;
    finish(s, i);
}

/* Starts instance i. Returns 0, or -1 when it failed to start (already finished as failed). */
static int launch(sched *s, size_t i) {
    slot *sl = &s->slots[i];
    kiln_node_outcome *o = &s->run->nodes[i];
    kiln_error err = {0};
    char *work_root = kiln_path_join(s->store->home, "work");
    char *ckpt_root = kiln_path_join(s->store->home, "checkpoints");
    char *ckpt_dir = kiln_path_join(ckpt_root, o->key);
    char *work_dir = NULL;
    json_t *spec = NULL;
    char *spec_path = NULL;
    int rc = -1;
    if (kiln_mkdir_p(work_root, &err) != 0 || kiln_mkdir_p(ckpt_dir, &err) != 0) goto out;
    char prefix[80];
    snprintf(prefix, sizeof prefix, "%.16s-", o->key);
    work_dir = kiln_make_temp_dir(work_root, prefix, &err);
    if (!work_dir) goto out;
    spec = make_spec(s, i, work_dir, ckpt_dir);
    spec_path = kiln_path_join(work_dir, "spec.json");
    /* The spec lives only as long as the node: no fsync needed. */
    if (json_dump_file(spec, spec_path, JSON_COMPACT) != 0) {
        kiln_error_set(&err, KILN_EIO, "%s: cannot write the node spec", spec_path);
        goto out;
    }
    char *log_path = kiln_path_join(work_dir, "log.txt");
    if (kiln_spawn_exec_node(s->opt->kiln_exe, spec_path, log_path, sl->threads, sl->gpu, &sl->child, &err) != 0) {
        free(log_path);
        goto out;
    }
    sl->work_dir = work_dir;
    work_dir = NULL;
    sl->log_path = log_path;
    sl->linelen = 0;
    sl->timed_out = 0;
    sl->cancel_sent = 0;
    sl->term_at = 0;
    json_decref(sl->result);
    sl->result = NULL;
    o->attempts++;
    o->started = kiln_now();
    o->state = KILN_NODE_RUNNING;
    s->nrunning++;
    s->free_threads -= sl->threads;
    emit_state(s, i);
    rc = 0;
out:
    if (rc != 0) {
        if (work_dir) kiln_remove_tree(work_dir, NULL);
        fail_now(s, i, "could not start: ", err.message);
    }
    free(work_dir);
    free(spec_path);
    json_decref(spec);
    free(ckpt_dir);
    free(ckpt_root);
    free(work_root);
    return rc;
}

/* Handles one complete event line from instance i's child. */
static void on_child_line(sched *s, size_t i, const char *line, size_t len) {
    json_error_t jerr;
    json_t *ev = json_loadb(line, len, 0, &jerr);
    if (!json_is_object(ev)) {
        json_decref(ev);
        return; /* not ours: ignore rather than fail the node */
    }
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "result") == 0) {
        json_decref(s->slots[i].result);
        s->slots[i].result = ev;
        return;
    }
    json_object_set_new(ev, "node", json_string(s->plan->instances[i].name));
    if (s->opt->job) json_object_set_new(ev, "job", json_string(s->opt->job));
    emit(s, ev);
}

/* Reads what is available on instance i's pipe. Returns 1 at EOF. */
static int drain_pipe(sched *s, size_t i) {
    slot *sl = &s->slots[i];
    char buf[65536];
    for (;;) {
        ssize_t n = read(sl->child.events_fd, buf, sizeof buf);
        if (n == 0) return 1;
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return 0;
            return 1;
        }
        for (ssize_t k = 0; k < n; k++) {
            if (buf[k] == '\n') {
                on_child_line(s, i, sl->linebuf ? sl->linebuf : "", sl->linelen);
                sl->linelen = 0;
                continue;
            }
            if (sl->linelen >= KILN_LINE_MAX) continue; /* absurd line: truncate */
            if (sl->linelen + 1 >= sl->linecap) {
                sl->linecap = sl->linecap ? sl->linecap * 2 : 4096;
                sl->linebuf = xrealloc(sl->linebuf, sl->linecap);
            }
            sl->linebuf[sl->linelen++] = buf[k];
        }
    }
}

static void describe_status(int status, char *buf, size_t len) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(buf, len, "killed by signal %d (SIG%s)%s", sig, abbrev ? abbrev : "?",
                 WCOREDUMP(status) ? ", core dumped" : "");
    } else if (WIFEXITED(status)) {
        snprintf(buf, len, "exec-node exited with status %d", WEXITSTATUS(status));
    } else {
        snprintf(buf, len, "exec-node ended with wait status %d", status);
    }
}

/* Stores the node's log into the CAS (best effort) and records its digest. */
static void store_log(sched *s, size_t i) {
    slot *sl = &s->slots[i];
    kiln_node_outcome *o = &s->run->nodes[i];
    kiln_error err = {0};
    char digest[65];
    if (sl->log_path && kiln_store_put_file(s->store, sl->log_path, 1, digest, NULL, &err) == 0)
        memcpy(o->log_digest, digest, sizeof digest);
}

/* Appends "kiln: <why the node failed>" to the node's log, so the log says it too. */
static void append_log(const char *log_path, const char *why) {
    if (!log_path) return;
    FILE *f = fopen(log_path, "a");
    if (!f) return;
    fprintf(f, "kiln: node failed: %s\n", why);
    fclose(f);
}

/* Writes the action-cache record of a succeeded instance. */
static void record_success(sched *s, size_t i) {
    const kiln_instance *in = &s->plan->instances[i];
    kiln_node_outcome *o = &s->run->nodes[i];
    json_t *rec = json_object();
    json_object_set_new(rec, "key", json_string(o->key));
    json_object_set_new(rec, "node", json_string(in->name));
    json_object_set_new(rec, "op", json_string(in->op->def->name));
    json_object_set_new(rec, "plugin", json_string(in->op->plugin->desc->name));
    json_object_set_new(rec, "plugin_version", json_string(in->op->plugin->desc->version));
    json_object_set(rec, "outputs", o->outputs);
    if (o->log_digest[0]) json_object_set_new(rec, "log", json_string(o->log_digest));
    json_object_set_new(rec, "metrics", o->metrics ? json_incref(o->metrics) : json_object());
    json_object_set_new(rec, "duration_s", json_real(o->duration_s));
    json_object_set_new(rec, "created", json_real(kiln_now()));
    kiln_error err = {0};
    if (kiln_ac_put(s->store, o->key, rec, &err) != 0) {
        json_t *ev = kiln_event_new("log", s->opt->job, in->name);
        json_object_set_new(ev, "level", json_string("warn"));
        json_object_set_new(ev, "message", json_string(err.message));
        emit(s, ev);
    }
    json_decref(rec);
}

/* Reaps instance i's child (its pipe hit EOF) and records the outcome. */
static void reap(sched *s, size_t i) {
    slot *sl = &s->slots[i];
    const kiln_instance *in = &s->plan->instances[i];
    kiln_node_outcome *o = &s->run->nodes[i];
    int status = 0;
    while (waitpid(sl->child.pid, &status, 0) < 0 && errno == EINTR) {
    }
    kiln_child_signal(&sl->child, SIGKILL); /* anything the plugin left in its group */
    close(sl->child.events_fd);
    if (sl->linelen) on_child_line(s, i, sl->linebuf, sl->linelen);
    sl->linelen = 0;
    s->nrunning--;
    s->free_threads += sl->threads;
    if (sl->pool_held) s->opt->pool->release(s->opt->pool->user, sl->threads, sl->gpu);
    else if (sl->gpu >= 0) s->gpu_busy[sl->gpu] = 0;
    sl->pool_held = 0;
    sl->gpu = -1;
    o->duration_s = kiln_now() - o->started;

    const json_t *res = sl->result;
    const char *rstatus = json_string_value(json_object_get(res, "status"));
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && rstatus && strcmp(rstatus, "ok") == 0;
    free(o->error);
    o->error = NULL;
    if (ok) {
        json_decref(o->outputs);
        o->outputs = json_incref(json_object_get(res, "outputs"));
        json_decref(o->metrics);
        json_t *m = json_object_get(res, "metrics");
        o->metrics = m ? json_incref(m) : NULL;
        o->state = KILN_NODE_SUCCEEDED;
        store_log(s, i);
        if (sl->cacheable) record_success(s, i);
        char *ckpt = kiln_path_join(s->store->home, "checkpoints");
        char *dir = kiln_path_join(ckpt, o->key);
        kiln_remove_tree(dir, NULL);
        free(dir);
        free(ckpt);
    } else {
        char why[KILN_ERROR_MESSAGE_MAX];
        describe_status(status, why, sizeof why);
        const char *msg = json_string_value(json_object_get(res, "error"));
        char full[2 * KILN_ERROR_MESSAGE_MAX + 64];
        if (sl->timed_out)
            snprintf(full, sizeof full, "timed out after %gs (%s)", in->timeout_s, why);
        else if (msg && *msg)
            snprintf(full, sizeof full, "%s", msg);
        else
            snprintf(full, sizeof full, "%s", why);
        o->error = strdup(full);
        append_log(sl->log_path, full);
        int cancelled = sl->cancel_sent || (rstatus && strcmp(rstatus, "cancelled") == 0 && !sl->timed_out);
        o->state = cancelled ? KILN_NODE_CANCELLED : KILN_NODE_FAILED;
        store_log(s, i);
    }
    kiln_remove_tree(sl->work_dir, NULL);
    free(sl->work_dir);
    sl->work_dir = NULL;
    free(sl->log_path);
    sl->log_path = NULL;
    if (sl->claimed) s->opt->pool->unclaim(s->opt->pool->user, o->key); /* after record_success */
    sl->claimed = 0;

    if (o->state == KILN_NODE_FAILED && o->attempts <= in->retries && !s->stopping) {
        double backoff = KILN_RETRY_BASE_S * pow(2.0, o->attempts - 1);
        if (backoff > KILN_RETRY_MAX_S) backoff = KILN_RETRY_MAX_S;
        sl->next_try_at = kiln_now() + backoff;
        json_t *ev = kiln_event_new("log", s->opt->job, in->name);
        char msg[KILN_ERROR_MESSAGE_MAX + 128];
        snprintf(msg, sizeof msg, "attempt %d failed (%s); retrying in %gs", o->attempts,
                 o->error ? o->error : "?", backoff);
        json_object_set_new(ev, "level", json_string("warn"));
        json_object_set_new(ev, "message", json_string(msg));
        emit(s, ev);
        o->state = KILN_NODE_WAITING;
        ready_push(s, i);
        return;
    }
    finish(s, i);
    if (o->state == KILN_NODE_FAILED && s->opt->fail_fast) s->stopping = 1;
}

/* Starts what can start: ready instances in index order while threads are free. Cache hits
 * and skips cost no slot and may release more instances, so it loops until stable. */
static void schedule(sched *s) {
    double now = kiln_now();
    size_t at = 0;
    while (at < s->nready) {
        size_t i = s->ready[at];
        kiln_node_outcome *o = &s->run->nodes[i];
        const kiln_instance *in = &s->plan->instances[i];
        if (s->stopping) {
            ready_remove_at(s, at);
            o->state = s->run->cancelled ? KILN_NODE_CANCELLED : KILN_NODE_SKIPPED;
            free(o->error);
            o->error = strdup(s->run->cancelled ? "not run: the run was cancelled"
                                                : "not run: the run stopped after a failure (--fail-fast)");
            finish(s, i);
            at = 0;
            continue;
        }
        /* An input that did not succeed: skip. */
        int inputs_ok = 1;
        for (size_t p = 0; p < in->ninputs && inputs_ok; p++)
            for (size_t k = 0; k < in->inputs[p].nsources; k++)
                if (!succeeded(s->run->nodes[in->inputs[p].sources[k].instance].state)) inputs_ok = 0;
        if (!inputs_ok) {
            ready_remove_at(s, at);
            o->state = KILN_NODE_SKIPPED;
            free(o->error);
            o->error = strdup("not run: an input failed");
            finish(s, i);
            at = 0;
            continue;
        }
        if (!o->key[0]) {
            if (kiln_plan_action_key(s->plan, i, producer_digest, s->run, o->key) != 0) {
                ready_remove_at(s, at);
                fail_now(s, i, "internal error: an input digest is missing", NULL);
                at = 0;
                continue;
            }
            if (s->slots[i].cacheable && !s->opt->no_cache && try_cache(s, i)) {
                ready_remove_at(s, at);
                finish(s, i);
                at = 0;
                continue;
            }
        }
        if (s->slots[i].next_try_at > now) {
            at++;
            continue;
        }
        if (s->slots[i].threads > s->free_threads) {
            at++;
            continue;
        }
        if (s->slots[i].needs_gpu && s->opt->gpus <= 0) {
            ready_remove_at(s, at);
            fail_now(s, i, "needs a GPU (op flagged needs_gpu) but this run has no GPU slots", NULL);
            at = 0;
            continue;
        }
        const kiln_slot_pool *pool = s->opt->pool;
        slot *sl = &s->slots[i];
        int dedup = pool && pool->claim && pool->unclaim && sl->cacheable && !s->opt->no_cache;
        if (dedup) {
            if (!pool->claim(pool->user, o->key)) { /* another run computes it right now */
                sl->claim_waited = 1;
                at++;
                continue;
            }
            if (sl->claim_waited) { /* that run ended: its result may be cached now */
                sl->claim_waited = 0;
                if (try_cache(s, i)) {
                    pool->unclaim(pool->user, o->key);
                    ready_remove_at(s, at);
                    finish(s, i);
                    at = 0;
                    continue;
                }
            }
        }
        if (pool) {
            int g = -1;
            if (!pool->try_acquire(pool->user, sl->threads, sl->needs_gpu, &g)) {
                if (dedup) pool->unclaim(pool->user, o->key);
                at++;
                continue;
            }
            sl->pool_held = 1;
            sl->gpu = sl->needs_gpu ? g : -1;
        } else if (sl->needs_gpu) {
            int g = 0;
            while (g < s->opt->gpus && s->gpu_busy[g]) g++;
            if (g == s->opt->gpus) {
                at++;
                continue;
            }
            s->gpu_busy[g] = 1;
            sl->gpu = g;
        }
        sl->claimed = dedup;
        ready_remove_at(s, at);
        if (launch(s, i) != 0) { /* failed to start (already finished as failed) */
            if (sl->pool_held) pool->release(pool->user, sl->threads, sl->gpu);
            else if (sl->gpu >= 0) s->gpu_busy[sl->gpu] = 0;
            if (sl->claimed) pool->unclaim(pool->user, o->key);
            sl->pool_held = 0;
            sl->claimed = 0;
            sl->gpu = -1;
        }
        at = 0;
    }
}

/* Asks every running child to stop; SIGKILL follows after the grace period. */
static void stop_running(sched *s) {
    double now = kiln_now();
    for (size_t i = 0; i < s->plan->ninstances; i++) {
        slot *sl = &s->slots[i];
        if (s->run->nodes[i].state == KILN_NODE_RUNNING && !sl->term_at) {
            sl->cancel_sent = 1;
            sl->term_at = now;
            kiln_child_signal(&sl->child, SIGTERM);
        }
    }
}

/* Timeouts and the SIGTERM -> SIGKILL escalation. */
static void check_timers(sched *s) {
    double now = kiln_now();
    double grace = s->opt->grace_s > 0 ? s->opt->grace_s : 5.0;
    for (size_t i = 0; i < s->plan->ninstances; i++) {
        slot *sl = &s->slots[i];
        kiln_node_outcome *o = &s->run->nodes[i];
        if (o->state != KILN_NODE_RUNNING) continue;
        double limit = s->plan->instances[i].timeout_s;
        if (limit > 0 && !sl->term_at && now - o->started > limit) {
            sl->timed_out = 1;
            sl->term_at = now;
            kiln_child_signal(&sl->child, SIGTERM);
        }
        if (sl->term_at && now - sl->term_at > grace) kiln_child_signal(&sl->child, SIGKILL);
    }
}

/* Waits up to KILN_POLL_MS for child events; reaps children whose pipe closed. */
static void wait_children(sched *s) {
    size_t n = s->nrunning;
    if (n == 0) return;
    struct pollfd *fds = xrealloc(NULL, n * sizeof *fds);
    size_t *idx = xrealloc(NULL, n * sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < s->plan->ninstances && k < n; i++) {
        if (s->run->nodes[i].state != KILN_NODE_RUNNING) continue;
        fds[k].fd = s->slots[i].child.events_fd;
        fds[k].events = POLLIN;
        fds[k].revents = 0;
        idx[k++] = i;
    }
    int r = poll(fds, k, KILN_POLL_MS);
    if (r > 0) {
        for (size_t j = 0; j < k; j++) {
            if (!fds[j].revents) continue;
            if (drain_pipe(s, idx[j])) reap(s, idx[j]);
        }
    }
    free(fds);
    free(idx);
}

int kiln_run_plan(const kiln_plan *plan, const kiln_store *store, const kiln_run_options *opt,
                  kiln_run *out, kiln_error *err) {
    memset(out, 0, sizeof *out);
    out->nnodes = plan->ninstances;
    out->nodes = calloc(plan->ninstances ? plan->ninstances : 1, sizeof *out->nodes);
    if (!out->nodes) return kiln_error_set(err, KILN_ENOMEM, "out of memory");
    out->started = kiln_now();
    if (!opt->kiln_exe) return kiln_error_set(err, KILN_EINVAL, "no kiln executable to run nodes with");

    sched s = {0};
    s.plan = plan;
    s.store = store;
    s.opt = opt;
    s.run = out;
    s.free_threads = opt->jobs > 0 ? opt->jobs : 1;
    s.slots = calloc(plan->ninstances ? plan->ninstances : 1, sizeof *s.slots);
    s.gpu_busy = calloc(opt->gpus > 0 ? (size_t)opt->gpus : 1, 1);
    if (!s.slots || !s.gpu_busy) {
        free(s.slots);
        free(s.gpu_busy);
        return kiln_error_set(err, KILN_ENOMEM, "out of memory");
    }

    for (size_t i = 0; i < plan->ninstances; i++) {
        const kiln_instance *in = &plan->instances[i];
        uint32_t flags = in->op->def->flags;
        s.slots[i].cacheable = (flags & KILN_OP_DETERMINISTIC) && !(flags & KILN_OP_NO_CACHE);
        s.slots[i].threads = wanted_threads(in, s.free_threads);
        s.slots[i].needs_gpu = (flags & KILN_OP_NEEDS_GPU) != 0;
        s.slots[i].gpu = -1;
        for (size_t p = 0; p < in->ninputs; p++)
            for (size_t k = 0; k < in->inputs[p].nsources; k++)
                add_dependent(&s.slots[in->inputs[p].sources[k].instance], i);
    }
    for (size_t i = 0; i < plan->ninstances; i++)
        for (size_t k = 0; k < s.slots[i].ndependents; k++) s.slots[s.slots[i].dependents[k]].pending++;
    for (size_t i = 0; i < plan->ninstances; i++)
        if (s.slots[i].pending == 0) ready_push(&s, i);

    while (s.nfinished < plan->ninstances) {
        if (opt->cancel && *opt->cancel && !out->cancelled) {
            out->cancelled = 1;
            s.stopping = 1;
            stop_running(&s);
        }
        if (s.stopping && s.nrunning && !out->cancelled) stop_running(&s);
        schedule(&s);
        if (s.nfinished >= plan->ninstances) break;
        if (s.nrunning == 0) {
            /* Nothing runs: either a retry backoff is pending, or nothing can ever start. */
            int waiting_retry = 0;
            for (size_t k = 0; k < s.nready; k++)
                if (s.slots[s.ready[k]].next_try_at > kiln_now()) waiting_retry = 1;
            if (!waiting_retry && s.nready == 0) break; /* cannot happen for a DAG */
            struct timespec ts = {0, KILN_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        wait_children(&s);
        check_timers(&s);
    }

    for (size_t i = 0; i < plan->ninstances; i++) {
        free(s.slots[i].dependents);
        free(s.slots[i].linebuf);
        free(s.slots[i].work_dir);
        free(s.slots[i].log_path);
        json_decref(s.slots[i].result);
    }
    free(s.slots);
    free(s.gpu_busy);
    free(s.ready);
    out->finished = kiln_now();
    if (out->cancelled) return KILN_ECANCELLED;
    return s.any_failed ? 1 : 0;
}

void kiln_run_free(kiln_run *run) {
    if (!run || !run->nodes) return;
    for (size_t i = 0; i < run->nnodes; i++) {
        json_decref(run->nodes[i].outputs);
        json_decref(run->nodes[i].metrics);
        free(run->nodes[i].error);
    }
    free(run->nodes);
    run->nodes = NULL;
    run->nnodes = 0;
}
