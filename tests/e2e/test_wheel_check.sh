#!/usr/bin/env bash
# wheel.check through `kiln exec-node` and `kiln run`, on wheels made by other tools:
#   - platform wheels built here with gcc and packed by Debian's `python3 -m wheel pack`: a
#     compliant one passes (and reports the most compatible manylinux tag); one whose .so
#     needs a too-new glibc symbol version (arc4random@GLIBC_2.36) fails, naming the symbol;
#     one that links a library outside the policy fails; a bundled library is accepted;
#   - hostile inputs crafted with Python's zipfile (tests/python/wheel_craft.py): not a zip,
#     truncated, zip bombs (ratio, entry count), duplicate entries, tampering, unlisted files,
#     absolute and ../ paths, bad names and versions, tag mismatches: each fails the node
#     with its error in the report, and nothing appears on disk (the checker never extracts);
#   - a wheel that reaches the op through the store (no .whl name) is named from its contents.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
PYDIR="$KILN_SOURCE_DIR/tests/python"
WHEEL_SO="$KILN_BUILD_DIR/lib/kiln/plugins/kiln_wheel.so"
if [ ! -f "$WHEEL_SO" ]; then echo "skip: $WHEEL_SO not built (libzip/libelf missing)"; exit 0; fi
ARCH=$(uname -m)
mkdir -p "$T/rep" "$T/cwd"

# check_op TAG WHEEL [PARAMS]: runs wheel.check; the report lands in $T/rep/TAG.json.
check_op() {
  local tag=$1 wheel=$2 params=${3:-"{}"}
  cat > "$T/spec-$tag.json" <<EOF
{"kiln_spec": 1, "plugin_path": "$WHEEL_SO", "op": "wheel.check", "node": "$tag", "params": $params,
 "inputs": {"wheel": [{"path": "$wheel"}]}, "work_dir": "$T/work-$tag",
 "output_paths": {"report": "$T/rep/$tag.json"}}
EOF
  "$KILN" exec-node --spec "$T/spec-$tag.json" --events-fd 1
}

# report_has TAG CHECK TEXT: the report has an error of that category containing TEXT.
report_has() {
  $PY - "$T/rep/$1.json" "$2" "$3" <<'PY' || { cat "$T/rep/$1.json"; fail "report $1: no '$2' error containing: $3"; }
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if any(e["check"] == sys.argv[2] and sys.argv[3] in e["message"] for e in r["errors"]) else 1)
PY
}

report_field() {
  $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"r": r}))' "$T/rep/$1.json" "$2"
}

# ---- platform wheels: gcc + python3 -m wheel pack --------------------------------------------
cat > "$T/ok.c" <<'EOF'
#include <string.h>
int ext_len(const char *s) { return (int)strlen(s); }
EOF
cat > "$T/sym.c" <<'EOF'
/* Binds memcpy to its GLIBC_2.14 version explicitly: within manylinux_2_17, not 2_12. */
#include <string.h>
__asm__(".symver memcpy, memcpy@GLIBC_2.14");
void ext_copy(char *d, const char *s, size_t n) { memcpy(d, s, n); }
EOF
cat > "$T/new.c" <<'EOF'
/* arc4random appeared in glibc 2.36: the .so requires GLIBC_2.36. */
#include <stdlib.h>
unsigned int ext_random(void) { return arc4random(); }
EOF
cat > "$T/crypto.c" <<'EOF'
#include <openssl/crypto.h>
unsigned long ext_openssl(void) { return OpenSSL_version_num(); }
EOF
cat > "$T/foo.c" <<'EOF'
int foo_answer(void) { return 42; }
EOF
cat > "$T/usefoo.c" <<'EOF'
int foo_answer(void);
int ext_answer(void) { return foo_answer(); }
EOF
CC="gcc -shared -fPIC -O2"
if [ "$ARCH" = x86_64 ]; then $CC -o "$T/compliant.so" "$T/sym.c"; else $CC -o "$T/compliant.so" "$T/ok.c"; fi
have_new=1
$CC -o "$T/new.so" "$T/new.c" 2>/dev/null || have_new=0
$CC -o "$T/crypto.so" "$T/crypto.c" -lcrypto
$CC -Wl,-soname,libfoo.so.1 -o "$T/libfoo.so.1" "$T/foo.c"
$CC -o "$T/usefoo.so" "$T/usefoo.c" -L"$T" -l:libfoo.so.1

