/* hello.c -- the smallest useful kiln plugin: one op, "hello.greet", that writes a greeting.
 *
 *   {"kiln": 1, "nodes": {"hi": {"op": "hello.greet", "params": {"name": "kiln"}}}}
 *
 * A plugin includes only <kiln/plugin.h>, describes itself with static const data, and
 * talks to the world only through the host API table it is handed. */
#include <kiln/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The op's entry point. Everything `host` returns is borrowed and valid until we return. */
static int greet_run(const kiln_host_api *host, kiln_ctx *ctx) {
    /* Params were checked against the schema below, defaults filled in: "name" is there. */
    const char *name = json_string_value(json_object_get(host->params(ctx), "name"));
    const char *path = host->output_path(ctx, "greeting");

    FILE *f = fopen(path, "w");
    if (!f) return host->fail(ctx, "output 'greeting': cannot create %s: %s", path, strerror(errno));
    fprintf(f, "Hello, %s!\n", name);
    if (fclose(f) != 0) return host->fail(ctx, "output 'greeting': write failed: %s", strerror(errno));

    host->log(ctx, KILN_LOG_INFO, "greeted %s", name);
    return 0; /* the host checks the output exists and stores it */
}

/* Ports: tables ending with a NULL name. This op has no inputs and one output. */
static const kiln_port_def greet_outputs[] = {
    {"greeting", KILN_TYPE_FILE, KILN_ONE, 0, "greeting.txt", "\"Hello, <name>!\""},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const kiln_op_def greet = {
    .struct_size = sizeof(kiln_op_def),
    .name = "hello.greet", /* "<plugin name>.<op>" */
    .summary = "writes a greeting",
    .params_schema = "{\"type\": \"object\","
                     " \"properties\": {\"name\": {\"type\": \"string\", \"minLength\": 1,"
                     "                             \"default\": \"world\", \"description\": \"who to greet\"}}}",
    .inputs = NULL,
    .outputs = greet_outputs,
    .flags = KILN_OP_DETERMINISTIC, /* same params -> same bytes: served from the cache */
    .threads = 1,
    .run = greet_run,
};

static const kiln_op_def *const hello_ops[] = {&greet, NULL};

static const kiln_plugin_desc hello_plugin = {
    .abi_major = KILN_PLUGIN_ABI_MAJOR,
    .abi_minor = KILN_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(kiln_plugin_desc),
    .name = "hello",
    .version = "1.0.0", /* part of every action key: bump it when outputs change */
    .summary = "an example out-of-tree plugin",
    .ops = hello_ops,
    .exporters = NULL,
    .init = NULL, /* nothing to probe; a GPU plugin would refuse here without a device */
};

KILN_PLUGIN_DEFINE(hello_plugin)
