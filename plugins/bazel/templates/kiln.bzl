"""Bazel rules for kiln graphs, written by `kiln export bazel` (do not edit: re-export).

kiln_node: one node instance of a kiln graph. Its action runs `kiln exec-node`, the code
path `kiln run` runs every node by, on a spec file that names the action's inputs and
declared outputs inside its sandbox. Inputs are labelled files: outputs of other kiln_node
targets and the graph's input data files, which exec-node checks against the sha256 the
graph was planned with. Deterministic ops give the same bytes as under `kiln run`.

kiln_toolchain: the repository (@kiln) holding the kiln binary, its library and the
plugins the graph uses, linked from the paths recorded at export time, or from
--repo_env=KILN_BAZEL_KILN=/path/to/bin/kiln and
--repo_env=KILN_BAZEL_PLUGIN_PATH=dir1:dir2 when set.
"""

KilnNodeInfo = provider(
    doc = "A kiln node instance: what its consumers pass on as input_info.",
    fields = {
        "node": "the instance name, as `kiln run` names it: train[lr=0.05]",
        "outputs": "dict: output port -> File",
        "params": "the params the op ran with, as JSON text",
        "sweep": "the instance's sweep values, as JSON text",
    },
)

# $1 kiln, $2 spec, $3 work dir, $4 log. The op's log goes to the log file; on failure it
# is shown. The work dir (out/, scratch/) is private to the action and removed after it.
_RUN_NODE = """\
rm -rf "$3"
if "$1" exec-node --spec "$2" 2>"$4"; then
    rm -rf "$3"
else
    rc=$?
    cat "$4" >&2
    rm -rf "$3"
    exit "$rc"
fi
"""

def _single_file(target, what):
    files = target.files.to_list()
    if len(files) != 1:
        fail("%s: expected exactly one file from %s, got %d" % (what, target.label, len(files)))
    return files[0]

def _kiln_node_impl(ctx):
    params = json.decode(ctx.attr.params)
    action_inputs = [ctx.file.plugin]

    # Input data files: labelled sources, checked by exec-node against their sha256.
    file_digests = {}
    for i, param in enumerate(ctx.attr.file_params):
        f = _single_file(ctx.attr.file_srcs[i], "param '%s'" % param)
        params[param] = f.path
        file_digests[param] = ctx.attr.file_sha256s[i]
        action_inputs.append(f)

    # Inputs by port, in graph order, with the producer's facts (exec-node adds the digest).
    inputs = {}
    for i, port in enumerate(ctx.attr.input_ports):
        f = _single_file(ctx.attr.input_files[i], "input '%s'" % port)
        producer = ctx.attr.input_producers[i][KilnNodeInfo]
        producer_port = None
        for p, out in producer.outputs.items():
            if out == f:
                producer_port = p
        if producer_port == None:
            fail("input '%s': %s is not an output of %s" % (port, f.short_path, ctx.attr.input_producers[i].label))
        info = {
            "node": producer.node,
            "params": json.decode(producer.params),
            "port": producer_port,
            "sweep": json.decode(producer.sweep),
        }
        inputs.setdefault(port, []).append({"info": info, "path": f.path})
        action_inputs.append(f)

    outputs = {}
    for i, port in enumerate(ctx.attr.out_ports):
        outputs[port] = ctx.outputs.out_files[i]
    log = ctx.actions.declare_file(ctx.label.name + ".kiln.log")
    spec = ctx.actions.declare_file(ctx.label.name + ".kiln_spec.json")
    work_dir = spec.path[:-len(".kiln_spec.json")] + ".kiln_work"
    ctx.actions.write(spec, json.encode({
        "file_digests": file_digests,
        "inputs": inputs,
        "job": "bazel",
        "kiln_spec": 1,
        "node": ctx.attr.node,
        "op": ctx.attr.op,
        "output_paths": {port: f.path for port, f in outputs.items()},
        "params": params,
        "plugin_path": ctx.file.plugin.path,
        "relative_paths": True,
        "work_dir": work_dir,
    }))
    ctx.actions.run_shell(
        command = _RUN_NODE,
        arguments = [ctx.executable._kiln.path, spec.path, work_dir, log.path],
        inputs = action_inputs + [spec],
        tools = [ctx.executable._kiln] + ctx.files._kiln_libs,
        outputs = list(outputs.values()) + [log],
        mnemonic = "KilnNode",
        progress_message = "kiln %s %s" % (ctx.attr.op, ctx.attr.node),
        # Ops that are not deterministic (or ask not to be cached) are never shared
        # through --disk_cache or --remote_cache, as `kiln run` never serves them cached.
        execution_requirements = {} if ctx.attr.cache else {"no-cache": "1"},
    )
    return [
        DefaultInfo(files = depset(list(outputs.values()))),
        OutputGroupInfo(kiln_logs = depset([log])),
        KilnNodeInfo(
            node = ctx.attr.node,
            outputs = outputs,
            params = json.encode(params),
            sweep = ctx.attr.sweep,
        ),
    ]

