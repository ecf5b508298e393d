/* job_store.c -- jobs, nodes and events in SQLite (see job_store.h).
 *
 * One write connection guarded by `wmu`; read connections come from a small free list
 * (opened on demand, kept up to KILN_JS_MAX_IDLE). Statements are prepared once per
 * connection (SQLITE_PREPARE_PERSISTENT) and reset after use. */
#include "job_store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fsutil.h"

#define KILN_JS_MAX_IDLE 8
#define KILN_JS_BUSY_MS 10000

enum {
    S_INSERT_JOB,
    S_INSERT_NODE,
    S_UPDATE_NODE,
    S_DELETE_NODES,
    S_LAST_EVENT,
    S_INSERT_EVENT,
    S_SET_LAST_EVENT,
    S_UPDATE_JOB,
    S_GET_JOB,
    S_GET_NODES,
    S_EVENTS,
    S_GRAPH,
    S_COUNTS,
    S_BEGIN_READ,
    S_BEGIN_WRITE,
    S_COMMIT,
    S_ROLLBACK,
    S_COUNT
};

static const char *const sql_text[S_COUNT] = {
    [S_INSERT_JOB] = "INSERT INTO jobs(id, state, labels, created, data, graph, path, last_event) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
    [S_INSERT_NODE] = "INSERT INTO nodes(job, idx, data) VALUES(?1, ?2, ?3)",
    [S_UPDATE_NODE] = "UPDATE nodes SET data = ?1 WHERE job = ?2 AND idx = ?3",
    [S_DELETE_NODES] = "DELETE FROM nodes WHERE job = ?1",
    [S_LAST_EVENT] = "SELECT last_event FROM jobs WHERE id = ?1",
    [S_INSERT_EVENT] = "INSERT INTO events(job, seq, data) VALUES(?1, ?2, ?3)",
    [S_SET_LAST_EVENT] = "UPDATE jobs SET last_event = ?1 WHERE id = ?2",
    [S_UPDATE_JOB] = "UPDATE jobs SET state = ?1, data = ?2 WHERE id = ?3",
    [S_GET_JOB] = "SELECT data, last_event FROM jobs WHERE id = ?1",
    [S_GET_NODES] = "SELECT data FROM nodes WHERE job = ?1 ORDER BY idx",
    [S_EVENTS] = "SELECT seq, data FROM events WHERE job = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    [S_GRAPH] = "SELECT graph, path FROM jobs WHERE id = ?1",
    [S_COUNTS] = "SELECT state, count(*) FROM jobs GROUP BY state",
    [S_BEGIN_READ] = "BEGIN",
    [S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS jobs(\n"
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  id TEXT NOT NULL UNIQUE,\n"
    "  state TEXT NOT NULL,\n"
    "  labels TEXT NOT NULL DEFAULT '{}',\n"
    "  created REAL NOT NULL,\n"
    "  data TEXT NOT NULL,\n"
    "  graph TEXT NOT NULL,\n"
    "  path TEXT NOT NULL,\n"
    "  last_event INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, seq);\n"
    "CREATE TABLE IF NOT EXISTS nodes(\n"
    "  job TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL,\n"
    "  PRIMARY KEY(job, idx)) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS events(\n"
    "  job TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,\n"
    "  PRIMARY KEY(job, seq)) WITHOUT ROWID;\n"
    "PRAGMA user_version = 1;\n";

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    struct conn *next; /* free list */
} conn;

struct kiln_job_store {
    char *path;
    int sync_full;
    pthread_mutex_t wmu; /* guards w */
    conn *w;
    pthread_mutex_t rmu; /* guards idle */
    conn *idle;
    int nidle;
};

static int db_error(kiln_error *err, sqlite3 *db, const char *path, const char *what) {
    return kiln_error_set(err, KILN_EIO, "%s: %s: %s", path, what, db ? sqlite3_errmsg(db) : "out of memory");
}

static void conn_close(conn *c) {
    if (!c) return;
    for (int i = 0; i < S_COUNT; i++) sqlite3_finalize(c->stmt[i]);
    sqlite3_close(c->db);
    free(c);
}

/* Opens one connection with the pragmas every connection needs. */
static conn *conn_open(const kiln_job_store *st, int writer, kiln_error *err) {
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        kiln_error_set(err, KILN_ENOMEM, "out of memory");
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(st->path, &c->db, flags, NULL) != SQLITE_OK) {
        db_error(err, c->db, st->path, "cannot open the job database");
        conn_close(c);
        return NULL;
    }
    sqlite3_busy_timeout(c->db, KILN_JS_BUSY_MS);
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;%s",
             st->sync_full ? "FULL" : "NORMAL", writer ? "" : " PRAGMA query_only=1;");
    char *msg = NULL;
    if (sqlite3_exec(c->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        kiln_error_set(err, KILN_EIO, "%s: cannot set up the job database: %s", st->path, msg ? msg : "?");
        sqlite3_free(msg);
        conn_close(c);
        return NULL;
    }
    return c;
}

/* The prepared statement `id` of c, reset and unbound; NULL (err set) on failure. */
static sqlite3_stmt *stmt(conn *c, int id, const char *path, kiln_error *err) {
    if (!c->stmt[id]) {
        if (sqlite3_prepare_v3(c->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id], NULL) != SQLITE_OK) {
            db_error(err, c->db, path, "cannot prepare a statement");
            return NULL;
        }
    }
    return c->stmt[id];
}

