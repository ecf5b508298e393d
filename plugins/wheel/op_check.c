/* op_check.c -- wheel.check: validate any wheel (check.h) into a JSON report; the node fails
 * when the wheel violates the format or its platform policy (unless told not to). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ops.h"

static const char check_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"file_name\": {\"type\": \"string\", \"minLength\": 5, \"maxLength\": 800,"
    "    \"description\": \"the wheel's file name to validate ({name}-{version}-...-{platform}.whl); default: "
    "derived from its dist-info and WHEEL tags (store paths carry no name)\"},"
    "  \"fail_on_violation\": {\"type\": \"boolean\", \"default\": true,"
    "    \"description\": \"fail the node when the report has errors (the report is then only in the log)\"},"
    "  \"max_entries\": {\"type\": \"integer\", \"minimum\": 1, \"default\": 100000,"
    "    \"description\": \"most entries an archive may have (zip bombs)\"},"
    "  \"max_size\": {\"type\": \"integer\", \"minimum\": 1, \"default\": 17179869184,"
    "    \"description\": \"most bytes the entries may expand to in all (zip bombs)\"},"
    "  \"max_ratio\": {\"type\": \"number\", \"exclusiveMinimum\": 1, \"default\": 200,"
    "    \"description\": \"highest compression ratio of an entry above 1 MiB, and of the whole archive\"}}}";

static const kiln_port_def check_inputs[] = {
    {"wheel", KILN_TYPE_FILE, KILN_ONE, 0, NULL, "the .whl to check (a wheel output, or any file)"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def check_outputs[] = {
    {"report", KILN_TYPE_METRICS, KILN_ONE, 0, "wheel-check.json",
     "JSON report: valid, errors, warnings, tags, RECORD, ELF files, satisfied manylinux tag"},
    {NULL, 0, 0, 0, NULL, NULL}};

static int run_check(const kiln_host_api *h, kiln_ctx *ctx) {
    const json_t *params = h->params(ctx);
    const char *path = h->input_path(ctx, "wheel", 0);
    const char *out = h->output_path(ctx, "report");
    if (!path || !out) return h->fail(ctx, "wheel.check: input 'wheel' or output 'report' is missing");
    kiln_wheel_limits lim;
    kiln_wheel_limits_default(&lim);
    const json_t *v;
    if ((v = json_object_get(params, "max_entries")) && json_is_integer(v)) lim.max_entries = (uint64_t)json_integer_value(v);
    if ((v = json_object_get(params, "max_size")) && json_is_integer(v)) lim.max_total_size = (uint64_t)json_integer_value(v);
    if ((v = json_object_get(params, "max_ratio")) && json_is_number(v)) lim.max_ratio = json_number_value(v);
    if (lim.max_entry_size > lim.max_total_size) lim.max_entry_size = lim.max_total_size;
    const char *file_name = json_string_value(json_object_get(params, "file_name"));
    v = json_object_get(params, "fail_on_violation");
    int fail_on_violation = v ? json_is_true(v) : 1;

    json_t *report = kiln_wheel_check(path, file_name, &lim);
    if (!report) {
        h->fail(ctx, "wheel.check: out of memory checking input 'wheel'");
        return KILN_ENOMEM;
    }
    size_t i;
    json_t *item;
    json_t *errors = json_object_get(report, "errors"), *warnings = json_object_get(report, "warnings");
    json_array_foreach(warnings, i, item) {
        h->log(ctx, KILN_LOG_WARN, "warning [%s] %s", json_string_value(json_object_get(item, "check")),
               json_string_value(json_object_get(item, "message")));
    }
    json_array_foreach(errors, i, item) {
        h->log(ctx, KILN_LOG_ERROR, "error [%s] %s", json_string_value(json_object_get(item, "check")),
               json_string_value(json_object_get(item, "message")));
    }
    const char *name = json_string_value(json_object_get(report, "file_name"));
    const char *sat = json_string_value(json_object_get(json_object_get(report, "platform"), "satisfied_tag"));
    size_t nerr = json_array_size(errors);
    h->log(ctx, KILN_LOG_INFO, "wheel.check: %s: %s (%zu error%s, %zu warning%s)%s%s", name ? name : "(unnamed)",
           nerr ? "INVALID" : "valid", nerr, nerr == 1 ? "" : "s", json_array_size(warnings),
           json_array_size(warnings) == 1 ? "" : "s", sat ? "; satisfies " : "", sat ? sat : "");
    if (nerr && fail_on_violation) {
        char first[600];
        snprintf(first, sizeof first, "%s", json_string_value(json_object_get(json_array_get(errors, 0), "message")));
        int frc = h->fail(ctx, "wheel.check: input 'wheel' (%s) is not a valid wheel: %zu error%s, first: %s",
                          name ? name : "unnamed", nerr, nerr == 1 ? "" : "s", first);
        json_decref(report); /* name points into it */
        return frc;
    }
    kiln_error err = {0};
    int rc = h->json_write(out, report, &err);
    json_decref(report);
    if (rc) {
        h->fail(ctx, "wheel.check: cannot write output 'report': %s", err.message);
        return rc;
    }
    return 0;
}

const kiln_op_def kiln_wheel_op_check = {
    sizeof(kiln_op_def),
    "wheel.check",
    "validate a wheel: file name, tags, dist-info, RECORD hashes, zip safety, manylinux policy",
    check_schema,
    check_inputs,
    check_outputs,
    KILN_OP_DETERMINISTIC,
    1,
    run_check};
