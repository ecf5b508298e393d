#!/usr/bin/env bash
# The no-op re-run of an exported example: `bazel build //...` of the workspace that `kiln
# export bazel` writes, against `kiln run` of the same graph fully cached, in the same run on
# the same machine. Both first build everything once (cold, timed too); then each re-run
# finds every result in its own cache and runs nothing. Prints the figures and the ratio.
#
# Bazel is timed twice: with its server warm (what repeated builds in one workspace cost)
# and in --batch mode (a fresh JVM each time, like a CI job's first command).
# bench/sched_overhead.sh compares kiln's cached run with a no-op build of hand-written
# genrules of the same shape; this one builds the exported graph itself.
#
# Usage: bench/bazel_bench.sh [BUILD_DIR (default build)]
#   EXAMPLE=graph.json   the graph (default examples/fashion-mnist-train.json: Fashion-MNIST,
#                        a 2-value lr sweep of a 10-epoch MLP; the cold builds take minutes)
#   RUNS=N               timed no-op re-runs of each (default 5, at most 3 in --batch mode;
#                        best and median printed)
set -euo pipefail
cd "$(dirname "$0")/.."
B="${1:-build}"
EXAMPLE="${EXAMPLE:-examples/fashion-mnist-train.json}"
RUNS="${RUNS:-5}"
KILN="$PWD/$B/bin/kiln"
[ -x "$KILN" ] || { echo "build first: cmake --build $B (no $KILN)" >&2; exit 2; }
command -v bazel >/dev/null || { echo "bazel is not installed (apt-get install bazel-bootstrap)" >&2; exit 2; }
export KILN_PLUGIN_PATH="$PWD/$B/tests/plugins"  # for graphs of test ops (examples/quickstart.json)
W="$(mktemp -d /tmp/kiln-bazel-bench.XXXXXX)"
export KILN_HOME="$W/home"
BZ=(bazel --output_user_root="$W/bazel-root" --nohome_rc)
finish() {
  (cd "$W/ws" 2>/dev/null && "${BZ[@]}" shutdown >/dev/null 2>&1) || true
  chmod -R u+w "$W" 2>/dev/null || true
  rm -rf "$W"
}
trap finish EXIT

# ms CMD...: runs CMD (output to $W/last.log), prints its wall time in ms; fails with its log.
ms() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >"$W/last.log" 2>&1 || { cat "$W/last.log" >&2; echo "failed: $*" >&2; exit 1; }
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
# stats MS...: "best B ms, median M ms" of the figures given.
stats() {
  local sorted
  sorted=($(printf '%s\n' "$@" | sort -n))
  echo "best ${sorted[0]} ms, median ${sorted[$((${#sorted[@]} / 2))]} ms"
}

# Instances, and those kiln serves from its cache (deterministic, not no_cache); the others
# run again on every `kiln run` (Bazel's warm server skips them on a no-op build).
read -r n ncached < <("$KILN" plan --json "$EXAMPLE" | /usr/bin/python3 -c '
import json, sys
inst = json.load(sys.stdin)["instances"]
print(len(inst), sum("deterministic" in i["flags"] and "no_cache" not in i["flags"] for i in inst))')
echo "no-op re-run of $EXAMPLE ($n instances, $((n - ncached)) never cached), $(nproc) cores, $RUNS runs each"
echo "$("$KILN" --version 2>/dev/null | head -1); bazel $(dpkg-query -W -f '${Version}' bazel-bootstrap 2>/dev/null || bazel --version)"

# --- kiln: cold, then fully cached --------------------------------------------------------------
cold_kiln=$(ms "$KILN" run "$EXAMPLE")
kiln_runs=()
for _ in $(seq "$RUNS"); do
  kiln_runs+=("$(ms "$KILN" run "$EXAMPLE")")
  grep -q "$n instances: $((n - ncached)) succeeded, $ncached cached, 0 failed" "$W/last.log" ||
    { tail -3 "$W/last.log"; echo "the kiln re-run was not fully cached" >&2; exit 1; }
done

# --- bazel: export, cold build, then no-op builds (warm server, then --batch) --------------------
"$KILN" export bazel "$EXAMPLE" -o "$W/ws" >/dev/null
cd "$W/ws"
cold_bazel=$(ms "${BZ[@]}" build //...)
ms "${BZ[@]}" build //... >/dev/null  # settle the server
warm_runs=()
for _ in $(seq "$RUNS"); do
  warm_runs+=("$(ms "${BZ[@]}" build //...)")
  # A no-op build runs no kiln_node action ("0 processes" or only internal ones).
  if grep -E '^INFO: [0-9]+ process' "$W/last.log" | grep -q 'sandbox\|local\|remote'; then
    cat "$W/last.log" >&2; echo "the bazel re-run ran actions" >&2; exit 1
  fi
done
"${BZ[@]}" shutdown >/dev/null 2>&1
batch_runs=()
# Each --batch run starts a JVM and analyses the workspace anew: slow, so at most 3.
for _ in $(seq "$((RUNS < 3 ? RUNS : 3))"); do
  batch_runs+=("$(ms "${BZ[@]}" --batch build //...)")
done
cd - >/dev/null

best() { printf '%s\n' "$@" | sort -n | head -1; }
bk=$(best "${kiln_runs[@]}")
bw=$(best "${warm_runs[@]}")
bb=$(best "${batch_runs[@]}")
ratio() { /usr/bin/python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) / max(float(sys.argv[2]), 1.0)))" "$1" "$2"; }
echo
printf '%-34s %s\n' "kiln run, cold:" "$cold_kiln ms"
printf '%-34s %s\n' "bazel build, cold:" "$cold_bazel ms"
printf '%-34s %s\n' "kiln run, fully cached:" "$(stats "${kiln_runs[@]}")"
printf '%-34s %s\n' "bazel build no-op, warm server:" "$(stats "${warm_runs[@]}")"
printf '%-34s %s\n' "bazel build no-op, --batch:" "$(stats "${batch_runs[@]}")"
echo "ratio (best) bazel warm / kiln cached = $(ratio "$bw" "$bk")x; bazel --batch / kiln cached = $(ratio "$bb" "$bk")x"