static void done(sqlite3_stmt *s) {
    if (!s) return;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Runs a statement without results (BEGIN, COMMIT...). Returns 0 or KILN_EIO. */
static int exec_simple(conn *c, int id, const char *path, kiln_error *err) {
    sqlite3_stmt *s = stmt(c, id, path, err);
    if (!s) return KILN_EIO;
    int rc = sqlite3_step(s);
    done(s);
    if (rc != SQLITE_DONE) return db_error(err, c->db, path, sql_text[id]);
    return 0;
}

static conn *reader_get(kiln_job_store *st, kiln_error *err) {
    pthread_mutex_lock(&st->rmu);
    conn *c = st->idle;
    if (c) {
        st->idle = c->next;
        st->nidle--;
    }
    pthread_mutex_unlock(&st->rmu);
    if (!c) c = conn_open(st, 0, err);
    return c;
}

static void reader_put(kiln_job_store *st, conn *c) {
    if (!c) return;
    if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_lock(&st->rmu);
    if (st->nidle < KILN_JS_MAX_IDLE) {
        c->next = st->idle;
        st->idle = c;
        st->nidle++;
        c = NULL;
    }
    pthread_mutex_unlock(&st->rmu);
    conn_close(c);
}

int kiln_job_store_open(const char *path, int sync_full, kiln_job_store **out, kiln_error *err) {
    *out = NULL;
    char *dir = kiln_path_dirname(path);
    int rc = kiln_mkdir_p(dir, err);
    free(dir);
    if (rc != 0) return rc;
    kiln_job_store *st = calloc(1, sizeof *st);
    if (!st) return kiln_error_set(err, KILN_ENOMEM, "out of memory");
    st->path = strdup(path);
    st->sync_full = sync_full;
    pthread_mutex_init(&st->wmu, NULL);
    pthread_mutex_init(&st->rmu, NULL);
    st->w = st->path ? conn_open(st, 1, err) : NULL;
    if (!st->w) {
        kiln_job_store_close(st);
        return err->code ? err->code : KILN_EIO;
    }
    char *msg = NULL;
    if (sqlite3_exec(st->w->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        kiln_error_set(err, KILN_EIO, "%s: cannot create the job tables: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        kiln_job_store_close(st);
        return KILN_EIO;
    }
    *out = st;
    return 0;
}

void kiln_job_store_close(kiln_job_store *st) {
    if (!st) return;
    while (st->idle) {
        conn *c = st->idle;
        st->idle = c->next;
        conn_close(c);
    }
    conn_close(st->w); /* last: it checkpoints the WAL */
    pthread_mutex_destroy(&st->wmu);
    pthread_mutex_destroy(&st->rmu);
    free(st->path);
    free(st);
}

static char *dump(const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT);
    if (!s) abort(); /* only out of memory */
    return s;
}

static int bind_json(sqlite3_stmt *s, int at, const json_t *v) {
    char *text = dump(v);
    return sqlite3_bind_text(s, at, text, -1, free);
}

/* Appends `event` with the next seq of job `id` (inside the caller's transaction). */
static int append_event(kiln_job_store *st, const char *id, const json_t *event, int64_t *seq_out,
                        kiln_error *err) {
    conn *c = st->w;
    sqlite3_stmt *s = stmt(c, S_LAST_EVENT, st->path, err);
    if (!s) return KILN_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int64_t last = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    done(s);
    if (rc == SQLITE_DONE) return kiln_error_set(err, KILN_ENOTFOUND, "no job '%s'", id);
    if (rc != SQLITE_ROW) return db_error(err, c->db, st->path, "reading the last event");
    if (!event) {
        if (seq_out) *seq_out = last;
        return 0;
    }
    int64_t seq = last + 1;
    s = stmt(c, S_INSERT_EVENT, st->path, err);
    if (!s) return KILN_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    bind_json(s, 3, event);
    rc = sqlite3_step(s);
    done(s);
    if (rc != SQLITE_DONE) return db_error(err, c->db, st->path, "appending an event");
    s = stmt(c, S_SET_LAST_EVENT, st->path, err);
    if (!s) return KILN_EIO;
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    done(s);
    if (rc != SQLITE_DONE) return db_error(err, c->db, st->path, "recording the last event");
    if (seq_out) *seq_out = seq;
    return 0;
}

static int update_doc(kiln_job_store *st, const char *id, const json_t *doc, kiln_error *err) {
    sqlite3_stmt *s = stmt(st->w, S_UPDATE_JOB, st->path, err);
    if (!s) return KILN_EIO;
    const char *state = json_string_value(json_object_get(doc, "state"));
    sqlite3_bind_text(s, 1, state ? state : "", -1, SQLITE_STATIC);
    bind_json(s, 2, doc);
    sqlite3_bind_text(s, 3, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    done(s);
    if (rc != SQLITE_DONE) return db_error(err, st->w->db, st->path, "updating a job");
    return 0;
}

static int write_node(kiln_job_store *st, int insert, const char *id, long idx, const json_t *node, kiln_error *err) {
    sqlite3_stmt *s = stmt(st->w, insert ? S_INSERT_NODE : S_UPDATE_NODE, st->path, err);
    if (!s) return KILN_EIO;
    if (insert) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, idx);
        bind_json(s, 3, node);
    } else {
        bind_json(s, 1, node);
        sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, idx);
    }
    int rc = sqlite3_step(s);
    done(s);
    if (rc != SQLITE_DONE) return db_error(err, st->w->db, st->path, "writing a node");
    return 0;
}

