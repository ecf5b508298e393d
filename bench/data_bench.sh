#!/usr/bin/env bash
# Data plugin benchmark: the full Fashion-MNIST training set (60000 images, .gz) to a
# normalised dataset artifact -- kiln's data.idx -> data.normalize graph, cold (fresh state
# directory, nothing cached), against numpy doing the same work (bench/data_bench_numpy.py) in
# the same run. Wall time and peak RSS from /usr/bin/time -v (for kiln: the largest of its
# processes), best of R runs each, and the ratios.
# kiln does a little more than numpy: it stores both artifacts (the uint8 dataset and the
# normalised one) in its content-addressed store, hashing (sha256) and fsyncing each.
# Usage: bench/data_bench.sh [BUILD_DIR (default build)] [RUNS (default 3)] [MODE (per-feature|global)]
set -euo pipefail
cd "$(dirname "$0")/.."
B="${1:-build}"
R="${2:-3}"
MODE="${3:-per-feature}"
KILN="$PWD/$B/bin/kiln"
[ -x "$KILN" ] || { echo "build first: scripts/build.sh (a Release build measures best)" >&2; exit 2; }
D=/usr/share/datasets/fashion-mnist
[ -f "$D/train-images-idx3-ubyte.gz" ] || { echo "needs Debian's dataset-fashion-mnist" >&2; exit 2; }
W="$(mktemp -d /tmp/kiln-data-bench.XXXXXX)"
trap 'rm -rf "$W"' EXIT

cat > "$W/g.json" <<EOF2
{"kiln": 1, "name": "data-bench", "nodes": {
  "train": {"op": "data.idx", "params": {"images": "$D/train-images-idx3-ubyte.gz",
                                         "labels": "$D/train-labels-idx1-ubyte.gz"}},
  "norm":  {"op": "data.normalize", "inputs": {"dataset": "train.dataset"}, "params": {"mode": "$MODE"}}}}
EOF2

# measure NAME CMD...: runs CMD under /usr/bin/time -v; prints "seconds max_rss_kib".
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$W/$name.time" "$@" > "$W/$name.out" 2>&1 || { cat "$W/$name.out"; exit 1; }
  /usr/bin/python3 - "$W/$name.time" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
secs = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print("%.3f %d" % (secs, rss))
PY
}

echo "Fashion-MNIST train (60000 x 28 x 28, .gz) -> normalised dataset ($MODE), best of $R, $(nproc) cores"
best() { sort -n -k1,1 | head -1; }
: > "$W/kiln.res"; : > "$W/numpy.res"
for i in $(seq "$R"); do
  measure "kiln$i" "$KILN" run --json --home "$W/home$i" "$W/g.json" >> "$W/kiln.res"
  rm -rf "$W/home$i"
  measure "numpy$i" /usr/bin/python3 bench/data_bench_numpy.py "$D/train-images-idx3-ubyte.gz" \
    "$D/train-labels-idx1-ubyte.gz" "$W/numpy.safetensors" "$MODE" >> "$W/numpy.res"
  rm -f "$W/numpy.safetensors"
done
# Peak RSS: the smallest of the runs' peaks is as fair as the best time.
read -r kt _ < <(best < "$W/kiln.res")
read -r nt _ < <(best < "$W/numpy.res")
kr=$(sort -n -k2,2 "$W/kiln.res" | head -1 | cut -d' ' -f2)
nr=$(sort -n -k2,2 "$W/numpy.res" | head -1 | cut -d' ' -f2)
node_times=$(/usr/bin/python3 -c '
import json, sys
d = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("type") == "state" and e.get("state") == "succeeded" and e.get("node"):
        d[e["node"]] = e.get("duration_s", 0)
print(", ".join("%s %.3fs" % kv for kv in sorted(d.items())))' "$W/kiln1.out")
printf '%-8s %10s %14s\n' "" "wall_s" "peak_rss_MiB"
printf '%-8s %10s %14s\n' kiln "$kt" "$((kr / 1024))"
printf '%-8s %10s %14s\n' numpy "$nt" "$((nr / 1024))"
echo "kiln nodes (run 1): $node_times"
echo "numpy $(grep phases "$W/numpy1.out")"
/usr/bin/python3 -c "import sys; k,n,kr,nr=map(float,sys.argv[1:]); print('ratio numpy/kiln: time %.2fx, peak memory %.2fx (above 1: kiln is faster / smaller)' % (n/k, nr/kr))" "$kt" "$nt" "$kr" "$nr"
