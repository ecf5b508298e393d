/* job_manager.c -- queue, workers, live job entries and event-stream waiters (see
 * job_manager.h).
 *
 * One mutex (`mu`) guards everything shared: the entry table, the queue, counters. It is
 * never held across a database call or a plan run. An entry exists for every job that is
 * active in this process, watched, or has a cached view; each entry knows its job's last
 * announced state and event seq. Entries are created only from committed data (after the
 * insert of a new job, or from a read of the store), so what they say is never ahead of
 * the store.
 *
 * Cached views and the generation counter: every announcement sets entry->gen to a new
 * value of the global counter m->gen. A reader that missed the cache notes g0 = m->gen,
 * reads the store, and caches what it read only if the entry's gen is still <= g0 (no
 * announcement since its read began) -- and, when the entry is gone, only if no entry with
 * a newer gen was dropped meanwhile (m->drop_gen). */
#include "job_manager.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "fsutil.h"
#include "run_record.h"
#include "runner.h"

enum { JS_QUEUED, JS_RUNNING, JS_SUCCEEDED, JS_FAILED, JS_CANCELLED, JS_INTERRUPTED, JS_UNKNOWN };
static const char *const job_state_names[] = {"queued",    "running",     "succeeded", "failed",
                                              "cancelled", "interrupted", "unknown"};

static int job_state_code(const char *s) {
    for (int i = 0; s && i < JS_UNKNOWN; i++)
        if (strcmp(job_state_names[i], s) == 0) return i;
    return JS_UNKNOWN;
}

static int job_state_terminal(int st) {
    return st == JS_SUCCEEDED || st == JS_FAILED || st == JS_CANCELLED || st == JS_INTERRUPTED;
}

typedef struct entry {
    char id[40];
    uint64_t gen;                 /* m->gen at its last announcement (0: none yet)        */
    char *view;                   /* owned: cached GET body, valid when view_gen == gen   */
    size_t view_len;
    uint64_t view_gen;
    int state;                    /* last announced job state (JS_*)                     */
    int64_t last_seq;             /* last announced event seq                            */
    int refs;                     /* watches + the job's own work (queue, worker, retry) */
    int active;                   /* queued, running, or being set up in this process    */
    int running;                  /* a worker runs it                                     */
    int user_cancel;              /* a client asked to cancel it                          */
    volatile sig_atomic_t cancel; /* the runner polls this                                */
    kiln_job_waiter *waiters;     /* suspended streams                                   */
    struct entry *hnext;
} entry;

typedef struct job_item {
    entry *e;
    json_t *doc;     /* owned: the job document                 */
    json_t *nodes;   /* owned: node documents, plan order         */
    kiln_graph *g;   /* owned                                     */
    kiln_plan *plan; /* owned                                     */
    struct job_item *next;
} job_item;

struct kiln_job_watch {
    kiln_job_manager *m;
    entry *e;
};

struct kiln_job_manager {
    kiln_job_manager_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t work;  /* workers: the queue got an item, or stopping        */
    pthread_cond_t idle;  /* shutdown: a worker finished a job                  */
    pthread_cond_t tick;  /* the keep-alive thread: stop                        */
    entry **buckets;
    size_t nbuckets, nentries;
    uint64_t gen, drop_gen;
    size_t view_bytes;
    job_item *qhead, *qtail;
    int nqueued, nrunning, nstreams;
    pthread_t *workers;
    int nworkers;
    pthread_t ticker;
    int ticker_started;
    int stopping, closing, ticker_stop, shut_down;
};

/* ---- entry table (callers hold mu) ------------------------------------------------- */

