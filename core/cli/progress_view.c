/* progress_view.c -- what `kiln run` shows while it runs (see progress_view.h).
 *
 * On a terminal: finished-node lines scroll above a live block that is redrawn in place (at
 * most 10 times a second): one line per running node with a bar, done/total unit, elapsed,
 * ETA and the latest metric, then the counts. Elsewhere (a pipe, a CI log): plain lines,
 * one per state change and at most one progress line per node every 5 seconds. */
#include "progress_view.h"

#include <stdlib.h>
#include <string.h>

#define BAR_WIDTH 20
#define TTY_REDRAW_S 0.1
#define PLAIN_PROGRESS_S 5.0

typedef struct running_node {
    char *name;
    double started;        /* event ts of "running" */
    double done, total;
    char unit[24];
    char metric[64];       /* "val_accuracy=0.912" */
    double last_plain;     /* last plain progress line */
} running_node;

struct kiln_progress_view {
    FILE *out;
    int tty;
    double started;
    size_t total;
    size_t counts[8];      /* by kiln state name index below */
    running_node *running;
    size_t nrunning, caprunning;
    size_t drawn_lines;    /* lines of the live block currently on screen */
    double last_draw;
};

enum { C_SUCCEEDED, C_CACHED, C_FAILED, C_SKIPPED, C_CANCELLED };

kiln_progress_view *kiln_progress_view_new(FILE *out, int tty, size_t total, double started) {
    kiln_progress_view *v = calloc(1, sizeof *v);
    if (!v) abort();
    v->out = out;
    v->tty = tty;
    v->total = total;
    v->started = started;
    return v;
}

static running_node *find_running(kiln_progress_view *v, const char *name, size_t *index) {
    for (size_t i = 0; i < v->nrunning; i++)
        if (strcmp(v->running[i].name, name) == 0) {
            if (index) *index = i;
            return &v->running[i];
        }
    return NULL;
}

static void remove_running(kiln_progress_view *v, const char *name) {
    size_t i;
    running_node *r = find_running(v, name, &i);
    if (!r) return;
    free(r->name);
    memmove(&v->running[i], &v->running[i + 1], (v->nrunning - i - 1) * sizeof *v->running);
    v->nrunning--;
}

static void clear_block(kiln_progress_view *v) {
    if (!v->tty) return;
    for (size_t i = 0; i < v->drawn_lines; i++) fputs("\033[1A\033[2K", v->out);
    v->drawn_lines = 0;
}

