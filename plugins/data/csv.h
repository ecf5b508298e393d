/* csv.h -- numeric CSV with a header line: one label column picked by name, every other
 * column a feature. The file may be gzip-compressed (detected by content).
 *
 * Accepted: a UTF-8 BOM; "\n" or "\r\n" line ends; blank lines (skipped); fields trimmed of
 * spaces and tabs; fields in double quotes ("" inside for a quote; no line break inside).
 * Feature cells must be finite numbers (strtod syntax in the C locale). Label cells must be
 * whole numbers >= 0 (and below the number of classes, when class names are given).
 * A bad row (a non-numeric or non-finite cell, a bad label, a ragged row with the wrong
 * number of fields) fails the read with its line number, or, with skip_bad_rows, is left out
 * and counted. */
#ifndef KILN_DATA_CSV_H
#define KILN_DATA_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common.h"
#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_data_csv_options {
    const char *label;       /* name of the label column (required)                      */
    char delimiter;          /* ',' by default; '\t' for TSV                              */
    int skip_bad_rows;       /* 0: the first bad row fails the read; 1: skip and count    */
    const json_t *classes;   /* optional class names (checked by the caller), copied      */
} kiln_data_csv_options;

/* What a read skipped (skip_bad_rows only). */
typedef struct kiln_data_csv_report {
    int64_t rows;                  /* data rows kept                                      */
    int64_t skipped;               /* bad rows left out                                   */
    int64_t first_lines[8];        /* line numbers of the first (up to 8) skipped rows    */
    char first_reason[640];        /* why the first skipped row was bad                   */
} kiln_data_csv_report;

/* Reads `path` into `out` (initialised by the caller; filled only on success): x float32
 * [rows, features], y int64 [rows]. `report` may be NULL. Fails (KILN_EFORMAT/KILN_EINVAL,
 * message "<path>: line N: ...") on: an empty file, a header without the label column or
 * with it twice, no data rows, a bad row when not skipping, every row bad when skipping.
 * Memory: the file's bytes plus the output. */
int kiln_data_csv_read(const char *path, const kiln_data_csv_options *opt,
                       const kiln_data_monitor *m, kiln_data_set *out,
                       kiln_data_csv_report *report, kiln_error *err);

#ifdef __cplusplus
}
#endif

#endif
