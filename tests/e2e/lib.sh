# tests/e2e/lib.sh -- shared by the end-to-end tests. Source it first thing.
# Gives: a private temp dir ($T) removed on exit, KILN_HOME inside it, the test plugins on
# KILN_PLUGIN_PATH, and small assertion helpers that print what was expected.
set -euo pipefail
: "${KILN:?KILN must point at the kiln binary (ctest sets it)}"
: "${KILN_TEST_PLUGIN_DIR:?}"
T="$(mktemp -d /tmp/kiln-e2e.XXXXXX)"
export KILN_HOME="$T/home"
export KILN_PLUGIN_PATH="$KILN_TEST_PLUGIN_DIR"
cleanup() { local rc=$?; if [ $rc -ne 0 ]; then echo "FAILED (rc=$rc); files kept in $T" >&2; else rm -rf "$T"; fi; }
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# expect_status WANT CMD...: runs CMD, checks its exit status; output in $T/out, $T/err.
expect_status() {
  local want=$1; shift
  set +e
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  set -e
  if [ "$got" -ne "$want" ]; then
    echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
    fail "expected exit $want from: $*; got $got"
  fi
}

# expect_grep PATTERN FILE: FILE contains PATTERN (extended regex).
expect_grep() {
  grep -Eq -- "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "expected /$1/ in $2"; }
}
expect_no_grep() {
  if grep -Eq -- "$1" "$2"; then echo "--- $2:"; cat "$2"; fail "did not expect /$1/ in $2"; fi
}

# count_events TYPE STATE FILE: number of JSON event lines with that type and state.
count_state() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
state, path = sys.argv[1], sys.argv[2]
n = 0
for line in open(path):
    line = line.strip()
    if not line: continue
    ev = json.loads(line)
    if ev.get("type") == "state" and ev.get("node") and ev.get("state") == state: n += 1
print(n)
PY
}

# nodes_in_state STATE FILE: sorted instance names that reached STATE.
nodes_in_state() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
state, path = sys.argv[1], sys.argv[2]
names = sorted({json.loads(l)["node"] for l in open(path) if l.strip()
                and json.loads(l).get("type") == "state" and json.loads(l).get("node")
                and json.loads(l).get("state") == state})
print(" ".join(names))
PY
}
