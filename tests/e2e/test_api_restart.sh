#!/usr/bin/env bash
# REST control plane, persistence and shutdown, against a real `kiln serve` on an ephemeral
# loopback port:
#   - kill -9 the server while a node runs (and another job waits): after a restart every
#     job is listed once, the interrupted ones say so (never "running" forever), node
#     processes died with the server, `kiln cache verify` finds nothing corrupt, and retry
#     finishes each job, taking what had finished from the cache;
#   - kill -9 while many small jobs are in flight: nothing half-written shows after restart;
#   - `kiln watch` reconnects across the restart (same port) and sees every event once;
#   - an event stream open on a live job closes when the job ends; a live node log;
#   - SIGTERM with --on-stop cancel (default) and --on-stop finish.
# A node is held running by test.gate, which waits for a file: no timing is assumed.
source "$(dirname "$0")/lib.sh"
source "$KILN_SOURCE_DIR/api/tests/e2e_lib.sh"

# node_states ID: {"name": "state", ...} of the job's instances (compact, sorted keys).
node_states() {
  curl -s "$S/v1/jobs/$1" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({n["name"]: n["state"] for n in d["nodes"]}, sort_keys=True, separators=(",", ":")))'
}

# gate_graph FILE GATE NAME: first -> held (waits for GATE) -> last, plus an independent side node.
gate_graph() {
  cat > "$1" <<JSON
{"kiln": 1, "name": "$3", "nodes": {
  "first": {"op": "test.source", "params": {"text": "before the crash "}},
  "side":  {"op": "test.param", "params": {"value": 7}},
  "held":  {"op": "test.gate", "params": {"path": "$2"}, "inputs": {"items": ["first.out"]}},
  "last":  {"op": "test.echo", "params": {"message": "last:"}, "inputs": {"items": ["held.out"]}}
}}
JSON
}

# ============================================================================ kill -9
start_server -j 2 --max-jobs 1
cat > "$T/quick.json" <<'JSON'
{"kiln": 1, "name": "quick", "nodes": {"q": {"op": "test.source", "params": {"text": "done before the crash"}}}}
JSON
DONE=$("$KILN" submit "$T/quick.json")
wait_state "$DONE" succeeded

gate_graph "$T/gate.json" "$T/gate1" held
cat > "$T/other.json" <<'JSON'
{"kiln": 1, "name": "other", "nodes": {
  "o1": {"op": "test.param", "params": {"value": 41}},
  "o2": {"op": "test.echo", "params": {"message": "o2:"}, "inputs": {"items": ["o1.out"]}}
}}
JSON
RUN=$("$KILN" submit "$T/gate.json")
QUEUED=$("$KILN" submit "$T/other.json")     # --max-jobs 1: waits behind RUN
wait_node_state "$RUN" held running
wait_node_state "$RUN" side succeeded
[ "$(job_state "$QUEUED")" = queued ] || fail "the second job should wait for the only job slot"
# a client following the job when the server dies
curl -s -N --max-time 60 "$S/v1/jobs/$RUN/events" > "$T/sse-before" &
CURL_PID=$!
# and `kiln watch`, which reconnects (Last-Event-ID) when the connection drops
"$KILN" watch --json "$RUN" > "$T/watch-across" 2> "$T/watch-across.err" &
WATCH_PID=$!
for i in $(seq 1 300); do grep -q '"node":"held","type":"state","state":"running"\|"held".*"running"' "$T/sse-before" && break; sleep 0.1; done
for i in $(seq 1 300); do grep -q '"held"' "$T/watch-across" && break; sleep 0.1; done
expect_http 200 GET /healthz       # answering while a node runs
stop_server KILL
[ "$SERVER_RC" = 137 ] || fail "kill -9: exit status $SERVER_RC"
set +e; wait "$CURL_PID"; set -e          # the stream breaks with the server
# restart at once on the same port (kiln watch retries it for a few seconds), then check
# that the node processes died with the server (PDEATHSIG); the new one has started none
start_server -j 2 --max-jobs 1 --port "$PORT"
no_orphans
pass "kill -9 mid-job: the server and its node processes are gone"
expect_grep "2 jobs left open by a previous server marked interrupted" "$T/serve.log"
expect_http 200 GET "/v1/jobs?limit=1000"
/usr/bin/python3 - "$T/body" "$DONE" "$RUN" "$QUEUED" <<'PY' || fail "jobs after the restart: $(cat "$T/body")"
import json, sys
d = json.load(open(sys.argv[1]))
done, run, queued = sys.argv[2:5]
ids = [j["id"] for j in d["jobs"]]
assert sorted(ids) == sorted([done, run, queued]), ids
st = {j["id"]: j["state"] for j in d["jobs"]}
assert st == {done: "succeeded", run: "interrupted", queued: "interrupted"}, st
PY
[ "$(node_states "$RUN")" = '{"first":"succeeded","held":"interrupted","last":"interrupted","side":"succeeded"}' ] ||
  fail "interrupted job's nodes: $(node_states "$RUN")"
