/* op_csv.c -- data.csv: a numeric CSV file with a header to a dataset artifact (parsing in
 * csv.c). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "artifact.h"
#include "csv.h"
#include "opglue.h"
#include "ops.h"

static const char csv_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"path\": {\"type\": \"string\", \"format\": \"input-file\","
    "            \"description\": \"CSV file with a header line (may be gzip-compressed)\"},"
    "  \"label\": {\"type\": \"string\", \"minLength\": 1, \"default\": \"label\","
    "             \"description\": \"name of the label column (whole numbers >= 0); every "
    "other column is a feature\"},"
    "  \"delimiter\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 1,"
    "                 \"default\": \",\", \"description\": \"field separator, one character "
    "(\\\"\\\\t\\\" for TSV)\"},"
    "  \"bad_rows\": {\"type\": \"string\", \"enum\": [\"fail\", \"skip\"], \"default\": "
    "\"fail\","
    "                \"description\": \"fail on the first bad row (with its line number), or skip "
    "bad rows and log how many\"},"
    "  \"classes\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"minLength\": 1},"
    "               \"minItems\": 1,"
    "               \"description\": \"class names; labels must be below their count\"}},"
    " \"required\": [\"path\"]}";

static const kiln_port_def csv_outputs[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, "dataset.safetensors",
     "x [N, F] float32 and y [N] int64"},
    {NULL, 0, 0, 0, NULL, NULL}};

static int run_csv(const kiln_host_api *h, kiln_ctx *ctx) {
    kiln_data_op op;
    kiln_error err = {0};
    kiln_data_set set;
    kiln_data_csv_options opt;
    kiln_data_csv_report rep;
    const char *path, *delim;
    int rc;
    kiln_data_op_init(&op, h, ctx);
    kiln_data_set_init(&set);
    memset(&opt, 0, sizeof opt);
    path = kiln_data_param_str(&op, "path", NULL);
    opt.label = kiln_data_param_str(&op, "label", "label");
    delim = kiln_data_param_str(&op, "delimiter", ",");
    opt.delimiter = delim[0];
    opt.skip_bad_rows = strcmp(kiln_data_param_str(&op, "bad_rows", "fail"), "skip") == 0;
    opt.classes = json_object_get(op.params, "classes");
    if (strlen(delim) != 1 || delim[0] == '"' || delim[0] == '\n' || delim[0] == '\r')
        rc = kiln_data_error(&err, KILN_EINVAL,
                             "param 'delimiter': expected one ASCII character other than a quote "
                             "or a line break, got '%s'",
                             delim);
    else
        rc = kiln_data_check_classes(opt.classes, "param 'classes'", &err);
    if (rc == 0)
        rc = kiln_data_csv_read(path, &opt, &op.mon, &set, &rep, &err);
    if (rc == 0)
        rc = kiln_data_write_set(h, kiln_data_output(&op, "dataset"), &set, &err);
    if (rc == 0) {
        h->log(ctx, KILN_LOG_INFO, "data.csv: %" PRId64 " rows x %" PRId64 " features from %s",
               set.n, kiln_data_set_features(&set), path);
        if (rep.skipped) {
            char lines[160] = "";
            size_t used = 0;
            for (int64_t i = 0; i < rep.skipped && i < 8 && used < sizeof lines; i++) {
                int w = snprintf(lines + used, sizeof lines - used, "%s%" PRId64, i ? ", " : "",
                                 rep.first_lines[i]);
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            h->log(ctx, KILN_LOG_WARN,
                   "data.csv: skipped %" PRId64 " bad rows (lines %s%s); first: %s",
                   rep.skipped, lines, rep.skipped > 8 ? ", ..." : "", rep.first_reason);
        }
    }
    kiln_data_set_clear(&set);
    return rc ? kiln_data_op_fail(&op, &err) : 0;
}

const kiln_op_def kiln_data_op_csv = {
    sizeof(kiln_op_def),
    "data.csv",
    "numeric CSV with a header (label column by name) to a dataset",
    csv_schema,
    NULL,
    csv_outputs,
    KILN_OP_DETERMINISTIC,
    1,
    run_csv};
