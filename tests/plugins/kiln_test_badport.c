/* kiln_test_badport.c -- a plugin whose op declares a LIST output (outputs are always one
 * file): the loader must refuse the whole plugin and say which op and port is wrong. */
#include <kiln/plugin.h>

static int badport_run(const kiln_host_api *host, kiln_ctx *ctx) {
    return host->fail(ctx, "must never run");
}

static const kiln_port_def out_ports[] = {{"outs", KILN_TYPE_FILE, KILN_LIST, 0, NULL, "not allowed: LIST output"},
                                          {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_op_def op_many = {
    .struct_size = sizeof(kiln_op_def),
    .name = "badport.many",
    .summary = "declares a list output",
    .outputs = out_ports,
    .flags = KILN_OP_DETERMINISTIC,
    .run = badport_run,
};

static const kiln_op_def *const ops[] = {&op_many, NULL};

static const kiln_plugin_desc desc = {
    .abi_major = KILN_PLUGIN_ABI_MAJOR,
    .abi_minor = KILN_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(kiln_plugin_desc),
    .name = "badport",
    .version = "1.0.0",
    .summary = "refused: an output port with LIST cardinality",
    .ops = ops,
};

KILN_PLUGIN_DEFINE(desc)
