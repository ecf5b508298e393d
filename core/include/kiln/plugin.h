/*
 * kiln/plugin.h -- the kiln plugin ABI. Everything a plugin needs, nothing else.
 *
 * A plugin is a shared object that exports ONE symbol, `kiln_plugin_descriptor`, a function
 * returning a pointer to a static, const `kiln_plugin_desc`. The host (libkiln) opens the
 * object with dlopen(RTLD_NOW | RTLD_LOCAL), calls that function, and checks the descriptor
 * field by field before it uses anything in it:
 *
 *   - abi_major must equal KILN_PLUGIN_ABI_MAJOR of the host (a different major is refused),
 *   - abi_minor must be <= the host's minor (a plugin built against a newer header is refused),
 *   - struct_size must be at least the size of the version-1.0 descriptor,
 *   - name and version must be non-empty; op names must start with "<plugin name>." and be
 *     unique across every loaded plugin,
 *   - every op's tables (ports, schema) are parsed and checked; a bad op refuses the plugin.
 *
 * If the descriptor has an `init` function the host calls it once after the checks; a
 * non-zero return refuses the plugin with the message the plugin put in `err` (for example:
 * "no CUDA device"). `kiln plugins` lists what loaded and what was refused, and why.
 *
 * Ops are static data (kiln_op_def). The host runs an op by calling its `run` entry with the
 * host API table (kiln_host_api) and an opaque context. An op talks to the world ONLY through
 * that table: params, input files, output files, scratch and checkpoint directories, log,
 * progress, metrics, cancellation, errors, and the shared format helpers (safetensors, JSON).
 * Every op runs in its own child process (`kiln exec-node`), so a crash fails that node only.
 *
 * Compatibility rules (append-only, as SQLite's sqlite3_api_routines and Redis' module API):
 *   - kiln_host_api only grows at its end. A plugin built against minor N may use every slot
 *     of minor <= N; before using a slot added later than the host it runs on, it checks
 *     `host->struct_size` (use KILN_HOST_HAS(host, slot)).
 *   - kiln_plugin_desc, kiln_op_def and kiln_exporter_def carry struct_size and only grow at
 *     their end. kiln_port_def has no struct_size (the host walks port tables by its own
 *     element size), so its layout is frozen for ABI major 1; a port change means major 2.
 *
 * Ownership (jansson/libuv style): a function named *_new or *_open returns something the
 * caller owns and must release with the paired *_free / *_close; every other pointer the host
 * returns is BORROWED and valid until the op's run() returns. Functions that can fail return
 * an int: 0 on success, a negative KILN_E* code on failure, with a message in kiln_error.
 */
#ifndef KILN_PLUGIN_H
#define KILN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version of this header. Major: incompatible change. Minor: something was appended. */
#define KILN_PLUGIN_ABI_MAJOR 1
#define KILN_PLUGIN_ABI_MINOR 1 /* 1.1: KILN_OP_KEY_INPUT_INFO */

/* The one symbol a plugin exports. */
#define KILN_PLUGIN_SYMBOL "kiln_plugin_descriptor"

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Negative error codes returned by host functions and by an op's run(). */
enum kiln_status {
    KILN_OK = 0,
    KILN_EINVAL = -1,     /* bad argument, bad param value, bad input content            */
    KILN_EIO = -2,        /* a read, write, fsync or rename failed (errno in the message)  */
    KILN_EFORMAT = -3,    /* a file is not in the expected format (safetensors, JSON, ...)  */
    KILN_ENOMEM = -4,     /* out of memory                                                 */
    KILN_ECANCELLED = -5, /* the node was cancelled; return this from run() after cancel    */
    KILN_EABI = -6,       /* ABI mismatch (plugin loading)                                 */
    KILN_ENOTFOUND = -7,  /* no such port, param, tensor, file                             */
    KILN_EINTERNAL = -8   /* a bug: an invariant did not hold                              */
};

#define KILN_ERROR_MESSAGE_MAX 1024

/* An error: a negative code and a human message that names the file, field and what was
 * expected. Zero-initialise before use; kiln_error.code == 0 means "no error". */
typedef struct kiln_error {
    int code;
    char message[KILN_ERROR_MESSAGE_MAX];
} kiln_error;

/* ---------------------------------------------------------------------------------------- */
/* Ports                                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* What an artifact is. Validation checks that an input port and the output it is wired to
 * have the same type (KILN_TYPE_FILE accepts any type). */
