#!/usr/bin/env bash
# The whole path with the real trainer: data.npy -> cpu.train (an MLP and a CNN) ->
# wheel.package -> wheel.check, and cpu.predict on the same samples, in one `kiln run`. The
# wheels install with pip into a fresh venv and their predict() equals cpu.predict's classes
# (and the float64 reference forward pass). A second run is served from the cache with the
# same wheel bytes.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
PYDIR="$KILN_SOURCE_DIR/tests/python"
PLUGINS="$KILN_BUILD_DIR/lib/kiln/plugins"
for p in kiln_wheel kiln_cpu kiln_data; do
  if [ ! -f "$PLUGINS/$p.so" ]; then echo "skip: $PLUGINS/$p.so not built"; exit 0; fi
done
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_NO_INPUT=1

# Three classes by the sign pattern of two image regions: learnable in a few epochs.
$PY - "$T" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(7)
x = rng.normal(size=(240, 1, 8, 8)).astype(np.float32)
s = x[:, 0, :4, :].mean(axis=(1, 2)) - x[:, 0, 4:, :].mean(axis=(1, 2))
y = np.digitize(s, [-0.15, 0.15]).astype(np.int64)
np.savez(sys.argv[1] + "/d.npz", x=x, y=y)
np.save(sys.argv[1] + "/x.npy", x)
PY

cat > "$T/graph.json" <<'EOF'
{"kiln": 1, "name": "wheel-cpu", "nodes": {
  "data": {"op": "data.npy", "params": {"x": "d.npz"}},
  "mlp": {"op": "cpu.train", "inputs": {"train": "data.dataset"},
          "params": {"arch": "mlp", "hidden": [16], "epochs": 3, "batch": 32, "threads": 1, "seed": 1}},
  "cnn": {"op": "cpu.train", "inputs": {"train": "data.dataset"},
          "params": {"arch": "cnn", "conv": [4], "kernel": 3, "padding": 1, "pool": 2, "hidden": [8],
                     "epochs": 2, "batch": 32, "threads": 1, "seed": 2}},
  "mlp_pred": {"op": "cpu.predict", "inputs": {"model": "mlp.model", "dataset": "data.dataset"}, "params": {"threads": 1}},
  "cnn_pred": {"op": "cpu.predict", "inputs": {"model": "cnn.model", "dataset": "data.dataset"}, "params": {"threads": 1}},
  "mlp_wheel": {"op": "wheel.package", "inputs": {"model": "mlp.model"},
                "params": {"name": "kiln-cpu-mlp", "version": "1.0.0", "suffix": "dev", "date": "20250101"}},
  "cnn_wheel": {"op": "wheel.package", "inputs": {"model": "cnn.model"},
                "params": {"name": "kiln-cpu-cnn", "version": "1.0.0", "weights_compression": "store"}},
  "mlp_check": {"op": "wheel.check", "inputs": {"wheel": "mlp_wheel.wheel"}},
  "cnn_check": {"op": "wheel.check", "inputs": {"wheel": "cnn_wheel.wheel"}}}}
EOF
expect_status 0 "$KILN" run -j 2 --out "$T/res" "$T/graph.json"
mlp_whl="$T/res/mlp_wheel/kiln_cpu_mlp-1.0.0.dev20250101-py3-none-any.whl"
cnn_whl="$T/res/cnn_wheel/kiln_cpu_cnn-1.0.0-py3-none-any.whl"
[ -f "$mlp_whl" ] && [ -f "$cnn_whl" ] || { ls -R "$T/res"; fail "wheels not copied out under their PEP 427 names"; }
for c in mlp_check cnn_check; do
  $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["valid"], r' "$T/res/$c/wheel-check.json"
done
pass "kiln run: cpu.train -> wheel.package -> wheel.check; wheels copied out under their PEP 427 names"

# cpu.predict's classes as .npy, for the comparison inside the venv.
$PY - "$T" "$PYDIR" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import numpy as np
from read_safetensors import load
for m in ("mlp", "cnn"):
    p, _ = load("%s/res/%s_pred/predictions.safetensors" % (sys.argv[1], m))
    np.save("%s/%s_classes.npy" % (sys.argv[1], m), p["class"].astype(np.int64))
PY

$PY -m venv --system-site-packages "$T/venv"
expect_status 0 "$T/venv/bin/python" -m pip install --no-index --no-deps "$mlp_whl" "$cnn_whl"
cd "$T"
for m in mlp cnn; do
  expect_status 0 "$T/venv/bin/python" "$PYDIR/wheel_verify.py" --import "kiln_cpu_$m" \
    --model "$T/res/$m/model.safetensors" --x "$T/x.npy" --predictions "$T/${m}_classes.npy"
  cat "$T/out"
done
cd - >/dev/null
pass "pip-installed wheels predict exactly cpu.predict's classes (MLP and CNN) and match the reference"

cp "$mlp_whl" "$T/first.whl"
expect_status 0 "$KILN" run --json --out "$T/res2" "$T/graph.json"
[ "$(count_state cached "$T/out")" -ge 9 ] || { cat "$T/out"; fail "the second run was not served from the cache"; }
cmp "$T/first.whl" "$T/res2/mlp_wheel/kiln_cpu_mlp-1.0.0.dev20250101-py3-none-any.whl" || fail "cached wheel differs"
pass "a second run is served from the cache with the same wheel"
