/* kiln_test_initfail.c -- a well-formed plugin whose init refuses to load, as a GPU plugin
 * on a machine without a GPU would. The loader must record init's message as the reason. */
#include <kiln/plugin.h>

#include <stdio.h>

static int initfail_run(const kiln_host_api *host, kiln_ctx *ctx) {
    return host->fail(ctx, "must never run");
}

static int initfail_init(const kiln_host_api *host, kiln_error *err) {
    (void)host;
    err->code = KILN_ENOTFOUND;
    snprintf(err->message, sizeof err->message, "no frobnicator found");
    return KILN_ENOTFOUND;
}

static const kiln_port_def out_port[] = {{"out", KILN_TYPE_FILE, KILN_ONE, 0, NULL, "unused"},
                                         {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_op_def op_frob = {
    .struct_size = sizeof(kiln_op_def),
    .name = "initfail.frob",
    .summary = "needs a frobnicator",
    .outputs = out_port,
    .flags = KILN_OP_DETERMINISTIC,
    .run = initfail_run,
};

static const kiln_op_def *const ops[] = {&op_frob, NULL};

static const kiln_plugin_desc desc = {
    .abi_major = KILN_PLUGIN_ABI_MAJOR,
    .abi_minor = KILN_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(kiln_plugin_desc),
    .name = "initfail",
    .version = "1.0.0",
    .summary = "refused by its own init",
    .ops = ops,
    .init = initfail_init,
};

KILN_PLUGIN_DEFINE(desc)
