#!/usr/bin/env bash
# Real Bazel (Debian's bazel-bootstrap, offline) on an exported graph with the real ops:
# Fashion-MNIST (data.idx, data.subset to a few hundred samples) -> cpu.train (a tiny MLP,
# one epoch) -> eval.classify and wheel.package, beside test ops for a 2-axis sweep gathered
# by a list port, an input text file and a non-deterministic op.
#   - `bazel build //...` gives the same artifact digests as `kiln run` (deterministic ops);
#   - `bazel test //...` runs the generated py_test: the real wheel pip-installed into a
#     fresh venv, its predict() called;
#   - a second, identical export built in a fresh output base is served from --disk_cache;
#   - another fresh output base is served from an HTTP remote cache: nginx with WebDAV PUT
#     on 127.0.0.1, on a free port, started and stopped here;
#   - a changed input data file fails the build with both digests.
# Every Bazel command shares one output_user_root under $T; servers stop at the end.
source "$(dirname "$0")/lib.sh"

if ! command -v bazel >/dev/null; then
  echo "SKIP: bazel is not installed (Debian package bazel-bootstrap)"
  exit 0
fi
PLUGINS="$KILN_BUILD_DIR/lib/kiln/plugins"
for p in kiln_bazel kiln_data kiln_cpu kiln_eval kiln_wheel; do
  [ -f "$PLUGINS/$p.so" ] || { echo "SKIP: $PLUGINS/$p.so is not built"; exit 0; }
done
FMNIST=/usr/share/datasets/fashion-mnist
[ -f "$FMNIST/t10k-images-idx3-ubyte.gz" ] ||
  { echo "SKIP: $FMNIST is missing (Debian package dataset-fashion-mnist)"; exit 0; }
PY=/usr/bin/python3

# --- cleanup: Bazel servers, nginx, read-only output trees --------------------------------
BAZEL_ROOT="$T/bazel-root"
NGINX_PID=""
bazel_cleanup() {
  local base
  for base in "$T"/ob-*; do
    [ -d "$base" ] && bazel --output_user_root="$BAZEL_ROOT" --output_base="$base" shutdown >/dev/null 2>&1 || true
  done
  if [ -n "$NGINX_PID" ]; then kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
  chmod -R u+w "$T" 2>/dev/null || true
}
trap 'rc=$?; bazel_cleanup; (exit $rc); cleanup' EXIT

# bz BASE ARGS...: bazel in workspace $PWD with output base $T/ob-BASE (server mode; it
# stops itself after 5 idle minutes should the cleanup not run).
bz() {
  local base=$1; shift
  bazel --output_user_root="$BAZEL_ROOT" --output_base="$T/ob-$base" --nohome_rc \
    --max_idle_secs=300 "$@"
}
# bzb BASE ARGS...: the same in --batch mode (one command, no server left behind).
bzb() {
  local base=$1; shift
  bazel --output_user_root="$BAZEL_ROOT" --output_base="$T/ob-$base" --nohome_rc --batch "$@"
}

# --- the graph: the real ops on the Fashion-MNIST test set (10,000 images, the smaller
# file) cut to 300 training and 200 evaluation samples; test ops for the rest ------------
mkdir -p "$T/g"
printf 'notes for the bazel test\n' >"$T/g/notes.txt"
cat >"$T/g/graph.json" <<EOF
{
  "kiln": 1,
  "name": "bazel-e2e",
  "nodes": {
    "images": {"op": "data.idx",
               "params": {"images": "$FMNIST/t10k-images-idx3-ubyte.gz",
                          "labels": "$FMNIST/t10k-labels-idx1-ubyte.gz"}},
    "train_set": {"op": "data.subset", "inputs": {"dataset": "images.dataset"}, "params": {"n": 300}},
    "eval_set": {"op": "data.subset", "inputs": {"dataset": "images.dataset"},
                 "params": {"n": 200, "mode": "random", "seed": 1}},
    "train": {"op": "cpu.train", "inputs": {"train": "train_set.dataset"},
              "params": {"arch": "mlp", "hidden": [16], "epochs": 1, "batch": 50, "seed": 0, "threads": 1}},
    "eval": {"op": "eval.classify", "inputs": {"model": "train.model", "dataset": "eval_set.dataset"},
             "params": {"threads": 1}},
    "wheel": {"op": "wheel.package", "inputs": {"model": "train.model"},
              "params": {"name": "fashion-tiny", "version": "1.0.0", "weights_compression": "store"}},
    "notes": {"op": "test.source", "params": {"file": "notes.txt"}},
    "score": {"op": "test.param", "params": {"value": 1},
              "sweep": {"value": [0.5, 2, -1e-3], "tag": ["a b", "c/d", ".\u00e9t\u00e9"]}},
    "all": {"op": "test.param", "params": {"value": 3}},
    "report": {"op": "test.echo", "params": {"message": "scores:\\n"},
               "inputs": {"items": ["notes.out", "all.out", "score.out"]}},
    "nap": {"op": "test.sleep", "params": {"seconds": 0}}
  }
}
EOF

