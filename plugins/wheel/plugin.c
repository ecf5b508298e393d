/* plugin.c -- the wheel plugin's descriptor: the one exported symbol and its op table. */
#include "kiln/plugin.h"
#include "ops.h"

static const kiln_op_def *const wheel_ops[] = {
    &kiln_wheel_op_package, /* model (+ metrics) -> {name}-{version}-py3-none-any.whl */
    &kiln_wheel_op_check,   /* any .whl -> JSON report; fails on violations          */
    NULL};

static const kiln_plugin_desc wheel_plugin = {
    KILN_PLUGIN_ABI_MAJOR,     /* abi_major   */
    KILN_PLUGIN_ABI_MINOR,     /* abi_minor   */
    sizeof(kiln_plugin_desc),  /* struct_size */
    "wheel",                   /* name: prefix of every op */
    KILN_WHEEL_PLUGIN_VERSION, /* version: part of every action key */
    "Python wheels: package a model as an installable numpy-only wheel; validate any wheel",
    wheel_ops,                 /* ops */
    NULL,                      /* exporters */
    NULL};                     /* init: nothing to check */

KILN_PLUGIN_DEFINE(wheel_plugin)
