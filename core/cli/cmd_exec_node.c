/* cmd_exec_node.c -- `kiln exec-node`: the one path that runs a node (exec_node.h). */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "exec_node.h"

int cmd_exec_node(int argc, char **argv) {
    static const struct option longopts[] = {{"spec", required_argument, NULL, 's'},
                                             {"events-fd", required_argument, NULL, 'e'},
                                             {NULL, 0, NULL, 0}};
    const char *spec = NULL;
    long fd = -1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': spec = optarg; break;
        case 'e':
            if (kiln_cli_parse_int(optarg, 0, 1 << 20, &fd) != 0)
                return kiln_cli_usage_error("exec-node", "--events-fd expects a file descriptor number, got '%s'", optarg);
            break;
        default: return kiln_cli_usage_error("exec-node", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (!spec) return kiln_cli_usage_error("exec-node", "missing --spec SPEC.json");
    if (optind != argc) return kiln_cli_usage_error("exec-node", "unexpected argument '%s'", argv[optind]);
    return kiln_exec_node(spec, (int)fd);
}