static int insert_nodes(kiln_job_store *st, const char *id, const json_t *nodes, kiln_error *err) {
    size_t i;
    const json_t *n;
    json_array_foreach(nodes, i, n) {
        int rc = write_node(st, 1, id, (long)i, n, err);
        if (rc) return rc;
    }
    return 0;
}

/* BEGIN IMMEDIATE on the writer; the caller holds wmu. */
static int begin(kiln_job_store *st, kiln_error *err) {
    return exec_simple(st->w, S_BEGIN_WRITE, st->path, err);
}

/* COMMIT when rc is 0, else ROLLBACK; returns the final status. */
static int finish_txn(kiln_job_store *st, int rc, kiln_error *err) {
    if (rc == 0) {
        rc = exec_simple(st->w, S_COMMIT, st->path, err);
        if (rc == 0) return 0;
    }
    if (!sqlite3_get_autocommit(st->w->db)) {
        kiln_error dummy = {0};
        exec_simple(st->w, S_ROLLBACK, st->path, &dummy);
    }
    return rc;
}

int kiln_job_store_create(kiln_job_store *st, const json_t *doc, const char *graph_text, const char *path,
                          const json_t *nodes, const json_t *event, int64_t *seq_out, kiln_error *err) {
    const char *id = json_string_value(json_object_get(doc, "id"));
    const char *state = json_string_value(json_object_get(doc, "state"));
    if (!id || !state) return kiln_error_set(err, KILN_EINVAL, "job document without id or state");
    pthread_mutex_lock(&st->wmu);
    int rc = begin(st, err);
    if (rc == 0) {
        sqlite3_stmt *s = stmt(st->w, S_INSERT_JOB, st->path, err);
        if (!s) {
            rc = KILN_EIO;
        } else {
            const json_t *labels = json_object_get(doc, "labels");
            json_t *empty = json_object();
            sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
            bind_json(s, 3, labels ? labels : empty);
            sqlite3_bind_double(s, 4, json_number_value(json_object_get(doc, "created")));
            bind_json(s, 5, doc);
            sqlite3_bind_text(s, 6, graph_text, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 7, path ? path : "", -1, SQLITE_STATIC);
            int r = sqlite3_step(s);
            done(s);
            json_decref(empty);
            if (r == SQLITE_CONSTRAINT)
                rc = kiln_error_set(err, KILN_EINVAL, "job id '%s' exists already", id);
            else if (r != SQLITE_DONE)
                rc = db_error(err, st->w->db, st->path, "inserting a job");
        }
    }
    if (rc == 0) rc = insert_nodes(st, id, nodes, err);
    if (rc == 0) rc = append_event(st, id, event, seq_out, err);
    rc = finish_txn(st, rc, err);
    pthread_mutex_unlock(&st->wmu);
    return rc;
}

