#!/usr/bin/env bash
# REST control plane throughput: wrk against `kiln serve` (GET /v1/jobs/{id}, GET /healthz)
# next to bench/mhd_min.c, a minimal libmicrohttpd server returning a fixed JSON body in the
# same threading model, in the same run. Prints requests/s, p99 latency and the ratio to the
# peer (target >= 0.7x); then job submissions (POST /v1/jobs) accepted per second, checking
# that every accepted job is in the job database.
# Rounds interleave the servers (in rotating order); the ratio is the median over rounds of
# kiln / peer measured back to back, which other load on the machine disturbs least.
# Usage: bench/api_bench.sh [SECONDS per round (default 3)] [BUILD_DIR (default build)] [ROUNDS (default 6)]
# Needs wrk (Debian package `wrk`): installed here when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/.."
D="${1:-3}"; B="${2:-build}"; R="${3:-6}"
KILN="$PWD/$B/bin/kiln"
[ -x "$KILN" ] || { echo "build first: scripts/build.sh (or pass the build dir)" >&2; exit 2; }
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "api_bench: needs wrk: sudo apt-get install -y wrk" >&2; exit 2
  fi
fi
export KILN_PLUGIN_PATH="$PWD/$B/tests/plugins"
W="$(mktemp -d /tmp/kiln-bench.XXXXXX)"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"' EXIT
export KILN_HOME="$W/home"
CORES=$(nproc)
THREADS=$CORES        # wrk threads = the servers' HTTP threads = cores
CONNS=64

cc -O2 -std=c11 -D_GNU_SOURCE bench/mhd_min.c $(pkg-config --cflags --libs libmicrohttpd) -lpthread -o "$W/mhd_min"

wait_port() {  # wait_port FILE PID
  local i
  for i in $(seq 1 300); do [ -s "$1" ] && return 0; kill -0 "$2" 2>/dev/null || break; sleep 0.05; done
  echo "api_bench: server did not start" >&2; exit 1
}

"$KILN" serve --port 0 --port-file "$W/kport" > "$W/serve.log" 2>&1 &
PIDS+=($!); wait_port "$W/kport" "${PIDS[-1]}"
KPORT=$(cat "$W/kport")
"$W/mhd_min" "$W/mport" "$CORES" &
PIDS+=($!); wait_port "$W/mport" "${PIDS[-1]}"
MPORT=$(cat "$W/mport")

# one finished job to read: a sweep, so its document is a realistic size (9 instances)
cat > "$W/g.json" <<'JSON'
{"kiln": 1, "name": "bench", "nodes": {
  "src": {"op": "test.source", "params": {"text": "bench"}},
  "p": {"op": "test.param", "params": {"value": 1}, "inputs": {"items": ["src.out"]}, "sweep": {"value": [1, 2, 3, 4, 5, 6, 7]}},
  "all": {"op": "test.count", "inputs": {"items": ["p.out"]}}
}}
JSON
ID=$("$KILN" submit --server "http://127.0.0.1:$KPORT" "$W/g.json")
"$KILN" watch --server "http://127.0.0.1:$KPORT" "$ID" > /dev/null
JOB_BYTES=$(curl -s "http://127.0.0.1:$KPORT/v1/jobs/$ID" | wc -c)

# run_wrk NAME URL [wrk args...]: one round; appends "NAME rps p99_ms non2xx" to $W/results
run_wrk() {
  local name=$1 url=$2; shift 2
  wrk -t"$THREADS" -c"$CONNS" -d"${D}s" --latency "$@" "$url" > "$W/wrk.out" 2>&1 || { cat "$W/wrk.out"; exit 1; }
  /usr/bin/python3 - "$W/wrk.out" "$name" >> "$W/results" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", t, re.M)
p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
nerr = sum(int(x) for x in errs.groups()) if errs else 0
total = int(re.search(r"(\d+) requests in", t).group(1))
print(sys.argv[2], rps, p99, int(bad.group(1)) if bad else 0, nerr, total)
PY
}

: > "$W/results"
for r in $(seq 1 "$R"); do   # the order rotates so that no target always runs first
  case $((r % 3)) in
    1) order="mhd_min healthz job" ;;
    2) order="healthz job mhd_min" ;;
    0) order="job mhd_min healthz" ;;
  esac
  for t in $order; do
    case $t in
      mhd_min) run_wrk mhd_min "http://127.0.0.1:$MPORT/v1/jobs/$ID" ;;
      healthz) run_wrk healthz "http://127.0.0.1:$KPORT/healthz" ;;
      job) run_wrk job "http://127.0.0.1:$KPORT/v1/jobs/$ID" ;;
    esac
  done
done

# submissions: POST /v1/jobs with a one-node graph (a cache hit once it ran), few connections
cat > "$W/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"graph": {"kiln": 1, "nodes": {"n": {"op": "test.noop"}}}, "name": "bench-submit"}'
wrk.headers["Content-Type"] = "application/json"
LUA
BEFORE=$(/usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from jobs').fetchone()[0])" "$W/home/api/jobs.db")
CONNS=8 THREADS=1 run_wrk submit "http://127.0.0.1:$KPORT/v1/jobs" -s "$W/post.lua"
AFTER=$(/usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from jobs').fetchone()[0])" "$W/home/api/jobs.db")

/usr/bin/python3 - "$W/results" "$BEFORE" "$AFTER" "$D" "$JOB_BYTES" "$CORES" "$THREADS" "$CONNS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
before, after, dur, job_bytes, cores, threads, conns = (int(x) for x in sys.argv[2:9])
runs = {}
for name, rps, p99, bad, nerr, total in rows:
    if int(bad) or int(nerr):
        print(f"WARNING: {name}: {bad} non-2xx responses, {nerr} socket errors")
    runs.setdefault(name, []).append((float(rps), float(p99), int(total)))
rounds = len(runs["mhd_min"])
print(f"wrk -t{threads} -c{conns}, {rounds} rounds of {dur}s per target, interleaved; "
      f"{cores} cores shared by wrk and the server")
print("requests/s: median (best); ratio: median over rounds of kiln / mhd_min in the same round")
print(f"{'target':<38} {'requests/s':>18} {'p99 ms':>7} {'ratio':>6}")
label = {"mhd_min": "mhd_min (fixed JSON body)", "healthz": "kiln serve GET /healthz",
         "job": f"kiln serve GET /v1/jobs/{{id}} ({job_bytes} B)"}
worst = None
for name in ("mhd_min", "healthz", "job"):
    rr = runs[name]
    med = statistics.median(r[0] for r in rr)
    best = max(r[0] for r in rr)
    p99 = statistics.median(r[1] for r in rr)
    ratio = statistics.median(k[0] / m[0] for k, m in zip(rr, runs["mhd_min"]))
    if name != "mhd_min": worst = ratio if worst is None else min(worst, ratio)
    print(f"{label[name]:<38} {med:>8.0f} ({best:>7.0f}) {p99:>7.2f} {ratio:>5.2f}x")
rps, p99, total = runs["submit"][0]
persisted = after - before
print(f"{'kiln serve POST /v1/jobs (-c8)':<38} {rps:>8.0f} {'':>9} {p99:>7.2f}   "
      f"accepted {total}, in the job database {persisted}")
print(f"target >= 0.70x of mhd_min: {'met' if worst >= 0.7 else 'NOT met'} ({worst:.2f}x)")
if persisted < total:  # a request cut off by the end of a round may be persisted, never the reverse
    print(f"ERROR: {total} submissions accepted but {persisted} jobs persisted"); sys.exit(1)
PY