# --- kiln run: the reference digests --------------------------------------------------------
expect_status 0 "$KILN" run -j 2 "$T/g/graph.json"
"$KILN" plan --json "$T/g/graph.json" >"$T/plan.json"
$PY - "$T/plan.json" "$KILN" >"$T/expected.txt" <<'PY'
import json, subprocess, sys
plan = json.load(open(sys.argv[1]))
for inst in plan["instances"]:
    if "deterministic" not in inst["flags"]:
        continue
    shown = json.loads(subprocess.check_output([sys.argv[2], "show", "--json", inst["name"]]))
    for port, out in sorted(shown["outputs"].items()):
        print("%s\t%s\t%s" % (inst["name"], port, out["digest"]))
PY
[ "$(wc -l <"$T/expected.txt")" -eq 18 ] || { cat "$T/expected.txt"; fail "expected 18 deterministic outputs from kiln run"; }
pass "kiln run: $(wc -l <"$T/expected.txt") reference digests"

# --- export, twice: same bytes ----------------------------------------------------------------
expect_status 0 "$KILN" export bazel "$T/g/graph.json" -o "$T/ws"
expect_status 0 "$KILN" export bazel "$T/g/graph.json" -o "$T/ws2"
diff -r "$T/ws" "$T/ws2" >"$T/diff.txt" || { cat "$T/diff.txt"; fail "two exports of one graph differ"; }
expect_grep 'name = "score__tag_a_b__value_0.5"' "$T/ws/BUILD.bazel"
expect_grep 'name = "score__tag_c_d__value_-0.001"' "$T/ws/BUILD.bazel"
expect_grep 'name = "score__tag_\.__t____value_2"' "$T/ws/BUILD.bazel"
expect_grep 'name = "all_"' "$T/ws/BUILD.bazel"
expect_grep 'name = "wheel_test"' "$T/ws/BUILD.bazel"
pass "export: deterministic, readable sweep names (names Bazel does not allow mapped), a wheel py_test"

# check_digests DIR: every reference digest equals sha256 of the file Bazel built.
check_digests() {
  $PY - "$1" "$T/plan.json" "$T/expected.txt" <<'PY'
import hashlib, json, re, sys
ws, plan, expected = sys.argv[1:4]
build = open(ws + "/BUILD.bazel").read()
# target name and outs of each kiln_node, by instance name
targets = {}
for block in re.findall(r"kiln_node\((.*?)\n\)", build, re.S):
    name = re.search(r'\n    name = "([^"]*)"', block).group(1)
    node = json.loads('"%s"' % re.search(r'\n    node = "((?:[^"\\]|\\.)*)"', block).group(1))
    outs = dict(re.findall(r'"([a-z_0-9]+)": "([^"]*)"', re.search(r"outs = (\{.*?\}),\n", block, re.S).group(1)))
    targets[node] = (name, outs)
bad = 0
for line in open(expected):
    inst, port, digest = line.rstrip("\n").split("\t")
    name, outs = targets[inst]
    path = "%s/bazel-bin/%s/%s" % (ws, name, outs[port])
    got = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if got != digest:
        print("MISMATCH %s.%s: kiln run %s, bazel %s (%s)" % (inst, port, digest, got, path))
        bad += 1
sys.exit(1 if bad else 0)
PY
}

# spawns LOG: the "N processes: ..." summary line of a Bazel build.
spawns() { grep -E '^INFO: [0-9]+ process' "$1" | tail -1; }
# ran EXECLOG: the kiln nodes a build ran rather than took from a cache, one a line, from
# Bazel's --execution_log_json_file (concatenated JSON objects).
ran() {
  $PY - "$1" <<'PY'
import json, sys
text, pos, dec = open(sys.argv[1]).read(), 0, json.JSONDecoder()
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    spawn, pos = dec.raw_decode(text, pos)
    if spawn.get("mnemonic") == "KilnNode" and not spawn.get("remoteCacheHit"):
        print(spawn.get("progressMessage", "?"))
PY
}

# --- bazel build + test in output base "a", uploading to a disk cache and nginx -------------
command -v nginx >/dev/null && NGINX=1 || NGINX=0
if [ "$NGINX" = 1 ]; then
  PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$T/nginx/store" "$T/nginx/tmp" "$T/nginx/logs"
  DAV_EXT=""
  [ -f /usr/lib/nginx/modules/ngx_http_dav_ext_module.so ] &&
    DAV_EXT="load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;"
  # As root, nginx's workers would run as nobody, who cannot enter the private $T.
  USER_LINE=""
  [ "$(id -u)" = 0 ] && USER_LINE="user root;"
  cat >"$T/nginx/nginx.conf" <<EOF
