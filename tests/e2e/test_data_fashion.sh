#!/usr/bin/env bash
# examples/fashion-mnist.json on Debian's dataset-fashion-mnist: train and test sets read,
# the test set normalised with the train set's statistics, a stratified holdout split; the
# artifacts load with numpy alone and match numpy's own reading of the .gz files; a second
# run is fully cached. Skipped (exit 0 with a note) when the dataset package is absent.
source "$(dirname "$0")/lib.sh"
D=/usr/share/datasets/fashion-mnist
if [ ! -f "$D/train-images-idx3-ubyte.gz" ]; then
  echo "skip: $D not installed (apt-get install dataset-fashion-mnist)"
  exit 0
fi
G="$KILN_SOURCE_DIR/examples/fashion-mnist.json"
expect_status 0 "$KILN" validate "$G"
expect_status 0 "$KILN" run --out "$T/res" "$G"
expect_grep "5 instances: 5 succeeded" "$T/out"
PYTHONPATH="$KILN_SOURCE_DIR/tests/python" /usr/bin/python3 - "$T/res" "$D" <<'PY'
import gzip, json, sys
import numpy as np
from read_safetensors import load
res, d = sys.argv[1:3]
def idx(name, off):
    return np.frombuffer(gzip.open("%s/%s" % (d, name)).read(), np.uint8, offset=off)
x = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
y = idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
xt = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
raw, meta = load(res + "/train_data/dataset.safetensors")
assert (raw["x"] == x).all() and (raw["y"] == y).all()
classes = json.loads(meta["kiln.classes"])
assert len(classes) == 10 and classes[9] == "Ankle boot", classes
norm, nmeta = load(res + "/train_norm/dataset.safetensors")
st = json.loads(nmeta["kiln.normalize"])
assert st["mode"] == "global" and abs(st["mean"] - x.mean()) < 1e-9 and abs(st["std"] - x.std()) < 1e-9
assert abs(float(norm["x"].mean())) < 1e-4 and abs(float(norm["x"].std()) - 1) < 1e-4
test, tmeta = load(res + "/test_norm/dataset.safetensors")
assert json.loads(tmeta["kiln.normalize"]) == st
ref = (xt.astype(np.float64) - st["mean"]) / st["std"]
assert test["x"].shape == (10000, 28, 28) and np.abs(test["x"] - ref).max() < 1e-5
tr, ho = load(res + "/split/train.safetensors")[0], load(res + "/split/holdout.safetensors")[0]
assert tr["y"].shape == (54000,) and ho["y"].shape == (6000,)
assert (np.bincount(ho["y"]) == 600).all()
PY
pass "Fashion-MNIST example: data read exactly, test set normalised with train statistics, stratified split"
expect_status 0 "$KILN" run "$G"
expect_grep "5 instances: 0 succeeded, 5 cached" "$T/out"
pass "a second run is fully cached"
