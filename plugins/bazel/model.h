/* model.h -- what a Bazel workspace of a kiln plan holds, before any text is written: one
 * target per instance (its name, output files, labelled inputs, data files, params as JSON
 * text), a filegroup per swept node, a py_test per wheel, the data files and the plugins.
 *
 * kb_model_build reads the plan JSON (kiln_plan_to_json's shape, what exporters receive)
 * and the exporter options, checks them, maps names (names.h) and reports two things with
 * one label as an error. Everything in the model is owned by it; kb_model_free frees it. */
#ifndef KILN_BAZEL_MODEL_H
#define KILN_BAZEL_MODEL_H

#include <stddef.h>
#include <jansson.h>

#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kb_output {
    char *port;      /* output port                                                  */
    char *rel;       /* path under <target>/: "model.safetensors" or "<port>/<file>"   */
    char *type;      /* "model", "wheel", ...                                        */
} kb_output;

typedef struct kb_input {
    char *port;      /* input port                                                   */
    char **labels;   /* producers' output files, in graph order: ":train/model.safetensors" */
    size_t nlabels;
} kb_input;

typedef struct kb_file_param {
    char *param;     /* input-file param ("images")                                  */
    size_t data;     /* index into model->data                                       */
} kb_file_param;

typedef struct kb_target {
    char *name;          /* target name: "train__lr_0.05"                             */
    char *instance;      /* instance name: "train[lr=0.05]"                           */
    char *node, *op, *plugin;
    char *params;        /* JSON text, input-file params left out                     */
    char *sweep;         /* JSON text, NULL when the instance is not swept            */
    kb_output *outs;     size_t nouts;   /* sorted by port */
    kb_input *ins;       size_t nins;    /* sorted by port */
    kb_file_param *files; size_t nfiles; /* sorted by param */
    int cache;           /* deterministic and not no_cache                           */
    char *wheel_test;    /* py_test name when the op is wheel.package, else NULL       */
    char *wheel_label;   /* ":<target>/<rel>" of its wheel output                      */
} kb_target;

typedef struct kb_group {
    char *name;          /* the node's name (mapped like a target)                     */
    char *node;
    char **members;      /* ":<target>" of every instance, in plan order              */
    size_t nmembers;
} kb_group;

typedef struct kb_data {
    char *src;           /* absolute path the plan names                               */
    char *rel;           /* "data/<file>" or "data/<sha256 prefix>/<file>"             */
    char *sha256;
} kb_data;

typedef struct kb_plugin_ref {
    char *name;          /* plugin name ("test")                                       */
    char *path;          /* absolute path of its .so, from the options                 */
} kb_plugin_ref;

typedef struct kb_model {
    char *graph_name;    /* the graph's "name"                                         */
    char *graph_file;    /* file name of the graph, for comments                       */
    char *workspace;     /* workspace name: [A-Za-z][A-Za-z0-9_]*                       */
    char *kiln;          /* kiln binary for Bazel actions                              */
    char **libs;         size_t nlibs;
    int link_data;       /* options "data": "link": symlink data files, else copy       */
    kb_target *targets;  size_t ntargets;   /* plan order */
    kb_group *groups;    size_t ngroups;    /* sorted by name */
    kb_data *data;       size_t ndata;      /* sorted by rel */
    kb_plugin_ref *plugins; size_t nplugins; /* the plugins used, sorted by name */
    size_t nwheel_tests;
} kb_model;

/* Builds the model. Options (an object; NULL means none):
 *   "kiln": "/abs/bin/kiln"             required: the kiln binary Bazel actions run
 *   "kiln_libs": ["/abs/libkiln.so.0"]  libraries it loads, tracked as action inputs
 *   "plugins": {"test": "/abs/x.so"}    required for every plugin the plan's ops come from
 *   "data": "copy" | "link"            how data files enter the workspace (copy)
 *   "graph_file": "name.json"           shown in comments (default: the plan's graph path)
 * Returns a new model, or NULL with err set (bad option, missing plugin path, two things
 * with one label, malformed plan). */
kb_model *kb_model_build(const json_t *plan, const json_t *options, kiln_error *err);

void kb_model_free(kb_model *m);

#ifdef __cplusplus
}
#endif

#endif