[ "$(node_states "$QUEUED")" = '{"o1":"interrupted","o2":"interrupted"}' ] || fail "queued job's nodes: $(node_states "$QUEUED")"
expect_http 200 GET "/v1/jobs/$RUN"
expect_grep '"error":"interrupted: the server stopped while the job was running' "$T/body"
expect_status 0 "$KILN" jobs --state interrupted
expect_grep "$RUN +interrupted" "$T/out"
expect_grep "$QUEUED +interrupted" "$T/out"
# the interrupted job's stream: resumed where the broken one stopped, it ends with "interrupted"
LAST=$(grep '^id: ' "$T/sse-before" | tail -1 | cut -d' ' -f2)
[ -n "$LAST" ] || fail "no events before the crash: $(cat "$T/sse-before")"
curl -s -N --max-time 30 -H "Last-Event-ID: $LAST" "$S/v1/jobs/$RUN/events" > "$T/sse-after"
/usr/bin/python3 - "$T/sse-before" "$T/sse-after" <<'PY' || fail "event stream across the restart"
import json, sys
def events(path):
    out, cur = [], {}
    for line in open(path).read().split("\n"):
        if line.startswith("id: "): cur["id"] = int(line[4:])
        elif line.startswith("data: "): cur["data"] = json.loads(line[6:])
        elif line == "" and "data" in cur: out.append(cur); cur = {}
    return out
a, b = events(sys.argv[1]), events(sys.argv[2])
ids = [e["id"] for e in a + b]
assert ids == list(range(1, len(ids) + 1)), ids          # no gap, no repeat
last = b[-1]["data"]
assert last["type"] == "state" and "node" not in last and last["state"] == "interrupted", last
PY
set +e; wait "$WATCH_PID"; WRC=$?; set -e
[ "$WRC" = 130 ] || { cat "$T/watch-across.err"; fail "kiln watch across the restart: exit $WRC, expected 130 (interrupted)"; }
expect_grep "reconnecting" "$T/watch-across.err"
expect_http 200 GET "/v1/jobs/$RUN"
/usr/bin/python3 - "$T/watch-across" "$(jq_ "$T/body" "d['last_event']")" <<'PY' || fail "kiln watch across the restart"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(evs) == int(sys.argv[2]), (len(evs), sys.argv[2])   # every event once: none lost, none repeated
last = evs[-1]
assert last["type"] == "state" and "node" not in last and last["state"] == "interrupted", last
PY
pass "restart: every job listed once; the running and the queued one marked interrupted (nodes too); streams resume and end (kiln watch reconnects by itself)"

expect_status 0 "$KILN" cache verify
expect_no_grep "CORRUPT|BROKEN" "$T/out"
pass "kiln cache verify: no artifact corrupt after kill -9"