typedef enum kiln_port_type {
    KILN_TYPE_DATASET = 1, /* safetensors: x [N, ...] float32|uint8, y [N] int64              */
    KILN_TYPE_MODEL = 2,   /* safetensors: nn.Sequential state_dict + JSON __metadata__      */
    KILN_TYPE_METRICS = 3, /* JSON object                                                    */
    KILN_TYPE_WHEEL = 4,   /* a .whl file                                                    */
    KILN_TYPE_FILE = 5     /* any file                                                       */
} kiln_port_type;

/* Input cardinality. A ONE input takes exactly one artifact; when it is wired to a swept
 * node, the consumer is expanded alongside it (one consumer instance per producer instance).
 * A LIST input gathers every instance of the producer (that is how a selector sees a sweep). */
typedef enum kiln_port_cardinality {
    KILN_ONE = 0,
    KILN_LIST = 1
} kiln_port_cardinality;

/* Port flags. */
#define KILN_PORT_OPTIONAL 0x1u /* input: may be left unwired                           */

/* One input or output port. Tables of ports end with an entry whose name is NULL. */
typedef struct kiln_port_def {
    const char *name;                  /* [a-z][a-z0-9_]*, unique within the table        */
    kiln_port_type type;               /* what flows through it                           */
    kiln_port_cardinality cardinality; /* inputs only; outputs are always ONE             */
    uint32_t flags;                    /* KILN_PORT_* flags                               */
    const char *file_name;             /* outputs: default file name when copied out of
                                          the store ("model.safetensors"); NULL: the port
                                          name. An op may rename at run time
                                          (host->set_output_name), e.g. a wheel's name.   */
    const char *summary;               /* one line for `kiln plugins`                     */
} kiln_port_def;

/* ---------------------------------------------------------------------------------------- */
/* Ops                                                                                       */
/* ---------------------------------------------------------------------------------------- */

/* Op flags. */
#define KILN_OP_DETERMINISTIC 0x1u /* same inputs and params give the same output bytes; only
                                      deterministic ops are served from the action cache */
#define KILN_OP_NEEDS_GPU 0x2u     /* queue for a GPU slot                                */
#define KILN_OP_NO_CACHE 0x4u      /* never served from the cache, always run             */
#define KILN_OP_KEY_INPUT_INFO 0x8u /* (ABI 1.1) the output depends on which instances produced
                                       the inputs (their names, as input_info gives them), not
                                       only on the inputs' bytes: the action key then also holds
                                       each input's producing instance name (e.g. eval.select,
                                       whose table names the candidates)                     */

typedef struct kiln_ctx kiln_ctx; /* opaque: one running op instance */
typedef struct kiln_host_api kiln_host_api;

/* Runs one op instance. Returns 0 on success. On failure returns a negative KILN_E* code
 * after calling host->fail(ctx, ...) with a message that names the input, param or step
 * that is wrong; outputs written so far are discarded by the host (nothing half-written
 * reaches the store). After host->cancelled(ctx) turns true, return KILN_ECANCELLED soon. */
typedef int (*kiln_op_run_fn)(const kiln_host_api *host, kiln_ctx *ctx);

/* An op: static data plus one entry point (nginx-style descriptor table). */
typedef struct kiln_op_def {
    uint32_t struct_size;          /* sizeof(kiln_op_def) as the plugin was built          */
    const char *name;              /* "<plugin>.<op>", e.g. "cpu.train"                    */
    const char *summary;           /* one line for `kiln plugins`                          */
    const char *params_schema;     /* JSON Schema subset as a string (see below); NULL:
                                      the op takes no params                              */
    const kiln_port_def *inputs;   /* NULL-name terminated; NULL: no inputs                */
    const kiln_port_def *outputs;  /* NULL-name terminated; at least one output            */
    uint32_t flags;                /* KILN_OP_* flags                                      */
    uint32_t threads;              /* CPU threads the op wants; 0 means 1. When the params
                                      have an integer "threads", that value wins.          */
    kiln_op_run_fn run;            /* the entry point                                      */
} kiln_op_def;

/*
 * The params schema subset (JSON Schema draft 2020-12 vocabulary, object at the top):
 *
 *   {"type": "object",
 *    "properties": {
 *       "lr":     {"type": "number", "exclusiveMinimum": 0, "default": 0.01,
 *                  "description": "learning rate"},
 *       "hidden": {"type": "array", "items": {"type": "integer", "minimum": 1},
 *                  "minItems": 1, "default": [128]},
 *       "images": {"type": "string", "format": "input-file"},
 *       "mode":   {"type": "string", "enum": ["max", "min"], "default": "max"}},
 *    "required": ["images"]}
 *
 * Keywords: type (string|number|integer|boolean|array|object, or a list of them), enum,
 * const, default, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
 * maxLength, minItems, maxItems, items, properties, required, description.
 * Unknown params are always errors (additionalProperties is false). Defaults are filled
 * before the action key is computed; integers given for a "number" are keyed as numbers.
 * "format": "input-file" marks a string that names an input file: the core resolves it
 * (relative to the graph file), checks it exists and keys the node by the file's sha256,
 * never by its path or mtime. The op receives the absolute path.
 */