# platform_wheel NAME TAGS SO [EXTRA_ARCNAME=FILE]: a wheel packed by `python3 -m wheel pack`
platform_wheel() {
  local name=$1 tags=$2 so=$3 extra=${4:-}
  local tree="$T/tree-$name/$name-1.0"
  rm -rf "$T/tree-$name"
  mkdir -p "$tree/$name" "$tree/$name-1.0.dist-info" "$T/dist"
  echo "from ._ext import *" > "$tree/$name/__init__.py"
  cp "$so" "$tree/$name/_ext.so"
  if [ -n "$extra" ]; then mkdir -p "$(dirname "$tree/${extra%%=*}")"; cp "${extra#*=}" "$tree/${extra%%=*}"; fi
  printf 'Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n' "$name" > "$tree/$name-1.0.dist-info/METADATA"
  { printf 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n'
    for t in $tags; do printf 'Tag: cp311-cp311-%s\n' "$t"; done; } > "$tree/$name-1.0.dist-info/WHEEL"
  $PY -m wheel pack -d "$T/dist" "$T/tree-$name/$name-1.0" >/dev/null
  ls "$T/dist/$name-1.0-"*.whl
}

w=$(platform_wheel compliant "manylinux_2_17_$ARCH manylinux2014_$ARCH" "$T/compliant.so")
expect_status 0 check_op compliant "$w"
[ "$(report_field compliant 'r["valid"]')" = True ] || fail "compliant wheel reported invalid"
[ "$(report_field compliant 'r["platform"]["satisfied_tag"]')" = "manylinux_2_17_$ARCH" ] ||
  fail "compliant: satisfied tag $(report_field compliant 'r["platform"]["satisfied_tag"]')"
if [ "$ARCH" = x86_64 ]; then
  [ "$(report_field compliant 'r["platform"]["max_versions"]["GLIBC"]')" = 2.14 ] || fail "compliant: GLIBC max"
fi
pass "a gcc-built manylinux_2_17 wheel (packed by wheel pack) passes; most compatible tag manylinux_2_17_$ARCH"

if [ $have_new = 1 ]; then
  w=$(platform_wheel toonew "manylinux_2_17_$ARCH" "$T/new.so")
  expect_status 1 check_op toonew "$w"
  expect_grep "requires GLIBC_2.36 from libc.so.6 \(arc4random\), newer than the policy allows \(GLIBC_2\.1[78] at most\)" "$T/out"
  expect_status 0 check_op toonew-report "$w" '{"fail_on_violation": false}'
  [ "$(report_field toonew-report 'r["valid"]')" = False ] || fail "too-new wheel reported valid"
  [ "$(report_field toonew-report 'r["platform"]["satisfied_tag"]')" = "manylinux_2_36_$ARCH" ] ||
    fail "too-new: satisfied tag $(report_field toonew-report 'r["platform"]["satisfied_tag"]')"
  w=$(platform_wheel newok "manylinux_2_36_$ARCH" "$T/new.so")
  expect_status 0 check_op newok "$w"
  pass "a .so needing GLIBC_2.36 fails manylinux_2_17 (symbol named), passes manylinux_2_36"
else
  echo "note: this glibc has no arc4random (older than 2.36); too-new case skipped"
fi

