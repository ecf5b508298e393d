#!/usr/bin/env bash
# REST control plane under concurrent clients, against a real `kiln serve` on an ephemeral
# loopback port: 50 clients (half the CLI client, half raw curl) submit 10 small test-plugin
# jobs each, all at once, while others read and follow jobs. Every submission is accepted,
# every job is listed exactly once and finishes, none is lost or duplicated, and work the
# jobs share is computed once (the shared cache and the slot pool's claims on action keys).
source "$(dirname "$0")/lib.sh"
source "$KILN_SOURCE_DIR/api/tests/e2e_lib.sh"

CLIENTS=50
PER_CLIENT=10
TOTAL=$((CLIENTS * PER_CLIENT))
start_server -j 2

# Every job has a node common to all jobs and one common to its client's jobs: 51 distinct
# actions for 500 jobs, so the run stays short on 2 cores and the sharing is visible (each
# action runs once, whichever job gets there first). A job's own identity is its name and
# labels ("client", "seq"), which is how a lost or doubled submission would show.
mkdir -p "$T/graphs"
for c in $(seq 1 $CLIENTS); do
  cat > "$T/graphs/c$c.json" <<JSON
{"kiln": 1, "nodes": {
  "common": {"op": "test.noop"},
  "client": {"op": "test.echo", "params": {"message": "client $c:"}, "inputs": {"items": ["common.out"]}}
}}
JSON
done

