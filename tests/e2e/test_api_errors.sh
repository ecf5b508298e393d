#!/usr/bin/env bash
# REST control plane, bad input and hostile clients: 413 (declared and chunked bodies),
# 400 malformed JSON with its position, 422 with every validation error, 404 unknown
# route, 405 wrong method, 400 for a digest that is not 64 hex characters (no path
# traversal), the error object's shape, bearer-token auth (and --auth-reads), refusing a
# non-loopback bind without a token, the connection limit, and slow clients timing out.
source "$(dirname "$0")/lib.sh"
source "$KILN_SOURCE_DIR/api/tests/e2e_lib.sh"

# error_is STATUS CODE: the last body is {"error": {"code": CODE, "message": "...", "details": ...}}
error_is() {
  /usr/bin/python3 - "$T/body" "$1" <<'PY' || fail "error object for $1: $(cat "$T/body")"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"error"} and set(d["error"]) == {"code", "message", "details"}, d
assert d["error"]["code"] == sys.argv[2] and d["error"]["message"], d
PY
}

start_server --max-body 4096 --timeout 2 --max-connections 8
G='{"kiln": 1, "nodes": {"a": {"op": "test.source", "params": {"text": "x"}}}}'

# --- 413: declared Content-Length, and a chunked body that grows over the limit
head -c 5000 /dev/zero | tr '\0' ' ' > "$T/big"
expect_http 413 POST /v1/jobs --data-binary @"$T/big" -H 'Content-Type: application/json'
error_is body_too_large
expect_http 413 POST /v1/jobs --data-binary @"$T/big" -H 'Transfer-Encoding: chunked'
error_is body_too_large
expect_http 413 POST /v1/validate --data-binary @"$T/big"
expect_http 200 GET /healthz
pass "413 for bodies over --max-body (declared or chunked)"

# --- 400: malformed JSON names the position
expect_http 400 POST /v1/jobs --data-binary $'{"kiln": 1,\n  "nodes": {"a": }}'
error_is bad_json
[ "$(jq_ "$T/body" "[d['error']['details']['line'], d['error']['details']['column']]")" = "[2, 18]" ] ||
  fail "bad JSON position: $(cat "$T/body")"
expect_grep "line 2, column 18" "$T/body"
expect_http 400 POST /v1/jobs --data-binary '[1, 2]'
error_is bad_request
expect_http 400 POST /v1/jobs --data-binary '{"graph": {"kiln": 1, "nodes": {}}, "labels": {"bad key!": "x"}}'
error_is bad_request
expect_http 400 POST /v1/jobs --data-binary '{"graph": 3}'
expect_http 400 POST /v1/jobs --data-binary '{"graph": {}, "unknown": 1}'
expect_http 400 POST /v1/jobs
error_is bad_request
expect_http 400 GET '/v1/jobs?limit=0'
expect_http 400 GET '/v1/jobs?state=sleeping'
expect_http 400 GET '/v1/jobs?label=novalue'
expect_http 400 GET '/v1/jobs?cursor=abc'
pass "400: malformed JSON (with line, column, byte), wrong shapes, bad query parameters"

