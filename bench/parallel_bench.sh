#!/usr/bin/env bash
# Parallel scheduling: a fan-out of K sleep ops (each S seconds) between a source and a sink.
# The critical path is S seconds; the ideal wall time at -j J is ceil(K/J)*S. Prints the wall
# time at -j 1 and -j 2 next to the critical path and the ideal, as ratios.
# Usage: bench/parallel_bench.sh [K (default 8)] [S (default 0.5)] [BUILD_DIR (default build)]
set -euo pipefail
cd "$(dirname "$0")/.."
K="${1:-8}"; S="${2:-0.5}"; B="${3:-build}"
KILN="$PWD/$B/bin/kiln"
[ -x "$KILN" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
export KILN_PLUGIN_PATH="$PWD/$B/tests/plugins"
W="$(mktemp -d /tmp/kiln-bench.XXXXXX)"; trap 'rm -rf "$W"' EXIT
export KILN_HOME="$W/home"
/usr/bin/python3 - "$K" "$S" "$W/g.json" <<'PY'
import json, sys
k, s, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
nodes = {"src": {"op": "test.source", "params": {"text": "x"}}}
for i in range(k):
    nodes[f"s{i}"] = {"op": "test.sleep", "params": {"seconds": s}, "inputs": {"items": "src.out"}}
nodes["sink"] = {"op": "test.count", "inputs": {"items": [f"s{i}.out" for i in range(k)]}}
json.dump({"kiln": 1, "nodes": nodes}, open(out, "w"))
PY
"$KILN" run "$W/g.json" >/dev/null   # warm: src and sink are cached; sleep ops always run
echo "fan-out of $K sleep ops x ${S}s; critical path ${S}s"
printf '%-4s %10s %10s %14s %14s\n' "-j" "wall_s" "ideal_s" "wall/critical" "wall/ideal"
for j in 1 2; do
  t0=$(date +%s.%N); "$KILN" run -j "$j" "$W/g.json" >/dev/null; t1=$(date +%s.%N)
  /usr/bin/python3 -c "
import math; w=$t1-$t0; k=$K; s=$S; j=$j; ideal=math.ceil(k/j)*s
print(f'{j:<4} {w:10.2f} {ideal:10.2f} {w/s:14.2f} {w/ideal:14.2f}')"
done