$DAV_EXT
$USER_LINE
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log;
events { worker_connections 64; }
http {
  access_log $T/nginx/logs/access.log;
  client_body_temp_path $T/nginx/tmp/body;
  proxy_temp_path $T/nginx/tmp/proxy;
  fastcgi_temp_path $T/nginx/tmp/fastcgi;
  uwsgi_temp_path $T/nginx/tmp/uwsgi;
  scgi_temp_path $T/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$PORT;
    root $T/nginx/store;
    location /cache/ {
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 0;
    }
  }
}
EOF
  nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;' >"$T/nginx/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$T/nginx/logs/"*; fail "nginx did not start"; }
    sleep 0.1
  done
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" || fail "nginx did not answer on 127.0.0.1:$PORT within 10 s"
  REMOTE="--remote_cache=http://127.0.0.1:$PORT/cache"
  pass "nginx (WebDAV PUT) on 127.0.0.1:$PORT"
else
  echo "SKIP (remote cache part): nginx is not installed (Debian packages nginx, libnginx-mod-http-dav-ext)"
  REMOTE=""
fi

cd "$T/ws"
bz a build --disk_cache="$T/disk-cache" $REMOTE //... >"$T/build-a.log" 2>&1 || { cat "$T/build-a.log"; fail "bazel build //... failed"; }
check_digests "$T/ws" || fail "bazel build gave other digests than kiln run"
pass "bazel build //...: the same digests as kiln run"

bz a test --disk_cache="$T/disk-cache" $REMOTE //... >"$T/test-a.log" 2>&1 || { cat "$T/test-a.log"; fail "bazel test //... failed"; }
expect_grep '//:wheel_test +PASSED' "$T/test-a.log"
expect_grep '^fashion_tiny: predict\(\) on 2 samples of shape \(1, 28, 28\) -> \[[0-9], [0-9]\]' \
  "$T/ws/bazel-testlogs/wheel_test/test.log"
pass "bazel test //...: the real wheel pip-installs into a venv and predicts"

bz a build --execution_log_json_file="$T/exec-noop.json" //... >"$T/noop-a.log" 2>&1 ||
  { cat "$T/noop-a.log"; fail "no-op rebuild failed"; }
[ -z "$(ran "$T/exec-noop.json")" ] || { ran "$T/exec-noop.json"; fail "the no-op rebuild ran kiln nodes"; }
pass "bazel build again: nothing runs"


# --- a fresh output base and the second export, served from the disk cache ---------------------
cd "$T/ws2"
bzb b build --disk_cache="$T/disk-cache" --execution_log_json_file="$T/exec-b.json" //... >"$T/build-b.log" 2>&1 ||
  { cat "$T/build-b.log"; fail "disk-cache build failed"; }
spawns "$T/build-b.log" >"$T/spawns-b.txt"
expect_grep '[0-9]+ remote cache hit' "$T/spawns-b.txt"  # Bazel 4 counts disk hits so
# Only the op that is not deterministic (no-cache) runs again.
ran "$T/exec-b.json" >"$T/ran-b.txt"
[ "$(cat "$T/ran-b.txt")" = "kiln test.sleep nap" ] || { cat "$T/ran-b.txt"; fail "expected only 'nap' to run"; }
check_digests "$T/ws2" || fail "disk-cache build gave other digests"
pass "fresh output base: served from --disk_cache ($(cat "$T/spawns-b.txt"))"

# --- another fresh output base, served from the HTTP remote cache -------------------------------
if [ -n "$REMOTE" ]; then
  find "$T/nginx/store/cache/ac" -type f | grep -q . || fail "nothing was uploaded to the remote cache"
  rm -rf "$T/ws2/bazel-"*
  bzb c build $REMOTE --execution_log_json_file="$T/exec-c.json" //... >"$T/build-c.log" 2>&1 ||
    { cat "$T/build-c.log"; fail "remote-cache build failed"; }
  spawns "$T/build-c.log" >"$T/spawns-c.txt"
  expect_grep 'remote cache hit' "$T/spawns-c.txt"
  ran "$T/exec-c.json" >"$T/ran-c.txt"
  [ "$(cat "$T/ran-c.txt")" = "kiln test.sleep nap" ] || { cat "$T/ran-c.txt"; fail "expected only 'nap' to run"; }
  check_digests "$T/ws2" || fail "remote-cache build gave other digests"
  expect_grep '"PUT /cache/cas/' "$T/nginx/logs/access.log"
  expect_grep '"GET /cache/ac/[0-9a-f]+ HTTP/1.1" 200' "$T/nginx/logs/access.log"
  pass "fresh output base: served from the HTTP remote cache ($(cat "$T/spawns-c.txt"))"
fi

# --- a changed data file fails the build, naming both digests -------------------------------------
cd "$T/ws"
chmod u+w data/notes.txt
printf 'changed\n' >>data/notes.txt
if bz a build //:notes >"$T/changed.log" 2>&1; then cat "$T/changed.log"; fail "a changed data file built"; fi
expect_grep "file_digests/file': .*has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}" "$T/changed.log"
pass "a changed input file fails the build with both digests"
echo "all bazel build tests passed"
