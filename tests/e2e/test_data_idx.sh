#!/usr/bin/env bash
# data.idx through the real kiln binary: plain and gzip IDX files give the same dataset
# artifact, readable with numpy alone; every bad input of issue 4 fails its node with the file
# and byte offset named, and nothing reaches the store.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export PYTHONPATH="$KILN_SOURCE_DIR/tests/python"

$PY - "$T" <<'PY'
import gzip, sys
import numpy as np
from data_e2e import idx_bytes, write_idx
t = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.integers(0, 256, (50, 4, 3), dtype=np.uint8)
y = (np.arange(50) % 5).astype(np.uint8)
np.save(t + "/x.npy", x); np.save(t + "/y.npy", y)
write_idx(t + "/img", x); write_idx(t + "/lab", y)
write_idx(t + "/img.gz", x); write_idx(t + "/lab.gz", y)
write_idx(t + "/img16.gz", (x.astype(np.int16) - 100))
gz = open(t + "/img.gz", "rb").read()
open(t + "/trunc.gz", "wb").write(gz[: len(gz) // 2])
raw = idx_bytes(x)
open(t + "/magic", "wb").write(b"\x50\x4b\x03\x04" + raw[4:])
open(t + "/short", "wb").write(raw[:-7])
write_idx(t + "/lab49.gz", y[:49])
bad = y.copy(); bad[13] = 7
write_idx(t + "/lab_oor.gz", bad)
open(t + "/empty", "wb").close()
PY

cat > "$T/good.json" <<'EOF2'
{"kiln": 1, "name": "idx-good", "nodes": {
  "plain": {"op": "data.idx", "params": {"images": "img", "labels": "lab"}},
  "gz":    {"op": "data.idx", "params": {"images": "img.gz", "labels": "lab.gz",
                                         "classes": ["a", "b", "c", "d", "e"]}},
  "gz2":   {"op": "data.idx", "params": {"images": "img.gz", "labels": "lab.gz"}},
  "f32":   {"op": "data.idx", "params": {"images": "img.gz", "labels": "lab.gz", "dtype": "float32"}},
  "i16":   {"op": "data.idx", "params": {"images": "img16.gz", "labels": "lab.gz"}}}}
EOF2
expect_status 0 "$KILN" run --out "$T/res" "$T/good.json"
$PY - "$T" <<'PY'
import json, sys
import numpy as np
from read_safetensors import load
t = sys.argv[1]
x, y = np.load(t + "/x.npy"), np.load(t + "/y.npy")
for node in ("plain", "gz", "gz2"):
    d, meta = load("%s/res/%s/dataset.safetensors" % (t, node))
    assert d["x"].dtype == np.uint8 and d["x"].shape == (50, 4, 3), (node, d["x"].dtype, d["x"].shape)
    assert (d["x"] == x).all() and d["y"].dtype == np.int64 and (d["y"] == y).all(), node
    assert meta["kiln.num_classes"] == "5", meta
gz_meta = load(t + "/res/gz/dataset.safetensors")[1]
assert json.loads(gz_meta["kiln.classes"]) == ["a", "b", "c", "d", "e"], gz_meta
assert "kiln.classes" not in load(t + "/res/plain/dataset.safetensors")[1]
f = load(t + "/res/f32/dataset.safetensors")[0]["x"]
assert f.dtype == np.float32 and (f == x.astype(np.float32)).all()
i = load(t + "/res/i16/dataset.safetensors")[0]["x"]
assert i.dtype == np.float32 and (i == x.astype(np.float32) - 100).all()
PY
pass "plain and gzip IDX read exactly; dtype float32 and int16 IDX convert; numpy reads the artifact"
cmp "$T/res/plain/dataset.safetensors" "$T/res/gz2/dataset.safetensors" \
  || fail "plain and gzip inputs gave different bytes"
pass "plain and gzip inputs give the same bytes"

# Every bad input in one graph (independent branches all run and fail).
export KILN_HOME="$T/badhome"
cat > "$T/bad.json" <<'EOF2'
{"kiln": 1, "name": "idx-bad", "nodes": {
  "trunc":    {"op": "data.idx", "params": {"images": "trunc.gz", "labels": "lab.gz"}},
  "magic":    {"op": "data.idx", "params": {"images": "magic", "labels": "lab"}},
  "short":    {"op": "data.idx", "params": {"images": "short", "labels": "lab"}},
  "mismatch": {"op": "data.idx", "params": {"images": "img.gz", "labels": "lab49.gz"}},
  "range":    {"op": "data.idx", "params": {"images": "img.gz", "labels": "lab_oor.gz",
                                            "classes": ["a", "b", "c", "d", "e"]}},
  "empty":    {"op": "data.idx", "params": {"images": "empty", "labels": "lab"}},
  "asuint8":  {"op": "data.idx", "params": {"images": "img16.gz", "labels": "lab.gz", "dtype": "uint8"}}}}
EOF2
expect_status 1 "$KILN" run --json "$T/bad.json"
$PY "$KILN_SOURCE_DIR/tests/python/data_e2e.py" errors "$T/out" > "$T/errors"
check() { # NODE REGEX
  grep -E "^$1	" "$T/errors" | grep -Eq -- "$2" || { cat "$T/errors"; fail "node $1: expected /$2/"; }
}
check trunc    "$T/trunc.gz: truncated gzip stream: the file ends at byte [0-9]+"
check magic    "$T/magic: wrong magic at byte 0: expected 00 00 <type> <ndim>, got 50 4b 03 04"
check short    "$T/short: truncated: the header declares 600 bytes of data from byte 16 .*ends at byte 609"
check mismatch "image/label count mismatch: $T/img.gz has 50 images .* $T/lab49.gz has 49 labels"
check range    "$T/lab_oor.gz: label 7 of item 13 at byte 21 \(decompressed\) is out of range: 5 classes given"
check empty    "$T/empty: empty file \(0 bytes\)"
check asuint8  "$T/img16.gz: the images are int16"
[ "$(wc -l < "$T/errors")" = 7 ] || { cat "$T/errors"; fail "expected 7 failed nodes"; }
pass "bad inputs fail with the file and the byte offset named"
$PY "$KILN_SOURCE_DIR/tests/python/data_e2e.py" no-datasets "$KILN_HOME"
expect_status 1 "$KILN" get trunc -o "$T/got"
[ ! -e "$T/got" ] || [ -z "$(ls -A "$T/got")" ] || fail "kiln get copied something for a failed node"
pass "a failed node stores nothing"

# Missing files and directories are caught before anything runs.
mkdir "$T/adir"
cat > "$T/missing.json" <<'EOF2'
{"kiln": 1, "name": "idx-missing", "nodes": {
  "missing": {"op": "data.idx", "params": {"images": "nope.gz", "labels": "lab"}},
  "dir":     {"op": "data.idx", "params": {"images": "img", "labels": "adir"}}}}
EOF2
expect_status 2 "$KILN" run "$T/missing.json"
cat "$T/out" >> "$T/err"
expect_grep "nope.gz.*no such file" "$T/err"
expect_grep "adir.*a directory" "$T/err"
pass "missing files and directories are named before the run"
