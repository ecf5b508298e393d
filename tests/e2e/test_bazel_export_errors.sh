#!/usr/bin/env bash
# `kiln export bazel` on bad input, without Bazel: a graph that does not validate (the same
# errors as `kiln validate`), an output path that is a file or a non-empty directory (unless
# --force), node and sweep names that are not valid Bazel target names (mapped, collisions
# refused), bad options and usage. A refused export leaves no directory behind.
source "$(dirname "$0")/lib.sh"
[ -f "$KILN_BUILD_DIR/lib/kiln/plugins/kiln_bazel.so" ] || { echo "SKIP: the bazel plugin is not built"; exit 0; }
cd "$T"
printf 'notes\n' >notes.txt
cat >good.json <<'EOF'
{"kiln": 1, "name": "good", "nodes": {
  "notes": {"op": "test.source", "params": {"file": "notes.txt"}},
  "all": {"op": "test.param", "params": {"value": 1}},
  "score": {"op": "test.param", "params": {"value": 1}, "sweep": {"tag": ["a b", "c/d", ".x"], "value": [0.05, -1e-3]}},
  "count": {"op": "test.count", "inputs": {"items": "score.out"}}}}
EOF

# no_leftovers: a refused export leaves neither DIR nor a temporary directory beside it.
no_leftovers() {
  [ ! -e "$1" ] || fail "a refused export left $1"
  if ls -a "$(dirname "$1")" | grep -q '^\.kiln-export-'; then fail "a temporary export directory was left"; fi
}

# --- a graph that does not validate: exactly kiln validate's errors ---------------------------
cat >bad.json <<'EOF'
{"kiln": 1, "name": "bad", "nodes": {
  "a": {"op": "test.param", "params": {"value": "x", "bogus": 1}},
  "b": {"op": "test.echo", "inputs": {"items": "nope.out"}},
  "c": {"op": "no.such"},
  "d": {"op": "test.source", "params": {"file": "missing.txt"}}}}
EOF
expect_status 1 "$KILN" validate bad.json
cp "$T/err" validate.err
expect_status 1 "$KILN" export bazel bad.json -o ws-bad
diff validate.err "$T/err" || fail "kiln export's errors differ from kiln validate's"
expect_grep "bad.json: 5 errors" "$T/err"
no_leftovers "$T/ws-bad"
pass "a graph that does not validate: the same 5 errors as kiln validate, nothing written"

printf '{"kiln": 1, "nodes": {"a": ' >truncated.json
expect_status 1 "$KILN" validate truncated.json
cp "$T/err" validate.err
expect_status 1 "$KILN" export bazel truncated.json -o ws-bad
diff validate.err "$T/err" || fail "kiln export's parse error differs from kiln validate's"
no_leftovers "$T/ws-bad"
pass "a graph that does not parse: the same error as kiln validate"

# --- the output path ----------------------------------------------------------------------------
printf 'precious\n' >afile
expect_status 2 "$KILN" export bazel good.json -o afile
expect_grep "afile exists and is not a directory" "$T/err"
[ "$(cat afile)" = precious ] || fail "the file was changed"
expect_status 1 "$KILN" export bazel good.json -o afile/sub
expect_grep "afile: cannot create directory" "$T/err"
pass "an output path that is a file (or under one) is refused, the file untouched"

mkdir full
printf 'mine\n' >full/keep.txt
printf 'stale\n' >full/BUILD.bazel
expect_status 2 "$KILN" export bazel good.json -o full
expect_grep "full is not empty \(--force" "$T/err"
[ "$(cat full/BUILD.bazel)" = stale ] || fail "a refused export changed the directory"
expect_status 0 "$KILN" export bazel good.json -o full --force
expect_grep 'kiln_node\(' full/BUILD.bazel
[ "$(cat full/keep.txt)" = mine ] || fail "--force removed a file the export does not write"
[ -f full/WORKSPACE ] && [ -f full/kiln.bzl ] && [ -f full/data/notes.txt ] || fail "--force export incomplete"
pass "a non-empty output directory is refused; --force replaces what the export writes, keeps the rest"

