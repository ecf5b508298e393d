#!/usr/bin/env bash
# `cmake --install` to a prefix works, the installed kiln finds its installed plugins, and
# the example plugin builds out of tree against the installed header (CMake package and
# pkg-config) and loads.
source "$(dirname "$0")/lib.sh"
P="$T/prefix"
cmake --install "$KILN_BUILD_DIR" --prefix "$P" >/dev/null
[ -x "$P/bin/kiln" ] || fail "no installed kiln"
[ -f "$P/include/kiln/plugin.h" ] || fail "no installed header"
unset KILN_PLUGIN_PATH
expect_status 0 "$P/bin/kiln" plugins --json
/usr/bin/python3 - "$T/out" "$P" <<'PY' || fail "installed plugins"
import json, sys
doc = json.load(open(sys.argv[1]))
want = sys.argv[2] + "/lib/kiln/plugins"
assert doc["search_path"][-1].startswith(want) or any(d.startswith(want) for d in doc["search_path"]), doc["search_path"]
for p in doc["plugins"]:
    assert p["path"].startswith(sys.argv[2]), p["path"]
PY
pass "installed kiln searches its own plugin dir"

cmake -S "$KILN_SOURCE_DIR/examples/plugin-hello" -B "$T/hello-build" -DCMAKE_PREFIX_PATH="$P" >/dev/null
cmake --build "$T/hello-build" >/dev/null
so=$(find "$T/hello-build" -name '*.so' | head -1)
[ -n "$so" ] || fail "example plugin did not build"
mkdir -p "$P/lib/kiln/plugins"
cp "$so" "$P/lib/kiln/plugins/"
expect_status 0 "$P/bin/kiln" plugins
expect_grep "hello\.greet" "$T/out"
pass "example plugin builds out of tree with find_package(kiln) and loads from the install dir"

PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags kiln-plugin > "$T/cflags"
expect_grep "\-I.*/include" "$T/cflags"; [ -f "$(sed -E "s/^-I([^ ]*).*/\1/" "$T/cflags")/kiln/plugin.h" ] || fail "pkg-config include dir has no kiln/plugin.h"
gcc -std=c11 -shared -fPIC $(cat "$T/cflags") -o "$T/hello_pc.so" "$KILN_SOURCE_DIR"/examples/plugin-hello/*.c -ljansson
[ -f "$T/hello_pc.so" ] || fail "pkg-config build"
pass "pkg-config kiln-plugin gives the flags to build a plugin"

cat > "$T/g.json" <<'JSON'
{"kiln": 1, "nodes": {"hi": {"op": "hello.greet", "params": {}}}}
JSON
expect_status 0 "$P/bin/kiln" run "$T/g.json"
expect_status 0 "$P/bin/kiln" run --json "$T/g.json"
expect_grep '"state":"cached"' "$T/out"
pass "the installed kiln runs a graph with an installed plugin"
echo "all install checks passed"
