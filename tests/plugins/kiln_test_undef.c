/* kiln_test_undef.c -- a plugin that needs a symbol nothing provides: dlopen(RTLD_NOW) fails
 * and the loader must report dlerror's text ("undefined symbol: ..."). */
#include <kiln/plugin.h>

extern int kiln_test_symbol_nobody_defines(void);

static int undef_run(const kiln_host_api *host, kiln_ctx *ctx) {
    return kiln_test_symbol_nobody_defines() ? host->fail(ctx, "must never run") : 0;
}

static const kiln_port_def out_port[] = {{"out", KILN_TYPE_FILE, KILN_ONE, 0, NULL, "unused"},
                                         {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_op_def op_call = {
    .struct_size = sizeof(kiln_op_def),
    .name = "undef.call",
    .summary = "calls a function that does not exist",
    .outputs = out_port,
    .flags = KILN_OP_DETERMINISTIC,
    .run = undef_run,
};

static const kiln_op_def *const ops[] = {&op_call, NULL};

static const kiln_plugin_desc desc = {
    .abi_major = KILN_PLUGIN_ABI_MAJOR,
    .abi_minor = KILN_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(kiln_plugin_desc),
    .name = "undef",
    .version = "1.0.0",
    .summary = "refused: an undefined symbol",
    .ops = ops,
};

KILN_PLUGIN_DEFINE(desc)
