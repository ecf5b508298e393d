/* events.c -- building and writing the one event format (see events.h). */
#include "events.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

/* {"ts": now, "type": type, "job": job?, "node": node?}. Returns NULL only on OOM. */
json_t *kiln_event_new(const char *type, const char *job, const char *node) {
    json_t *ev = json_object();
    if (!ev) return NULL;
    json_object_set_new(ev, "ts", json_real(kiln_now()));
    json_object_set_new(ev, "type", json_string(type ? type : ""));
    if (job) json_object_set_new(ev, "job", json_string(job));
    if (node) json_object_set_new(ev, "node", json_string(node));
    return ev;
}

/* Serialises compactly (keys sorted so lines are stable), appends '\n' and writes it.
 * Lines up to PIPE_BUF go out in one write(2), which POSIX makes atomic on pipes; longer
 * lines are written in a loop (short writes and EINTR retried). Returns 0 or -1 with errno
 * set (ENOMEM when serialisation fails). */
int kiln_event_write_fd(int fd, const json_t *event) {
    char *s = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    size_t len = strlen(s);
    char *line = malloc(len + 1);
    if (!line) {
        free(s);
        errno = ENOMEM;
        return -1;
    }
    memcpy(line, s, len);
    line[len++] = '\n';
    free(s);
    const char *p = line;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(line);
            errno = e;
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    free(line);
    return 0;
}
