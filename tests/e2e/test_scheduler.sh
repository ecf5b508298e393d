#!/usr/bin/env bash
# The scheduler: parallel slots (checked by event order, never by timing), timeouts,
# retries with the same checkpoint dir, sweeps (names, counts, fan-out, gathering), plan.
source "$(dirname "$0")/lib.sh"
G="$T/g.json"

# A diamond: top -> (left, right) -> bottom. With -j 2, left and right run at the same time:
# both start before either finishes.
cat > "$G" <<'JSON'
{"kiln": 1, "nodes": {
  "top":    {"op": "test.source", "params": {"text": "top"}},
  "left":   {"op": "test.sleep", "params": {"seconds": 1}, "inputs": {"items": "top.out"}},
  "right":  {"op": "test.sleep", "params": {"seconds": 1.5}, "inputs": {"items": "top.out"}},
  "bottom": {"op": "test.echo", "inputs": {"items": ["left.out", "right.out"]}}
}}
JSON
expect_status 0 "$KILN" run --json -j 2 "$G"
/usr/bin/python3 - "$T/out" <<'PY' || fail "diamond order with -j 2"
import json, sys
seq = [(e["node"], e["state"]) for e in map(json.loads, open(sys.argv[1]))
       if e.get("type") == "state" and e.get("node")]
pos = {s: i for i, s in enumerate(seq)}
assert pos[("top", "succeeded")] < pos[("left", "running")]
assert pos[("left", "running")] < pos[("right", "succeeded")] and pos[("right", "running")] < pos[("left", "succeeded")], seq
assert pos[("bottom", "running")] > max(pos[("left", "succeeded")], pos[("right", "succeeded")])
PY
pass "-j 2: independent branches run concurrently; dependents wait"

expect_status 0 "$KILN" run --json -j 1 --no-cache "$G"
/usr/bin/python3 - "$T/out" <<'PY' || fail "diamond order with -j 1"
import json, sys
seq = [(e["node"], e["state"]) for e in map(json.loads, open(sys.argv[1]))
       if e.get("type") == "state" and e.get("node")]
running = 0
for node, state in seq:
    if state == "running": running += 1
    elif state in ("succeeded", "failed"): running -= 1
    assert running <= 1, seq
PY
pass "-j 1: never more than one node at a time"

# A node asking for 2 threads takes both slots of -j 2.
cat > "$G" <<'JSON'
{"kiln": 1, "nodes": {
  "wide":   {"op": "test.sleep", "params": {"seconds": 0.5, "threads": 2}},
  "narrow": {"op": "test.sleep", "params": {"seconds": 0.5}}
}}
JSON
if "$KILN" plugins --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); ops={o["name"]:o for p in d["plugins"] for o in p["ops"]}; sys.exit(0 if "threads" in ops["test.sleep"]["params"] else 1)'; then
  expect_status 0 "$KILN" run --json -j 2 "$G"
  /usr/bin/python3 - "$T/out" <<'PY' || fail "thread slots"
import json, sys
seq = [(e["node"], e["state"]) for e in map(json.loads, open(sys.argv[1]))
       if e.get("type") == "state" and e.get("node")]
running = 0
for node, state in seq:
    if state == "running": running += 1
    else: running -= 1
    assert running <= 1, seq
PY
  pass "a node's threads occupy its slots"
fi

# Timeout: the node is killed and fails naming the timeout.
cat > "$G" <<'JSON'
{"kiln": 1, "nodes": {"slow": {"op": "test.sleep", "params": {"seconds": 30}, "timeout": 0.5}}}
JSON
start=$(date +%s)
expect_status 1 "$KILN" run --grace 1 "$G"
[ $(( $(date +%s) - start )) -lt 20 ] || fail "timeout did not stop the node"
expect_grep "slow: timed out after 0.5s" "$T/out"
pass "timeout kills the node and says so"

