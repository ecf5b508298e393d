#!/usr/bin/env bash
# Wheel plugin benchmark: packaging a ~100 MB model (tests/python/make_model.py --arch big:
# seeded random float32 weights, which deflate compresses little, like trained ones) with
# wheel.package through `kiln exec-node` (the path every executor takes), against Debian's
# `python3 -m wheel pack` on the same unpacked tree (the kiln wheel, unpacked by `python3 -m
# wheel unpack`), in the same run. Then wheel.check on that wheel against a Python peer that
# does the same RECORD verification in memory (bench/wheel_bench_check.py).
#
# Rows (best of R runs each; wall time and peak RSS from /usr/bin/time -v):
#   kiln package            wheel.package, defaults: weights deflated (level 6), the finished
#                           wheel re-read and verified by the checker before the node succeeds
#   kiln package, no verify the same with "verify": false (what wheel pack does: no re-read)
#   kiln package, store     "weights_compression": "store" (faster to build and to install)
#   python3 -m wheel pack   the same tree: hashes every file for RECORD, deflates (level 6)
#   kiln wheel.check        the whole checker (names, dist-info, RECORD hashes, zip safety)
#   python RECORD verify    zipfile + hashlib over every entry
# Timings are printed, never asserted.
# Usage: bench/wheel_bench.sh [BUILD_DIR (default build)] [RUNS (default 3)] [SIZE_MB (default 100)]
set -euo pipefail
cd "$(dirname "$0")/.."
B="${1:-build}"
R="${2:-3}"
MB="${3:-100}"
PY=/usr/bin/python3
KILN="$PWD/$B/bin/kiln"
SO="$PWD/$B/lib/kiln/plugins/kiln_wheel.so"
[ -x "$KILN" ] || { echo "build first: cmake --build $B (a RelWithDebInfo or Release build measures best)" >&2; exit 2; }
[ -f "$SO" ] || { echo "$SO is missing: the wheel plugin needs libzip-dev and libelf-dev" >&2; exit 2; }
$PY -m wheel version >/dev/null 2>&1 || { echo "needs Debian's python3-wheel" >&2; exit 2; }
W="$(mktemp -d /tmp/kiln-wheel-bench.XXXXXX)"
trap 'rm -rf "$W"' EXIT

# measure NAME CMD...: runs CMD under /usr/bin/time -v; prints "seconds max_rss_kib".
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$W/$name.time" "$@" > "$W/$name.out" 2>&1 || { cat "$W/$name.out"; exit 1; }
  $PY - "$W/$name.time" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
secs = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print("%.3f %d" % (secs, rss))
PY
}

# best NAME CMD...: best of R runs (by wall time); prints "seconds max_rss_kib".
best() {
  local name=$1; shift
  local out="" t
  for i in $(seq "$R"); do
    t=$(measure "$name" "$@")
    if [ -z "$out" ] || awk -v a="${t% *}" -v b="${out% *}" 'BEGIN { exit !(a < b) }'; then out=$t; fi
  done
  echo "$out"
}

# spec TAG PARAMS: an exec-node spec for wheel.package on the model.
spec() {
  cat > "$W/spec-$1.json" <<EOF
{"kiln_spec": 1, "plugin_path": "$SO", "op": "wheel.package", "node": "$1", "params": $2,
 "inputs": {"model": [{"path": "$W/model.safetensors"}]}, "work_dir": "$W/work-$1",
 "output_paths": {"wheel": "$W/$1.whl"}}
EOF
}

$PY tests/python/make_model.py --arch big --size-mb "$MB" --out "$W/model.safetensors"
model_bytes=$(stat -c %s "$W/model.safetensors")
NAME='"name": "bench-model", "version": "1.0.0"'
spec deflate "{$NAME}"
spec noverify "{$NAME, \"verify\": false}"
spec store "{$NAME, \"weights_compression\": \"store\"}"
sync

kiln_deflate=$(best deflate "$KILN" exec-node --spec "$W/spec-deflate.json")
kiln_noverify=$(best noverify "$KILN" exec-node --spec "$W/spec-noverify.json")
kiln_store=$(best store "$KILN" exec-node --spec "$W/spec-store.json")

# The peer packs the very tree the kiln wheel holds.
WHL="$W/named/bench_model-1.0.0-py3-none-any.whl"
mkdir -p "$W/tree" "$W/dist" "$W/named"
cp "$W/deflate.whl" "$WHL"
$PY -m wheel unpack -d "$W/tree" "$WHL" >/dev/null
tree=$(ls -d "$W"/tree/*)
py_pack=$(best pack bash -c "rm -f '$W'/dist/*.whl && $PY -m wheel pack -d '$W/dist' '$tree'")
peer_whl=$(ls "$W"/dist/*.whl)

kiln_check_spec="$W/spec-check.json"
cat > "$kiln_check_spec" <<EOF
{"kiln_spec": 1, "plugin_path": "$SO", "op": "wheel.check", "node": "check",
 "params": {},
 "inputs": {"wheel": [{"path": "$WHL"}]}, "work_dir": "$W/work-check",
 "output_paths": {"report": "$W/report.json"}}
EOF
kiln_check=$(best check "$KILN" exec-node --spec "$kiln_check_spec")
py_check=$(best pycheck $PY bench/wheel_bench_check.py "$WHL")
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["valid"], r["errors"]' "$W/report.json"

$PY - "$model_bytes" "$(stat -c %s "$W/deflate.whl")" "$(stat -c %s "$W/store.whl")" "$(stat -c %s "$peer_whl")" \
    "$kiln_deflate" "$kiln_noverify" "$kiln_store" "$py_pack" "$kiln_check" "$py_check" "$R" "$(nproc)" <<'PY'
import sys
a = sys.argv[1:]
model, w_deflate, w_store, w_peer = (int(x) for x in a[:4])
rows = [tuple(float(v) for v in s.split()) for s in a[4:10]]
runs, cpus = a[10], a[11]
names = ["kiln wheel.package (deflate, verify)", "kiln wheel.package (deflate, no verify)",
         "kiln wheel.package (store, verify)", "python3 -m wheel pack (same tree)",
         "kiln wheel.check", "python RECORD verify (zipfile)"]
print("model: %.1f MB; wheels: kiln deflate %.1f MB, kiln store %.1f MB, wheel pack %.1f MB; best of %s runs, %s CPUs"
      % (model / 1e6, w_deflate / 1e6, w_store / 1e6, w_peer / 1e6, runs, cpus))
print("%-42s %9s %12s" % ("", "wall s", "peak RSS MB"))
for n, (s, rss) in zip(names, rows):
    print("%-42s %9.2f %12.1f" % (n, s, rss / 1024))
pack = rows[3][0]
print("packaging: wheel pack / kiln = %.2fx (deflate, verify), %.2fx (deflate, no verify), %.2fx (store)"
      % (pack / rows[0][0], pack / rows[1][0], pack / rows[2][0]))
print("checking: python / kiln = %.2fx" % (rows[5][0] / rows[4][0]))
PY
