#!/usr/bin/env bash
# kiln run: a second run of an unchanged graph executes nothing; changing one param re-runs
# that node and its dependents only; an input file is keyed by content; --no-cache, --out,
# kiln get and kiln show find results.
source "$(dirname "$0")/lib.sh"
cp "$KILN_SOURCE_DIR/examples/quickstart.json" "$KILN_SOURCE_DIR/examples/quickstart-notes.txt" "$T/"
G="$T/quickstart.json"
N=8  # greeting notes combine score x3 report count

expect_status 0 "$KILN" run --json "$G"; cp "$T/out" "$T/ev1"
[ "$(count_state succeeded "$T/ev1")" = "$N" ] || fail "first run: expected $N succeeded"
expect_grep '"state":"succeeded"' "$T/ev1"
pass "first run ran all $N instances"

expect_status 0 "$KILN" run --json "$G"; cp "$T/out" "$T/ev2"
[ "$(count_state running "$T/ev2")" = 0 ] || fail "second run started nodes"
[ "$(count_state cached "$T/ev2")" = "$N" ] || fail "second run: expected $N cached"
pass "unchanged graph: every node is a cache hit"

expect_status 0 "$KILN" run "$G"
expect_grep "$N instances: 0 succeeded, $N cached" "$T/out"
expect_grep "out: $KILN_HOME/cas/" "$T/out"
pass "text summary says where each result is"

sed -i 's/hello from kiln/hello again/' "$G"
expect_status 0 "$KILN" run --json "$G"; cp "$T/out" "$T/ev3"
[ "$(nodes_in_state succeeded "$T/ev3")" = "combine greeting" ] || fail "param change re-ran: $(nodes_in_state succeeded "$T/ev3")"
pass "changing one param re-runs that node and its dependents only"

echo "edited" >> "$T/quickstart-notes.txt"
expect_status 0 "$KILN" run --json "$G"; cp "$T/out" "$T/ev4"
[ "$(nodes_in_state succeeded "$T/ev4")" = "combine notes" ] || fail "file edit re-ran: $(nodes_in_state succeeded "$T/ev4")"
touch -d '2001-01-01' "$T/quickstart-notes.txt"
expect_status 0 "$KILN" run --json "$G"
[ "$(count_state running "$T/out")" = 0 ] || fail "an mtime change re-ran nodes"
pass "input files are keyed by content, not mtime"

expect_status 0 "$KILN" run --json --no-cache "$G"
[ "$(count_state succeeded "$T/out")" = "$N" ] || fail "--no-cache did not run everything"
pass "--no-cache runs everything"

expect_status 0 "$KILN" run --out "$T/results" "$G"
[ -f "$T/results/combine/echo.txt" ] || fail "--out did not copy combine/echo.txt"
expect_grep "hello again" "$T/results/combine/echo.txt"
[ -f "$T/results/score[value=0.05]/out" ] || ls -R "$T/results"
pass "--out copies results under readable names"

expect_status 0 "$KILN" get combine -o "$T/got"
expect_grep "combined:" "$T/got/echo.txt"
expect_status 0 "$KILN" get 'score[value=0.1].out' -o "$T/got2"
[ "$(ls "$T/got2" | wc -l)" = 1 ] || fail "get NODE.PORT copied $(ls "$T/got2")"
expect_status 1 "$KILN" get score -o "$T/got3"
expect_grep "3 instances" "$T/err"
expect_status 1 "$KILN" get nosuchnode -o "$T/got3"
expect_grep "no node or instance 'nosuchnode'" "$T/err"
expect_status 1 "$KILN" get combine.nope -o "$T/got3"
expect_grep "no output 'nope'" "$T/err"
pass "kiln get copies one node or one port; ambiguous and unknown names are errors"

expect_status 0 "$KILN" show combine
expect_grep "state: (succeeded|cached)" "$T/out"
expect_grep "log: $KILN_HOME/cas/" "$T/out"
digest=$("$KILN" show --json combine | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["outputs"]["out"]["digest"])')
expect_status 0 "$KILN" show "$digest"
expect_grep "produced by combine" "$T/out"
expect_status 0 "$KILN" show "${digest:0:10}"
pass "kiln show describes nodes and digests"

expect_status 0 "$KILN" cache ls
expect_grep "cached results in" "$T/out"
expect_status 0 "$KILN" cache verify
expect_status 0 "$KILN" cache gc --keep-runs 1
expect_status 0 "$KILN" run --json "$G"
[ "$(count_state running "$T/out")" = 0 ] || fail "gc removed live results"
pass "cache ls, verify and gc keep live results"
echo "all run/cache checks passed"
