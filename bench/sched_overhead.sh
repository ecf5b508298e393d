#!/usr/bin/env bash
# Scheduling overhead of kiln: an N-node chain and an N-node fan-out of tiny test ops, cold
# (every node runs in its own exec-node child) and fully cached (nothing runs), in ms per
# node; then the fully cached re-run of the example pipeline next to a no-op `bazel build`
# of a genrule graph of the same shape, in the same run. Prints figures and ratios.
# Usage: bench/sched_overhead.sh [N (default 10000)] [BUILD_DIR (default build)]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000}"
B="${2:-build}"
KILN="$PWD/$B/bin/kiln"
[ -x "$KILN" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
export KILN_PLUGIN_PATH="$PWD/$B/tests/plugins"
W="$(mktemp -d /tmp/kiln-bench.XXXXXX)"
trap 'rm -rf "$W"' EXIT
export KILN_HOME="$W/home"
J="$(nproc)"

ms() { /usr/bin/python3 -c "import sys; print(f'{(float(sys.argv[2])-float(sys.argv[1]))*1000:.1f}')" "$1" "$2"; }
now() { date +%s.%N; }

echo "kiln scheduling overhead, N=$N, -j $J, $(nproc) cores"
printf '%-10s %-8s %12s %12s\n' shape mode total_ms ms_per_node
for shape in chain fanout; do
  /usr/bin/python3 bench/gen_graph.py "$shape" "$N" "$W/$shape.json"
  t0=$(now); "$KILN" run -j "$J" "$W/$shape.json" > "$W/$shape.cold.log"; t1=$(now)
  cold=$(ms "$t0" "$t1")
  t0=$(now); "$KILN" run -j "$J" "$W/$shape.json" > "$W/$shape.warm.log"; t1=$(now)
  warm=$(ms "$t0" "$t1")
  grep -q "$N instances: 0 succeeded, $N cached" "$W/$shape.warm.log" || { tail -3 "$W/$shape.warm.log"; echo "warm run was not fully cached" >&2; exit 1; }
  printf '%-10s %-8s %12s %12s\n' "$shape" cold "$cold" "$(/usr/bin/python3 -c "print(f'{$cold/$N:.3f}')")"
  printf '%-10s %-8s %12s %12s\n' "$shape" cached "$warm" "$(/usr/bin/python3 -c "print(f'{$warm/$N:.4f}')")"
done

# The example pipeline, cached, against Bazel's no-op build of the same shape.
EX="${EXAMPLE:-examples/quickstart.json}"
"$KILN" run "$EX" > /dev/null
best_kiln=999999
for _ in 1 2 3 4 5; do
  t0=$(now); "$KILN" run "$EX" > /dev/null; t1=$(now)
  v=$(ms "$t0" "$t1"); best_kiln=$(/usr/bin/python3 -c "print(min($best_kiln, $v))")
done
n_ex=$("$KILN" plan --json "$EX" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["instances"]))')
echo
echo "example pipeline ($EX, $n_ex instances), fully cached: best of 5 = ${best_kiln} ms"
if command -v bazel >/dev/null; then
  /usr/bin/python3 bench/gen_graph.py chain "$n_ex" "$W/unused.json" "$W/bazel-ws"
  cd "$W/bazel-ws"
  bazel --output_user_root="$W/bazel-root" build //... >/dev/null 2>&1
  bazel --output_user_root="$W/bazel-root" build //... >/dev/null 2>&1
  best_bazel=999999
  for _ in 1 2 3 4 5; do
    t0=$(now); bazel --output_user_root="$W/bazel-root" build //... >/dev/null 2>&1; t1=$(now)
    v=$(ms "$t0" "$t1"); best_bazel=$(/usr/bin/python3 -c "print(min($best_bazel, $v))")
  done
  bazel --output_user_root="$W/bazel-root" shutdown >/dev/null 2>&1 || true
  cd - >/dev/null
  echo "bazel no-op build of a $n_ex-genrule chain (warm server): best of 5 = ${best_bazel} ms"
  echo "ratio bazel/kiln = $(/usr/bin/python3 -c "print(f'{$best_bazel/$best_kiln:.1f}')")x"
else
  echo "bazel not installed (apt-get install bazel-bootstrap): no comparison"
fi