int kiln_job_store_update(kiln_job_store *st, const char *id, const json_t *doc, long node_idx, const json_t *node,
                          const json_t *event, int64_t *seq_out, kiln_error *err) {
    pthread_mutex_lock(&st->wmu);
    int rc = begin(st, err);
    if (rc == 0 && doc) rc = update_doc(st, id, doc, err);
    if (rc == 0 && node) rc = write_node(st, 0, id, node_idx, node, err);
    if (rc == 0) rc = append_event(st, id, event, seq_out, err);
    rc = finish_txn(st, rc, err);
    pthread_mutex_unlock(&st->wmu);
    return rc;
}

int kiln_job_store_reset(kiln_job_store *st, const char *id, const json_t *doc, const json_t *nodes,
                         const json_t *event, int64_t *seq_out, kiln_error *err) {
    pthread_mutex_lock(&st->wmu);
    int rc = begin(st, err);
    if (rc == 0 && doc) rc = update_doc(st, id, doc, err);
    if (rc == 0) {
        sqlite3_stmt *s = stmt(st->w, S_DELETE_NODES, st->path, err);
        if (!s) {
            rc = KILN_EIO;
        } else {
            sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
            if (sqlite3_step(s) != SQLITE_DONE) rc = db_error(err, st->w->db, st->path, "deleting nodes");
            done(s);
        }
    }
    if (rc == 0) rc = insert_nodes(st, id, nodes, err);
    if (rc == 0) rc = append_event(st, id, event, seq_out, err);
    rc = finish_txn(st, rc, err);
    pthread_mutex_unlock(&st->wmu);
    return rc;
}

static json_t *parse_column(sqlite3_stmt *s, int col) {
    const char *text = (const char *)sqlite3_column_text(s, col);
    int len = sqlite3_column_bytes(s, col);
    return text ? json_loadb(text, (size_t)len, 0, NULL) : NULL;
}