w=$(platform_wheel crypto "manylinux_2_17_$ARCH" "$T/crypto.so")
expect_status 1 check_op crypto "$w"
expect_grep "crypto/_ext.so needs libcrypto.so.3, which the policy does not allow and the wheel does not bundle" "$T/out"
w=$(platform_wheel usefoo "manylinux_2_17_$ARCH" "$T/usefoo.so" "usefoo.libs/libfoo.so.1=$T/libfoo.so.1")
expect_status 0 check_op usefoo "$w"
w=$(platform_wheel nofoo "manylinux_2_17_$ARCH" "$T/usefoo.so")
expect_status 1 check_op nofoo "$w"
expect_grep "needs libfoo.so.1" "$T/out"
w=$(platform_wheel pureso "any" "$T/compliant.so")
expect_status 1 check_op pureso "$w"
expect_grep "tagged for any platform but contains 1 ELF file" "$T/out"
pass "libraries outside the policy fail unless bundled; a .so in an 'any' wheel fails"

# ---- hostile inputs ------------------------------------------------------------------------
$PY "$PYDIR/wheel_craft.py" bad "$T/bad"
ncases=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/bad/cases.json")
for i in $(seq 0 $((ncases - 1))); do
  eval "$($PY - "$T/bad/cases.json" "$i" <<'PY'
import json, shlex, sys
c = json.load(open(sys.argv[1]))[int(sys.argv[2])]
print("file=%s check=%s expect=%s params=%s canaries=%s" % (
    shlex.quote(c["file"]), shlex.quote(c["check"]), shlex.quote(c["expect"]),
    shlex.quote(json.dumps(c["params"])), shlex.quote(" ".join(c["canary"]))))
PY
)"
  cd "$T/cwd"
  expect_status 1 check_op "bad$i" "$T/bad/$file" "$params"
  expect_grep "is not a valid wheel" "$T/out"
  report_params=$($PY -c 'import json,sys; p=json.loads(sys.argv[1]); p["fail_on_violation"]=False; print(json.dumps(p))' "$params")
  expect_status 0 check_op "bad$i-report" "$T/bad/$file" "$report_params"
  cd - >/dev/null
  report_has "bad$i-report" "$check" "$expect"
  for c in $canaries; do [ ! -e "$c" ] || fail "$file: $c was written"; done
  [ -z "$(ls -A "$T/cwd")" ] || fail "$file: the checker wrote into its working directory"
done
pass "$ncases hostile wheels each fail with a clear error; nothing is extracted anywhere"

if "$KILN" wheel --help >/dev/null 2>&1; then
  expect_status 1 "$KILN" wheel check "$T/bad/tampered-1.0-py3-none-any.whl" "$T/bad/demo-1.0-py3-none-any.whl"
  expect_grep "tampered-1.0-py3-none-any.whl: INVALID" "$T/out"
  expect_grep "hash mismatch for 'demo/__init__.py'" "$T/out"
  expect_grep "demo-1.0-py3-none-any.whl: valid" "$T/out"
  expect_status 0 "$KILN" wheel check --json "$T/bad/demo-1.0-py3-none-any.whl"
  pass "kiln wheel check reports the same"
else
  echo "note: 'kiln wheel' is not in this kiln's command table yet; CLI check skipped"
fi

# ---- through the store: no .whl name, so it is derived --------------------------------------
cp "$T/bad/demo-1.0-py3-none-any.whl" "$T/cwd/demo.bin"
cat > "$T/graph.json" <<EOF
{"kiln": 1, "name": "wheel-check", "nodes": {
  "src": {"op": "test.source", "params": {"file": "$T/cwd/demo.bin"}},
  "check": {"op": "wheel.check", "inputs": {"wheel": "src.out"}}}}
EOF
expect_status 0 "$KILN" run --out "$T/res" "$T/graph.json"
r="$T/res/check/wheel-check.json"
[ -f "$r" ] || { ls -R "$T/res"; fail "no report under $T/res/check"; }
$PY - "$r" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["valid"] and r["file_name"] == "demo-1.0-py3-none-any.whl" and r["file_name_source"] == "derived", r
PY
pass "kiln run: a wheel from the store is checked and named from its dist-info and tags"
