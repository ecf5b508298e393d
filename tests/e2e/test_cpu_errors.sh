#!/usr/bin/env bash
# Bad input to cpu.train / cpu.predict / eval.classify gets a clear error that names the node
# and the param or input at fault, and no model is written:
#   - params the schema refuses (lr <= 0, a hidden size of 0, ...): `kiln validate` and
#     `kiln run` name the node and the JSON path, nothing runs;
#   - through `kiln run`: NaN / Inf inputs, a dataset whose shape does not fit the
#     architecture, a validation / evaluation set with labels beyond the model's classes,
#     a loss that becomes NaN (huge lr: the message names the epoch and the step);
#   - through `kiln exec-node` with hand-written safetensors datasets that the data plugin
#     would never write: empty, labels out of range, x and y of different lengths, wrong dtype.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_cpu.sh"
cpu_test_setup kiln_cpu kiln_eval kiln_data
cd "$T"

# --- schema-level refusals -------------------------------------------------------------------
bad_param() {  # NAME PARAMS-JSON EXPECTED-PATTERN
  cat > "$T/p.json" <<EOF
{"kiln": 1, "name": "bad-param", "nodes": {
  "data": {"op": "data.npy", "params": {"x": "ok.npz"}},
  "train": {"op": "cpu.train", "inputs": {"train": "data.dataset"}, "params": $2}}}
EOF
  expect_status 1 "$KILN" validate "$T/p.json"
  expect_grep "$3" "$T/err"
  expect_grep "node 'train'" "$T/err"
  expect_status 2 "$KILN" run "$T/p.json"
  expect_grep "$3" "$T/err"
  [ ! -d "$KILN_HOME/cas" ] || [ -z "$(find "$KILN_HOME/cas" -type f)" ] || fail "$1: something ran"
  pass "$1 refused before anything runs: $(grep -Eo -- "$3.*" "$T/err" | head -1)"
}

$PY - <<'PY'
import numpy as np
rng = np.random.default_rng(0)
x = rng.normal(size=(200, 1, 8, 8)).astype(np.float32)
y = (np.arange(200) % 3).astype(np.int64)
np.savez("ok.npz", x=x, y=y)
xn = x.copy(); xn[17, 0, 3, 4] = np.nan; np.savez("nan.npz", x=xn, y=y)
xi = x.copy(); xi[5, 0, 0, 0] = np.inf; np.savez("inf.npz", x=xi, y=y)
np.savez("five.npz", x=x[:50], y=(np.arange(50) % 5).astype(np.int64))
np.savez("big.npz", x=(x * 1000).astype(np.float32), y=y)
np.savez("small.npz", x=rng.normal(size=(60, 1, 5, 5)).astype(np.float32), y=y[:60])
PY

bad_param "lr 0" '{"lr": 0}' "params/lr"
bad_param "lr < 0" '{"lr": -0.1}' "params/lr"
bad_param "hidden size 0" '{"hidden": [64, 0]}' "params/hidden/1"
bad_param "epochs 0" '{"epochs": 0}' "params/epochs"
bad_param "batch 0" '{"batch": 0}' "params/batch"
bad_param "unknown arch" '{"arch": "rnn"}' "params/arch"
bad_param "conv channels 0" '{"arch": "cnn", "conv": [0]}' "params/conv/0"

# --- refusals at run time, through kiln run ----------------------------------------------------
cat > "$T/g.json" <<'EOF'
{"kiln": 1, "name": "bad-input", "nodes": {
  "ok": {"op": "data.npy", "params": {"x": "ok.npz"}},
  "nan": {"op": "data.npy", "params": {"x": "nan.npz"}},
  "inf": {"op": "data.npy", "params": {"x": "inf.npz"}},
  "five": {"op": "data.npy", "params": {"x": "five.npz"}},
  "big": {"op": "data.npy", "params": {"x": "big.npz"}},
  "small": {"op": "data.npy", "params": {"x": "small.npz"}},
  "good": {"op": "cpu.train", "inputs": {"train": "ok.dataset"},
           "params": {"hidden": [8], "epochs": 1, "batch": 50, "threads": 1}},
  "t_nan": {"op": "cpu.train", "inputs": {"train": "nan.dataset"}, "params": {"hidden": [8], "epochs": 1}},
  "t_inf_val": {"op": "cpu.train", "inputs": {"train": "ok.dataset", "val": "inf.dataset"},
                "params": {"hidden": [8], "epochs": 1}},
  "t_val_classes": {"op": "cpu.train", "inputs": {"train": "ok.dataset", "val": "five.dataset"},
                    "params": {"hidden": [8], "epochs": 1}},
  "t_cnn_small": {"op": "cpu.train", "inputs": {"train": "small.dataset"}, "params": {"arch": "cnn", "epochs": 1}},
  "t_val_shape": {"op": "cpu.train", "inputs": {"train": "ok.dataset", "val": "small.dataset"},
                  "params": {"hidden": [8], "epochs": 1}},
  "t_diverge": {"op": "cpu.train", "inputs": {"train": "big.dataset"},
                "params": {"hidden": [8], "epochs": 3, "batch": 50, "lr": 1000000.0, "threads": 1}},
  "p_shape": {"op": "cpu.predict", "inputs": {"model": "good.model", "dataset": "small.dataset"}},
  "p_nan": {"op": "cpu.predict", "inputs": {"model": "good.model", "dataset": "nan.dataset"}},
  "e_shape": {"op": "eval.classify", "inputs": {"model": "good.model", "dataset": "small.dataset"}},
  "e_classes": {"op": "eval.classify", "inputs": {"model": "good.model", "dataset": "five.dataset"}},
  "e_inf": {"op": "eval.classify", "inputs": {"model": "good.model", "dataset": "inf.dataset"}}}}
