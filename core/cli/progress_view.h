/* progress_view.h -- the live view of `kiln run` (not used with --json). Feed it every event;
 * it prints state changes as lines and, on a terminal, redraws a block with one line per
 * running node (bar, done/total unit, elapsed, ETA, latest metric) and the counts. */
#ifndef KILN_PROGRESS_VIEW_H
#define KILN_PROGRESS_VIEW_H

#include <stdio.h>
#include <jansson.h>

typedef struct kiln_progress_view kiln_progress_view;

/* A new view writing to `out`; `tty` selects the live block (else plain lines). `total` is
 * the number of instances; `started` the run's start (epoch seconds). */
kiln_progress_view *kiln_progress_view_new(FILE *out, int tty, size_t total, double started);

/* Updates the view with one event (borrowed). */
void kiln_progress_view_event(kiln_progress_view *v, const json_t *ev);

/* Removes the live block (call before printing the summary). */
void kiln_progress_view_finish(kiln_progress_view *v);

void kiln_progress_view_free(kiln_progress_view *v);

#endif
