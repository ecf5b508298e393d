/* plugin.c -- plugin "bazel": the exporter `kiln export bazel GRAPH -o DIR`, which turns
 * a graph into a Bazel workspace (see export.h). No ops. */
#include <kiln/plugin.h>

#include "export.h"

/* The exporter entry: the plan as `kiln plan --json` prints it, into an empty out_dir. */
static int bazel_export_plan(const kiln_host_api *host, const json_t *plan, const char *out_dir,
                             const json_t *options, kiln_error *err) {
    return kb_export(host, plan, out_dir, options, err);
}

static const kiln_exporter_def bazel_exporter = {
    .struct_size = sizeof(kiln_exporter_def),
    .name = "bazel",
    .summary = "a Bazel workspace: one kiln_node target per instance, running kiln exec-node",
    .export_plan = bazel_export_plan,
};

static const kiln_exporter_def *const bazel_exporters[] = {&bazel_exporter, NULL};

static const kiln_plugin_desc bazel_plugin = {
    .abi_major = KILN_PLUGIN_ABI_MAJOR,
    .abi_minor = KILN_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(kiln_plugin_desc),
    .name = "bazel",
    .version = "1.0.0",
    .summary = "exports graphs as Bazel workspaces",
    .ops = NULL,
    .exporters = bazel_exporters,
    .init = NULL,
};

KILN_PLUGIN_DEFINE(bazel_plugin)
