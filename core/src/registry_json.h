/* registry_json.h -- the loaded plugins as JSON: what `kiln plugins --json` prints and what
 * GET /v1/plugins returns. */
#ifndef KILN_REGISTRY_JSON_H
#define KILN_REGISTRY_JSON_H

#include <jansson.h>
#include "registry.h"

/* {"plugins": [{"name", "version", "summary", "path",
 *               "ops": [{"name", "summary", "flags", "threads", "inputs", "outputs", "params"}],
 *               "exporters": [{"name", "summary"}]}],
 *  "refused": [{"path", "reason"}], "search_path": ["dir", ...]}
 * Reads the registry only (safe from several threads at once). New reference; never NULL
 * (out of memory aborts inside jansson's callers). */
json_t *kiln_registry_json(const kiln_registry *reg);

#endif