touch "$T/gate1"
expect_status 0 "$KILN" retry --watch "$RUN"
expect_grep "job $RUN: succeeded" "$T/out"
[ "$(node_states "$RUN")" = '{"first":"cached","held":"succeeded","last":"succeeded","side":"cached"}' ] ||
  fail "retry after restart: $(node_states "$RUN")"
expect_http 200 GET "/v1/jobs/$RUN"
[ "$(jq_ "$T/body" "d['runs']")" = 2 ] || fail "runs should be 2"
DIG=$(jq_ "$T/body" "[n for n in d['nodes'] if n['name'] == 'last'][0]['outputs']['out']['digest']")
expect_http 200 GET "/v1/artifacts/$DIG"
[ "$(cat "$T/body")" = "last:gate opened" ] || fail "final artifact: $(cat "$T/body")"
expect_status 0 "$KILN" retry --watch "$QUEUED"
[ "$(node_states "$QUEUED")" = '{"o1":"succeeded","o2":"succeeded"}' ] || fail "retry of the queued job: $(node_states "$QUEUED")"
expect_status 0 "$KILN" cache verify
expect_no_grep "CORRUPT|BROKEN" "$T/out"
pass "retry after the restart finishes both jobs; what had finished comes from the cache"

# ======================================================= kill -9 with many jobs in flight
N=24
for i in $(seq 1 $N); do
  cat > "$T/many$i.json" <<JSON
{"kiln": 1, "name": "many-$i", "nodes": {
  "a": {"op": "test.param", "params": {"value": $i, "tag": "many"}},
  "b": {"op": "test.echo", "params": {"message": "b$i:"}, "inputs": {"items": ["a.out"]}},
  "c": {"op": "test.echo", "params": {"message": "c$i:"}, "inputs": {"items": ["a.out", "b.out"]}}
}}
JSON
  "$KILN" submit "$T/many$i.json" >> "$T/many.ids"
done
# kill once some have finished (whatever the machine's speed, some are likely still open)
for i in $(seq 1 600); do
  curl -s "$S/v1/jobs?state=succeeded&limit=1000" > "$T/ok.json"
  [ "$(jq_ "$T/ok.json" "len(d['jobs'])")" -ge 5 ] && break
  sleep 0.05
done
stop_server KILL
no_orphans
start_server -j 2
expect_http 200 GET "/v1/jobs?limit=1000"
for id in $(cat "$T/many.ids"); do curl -s "$S/v1/jobs/$id"; echo; done > "$T/many.docs"
/usr/bin/python3 - "$T/body" "$T/many.ids" "$T/many.docs" <<'PY' || fail "jobs after kill -9 under load"
import json, sys
listed = [j["id"] for j in json.load(open(sys.argv[1]))["jobs"]]
want = open(sys.argv[2]).read().split()
assert len(listed) == len(set(listed)), "a job listed twice"
assert set(want) <= set(listed), set(want) - set(listed)
for line in open(sys.argv[3]):
    d = json.loads(line)
    assert d["state"] in ("succeeded", "interrupted"), (d["id"], d["state"])
    states = {n["name"]: n["state"] for n in d["nodes"]}
    if d["state"] == "succeeded":
        assert set(states.values()) <= {"succeeded", "cached"}, states
        assert all(n["outputs"] for n in d["nodes"]), d["id"]
    else:
        assert set(states.values()) <= {"succeeded", "cached", "interrupted"}, states
        assert "running" not in states.values() and "waiting" not in states.values(), states
    for n in d["nodes"]:
        if n["state"] in ("succeeded", "cached"): assert n["outputs"], (d["id"], n)
PY
expect_status 0 "$KILN" cache verify
expect_no_grep "CORRUPT|BROKEN" "$T/out"
for id in $(cat "$T/many.ids"); do
  if [ "$(job_state "$id")" = interrupted ]; then "$KILN" retry "$id" >/dev/null; fi