/* ---------------------------------------------------------------------------------------- */
/* Exporters (graph -> another build system; the Bazel bridge)                               */
/* ---------------------------------------------------------------------------------------- */

typedef struct kiln_exporter_def {
    uint32_t struct_size; /* sizeof(kiln_exporter_def) as the plugin was built             */
    const char *name;     /* "bazel": `kiln export bazel GRAPH -o DIR`                      */
    const char *summary;  /* one line                                                      */
    /* Writes the export of `plan` (the expanded instance graph as JSON, the same document
     * `kiln plan --json` prints) into out_dir, which exists and is empty. `options` holds
     * exporter options from the command line (borrowed). Returns 0 or a negative code with
     * a message in err. */
    int (*export_plan)(const kiln_host_api *host, const json_t *plan, const char *out_dir,
                       const json_t *options, kiln_error *err);
} kiln_exporter_def;

/* ---------------------------------------------------------------------------------------- */
/* The plugin descriptor                                                                     */
/* ---------------------------------------------------------------------------------------- */

typedef struct kiln_plugin_desc {
    uint32_t abi_major;                      /* KILN_PLUGIN_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;                      /* KILN_PLUGIN_ABI_MINOR the plugin was built with */
    uint32_t struct_size;                    /* sizeof(kiln_plugin_desc) as built              */
    const char *name;                        /* "cpu": also the prefix of its op names         */
    const char *version;                     /* "1.2.0": part of every action key of its ops   */
    const char *summary;                     /* one line                                       */
    const kiln_op_def *const *ops;           /* NULL-terminated; may be NULL (exporter only)   */
    const kiln_exporter_def *const *exporters; /* NULL-terminated; may be NULL                 */
    /* Optional. Called once after the checks. Return 0 to load; non-zero to refuse, with a
     * reason in err ("no CUDA device found"). Must not keep `host` beyond the call. */
    int (*init)(const kiln_host_api *host, kiln_error *err);
} kiln_plugin_desc;

/* The exported function: `KILN_PLUGIN_EXPORT const kiln_plugin_desc *kiln_plugin_descriptor(void)`.
 * KILN_PLUGIN_DEFINE(desc_variable) writes it for you. */
#if defined(__GNUC__)
#define KILN_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define KILN_PLUGIN_EXPORT
#endif

#define KILN_PLUGIN_DEFINE(desc)                                                   \
    KILN_PLUGIN_EXPORT const kiln_plugin_desc *kiln_plugin_descriptor(void);      \
    KILN_PLUGIN_EXPORT const kiln_plugin_desc *kiln_plugin_descriptor(void) {     \
        return &(desc);                                                           \
    }

/* ---------------------------------------------------------------------------------------- */
/* Shared formats: safetensors                                                               */
/* ---------------------------------------------------------------------------------------- */

/* Element types (safetensors dtype strings in comments). */
typedef enum kiln_dtype {
    KILN_DTYPE_F32 = 1, /* "F32" */
    KILN_DTYPE_F64 = 2, /* "F64" */
    KILN_DTYPE_U8 = 3,  /* "U8"  */
    KILN_DTYPE_I32 = 4, /* "I32" */
    KILN_DTYPE_I64 = 5, /* "I64" */
    KILN_DTYPE_F16 = 6, /* "F16" */
    KILN_DTYPE_BF16 = 7, /* "BF16" */
    KILN_DTYPE_I8 = 8,  /* "I8"  */
    KILN_DTYPE_BOOL = 9 /* "BOOL" */
} kiln_dtype;

#define KILN_TENSOR_MAX_DIMS 8

/* A tensor as read from (or to be written to) a safetensors file. */
typedef struct kiln_tensor {
    const char *name;                      /* borrowed                                    */
    kiln_dtype dtype;
    int ndim;                              /* 0..KILN_TENSOR_MAX_DIMS                     */
    int64_t shape[KILN_TENSOR_MAX_DIMS];
    const void *data;                      /* borrowed; little-endian, C order            */
    size_t nbytes;                         /* product(shape) * element size              */
} kiln_tensor;

typedef struct kiln_tensors kiln_tensors;             /* an open safetensors file (read-only, mmap) */
typedef struct kiln_tensors_writer kiln_tensors_writer; /* a safetensors file being assembled  */

