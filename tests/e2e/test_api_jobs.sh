#!/usr/bin/env bash
# REST control plane, every endpoint, driven by the CLI client and by curl against a real
# `kiln serve` on an ephemeral loopback port: submit/list/inspect jobs, labels and paging,
# the event stream (and resuming it), node logs, artifacts (ETag, Range), plugins,
# validate, metrics, cancel and retry, a crashing plugin, and two jobs sharing a prefix.
source "$(dirname "$0")/lib.sh"
source "$KILN_SOURCE_DIR/api/tests/e2e_lib.sh"

start_server -j 2
expect_http 200 GET /healthz
expect_grep '"status":"ok"' "$T/body"
pass "healthz"

# --- plugins: the same document as `kiln plugins --json`
expect_http 200 GET /v1/plugins
"$KILN" plugins --json > "$T/plugins.json"
/usr/bin/python3 - "$T/body" "$T/plugins.json" <<'PY' || fail "GET /v1/plugins differs from kiln plugins --json"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a == b, (a.keys(), b.keys())
assert any(op["name"] == "test.sleep" for p in a["plugins"] for op in p["ops"])
PY
pass "GET /v1/plugins = kiln plugins --json"

# --- validate
G="$T/g.json"
cat > "$G" <<'JSON'
{"kiln": 1, "name": "tour", "nodes": {
  "first": {"op": "test.source", "params": {"text": "computed once"}},
  "p":     {"op": "test.param", "params": {"value": 1}, "sweep": {"value": [1, 2]}},
  "last":  {"op": "test.echo", "params": {"message": "m"}, "inputs": {"items": ["first.out"]}}
}}
JSON
expect_http 200 POST /v1/validate --data-binary @"$G"
[ "$(jq_ "$T/body" "d['valid']")" = True ] || fail "valid graph reported invalid: $(cat "$T/body")"
[ "$(jq_ "$T/body" "d['instances']")" = 4 ] || fail "validate: expected 4 instances"
expect_http 200 POST /v1/validate --data-binary '{"kiln": 1, "nodes": {"a": {"op": "test.nope"}, "b": {"op": "test.echo", "params": {"zzz": 1}}}}'
[ "$(jq_ "$T/body" "d['valid']")" = False ] || fail "invalid graph reported valid"
[ "$(jq_ "$T/body" "len(d['errors'])")" = 2 ] || fail "validate: expected every error (2): $(cat "$T/body")"
pass "POST /v1/validate reports every error"

# --- submit through the CLI, with labels; watch to the end
ID1=$("$KILN" submit --label team=vision --label stage=dev "$G")
[[ "$ID1" =~ ^r-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$ ]] || fail "submit printed '$ID1', expected a job id"
expect_status 0 "$KILN" watch "$ID1"
expect_grep "job $ID1: succeeded" "$T/out"
expect_http 200 GET "/v1/jobs/$ID1"
/usr/bin/python3 - "$T/body" <<'PY' || fail "job document"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["state"] == "succeeded" and d["name"] == "tour" and d["labels"] == {"team": "vision", "stage": "dev"}, d
assert d["started"] and d["finished"] and d["finished"] >= d["started"] >= d["created"], d
names = sorted(n["name"] for n in d["nodes"])
assert names == ["first", "last", "p[value=1]", "p[value=2]"], names
for n in d["nodes"]:
    assert n["state"] == "succeeded" and n["outputs"] and n["log"] and n["key"] and n["duration_s"] is not None, n
p1 = [n for n in d["nodes"] if n["name"] == "p[value=1]"][0]
assert p1["metrics"]["value"]["value"] == 1, p1
assert d["counts"] == {"succeeded": 4}, d["counts"]
PY
pass "submit + watch: job succeeded; GET /v1/jobs/{id} has state, timings, nodes, outputs, metrics"

# CLI views
expect_status 0 "$KILN" job "$ID1"
expect_grep "p\[value=2\] +succeeded" "$T/out"
expect_grep "metric value = 2" "$T/out"
expect_status 0 "$KILN" job --json "$ID1"
[ "$(jq_ "$T/out" "d['id']")" = "$ID1" ] || fail "kiln job --json"
pass "kiln job"

# --- the event stream: DESIGN's format, ids in order, closed when the job has ended
curl -s -N --max-time 30 "$S/v1/jobs/$ID1/events" > "$T/sse"
/usr/bin/python3 - "$T/sse" <<'PY' || fail "event stream"
import json, sys
ids, evs, cur = [], [], {}
for line in open(sys.argv[1]).read().split("\n"):
    if line.startswith("id: "): cur["id"] = int(line[4:])
    elif line.startswith("data: "): cur["data"] = json.loads(line[6:])
    elif line == "" and "data" in cur:
        ids.append(cur["id"]); evs.append(cur["data"]); cur = {}
