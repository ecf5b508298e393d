/* graph.h -- parsing a graph spec (JSON, version 1; see DESIGN.md) into plain structs.
 * Parsing checks only the document's shape (kinds of values, names, references' syntax);
 * checks against plugins' ops are validate.c's job. */
#ifndef KILN_GRAPH_H
#define KILN_GRAPH_H

#include <stddef.h>
#include <jansson.h>
#include "diag.h"

/* One reference "node.port". */
typedef struct kiln_ref {
    char *node; /* owned */
    char *port; /* owned */
} kiln_ref;

/* One wired input port: "port": "node.port" or "port": ["a.port", "b.port"]. */
typedef struct kiln_graph_input {
    char *port;       /* owned: the consumer's port name   */
    kiln_ref *refs;   /* owned array                       */
    size_t nrefs;
    int is_array;     /* written as a JSON array            */
} kiln_graph_input;

typedef struct kiln_graph_node {
    char *name;               /* owned: [A-Za-z0-9_-]+, unique          */
    char *op;                 /* owned: "cpu.train"                      */
    json_t *params;           /* owned ref: object ({} when absent)      */
    json_t *sweep;            /* owned ref: object of non-empty arrays, or NULL */
    kiln_graph_input *inputs; /* owned array, in the document's order    */
    size_t ninputs;
    double timeout_s;         /* 0: none                                 */
    int retries;              /* 0: none                                 */
    int line;                 /* line of the node in the file (0: unknown) */
} kiln_graph_node;

typedef struct kiln_graph {
    char *path;               /* owned: as given (for messages)                        */
    char *dir;                /* owned: absolute directory of the file (for relative input paths) */
    char *name;               /* owned: "name" of the graph ("" when absent)           */
    kiln_graph_node *nodes;   /* owned array, in the document's order                  */
    size_t nnodes;
} kiln_graph;

/* Parses the file at `path`. Every problem found is added to diags as
 * "PATH:LINE:COL: ..." for malformed JSON, or "PATH: node 'x': <json path>: expected ..."
 * for shape errors. Returns the graph (possibly with problems, callers check
 * diags->count), or NULL when the document could not be read or parsed at all. */
kiln_graph *kiln_graph_parse_file(const char *path, kiln_diags *diags);

/* Same, from text; `path` is used for messages and to resolve relative files. */
kiln_graph *kiln_graph_parse_text(const char *text, size_t len, const char *path,
                                  kiln_diags *diags);

void kiln_graph_free(kiln_graph *g);

/* Index of the node named `name`, or -1. */
long kiln_graph_find(const kiln_graph *g, const char *name);

#endif