json_t *kiln_job_store_get(kiln_job_store *st, const char *id, kiln_error *err) {
    conn *c = reader_get(st, err);
    if (!c) return NULL;
    json_t *doc = NULL;
    if (exec_simple(c, S_BEGIN_READ, st->path, err) != 0) goto out; /* one snapshot for both reads */
    sqlite3_stmt *s = stmt(c, S_GET_JOB, st->path, err);
    if (!s) goto out;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        doc = parse_column(s, 0);
        if (json_is_object(doc)) json_object_set_new(doc, "last_event", json_integer(sqlite3_column_int64(s, 1)));
    }
    done(s);
    if (rc == SQLITE_DONE) {
        kiln_error_set(err, KILN_ENOTFOUND, "no job '%s'", id);
        goto out;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
        if (rc == SQLITE_ROW) kiln_error_set(err, KILN_EIO, "%s: job '%s': unreadable document", st->path, id);
        else db_error(err, c->db, st->path, "reading a job");
        goto out;
    }
    s = stmt(c, S_GET_NODES, st->path, err);
    if (!s) {
        json_decref(doc);
        doc = NULL;
        goto out;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    json_t *nodes = json_array();
    json_t *counts = json_object();
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *n = parse_column(s, 0);
        if (!n) n = json_object();
        const char *state = json_string_value(json_object_get(n, "state"));
        if (state) {
            json_int_t k = json_integer_value(json_object_get(counts, state));
            json_object_set_new(counts, state, json_integer(k + 1));
        }
        json_array_append_new(nodes, n);
    }
    done(s);
    json_object_set_new(doc, "counts", counts);
    json_object_set_new(doc, "nodes", nodes);
    if (rc != SQLITE_DONE) {
        db_error(err, c->db, st->path, "reading nodes");
        json_decref(doc);
        doc = NULL;
    }
out:
    if (!sqlite3_get_autocommit(c->db)) {
        kiln_error dummy = {0};
        exec_simple(c, S_COMMIT, st->path, &dummy);
    }
    reader_put(st, c);
    return doc;
}

int kiln_job_store_graph(kiln_job_store *st, const char *id, char **graph_out, char **path_out, kiln_error *err) {
    *graph_out = NULL;
    *path_out = NULL;
    conn *c = reader_get(st, err);
    if (!c) return err->code;
    int ret = 0;
    sqlite3_stmt *s = stmt(c, S_GRAPH, st->path, err);
    if (!s) {
        reader_put(st, c);
        return KILN_EIO;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *g = (const char *)sqlite3_column_text(s, 0);
        const char *p = (const char *)sqlite3_column_text(s, 1);
        *graph_out = strdup(g ? g : "");
        *path_out = strdup(p ? p : "");
        if (!*graph_out || !*path_out) ret = kiln_error_set(err, KILN_ENOMEM, "out of memory");
    } else if (rc == SQLITE_DONE) {
        ret = kiln_error_set(err, KILN_ENOTFOUND, "no job '%s'", id);
    } else {
        ret = db_error(err, c->db, st->path, "reading a graph");
    }
    done(s);
    reader_put(st, c);
    if (ret) {
        free(*graph_out);
        free(*path_out);
        *graph_out = *path_out = NULL;
    }
    return ret;
}

int kiln_job_store_events(kiln_job_store *st, const char *id, int64_t after, int limit,
                          int (*fn)(int64_t seq, const char *text, size_t len, void *user), void *user,
                          kiln_error *err) {
    conn *c = reader_get(st, err);
    if (!c) return KILN_EIO;
    sqlite3_stmt *s = stmt(c, S_EVENTS, st->path, err);
    if (!s) {
        reader_put(st, c);
        return KILN_EIO;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int(s, 3, limit);
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(s, 1);
        size_t len = (size_t)sqlite3_column_bytes(s, 1);
        n++;
        if (fn(sqlite3_column_int64(s, 0), text ? text : "", len, user)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    done(s);
    if (rc != SQLITE_DONE) n = db_error(err, c->db, st->path, "reading events");
    reader_put(st, c);
    return n;
}

/* A label key usable inside a JSON path: what submissions accept ([A-Za-z0-9_.:/-]). */
static int label_key_ok(const char *k) {
    if (!*k) return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || strchr("_.:/-", *k)))
            return 0;
    return 1;
}