assert ids == list(range(1, len(ids) + 1)), ids
assert all("ts" in e and "type" in e and e["job"] for e in evs)
states = [e["state"] for e in evs if e["type"] == "state" and "node" not in e]
assert states == ["queued", "running", "succeeded"], states
done = [e["node"] for e in evs if e["type"] == "state" and e.get("node") and e["state"] == "succeeded"]
assert sorted(done) == ["first", "last", "p[value=1]", "p[value=2]"], done
assert any(e["type"] == "metric" for e in evs)
open(sys.argv[1] + ".n", "w").write(str(len(ids)))
PY
N=$(cat "$T/sse.n")
curl -s -N --max-time 30 -H "Last-Event-ID: $((N - 2))" "$S/v1/jobs/$ID1/events" | grep '^id: ' > "$T/sse2"
[ "$(cat "$T/sse2" | tr '\n' ' ')" = "id: $((N - 1)) id: $N " ] || fail "Last-Event-ID: got $(cat "$T/sse2")"
curl -s -N --max-time 30 "$S/v1/jobs/$ID1/events?after=$N" | grep -c '^id: ' > "$T/sse3" || true
[ "$(cat "$T/sse3")" = 0 ] || fail "?after=last should give no events"
expect_status 0 "$KILN" watch --json "$ID1"
[ "$(grep -c '"type"' "$T/out")" = "$N" ] || fail "kiln watch --json: expected $N events"
pass "events: DESIGN's format, ordered ids, resumable with Last-Event-ID, closed when the job ended"

# --- logs (offset, tail) and artifacts (ETag, 304, Range, 416)
expect_http 200 GET "/v1/jobs/$ID1/nodes/p%5Bvalue%3D2%5D/log"
expect_status 0 "$KILN" logs "$ID1" "p[value=2]"
cmp -s "$T/out" "$T/body" || fail "kiln logs differs from GET .../log"
expect_http 200 GET "/v1/jobs/$ID1/nodes/last/log"
cp "$T/body" "$T/lastlog"
expect_grep "echo: message of 1 bytes" "$T/lastlog"
expect_http 200 GET "/v1/jobs/$ID1/nodes/last/log?offset=3"
expect_grep '^X-Kiln-Log-Offset: 3' "$T/headers"
[ "$(cat "$T/body")" = "$(tail -c +4 "$T/lastlog")" ] || fail "log ?offset=3"
expect_http 200 GET "/v1/jobs/$ID1/nodes/last/log?tail=1"
[ "$(cat "$T/body")" = "$(tail -n 1 "$T/lastlog")" ] || fail "log ?tail=1"
expect_status 0 "$KILN" logs --tail 1 "$ID1" last
cmp -s "$T/out" "$T/body" || fail "kiln logs --tail 1"
expect_http 404 GET "/v1/jobs/$ID1/nodes/p/log"
expect_grep "has 2 instances" "$T/body"
expect_http 404 GET "/v1/jobs/$ID1/nodes/nope/log"
pass "node logs (by instance or node name, offset, tail)"

DIG=$(jq_ <(curl -s "$S/v1/jobs/$ID1") "[n for n in d['nodes'] if n['name'] == 'first'][0]['outputs']['out']['digest']")
expect_http 200 GET "/v1/artifacts/$DIG"
[ "$(cat "$T/body")" = "computed once" ] || fail "artifact content: $(cat "$T/body")"
[ "$(sha256sum < "$T/body" | cut -d' ' -f1)" = "$DIG" ] || fail "artifact digest mismatch"
expect_grep "^ETag: \"$DIG\"" "$T/headers"
expect_grep "^Content-Length: 13" "$T/headers"
expect_http 304 GET "/v1/artifacts/$DIG" -H "If-None-Match: \"$DIG\""
expect_http 206 GET "/v1/artifacts/$DIG" -H "Range: bytes=0-7"
[ "$(cat "$T/body")" = "computed" ] || fail "range 0-7: $(cat "$T/body")"
expect_grep "^Content-Range: bytes 0-7/13" "$T/headers"
expect_http 206 GET "/v1/artifacts/$DIG" -H "Range: bytes=-4"
[ "$(cat "$T/body")" = "once" ] || fail "suffix range: $(cat "$T/body")"
expect_http 416 GET "/v1/artifacts/$DIG" -H "Range: bytes=100-"
expect_http 200 HEAD "/v1/artifacts/$DIG" -I
expect_http 404 GET "/v1/artifacts/$(printf '0%.0s' $(seq 64))"
pass "artifacts: content, ETag, 304, Range 206, 416, 404"