static size_t hash_id(const char *s) {
    size_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static entry *entry_find(kiln_job_manager *m, const char *id) {
    for (entry *e = m->buckets[hash_id(id) & (m->nbuckets - 1)]; e; e = e->hnext)
        if (strcmp(e->id, id) == 0) return e;
    return NULL;
}

static void table_grow(kiln_job_manager *m) {
    size_t n = m->nbuckets * 2;
    entry **b = calloc(n, sizeof *b);
    if (!b) return; /* keep the longer chains */
    for (size_t i = 0; i < m->nbuckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *next = e->hnext;
            size_t k = hash_id(e->id) & (n - 1);
            e->hnext = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

static entry *entry_create(kiln_job_manager *m, const char *id, int state, int64_t last_seq) {
    entry *e = calloc(1, sizeof *e);
    if (!e) abort(); /* tiny; the server cannot go on without it */
    snprintf(e->id, sizeof e->id, "%s", id);
    e->state = state;
    e->last_seq = last_seq;
    if (m->nentries >= m->nbuckets) table_grow(m);
    size_t k = hash_id(id) & (m->nbuckets - 1);
    e->hnext = m->buckets[k];
    m->buckets[k] = e;
    m->nentries++;
    return e;
}

static void view_drop(kiln_job_manager *m, entry *e) {
    if (!e->view) return;
    m->view_bytes -= e->view_len;
    free(e->view);
    e->view = NULL;
    e->view_len = 0;
}

/* Frees every cached view and forgets idle entries (over the cache cap). */
static void trim(kiln_job_manager *m) {
    for (size_t i = 0; i < m->nbuckets; i++) {
        entry **pp = &m->buckets[i];
        while (*pp) {
            entry *e = *pp;
            view_drop(m, e);
            if (e->refs == 0 && !e->active && !e->waiters) {
                if (e->gen > m->drop_gen) m->drop_gen = e->gen;
                *pp = e->hnext;
                m->nentries--;
                free(e);
                continue;
            }
            pp = &e->hnext;
        }
    }
}

static void wake_all(entry *e) {
    kiln_job_waiter *w = e->waiters;
    e->waiters = NULL;
    while (w) {
        kiln_job_waiter *next = w->next;
        w->listed = 0;
        w->next = NULL;
        w->resume(w);
        w = next;
    }
}

/* ---- announcing (after a commit) --------------------------------------------------- */

/* Makes a committed change visible: new gen, view dropped, last seq and state (state < 0:
 * unchanged), waiting streams resumed. With `deactivate` the job's own work on it ends in
 * the same step (so a stream never sees "ended" while still "active"). */
static void announce(kiln_job_manager *m, entry *e, int64_t seq, int state, int deactivate) {
    pthread_mutex_lock(&m->mu);
    e->gen = ++m->gen;
    view_drop(m, e);
    if (seq > e->last_seq) e->last_seq = seq;
    if (state >= 0) e->state = state;
    if (deactivate) {
        e->active = 0;
        e->running = 0;
        e->user_cancel = 0;
        e->cancel = 0;
        e->refs--;
    }
    wake_all(e);
    pthread_mutex_unlock(&m->mu);
}

/* Commits one change and announces it. On a store failure the change is not announced
 * (it is not durable); the failure goes to stderr, the only place left to tell. */
static int commit(kiln_job_manager *m, entry *e, const json_t *doc, long idx, const json_t *node, const json_t *ev,
                  int state, int deactivate) {
    int64_t seq = 0;
    kiln_error err = {0};
    int rc = kiln_job_store_update(m->cfg.db, e->id, doc, idx, node, ev, &seq, &err);
    if (rc != 0) fprintf(stderr, "kiln serve: job %s: %s\n", e->id, err.message);
    if (rc == 0 || deactivate) announce(m, e, rc == 0 ? seq : 0, rc == 0 ? state : -1, deactivate);
    return rc;
}

/* ---- documents ----------------------------------------------------------------------- */

static json_t *job_event(const char *id, const char *state, const char *error) {
    json_t *ev = kiln_event_new("state", id, NULL);
    json_object_set_new(ev, "state", json_string(state));
    if (error) json_object_set_new(ev, "error", json_string(error));
    return ev;
}

static json_t *node_doc_new(const kiln_plan *plan, size_t i) {
    const kiln_instance *in = &plan->instances[i];
    json_t *n = json_object();
    json_object_set_new(n, "name", json_string(in->name));
    json_object_set_new(n, "node", json_string(plan->graph->nodes[in->node].name));
    json_object_set_new(n, "op", json_string(in->op->def->name));
    json_object_set_new(n, "state", json_string("waiting"));
    json_object_set(n, "sweep", in->sweep);
    json_object_set_new(n, "key", json_null());
    json_object_set_new(n, "cached", json_false());
    json_object_set_new(n, "attempts", json_integer(0));
    json_object_set_new(n, "started", json_null());
    json_object_set_new(n, "duration_s", json_null());
    json_object_set_new(n, "progress", json_null());
    json_object_set_new(n, "metrics", json_object());
    json_object_set_new(n, "outputs", json_object());
    json_object_set_new(n, "log", json_null());
    json_object_set_new(n, "error", json_null());
    return n;
}

static json_t *nodes_from_plan(const kiln_plan *plan) {
    json_t *arr = json_array();
    for (size_t i = 0; i < plan->ninstances; i++) json_array_append_new(arr, node_doc_new(plan, i));
    return arr;
}

/* Applies one event of a node to its document. Returns 1 when the document changed. */
static int apply_node_event(json_t *nd, const json_t *ev, kiln_api_metrics *metrics) {
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!type) return 0;
    if (strcmp(type, "progress") == 0) {
        json_object_set_new(nd, "progress",
                            json_pack("{s:O?, s:O?, s:O?}", "done", json_object_get(ev, "done"), "total",
                                      json_object_get(ev, "total"), "unit", json_object_get(ev, "unit")));
        return 1;
    }
    if (strcmp(type, "metric") == 0) {
        const char *name = json_string_value(json_object_get(ev, "name"));
        if (!name) return 0;
        json_t *ms = json_object_get(nd, "metrics");
        if (!json_is_object(ms)) {
            ms = json_object();
            json_object_set_new(nd, "metrics", ms);
        }
        json_object_set_new(ms, name,
                            json_pack("{s:O?, s:O?}", "value", json_object_get(ev, "value"), "step",
                                      json_object_get(ev, "step")));
        return 1;
    }
    if (strcmp(type, "state") != 0) return 0;
    const char *state = json_string_value(json_object_get(ev, "state"));
    if (!state) return 0;
    json_object_set_new(nd, "state", json_string(state));
    const json_t *key = json_object_get(ev, "key");
    if (json_is_string(key)) json_object_set(nd, "key", (json_t *)key);
    if (strcmp(state, "running") == 0) {
        json_object_set(nd, "started", json_object_get(ev, "ts"));
        const json_t *attempt = json_object_get(ev, "attempt");
        if (attempt) json_object_set(nd, "attempts", (json_t *)attempt);
        json_object_set_new(nd, "progress", json_null());
        json_object_set_new(nd, "error", json_null());
        return 1;
    }
    json_object_set_new(nd, "cached", json_boolean(strcmp(state, "cached") == 0));
    static const char *const copied[] = {"outputs", "log", "duration_s", "error", "metrics"};
    for (size_t k = 0; k < sizeof copied / sizeof copied[0]; k++) {
        const json_t *v = json_object_get(ev, copied[k]);
        if (v) json_object_set(nd, copied[k], (json_t *)v);
    }
    if (strcmp(state, "succeeded") == 0) kiln_api_metrics_node(metrics, "run");
    else if (strcmp(state, "cached") == 0) kiln_api_metrics_node(metrics, "cached");
    else if (strcmp(state, "failed") == 0) kiln_api_metrics_node(metrics, "failed");
    return 1;
}

/* Marks the nodes that had not ended with `state` and an error. */
static void end_open_nodes(json_t *nodes, const char *state, const char *error) {
    size_t i;
    json_t *nd;
    json_array_foreach(nodes, i, nd) {
        const char *st = json_string_value(json_object_get(nd, "state"));
        if (st && strcmp(st, "running") && strcmp(st, "waiting")) continue;
        json_object_set_new(nd, "state", json_string(state));
        json_object_set_new(nd, "error", json_string(error));
    }
}

/* The stored document of a job (kiln_job_store_get's, without the derived fields). */
static json_t *bare_doc(json_t *full) {
    json_t *doc = json_copy(full);
    json_object_del(doc, "nodes");
    json_object_del(doc, "counts");
    json_object_del(doc, "last_event");
    return doc;
}

/* ---- running a job (worker threads) ---------------------------------------------------- */

typedef struct run_ctx {
    kiln_job_manager *m;
    entry *e;
    const kiln_plan *plan;
    json_t *nodes;
} run_ctx;

static void on_event(const json_t *ev, void *user) {
    run_ctx *rc = user;
    const char *node = json_string_value(json_object_get(ev, "node"));
    long idx = node ? kiln_plan_find(rc->plan, node) : -1;
    json_t *nd = idx >= 0 ? json_array_get(rc->nodes, (size_t)idx) : NULL;
    int changed = nd && apply_node_event(nd, ev, rc->m->cfg.metrics);
    commit(rc->m, rc->e, NULL, changed ? idx : -1, changed ? nd : NULL, ev, -1, 0);
}

/* "node 'x': why" of the first failed instance, for the job's error. */
static char *first_failure(const kiln_plan *plan, const kiln_run *run) {
    for (size_t i = 0; i < run->nnodes; i++) {
        const kiln_node_outcome *o = &run->nodes[i];
        if (o->state != KILN_NODE_FAILED) continue;
        char buf[KILN_ERROR_MESSAGE_MAX + 256];
        snprintf(buf, sizeof buf, "node '%s' failed: %s", plan->instances[i].name, o->error ? o->error : "?");
        return strdup(buf);
    }
    return strdup("some instances did not succeed");
}

static void item_free(job_item *it) {
    if (!it) return;
    json_decref(it->doc);
    json_decref(it->nodes);
    kiln_plan_free(it->plan);
    kiln_graph_free(it->g);
    free(it);
}

static void run_job(kiln_job_manager *m, job_item *it) {
    entry *e = it->e;
    json_t *doc = it->doc;
    json_object_set_new(doc, "state", json_string("running"));
    json_object_set_new(doc, "started", json_real(kiln_now()));
    json_object_set_new(doc, "finished", json_null());
    json_object_set_new(doc, "error", json_null());
    json_object_set_new(doc, "runs", json_integer(json_integer_value(json_object_get(doc, "runs")) + 1));
    json_t *ev = job_event(e->id, "running", NULL);
    commit(m, e, doc, -1, NULL, ev, JS_RUNNING, 0);
    json_decref(ev);

    int threads_total = 1, gpus_total = 0;
    kiln_api_slots_usage(m->cfg.slots, NULL, &threads_total, NULL, &gpus_total);
    run_ctx rc = {m, e, it->plan, it->nodes};
    kiln_run_options opt = {0};
    opt.jobs = threads_total;
    opt.gpus = gpus_total;
    opt.grace_s = m->cfg.grace_s;
    opt.kiln_exe = m->cfg.kiln_exe;
    opt.job = e->id;
    opt.on_event = on_event;
    opt.user = &rc;
    opt.cancel = &e->cancel;
    opt.pool = kiln_api_slots_table(m->cfg.slots);
    kiln_run run;
    kiln_error err = {0};
    int r = kiln_run_plan(it->plan, m->cfg.store, &opt, &run, &err);

    int final;
    char *error = NULL;
    if (r == 0) {
        final = JS_SUCCEEDED;
    } else if (r == 1) {
        final = JS_FAILED;
        error = first_failure(it->plan, &run);
    } else if (r == KILN_ECANCELLED) {
        pthread_mutex_lock(&m->mu);
        int by_user = e->user_cancel;
        pthread_mutex_unlock(&m->mu);
        final = by_user ? JS_CANCELLED : JS_INTERRUPTED;
        error = strdup(by_user ? "cancelled by request" : "interrupted: the server shut down");
    } else {
        final = JS_FAILED;
        error = strdup(err.message[0] ? err.message : "the run could not start");
    }
    if (r >= 0 || r == KILN_ECANCELLED) {
        json_t *rec = kiln_run_record_new(it->plan, &run, e->id, it->g->path);
        kiln_error rerr = {0};
        if (kiln_run_record_save(m->cfg.store, rec, &rerr) != 0)
            fprintf(stderr, "kiln serve: job %s: run record: %s\n", e->id, rerr.message);
        json_decref(rec);
    }
    if (final != JS_SUCCEEDED) end_open_nodes(it->nodes, "cancelled", error ? error : "not run");
    kiln_run_free(&run);

    json_object_set_new(doc, "state", json_string(job_state_names[final]));
    json_object_set_new(doc, "finished", json_real(kiln_now()));
    json_object_set_new(doc, "error", error ? json_string(error) : json_null());
    ev = job_event(e->id, job_state_names[final], error);
    /* Open nodes were ended above only for the document; the runner reported the rest. */
    int64_t seq = 0;
    kiln_error serr = {0};
    if (kiln_job_store_reset(m->cfg.db, e->id, doc, it->nodes, ev, &seq, &serr) != 0)
        fprintf(stderr, "kiln serve: job %s: %s\n", e->id, serr.message);
    announce(m, e, seq, final, 1);
    json_decref(ev);
    free(error);
    it->e = NULL;
}

static void *worker_main(void *arg) {
    kiln_job_manager *m = arg;
    pthread_mutex_lock(&m->mu);
    for (;;) {
        while (!m->stopping && !m->qhead) pthread_cond_wait(&m->work, &m->mu);
        if (m->stopping) break; /* queued jobs are the shutdown's to mark */
        job_item *it = m->qhead;
        m->qhead = it->next;
        if (!m->qhead) m->qtail = NULL;
        m->nqueued--;
        it->e->running = 1;
        m->nrunning++;
        pthread_mutex_unlock(&m->mu);
        run_job(m, it);
        item_free(it);
        pthread_mutex_lock(&m->mu);
        m->nrunning--;
        pthread_cond_broadcast(&m->idle);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* Keep-alive ticks: every waiting stream is resumed with `ping` set. */
static void *ticker_main(void *arg) {
    kiln_job_manager *m = arg;
    double every = m->cfg.keepalive_s > 0 ? m->cfg.keepalive_s : 15.0;
    pthread_mutex_lock(&m->mu);
    while (!m->ticker_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + every;
        ts.tv_sec = (time_t)t;
        ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
        int rc = pthread_cond_timedwait(&m->tick, &m->mu, &ts);
        if (m->ticker_stop) break;
        if (rc != ETIMEDOUT) continue;
        for (size_t i = 0; i < m->nbuckets; i++)
            for (entry *e = m->buckets[i]; e; e = e->hnext) {
                for (kiln_job_waiter *w = e->waiters; w; w = w->next) w->ping = 1;
                wake_all(e);
            }
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* Queues an accepted job. When the manager is stopping, the job is marked interrupted
 * instead (it was committed as queued; it must not stay so). */
static void enqueue(kiln_job_manager *m, job_item *it) {
    pthread_mutex_lock(&m->mu);
    if (!m->stopping) {
        it->next = NULL;
        if (m->qtail) m->qtail->next = it;
        else m->qhead = it;
        m->qtail = it;
        m->nqueued++;
        pthread_cond_signal(&m->work);
        pthread_mutex_unlock(&m->mu);
        return;
    }
    pthread_mutex_unlock(&m->mu);
    const char *why = "interrupted: the server shut down before the job started";
    json_object_set_new(it->doc, "state", json_string("interrupted"));
    json_object_set_new(it->doc, "finished", json_real(kiln_now()));
    json_object_set_new(it->doc, "error", json_string(why));
    end_open_nodes(it->nodes, "interrupted", why);
    json_t *ev = job_event(it->e->id, "interrupted", why);
    int64_t seq = 0;
    kiln_error err = {0};
    if (kiln_job_store_reset(m->cfg.db, it->e->id, it->doc, it->nodes, ev, &seq, &err) != 0)
        fprintf(stderr, "kiln serve: job %s: %s\n", it->e->id, err.message);
    announce(m, it->e, seq, JS_INTERRUPTED, 1);
    json_decref(ev);
    it->e = NULL;
    item_free(it);
}

/* ---- public API ------------------------------------------------------------------------ */

static int recover(kiln_job_manager *m, int *count, kiln_error *err) {
    static const char *const open_states[] = {"queued", "running", NULL};
    json_t *ids = kiln_job_store_ids_in_state(m->cfg.db, open_states, err);
    if (!ids) return KILN_EIO;
    size_t i;
    json_t *jid;
    int n = 0;
    json_array_foreach(ids, i, jid) {
        const char *id = json_string_value(jid);
        json_t *full = kiln_job_store_get(m->cfg.db, id, err);
        if (!full) {
            json_decref(ids);
            return KILN_EIO;
        }
        json_t *doc = bare_doc(full);
        json_t *nodes = json_incref(json_object_get(full, "nodes"));
        char why[160];
        snprintf(why, sizeof why, "interrupted: the server stopped while the job was %s",
                 json_string_value(json_object_get(doc, "state")));
        json_object_set_new(doc, "state", json_string("interrupted"));
        json_object_set_new(doc, "finished", json_real(kiln_now()));
        json_object_set_new(doc, "error", json_string(why));
        end_open_nodes(nodes, "interrupted", "interrupted: the server stopped");
        json_t *ev = job_event(id, "interrupted", why);
        int rc = kiln_job_store_reset(m->cfg.db, id, doc, nodes, ev, NULL, err);
        json_decref(ev);
        json_decref(nodes);
        json_decref(doc);
        json_decref(full);
        if (rc != 0) {
            json_decref(ids);
            return rc;
        }
        n++;
    }
    json_decref(ids);
    *count = n;
    return 0;
}

kiln_job_manager *kiln_job_manager_start(const kiln_job_manager_config *cfg, int *recovered_out, kiln_error *err) {
    kiln_job_manager *m = calloc(1, sizeof *m);
    if (!m) {
        kiln_error_set(err, KILN_ENOMEM, "out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    if (m->cfg.max_jobs < 1) m->cfg.max_jobs = 1;
    if (!m->cfg.view_cache_bytes) m->cfg.view_cache_bytes = 64u << 20;
    m->nbuckets = 1024;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    m->workers = calloc((size_t)m->cfg.max_jobs, sizeof *m->workers);
    if (!m->buckets || !m->workers) {
        free(m->buckets);
        free(m->workers);
        free(m);
        kiln_error_set(err, KILN_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->work, NULL);
    pthread_cond_init(&m->idle, NULL);
    pthread_cond_init(&m->tick, NULL);
    int recovered = 0;
    if (recover(m, &recovered, err) != 0) {
        m->shut_down = 1;
        kiln_job_manager_free(m);
        return NULL;
    }
    if (recovered_out) *recovered_out = recovered;
    for (int i = 0; i < m->cfg.max_jobs; i++) {
        if (pthread_create(&m->workers[i], NULL, worker_main, m) != 0) {
            kiln_error_set(err, KILN_EIO, "cannot start job worker threads: %s", strerror(errno));
            kiln_job_manager_free(m);
            return NULL;
        }
        m->nworkers++;
    }
    if (pthread_create(&m->ticker, NULL, ticker_main, m) != 0) {
        kiln_error_set(err, KILN_EIO, "cannot start the keep-alive thread");
        kiln_job_manager_free(m);
        return NULL;
    }
    m->ticker_started = 1;
    return m;
}

int kiln_job_manager_submit(kiln_job_manager *m, const kiln_api_submission *sub, kiln_graph *g, kiln_plan *plan,
                            char id_out[40], kiln_error *err) {
    pthread_mutex_lock(&m->mu);
    int stopping = m->stopping;
    pthread_mutex_unlock(&m->mu);
    if (stopping) {
        kiln_plan_free(plan);
        kiln_graph_free(g);
        return kiln_error_set(err, KILN_JM_ESTOPPING, "the server is shutting down");
    }
    job_item *it = calloc(1, sizeof *it);
    if (!it) {
        kiln_plan_free(plan);
        kiln_graph_free(g);
        return kiln_error_set(err, KILN_ENOMEM, "out of memory");
    }
    it->g = g;
    it->plan = plan;
    it->nodes = nodes_from_plan(plan);
    double now = kiln_now();
    char id[40];
    int rc = KILN_EINVAL;
    int64_t seq = 0;
    for (int attempt = 0; attempt < 16 && rc == KILN_EINVAL; attempt++) {
        kiln_job_id_new(id); /* a collision (same second, same random) just draws again */
        json_decref(it->doc);
        it->doc = json_object();
        json_object_set_new(it->doc, "id", json_string(id));
        json_object_set_new(it->doc, "name", json_string(sub->name));
        json_object_set(it->doc, "labels", sub->labels);
        json_object_set_new(it->doc, "state", json_string("queued"));
        json_object_set_new(it->doc, "created", json_real(now));
        json_object_set_new(it->doc, "started", json_null());
        json_object_set_new(it->doc, "finished", json_null());
        json_object_set_new(it->doc, "error", json_null());
        json_object_set_new(it->doc, "runs", json_integer(0));
        json_object_set_new(it->doc, "instances", json_integer((json_int_t)plan->ninstances));
        json_object_set_new(it->doc, "path", json_string(sub->path));
        json_t *ev = job_event(id, "queued", NULL);
        memset(err, 0, sizeof *err);
        rc = kiln_job_store_create(m->cfg.db, it->doc, sub->graph_text, sub->path, it->nodes, ev, &seq, err);
        json_decref(ev);
    }
    if (rc != 0) {
        item_free(it);
        return rc;
    }
    /* Committed: now it may be seen (an entry made by a reader meanwhile is just as fresh). */
    pthread_mutex_lock(&m->mu);
    entry *e = entry_find(m, id);
    if (!e) e = entry_create(m, id, JS_QUEUED, seq);
    e->active = 1;
    e->refs++;
    if (seq > e->last_seq) e->last_seq = seq;
    pthread_mutex_unlock(&m->mu);
    it->e = e;
    kiln_api_metrics_job_accepted(m->cfg.metrics);
    snprintf(id_out, 40, "%s", id);
    enqueue(m, it);
    return 0;
}

/* An entry for `id` that reflects the store, with a reference taken (refs++). */
static entry *entry_acquire(kiln_job_manager *m, const char *id, kiln_error *err) {
    for (int tries = 0; tries < 16; tries++) {
        pthread_mutex_lock(&m->mu);
        entry *e = entry_find(m, id);
        if (e) {
            e->refs++;
            pthread_mutex_unlock(&m->mu);
            return e;
        }
        uint64_t g0 = m->gen;
        pthread_mutex_unlock(&m->mu);
        json_t *doc = kiln_job_store_get(m->cfg.db, id, err);
        if (!doc) return NULL;
        pthread_mutex_lock(&m->mu);
        e = entry_find(m, id);
        if (!e && m->drop_gen <= g0)
            e = entry_create(m, id, job_state_code(json_string_value(json_object_get(doc, "state"))),
                             (int64_t)json_integer_value(json_object_get(doc, "last_event")));
        if (e) e->refs++;
        pthread_mutex_unlock(&m->mu);
        json_decref(doc);
        if (e) return e;
    }
    kiln_error_set(err, KILN_EIO, "job '%s' keeps changing; try again", id);
    return NULL;
}

int kiln_job_manager_cancel(kiln_job_manager *m, const char *id, int *async_out, kiln_error *err) {
    *async_out = 0;
    entry *e = entry_acquire(m, id, err);
    if (!e) return err->code;
    pthread_mutex_lock(&m->mu);
    if (e->active && e->running) {
        e->user_cancel = 1;
        e->cancel = 1;
        e->refs--;
        pthread_mutex_unlock(&m->mu);
        *async_out = 1;
        return 0;
    }
    job_item *it = NULL;
    if (e->active) {
        job_item **pp = &m->qhead, *prev = NULL;
        while (*pp && (*pp)->e != e) {
            prev = *pp;
            pp = &(*pp)->next;
        }
        if (*pp) {
            it = *pp;
            *pp = it->next;
            if (m->qtail == it) m->qtail = prev;
            m->nqueued--;
        }
    }
    int state = e->state, active = e->active;
    e->refs--;
    pthread_mutex_unlock(&m->mu);
    if (!it) {
        if (active) return kiln_error_set(err, KILN_JM_ECONFLICT, "job '%s' is being queued; try again", id);
        return kiln_error_set(err, KILN_JM_ECONFLICT, "job '%s' has ended already (%s)", id, job_state_names[state]);
    }
    const char *why = "cancelled by request before it started";
    json_object_set_new(it->doc, "state", json_string("cancelled"));
    json_object_set_new(it->doc, "finished", json_real(kiln_now()));
    json_object_set_new(it->doc, "error", json_string(why));
    end_open_nodes(it->nodes, "cancelled", "not run: the job was cancelled");
    json_t *ev = job_event(id, "cancelled", why);
    int64_t seq = 0;
    int rc = kiln_job_store_reset(m->cfg.db, id, it->doc, it->nodes, ev, &seq, err);
    if (rc != 0) fprintf(stderr, "kiln serve: job %s: %s\n", id, err->message);
    announce(m, e, seq, rc == 0 ? JS_CANCELLED : -1, 1);
    json_decref(ev);
    it->e = NULL;
    item_free(it);
    return rc;
}

int kiln_job_manager_retry(kiln_job_manager *m, const char *id, kiln_diags *diags, kiln_error *err) {
    entry *e = entry_acquire(m, id, err);
    if (!e) return err->code;
    pthread_mutex_lock(&m->mu);
    int rc = 0;
    if (m->stopping) rc = kiln_error_set(err, KILN_JM_ESTOPPING, "the server is shutting down");
    else if (e->active)
        rc = kiln_error_set(err, KILN_JM_ECONFLICT, "job '%s' is %s; retry applies to jobs that ended", id,
                            job_state_names[e->state]);
    else if (e->state == JS_SUCCEEDED)
        rc = kiln_error_set(err, KILN_JM_ECONFLICT, "job '%s' succeeded; there is nothing to retry", id);
    else
        e->active = 1; /* ours now: no second retry, no cancel in between */
    if (rc != 0) e->refs--;
    pthread_mutex_unlock(&m->mu);
    if (rc != 0) return rc;

    char *graph_text = NULL, *path = NULL;
    json_t *full = NULL;
    kiln_graph *g = NULL;
    kiln_plan *plan = NULL;
    rc = kiln_job_store_graph(m->cfg.db, id, &graph_text, &path, err);
    if (rc == 0 && kiln_api_graph_check(m->cfg.reg, graph_text, path, &g, &plan, diags) != 0)
        rc = kiln_error_set(err, KILN_JM_EINVALID, "job '%s': its graph no longer validates", id);
    if (rc == 0 && !(full = kiln_job_store_get(m->cfg.db, id, err))) rc = err->code ? err->code : KILN_EIO;
    job_item *it = NULL;
    if (rc == 0) {
        it = calloc(1, sizeof *it);
        if (!it) rc = kiln_error_set(err, KILN_ENOMEM, "out of memory");
    }
    if (rc != 0) {
        json_decref(full);
        kiln_plan_free(plan);
        kiln_graph_free(g);
        free(graph_text);
        free(path);
        pthread_mutex_lock(&m->mu);
        e->active = 0;
        e->refs--;
        pthread_mutex_unlock(&m->mu);
        return rc;
    }
    it->g = g;
    it->plan = plan;
    it->nodes = nodes_from_plan(plan);
    it->doc = bare_doc(full);
    json_decref(full);
    free(graph_text);
    free(path);
    json_object_set_new(it->doc, "state", json_string("queued"));
    json_object_set_new(it->doc, "finished", json_null());
    json_object_set_new(it->doc, "error", json_null());
    json_object_set_new(it->doc, "instances", json_integer((json_int_t)plan->ninstances));
    json_t *ev = job_event(id, "queued", NULL);
    json_object_set_new(ev, "retry", json_true());
    int64_t seq = 0;
    rc = kiln_job_store_reset(m->cfg.db, id, it->doc, it->nodes, ev, &seq, err);
    json_decref(ev);
    if (rc != 0) {
        item_free(it);
        pthread_mutex_lock(&m->mu);
        e->active = 0;
        e->refs--;
        pthread_mutex_unlock(&m->mu);
        return rc;
    }
    announce(m, e, seq, JS_QUEUED, 0);
    it->e = e;
    kiln_api_metrics_job_accepted(m->cfg.metrics);
    enqueue(m, it);
    return 0;
}

char *kiln_job_manager_view(kiln_job_manager *m, const char *id, size_t *len_out, kiln_error *err) {
    pthread_mutex_lock(&m->mu);
    entry *e = entry_find(m, id);
    if (e && e->view && e->view_gen == e->gen) {
        char *copy = malloc(e->view_len + 1);
        if (copy) {
            memcpy(copy, e->view, e->view_len + 1);
            *len_out = e->view_len;
        }
        pthread_mutex_unlock(&m->mu);
        if (!copy) kiln_error_set(err, KILN_ENOMEM, "out of memory");
        return copy;
    }
    uint64_t g0 = m->gen;
    pthread_mutex_unlock(&m->mu);

    json_t *doc = kiln_job_store_get(m->cfg.db, id, err);
    if (!doc) return NULL;
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text) {
        json_decref(doc);
        kiln_error_set(err, KILN_ENOMEM, "out of memory");
        return NULL;
    }
    size_t len = strlen(text);
    pthread_mutex_lock(&m->mu);
    e = entry_find(m, id);
    if (!e && m->drop_gen <= g0)
        e = entry_create(m, id, job_state_code(json_string_value(json_object_get(doc, "state"))),
                         (int64_t)json_integer_value(json_object_get(doc, "last_event")));
    if (e && e->gen <= g0) {
        char *copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, text, len + 1);
            view_drop(m, e);
            e->view = copy;
            e->view_len = len;
            e->view_gen = e->gen;
            m->view_bytes += len;
            if (m->view_bytes > m->cfg.view_cache_bytes) trim(m);
        }
    }
    pthread_mutex_unlock(&m->mu);
    json_decref(doc);
    *len_out = len;
    return text;
}

void kiln_job_manager_stats(kiln_job_manager *m, int *queued, int *running, int *streams) {
    pthread_mutex_lock(&m->mu);
    if (queued) *queued = m->nqueued;
    if (running) *running = m->nrunning;
    if (streams) *streams = m->nstreams;
    pthread_mutex_unlock(&m->mu);
}

kiln_job_watch *kiln_job_manager_watch(kiln_job_manager *m, const char *id, kiln_error *err) {
    kiln_job_watch *w = calloc(1, sizeof *w);
    if (!w) {
        kiln_error_set(err, KILN_ENOMEM, "out of memory");
        return NULL;
    }
    w->m = m;
    w->e = entry_acquire(m, id, err);
    if (!w->e) {
        free(w);
        return NULL;
    }
    pthread_mutex_lock(&m->mu);
    m->nstreams++;
    pthread_mutex_unlock(&m->mu);
    return w;
}

kiln_job_wait_result kiln_job_watch_wait(kiln_job_watch *watch, int64_t seen, kiln_job_waiter *w) {
    kiln_job_manager *m = watch->m;
    entry *e = watch->e;
    kiln_job_wait_result r;
    pthread_mutex_lock(&m->mu);
    if (w->ping) {
        w->ping = 0;
        r = KILN_JOB_WAIT_PING;
    } else if (e->last_seq > seen) { /* even when closing: a stream ends with the job's last event */
        r = KILN_JOB_WAIT_MORE;
    } else if (m->closing) {
        r = KILN_JOB_WAIT_END;
    } else if (!e->active && job_state_terminal(e->state)) {
        r = KILN_JOB_WAIT_END;
    } else {
        w->next = e->waiters;
        e->waiters = w;
        w->listed = 1;
        w->suspend(w);
        r = KILN_JOB_WAIT_SUSPENDED;
    }
    pthread_mutex_unlock(&m->mu);
    return r;
}

void kiln_job_watch_close(kiln_job_watch *watch, kiln_job_waiter *w) {
    if (!watch) return;
    kiln_job_manager *m = watch->m;
    pthread_mutex_lock(&m->mu);
    if (w && w->listed) {
        kiln_job_waiter **pp = &watch->e->waiters;
        while (*pp && *pp != w) pp = &(*pp)->next;
        if (*pp) *pp = w->next;
        w->listed = 0;
    }
    watch->e->refs--;
    m->nstreams--;
    pthread_mutex_unlock(&m->mu);
    free(watch);
}

const char *kiln_job_watch_id(const kiln_job_watch *watch) {
    return watch->e->id;
}

void kiln_job_manager_shutdown(kiln_job_manager *m, int finish_running, double timeout_s) {
    pthread_mutex_lock(&m->mu);
    if (m->shut_down) {
        pthread_mutex_unlock(&m->mu);
        return;
    }
    m->shut_down = 1;
    m->stopping = 1;
    job_item *queued = m->qhead;
    m->qhead = m->qtail = NULL;
    m->nqueued = 0;
    pthread_cond_broadcast(&m->work);
    if (!finish_running)
        for (size_t i = 0; i < m->nbuckets; i++)
            for (entry *e = m->buckets[i]; e; e = e->hnext)
                if (e->running) e->cancel = 1;
    pthread_mutex_unlock(&m->mu);

    while (queued) { /* enqueue() marks them interrupted now that stopping is set */
        job_item *next = queued->next;
        enqueue(m, queued);
        queued = next;
    }

    pthread_mutex_lock(&m->mu);
    if (finish_running && m->nrunning > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + (timeout_s > 0 ? timeout_s : 0);
        ts.tv_sec = (time_t)t;
        ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
        while (m->nrunning > 0)
            if (pthread_cond_timedwait(&m->idle, &m->mu, &ts) == ETIMEDOUT) break;
        for (size_t i = 0; i < m->nbuckets; i++) /* what did not finish in time is cancelled */
            for (entry *e = m->buckets[i]; e; e = e->hnext)
                if (e->running) e->cancel = 1;
    }
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; i < m->nworkers; i++) pthread_join(m->workers[i], NULL);
    m->nworkers = 0;

    pthread_mutex_lock(&m->mu);
    m->closing = 1;
    m->ticker_stop = 1;
    pthread_cond_broadcast(&m->tick);
    for (size_t i = 0; i < m->nbuckets; i++)
        for (entry *e = m->buckets[i]; e; e = e->hnext) wake_all(e);
    pthread_mutex_unlock(&m->mu);
    if (m->ticker_started) pthread_join(m->ticker, NULL);
    m->ticker_started = 0;
}

void kiln_job_manager_free(kiln_job_manager *m) {
    if (!m) return;
    kiln_job_manager_shutdown(m, 0, 0);
    for (size_t i = 0; i < m->nbuckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *next = e->hnext;
            free(e->view);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    free(m->workers);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->work);
    pthread_cond_destroy(&m->idle);
    pthread_cond_destroy(&m->tick);
    free(m);
}