mkdir empty
expect_status 0 "$KILN" export bazel good.json -o empty
expect_status 0 "$KILN" export bazel good.json -o new/deeper/ws
diff -r empty new/deeper/ws >diff.txt || { cat diff.txt; fail "two exports of one graph differ"; }
cmp empty/BUILD.bazel full/BUILD.bazel || fail "the --force export differs"
pass "an empty or absent output directory (parents made) gets the same bytes every time"

# buildifier (not in Debian; e.g. npm's @bazel/buildifier): the files are formatted as it
# formats them and it has no lint warnings. Set BUILDIFIER or put it on PATH to check.
BUILDIFIER="${BUILDIFIER:-$(command -v buildifier || true)}"
if [ -n "$BUILDIFIER" ]; then
  for f in BUILD.bazel WORKSPACE kiln.bzl; do
    "$BUILDIFIER" --mode=check --lint=warn "empty/$f" >"$T/bf.txt" 2>&1 || { cat "$T/bf.txt"; fail "buildifier: $f"; }
    [ ! -s "$T/bf.txt" ] || { cat "$T/bf.txt"; fail "buildifier has remarks on $f"; }
  done
  pass "buildifier ($("$BUILDIFIER" --version | head -1)) leaves BUILD.bazel, WORKSPACE and kiln.bzl as they are"
else
  echo "SKIP (buildifier check): no buildifier (set BUILDIFIER=/path/to/buildifier)"
fi

# --- names that are not valid Bazel target names ------------------------------------------------
for name in all_ score__tag_a_b__value_0.05 score__tag_c_d__value_-0.001 score__tag_.x__value_0.05; do
  expect_grep "^    name = \"$name\",$" empty/BUILD.bazel
done
expect_grep '^    node = "score\[tag=\\"c/d\\",value=-0.001\]",$' empty/BUILD.bazel
expect_grep '^    name = "score",$' empty/BUILD.bazel  # the sweep's filegroup
pass "names mapped: 'all' -> all_, 'a b' and 'c/d' -> '_'; the instance name kept"

cat >collide.json <<'EOF'
{"kiln": 1, "name": "collide", "nodes": {
  "score": {"op": "test.param", "params": {"value": 1}, "sweep": {"tag": ["c/d", "c_d"]}}}}
EOF
expect_status 1 "$KILN" export bazel collide.json -o ws-col
expect_grep "instance 'score\[tag=\"c/d\"\]' and instance 'score\[tag=c_d\]' both map to the Bazel label ':score__tag_c_d'" "$T/err"
expect_no_grep 'kiln.log' "$T/err"
no_leftovers "$T/ws-col"
cat >collide2.json <<'EOF'
{"kiln": 1, "name": "collide", "nodes": {
  "all": {"op": "test.param", "params": {"value": 1}},
  "all_": {"op": "test.param", "params": {"value": 2}}}}
EOF
expect_status 1 "$KILN" export bazel collide2.json -o ws-col
expect_grep "instance 'all' and instance 'all_' both map to the Bazel label ':all_'" "$T/err"
no_leftovers "$T/ws-col"
pass "two instances with one target name are refused, naming both and the label"

# --- options and usage ---------------------------------------------------------------------------
expect_status 1 "$KILN" export bazel good.json -o ws-opt --option colour=blue
expect_grep "unknown option 'colour' \(known: " "$T/err"
expect_status 1 "$KILN" export bazel good.json -o ws-opt --option data=move
expect_grep "option 'data': expected \"copy\" or \"link\"" "$T/err"
expect_status 1 "$KILN" export bazel good.json -o ws-opt --kiln /nonexistent/kiln
expect_grep "/nonexistent/kiln: No such file or directory" "$T/err"
no_leftovers "$T/ws-opt"
expect_status 0 "$KILN" export bazel good.json -o ws-link --option data=link
[ -L ws-link/data/notes.txt ] || fail "--option data=link did not link the data file"
expect_status 2 "$KILN" export nope good.json -o ws-opt
expect_grep "no exporter 'nope'; loaded exporters: bazel" "$T/err"
expect_status 2 "$KILN" export bazel good.json
expect_grep "missing -o DIR" "$T/err"
expect_status 2 "$KILN" export bazel -o ws-opt
expect_status 2 "$KILN" export bazel missing.json -o ws-opt
expect_grep "missing.json: cannot read graph" "$T/err"
no_leftovers "$T/ws-opt"
pass "bad options and usage are refused with the reason"
echo "all bazel export error tests passed"