done
for id in $(cat "$T/many.ids"); do wait_state "$id" succeeded; done
i=0
for id in $(cat "$T/many.ids"); do
  i=$((i + 1))
  curl -s "$S/v1/jobs/$id" > "$T/one.json"
  curl -s "$S/v1/artifacts/$(jq_ "$T/one.json" "[n for n in d['nodes'] if n['name'] == 'a'][0]['outputs']['out']['digest']")" > "$T/a.out"
  curl -s "$S/v1/artifacts/$(jq_ "$T/one.json" "[n for n in d['nodes'] if n['name'] == 'c'][0]['outputs']['out']['digest']")" > "$T/c.out"
  { printf 'c%d:' $i; cat "$T/a.out"; printf 'b%d:' $i; cat "$T/a.out"; } > "$T/c.want"
  grep -q "tag=many" "$T/a.out" && cmp -s "$T/c.out" "$T/c.want" || fail "job $id: wrong final artifact: $(cat "$T/c.out")"
done
pass "kill -9 with $N jobs in flight: all listed once, none half-written, none corrupt; retries finish them"

# ================================================ a live event stream closes when the job ends
gate_graph "$T/live.json" "$T/gate-live" live
LIVE=$("$KILN" submit "$T/live.json")
wait_node_state "$LIVE" held running
# a running node's log is read as it is written
for i in $(seq 1 300); do
  [ "$(http GET "/v1/jobs/$LIVE/nodes/held/log")" = 200 ] && grep -q "gate: waiting for" "$T/body" && break
  sleep 0.1
done
expect_grep "gate: waiting for $T/gate-live" "$T/body"
expect_grep '^X-Kiln-Log-Live: 1' "$T/headers"
"$KILN" logs -f "$LIVE" held > "$T/logs-follow" &
LOGS_PID=$!
curl -s -N --max-time 120 "$S/v1/jobs/$LIVE/events" > "$T/sse-live" &
CURL_PID=$!
"$KILN" watch --json "$LIVE" > "$T/watch-live" &
WATCH_PID=$!
for i in $(seq 1 300); do grep -q '^id: ' "$T/sse-live" && break; sleep 0.1; done
kill -0 "$CURL_PID" 2>/dev/null || fail "the stream of a running job closed early"
touch "$T/gate-live"
set +e; wait "$CURL_PID"; CRC=$?; wait "$WATCH_PID"; WRC=$?; set -e
[ "$CRC" = 0 ] || fail "the stream did not end by itself when the job ended (curl exit $CRC)"
[ "$WRC" = 0 ] || fail "kiln watch --json exit $WRC"
set +e; wait "$LOGS_PID"; LRC=$?; set -e
[ "$LRC" = 0 ] || fail "kiln logs -f exit $LRC"
expect_http 200 GET "/v1/jobs/$LIVE/nodes/held/log"
expect_grep '^X-Kiln-Log-Live: 0' "$T/headers"
cmp -s "$T/body" "$T/logs-follow" || { diff "$T/body" "$T/logs-follow"; fail "kiln logs -f printed another log than the final one"; }
tail -n 1 "$T/watch-live" | grep -q '"state":"succeeded"' || fail "kiln watch: last event $(tail -n 1 "$T/watch-live")"
grep '^data: ' "$T/sse-live" | tail -n 1 | grep -q '"state":"succeeded"' || fail "stream: last event is not the job's end"
pass "a running node's log is live (kiln logs -f follows it to its end); an open event stream closes when the job ends"

