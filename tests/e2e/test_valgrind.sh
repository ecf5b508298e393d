#!/usr/bin/env bash
# The core's paths under valgrind: no invalid access, no definite leak (validate, plan, run
# with its exec-node children, cache verify, show).
source "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || { echo "valgrind not installed"; exit 1; }
cp "$KILN_SOURCE_DIR/examples/quickstart.json" "$KILN_SOURCE_DIR/examples/quickstart-notes.txt" "$T/"
VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --error-exitcode=99 --trace-children=yes --suppressions=/dev/null)
expect_status 0 "${VG[@]}" "$KILN" validate "$T/quickstart.json"
expect_status 0 "${VG[@]}" "$KILN" run -j 2 "$T/quickstart.json"
expect_status 0 "${VG[@]}" "$KILN" run "$T/quickstart.json"
expect_status 0 "${VG[@]}" "$KILN" plan "$T/quickstart.json"
expect_status 0 "${VG[@]}" "$KILN" cache verify
expect_status 0 "${VG[@]}" "$KILN" show combine
expect_status 0 "${VG[@]}" "$KILN" plugins
cat > "$T/bad.json" <<'JSON'
{"kiln": 1, "nodes": {"a": {"op": "test.ecko"}, "b": {"op": "test.echo", "params": {"x": 1}},
 "c": {"op": "test.echo", "inputs": {"items": "d.out"}}, "d": {"op": "test.echo", "inputs": {"items": "c.out"}}}}
JSON
expect_status 1 "${VG[@]}" "$KILN" validate "$T/bad.json"
cat > "$T/crash.json" <<'JSON'
{"kiln": 1, "nodes": {"a": {"op": "test.fail", "params": {"message": "no"}}}}
JSON
expect_status 1 "${VG[@]}" "$KILN" run "$T/crash.json"
pass "valgrind: no errors, no definite leaks"
