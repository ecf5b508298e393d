/* main.c -- the `kiln` command: dispatch to subcommands, global help and version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const kiln_command commands[] = {
    {"validate", "check a graph against the loaded plugins' ops",
     "Usage: kiln validate [--json] GRAPH.json\n\n"
     "Parses GRAPH.json and checks it against the ops of the loaded plugins: JSON syntax\n"
     "(with line:column), unknown ops (with the closest names), params against each op's\n"
     "schema, references to nodes and ports, port types and cardinality, sweeps, cycles.\n"
     "Prints every problem, each naming the file, the node, the JSON path and what was\n"
     "expected.\n\n"
     "  --json   print {\"valid\": bool, \"errors\": [...]} on stdout\n\n"
     "Exit status: 0 valid, 1 invalid, 2 usage error (bad option, unreadable file).\n",
     cmd_validate},
    {"run", "run a graph, reusing cached results",
     "Usage: kiln run [options] GRAPH.json\n\n"
     "Runs every node instance of the graph, each in its own child process (`kiln\n"
     "exec-node`). Instances whose action key is in the cache are not run again; their\n"
     "results are reused. Results live in the content-addressed store under the state\n"
     "directory; the summary says where.\n\n"
     "  -j, --jobs N      CPU-thread slots for parallel nodes (default: number of cores);\n"
     "                    a node takes the threads its op asks for (or its \"threads\" param)\n"
     "      --gpus N      GPU slots; GPU ops queue for one (default: $KILN_GPUS, else the\n"
     "                    number of /dev/nvidiaN devices)\n"
     "      --no-cache    run everything, ignoring cached results (still records them)\n"
     "      --keep-going  when a node fails, finish independent branches (default)\n"
     "      --fail-fast   when a node fails, cancel running nodes and start nothing new\n"
     "      --json        print the event stream as JSON lines instead of text\n"
     "      --out DIR     copy every result into DIR/<instance>/<file name>\n"
     "      --home DIR    state directory (default: $KILN_HOME, else\n"
     "                    $XDG_CACHE_HOME/kiln, else ~/.cache/kiln)\n"
     "      --grace S     seconds between SIGTERM and SIGKILL when stopping nodes (5)\n\n"
     "SIGINT/SIGTERM stop the run: running nodes get SIGTERM (then SIGKILL), finished\n"
     "results are kept.\n"
     "Exit status: 0 all nodes succeeded, 1 a node failed, 2 usage error or invalid graph\n"
     "file, 130 cancelled.\n",
     cmd_run},
    {"plan", "print the expanded instance graph with action keys and cache status",
     "Usage: kiln plan [--json] [--home DIR] GRAPH.json\n\n"
     "Expands sweeps and prints every node instance in execution order with its op, its\n"
     "inputs, its action key and whether the cache has it (hit), does not (miss), or\n"
     "cannot know before its inputs are computed (pending). Runs nothing.\n",
     cmd_plan},
    {"plugins", "list loaded plugins, their ops, and plugins that were refused",
     "Usage: kiln plugins [--json]\n\n"
     "Lists every plugin found on $KILN_PLUGIN_PATH and in the install directory: name,\n"
     "version, path, and each op with its flags, ports and params; then every plugin\n"
     "that was refused, with the reason (ABI mismatch, missing symbol, init refused...).\n",
     cmd_plugins},
    {"cache", "inspect and maintain the cache: ls, verify, gc",
     "Usage: kiln cache ls [--json] [--home DIR]\n"
     "       kiln cache verify [--home DIR]\n"
     "       kiln cache gc [--keep-runs N] [--dry-run] [--home DIR]\n\n"
     "  ls       every action-cache record: key, node, op, outputs, duration\n"
     "  verify   re-hash every artifact in the store; corrupt ones are moved to\n"
     "           quarantine/ and the records that use them dropped. Exit 1 if any.\n"
     "  gc       delete artifacts no cache record and none of the newest N run records\n"
     "           (default 10) reference, run records older than those, stale work dirs.\n",
     cmd_cache},
    {"show", "describe a result: an artifact digest or a node of the last run",
     "Usage: kiln show [--run ID] [--json] [--home DIR] DIGEST|NODE\n\n"
     "DIGEST (64 hex characters, or a unique prefix of at least 8): where the artifact\n"
     "is, its size, and which cached results produced it.\n"
     "NODE (a node or instance name): its state in the last run (or --run ID), action\n"
     "key, outputs with their paths in the store, and the path of its log.\n",
     cmd_show},
    {"get", "copy a node's results out of the store under readable names",
     "Usage: kiln get [--run ID] [--home DIR] NODE[.PORT] -o DIR\n\n"
     "Copies the outputs of NODE (an instance name like 'train[lr=0.05]', or a node with a\n"
     "single instance) from the last run, or only its PORT, into DIR under each output's\n"
     "file name (model.safetensors, metrics.json, a wheel's own name).\n",
     cmd_get},
    {"exec-node", "run one node instance from a spec file (used by executors)",
     "Usage: kiln exec-node --spec SPEC.json [--events-fd N]\n\n"
     "Loads the one plugin the spec names, runs one op, puts its outputs into the\n"
     "content-addressed store, and reports events as JSON lines on file descriptor N.\n"
     "This is the one path every executor (kiln run, the API server, Bazel) runs nodes by.\n"
     "Exit status: 0 ok, 1 the op failed, 2 bad spec, 3 plugin did not load, 4 outputs\n"
     "not stored, 143 cancelled.\n",
     cmd_exec_node},
    {"export", "write a graph for another build system (Bazel): kiln export bazel",
     "Usage: kiln export EXPORTER GRAPH.json -o DIR [--force] [--kiln PATH] [--option K=V]...\n\n"
     "Validates and expands GRAPH.json as 'kiln run' does (the same errors as 'kiln\n"
     "validate'), then has the exporter EXPORTER, from a plugin, write it into DIR.\n"
     "'kiln export bazel' writes a Bazel workspace: one target per node instance whose\n"
     "action runs 'kiln exec-node'; DIR/README.md says how to build it and share caches.\n\n"
     "  -o, --out DIR     where to write; created when missing; must be empty\n"
     "      --force       write into a non-empty DIR: entries the export writes replace\n"
     "                    those of the same name, other entries stay\n"
     "      --kiln PATH   the kiln binary the export runs nodes with (default: this one;\n"
     "                    plugins: the ones this kiln loads)\n"
     "      --option K=V  an exporter option; bazel: data=link links the graph's input\n"
     "                    files into DIR/data instead of copying them\n\n"
     "Exit status: 0 exported, 1 invalid graph or the export failed, 2 usage error (bad\n"
     "option, unknown exporter, DIR is a file or not empty).\n",
     cmd_export},
    {"wheel", "check Python wheels: names, RECORD hashes, zip safety, manylinux policy",
     "Usage: kiln wheel check [--json] [--max-entries N] [--max-size BYTES] [--max-ratio R] FILE.whl...\n\n"
     "Validates each wheel as the wheel.check op does, without extracting anything: the file\n"
     "name (PEP 427/440/503) and its tags against WHEEL, the dist-info, METADATA, every RECORD\n"
     "hash and size, unsafe paths, duplicates and zip bombs, and for platform wheels the\n"
     "manylinux policy of every ELF file (DT_NEEDED, GLIBC_/GLIBCXX_/CXXABI_/GCC_ versions),\n"
     "reporting the most compatible manylinux tag it satisfies. See docs/wheel.md.\n\n"
     "      --json             print {\"valid\", \"wheels\": [report...]} instead of a summary\n"
     "      --max-entries N    most entries an archive may have (default 100000)\n"
     "      --max-size BYTES   most bytes the entries may expand to in all (default 16 GiB)\n"
     "      --max-ratio R      highest compression ratio of an entry above 1 MiB and of the\n"
     "                         whole archive (default 200)\n\n"
     "Exit status: 0 every wheel is valid, 1 one is not (or cannot be read), 2 usage error.\n",
     cmd_wheel},
    {"serve", "run the REST control plane: jobs over HTTP, live events, SQLite job store",
     "Usage: kiln serve [options]\n\n"
     "Serves the HTTP API of docs/api.md (api/openapi.yaml): graphs submitted as jobs run\n"
     "through the same scheduler as 'kiln run', several at once within one budget of CPU and\n"
     "GPU slots, sharing one cache. Jobs, node states and events are committed to SQLite\n"
     "(<home>/api/jobs.db) before they are shown. Jobs a previous server left queued or\n"
     "running (killed, crashed) are marked interrupted at start; 'kiln retry ID' resumes them.\n\n"
     "      --host ADDR          address to bind (default 127.0.0.1); an address that is not\n"
     "                           loopback is refused without --token-file\n"
     "      --port N             TCP port (default 8080; 0 picks a free one)\n"
     "      --port-file FILE     write the bound port to FILE once listening\n"
     "      --token-file FILE    require 'Authorization: Bearer TOKEN' on every POST; TOKEN\n"
     "                           is FILE's first line (at least 16 characters)\n"
     "      --auth-reads         require the token on GET routes too (not GET /healthz)\n"
     "      --max-body BYTES     larger request bodies get 413 (default 1048576)\n"
     "      --max-connections N  connections at once (default 256)\n"
     "      --timeout S          close connections idle for S seconds; a request body must\n"
     "                           arrive within 2*S (default 30)\n"
     "  -j, --jobs N             CPU-thread slots shared by all jobs (default: cores)\n"
     "      --gpus N             GPU slots (default: $KILN_GPUS, else /dev/nvidiaN count)\n"
     "      --max-jobs N         jobs running at once (default: 2 x slots, at least 4)\n"
     "      --http-threads N     HTTP threads (default: cores)\n"
     "      --grace S            seconds between SIGTERM and SIGKILL for stopped nodes (5)\n"
     "      --on-stop cancel|finish  on SIGTERM/SIGINT, cancel running jobs (default; they\n"
     "                           end 'interrupted') or let them finish\n"
     "      --stop-timeout S     with --on-stop finish: cancel what still runs after S (60)\n"
     "      --keepalive S        event streams get a comment every S seconds (15)\n"
     "      --db FILE            job database (default <home>/api/jobs.db)\n"
     "      --db-sync normal|full  normal (default): a commit survives the server being\n"
     "                           killed; full: also an OS crash (fsync on every commit)\n"
     "      --home DIR           state directory (default: $KILN_HOME, else\n"
     "                           $XDG_CACHE_HOME/kiln, else ~/.cache/kiln)\n"
     "      --routes             print the route table and exit\n\n"
     "SIGTERM/SIGINT stop it cleanly: no new connections, queued jobs marked interrupted,\n"
     "running jobs cancelled or finished (--on-stop), event streams ended, database closed.\n"
     "Exit status: 0 after a clean stop, 1 could not start, 2 usage error or refused bind.\n",
     cmd_serve},
    {"submit", "submit a graph to a kiln server as a job",
     "Usage: kiln submit [--name NAME] [--label KEY=VALUE]... [--watch] [--json] GRAPH.json\n\n"
     "Sends GRAPH.json to the server (POST /v1/jobs) and prints the new job's id. The server\n"
     "validates it first: an invalid graph is refused with every error, as 'kiln validate'\n"
     "prints them. Relative input files resolve against GRAPH.json's directory, on the\n"
     "server's file system.\n\n"
     "      --name NAME        job name (default: the graph's \"name\")\n"
     "      --label K=V        a label to filter jobs by ('kiln jobs --label K=V'); repeatable\n"
     "      --watch            then follow the job as 'kiln watch' does (and exit as it does)\n"
     "      --json             print the job as JSON instead of its id\n"
     "      --server URL       the server (default: $KILN_SERVER, else http://127.0.0.1:8080)\n"
     "      --token-file FILE  bearer token (default: $KILN_TOKEN_FILE, else $KILN_TOKEN)\n\n"
     "Exit status: 0 accepted, 1 refused (invalid graph...), 2 usage error or no server.\n",
     cmd_submit},
    {"jobs", "list a kiln server's jobs",
     "Usage: kiln jobs [--state STATE] [--label KEY=VALUE]... [--limit N] [--all] [--json]\n\n"
     "Lists jobs, newest first: id, state, creation time, instances, name.\n\n"
     "      --state STATE      only jobs in STATE: queued, running, succeeded, failed,\n"
     "                         cancelled or interrupted\n"
     "      --label K=V        only jobs with this label (repeatable: all must match)\n"
     "      --limit N          jobs per page (default 50, at most 1000)\n"
     "      --all              every page, not just the first\n"
     "      --json             print the jobs as a JSON array\n"
     "      --server URL, --token-file FILE  as for 'kiln submit'\n",
     cmd_jobs},
    {"job", "show one job of a kiln server: state, timings, every node instance",
     "Usage: kiln job [--json] ID\n\n"
     "Prints the job's state, timings, labels and error, then every node instance with its\n"
     "state, progress, duration, outputs (artifact digests), latest metrics and error.\n\n"
     "      --json             print the job document (GET /v1/jobs/ID) as JSON\n"
     "      --server URL, --token-file FILE  as for 'kiln submit'\n",
     cmd_job},
    {"cancel", "cancel a queued or running job on a kiln server",
     "Usage: kiln cancel [--watch] [--json] ID\n\n"
     "A queued job is cancelled at once; a running job's nodes are stopped (SIGTERM, then\n"
     "SIGKILL) and it ends 'cancelled'. Finished results stay in the cache.\n\n"
     "      --watch            then follow the job until it ends\n"
     "      --json             print the job as JSON\n"
     "      --server URL, --token-file FILE  as for 'kiln submit'\n\n"
     "Exit status: 0 done, 1 no such job or it has ended already, 2 usage error or no server.\n",
     cmd_cancel},
    {"retry", "run a failed, cancelled or interrupted job again; the cache skips what finished",
     "Usage: kiln retry [--watch] [--json] ID\n\n"
     "Queues the job again with its graph re-validated and re-planned: instances whose\n"
     "results are cached are not run again, so only what failed, was cancelled or was\n"
     "interrupted (and what depends on it) runs.\n\n"
     "      --watch            then follow the job as 'kiln watch' does (and exit as it does)\n"
     "      --json             print the job as JSON\n"
     "      --server URL, --token-file FILE  as for 'kiln submit'\n\n"
     "Exit status: 0 queued, 1 no such job, still running or succeeded, invalid graph,\n"
     "2 usage error or no server.\n",
     cmd_retry},
    {"logs", "print the log of a node of a job on a kiln server",
     "Usage: kiln logs [--tail N] [--offset BYTES] [-f] ID NODE\n\n"
     "Prints the output (stdout and stderr) of NODE, an instance name like 'train[lr=0.1]' or\n"
     "a node with one instance. A running node's log is read as it is written.\n\n"
     "      --tail N           only the last N lines\n"
     "      --offset BYTES     from this byte on\n"
     "  -f, --follow           keep printing while the node (and its job) runs\n"
     "      --server URL, --token-file FILE  as for 'kiln submit'\n",
     cmd_logs},
    {"watch", "follow a job on a kiln server live until it ends",
     "Usage: kiln watch [--json] ID\n\n"
     "Follows the job's event stream (GET /v1/jobs/ID/events): the live progress view of\n"
     "'kiln run', then the job's summary. Reconnects where it left off if the connection\n"
     "drops.\n\n"
     "      --json             print the events as JSON lines instead\n"
     "      --server URL, --token-file FILE  as for 'kiln submit'\n\n"
     "Exit status: 0 the job succeeded, 1 it failed (or no such job), 2 usage error or no\n"
     "server, 130 it was cancelled or interrupted.\n",
     cmd_watch},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

const kiln_command *kiln_cli_find_command(const char *name) {
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static void print_help(FILE *out) {
    fprintf(out,
            "kiln %s -- run machine-learning workflows as declarative DAGs\n\n"
            "Usage: kiln COMMAND [options]\n\nCommands:\n",
            KILN_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n'kiln help COMMAND' or 'kiln COMMAND --help' shows a command's options.\n\n"
            "Environment:\n"
            "  KILN_HOME         state directory: store, cache, runs (default\n"
            "                    $XDG_CACHE_HOME/kiln, else ~/.cache/kiln)\n"
            "  KILN_PLUGIN_PATH  colon-separated directories searched for plugins before the\n"
            "                    install directory\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_help(stderr);
        return KILN_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("kiln %s (plugin ABI %d.%d)\n", KILN_VERSION, KILN_PLUGIN_ABI_MAJOR, KILN_PLUGIN_ABI_MINOR);
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc < 3) {
            print_help(stdout);
            return 0;
        }
        if (!kiln_cli_find_command(argv[2])) {
            fprintf(stderr, "kiln: unknown command '%s'\n", argv[2]);
            return KILN_EXIT_USAGE;
        }
        kiln_cli_print_usage(stdout, argv[2]);
        return 0;
    }
    const kiln_command *c = kiln_cli_find_command(cmd);
    if (!c) {
        fprintf(stderr, "kiln: unknown command '%s'. Run 'kiln --help' for the list.\n", cmd);
        return KILN_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            kiln_cli_print_usage(stdout, cmd);
            return 0;
        }
    }
    return c->run(argc - 1, argv + 1);
}
