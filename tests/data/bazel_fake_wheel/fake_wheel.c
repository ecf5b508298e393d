/* fake_wheel.c -- a stand-in "wheel" plugin for tests/e2e/test_bazel_build.sh, compiled by
 * that test: wheel.package here copies its input (a ready-made .whl) to its wheel output,
 * so that the exported workspace has a wheel.package node and `bazel test` runs the
 * generated py_test on a real wheel, without the real wheel plugin or a trained model. */
#include <kiln/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int package_run(const kiln_host_api *host, kiln_ctx *ctx) {
    const char *src = host->input_path(ctx, "model", 0);
    const char *dst = host->output_path(ctx, "wheel");
    FILE *in = fopen(src, "rb");
    if (!in) return host->fail(ctx, "cannot open %s: %s", src, strerror(errno));
    FILE *out = fopen(dst, "wb");
    if (!out) {
        fclose(in);
        return host->fail(ctx, "cannot create %s: %s", dst, strerror(errno));
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    fclose(in);
    if (fclose(out) != 0) return host->fail(ctx, "cannot write %s", dst);
    return 0;
}

static const kiln_port_def inputs[] = {{"model", KILN_TYPE_FILE, KILN_ONE, 0, NULL, "a ready-made wheel"},
                                       {NULL, 0, 0, 0, NULL, NULL}};
static const kiln_port_def outputs[] = {{"wheel", KILN_TYPE_WHEEL, KILN_ONE, 0, "model.whl", "the same wheel"},
                                        {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_op_def op_package = {
    .struct_size = sizeof(kiln_op_def),
    .name = "wheel.package",
    .summary = "test stand-in: copies a ready-made wheel",
    .params_schema = NULL,
    .inputs = inputs,
    .outputs = outputs,
    .flags = KILN_OP_DETERMINISTIC,
    .run = package_run,
};

static const kiln_op_def *const ops[] = {&op_package, NULL};

static const kiln_plugin_desc fake_wheel = {
    .abi_major = KILN_PLUGIN_ABI_MAJOR,
    .abi_minor = KILN_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(kiln_plugin_desc),
    .name = "wheel",
    .version = "0.0.0-test",
    .summary = "test stand-in for the wheel plugin",
    .ops = ops,
    .exporters = NULL,
    .init = NULL,
};

KILN_PLUGIN_DEFINE(fake_wheel)
