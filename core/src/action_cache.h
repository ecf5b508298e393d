/* action_cache.h -- action key -> result record, under $KILN_HOME/ac/ab/<key>.json.
 *
 * A record is a JSON object (written atomically):
 *   {"key": "<64 hex>", "node": "train[lr=0.05]", "op": "cpu.train",
 *    "plugin": "cpu", "plugin_version": "1.0.0",
 *    "outputs": {"model": {"digest": "<64 hex>", "size": 123, "file_name": "model.safetensors",
 *                          "type": "model"}},
 *    "log": "<64 hex of the log artifact>",
 *    "metrics": {"val_accuracy": {"value": 0.91, "step": 9}},
 *    "duration_s": 12.5, "created": 1763900000.25}
 * A hit is valid only if every output blob passes kiln_store_check. */
#ifndef KILN_ACTION_CACHE_H
#define KILN_ACTION_CACHE_H

#include <jansson.h>
#include "store.h"

/* Looks `key` up. Returns a new reference to the record, or NULL when absent or unreadable
 * (an unreadable record is treated as a miss and reported through err->code != 0). */
json_t *kiln_ac_get(const kiln_store *store, const char *key, kiln_error *err);

/* Like kiln_ac_get, then checks every output with kiln_store_check (not the log, which is
 * never served as a result). Returns
 * the record only when all are intact; a corrupt or missing blob makes it a miss and the
 * record is deleted. */
json_t *kiln_ac_get_valid(const kiln_store *store, const char *key, kiln_error *err);

/* Writes the record for `key` atomically (replacing any previous one). */
int kiln_ac_put(const kiln_store *store, const char *key, const json_t *record, kiln_error *err);

/* Deletes the record. Missing is success. */
int kiln_ac_remove(const kiln_store *store, const char *key, kiln_error *err);

/* Calls fn(key, record, user) for every record in key order; stops on non-zero. */
int kiln_ac_foreach(const kiln_store *store,
                    int (*fn)(const char *key, const json_t *record, void *user), void *user);

#endif