_kiln_node = rule(
    implementation = _kiln_node_impl,
    doc = "One kiln node instance; use the kiln_node macro.",
    attrs = {
        "cache": attr.bool(default = True, doc = "False: never taken from or put in a shared cache"),
        "file_params": attr.string_list(doc = "input-file params, parallel to file_srcs"),
        "file_sha256s": attr.string_list(doc = "their sha256, parallel to file_srcs"),
        "file_srcs": attr.label_list(allow_files = True, doc = "input data files"),
        "input_files": attr.label_list(allow_files = True, doc = "producers' output files"),
        "input_ports": attr.string_list(doc = "input port of each input_files entry"),
        "input_producers": attr.label_list(providers = [KilnNodeInfo], doc = "producer of each input"),
        "node": attr.string(mandatory = True, doc = "the instance name in the graph"),
        "op": attr.string(mandatory = True),
        "out_files": attr.output_list(mandatory = True),
        "out_ports": attr.string_list(mandatory = True),
        "params": attr.string(default = "{}", doc = "JSON, input-file params left out"),
        "plugin": attr.label(allow_single_file = True, cfg = "exec", mandatory = True),
        "sweep": attr.string(default = "{}", doc = "JSON"),
        "_kiln": attr.label(
            default = Label("@kiln//:bin/kiln"),
            allow_single_file = True,
            executable = True,
            cfg = "exec",
        ),
        "_kiln_libs": attr.label(default = Label("@kiln//:libs"), cfg = "exec"),
    },
)

def _producer(label):
    """':train__lr_0.05/model.safetensors' -> ':train__lr_0.05' (outputs live in <target>/)."""
    colon = label.rfind(":")
    return label[:colon + 1] + label[colon + 1:].split("/")[0]

def kiln_node(
        name,
        node,
        op,
        plugin,
        outs,
        params = "{}",
        sweep = "{}",
        inputs = {},
        files = {},
        file_digests = {},
        cache = True,
        **kwargs):
    """One kiln node instance.

    Args:
      name: the target name.
      node: the instance name in the graph ("train[lr=0.05]").
      op: the op ("cpu.train").
      plugin: the plugin providing the op, a name in @kiln ("cpu").
      outs: output port -> file path under <name>/ ({"model": "model.safetensors"}).
      params: the params as JSON text, defaults filled, input-file params left out.
      sweep: the instance's sweep values as JSON text.
      inputs: input port -> list of producers' output files (":train/model.safetensors").
      files: input-file param -> data file label.
      file_digests: input-file param -> the file's sha256 when the graph was planned.
      cache: False for ops that are not deterministic (never shared through a cache).
      **kwargs: tags, visibility and the like.
    """
    input_ports = []
    input_files = []
    for port, labels in inputs.items():
        for label in labels:
            input_ports.append(port)
            input_files.append(label)
    _kiln_node(
        name = name,
        node = node,
        op = op,
        plugin = "@kiln//:plugins/%s.so" % plugin,
        out_ports = list(outs.keys()),
        out_files = ["%s/%s" % (name, path) for path in outs.values()],
        params = params,
        sweep = sweep,
        input_ports = input_ports,
        input_files = input_files,
        input_producers = [_producer(label) for label in input_files],
        file_params = list(files.keys()),
        file_srcs = list(files.values()),
        file_sha256s = [file_digests[param] for param in files.keys()],
        cache = cache,
        **kwargs
    )

def _find_on_path(rctx, path_list, name):
    for d in path_list.split(":"):
        if d and rctx.path(d + "/" + name).exists:
            return d + "/" + name
    return None