# Retries: test.flaky fails until it has been tried N times (it counts attempts in its
# checkpoint dir, which survives retries).
"$KILN" plugins > "$T/plugins.txt"
if grep -q "test.flaky" "$T/plugins.txt"; then
  cat > "$G" <<'JSON'
{"kiln": 1, "nodes": {"f": {"op": "test.flaky", "params": {"fail_times": 2}, "retries": 2}}}
JSON
  expect_status 0 "$KILN" run --json "$G"
  [ "$(count_state running "$T/out")" = 3 ] || fail "expected 3 attempts"
  expect_grep "retrying in" "$T/out"
  cat > "$G" <<'JSON'
{"kiln": 1, "nodes": {"f": {"op": "test.flaky", "params": {"fail_times": 3}, "retries": 1}}}
JSON
  expect_status 1 "$KILN" run --json "$G"
  [ "$(count_state running "$T/out")" = 2 ] || fail "expected 2 attempts"
  expect_status 0 "$KILN" run --json "$G"   # attempt 3 fails, its retry (attempt 4) succeeds
  expect_status 0 "$KILN" get f -o "$T/flaky"
  expect_grep "succeeded at attempt 4" "$T/flaky/flaky.txt"
  pass "retries with backoff; the checkpoint dir survives retries and re-runs"
fi

# Sweeps: 3x3 -> 9 instances with stable names; fan-out through a one port; gathering.
cat > "$G" <<'JSON'
{"kiln": 1, "nodes": {
  "train": {"op": "test.param", "params": {"value": 1, "tag": "a"},
            "sweep": {"value": [0.1, 0.05, 0.01], "tag": ["x", "y", "z"]}},
  "all":   {"op": "test.count", "inputs": {"items": "train.out"}}
}}
JSON
expect_status 0 "$KILN" plan "$G"
expect_grep "10 instances" "$T/out"
expect_grep "train\[tag=x,value=0.1\]" "$T/out"
expect_grep "train\[tag=z,value=0.01\]" "$T/out"
expect_status 0 "$KILN" run --json "$G"
[ "$(count_state succeeded "$T/out")" = 10 ] || fail "3x3 sweep + gather: expected 10 runs"
expect_status 0 "$KILN" get all -o "$T/all"
[ "$(cat "$T/all/count.txt" | tr -d '[:space:]')" = 9 ] || fail "gathering node saw $(cat "$T/all/count.txt")"
pass "a 3x3 sweep trains 9 instances and the gathering node sees 9"

expect_status 0 "$KILN" plan --json "$G"
/usr/bin/python3 - "$T/out" <<'PY' || fail "plan --json"
import json, sys
doc = json.load(open(sys.argv[1]))
insts = doc["instances"]
assert len(insts) == 10
assert all(i["cache"] == "hit" and len(i["key"]) == 64 for i in insts), insts
PY
pass "plan shows keys and cache hits without running anything"

# Bad input rejected before anything runs.
expect_status 2 "$KILN" run -j 0 "$G"
cat > "$G" <<'JSON'
{"kiln": 1, "nodes": {
  "a": {"op": "test.param", "params": {"value": 1}, "sweep": {"value": []}},
  "b": {"op": "test.param", "params": {"value": 1}, "sweep": {"lr": [1, 2]}},
  "c": {"op": "test.param", "params": {"value": 1}, "sweep": {"value": ["x"]}},
  "d": {"op": "test.echo", "timeout": "soon", "retries": -1},
  "e": {"op": "test.echo", "timeout": -5, "retries": 1.5}
}}
JSON
expect_status 2 "$KILN" run "$G"
for n in a b c d e; do expect_grep "node '$n'" "$T/err"; done
[ ! -d "$KILN_HOME/runs" ] || [ -z "$(find "$KILN_HOME/work" -mindepth 1 2>/dev/null)" ] || fail "something ran"
pass "bad sweeps, timeouts and retries are rejected before anything runs"
echo "all scheduler checks passed"