EOF
expect_status 1 "$KILN" run --json -j 2 --out "$T/res" "$T/g.json"
cp "$T/out" "$T/events"
$PY - "$T/events" > "$T/errors.txt" <<'PY'
import json, sys
last, err = {}, {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("type") == "state" and e.get("node"):
        last[e["node"]] = e["state"]
        if e.get("error"): err[e["node"]] = e["error"]
for n in sorted(last):
    print("%s\t%s\t%s" % (n, last[n], err.get(n, "")))
PY
cat "$T/errors.txt"
want() {  # NODE PATTERN: NODE failed with an error matching PATTERN, and wrote nothing.
  grep -Eq "^$1	failed	.*$2" "$T/errors.txt" || fail "$1: expected a failure matching /$2/"
  [ ! -e "$T/res/$1" ] || { ls -R "$T/res/$1"; fail "$1: failed but left outputs"; }
}
want t_nan "input 'train': x holds NaN at sample 17 \(feature 28\)"
want t_inf_val "input 'val': x holds Inf at sample 5"
want t_val_classes "input 'val'.*label.*(3|4).*3 classes"
want t_cnn_small "input \[1, 5, 5\] does not fit the cnn.*'conv'.*'kernel'"
want t_val_shape "input 'val'.*features.*shape"
want t_diverge "loss became (NaN|infinite) at epoch [0-9]+, step [0-9]+ .*lower 'lr'"
want p_shape "input 'dataset': samples of shape \[1, 5, 5\] do not fit the model.*\[1, 8, 8\]"
want p_nan "input 'dataset': x holds NaN"
want e_shape "input 'dataset': samples of shape \[1, 5, 5\] do not fit"
want e_classes "input 'dataset'.*label.*3 classes"
want e_inf "input 'dataset': x holds Inf"
grep -Eq "^good	succeeded" "$T/errors.txt" || fail "the good model did not train"
# The store holds exactly one model: the good one (a failed node's outputs are discarded).
$PY - "$KILN_HOME/cas" <<'PY' || fail "a failed node left a model in the store"
import os, sys
n = 0
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        with open(os.path.join(d, f), "rb") as fh:
            if b'"kiln.arch"' in fh.read(1 << 16): n += 1
assert n == 1, n
PY
pass "run-time refusals name the node and the input/param; the divergence names epoch and step; no model written"

# --- datasets the data plugin would never write, straight through kiln exec-node -------------------
$PY - <<'PY'
import json, struct
import numpy as np
def st(path, tensors, meta):
    # A minimal safetensors writer: header JSON, 8-byte aligned, then the data.
    hdr, blobs, off = {"__metadata__": meta}, [], 0
    for name, (dtype, a) in tensors.items():
        b = a.tobytes(); hdr[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(hdr).encode(); h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
x = np.random.default_rng(1).normal(size=(40, 1, 8, 8)).astype(np.float32)
y = (np.arange(40) % 3).astype(np.int64)
m3 = {"kiln.num_classes": "3"}
st("empty.safetensors", {"x": ("F32", x[:0]), "y": ("I64", y[:0])}, m3)
yb = y.copy(); yb[7] = 3
st("label3.safetensors", {"x": ("F32", x), "y": ("I64", yb)}, m3)
yn = y.copy(); yn[11] = -2
st("labelneg.safetensors", {"x": ("F32", x), "y": ("I64", yn)}, m3)
st("short_y.safetensors", {"x": ("F32", x), "y": ("I64", y[:39])}, m3)
st("f64.safetensors", {"x": ("F64", x.astype(np.float64)), "y": ("I64", y)}, m3)
PY
exec_train() {  # DATASET PATTERN
  mkdir -p "$T/w-$1"
  cat > "$T/w-$1/spec.json" <<EOF
{"kiln_spec": 1, "plugin_path": "$PLUGINS/kiln_cpu.so", "op": "cpu.train", "node": "train",
 "work_dir": "$T/w-$1", "params": {"hidden": [8], "epochs": 1, "threads": 1},
 "inputs": {"train": [{"path": "$T/$1.safetensors"}]},
 "outputs": {"model": {"type": "model", "file_name": "model.safetensors"}}}
EOF
  expect_status 1 "$KILN" exec-node --spec "$T/w-$1/spec.json"
  expect_grep "$2" "$T/err"
  [ ! -e "$T/w-$1/out/model.safetensors" ] || fail "$1: a model was written"
  pass "exec-node cpu.train on $1: $(grep -Eo -- "$2.*" "$T/err" | head -1)"
}
exec_train empty "input 'train'.*empty \(0 samples\)"
exec_train label3 "input 'train': label y\[7\] = 3 is out of range, expected 0 <= y < 3"
exec_train labelneg "input 'train'.*y\[11\] = -2"
exec_train short_y "input 'train'.*40 samples but y has 39 labels"
exec_train f64 "input 'train'.*x must be U8 or F32"
echo "all cpu error checks passed"
