/* kiln_test_newminor.c -- a plugin built against a newer header minor than the host's: it
 * may use host slots this host lacks, so the loader must refuse it ("ABI minor ... newer"). */
#include <kiln/plugin.h>

static int newminor_run(const kiln_host_api *host, kiln_ctx *ctx) {
    return host->fail(ctx, "must never run");
}

static const kiln_port_def out_port[] = {{"out", KILN_TYPE_FILE, KILN_ONE, 0, NULL, "unused"},
                                         {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_op_def op_noop = {
    .struct_size = sizeof(kiln_op_def),
    .name = "newminor.noop",
    .summary = "never loaded",
    .outputs = out_port,
    .flags = KILN_OP_DETERMINISTIC,
    .run = newminor_run,
};

static const kiln_op_def *const ops[] = {&op_noop, NULL};

static const kiln_plugin_desc desc = {
    .abi_major = KILN_PLUGIN_ABI_MAJOR,
    .abi_minor = KILN_PLUGIN_ABI_MINOR + 1,
    .struct_size = sizeof(kiln_plugin_desc),
    .name = "newminor",
    .version = "1.0.0",
    .summary = "refused: ABI minor newer than the host's",
    .ops = ops,
};

KILN_PLUGIN_DEFINE(desc)