/* ---------------------------------------------------------------------------------------- */
/* The host API table                                                                        */
/* ---------------------------------------------------------------------------------------- */

/* Log levels for host->log. */
typedef enum kiln_log_level {
    KILN_LOG_DEBUG = 0,
    KILN_LOG_INFO = 1,
    KILN_LOG_WARN = 2,
    KILN_LOG_ERROR = 3
} kiln_log_level;

/* True when the host's table has `slot` (check before using a slot newer than 1.0). */
#define KILN_HOST_HAS(host, slot) \
    ((host)->struct_size >= offsetof(kiln_host_api, slot) + sizeof((host)->slot))

#if defined(__GNUC__)
#define KILN_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define KILN_PRINTF(fmt_index, first_arg)
#endif

struct kiln_host_api {
    uint32_t struct_size; /* sizeof(kiln_host_api) as the HOST was built                  */
    uint32_t abi_major;   /* the host's KILN_PLUGIN_ABI_MAJOR                               */
    uint32_t abi_minor;   /* the host's KILN_PLUGIN_ABI_MINOR                               */

    /* --- params -------------------------------------------------------------------------- */

    /* The node's params after defaults were filled in: a JSON object (borrowed). Params
     * named by the schema as input files hold absolute paths. */
    const json_t *(*params)(kiln_ctx *ctx);

    /* --- inputs ------------------------------------------------------------------------- */

    /* Number of artifacts on input `port`: 0 or 1 for a ONE port (0 when an optional port
     * is unwired), any number for a LIST port. Unknown port: -1. */
    int (*input_count)(kiln_ctx *ctx, const char *port);

    /* Path of artifact `index` on input `port`, a read-only file (borrowed string), or NULL
     * when there is no such port or index. Do not write to it: it is the store's copy. */
    const char *(*input_path)(kiln_ctx *ctx, const char *port, int index);

    /* Facts about artifact `index` on input `port` (borrowed JSON object, or NULL):
     *   {"node": "train[lr=0.05]", "port": "model", "digest": "<sha256 hex>",
     *    "params": {...the producer's params...}, "sweep": {"lr": 0.05}}
     * eval.select uses it to tabulate a sweep's candidates. */
    const json_t *(*input_info)(kiln_ctx *ctx, const char *port, int index);

    /* --- outputs ------------------------------------------------------------------------ */

    /* Path where the op must write output `port` (borrowed), in the node's private output
     * directory. The file does not exist yet. After run() returns 0 the host checks every
     * declared output was written and moves each into the content-addressed store
     * atomically. NULL for an unknown port. */
    const char *(*output_path)(kiln_ctx *ctx, const char *port);

    /* Sets the file name the output is copied out under (`kiln get`, `kiln run --out`),
     * replacing the port's default file_name. Must be a plain file name (no '/', not "." or
     * ".."). Returns 0 or KILN_EINVAL / KILN_ENOTFOUND. */
    int (*set_output_name)(kiln_ctx *ctx, const char *port, const char *file_name);

    /* --- directories -------------------------------------------------------------------- */

    /* A private scratch directory, empty at start, deleted after the node ends (borrowed). */
    const char *(*scratch_dir)(kiln_ctx *ctx);

    /* A checkpoint directory that belongs to this node instance's action key and survives
     * failures, retries, kills and re-runs: training writes a checkpoint here each epoch and
     * resumes from it. Removed by the host once the node succeeded and was cached. */
    const char *(*checkpoint_dir)(kiln_ctx *ctx);

    /* --- reporting ---------------------------------------------------------------------- */

    /* A log line (printf format, no trailing newline needed). Goes to the node's log
     * artifact and, as a "log" event, to watchers. */
    void (*log)(kiln_ctx *ctx, kiln_log_level level, const char *fmt, ...) KILN_PRINTF(3, 4);

    /* Progress: `done` of `total` `unit`s ("epoch", "batch", "sample", "byte"). total may
     * be 0 when unknown. Cheap: the host rate-limits the events it sends. */
    void (*progress)(kiln_ctx *ctx, double done, double total, const char *unit);

    /* A metric value at `step` (an epoch, say): "val_accuracy" = 0.91 at step 3. Goes out
     * as a "metric" event and into the node's record in the action cache. */
    void (*metric)(kiln_ctx *ctx, const char *name, double value, int64_t step);

    /* True once the node was asked to stop (SIGTERM from the scheduler). Poll it between
     * batches; then return KILN_ECANCELLED. */
    int (*cancelled)(kiln_ctx *ctx);

