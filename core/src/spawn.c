/* spawn.c -- fork/exec of `kiln exec-node` children (see spawn.h). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "diag.h"

char *kiln_self_exe(void) {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return NULL;
    buf[n] = '\0';
    return strdup(buf);
}

/* In the child after fork: only async-signal-safe calls until exec. Exits 127 on failure
 * after writing a short reason to the log fd. */
static void child_exec(const char *kiln_exe, const char *spec_path, int log_fd, int events_wr,
                       pid_t parent, const char *threads_str, const char *gpu_str) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); /* the parent died before prctl took effect */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0 ||
        dup2(events_wr, 3) < 0) {
        _exit(127);
    }
    if (events_wr == 3) fcntl(3, F_SETFD, 0); /* dup2 onto itself keeps FD_CLOEXEC */
    setenv("OMP_NUM_THREADS", threads_str, 1);
    setenv("MKL_NUM_THREADS", threads_str, 1);
    setenv("OPENBLAS_NUM_THREADS", threads_str, 1);
    setenv("DNNL_NUM_THREADS", threads_str, 1);
    setenv("KILN_THREADS", threads_str, 1);
    setenv("CUDA_VISIBLE_DEVICES", gpu_str, 1);
    execl(kiln_exe, kiln_exe, "exec-node", "--spec", spec_path, "--events-fd", "3", (char *)NULL);
    static const char msg[] = "kiln: could not exec the kiln binary for exec-node\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
}

int kiln_spawn_exec_node(const char *kiln_exe, const char *spec_path, const char *log_path,
                         int threads, int gpu, kiln_child *child, kiln_error *err) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return kiln_error_set(err, KILN_EIO, "pipe: %s", strerror(errno));
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return kiln_error_set(err, KILN_EIO, "%s: cannot open log: %s", log_path, strerror(e));
    }
    char threads_str[16];
    snprintf(threads_str, sizeof threads_str, "%d", threads > 0 ? threads : 1);
    char gpu_str[16] = "";
    if (gpu >= 0) snprintf(gpu_str, sizeof gpu_str, "%d", gpu);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        close(log_fd);
        return kiln_error_set(err, KILN_EIO, "fork: %s", strerror(e));
    }
    if (pid == 0) child_exec(kiln_exe, spec_path, log_fd, pipefd[1], parent, threads_str, gpu_str);
    setpgid(pid, pid); /* also in the parent: no race with kill(-pid) */
    close(pipefd[1]);
    close(log_fd);
    int flags = fcntl(pipefd[0], F_GETFL);
    fcntl(pipefd[0], F_SETFL, flags | O_NONBLOCK);
    child->pid = pid;
    child->events_fd = pipefd[0];
    return 0;
}

void kiln_child_signal(const kiln_child *child, int sig) {
    if (child->pid > 0) kill(-child->pid, sig);
}
