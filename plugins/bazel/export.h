/* export.h -- `kiln export bazel`: a kiln plan as a Bazel workspace on disk.
 *
 * Writes into out_dir (which exists and is empty):
 *   WORKSPACE           the workspace, and @kiln (kiln_toolchain) with the recorded paths
 *   BUILD.bazel         one kiln_node per instance, filegroups of sweeps, wheel py_tests
 *   kiln.bzl            the kiln_node rule and macro, the kiln_toolchain repository rule
 *   README.md           how to build, test, share caches; where kiln comes from
 *   kiln_wheel_test.py  when the graph packages wheels: the py_test's program
 *   data/...            the graph's input files: copies (checked against their sha256
 *                       after copying), or symbolic links with option "data": "link"
 * Options: see kb_model_build (model.h). */
#ifndef KILN_BAZEL_EXPORT_H
#define KILN_BAZEL_EXPORT_H

#include <jansson.h>

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns 0, or a negative KILN_E* code with err naming what failed (the option, the
 * instance, the file). Files written before a failure stay; the caller owns out_dir. `host`
 * gives sha256_file for checking copies (NULL: copies are not re-hashed). */
int kb_export(const kiln_host_api *host, const json_t *plan, const char *out_dir, const json_t *options,
              kiln_error *err);

#ifdef __cplusplus
}
#endif

#endif