# --- 422: every validation error
cat > "$T/bad.json" <<'JSON'
{"kiln": 1, "nodes": {
  "a": {"op": "test.nope"},
  "b": {"op": "test.echo", "params": {"zzz": 1}},
  "c": {"op": "test.echo", "inputs": {"items": ["missing.out"]}}
}}
JSON
expect_http 422 POST /v1/jobs --data-binary @"$T/bad.json"
error_is invalid_graph
[ "$(jq_ "$T/body" "len(d['error']['details']['errors'])")" = 3 ] || fail "422 should list every error: $(cat "$T/body")"
expect_grep "test.nope" "$T/body"
expect_grep "zzz" "$T/body"
expect_grep "missing" "$T/body"
expect_status 1 "$KILN" submit "$T/bad.json"
[ "$(grep -c "node '" "$T/err")" = 3 ] || { cat "$T/err"; fail "kiln submit should print every error"; }
expect_http 200 GET '/v1/jobs'
[ "$(jq_ "$T/body" "len(d['jobs'])")" = 0 ] || fail "an invalid graph must not create a job"
printf '{"kiln": 1, "nodes": {' > "$T/trunc.json"
expect_status 2 "$KILN" submit "$T/trunc.json"
expect_grep "trunc.json:1:" "$T/err"
pass "422 with every validation error; nothing created"

# --- 404 and 405
expect_http 404 GET /v1/nope
error_is not_found
expect_http 404 GET /v1/jobs/
expect_http 404 GET /v1/jobs/r-20000101-000000-000000
error_is not_found
expect_http 404 GET /v1/jobs/r-20000101-000000-000000/events
expect_http 404 POST /v1/jobs/r-20000101-000000-000000/retry
expect_status 1 "$KILN" job r-20000101-000000-000000
expect_http 405 DELETE /v1/jobs
error_is method_not_allowed
expect_grep '^Allow: POST, GET, HEAD' "$T/headers"
expect_http 405 PUT /v1/jobs/x/cancel
expect_grep '^Allow: POST' "$T/headers"
expect_http 405 POST /healthz
pass "404 unknown routes and jobs, 405 with Allow"

# --- digests: 64 hex or 400; no path ever reaches the file system
for bad in abc "$(printf 'g%.0s' $(seq 64))" "$(printf 'a%.0s' $(seq 65))" ..%2F..%2F..%2Fetc%2Fpasswd \
           %2Fetc%2Fpasswd "..%2F$(printf 'a%.0s' $(seq 61))" "$(printf 'a%.0s' $(seq 63))%00"; do
  expect_http 400 GET "/v1/artifacts/$bad"
  error_is bad_digest
done
expect_http 400 GET "/v1/artifacts/../../etc/passwd" --path-as-is
expect_http 404 GET "/v1/artifacts/$(printf 'A%.0s' $(seq 64))"
pass "400 for every digest that is not 64 hex characters, traversal attempts included"

# --- bearer tokens
stop_server
echo "s3cret-token-0123456789" > "$T/token"
TOKEN="s3cret-token-0123456789"
start_server --token-file "$T/token"
expect_http 401 POST /v1/jobs --data-binary "$G"
error_is unauthorized
expect_grep '^WWW-Authenticate: Bearer' "$T/headers"
expect_http 401 POST /v1/jobs --data-binary "$G" -H "Authorization: Bearer wrong-token-0123456789"
expect_http 401 POST /v1/jobs --data-binary "$G" -H "Authorization: Bearer ${TOKEN}x"
expect_http 401 POST /v1/validate --data-binary "$G"
expect_http 201 POST /v1/jobs --data-binary "$G" -H "Authorization: Bearer $TOKEN"
ID=$(jq_ "$T/body" "d['id']")
expect_http 401 POST "/v1/jobs/$ID/cancel"
expect_http 200 GET "/v1/jobs/$ID"          # reads are open without --auth-reads
expect_status 1 "$KILN" submit <(echo "$G")
expect_grep "401" "$T/err"
expect_status 0 "$KILN" submit --token-file "$T/token" <(echo "$G")
KILN_TOKEN="$TOKEN" expect_status 0 "$KILN" submit <(echo "$G")
stop_server
start_server --token-file "$T/token" --auth-reads
expect_http 401 GET /v1/jobs
expect_http 401 GET "/v1/jobs/$ID"
expect_http 401 GET /metrics
expect_http 200 GET /healthz
expect_http 200 GET /v1/jobs -H "Authorization: Bearer $TOKEN"
KILN_TOKEN_FILE="$T/token" expect_status 0 "$KILN" jobs
expect_status 1 "$KILN" jobs
pass "bearer token on every POST; --auth-reads on reads too (not /healthz); CLI --token-file/KILN_TOKEN[_FILE]"

# --- binding: loopback by default; anything else needs a token
stop_server
expect_status 2 "$KILN" serve --host 0.0.0.0 --port 0
expect_grep "refusing to bind 0.0.0.0 without a token" "$T/err"
expect_status 2 "$KILN" serve --host 192.0.2.1 --port 0
expect_status 2 "$KILN" serve --auth-reads --port 0
expect_status 2 "$KILN" serve --host not-an-address --port 0
echo short > "$T/short"
expect_status 2 "$KILN" serve --token-file "$T/short" --port 0
expect_grep "at least 16 characters" "$T/err"
start_server --host 0.0.0.0 --token-file "$T/token"
expect_http 200 GET /healthz
stop_server
start_server
grep -q "listening on http://127.0.0.1:" "$T/serve.log" || fail "default bind should be 127.0.0.1"
# the default body limit is 1 MiB: one byte more is refused, exactly 1 MiB is read (and parsed)
head -c $((1048576 + 1)) /dev/zero | tr '\0' ' ' > "$T/big"
expect_http 413 POST /v1/validate --data-binary @"$T/big"
head -c 1048576 /dev/zero | tr '\0' ' ' > "$T/big"
expect_http 400 POST /v1/validate --data-binary @"$T/big"
error_is bad_json
pass "binds 127.0.0.1 by default; a non-loopback bind without a token is refused"

# --- the connection limit: beyond it, new connections wait until one closes
stop_server
start_server --max-connections 4 --timeout 60
/usr/bin/python3 - "$PORT" <<'PY' || fail "connection limit"
import socket, subprocess, sys
port = int(sys.argv[1])
url = f"http://127.0.0.1:{port}/healthz"
def get(t):
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", str(t), url],
                       capture_output=True, text=True)
    return r.stdout
assert get(30) == "200"
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
for s in idle:  # make sure the server has taken each of them
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(30)
    assert s.recv(12) == b"HTTP/1.1 200"
# 4 open keep-alive connections: the fifth is not served while they stay open
assert get(2) != "200", "a fifth connection was served past --max-connections 4"
for s in idle: s.close()
ok = any(get(30) == "200" for _ in range(20))
assert ok, "not served after the others closed"
PY
pass "--max-connections: no more connections served at once; served again when they close"

# --- slow clients: an idle or half-sent request is closed after --timeout
stop_server
start_server --timeout 1
/usr/bin/python3 - "$PORT" <<'PY' || fail "slow clients"
import socket, sys, time
port = int(sys.argv[1])
def closed_within(s, limit):
    s.settimeout(limit)
    try:
        while True:
            d = s.recv(4096)
            if not d: return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
a = socket.create_connection(("127.0.0.1", port))                  # says nothing
b = socket.create_connection(("127.0.0.1", port))
b.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")                   # never ends its headers
c = socket.create_connection(("127.0.0.1", port))
c.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"kiln\"")  # stalls in its body
for s, what in ((a, "silent"), (b, "half headers"), (c, "stalled body")):
    assert closed_within(s, 60), f"{what} connection was never closed"
PY
expect_http 200 GET /healthz
pass "slow clients (silent, half-sent headers, stalled body) are disconnected; the server answers others"

stop_server
[ "$SERVER_RC" = 0 ] || fail "SIGTERM exit $SERVER_RC"
echo "all API error checks passed"
