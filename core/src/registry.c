/* registry.c -- the production plugin loader (see registry.h and kiln/plugin.h).
 *
 * Loading one file is a pipeline, each step with its own refusal reason (GStreamer's
 * gstplugin.c is the model: nothing in a descriptor is used before it was checked):
 *
 *   realpath -> dlopen(RTLD_NOW | RTLD_LOCAL) -> dlsym(kiln_plugin_descriptor) -> call it ->
 *   ABI major / minor / struct_size -> name, version -> every op (struct_size, name prefix,
 *   run, flags, ports, schema) -> every exporter -> duplicates against what is loaded ->
 *   init -> commit (plugin and op entries appended, ops re-sorted).
 *
 * A refusal dlcloses the handle, frees what the attempt parsed and appends a
 * kiln_refused_plugin. Nothing is committed to the registry until every check passed, so a
 * refused plugin leaves no op behind.
 *
 * Pointer stability: kiln_op_entry.plugin points into reg->plugins, which grows with
 * realloc. Every growth re-points the op entries (by index, computed before the realloc). */
#include "registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"

#ifndef KILN_PLUGIN_REL_DIR
#define KILN_PLUGIN_REL_DIR "lib/kiln/plugins"
#endif
#ifndef KILN_PLUGIN_INSTALL_DIR
#define KILN_PLUGIN_INSTALL_DIR "/usr/local/lib/kiln/plugins"
#endif

/* Sizes of the version-1.0 layouts: a plugin's struct_size must be at least these. They
 * end at the last field of ABI 1.0 and never change, however the structs grow. */
#define DESC_SIZE_1_0 (offsetof(kiln_plugin_desc, init) + sizeof(((kiln_plugin_desc *)0)->init))
#define OP_SIZE_1_0 (offsetof(kiln_op_def, run) + sizeof(((kiln_op_def *)0)->run))
#define EXPORTER_SIZE_1_0 \
    (offsetof(kiln_exporter_def, export_plan) + sizeof(((kiln_exporter_def *)0)->export_plan))

/* Guards against a table that lost its NULL terminator (the loader would walk off it). */
#define MAX_TABLE_ENTRIES 1024

#define KNOWN_OP_FLAGS (KILN_OP_DETERMINISTIC | KILN_OP_NEEDS_GPU | KILN_OP_NO_CACHE | KILN_OP_KEY_INPUT_INFO)
#define KNOWN_PORT_FLAGS (KILN_PORT_OPTIONAL)

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                             */
/* ---------------------------------------------------------------------------------------- */

static char *xstrdup(const char *s) {
    char *d = strdup(s ? s : "");
    if (!d) abort(); /* tiny strings; out of memory here is not recoverable */
    return d;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) abort();
    return q;
}

/* 1 when s matches [a-z][a-z0-9_]* (port names, op name suffixes). */
static int is_identifier(const char *s) {
    if (!s || !(*s >= 'a' && *s <= 'z')) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return 0;
    return 1;
}

