# api/tests/e2e_lib.sh -- helpers for tests/e2e/test_api_*.sh, sourced after tests/e2e/lib.sh.
# Starts `kiln serve` on an ephemeral loopback port (every server started here is killed when
# the test exits), makes HTTP requests with curl, reads JSON with python3, and waits with
# bounded loops (never on timings).
: "${T:?source tests/e2e/lib.sh first}"
SERVERS=()

api_cleanup() {
  local pid
  for pid in "${SERVERS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${SERVERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  pkill -9 -f "exec-node --spec $KILN_HOME/" 2>/dev/null || true
}
trap 'rc=$?; api_cleanup; (exit $rc); cleanup' EXIT

# start_server [ARGS...]: starts kiln serve; sets SERVER_PID, PORT, S (base URL). Output in $T/serve.log.
start_server() {
  rm -f "$T/port"
  "$KILN" serve --port 0 --port-file "$T/port" "$@" >>"$T/serve.log" 2>&1 &
  SERVER_PID=$!
  SERVERS+=("$SERVER_PID")
  local i
  for i in $(seq 1 300); do
    [ -s "$T/port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$T/serve.log"; fail "kiln serve exited at start"; }
    sleep 0.05
  done
  [ -s "$T/port" ] || { cat "$T/serve.log"; fail "kiln serve did not write its port"; }
  PORT=$(cat "$T/port")
  S="http://127.0.0.1:$PORT"
  export KILN_SERVER="$S"
}

# stop_server [SIGNAL]: signals the server (default TERM) and waits for it; its exit status in SERVER_RC.
stop_server() {
  kill -"${1:-TERM}" "$SERVER_PID" 2>/dev/null || true
  set +e; wait "$SERVER_PID"; SERVER_RC=$?; set -e
}

# http METHOD PATH [CURL ARGS...]: prints the status code; the body is in $T/body, headers in $T/headers.
http() {
  local method=$1 path=$2; shift 2
  curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$method" "$@" "$S$path" || echo "000"
}

# expect_http WANT METHOD PATH [CURL ARGS...]: like http, and checks the status.
expect_http() {
  local want=$1; shift
  local got
  got=$(http "$@")
  if [ "$got" != "$want" ]; then echo "--- body:"; cat "$T/body" 2>/dev/null; echo; fail "expected HTTP $want from $1 $2, got $got"; fi
}

# jq_ FILE PYEXPR: evaluates a python expression over the JSON document `d` of FILE and prints it.
jq_() {
  /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list)) or v is None else v)' "$1" "$2"
}

# job_state ID: the job's state.
job_state() {
  curl -s "$S/v1/jobs/$1" -H "${AUTH_HEADER:-X-None: 1}" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("state"))'
}

# wait_state ID STATE...: waits (up to 90 s) until the job is in one of the states.
wait_state() {
  local id=$1; shift
  local st i
  for i in $(seq 1 900); do
    st=$(job_state "$id" || true)
    for want in "$@"; do [ "$st" = "$want" ] && return 0; done
    sleep 0.1
  done
  fail "job $id: expected state $*, still $st"
}

# wait_node_state ID NODE STATE: waits (up to 60 s) until the node instance reaches STATE.
wait_node_state() {
  local i
  for i in $(seq 1 600); do
    curl -s "$S/v1/jobs/$1" -H "${AUTH_HEADER:-X-None: 1}" >"$T/wn.json" || true
    if [ "$(jq_ "$T/wn.json" "[n['state'] for n in d.get('nodes', []) if n['name'] == '$2'][0] if d.get('nodes') else None" 2>/dev/null)" = "$3" ]; then return 0; fi
    sleep 0.1
  done
  cat "$T/wn.json"; fail "job $1: node $2 never reached $3"
}

# no_orphans: no exec-node of this test's home is left.
no_orphans() {
  local i
  for i in $(seq 1 50); do
    pgrep -f "exec-node --spec $KILN_HOME/" >/dev/null || return 0
    sleep 0.1
  done
  pgrep -af "exec-node --spec $KILN_HOME/"; fail "exec-node processes left behind"
}
