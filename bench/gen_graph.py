#!/usr/bin/env python3
"""Writes a kiln graph of N test.noop-style nodes shaped as a chain or a fan-out, and
optionally the Bazel workspace of the same shape (genrules), for bench/sched_overhead.sh."""
import json, os, sys

def main():
    shape, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    nodes = {}
    if shape == "chain":
        nodes["n0"] = {"op": "test.noop"}
        for i in range(1, n):
            nodes[f"n{i}"] = {"op": "test.echo", "params": {"message": f"{i}"}, "inputs": {"items": f"n{i-1}.out"}}
    elif shape == "fanout":
        nodes["root"] = {"op": "test.noop"}
        for i in range(1, n - 1):
            nodes[f"n{i}"] = {"op": "test.echo", "params": {"message": f"{i}"}, "inputs": {"items": "root.out"}}
        nodes["sink"] = {"op": "test.count", "inputs": {"items": [f"n{i}.out" for i in range(1, n - 1)]}}
    else:
        sys.exit("shape must be chain or fanout")
    with open(out, "w") as f:
        json.dump({"kiln": 1, "name": f"{shape}-{n}", "nodes": nodes}, f)
    if len(sys.argv) > 4:  # Bazel workspace of the same shape
        ws = sys.argv[4]
        os.makedirs(ws, exist_ok=True)
        open(os.path.join(ws, "WORKSPACE"), "w").write("")
        rules = []
        if shape == "chain":
            rules.append('genrule(name = "n0", outs = ["n0.txt"], cmd = "echo noop > $@")')
            for i in range(1, n):
                rules.append(f'genrule(name = "n{i}", srcs = [":n{i-1}"], outs = ["n{i}.txt"], cmd = "(echo {i}; cat $(SRCS)) > $@")')
        else:
            rules.append('genrule(name = "root", outs = ["root.txt"], cmd = "echo noop > $@")')
            for i in range(1, n - 1):
                rules.append(f'genrule(name = "n{i}", srcs = [":root"], outs = ["n{i}.txt"], cmd = "(echo {i}; cat $(SRCS)) > $@")')
            rules.append('genrule(name = "sink", srcs = [%s], outs = ["sink.txt"], cmd = "ls $(SRCS) | wc -l > $@")'
                         % ", ".join(f'":n{i}"' for i in range(1, n - 1)))
        open(os.path.join(ws, "BUILD"), "w").write("\n".join(rules) + "\n")

main()
