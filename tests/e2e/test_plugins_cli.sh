#!/usr/bin/env bash
# `kiln plugins` lists what loaded (name, version, ops with ports and params) and what was
# refused and why; all through the production loader.
source "$(dirname "$0")/lib.sh"
expect_status 0 "$KILN" plugins
expect_grep "^test " "$T/out"
expect_grep "test\.echo" "$T/out"
expect_grep "in +items +file +list" "$T/out"
expect_grep "out +out +file" "$T/out"
expect_grep "param message" "$T/out"
expect_grep "Refused:" "$T/out"
expect_grep "kiln_test_badabi.so" "$T/out"
expect_grep "ABI major" "$T/out"
expect_grep "kiln_test_nosym.so" "$T/out"
expect_grep "missing symbol" "$T/out"
expect_grep "no frobnicator found" "$T/out"
expect_grep "minor" "$T/out"
pass "text listing"
expect_status 0 "$KILN" plugins --json
/usr/bin/python3 - "$T/out" <<'PY' || fail "json listing"
import json, sys
doc = json.load(open(sys.argv[1]))
test = [p for p in doc["plugins"] if p["name"] == "test"][0]
ops = {o["name"]: o for o in test["ops"]}
assert "test.echo" in ops and "test.crash" in ops, ops.keys()
assert ops["test.echo"]["inputs"][0]["cardinality"] == "list"
assert len(doc["refused"]) >= 4, doc["refused"]
PY
pass "json listing"
KILN_PLUGIN_PATH="$T/nothing-here" expect_status 0 "$KILN" plugins
pass "a missing plugin directory is not an error"
echo "all plugin listing checks passed"