json_t *kiln_job_store_list(kiln_job_store *st, const char *state, const json_t *labels, int limit, int64_t before,
                            kiln_error *err) {
    char sql[1024];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT seq, data FROM jobs WHERE 1");
    if (state) len += (size_t)snprintf(sql + len, sizeof sql - len, " AND state = ?");
    size_t nlabels = json_object_size(labels);
    if (nlabels > 16) {
        kiln_error_set(err, KILN_EINVAL, "at most 16 label filters");
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v) {
        if (!label_key_ok(k) || !json_is_string(v)) {
            kiln_error_set(err, KILN_EINVAL, "label filter '%s': expected KEY=VALUE with KEY of [A-Za-z0-9_.:/-]", k);
            return NULL;
        }
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND json_extract(labels, ?) = ?");
    }
    if (before > 0) len += (size_t)snprintf(sql + len, sizeof sql - len, " AND seq < ?");
    snprintf(sql + len, sizeof sql - len, " ORDER BY seq DESC LIMIT ?");

    conn *c = reader_get(st, err);
    if (!c) return NULL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) {
        db_error(err, c->db, st->path, "listing jobs");
        reader_put(st, c);
        return NULL;
    }
    int at = 1;
    if (state) sqlite3_bind_text(s, at++, state, -1, SQLITE_STATIC);
    json_object_foreach((json_t *)labels, k, v) {
        char path[300];
        snprintf(path, sizeof path, "$.\"%s\"", k);
        sqlite3_bind_text(s, at++, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, at++, json_string_value(v), -1, SQLITE_STATIC);
    }
    if (before > 0) sqlite3_bind_int64(s, at++, before);
    sqlite3_bind_int(s, at, limit + 1);
    json_t *jobs = json_array();
    int64_t last_seq = 0;
    int rc, more = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((int)json_array_size(jobs) == limit) {
            more = 1;
            rc = SQLITE_DONE;
            break;
        }
        json_t *doc = parse_column(s, 1);
        last_seq = sqlite3_column_int64(s, 0);
        if (doc) json_array_append_new(jobs, doc);
    }
    if (rc != SQLITE_DONE) db_error(err, c->db, st->path, "listing jobs");
    sqlite3_finalize(s);
    reader_put(st, c);
    if (rc != SQLITE_DONE) {
        json_decref(jobs);
        return NULL;
    }
    char cursor[32];
    snprintf(cursor, sizeof cursor, "%lld", (long long)last_seq);
    return json_pack("{s:o, s:o}", "jobs", jobs, "next", more ? json_string(cursor) : json_null());
}

json_t *kiln_job_store_counts(kiln_job_store *st, kiln_error *err) {
    conn *c = reader_get(st, err);
    if (!c) return NULL;
    sqlite3_stmt *s = stmt(c, S_COUNTS, st->path, err);
    if (!s) {
        reader_put(st, c);
        return NULL;
    }
    json_t *counts = json_object();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(s, 0);
        if (state) json_object_set_new(counts, state, json_integer(sqlite3_column_int64(s, 1)));
    }
    done(s);
    if (rc != SQLITE_DONE) {
        db_error(err, c->db, st->path, "counting jobs");
        json_decref(counts);
        counts = NULL;
    }
    reader_put(st, c);
    return counts;
}

json_t *kiln_job_store_ids_in_state(kiln_job_store *st, const char *const *states, kiln_error *err) {
    char sql[512];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT id FROM jobs WHERE state IN (");
    int n = 0;
    for (const char *const *p = states; *p && n < 16; p++, n++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%s?", n ? ", " : "");
    snprintf(sql + len, sizeof sql - len, ") ORDER BY seq");
    conn *c = reader_get(st, err);
    if (!c) return NULL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) {
        db_error(err, c->db, st->path, "selecting jobs by state");
        reader_put(st, c);
        return NULL;
    }
    for (int i = 0; i < n; i++) sqlite3_bind_text(s, i + 1, states[i], -1, SQLITE_STATIC);
    json_t *ids = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(ids, json_string((const char *)sqlite3_column_text(s, 0)));
    if (rc != SQLITE_DONE) {
        db_error(err, c->db, st->path, "selecting jobs by state");
        json_decref(ids);
        ids = NULL;
    }
    sqlite3_finalize(s);
    reader_put(st, c);
    return ids;
}