# --- list: filters and paging (CLI and curl)
ID2=$("$KILN" submit --label team=speech "$G")
wait_state "$ID2" succeeded
expect_http 200 GET "/v1/jobs?label=team=vision"
[ "$(jq_ "$T/body" "[j['id'] for j in d['jobs']]")" = "[\"$ID1\"]" ] || fail "label filter: $(cat "$T/body")"
expect_http 200 GET "/v1/jobs?label=team=vision&label=stage=prod"
[ "$(jq_ "$T/body" "len(d['jobs'])")" = 0 ] || fail "two labels must both match"
expect_http 200 GET "/v1/jobs?state=succeeded&limit=1"
[ "$(jq_ "$T/body" "[j['id'] for j in d['jobs']]")" = "[\"$ID2\"]" ] || fail "newest first, 1 per page"
NEXT=$(jq_ "$T/body" "d['next']")
expect_http 200 GET "/v1/jobs?state=succeeded&limit=1&cursor=$NEXT"
[ "$(jq_ "$T/body" "[j['id'] for j in d['jobs']]")" = "[\"$ID1\"]" ] || fail "second page"
[ "$(jq_ "$T/body" "d['next']")" = null ] || fail "no third page expected"
expect_http 200 GET "/v1/jobs?state=failed"
[ "$(jq_ "$T/body" "len(d['jobs'])")" = 0 ] || fail "state filter"
expect_status 0 "$KILN" jobs --label team=speech
expect_grep "$ID2 +succeeded" "$T/out"
expect_no_grep "$ID1" "$T/out"
expect_status 0 "$KILN" jobs --all --limit 1 --json
[ "$(jq_ "$T/out" "len(d)")" = 2 ] || fail "kiln jobs --all pages through"
# the second job computed nothing: its prefix was cached by the first
expect_http 200 GET "/v1/jobs/$ID2"
[ "$(jq_ "$T/body" "d['counts']")" = '{"cached": 4}' ] || fail "second identical job should be all cached: $(jq_ "$T/body" "d['counts']")"
pass "GET /v1/jobs: label and state filters, paging; a second job reuses the cache"

# --- cancel a running job; cancel a queued one; retry finishes from the cache
cat > "$T/slow.json" <<'JSON'
{"kiln": 1, "name": "slow", "nodes": {
  "first": {"op": "test.source", "params": {"text": "before the cancel"}},
  "slow":  {"op": "test.sleep", "params": {"seconds": 60}},
  "last":  {"op": "test.echo", "inputs": {"items": ["first.out", "slow.out"]}}
}}
JSON
ID3=$("$KILN" submit "$T/slow.json")
wait_node_state "$ID3" slow running
expect_http 200 GET /healthz   # the server answers while a node runs
expect_status 0 "$KILN" cancel "$ID3"
expect_grep "cancel requested" "$T/out"
wait_state "$ID3" cancelled
expect_http 200 GET "/v1/jobs/$ID3"
[ "$(jq_ "$T/body" "{n['name']: n['state'] for n in d['nodes']}")" = '{"first": "succeeded", "slow": "cancelled", "last": "cancelled"}' ] ||
  fail "after cancel: $(jq_ "$T/body" "{n['name']: n['state'] for n in d['nodes']}")"
no_orphans
expect_status 1 "$KILN" cancel "$ID3"
expect_grep "ended already" "$T/err"
expect_http 409 POST "/v1/jobs/$ID3/cancel"
expect_http 404 POST "/v1/jobs/r-nope/cancel"
pass "cancel: a running job ends cancelled, its node process stopped; a second cancel is 409"

sed -i 's/"seconds": 60/"seconds": 0.2/' "$T/slow.json"
expect_status 1 "$KILN" retry "$ID1"     # succeeded: nothing to retry
expect_grep "nothing to retry" "$T/err"
# retry re-plans the stored graph: with seconds 60 it would run 60 s again, so submit the
# quick one first and retry the cancelled job only to check what it re-runs
expect_status 130 "$KILN" retry --watch "$ID3" &
RPID=$!
wait_node_state "$ID3" slow running
expect_http 200 GET "/v1/jobs/$ID3"
[ "$(jq_ "$T/body" "[n['state'] for n in d['nodes'] if n['name'] == 'first'][0]")" = cached ] || fail "retry: first should be cached"
[ "$(jq_ "$T/body" "d['runs']")" = 2 ] || fail "retry: runs should be 2"
"$KILN" cancel "$ID3" >/dev/null
wait "$RPID" || fail "kiln retry --watch of a cancelled job should exit 130"
pass "retry: finished instances come from the cache; kiln retry --watch exits 130 when cancelled"

