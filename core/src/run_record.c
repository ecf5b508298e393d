/* run_record.c -- persisting what a run did (see run_record.h). */
#include "run_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fsutil.h"
#include "jsonio.h"

json_t *kiln_run_record_new(const kiln_plan *plan, const kiln_run *run, const char *job,
                            const char *graph_path) {
    json_t *rec = json_object();
    json_object_set_new(rec, "job", json_string(job ? job : ""));
    json_object_set_new(rec, "graph", json_string(graph_path ? graph_path : ""));
    json_object_set_new(rec, "graph_name", json_string(plan->graph && plan->graph->name ? plan->graph->name : ""));
    json_object_set_new(rec, "started", json_real(run->started));
    json_object_set_new(rec, "finished", json_real(run->finished));
    int failed = 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < plan->ninstances; i++) {
        const kiln_instance *in = &plan->instances[i];
        const kiln_node_outcome *o = &run->nodes[i];
        if (o->state != KILN_NODE_SUCCEEDED && o->state != KILN_NODE_CACHED) failed = 1;
        json_t *e = json_object();
        json_object_set_new(e, "name", json_string(in->name));
        json_object_set_new(e, "node", json_string(plan->graph->nodes[in->node].name));
        json_object_set_new(e, "op", json_string(in->op->def->name));
        json_object_set_new(e, "state", json_string(kiln_node_state_name(o->state)));
        json_object_set_new(e, "key", json_string(o->key));
        json_object_set_new(e, "outputs", o->outputs ? json_incref(o->outputs) : json_object());
        json_object_set_new(e, "log", json_string(o->log_digest));
        json_object_set_new(e, "duration_s", json_real(o->duration_s));
        json_object_set_new(e, "attempts", json_integer(o->attempts));
        if (o->error) json_object_set_new(e, "error", json_string(o->error));
        if (o->metrics) json_object_set(e, "metrics", o->metrics);
        json_object_set(e, "sweep", in->sweep);
        json_array_append_new(arr, e);
    }
    json_object_set_new(rec, "instances", arr);
    json_object_set_new(rec, "state", json_string(run->cancelled ? "cancelled" : failed ? "failed" : "succeeded"));
    return rec;
}

int kiln_run_record_save(const kiln_store *store, const json_t *record, kiln_error *err) {
    const char *job = json_string_value(json_object_get(record, "job"));
    if (!job || !*job || strchr(job, '/')) return kiln_error_set(err, KILN_EINVAL, "run record has no valid job id");
    char *dir = kiln_path_join(store->home, "runs");
    int rc = kiln_mkdir_p(dir, err);
    if (rc == 0) {
        char name[128];
        snprintf(name, sizeof name, "%s.json", job);
        char *path = kiln_path_join(dir, name);
        rc = kiln_json_write(path, record, err);
        free(path);
    }
    if (rc == 0) {
        char *last = kiln_path_join(dir, "LAST");
        rc = kiln_write_file_atomic(last, job, strlen(job), err);
        free(last);
    }
    free(dir);
    return rc;
}

json_t *kiln_run_record_load(const kiln_store *store, const char *job, kiln_error *err) {
    char *dir = kiln_path_join(store->home, "runs");
    char *owned_job = NULL;
    json_t *rec = NULL;
    if (!job) {
        char *last = kiln_path_join(dir, "LAST");
        size_t len = 0;
        kiln_error e2 = {0};
        if (kiln_read_file(last, &owned_job, &len, &e2) != 0) {
            kiln_error_set(err, KILN_ENOTFOUND, "no runs yet in %s (run a graph with `kiln run` first)", store->home);
            free(last);
            free(dir);
            return NULL;
        }
        free(last);
        while (len && (owned_job[len - 1] == '\n' || owned_job[len - 1] == ' ')) owned_job[--len] = '\0';
        job = owned_job;
    }
    if (strchr(job, '/')) {
        kiln_error_set(err, KILN_EINVAL, "invalid run id '%s'", job);
    } else {
        char name[256];
        snprintf(name, sizeof name, "%s.json", job);
        char *path = kiln_path_join(dir, name);
        if (!kiln_is_regular_file(path))
            kiln_error_set(err, KILN_ENOTFOUND, "no run '%s' in %s", job, dir);
        else
            rec = kiln_json_read(path, err);
        free(path);
    }
    free(owned_job);
    free(dir);
    return rec;
}

const json_t *kiln_run_record_find(const json_t *record, const char *name, kiln_error *err) {
    const json_t *arr = json_object_get(record, "instances");
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0) return e;
    }
    const json_t *found = NULL;
    size_t count = 0;
    char list[KILN_ERROR_MESSAGE_MAX] = "";
    json_array_foreach(arr, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "node")), name) != 0) continue;
        found = e;
        count++;
        size_t used = strlen(list);
        if (used + 8 < sizeof list)
            snprintf(list + used, sizeof list - used, "%s'%s'", count > 1 ? ", " : "",
                     json_string_value(json_object_get(e, "name")));
    }
    if (count == 1) return found;
    if (count > 1)
        kiln_error_set(err, KILN_EINVAL, "node '%s' has %zu instances in run %s; name one: %s", name, count,
                       json_string_value(json_object_get(record, "job")), list);
    else
        kiln_error_set(err, KILN_ENOTFOUND, "no node or instance '%s' in run %s", name,
                       json_string_value(json_object_get(record, "job")));
    return NULL;
}
