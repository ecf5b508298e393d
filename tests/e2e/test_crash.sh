#!/usr/bin/env bash
# A plugin crash fails that node with the signal named in its state and log; kiln exits
# non-zero cleanly; independent results are cached; after the fix only what failed and what
# depends on it runs. Also: --fail-fast vs --keep-going, and an op's own failure message.
source "$(dirname "$0")/lib.sh"
G="$T/g.json"
write_graph() {  # $1: op of node "bad"
cat > "$G" <<JSON
{"kiln": 1, "nodes": {
  "a":   {"op": "test.source", "params": {"text": "a"}},
  "ok":  {"op": "test.echo", "inputs": {"items": "a.out"}},
  "bad": {"op": "$1", "params": $2},
  "after": {"op": "test.echo", "inputs": {"items": ["bad.out", "a.out"]}}
}}
JSON
}
write_graph test.crash '{}'
expect_status 1 "$KILN" run --json "$G"; cp "$T/out" "$T/ev"
/usr/bin/python3 - "$T/ev" <<'PY' || fail "crash state event"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bad = [e for e in evs if e.get("node") == "bad" and e.get("type") == "state" and e["state"] == "failed"]
assert bad, "no failed state for bad"
assert "SIGSEGV" in bad[-1]["error"], bad[-1]
assert bad[-1].get("log"), "no log digest"
after = [e for e in evs if e.get("node") == "after" and e.get("type") == "state"]
assert after[-1]["state"] == "skipped", after
ok = [e for e in evs if e.get("node") == "ok" and e.get("type") == "state"]
assert ok[-1]["state"] == "succeeded", ok
PY
log=$("$KILN" show --json bad | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["log_path"])')
expect_grep "SIGSEGV" "$log"
pass "crash: node failed with SIGSEGV in its state and log; dependents skipped; others ran"

expect_status 1 "$KILN" run "$G"
expect_grep "bad: killed by signal 11 \(SIGSEGV\)" "$T/out"
expect_grep "2 cached, 1 failed, 1 skipped" "$T/out"
pass "re-run serves the independent results from the cache"

write_graph test.source '{"text": "fixed"}'
expect_status 0 "$KILN" run --json "$G"
[ "$(nodes_in_state succeeded "$T/out")" = "after bad" ] || fail "after the fix ran: $(nodes_in_state succeeded "$T/out")"
pass "after the fix only the failed node and its dependents run"

write_graph test.fail '{"message": "labels out of range at row 7"}'
expect_status 1 "$KILN" run "$G"
expect_grep "bad: labels out of range at row 7" "$T/out"
pass "an op's own failure message is reported"

cat > "$G" <<'JSON'
{"kiln": 1, "nodes": {
  "bad":  {"op": "test.fail", "params": {"message": "boom"}},
  "slow": {"op": "test.sleep", "params": {"seconds": 30}},
  "later": {"op": "test.echo", "inputs": {"items": "slow.out"}}
}}
JSON
start=$(date +%s)
expect_status 1 "$KILN" run --json -j 2 --fail-fast --grace 1 "$G"
[ $(( $(date +%s) - start )) -lt 25 ] || fail "--fail-fast waited for the slow node"
/usr/bin/python3 - "$T/out" <<'PY' || fail "fail-fast states"
import json, sys
last = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("type") == "state" and e.get("node"): last[e["node"]] = e["state"]
assert last == {"bad": "failed", "slow": "cancelled", "later": "skipped"}, last
PY
pass "--fail-fast cancels running nodes and starts nothing new"
echo "all crash checks passed"
