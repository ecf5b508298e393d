/* cmd_serve.c -- `kiln serve`: run the REST control plane until SIGTERM/SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fsutil.h"
#include "server.h"

static int parse_seconds(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !end || *end || v < 0) return -1;
    *out = v;
    return 0;
}

int cmd_serve(int argc, char **argv) {
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},         {"port", required_argument, NULL, 'p'},
        {"port-file", required_argument, NULL, 'P'},    {"token-file", required_argument, NULL, 't'},
        {"auth-reads", no_argument, NULL, 'A'},         {"max-body", required_argument, NULL, 'b'},
        {"max-connections", required_argument, NULL, 'c'}, {"timeout", required_argument, NULL, 'T'},
        {"jobs", required_argument, NULL, 'j'},         {"gpus", required_argument, NULL, 'G'},
        {"max-jobs", required_argument, NULL, 'm'},     {"http-threads", required_argument, NULL, 'w'},
        {"grace", required_argument, NULL, 'g'},        {"on-stop", required_argument, NULL, 'o'},
        {"stop-timeout", required_argument, NULL, 's'}, {"db", required_argument, NULL, 'd'},
        {"db-sync", required_argument, NULL, 'S'},      {"home", required_argument, NULL, 'H'},
        {"routes", no_argument, NULL, 'R'},             {"keepalive", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0}};
    kiln_api_config cfg;
    kiln_api_config_defaults(&cfg);
    const char *port_file = NULL;
    int finish_on_stop = 0;
    double stop_timeout = 60;
    long v = 0;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': cfg.host = optarg; break;
        case 'p':
            if (kiln_cli_parse_int(optarg, 0, 65535, &v) != 0)
                return kiln_cli_usage_error("serve", "--port expects 0 to 65535, got '%s'", optarg);
            cfg.port = (int)v;
            break;
        case 'P': port_file = optarg; break;
        case 't': cfg.token_file = optarg; break;
        case 'A': cfg.auth_reads = 1; break;
        case 'b':
            if (kiln_cli_parse_int(optarg, 1, 1L << 34, &v) != 0)
                return kiln_cli_usage_error("serve", "--max-body expects a number of bytes >= 1, got '%s'", optarg);
            cfg.max_body = (size_t)v;
            break;
        case 'c':
            if (kiln_cli_parse_int(optarg, 1, 100000, &v) != 0)
                return kiln_cli_usage_error("serve", "--max-connections expects 1 to 100000, got '%s'", optarg);
            cfg.max_connections = (unsigned)v;
            break;
        case 'T':
            if (kiln_cli_parse_int(optarg, 1, 86400, &v) != 0)
                return kiln_cli_usage_error("serve", "--timeout expects 1 to 86400 seconds, got '%s'", optarg);
            cfg.timeout_s = (unsigned)v;
            cfg.body_deadline_s = 2.0 * (double)v;
            break;
        case 'j':
            if (kiln_cli_parse_int(optarg, 1, 4096, &v) != 0)
                return kiln_cli_usage_error("serve", "-j/--jobs expects 1 to 4096, got '%s'", optarg);
            cfg.cpu_slots = (int)v;
            break;
        case 'G':
            if (kiln_cli_parse_int(optarg, 0, 64, &v) != 0)
                return kiln_cli_usage_error("serve", "--gpus expects 0 to 64, got '%s'", optarg);
            cfg.gpus = (int)v;
            break;
        case 'm':
            if (kiln_cli_parse_int(optarg, 1, 4096, &v) != 0)
                return kiln_cli_usage_error("serve", "--max-jobs expects 1 to 4096, got '%s'", optarg);
            cfg.max_jobs = (int)v;
            break;
        case 'w':
            if (kiln_cli_parse_int(optarg, 1, 256, &v) != 0)
                return kiln_cli_usage_error("serve", "--http-threads expects 1 to 256, got '%s'", optarg);
            cfg.http_threads = (unsigned)v;
            break;
        case 'g':
            if (parse_seconds(optarg, &cfg.grace_s) != 0)
                return kiln_cli_usage_error("serve", "--grace expects seconds >= 0, got '%s'", optarg);
            break;
        case 'k':
            if (parse_seconds(optarg, &cfg.keepalive_s) != 0 || cfg.keepalive_s < 0.1)
                return kiln_cli_usage_error("serve", "--keepalive expects seconds >= 0.1, got '%s'", optarg);
            break;
        case 'o':
            if (strcmp(optarg, "cancel") == 0) finish_on_stop = 0;
            else if (strcmp(optarg, "finish") == 0) finish_on_stop = 1;
            else return kiln_cli_usage_error("serve", "--on-stop expects cancel or finish, got '%s'", optarg);
            break;
        case 's':
            if (parse_seconds(optarg, &stop_timeout) != 0)
                return kiln_cli_usage_error("serve", "--stop-timeout expects seconds >= 0, got '%s'", optarg);
            break;
        case 'd': cfg.db_path = optarg; break;
        case 'S':
            if (strcmp(optarg, "full") == 0) cfg.db_sync_full = 1;
            else if (strcmp(optarg, "normal") == 0) cfg.db_sync_full = 0;
            else return kiln_cli_usage_error("serve", "--db-sync expects full or normal, got '%s'", optarg);
            break;
        case 'H': cfg.home = optarg; break;
        case 'R': kiln_api_routes_print(stdout); return KILN_EXIT_OK;
        default: return kiln_cli_usage_error("serve", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc) return kiln_cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);

    /* Every thread started from here inherits this mask: SIGTERM/SIGINT reach only the
     * sigwait below (exec-node children reset their mask before exec). */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    kiln_error err = {0};
    kiln_api_server *srv = kiln_api_server_start(&cfg, &err);
    if (!srv) {
        fprintf(stderr, "kiln serve: %s\n", err.message);
        return err.code == KILN_EINVAL ? KILN_EXIT_USAGE : KILN_EXIT_FAIL;
    }
    int port = kiln_api_server_port(srv);
    if (port_file) {
        char text[16];
        int n = snprintf(text, sizeof text, "%d\n", port);
        if (kiln_write_file_atomic(port_file, text, (size_t)n, &err) != 0)
            fprintf(stderr, "kiln serve: --port-file: %s\n", err.message);
    }
    int recovered = kiln_api_server_recovered(srv);
    int v6 = strchr(cfg.host, ':') != NULL;
    printf("kiln serve: listening on http://%s%s%s:%d (state %s, jobs %s)\n", v6 ? "[" : "", cfg.host, v6 ? "]" : "",
           port, kiln_api_server_home(srv), kiln_api_server_db_path(srv));
    if (recovered)
        printf("kiln serve: %d job%s left open by a previous server marked interrupted ('kiln retry ID' resumes)\n",
               recovered, recovered == 1 ? "" : "s");
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0) {
    }
    printf("kiln serve: %s: stopping (%s running jobs)\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
           finish_on_stop ? "finishing" : "cancelling");
    fflush(stdout);
    kiln_api_server_stop(srv, finish_on_stop, stop_timeout);
    printf("kiln serve: stopped\n");
    return KILN_EXIT_OK;
}
