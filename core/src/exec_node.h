/* exec_node.h -- `kiln exec-node`: run ONE op instance from a spec file in this process.
 * Every executor (kiln run, the API server, Bazel actions) runs nodes through it.
 *
 * Spec (JSON, written by the caller):
 *   {"kiln_spec": 1,
 *    "plugin_path": "/abs/libkiln_cpu.so",       the one plugin to load
 *    "op": "cpu.train", "node": "train[lr=0.05]", "job": "r-20261123-...",
 *    "params": {...},                             defaults filled, files absolute
 *    "inputs": {"port": [{"path": "/abs/file", "info": {...input_info...}}]},
 *    "outputs": {"port": {"type": "model", "file_name": "model.safetensors"}},
 *    "work_dir": "/abs/dir",                      private; out/ and scratch/ are made in it
 *    "checkpoint_dir": "/abs/dir",                survives retries
 *    "threads": 2,
 *    "store": "/abs/KILN_HOME",                   optional: put outputs into this CAS
 *    "output_paths": {"port": "/abs/file"}}       optional: also copy outputs here (Bazel)
 *
 * Events (events.h) go as JSON lines to `events_fd` (-1: none); the last one is a "result".
 * Plugin log lines also go to stderr, which the caller captures into the node's log.
 * Exit status: 0 ok; 1 the op failed; 2 bad spec or usage; 3 the plugin did not load;
 * 4 outputs could not be stored; 143 cancelled by SIGTERM. */
#ifndef KILN_EXEC_NODE_H
#define KILN_EXEC_NODE_H

/* Runs the node described by the spec file. Returns the process exit status above. */
int kiln_exec_node(const char *spec_path, int events_fd);

#endif