/* 1 when s is a plugin name: [a-z][a-z0-9_-]* (it prefixes op names, so no '.'). */
static int is_plugin_name(const char *s) {
    if (!s || !(*s >= 'a' && *s <= 'z')) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* 1 when s is a plain file name (no '/', not "." or ".."). */
static int is_plain_file_name(const char *s) {
    return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int cmp_op_entry(const void *a, const void *b) {
    return strcmp(((const kiln_op_entry *)a)->def->name, ((const kiln_op_entry *)b)->def->name);
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---------------------------------------------------------------------------------------- */
/* Registry lifetime                                                                         */
/* ---------------------------------------------------------------------------------------- */

kiln_registry *kiln_registry_new(void) {
    kiln_registry *reg = calloc(1, sizeof *reg);
    if (!reg) abort();
    return reg;
}

void kiln_registry_free(kiln_registry *reg) {
    if (!reg) return;
    for (size_t i = 0; i < reg->nops; i++) kiln_schema_free(reg->ops[i].schema);
    free(reg->ops);
    /* Unload in reverse load order. */
    for (size_t i = reg->nplugins; i-- > 0;) {
        if (reg->plugins[i].handle) dlclose(reg->plugins[i].handle);
        free(reg->plugins[i].path);
    }
    free(reg->plugins);
    for (size_t i = 0; i < reg->nrefused; i++) {
        free(reg->refused[i].path);
        free(reg->refused[i].reason);
    }
    free(reg->refused);
    free(reg);
}

/* Records `path` as refused with the message already in err, and returns err->code. */
static int refuse(kiln_registry *reg, const char *path, kiln_error *err) {
    reg->refused = xrealloc(reg->refused, (reg->nrefused + 1) * sizeof *reg->refused);
    reg->refused[reg->nrefused].path = xstrdup(path);
    reg->refused[reg->nrefused].reason = xstrdup(err->message);
    reg->nrefused++;
    return err->code;
}

/* ---------------------------------------------------------------------------------------- */
/* Descriptor checks                                                                         */
/* ---------------------------------------------------------------------------------------- */

static const char *port_type_ok(kiln_port_type t) {
    switch (t) {
    case KILN_TYPE_DATASET:
    case KILN_TYPE_MODEL:
    case KILN_TYPE_METRICS:
    case KILN_TYPE_WHEEL:
    case KILN_TYPE_FILE: return "ok";
    }
    return NULL;
}

/* Checks one port table of op `op` (`what` is "input" or "output"). NULL table: only
 * allowed for inputs. Returns 0 or KILN_EINVAL with the reason in err. */
static int check_ports(const char *op, const kiln_port_def *ports, int is_output, kiln_error *err) {
    const char *what = is_output ? "output" : "input";
    if (!ports) {
        if (is_output) return kiln_error_set(err, KILN_EINVAL, "op '%s': no outputs (an op must declare at least one output port)", op);
        return 0;
    }
    size_t n = 0;
    for (; ports[n].name; n++) {
        const kiln_port_def *p = &ports[n];
        if (n >= MAX_TABLE_ENTRIES)
            return kiln_error_set(err, KILN_EINVAL, "op '%s': more than %d %s ports (is the table NULL-name terminated?)",
                                  op, MAX_TABLE_ENTRIES, what);
        if (!is_identifier(p->name))
            return kiln_error_set(err, KILN_EINVAL, "op '%s': %s port %zu: name '%s' is not [a-z][a-z0-9_]*", op, what, n,
                                  p->name);
        for (size_t j = 0; j < n; j++)
            if (strcmp(ports[j].name, p->name) == 0)
                return kiln_error_set(err, KILN_EINVAL, "op '%s': %s port '%s' is declared twice", op, what, p->name);
        if (!port_type_ok(p->type))
            return kiln_error_set(err, KILN_EINVAL, "op '%s': %s port '%s': type %d is not a kiln_port_type (1..5)", op,
                                  what, p->name, (int)p->type);
        if (p->cardinality != KILN_ONE && p->cardinality != KILN_LIST)
            return kiln_error_set(err, KILN_EINVAL, "op '%s': %s port '%s': cardinality %d is neither KILN_ONE nor KILN_LIST",
                                  op, what, p->name, (int)p->cardinality);
        if (p->flags & ~KNOWN_PORT_FLAGS)
            return kiln_error_set(err, KILN_EINVAL, "op '%s': %s port '%s': unknown flag bits 0x%x", op, what, p->name,
                                  (unsigned)(p->flags & ~KNOWN_PORT_FLAGS));
        if (is_output) {
            if (p->cardinality != KILN_ONE)
                return kiln_error_set(err, KILN_EINVAL, "op '%s': output port '%s': cardinality must be KILN_ONE (an output is one file)",
                                      op, p->name);
            if (p->flags & KILN_PORT_OPTIONAL)
                return kiln_error_set(err, KILN_EINVAL, "op '%s': output port '%s': KILN_PORT_OPTIONAL is for inputs only (every output must be written)",
                                      op, p->name);
            if (p->file_name && !is_plain_file_name(p->file_name))
                return kiln_error_set(err, KILN_EINVAL, "op '%s': output port '%s': file_name '%s' is not a plain file name",
                                      op, p->name, p->file_name);
        }
    }
    if (is_output && n == 0)
        return kiln_error_set(err, KILN_EINVAL, "op '%s': no outputs (an op must declare at least one output port)", op);
    return 0;
}

/* Checks one op of plugin `plugin`; on success parses its schema into *schema_out (owned
 * by the caller). Returns 0 or a negative code with the reason in err. */
static int check_op(const char *plugin, size_t index, const kiln_op_def *op, kiln_schema **schema_out,
                    kiln_error *err) {
    *schema_out = NULL;
    if (op->struct_size < OP_SIZE_1_0)
        return kiln_error_set(err, KILN_EABI, "op %zu: struct_size %u is smaller than the ABI 1.0 kiln_op_def (%zu)", index,
                              (unsigned)op->struct_size, (size_t)OP_SIZE_1_0);
    if (!op->name || !*op->name) return kiln_error_set(err, KILN_EINVAL, "op %zu: empty name", index);
    size_t plen = strlen(plugin);
    if (strncmp(op->name, plugin, plen) != 0 || op->name[plen] != '.')
        return kiln_error_set(err, KILN_EINVAL, "op '%s': name must start with the plugin name, as '%s.<op>'", op->name, plugin);
    if (!is_identifier(op->name + plen + 1))
        return kiln_error_set(err, KILN_EINVAL, "op '%s': the part after '%s.' must be [a-z][a-z0-9_]*", op->name, plugin);
    if (!op->run) return kiln_error_set(err, KILN_EINVAL, "op '%s': run is NULL", op->name);
    if (op->flags & ~KNOWN_OP_FLAGS)
        return kiln_error_set(err, KILN_EINVAL, "op '%s': unknown flag bits 0x%x", op->name,
                              (unsigned)(op->flags & ~KNOWN_OP_FLAGS));
    if (op->threads > 4096)
        return kiln_error_set(err, KILN_EINVAL, "op '%s': threads %u is not a plausible thread count", op->name,
                              (unsigned)op->threads);
    int rc = check_ports(op->name, op->inputs, 0, err);
    if (rc) return rc;
    rc = check_ports(op->name, op->outputs, 1, err);
    if (rc) return rc;
    kiln_error serr = {0};
    kiln_schema *schema = kiln_schema_parse(op->params_schema, &serr);
    if (!schema)
        return kiln_error_set(err, KILN_EINVAL, "op '%s': params_schema: %s", op->name,
                              serr.message[0] ? serr.message : "does not parse");
    *schema_out = schema;
    return 0;
}

static int check_exporter(size_t index, const kiln_exporter_def *ex, kiln_error *err) {
    if (ex->struct_size < EXPORTER_SIZE_1_0)
        return kiln_error_set(err, KILN_EABI, "exporter %zu: struct_size %u is smaller than the ABI 1.0 kiln_exporter_def (%zu)",
                              index, (unsigned)ex->struct_size, (size_t)EXPORTER_SIZE_1_0);
    if (!is_identifier(ex->name))
        return kiln_error_set(err, KILN_EINVAL, "exporter %zu: name '%s' is not [a-z][a-z0-9_]*", index,
                              ex->name ? ex->name : "(null)");
    if (!ex->export_plan) return kiln_error_set(err, KILN_EINVAL, "exporter '%s': export_plan is NULL", ex->name);
    return 0;
}

static const kiln_plugin *find_plugin_by_name(const kiln_registry *reg, const char *name) {
    for (size_t i = 0; i < reg->nplugins; i++)
        if (strcmp(reg->plugins[i].desc->name, name) == 0) return &reg->plugins[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Loading                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* What one load attempt parsed, before it is committed. */
typedef struct pending_ops {
    const kiln_op_def **defs;
    kiln_schema **schemas;
    size_t n;
} pending_ops;

static void pending_free(pending_ops *p) {
    for (size_t i = 0; i < p->n; i++) kiln_schema_free(p->schemas[i]);
    free(p->defs);
    free(p->schemas);
    memset(p, 0, sizeof *p);
}

/* Runs every check on desc (see the file comment). Fills `pending` with the ops and their
 * parsed schemas. Returns 0 or a negative code with the reason in err. */
static int check_descriptor(const kiln_registry *reg, const kiln_plugin_desc *desc, pending_ops *pending,
                            kiln_error *err) {
    /* abi_major and abi_minor are the first two fields of every version of the struct. */
    if (desc->abi_major != KILN_PLUGIN_ABI_MAJOR)
        return kiln_error_set(err, KILN_EABI, "ABI major %u, host has %u (rebuild the plugin against this kiln's kiln/plugin.h)",
                              (unsigned)desc->abi_major, (unsigned)KILN_PLUGIN_ABI_MAJOR);
    if (desc->abi_minor > KILN_PLUGIN_ABI_MINOR)
        return kiln_error_set(err, KILN_EABI, "ABI minor %u is newer than the host's %u.%u (the plugin was built against a newer kiln; upgrade kiln)",
                              (unsigned)desc->abi_minor, (unsigned)KILN_PLUGIN_ABI_MAJOR, (unsigned)KILN_PLUGIN_ABI_MINOR);
    if (desc->struct_size < DESC_SIZE_1_0)
        return kiln_error_set(err, KILN_EABI, "descriptor struct_size %u is smaller than the ABI 1.0 kiln_plugin_desc (%zu)",
                              (unsigned)desc->struct_size, (size_t)DESC_SIZE_1_0);
    if (!desc->name || !*desc->name) return kiln_error_set(err, KILN_EINVAL, "descriptor has an empty name");
    if (!is_plugin_name(desc->name))
        return kiln_error_set(err, KILN_EINVAL, "plugin name '%s' is not [a-z][a-z0-9_-]*", desc->name);
    if (!desc->version || !*desc->version)
        return kiln_error_set(err, KILN_EINVAL, "plugin '%s': empty version", desc->name);

    size_t nops = 0, nexp = 0;
    if (desc->ops)
        while (desc->ops[nops]) {
            if (++nops > MAX_TABLE_ENTRIES)
                return kiln_error_set(err, KILN_EINVAL, "plugin '%s': more than %d ops (is the table NULL-terminated?)", desc->name,
                                      MAX_TABLE_ENTRIES);
        }
    if (desc->exporters)
        while (desc->exporters[nexp]) {
            if (++nexp > MAX_TABLE_ENTRIES)
                return kiln_error_set(err, KILN_EINVAL, "plugin '%s': more than %d exporters (is the table NULL-terminated?)",
                                      desc->name, MAX_TABLE_ENTRIES);
        }
    if (nops == 0 && nexp == 0)
        return kiln_error_set(err, KILN_EINVAL, "plugin '%s' provides no ops and no exporters", desc->name);

    const kiln_plugin *dup = find_plugin_by_name(reg, desc->name);
    if (dup)
        return kiln_error_set(err, KILN_EINVAL, "duplicate plugin name '%s', already loaded from %s", desc->name, dup->path);

    pending->defs = xrealloc(NULL, nops * sizeof *pending->defs);
    pending->schemas = xrealloc(NULL, nops * sizeof *pending->schemas);
    for (size_t i = 0; i < nops; i++) {
        const kiln_op_def *op = desc->ops[i];
        kiln_schema *schema = NULL;
        int rc = check_op(desc->name, i, op, &schema, err);
        if (rc) return rc;
        pending->defs[pending->n] = op;
        pending->schemas[pending->n] = schema;
        pending->n++;
        for (size_t j = 0; j < i; j++)
            if (strcmp(desc->ops[j]->name, op->name) == 0)
                return kiln_error_set(err, KILN_EINVAL, "op '%s' is declared twice", op->name);
        const kiln_op_entry *other = kiln_registry_find_op(reg, op->name);
        if (other) /* cannot happen while plugin names are unique; kept as a guard */
            return kiln_error_set(err, KILN_EINVAL, "duplicate op '%s', already provided by %s", op->name, other->plugin->path);
    }
    for (size_t i = 0; i < nexp; i++) {
        const kiln_exporter_def *ex = desc->exporters[i];
        int rc = check_exporter(i, ex, err);
        if (rc) return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(desc->exporters[j]->name, ex->name) == 0)
                return kiln_error_set(err, KILN_EINVAL, "exporter '%s' is declared twice", ex->name);
        const kiln_plugin *other = NULL;
        if (kiln_registry_find_exporter(reg, ex->name, &other))
            return kiln_error_set(err, KILN_EINVAL, "duplicate exporter '%s', already provided by %s", ex->name, other->path);
    }
    return 0;
}

/* Appends the plugin and its ops (ownership of pending's schemas moves to reg). */
static void commit(kiln_registry *reg, char *path, void *handle, const kiln_plugin_desc *desc,
                   pending_ops *pending) {
    /* Remember each op's plugin by index: the realloc below may move the array. */
    size_t *idx = xrealloc(NULL, reg->nops * sizeof *idx);
    for (size_t i = 0; i < reg->nops; i++) idx[i] = (size_t)(reg->ops[i].plugin - reg->plugins);
    reg->plugins = xrealloc(reg->plugins, (reg->nplugins + 1) * sizeof *reg->plugins);
    for (size_t i = 0; i < reg->nops; i++) reg->ops[i].plugin = &reg->plugins[idx[i]];
    free(idx);

    kiln_plugin *p = &reg->plugins[reg->nplugins++];
    p->path = path;
    p->handle = handle;
    p->desc = desc;

    reg->ops = xrealloc(reg->ops, (reg->nops + pending->n) * sizeof *reg->ops);
    for (size_t i = 0; i < pending->n; i++) {
        reg->ops[reg->nops].def = pending->defs[i];
        reg->ops[reg->nops].plugin = p;
        reg->ops[reg->nops].schema = pending->schemas[i];
        reg->nops++;
    }
    qsort(reg->ops, reg->nops, sizeof *reg->ops, cmp_op_entry);
    free(pending->defs);
    free(pending->schemas);
    memset(pending, 0, sizeof *pending);
}

int kiln_registry_load_file(kiln_registry *reg, const char *path, kiln_error *err) {
    kiln_error local = {0};
    if (!err) err = &local;
    memset(err, 0, sizeof *err);

    char *abs = realpath(path, NULL);
    if (!abs) {
        kiln_error_set(err, KILN_ENOTFOUND, "cannot open: %s", strerror(errno));
        refuse(reg, path, err);
        goto prefix;
    }
    /* The same file reached twice (say, via KILN_PLUGIN_PATH and the install dir) is
     * already loaded: not an error, not a duplicate. */
    for (size_t i = 0; i < reg->nplugins; i++)
        if (strcmp(reg->plugins[i].path, abs) == 0) {
            free(abs);
            return 0;
        }

    dlerror(); /* clear any stale message */
    void *handle = dlopen(abs, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        if (!why) why = "unknown error";
        /* dlerror says "PATH: what"; the record already names the path. */
        size_t alen = strlen(abs);
        if (strncmp(why, abs, alen) == 0 && strncmp(why + alen, ": ", 2) == 0) why += alen + 2;
        kiln_error_set(err, KILN_EABI, "dlopen failed: %s", why);
        refuse(reg, abs, err);
        free(abs);
        goto prefix;
    }

    /* POSIX blesses converting dlsym's void * to a function pointer; memcpy keeps ISO C
     * compilers quiet about the object-to-function cast. */
    typedef const kiln_plugin_desc *(*descriptor_fn)(void);
    descriptor_fn fn = NULL;
    void *sym = dlsym(handle, KILN_PLUGIN_SYMBOL);
    const kiln_plugin_desc *desc = NULL;
    pending_ops pending = {0};
    if (!sym) {
        kiln_error_set(err, KILN_EABI, "missing symbol %s (not a kiln plugin, or built without KILN_PLUGIN_DEFINE)",
                       KILN_PLUGIN_SYMBOL);
        goto refused;
    }
    memcpy(&fn, &sym, sizeof fn);
    desc = fn();
    if (!desc) {
        kiln_error_set(err, KILN_EABI, "%s() returned NULL", KILN_PLUGIN_SYMBOL);
        goto refused;
    }
    if (check_descriptor(reg, desc, &pending, err) != 0) goto refused;

    if (desc->init) {
        kiln_error ierr = {0};
        int rc = desc->init(kiln_host_api_table(), &ierr);
        if (rc != 0) {
            ierr.message[sizeof ierr.message - 1] = '\0';
            kiln_error_set(err, rc < 0 ? rc : (ierr.code < 0 ? ierr.code : KILN_EINVAL), "init: %s",
                           ierr.message[0] ? ierr.message : "(no message)");
            goto refused;
        }
    }
    commit(reg, abs, handle, desc, &pending);
    return 0;

refused:
    pending_free(&pending);
    refuse(reg, abs, err);
    dlclose(handle);
    free(abs);
prefix:
    /* err carries "PATH: reason" for the caller; the refused record keeps the bare reason. */
    {
        char reason[KILN_ERROR_MESSAGE_MAX];
        memcpy(reason, err->message, sizeof reason);
        kiln_error_set(err, err->code, "%s: %s", path, reason);
    }
    return err->code;
}

int kiln_registry_load_dir(kiln_registry *reg, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0; /* a missing or unreadable dir is not an error: nothing to load */
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 3 || strcmp(e->d_name + len - 3, ".so") != 0) continue;
        names = xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str_ptr);
    for (size_t i = 0; i < n; i++) {
        size_t dl = strlen(dir);
        size_t len = dl + 1 + strlen(names[i]) + 1;
        char *full = xrealloc(NULL, len);
        snprintf(full, len, "%s%s%s", dir, (dl && dir[dl - 1] == '/') ? "" : "/", names[i]);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) kiln_registry_load_file(reg, full, NULL);
        free(full);
        free(names[i]);
    }
    free(names);
    return 0;
}

/* The install dir: <dir of /proc/self/exe>/../KILN_PLUGIN_REL_DIR when that directory exists
 * (the build tree and a relocated install both look like this), else the compiled-in
 * KILN_PLUGIN_INSTALL_DIR. Returns a malloc'd path. */
static char *install_dir(void) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            size_t len = strlen(exe) + sizeof "/../" + strlen(KILN_PLUGIN_REL_DIR);
            char *guess = xrealloc(NULL, len);
            snprintf(guess, len, "%s/../%s", exe, KILN_PLUGIN_REL_DIR);
            char *real = realpath(guess, NULL);
            struct stat st;
            if (real && stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
                free(guess);
                return real;
            }
            free(real);
            /* An installed layout (<prefix>/bin/kiln) whose plugin dir does not exist yet:
             * still that prefix's dir, never an unrelated compiled-in one. */
            const char *base = strrchr(exe, '/');
            if (base && strcmp(base, "/bin") == 0) {
                char *parent = realpath(exe, NULL);
                if (parent) {
                    char *p = strrchr(parent, '/');
                    if (p) *p = '\0';
                    size_t plen = strlen(parent) + 2 + strlen(KILN_PLUGIN_REL_DIR);
                    char *dir = xrealloc(NULL, plen);
                    snprintf(dir, plen, "%s/%s", parent, KILN_PLUGIN_REL_DIR);
                    free(parent);
                    free(guess);
                    return dir;
                }
            }
            free(guess);
        }
    }
    return xstrdup(KILN_PLUGIN_INSTALL_DIR);
}

