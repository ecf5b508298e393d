#!/usr/bin/env bash
# kiln --help, help for every command, exit codes for usage errors.
source "$(dirname "$0")/lib.sh"
expect_status 0 "$KILN" --help
for c in validate run plan plugins cache show get exec-node; do
  expect_grep "^  $c " "$T/out"
done
expect_grep "KILN_HOME" "$T/out"
for c in validate run plan plugins cache show get exec-node; do
  expect_status 0 "$KILN" help "$c"; expect_grep "Usage: kiln $c" "$T/out"
  expect_status 0 "$KILN" "$c" --help; expect_grep "Usage: kiln $c" "$T/out"
done
expect_status 0 "$KILN" --version
expect_grep "plugin ABI 1\." "$T/out"
pass "help for kiln and every command"

expect_status 2 "$KILN"
expect_status 2 "$KILN" frobnicate
expect_grep "unknown command 'frobnicate'" "$T/err"
expect_status 2 "$KILN" run
expect_status 2 "$KILN" run -j 0 "$KILN_SOURCE_DIR/examples/quickstart.json"
expect_grep "expects an integer from 1" "$T/err"
expect_status 2 "$KILN" run -j abc "$KILN_SOURCE_DIR/examples/quickstart.json"
expect_status 2 "$KILN" run --bogus x.json
expect_status 2 "$KILN" run "$T/missing.json"
expect_status 2 "$KILN" cache
expect_status 2 "$KILN" cache frob
expect_status 2 "$KILN" get combine
expect_grep "missing -o DIR" "$T/err"
expect_status 2 "$KILN" exec-node
expect_status 2 "$KILN" exec-node --spec x --events-fd nope
pass "usage errors exit 2 with a message"

expect_status 1 "$KILN" show combine
expect_grep "no runs yet" "$T/err"
expect_status 1 "$KILN" show 0123456789abcdef
expect_grep "no artifact" "$T/err"
pass "show before any run says so"

echo '{"kiln_spec": 1, "op": "test.echo"}' > "$T/spec.json"
expect_status 2 "$KILN" exec-node --spec "$T/spec.json"
expect_grep "plugin_path" "$T/err"
pass "exec-node rejects an incomplete spec naming the field"
echo "all cli checks passed"
