#!/usr/bin/env bash
# kiln validate prints every error at once, each naming the file, the node, the JSON path and
# what was expected. Exit 0 valid, 1 invalid, 2 usage error.
source "$(dirname "$0")/lib.sh"
cp "$KILN_SOURCE_DIR/examples/quickstart.json" "$KILN_SOURCE_DIR/examples/quickstart-notes.txt" "$T/"
expect_status 0 "$KILN" validate "$T/quickstart.json"
expect_grep "valid \(6 nodes, 8 instances\)" "$T/out"
pass "the example is valid"

printf '{"kiln": 1,\n "nodes": {\n  "a": {"op": "test.echo",}\n }\n}\n' > "$T/syntax.json"
expect_status 1 "$KILN" validate "$T/syntax.json"
expect_grep "syntax.json:3:[0-9]+" "$T/err"
pass "malformed JSON names line:column"

cat > "$T/bad.json" <<'JSON'
{"kiln": 1, "nodes": {
  "a": {"op": "test.ecko"},
  "b": {"op": "test.echo", "params": {"mesage": "x"}},
  "c": {"op": "test.param", "params": {"value": "high"}},
  "d": {"op": "test.echo", "inputs": {"items": "nowhere.out"}},
  "e": {"op": "test.echo", "inputs": {"items": "b.nope", "extra": "b.out"}},
  "f": {"op": "test.count", "inputs": {"items": "g.out"}},
  "g": {"op": "test.echo", "inputs": {"items": "f.out"}},
  "h": {"op": "test.param", "params": {"value": 1}, "sweep": {"value": []}},
  "i": {"op": "test.param", "params": {"value": 1}, "sweep": {"nope": [1, 2]}},
  "j": {"op": "test.param", "sweep": {"value": [1, "x"]}},
  "k": {"op": "test.source", "params": {"file": "does-not-exist.txt"}},
  "l": {"op": "test.echo", "timeout": -1, "retries": "x"}
}}
JSON
expect_status 1 "$KILN" validate "$T/bad.json"
cat "$T/err"
E="$T/err"
expect_grep "bad.json: node 'a'.*unknown op 'test.ecko'.*test.echo" "$E"
expect_grep "node 'b'.*params/mesage.*unknown param.*message" "$E"
expect_grep "node 'c'.*params/value.*expected a number" "$E"
expect_grep "node 'd'.*inputs/items.*nowhere" "$E"
expect_grep "node 'e'.*inputs/items.*nope" "$E"
expect_grep "node 'e'.*inputs/extra" "$E"
expect_grep "cycle.*(f -> g -> f|g -> f -> g)" "$E"
expect_grep "node 'h'.*sweep/value.*empty|node 'h'.*sweep/value.*at least" "$E"
expect_grep "node 'i'.*sweep/nope" "$E"
expect_grep "node 'j'.*sweep/value/1.*number" "$E"
expect_grep "node 'k'.*params/file.*does-not-exist.txt" "$E"
expect_grep "node 'l'.*timeout" "$E"
expect_grep "node 'l'.*retries" "$E"
[ "$(grep -c "bad.json" "$E")" -ge 13 ] || fail "expected every error reported"
pass "every error is reported, each with file, node, path and expectation"

cat > "$T/types.json" <<'JSON'
{"kiln": 1, "nodes": {
  "t": {"op": "test.tensors"},
  "s": {"op": "test.source", "params": {"text": "x"}},
  "s2": {"op": "test.source", "params": {"text": "y"}},
  "need_dataset": {"op": "test.stats", "inputs": {"dataset": "s.out"}},
  "one": {"op": "test.stats", "inputs": {"dataset": ["t.dataset", "t.dataset"]}}
}}
JSON
"$KILN" plugins --json > "$T/plugins.json"
if grep -q '"test.stats"' "$T/plugins.json"; then
  expect_status 1 "$KILN" validate "$T/types.json"
  expect_grep "node 'need_dataset'.*inputs/dataset.*dataset" "$T/err"
  expect_grep "node 'one'.*inputs/dataset.*one" "$T/err"
  pass "port type and cardinality mismatches"
fi

expect_status 2 "$KILN" validate "$T/nope.json"
expect_status 2 "$KILN" validate
expect_status 2 "$KILN" validate --bogus "$T/bad.json"
mkdir "$T/dir.json"
expect_status 2 "$KILN" validate "$T/dir.json"
pass "usage errors exit 2"
echo '{"kiln": 2, "nodes": {}}' > "$T/v2.json"
expect_status 1 "$KILN" validate "$T/v2.json"
expect_grep "kiln" "$T/err"
printf '' > "$T/empty.json"
expect_status 1 "$KILN" validate "$T/empty.json"
echo '[1,2]' > "$T/arr.json"
expect_status 1 "$KILN" validate "$T/arr.json"
pass "wrong version, empty file and non-object documents are invalid"
echo "all validate checks passed"
