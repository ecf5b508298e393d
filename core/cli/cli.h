/* cli.h -- what the `kiln` subcommands share. Each command lives in its own cmd_*.c and
 * has the signature `int cmd_x(int argc, char **argv)` with argv[0] = the command name.
 * Exit codes: 0 success, 1 the thing failed (invalid graph, failed node, corrupt cache),
 * 2 usage error (bad option, missing argument), 130 cancelled. */
#ifndef KILN_CLI_H
#define KILN_CLI_H

#include <stdio.h>
#include "diag.h"
#include "graph.h"
#include "plan.h"
#include "registry.h"
#include "store.h"

#define KILN_EXIT_OK 0
#define KILN_EXIT_FAIL 1
#define KILN_EXIT_USAGE 2
#define KILN_EXIT_CANCELLED 130

/* One subcommand: name, one-line summary, usage text (printed by --help), entry. */
typedef struct kiln_command {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(int argc, char **argv);
} kiln_command;

/* The command table (main.c). */
const kiln_command *kiln_cli_find_command(const char *name);

/* Prints "kiln CMD: message" to stderr plus a hint to see --help; returns KILN_EXIT_USAGE. */
int kiln_cli_usage_error(const char *cmd, const char *fmt, ...) KILN_PRINTF(2, 3);

/* Prints the command's usage to `out`. */
void kiln_cli_print_usage(FILE *out, const char *cmd);

/* Opens the store at --home / $KILN_HOME / the default. Prints the error and returns
 * non-zero on failure. */
int kiln_cli_open_store(const char *home_override, kiln_store *store);

/* Loads plugins from the default search path (never fails; refusals are recorded). */
kiln_registry *kiln_cli_load_registry(void);

/* Parses and validates a graph file; prints every problem to stderr. Returns the graph and
 * plan (both owned by the caller) on success, or non-zero: KILN_EXIT_FAIL when invalid,
 * KILN_EXIT_USAGE when the file cannot be read. */
int kiln_cli_load_plan(const char *path, const kiln_registry *reg, kiln_graph **graph_out,
                       kiln_plan **plan_out);

/* Parses a positive integer option value; returns 0 and sets *out, or -1. */
int kiln_cli_parse_int(const char *s, long min, long max, long *out);

/* 1 when stdout is a terminal and NO_COLOR is unset. */
int kiln_cli_color(FILE *f);

int cmd_validate(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_exec_node(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_wheel(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_job(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