# ====================================================== SIGTERM: --on-stop cancel (default)
gate_graph "$T/term.json" "$T/gate-term" term
TERM_ID=$("$KILN" submit "$T/term.json")
wait_node_state "$TERM_ID" held running
curl -s -N --max-time 120 "$S/v1/jobs/$TERM_ID/events" > "$T/sse-term" &
CURL_PID=$!
for i in $(seq 1 300); do grep -q '^id: ' "$T/sse-term" && break; sleep 0.1; done
stop_server TERM
[ "$SERVER_RC" = 0 ] || fail "SIGTERM: exit $SERVER_RC"
set +e; wait "$CURL_PID"; CRC=$?; set -e
[ "$CRC" = 0 ] || fail "SIGTERM should end open event streams (curl exit $CRC)"
grep '^data: ' "$T/sse-term" | tail -n 1 | grep -q '"state":"interrupted"' || fail "stream's last event: $(tail -n 3 "$T/sse-term")"
no_orphans
expect_grep "SIGTERM: stopping \(cancelling running jobs\)" "$T/serve.log"
: > "$T/serve.log"
start_server -j 2
expect_no_grep "left open by a previous server" "$T/serve.log"   # a clean stop leaves nothing open
[ "$(job_state "$TERM_ID")" = interrupted ] || fail "after SIGTERM: $(job_state "$TERM_ID")"
expect_http 200 GET "/v1/jobs/$TERM_ID"
expect_grep '"error":"interrupted: the server shut down"' "$T/body"
/usr/bin/python3 - "$T/body" <<'PY' || fail "nodes after SIGTERM"
import json, sys
st = {n["name"]: n["state"] for n in json.load(open(sys.argv[1]))["nodes"]}
assert st["first"] in ("succeeded", "cached") and st["side"] in ("succeeded", "cached"), st
assert st["held"] == "cancelled" and st["last"] == "cancelled", st   # stopped by the shutdown
PY
touch "$T/gate-term"
expect_status 0 "$KILN" retry --watch "$TERM_ID"
pass "SIGTERM (--on-stop cancel): running nodes stopped, job interrupted, streams ended, exit 0; retry finishes it"

# ============================================================== SIGTERM: --on-stop finish
stop_server
start_server -j 2 --max-jobs 1 --on-stop finish --stop-timeout 300
gate_graph "$T/fin.json" "$T/gate-fin" fin
FIN=$("$KILN" submit "$T/fin.json")
WAITING=$("$KILN" submit "$T/quick.json")   # queued behind FIN: interrupted at shutdown
wait_node_state "$FIN" held running
kill -TERM "$SERVER_PID"
for i in $(seq 1 300); do grep -q "SIGTERM: stopping (finishing running jobs)" "$T/serve.log" && break; sleep 0.1; done
expect_grep "SIGTERM: stopping \(finishing running jobs\)" "$T/serve.log"
# it stops accepting connections at once, while the running job goes on
refused() { ! curl -s -o /dev/null --max-time 5 "$S/healthz"; }
for i in $(seq 1 100); do refused && break; sleep 0.1; done
refused || fail "a stopping server should not accept new connections"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited before its running job finished"
touch "$T/gate-fin"
set +e; wait "$SERVER_PID"; SERVER_RC=$?; set -e
[ "$SERVER_RC" = 0 ] || fail "SIGTERM (finish): exit $SERVER_RC"
no_orphans
start_server -j 2
[ "$(job_state "$FIN")" = succeeded ] || fail "--on-stop finish: the running job should have finished, got $(job_state "$FIN")"
# held ran to its end (its output equals the earlier gates', so "last" may be a cache hit)
node_states "$FIN" | grep -Eq '^\{"first":"cached","held":"succeeded","last":"(succeeded|cached)","side":"cached"\}$' ||
  fail "finished job: $(node_states "$FIN")"
[ "$(job_state "$WAITING")" = interrupted ] || fail "a queued job at shutdown should be interrupted, got $(job_state "$WAITING")"
expect_status 0 "$KILN" retry --watch "$WAITING"
pass "SIGTERM (--on-stop finish): stops accepting, lets the running job finish, interrupts the queued one, exit 0"

stop_server
[ "$SERVER_RC" = 0 ] || fail "SIGTERM: exit $SERVER_RC"
no_orphans
echo "all API restart and shutdown checks passed"
