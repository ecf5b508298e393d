#!/usr/bin/env bash
# An artifact whose bytes changed in the store is found by `kiln cache verify` and is never
# served as a cache hit (cheap stat check on every hit, re-hash when the stat changed).
source "$(dirname "$0")/lib.sh"
G="$T/g.json"
cat > "$G" <<'JSON'
{"kiln": 1, "nodes": {
  "src":  {"op": "test.source", "params": {"text": "the original bytes"}},
  "use":  {"op": "test.echo", "inputs": {"items": "src.out"}}
}}
JSON
expect_status 0 "$KILN" run "$G"
digest=$("$KILN" show --json src | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["outputs"]["out"]["digest"])')
blob="$KILN_HOME/cas/${digest:0:2}/$digest"
[ -f "$blob" ] || fail "no blob at $blob"

tamper() {
  chmod u+w "$blob"
  printf 'the tampered bytes' > "$T/new"   # same length: size alone cannot tell
  cp "$T/new" "$blob"
  touch -r "$T/stamp" "$blob"               # and the same mtime as before
}
touch -r "$blob" "$T/stamp"
tamper
expect_status 1 "$KILN" cache verify
expect_grep "CORRUPT $digest" "$T/out"
pass "cache verify finds the changed artifact"
[ ! -e "$blob" ] || fail "the corrupt blob is still under its digest"
ls "$KILN_HOME/quarantine" | grep -q . || fail "nothing quarantined"

expect_status 0 "$KILN" run --json "$G"
[ "$(nodes_in_state succeeded "$T/out")" = "src" ] || fail "after verify: ran $(nodes_in_state succeeded "$T/out")"
pass "after verify the result is recomputed"

touch -r "$blob" "$T/stamp"
tamper
expect_status 0 "$KILN" run --json "$G"
[ "$(nodes_in_state succeeded "$T/out")" = "src" ] || fail "tampered blob served as a hit: ran $(nodes_in_state succeeded "$T/out")"
[ "$(nodes_in_state cached "$T/out")" = "use" ] || fail "use should be cached"
expect_status 0 /usr/bin/python3 -c "import hashlib,sys; d=open('$blob','rb').read(); sys.exit(hashlib.sha256(d).hexdigest()!='$digest')"
pass "a tampered artifact is never served as a cache hit; it is recomputed"
echo "all tamper checks passed"
