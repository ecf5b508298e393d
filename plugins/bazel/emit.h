/* emit.h -- the text of a Bazel workspace for a kb_model: WORKSPACE, BUILD.bazel and
 * README.md, formatted the way buildifier formats BUILD files (4-space indents, one
 * argument a line, name first and the other arguments in buildifier's order, lists and
 * dicts of two or more items one item a line with a trailing comma, sortable lists sorted
 * in buildifier's order). The same model always gives the same bytes. */
#ifndef KILN_BAZEL_EMIT_H
#define KILN_BAZEL_EMIT_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Each returns a new malloc'd text, or NULL on out-of-memory. */
char *kb_emit_build(const kb_model *m);
char *kb_emit_workspace(const kb_model *m);
char *kb_emit_readme(const kb_model *m);

#ifdef __cplusplus
}
#endif

#endif