# client C: submits its jobs one after another and records "C K ID" per line; even clients
# use `kiln submit`, odd ones raw HTTP (one keep-alive connection, as a program would).
client() {
  local c=$1 k id
  if [ $((c % 2)) = 0 ]; then
    for k in $(seq 1 $PER_CLIENT); do
      id=$("$KILN" submit --name "c$c-k$k" --label client="$c" --label seq="$k" "$T/graphs/c$c.json") || {
        echo "client $c: kiln submit $k failed" >&2; return 1; }
      echo "$c $k $id" >> "$T/accepted-$c"
    done
  else
    /usr/bin/python3 - "$PORT" "$c" "$PER_CLIENT" "$T/graphs/c$c.json" >> "$T/accepted-$c" <<'PY'
import http.client, json, sys
port, c, per, path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
graph = json.load(open(path))
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
for k in range(1, per + 1):
    body = json.dumps({"graph": graph, "name": f"c{c}-k{k}", "labels": {"client": c, "seq": str(k)}})
    conn.request("POST", "/v1/jobs", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 201:
        sys.exit(f"client {c}: POST {k} answered {r.status}: {data[:300]!r}")
    assert r.getheader("Location") == "/v1/jobs/" + json.loads(data)["id"]
    print(c, k, json.loads(data)["id"], flush=True)
PY
  fi
}

# readers while the submissions go on: list, inspect, metrics
reader() {
  local i
  for i in $(seq 1 40); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 "$S/v1/jobs?limit=20" >> "$T/reads"
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 "$S/metrics" >> "$T/reads"
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 "$S/healthz" >> "$T/reads"
  done
}

PIDS=()
for c in $(seq 1 $CLIENTS); do client "$c" & PIDS+=($!); done
reader & RPID=$!
failed=0
for p in "${PIDS[@]}"; do wait "$p" || failed=$((failed + 1)); done
wait "$RPID" || true
[ "$failed" = 0 ] || fail "$failed of $CLIENTS clients saw a submission refused"
cat "$T"/accepted-* > "$T/accepted"
[ "$(wc -l < "$T/accepted")" = "$TOTAL" ] || fail "expected $TOTAL accepted submissions, got $(wc -l < "$T/accepted")"
[ "$(cut -d' ' -f3 "$T/accepted" | sort -u | wc -l)" = "$TOTAL" ] || fail "a job id was handed out twice"
[ "$(sort -u "$T/reads")" = 200 ] || fail "reads during the submissions: $(sort "$T/reads" | uniq -c)"
pass "$CLIENTS clients x $PER_CLIENT submissions at once: all $TOTAL accepted with distinct ids; reads answered meanwhile"

# follow a few jobs live through the event stream while the rest run
for id in $(cut -d' ' -f3 "$T/accepted" | shuf -n 5 --random-source=<(yes)); do
  "$KILN" watch --json "$id" > "$T/watch-$id" & PIDS+=($!)
done

# all finish
for i in $(seq 1 1800); do
  curl -s "$S/v1/jobs?limit=1000" > "$T/list.json"
  [ "$(jq_ "$T/list.json" "sum(1 for j in d['jobs'] if j['state'] == 'succeeded')")" = "$TOTAL" ] && break
  [ "$(jq_ "$T/list.json" "sum(1 for j in d['jobs'] if j['state'] not in ('queued', 'running', 'succeeded'))")" = 0 ] ||
    fail "a job ended otherwise: $(jq_ "$T/list.json" "[(j['id'], j['state'], j['error']) for j in d['jobs'] if j['state'] not in ('queued', 'running', 'succeeded')][:5]")"
  sleep 0.2
done
for p in "${PIDS[@]}"; do wait "$p" || fail "a kiln watch exited $?"; done
for f in "$T"/watch-*; do tail -n 1 "$f" | grep -q '"state":"succeeded"' || fail "$f: last event $(tail -n 1 "$f")"; done

/usr/bin/python3 - "$PORT" "$T/accepted" > "$T/docs" <<'PY'
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
for line in open(sys.argv[2]):
    conn.request("GET", "/v1/jobs/" + line.split()[2])
    print(conn.getresponse().read().decode().strip())
PY
/usr/bin/python3 - "$T/list.json" "$T/accepted" "$T/docs" "$CLIENTS" "$PER_CLIENT" <<'PY' || fail "jobs after the run"
import collections, json, sys
listed = json.load(open(sys.argv[1]))
clients, per = int(sys.argv[4]), int(sys.argv[5])
accepted = [l.split() for l in open(sys.argv[2]) if l.strip()]
ids = [j["id"] for j in listed["jobs"]]
assert listed["next"] is None and len(ids) == len(set(ids)) == clients * per, (len(ids), len(set(ids)))
assert set(ids) == {a[2] for a in accepted}, "listed jobs differ from the accepted ones"
pairs = collections.Counter((j["labels"]["client"], j["labels"]["seq"]) for j in listed["jobs"])
assert len(pairs) == clients * per and set(pairs.values()) == {1}, "a submission was lost or stored twice"
for c, k, i in accepted:
    j = next(x for x in listed["jobs"] if x["id"] == i)
    assert j["name"] == f"c{c}-k{k}" and j["labels"] == {"client": c, "seq": k}, j
runs = collections.Counter()
for line in open(sys.argv[3]):
    d = json.loads(line)
    assert d["state"] == "succeeded" and d["runs"] == 1, (d["id"], d["state"])
    for n in d["nodes"]:
        assert n["state"] in ("succeeded", "cached") and n["outputs"], (d["id"], n)
        if n["state"] == "succeeded": runs[n["key"]] += 1
# the common node once for everyone, each client's node once for its 10 jobs
assert len(runs) == clients + 1 and set(runs.values()) == {1}, sorted(runs.values())[-5:]
PY
expect_http 200 GET /metrics
expect_grep "^kiln_jobs\{state=\"succeeded\"\} $TOTAL\$" "$T/body"
expect_grep "^kiln_nodes_total\{result=\"run\"\} $((CLIENTS + 1))\$" "$T/body"
expect_grep "^kiln_nodes_total\{result=\"cached\"\} $((TOTAL * 2 - CLIENTS - 1))\$" "$T/body"
expect_grep "^kiln_jobs_accepted_total $TOTAL\$" "$T/body"
pass "all $TOTAL jobs finished, each listed once; shared nodes computed once ($((CLIENTS + 1)) runs, the rest cache hits)"

stop_server
[ "$SERVER_RC" = 0 ] || fail "SIGTERM: exit $SERVER_RC"
no_orphans
echo "all API concurrency checks passed"
