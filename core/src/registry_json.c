/* registry_json.c -- the loaded plugins as JSON (see registry_json.h); moved here from
 * cmd_plugins.c so that `kiln plugins --json` and GET /v1/plugins share it. */
#include "registry_json.h"

#include <stdlib.h>

static const char *type_name(kiln_port_type t) {
    switch (t) {
    case KILN_TYPE_DATASET: return "dataset";
    case KILN_TYPE_MODEL: return "model";
    case KILN_TYPE_METRICS: return "metrics";
    case KILN_TYPE_WHEEL: return "wheel";
    case KILN_TYPE_FILE: return "file";
    }
    return "?";
}

static json_t *ports_json(const kiln_port_def *ports, int is_input) {
    json_t *arr = json_array();
    for (const kiln_port_def *p = ports; p && p->name; p++) {
        json_t *o = json_pack("{s:s, s:s}", "name", p->name, "type", type_name(p->type));
        if (is_input) {
            json_object_set_new(o, "cardinality", json_string(p->cardinality == KILN_LIST ? "list" : "one"));
            json_object_set_new(o, "optional", json_boolean(p->flags & KILN_PORT_OPTIONAL));
        } else {
            json_object_set_new(o, "file_name", json_string(p->file_name ? p->file_name : p->name));
        }
        if (p->summary) json_object_set_new(o, "summary", json_string(p->summary));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *flags_json(uint32_t f) {
    json_t *arr = json_array();
    if (f & KILN_OP_DETERMINISTIC) json_array_append_new(arr, json_string("deterministic"));
    if (f & KILN_OP_NEEDS_GPU) json_array_append_new(arr, json_string("needs_gpu"));
    if (f & KILN_OP_NO_CACHE) json_array_append_new(arr, json_string("no_cache"));
    if (f & KILN_OP_KEY_INPUT_INFO) json_array_append_new(arr, json_string("key_input_info"));
    return arr;
}

json_t *kiln_registry_json(const kiln_registry *reg) {
    json_t *plugins = json_array();
    for (size_t i = 0; i < reg->nplugins; i++) {
        const kiln_plugin *pl = &reg->plugins[i];
        json_t *ops = json_array();
        for (size_t k = 0; k < reg->nops; k++) {
            const kiln_op_entry *op = &reg->ops[k];
            if (op->plugin != pl) continue;
            json_t *o = json_pack("{s:s, s:s}", "name", op->def->name, "summary", op->def->summary ? op->def->summary : "");
            json_object_set_new(o, "flags", flags_json(op->def->flags));
            json_object_set_new(o, "threads", json_integer(op->def->threads ? op->def->threads : 1));
            json_object_set_new(o, "inputs", ports_json(op->def->inputs, 1));
            json_object_set_new(o, "outputs", ports_json(op->def->outputs, 0));
            const json_t *params = kiln_schema_describe(op->schema);
            json_object_set_new(o, "params", params ? json_deep_copy(params) : json_object());
            json_array_append_new(ops, o);
        }
        json_t *exps = json_array();
        for (const kiln_exporter_def *const *e = pl->desc->exporters; e && *e; e++)
            json_array_append_new(exps, json_pack("{s:s, s:s}", "name", (*e)->name, "summary", (*e)->summary ? (*e)->summary : ""));
        json_array_append_new(plugins, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "name", pl->desc->name, "version",
                                                 pl->desc->version, "summary", pl->desc->summary ? pl->desc->summary : "",
                                                 "path", pl->path, "ops", ops, "exporters", exps));
    }
    json_t *refused = json_array();
    for (size_t i = 0; i < reg->nrefused; i++)
        json_array_append_new(refused, json_pack("{s:s, s:s}", "path", reg->refused[i].path, "reason", reg->refused[i].reason));
    json_t *dirs = json_array();
    char **sd = kiln_registry_search_dirs();
    for (char **d = sd; d && *d; d++) {
        json_array_append_new(dirs, json_string(*d));
        free(*d);
    }
    free(sd);
    return json_pack("{s:o, s:o, s:o}", "plugins", plugins, "refused", refused, "search_path", dirs);
}
