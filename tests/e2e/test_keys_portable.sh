#!/usr/bin/env bash
# Action keys are the same on another machine for the same graph and inputs: no state-dir
# paths, no timestamps; an input file named by path is keyed by its content.
source "$(dirname "$0")/lib.sh"
mkdir -p "$T/m1/proj" "$T/m2/elsewhere/deeper"
for d in "$T/m1/proj" "$T/m2/elsewhere/deeper"; do
  cp "$KILN_SOURCE_DIR/examples/quickstart.json" "$KILN_SOURCE_DIR/examples/quickstart-notes.txt" "$d/"
done
touch -d '2010-05-05' "$T/m2/elsewhere/deeper/quickstart-notes.txt"
keys() {  # $1 home, $2 graph
  KILN_HOME="$1" "$KILN" run "$2" >/dev/null
  KILN_HOME="$1" "$KILN" plan --json "$2" | /usr/bin/python3 -c '
import json, sys
for i in json.load(sys.stdin)["instances"]: print(i["name"], i["key"], i["cache"])'
}
keys "$T/m1/home" "$T/m1/proj/quickstart.json" > "$T/k1"
(cd /tmp && keys "$T/m2/state/kiln" "$T/m2/elsewhere/deeper/quickstart.json") > "$T/k2"
cat "$T/k1"
diff "$T/k1" "$T/k2" || fail "keys differ between homes/paths"
grep -q " hit$" "$T/k1" || fail "plan shows no cache hits after a run"
pass "same graph and inputs give the same keys under another home, path and mtime"

echo "changed" >> "$T/m2/elsewhere/deeper/quickstart-notes.txt"
keys "$T/m2/state/kiln" "$T/m2/elsewhere/deeper/quickstart.json" > "$T/k3"
diff <(grep '^notes ' "$T/k1") <(grep '^notes ' "$T/k3") >/dev/null && fail "content change kept the key"
diff <(grep '^greeting ' "$T/k1") <(grep '^greeting ' "$T/k3") || fail "unrelated key changed"
pass "changing the input file's content changes exactly the keys that depend on it"
echo "all key checks passed"
