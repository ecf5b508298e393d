/* spawn.h -- starting one `kiln exec-node` child for a node instance.
 * The child gets: its own process group (so cancellation reaches whatever the plugin
 * starts), PR_SET_PDEATHSIG=SIGKILL (killing the coordinator, even with -9, leaves no
 * orphan), stdout+stderr appended to `log_path`, the events pipe as fd 3, stdin from
 * /dev/null, OMP_NUM_THREADS & co. set to `threads`, and CUDA_VISIBLE_DEVICES set to `gpu`
 * (or to "" when gpu < 0, so a CPU node never grabs a GPU by accident). */
#ifndef KILN_SPAWN_H
#define KILN_SPAWN_H

#include <sys/types.h>
#include "kiln/plugin.h"

typedef struct kiln_child {
    pid_t pid;       /* also the process group id               */
    int events_fd;   /* read end of the events pipe (O_CLOEXEC, O_NONBLOCK) */
} kiln_child;

/* Starts `kiln_exe exec-node --spec spec_path --events-fd 3`. Returns 0 and fills `child`,
 * or KILN_EIO with err set (pipe, fork, or log file failure). */
int kiln_spawn_exec_node(const char *kiln_exe, const char *spec_path, const char *log_path,
                         int threads, int gpu, kiln_child *child, kiln_error *err);

/* Sends `sig` to the child's whole process group. */
void kiln_child_signal(const kiln_child *child, int sig);

/* malloc'd absolute path of the running kiln executable (/proc/self/exe), or NULL. */
char *kiln_self_exe(void);

#endif
