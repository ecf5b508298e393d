/* registry.h -- finding, loading and checking plugins (the production loader).
 *
 * Search order: every directory of $KILN_PLUGIN_PATH (colon-separated), then the install
 * dir (KILN_PLUGIN_INSTALL_DIR, compiled in; relative to the kiln binary's prefix when
 * installed). Each `*.so` there is opened with dlopen(RTLD_NOW | RTLD_LOCAL), its
 * descriptor is checked field by field (see kiln/plugin.h), its ops' schemas are parsed, and
 * its init (if any) is called. A plugin that fails any step is unloaded and recorded as
 * refused with the reason. The first plugin of a given name wins; a later one with the same
 * name is refused ("duplicate plugin name, already loaded from PATH"). */
#ifndef KILN_REGISTRY_H
#define KILN_REGISTRY_H

#include <stddef.h>
#include "kiln/plugin.h"
#include "schema.h"

typedef struct kiln_plugin kiln_plugin;

/* A loaded op: the plugin's static definition plus what the host parsed from it. */
typedef struct kiln_op_entry {
    const kiln_op_def *def;       /* borrowed from the plugin (valid while loaded)       */
    const kiln_plugin *plugin;    /* the plugin providing it                              */
    kiln_schema *schema;          /* owned: parsed params_schema                          */
} kiln_op_entry;

struct kiln_plugin {
    char *path;                   /* owned: absolute path of the .so                     */
    void *handle;                 /* dlopen handle                                        */
    const kiln_plugin_desc *desc; /* borrowed from the plugin                             */
};

typedef struct kiln_refused_plugin {
    char *path;   /* owned */
    char *reason; /* owned: "ABI major 2, host has 1" / "missing symbol ..." / init's message */
} kiln_refused_plugin;

typedef struct kiln_registry {
    kiln_plugin *plugins;          size_t nplugins;
    kiln_op_entry *ops;            size_t nops;      /* sorted by name */
    kiln_refused_plugin *refused;  size_t nrefused;
} kiln_registry;

/* Returns a new, empty registry (never NULL). */
kiln_registry *kiln_registry_new(void);

/* Unloads every plugin and frees everything. NULL is ignored. */
void kiln_registry_free(kiln_registry *reg);

/* Loads one plugin file. Returns 0 when loaded; otherwise records it as refused and returns
 * a negative code with the reason in err. */
int kiln_registry_load_file(kiln_registry *reg, const char *path, kiln_error *err);

/* Loads every *.so in `dir` (sorted by name). A missing dir is not an error. */
int kiln_registry_load_dir(kiln_registry *reg, const char *dir);

/* Loads from $KILN_PLUGIN_PATH and then the install dir. */
int kiln_registry_load_default(kiln_registry *reg);

/* The directories searched, in order, as a malloc'd NULL-terminated array of malloc'd
 * strings (free each and the array). */
char **kiln_registry_search_dirs(void);

/* The op named `name`, or NULL. */
const kiln_op_entry *kiln_registry_find_op(const kiln_registry *reg, const char *name);

/* The exporter named `name` (and its plugin), or NULL. */
const kiln_exporter_def *kiln_registry_find_exporter(const kiln_registry *reg, const char *name,
                                                     const kiln_plugin **plugin_out);

/* Writes up to 3 known op names closest to `name` (edit distance, same prefix first) as
 * "'a.b', 'a.c'" into buf; empty string when nothing is close. */
void kiln_registry_suggest(const kiln_registry *reg, const char *name, char *buf, size_t buflen);

/* The host API table the loader hands to plugins' init and exporters (static, borrowed). */
const kiln_host_api *kiln_host_api_table(void);

#endif