# queued jobs can be cancelled before they start: fill the only job slot first
stop_server
start_server -j 1 --max-jobs 1
sed -i 's/"seconds": 0.2/"seconds": 30/' "$T/slow.json"
BLOCK=$("$KILN" submit --name blocker "$T/slow.json")
QUEUED=$("$KILN" submit --name waiting "$G")
wait_node_state "$BLOCK" slow running
[ "$(job_state "$QUEUED")" = queued ] || fail "second job should wait for the only job slot"
expect_http 200 POST "/v1/jobs/$QUEUED/cancel"
[ "$(jq_ "$T/body" "d['state']")" = cancelled ] || fail "queued job: cancel should be immediate"
expect_http 202 POST "/v1/jobs/$BLOCK/cancel"
wait_state "$BLOCK" cancelled
pass "cancel: a queued job is cancelled at once (200), a running one asynchronously (202)"

# --- a crashing plugin fails its node, never the server
cat > "$T/crash.json" <<'JSON'
{"kiln": 1, "nodes": {
  "ok":  {"op": "test.source", "params": {"text": "fine"}},
  "bad": {"op": "test.crash"},
  "after": {"op": "test.echo", "inputs": {"items": ["bad.out"]}}
}}
JSON
ID4=$("$KILN" submit "$T/crash.json")
expect_status 1 "$KILN" watch "$ID4"
expect_grep "job $ID4: failed" "$T/out"
expect_http 200 GET "/v1/jobs/$ID4"
/usr/bin/python3 - "$T/body" <<'PY' || fail "crash job"
import json, sys
d = json.load(open(sys.argv[1]))
st = {n["name"]: n for n in d["nodes"]}
assert st["bad"]["state"] == "failed" and "SIGSEGV" in st["bad"]["error"], st["bad"]
assert st["ok"]["state"] == "succeeded" and st["after"]["state"] == "skipped", st
assert "bad" in d["error"], d["error"]
PY
expect_http 200 GET "/v1/jobs/$ID4/nodes/bad/log"
expect_grep "SIGSEGV" "$T/body"
expect_http 200 GET /healthz
kill -0 "$SERVER_PID" || fail "server died"
pass "a plugin crash fails its node (SIGSEGV named, log kept); the server keeps answering"

# --- two jobs at once with a common prefix compute it once
stop_server
start_server -j 2
# Both jobs reach "shared" at about the same moment (after the same sleep, which always
# runs): one computes it, the other waits for that result instead of computing it again.
cat > "$T/prefix.json" <<'JSON'
{"kiln": 1, "nodes": {
  "slowpart": {"op": "test.sleep", "params": {"seconds": 1}},
  "shared": {"op": "test.echo", "params": {"message": "common"}, "inputs": {"items": ["slowpart.out"]}},
  "mine":  {"op": "test.echo", "params": {"message": "MSG"}, "inputs": {"items": ["shared.out"]}}
}}
JSON
sed 's/MSG/a/' "$T/prefix.json" > "$T/pa.json"; sed 's/MSG/b/' "$T/prefix.json" > "$T/pb.json"
A=$("$KILN" submit "$T/pa.json"); B=$("$KILN" submit "$T/pb.json")
wait_state "$A" succeeded; wait_state "$B" succeeded
curl -s "$S/v1/jobs/$A" > "$T/a.json"; curl -s "$S/v1/jobs/$B" > "$T/b.json"
/usr/bin/python3 - "$T/a.json" "$T/b.json" <<'PY' || fail "common prefix"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
st = lambda d, n: [x["state"] for x in d["nodes"] if x["name"] == n][0]
assert st(a, "slowpart") == st(b, "slowpart") == "succeeded"   # test.sleep always runs
assert sorted([st(a, "shared"), st(b, "shared")]) == ["cached", "succeeded"], (st(a, "shared"), st(b, "shared"))
assert st(a, "mine") == st(b, "mine") == "succeeded"
PY
expect_http 200 GET /metrics
expect_grep '^kiln_nodes_total\{result="cached"\} [1-9]' "$T/body"
pass "two concurrent jobs with a common prefix compute it once"

# --- metrics
expect_http 200 GET /metrics
expect_grep '^kiln_jobs\{state="succeeded"\} 4$' "$T/body"   # across the restarts above
expect_grep '^kiln_jobs\{state="cancelled"\} 3$' "$T/body"
expect_grep '^kiln_jobs\{state="failed"\} 1$' "$T/body"
expect_grep '^kiln_http_requests_total\{method="GET",route="/v1/jobs/\{id\}",status="200"\} [1-9]' "$T/body"
expect_grep '^kiln_http_request_duration_seconds_bucket\{method="GET",route="/v1/jobs/\{id\}",le="\+Inf"\} [1-9]' "$T/body"
expect_grep '^kiln_nodes_total\{result="run"\} [1-9]' "$T/body"
expect_grep '^kiln_slots_total\{kind="cpu"\} 2$' "$T/body"
pass "GET /metrics: jobs by state, nodes, requests by route and status, latency histogram"

stop_server
[ "$SERVER_RC" = 0 ] || fail "SIGTERM: exit $SERVER_RC"
no_orphans
echo "all API endpoint checks passed"