def _kiln_toolchain_impl(rctx):
    env_kiln = rctx.os.environ.get("KILN_BAZEL_KILN", "")
    env_path = rctx.os.environ.get("KILN_BAZEL_PLUGIN_PATH", "")
    links = {"bin/kiln": env_kiln or rctx.attr.kiln}
    for lib in rctx.attr.libs:
        base = lib.split("/")[-1]
        links["lib/" + base] = (env_kiln.rsplit("/", 2)[0] + "/lib/" + base) if env_kiln else lib
    plugin_files = []
    for name, path in rctx.attr.plugins.items():
        if env_path:
            found = _find_on_path(rctx, env_path, path.split("/")[-1])
            if not found:
                fail("kiln_toolchain: plugin '%s' (%s) is not in KILN_BAZEL_PLUGIN_PATH=%s" %
                     (name, path.split("/")[-1], env_path))
            path = found
        links["plugins/%s.so" % name] = path
        plugin_files.append("plugins/%s.so" % name)
    for link, target in links.items():
        if not rctx.path(target).exists:
            fail("kiln_toolchain: %s does not exist (needed as @kiln//:%s); re-export the graph, " % (target, link) +
                 "or point --repo_env=KILN_BAZEL_KILN / KILN_BAZEL_PLUGIN_PATH at an installed kiln")
        rctx.symlink(target, link)
    rctx.file("BUILD.bazel", "\n".join([
        "# Generated by kiln_toolchain (kiln.bzl).",
        "package(default_visibility = [\"//visibility:public\"])",
        "",
        "exports_files(%s)" % json.encode(["bin/kiln"] + plugin_files),
        "",
        "filegroup(",
        "    name = \"libs\",",
        "    srcs = %s," % json.encode([link for link in links.keys() if link.startswith("lib/")]),
        ")",
        "",
    ]))

kiln_toolchain = repository_rule(
    implementation = _kiln_toolchain_impl,
    doc = "The kiln binary, its library and plugins, for kiln_node actions.",
    attrs = {
        "kiln": attr.string(mandatory = True, doc = "absolute path of the kiln binary"),
        "libs": attr.string_list(doc = "absolute paths of the libraries it loads (libkiln)"),
        "plugins": attr.string_dict(doc = "plugin name -> absolute path of its .so"),
    },
    environ = ["KILN_BAZEL_KILN", "KILN_BAZEL_PLUGIN_PATH"],
    local = True,
)

# Stand-ins for the repositories Bazel 4 loads for any test (through the registered
# C++ and Java toolchains and the coverage tools) and would download: the native rules
# under the rule sets' names, and coverage tools that say coverage is unavailable.
_OFFLINE_FILES = {
    "remote_coverage_tools": {
        "BUILD.bazel": """\
package(default_visibility = ["//visibility:public"])

sh_binary(
    name = "coverage_report_generator",
    srcs = ["unavailable.sh"],
)

sh_binary(
    name = "lcov_merger",
    srcs = ["unavailable.sh"],
)
""",
        "unavailable.sh": "#!/bin/sh\necho 'coverage tools are not available offline' >&2\nexit 1\n",
    },
    "rules_cc": {
        "BUILD.bazel": "",
        "cc/BUILD.bazel": "",
        "cc/defs.bzl": "".join([
            "def %s(**kwargs):\n    native.%s(**kwargs)\n\n" % (r, r)
            for r in ["cc_binary", "cc_import", "cc_library", "cc_proto_library", "cc_test", "cc_toolchain", "cc_toolchain_suite"]
        ]),
    },
    "rules_java": {
        "BUILD.bazel": "",
        "java/BUILD.bazel": "",
        "java/defs.bzl": "".join([
            "def %s(**kwargs):\n    native.%s(**kwargs)\n\n" % (r, r)
            for r in ["java_binary", "java_import", "java_library", "java_runtime", "java_test", "java_toolchain"]
        ]),
    },
}

def _kiln_offline_repository_impl(rctx):
    if rctx.name not in _OFFLINE_FILES:
        fail("kiln_offline_repository: no stand-in for @%s (known: %s)" % (rctx.name, ", ".join(_OFFLINE_FILES.keys())))
    for path, content in _OFFLINE_FILES[rctx.name].items():
        rctx.file(path, content, executable = path.endswith(".sh"))

kiln_offline_repository = repository_rule(
    implementation = _kiln_offline_repository_impl,
    doc = "An offline stand-in for @rules_cc, @rules_java or @remote_coverage_tools (Bazel 4).",
)