char **kiln_registry_search_dirs(void) {
    char **dirs = NULL;
    size_t n = 0;
    const char *env = getenv("KILN_PLUGIN_PATH");
    if (env) {
        const char *p = env;
        while (*p) {
            const char *colon = strchr(p, ':');
            size_t len = colon ? (size_t)(colon - p) : strlen(p);
            if (len > 0) {
                dirs = xrealloc(dirs, (n + 2) * sizeof *dirs);
                dirs[n] = xrealloc(NULL, len + 1);
                memcpy(dirs[n], p, len);
                dirs[n][len] = '\0';
                n++;
            }
            p += len;
            if (*p == ':') p++;
        }
    }
    char *inst = install_dir();
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        char *r = realpath(dirs[i], NULL);
        if (strcmp(dirs[i], inst) == 0 || (r && strcmp(r, inst) == 0)) seen = 1;
        free(r);
    }
    dirs = xrealloc(dirs, (n + 2) * sizeof *dirs);
    if (seen)
        free(inst);
    else
        dirs[n++] = inst;
    dirs[n] = NULL;
    return dirs;
}

int kiln_registry_load_default(kiln_registry *reg) {
    char **dirs = kiln_registry_search_dirs();
    for (size_t i = 0; dirs[i]; i++) {
        kiln_registry_load_dir(reg, dirs[i]);
        free(dirs[i]);
    }
    free(dirs);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Lookups                                                                                   */
/* ---------------------------------------------------------------------------------------- */

const kiln_op_entry *kiln_registry_find_op(const kiln_registry *reg, const char *name) {
    if (!reg || !name) return NULL;
    size_t lo = 0, hi = reg->nops;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, reg->ops[mid].def->name);
        if (c == 0) return &reg->ops[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const kiln_exporter_def *kiln_registry_find_exporter(const kiln_registry *reg, const char *name,
                                                     const kiln_plugin **plugin_out) {
    if (plugin_out) *plugin_out = NULL;
    if (!reg || !name) return NULL;
    for (size_t i = 0; i < reg->nplugins; i++) {
        const kiln_exporter_def *const *ex = reg->plugins[i].desc->exporters;
        for (size_t j = 0; ex && ex[j]; j++)
            if (strcmp(ex[j]->name, name) == 0) {
                if (plugin_out) *plugin_out = &reg->plugins[i];
                return ex[j];
            }
    }
    return NULL;
}

/* Levenshtein distance (two rows; names are short). */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t *prev = xrealloc(NULL, (lb + 1) * sizeof *prev);
    size_t *cur = xrealloc(NULL, (lb + 1) * sizeof *cur);
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1, sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t m = del < ins ? del : ins;
            cur[j] = m < sub ? m : sub;
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[lb];
    free(prev);
    free(cur);
    return d;
}

typedef struct suggestion {
    const char *name;
    int other_prefix; /* 0 when the plugin part equals the query's */
    size_t distance;
} suggestion;

static int cmp_suggestion(const void *pa, const void *pb) {
    const suggestion *a = pa, *b = pb;
    if (a->other_prefix != b->other_prefix) return a->other_prefix - b->other_prefix;
    if (a->distance != b->distance) return a->distance < b->distance ? -1 : 1;
    return strcmp(a->name, b->name);
}

void kiln_registry_suggest(const kiln_registry *reg, const char *name, char *buf, size_t buflen) {
    if (!buf || buflen == 0) return;
    buf[0] = '\0';
    if (!reg || !name || reg->nops == 0) return;
    const char *qdot = strchr(name, '.');
    size_t qplen = qdot ? (size_t)(qdot - name) : 0;
    const char *qsuffix = qdot ? qdot + 1 : name;
    size_t len = strlen(name);
    size_t limit = len / 3 > 2 ? len / 3 : 2; /* "close": about a third of the name may differ */

    suggestion *s = xrealloc(NULL, reg->nops * sizeof *s);
    size_t n = 0;
    for (size_t i = 0; i < reg->nops; i++) {
        const char *cand = reg->ops[i].def->name;
        const char *cdot = strchr(cand, '.');
        size_t cplen = cdot ? (size_t)(cdot - cand) : strlen(cand);
        int same_prefix = qdot && qplen == cplen && strncmp(name, cand, qplen) == 0;
        size_t d = edit_distance(name, cand);
        /* "echo" or "tset.echo" for "test.echo": the op part alone matches. */
        if (cdot && strcmp(qsuffix, cdot + 1) == 0 && d > 1) d = 1;
        if (d > limit) continue;
        s[n].name = cand;
        s[n].other_prefix = !same_prefix;
        s[n].distance = d;
        n++;
    }
    qsort(s, n, sizeof *s, cmp_suggestion);
    size_t used = 0;
    for (size_t i = 0; i < n && i < 3; i++) {
        int w = snprintf(buf + used, buflen - used, "%s'%s'", i ? ", " : "", s[i].name);
        if (w < 0 || (size_t)w >= buflen - used) {
            /* Does not fit: keep only whole entries. */
            buf[used] = '\0';
            break;
        }
        used += (size_t)w;
    }
    free(s);
}
