/* validate.h -- checking a parsed graph against the loaded ops, reporting every problem. */
#ifndef KILN_VALIDATE_H
#define KILN_VALIDATE_H

#include "graph.h"
#include "registry.h"

/* Checks: each op exists (else suggests the closest names); params against the op's schema
 * (missing, unknown, ill-typed, out of range); sweep keys are declared params, lists are
 * non-empty and each value fits the param's schema; each input port exists on the op and
 * each reference names an existing node and one of its op's output ports; port types match
 * (FILE accepts any); a ONE port gets exactly one reference; required inputs are wired;
 * input-file params name existing regular files; no cycles (the message lists the cycle's
 * nodes in order, "a -> b -> c -> a"). Adds one line per problem to diags, each naming the
 * file, the node, the JSON path and what was expected. Returns the number added. */
int kiln_validate(const kiln_graph *g, const kiln_registry *reg, kiln_diags *diags);

#endif