    /* Records why the op failed (printf format). Name the input/param/step and what was
     * expected. Returns KILN_EINVAL for convenience: `return host->fail(ctx, ...);`.
     * The first message wins; later calls append nothing. */
    int (*fail)(kiln_ctx *ctx, const char *fmt, ...) KILN_PRINTF(2, 3);

    /* CPU threads this node may use (its resource slot). */
    int (*threads)(kiln_ctx *ctx);

    /* --- safetensors reading ------------------------------------------------------------ */

    /* Opens a safetensors file read-only (mmap). Validates the header (JSON, dtypes, shapes,
     * offsets inside the file, no overlap, size matching). Returns a new handle, or NULL
     * with err set (message names the file and what is wrong). Free with tensors_close. */
    kiln_tensors *(*tensors_open)(const char *path, kiln_error *err);

    /* Releases a handle from tensors_open. NULL is ignored. */
    void (*tensors_close)(kiln_tensors *t);

    /* The number of tensors, and tensor `index` (0..count-1) in header order. Returns 0, or
     * KILN_ENOTFOUND for a bad index. `out` borrows from `t`. */
    int (*tensors_count)(const kiln_tensors *t);
    int (*tensors_at)(const kiln_tensors *t, int index, kiln_tensor *out);

    /* Looks a tensor up by name. Returns 0 or KILN_ENOTFOUND. `out` borrows from `t`. */
    int (*tensors_get)(const kiln_tensors *t, const char *name, kiln_tensor *out);

    /* The file's "__metadata__" as a JSON object of string values (safetensors metadata is
     * a string->string map; kiln stores structured facts as JSON text in those strings).
     * Returns a borrowed object (an empty object when the file has no metadata). */
    const json_t *(*tensors_metadata)(const kiln_tensors *t);

    /* --- safetensors writing ------------------------------------------------------------ */

    /* Starts a new file. Free with tensors_writer_free (after or instead of finishing). */
    kiln_tensors_writer *(*tensors_writer_new)(void);

    /* Adds a tensor. The data is COPIED unless `borrow` is non-zero, in which case `data`
     * must stay valid until tensors_writer_finish returns. Names must be unique. Returns 0,
     * KILN_EINVAL (duplicate name, bad dtype/shape) or KILN_ENOMEM. */
    int (*tensors_writer_add)(kiln_tensors_writer *w, const char *name, kiln_dtype dtype,
                              int ndim, const int64_t *shape, const void *data, int borrow,
                              kiln_error *err);

    /* Sets one "__metadata__" entry (safetensors metadata values are strings). */
    int (*tensors_writer_set_meta)(kiln_tensors_writer *w, const char *key, const char *value);

    /* Writes the file to `path` atomically (temporary name, fsync, rename). Tensors are laid
     * out larger element size first, then by name (the reference writer's order), header keys
     * sorted and padded to 8 bytes: the same content gives the same bytes, and every
     * tensor's data is aligned to its element size. */
    int (*tensors_writer_finish)(kiln_tensors_writer *w, const char *path, kiln_error *err);

    /* Releases the writer. NULL is ignored. */
    void (*tensors_writer_free)(kiln_tensors_writer *w);

    /* --- JSON artifacts (metrics) ------------------------------------------------------- */

    /* Reads a JSON file into a new reference (caller owns: json_decref), or NULL with err
     * set (file, line:column, what is wrong). */
    json_t *(*json_read)(const char *path, kiln_error *err);

    /* Writes `value` (borrowed) to `path` atomically, keys sorted, 2-space indent, trailing
     * newline: deterministic bytes. */
    int (*json_write)(const char *path, const json_t *value, kiln_error *err);

    /* --- hashing ------------------------------------------------------------------------ */

    /* sha256 of a file as 64 lowercase hex chars + NUL into hex_out[65]. */
    int (*sha256_file)(const char *path, char hex_out[65], kiln_error *err);

    /* APPEND NEW SLOTS BELOW THIS LINE ONLY (bump KILN_PLUGIN_ABI_MINOR). */
};

/* Element size in bytes of a dtype; 0 for an unknown dtype. */
static inline size_t kiln_dtype_size(kiln_dtype dtype) {
    switch (dtype) {
    case KILN_DTYPE_F64:
    case KILN_DTYPE_I64: return 8;
    case KILN_DTYPE_F32:
    case KILN_DTYPE_I32: return 4;
    case KILN_DTYPE_F16:
    case KILN_DTYPE_BF16: return 2;
    case KILN_DTYPE_U8:
    case KILN_DTYPE_I8:
    case KILN_DTYPE_BOOL: return 1;
    }
    return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* KILN_PLUGIN_H */
