#!/usr/bin/env bash
# kill -9 of `kiln run` in the middle of a node: no partial artifact under a real digest,
# no orphan process, and the next run resumes from the cache.
source "$(dirname "$0")/lib.sh"
G="$T/g.json"
cat > "$G" <<'JSON'
{"kiln": 1, "nodes": {
  "first": {"op": "test.source", "params": {"text": "computed before the kill"}},
  "slow":  {"op": "test.sleep", "params": {"seconds": 3}},
  "last":  {"op": "test.echo", "inputs": {"items": ["first.out", "slow.out"]}}
}}
JSON
"$KILN" run --json -j 2 "$G" > "$T/ev" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q '"node":"slow".*"state":"running"\|"state":"running".*"node":"slow"' "$T/ev" 2>/dev/null && break
  sleep 0.1
done
grep -q '"node":"first".*"state":"succeeded"\|"state":"succeeded".*"node":"first"' "$T/ev" || sleep 1
sleep 0.5
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
sleep 1
if pgrep -f "exec-node --spec $KILN_HOME" >/dev/null; then
  pgrep -af "exec-node --spec $KILN_HOME"; fail "orphan exec-node processes after kill -9"
fi
pass "kill -9 leaves no orphan exec-node"

# Every blob in the store matches its digest; nothing half-written under a real name.
expect_status 0 "$KILN" cache verify
expect_grep " 0 corrupt" "$T/out"
/usr/bin/python3 - "$KILN_HOME/cas" <<'PY' || fail "store content"
import hashlib, os, sys
root = sys.argv[1]
for d in os.listdir(root):
    for f in os.listdir(os.path.join(root, d)):
        if f.endswith(".meta"): continue
        data = open(os.path.join(root, d, f), "rb").read()
        assert hashlib.sha256(data).hexdigest() == f, f
PY
pass "no partial artifact under a real digest"

expect_status 0 "$KILN" run --json "$G"
[ "$(nodes_in_state cached "$T/out")" = "first" ] || fail "resume: cached were $(nodes_in_state cached "$T/out")"
[ "$(nodes_in_state succeeded "$T/out")" = "last slow" ] || fail "resume: ran $(nodes_in_state succeeded "$T/out")"
pass "the next run resumes from the cache"

# SIGINT: children stopped, finished results kept, exit 130.
sed -i 's/"seconds": 3/"seconds": 30/' "$G"
"$KILN" run --json --grace 1 "$G" > "$T/ev2" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q '"state":"running"' "$T/ev2" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 130 ] || fail "SIGINT: exit $rc, expected 130"
sleep 0.5
if pgrep -f "exec-node --spec $KILN_HOME" >/dev/null; then fail "processes left after SIGINT"; fi
/usr/bin/python3 - "$T/ev2" <<'PY' || fail "cancel states"
import json, sys
last = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("type") == "state" and e.get("node"): last[e["node"]] = e["state"]
assert last.get("slow") == "cancelled", last
assert last.get("last") == "cancelled", last
PY
pass "SIGINT cancels: exit 130, children stopped and recorded as cancelled"
echo "all kill checks passed"
