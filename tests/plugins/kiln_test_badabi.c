/* kiln_test_badabi.c -- a plugin built for a future ABI major: the loader must refuse it
 * ("ABI major 2, host has 1") without calling anything but its descriptor function. */
#include <kiln/plugin.h>

static int badabi_run(const kiln_host_api *host, kiln_ctx *ctx) {
    return host->fail(ctx, "must never run");
}

static const kiln_port_def out_port[] = {{"out", KILN_TYPE_FILE, KILN_ONE, 0, NULL, "unused"},
                                         {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_op_def op_noop = {
    .struct_size = sizeof(kiln_op_def),
    .name = "badabi.noop",
    .summary = "never loaded",
    .outputs = out_port,
    .flags = KILN_OP_DETERMINISTIC,
    .run = badabi_run,
};

static const kiln_op_def *const ops[] = {&op_noop, NULL};

static const kiln_plugin_desc desc = {
    .abi_major = KILN_PLUGIN_ABI_MAJOR + 1,
    .abi_minor = 0,
    .struct_size = sizeof(kiln_plugin_desc),
    .name = "badabi",
    .version = "1.0.0",
    .summary = "refused: ABI major from the future",
    .ops = ops,
};

KILN_PLUGIN_DEFINE(desc)