static void format_duration(double s, char *buf, size_t len) {
    if (s < 0) s = 0;
    if (s < 60) snprintf(buf, len, "%.1fs", s);
    else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, len, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

/* One running node's status: "  train[lr=0.1]  [#####.....] 3/10 epoch  12.0s  ETA 28.0s  val_acc=0.9". */
static void format_running(const running_node *r, double now, char *buf, size_t len) {
    char elapsed[16], eta[32] = "";
    double el = now - r->started;
    format_duration(el, elapsed, sizeof elapsed);
    char bar[BAR_WIDTH + 3] = "";
    char amount[64] = "";
    if (r->total > 0) {
        double frac = r->done / r->total;
        if (frac < 0) frac = 0;
        if (frac > 1) frac = 1;
        int filled = (int)(frac * BAR_WIDTH + 0.5);
        bar[0] = '[';
        for (int i = 0; i < BAR_WIDTH; i++) bar[1 + i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH + 1] = ']';
        bar[BAR_WIDTH + 2] = '\0';
        snprintf(amount, sizeof amount, "%.*f/%g %s", r->done == (double)(long long)r->done ? 0 : 1, r->done,
                 r->total, r->unit);
        if (frac > 0 && frac < 1) {
            char e[16];
            format_duration(el / frac - el, e, sizeof e);
            snprintf(eta, sizeof eta, "ETA %s", e);
        }
    } else if (r->done > 0) {
        snprintf(amount, sizeof amount, "%g %s", r->done, r->unit);
    }
    snprintf(buf, len, "  %-28s %s %s  %s  %s  %s", r->name, bar, amount, elapsed, eta, r->metric);
}

static void draw_block(kiln_progress_view *v, double now) {
    if (!v->tty) return;
    clear_block(v);
    char line[512];
    for (size_t i = 0; i < v->nrunning; i++) {
        format_running(&v->running[i], now, line, sizeof line);
        fprintf(v->out, "%s\n", line);
    }
    size_t finished = v->counts[C_SUCCEEDED] + v->counts[C_CACHED] + v->counts[C_FAILED] + v->counts[C_SKIPPED] +
                      v->counts[C_CANCELLED];
    size_t waiting = v->total > finished + v->nrunning ? v->total - finished - v->nrunning : 0;
    char el[16];
    format_duration(now - v->started, el, sizeof el);
    fprintf(v->out, "  %zu running, %zu done, %zu cached, %zu failed, %zu waiting  (%s)\n", v->nrunning,
            v->counts[C_SUCCEEDED], v->counts[C_CACHED], v->counts[C_FAILED] + v->counts[C_CANCELLED], waiting, el);
    v->drawn_lines = v->nrunning + 1;
    v->last_draw = now;
    fflush(v->out);
}

/* Prints a line above the live block. */
static void print_line(kiln_progress_view *v, double t, const char *what, const char *node, const char *detail) {
    clear_block(v);
    fprintf(v->out, "[%7.2fs] %-9s %s%s\n", t, what, node, detail);
}

void kiln_progress_view_event(kiln_progress_view *v, const json_t *ev) {
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *node = json_string_value(json_object_get(ev, "node"));
    double ts = json_number_value(json_object_get(ev, "ts"));
    double t = ts - v->started;
    if (!type || !node) return;
    int redraw = 0;
    if (strcmp(type, "state") == 0) {
        const char *st = json_string_value(json_object_get(ev, "state"));
        const char *err = json_string_value(json_object_get(ev, "error"));
        char detail[1200] = "";
        if (strcmp(st, "running") == 0) {
            if (!find_running(v, node, NULL)) {
                if (v->nrunning == v->caprunning) {
                    v->caprunning = v->caprunning ? v->caprunning * 2 : 8;
                    v->running = realloc(v->running, v->caprunning * sizeof *v->running);
                    if (!v->running) abort();
                }
                running_node *r = &v->running[v->nrunning++];
                memset(r, 0, sizeof *r);
                r->name = strdup(node);
                r->started = ts;
                r->last_plain = ts;
            }
            json_int_t attempt = json_integer_value(json_object_get(ev, "attempt"));
            if (attempt > 1) snprintf(detail, sizeof detail, " (attempt %lld)", (long long)attempt);
            if (!v->tty) print_line(v, t, "running", node, detail);
            redraw = 1;
        } else {
            remove_running(v, node);
            if (strcmp(st, "succeeded") == 0) {
                v->counts[C_SUCCEEDED]++;
                snprintf(detail, sizeof detail, " (%.2fs)", json_number_value(json_object_get(ev, "duration_s")));
            } else if (strcmp(st, "cached") == 0) {
                v->counts[C_CACHED]++;
            } else if (strcmp(st, "failed") == 0) {
                v->counts[C_FAILED]++;
            } else if (strcmp(st, "skipped") == 0) {
                v->counts[C_SKIPPED]++;
            } else if (strcmp(st, "cancelled") == 0) {
                v->counts[C_CANCELLED]++;
            }
            if (err) snprintf(detail, sizeof detail, ": %s", err);
            print_line(v, t, st, node, detail);
            redraw = 1;
        }
    } else if (strcmp(type, "progress") == 0) {
        running_node *r = find_running(v, node, NULL);
        if (!r) return;
        r->done = json_number_value(json_object_get(ev, "done"));
        r->total = json_number_value(json_object_get(ev, "total"));
        const char *unit = json_string_value(json_object_get(ev, "unit"));
        snprintf(r->unit, sizeof r->unit, "%s", unit ? unit : "");
        if (!v->tty && ts - r->last_plain >= PLAIN_PROGRESS_S) {
            char line[512];
            format_running(r, ts, line, sizeof line);
            fprintf(v->out, "[%7.2fs] progress %s\n", t, line + 1);
            r->last_plain = ts;
        }
        redraw = ts - v->last_draw >= TTY_REDRAW_S;
    } else if (strcmp(type, "metric") == 0) {
        running_node *r = find_running(v, node, NULL);
        if (!r) return;
        snprintf(r->metric, sizeof r->metric, "%s=%.4g", json_string_value(json_object_get(ev, "name")),
                 json_number_value(json_object_get(ev, "value")));
        redraw = ts - v->last_draw >= TTY_REDRAW_S;
    } else if (strcmp(type, "log") == 0) {
        const char *level = json_string_value(json_object_get(ev, "level"));
        if (level && (strcmp(level, "warn") == 0 || strcmp(level, "error") == 0)) {
            char detail[1200];
            snprintf(detail, sizeof detail, ": %s", json_string_value(json_object_get(ev, "message")));
            print_line(v, t, level, node, detail);
            redraw = 1;
        }
    }
    if (redraw) draw_block(v, ts);
    fflush(v->out);
}

void kiln_progress_view_finish(kiln_progress_view *v) {
    clear_block(v);
    fflush(v->out);
}

void kiln_progress_view_free(kiln_progress_view *v) {
    if (!v) return;
    for (size_t i = 0; i < v->nrunning; i++) free(v->running[i].name);
    free(v->running);
    free(v);
}
