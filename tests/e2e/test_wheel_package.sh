#!/usr/bin/env bash
# wheel.package through `kiln exec-node` (the path every executor takes), on models written
# by tests/python/make_model.py (an MLP and a small CNN, no trainer needed):
#   - the wheel gets its PEP 427 name, is byte-identical when packaged again (another work
#     dir, time zone and umask), passes Debian's `python3 -m wheel unpack` and the checker;
#   - it installs with real pip into a fresh venv (--no-index --no-deps), and predict() /
#     predict_proba() equal a separate float64 reference forward pass; pip uninstall
#     removes it (RECORD is right);
#   - version suffixes: release, dev (.devYYYYMMDD from param date, refused without it),
#     local (+g<commit>, or +g<model sha256 prefix>);
#   - bad params and bad models fail the node with a message naming the problem.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
PYDIR="$KILN_SOURCE_DIR/tests/python"
WHEEL_SO="$KILN_BUILD_DIR/lib/kiln/plugins/kiln_wheel.so"
if [ ! -f "$WHEEL_SO" ]; then echo "skip: $WHEEL_SO not built (libzip/libelf missing)"; exit 0; fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_NO_INPUT=1

$PY "$PYDIR/make_model.py" --arch mlp --out "$T/mlp.safetensors" --x "$T/x_mlp.npy" --n 50 --seed 1 --classes
$PY "$PYDIR/make_model.py" --arch cnn --out "$T/cnn.safetensors" --x "$T/x_cnn.npy" --n 40 --seed 2 --normalize
echo '{"accuracy": 0.875, "loss": 0.25, "samples": 40}' > "$T/metrics.json"

# package TAG MODEL PARAMS [METRICS]: runs wheel.package; the wheel lands in $T/res/TAG.whl,
# events in $T/out (expect_status), and $T/res/TAG.name holds the output's file name.
package() {
  local tag=$1 model=$2 params=$3 metrics=${4:-}
  local inputs="\"model\": [{\"path\": \"$model\"}]"
  [ -n "$metrics" ] && inputs="$inputs, \"metrics\": [{\"path\": \"$metrics\"}]"
  mkdir -p "$T/res"
  cat > "$T/spec-$tag.json" <<EOF
{"kiln_spec": 1, "plugin_path": "$WHEEL_SO", "op": "wheel.package", "node": "$tag",
 "params": $params, "inputs": {$inputs}, "work_dir": "$T/work-$tag",
 "output_paths": {"wheel": "$T/res/$tag.whl"}}
EOF
  "$KILN" exec-node --spec "$T/spec-$tag.json" --events-fd 1
}

result_name() {
  $PY -c 'import json,sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
assert ev["type"] == "result" and ev["status"] == "ok", ev
print(ev["outputs"]["wheel"]["file_name"])' "$T/out"
}

# ---- packaging, names, reproducibility ------------------------------------------------------
expect_status 0 package mlp "$T/mlp.safetensors" '{"name": "Tiny.MLP", "version": "v1.2-RC1"}'
[ "$(result_name)" = "tiny_mlp-1.2rc1-py3-none-any.whl" ] || fail "mlp wheel named $(result_name)"
expect_status 0 package cnn "$T/cnn.safetensors" '{"name": "tiny-cnn", "version": "2.0.0", "summary": "a CNN"}' "$T/metrics.json"
[ "$(result_name)" = "tiny_cnn-2.0.0-py3-none-any.whl" ] || fail "cnn wheel named $(result_name)"
pass "wheel.package names wheels by PEP 427 (normalised name and version)"

(export TZ=Asia/Tokyo; umask 077
 expect_status 0 package mlp2 "$T/mlp.safetensors" '{"name": "Tiny.MLP", "version": "v1.2-RC1"}')
cmp "$T/res/mlp.whl" "$T/res/mlp2.whl" || fail "packaging the same model twice gave different bytes"
pass "the same model and params give a byte-identical wheel (other work dir, TZ, umask)"

mkdir -p "$T/wheels"
cp "$T/res/mlp.whl" "$T/wheels/tiny_mlp-1.2rc1-py3-none-any.whl"
cp "$T/res/cnn.whl" "$T/wheels/tiny_cnn-2.0.0-py3-none-any.whl"

# ---- Debian's wheel tool and the checker accept them ----------------------------------------
mkdir -p "$T/unpacked"
for w in "$T"/wheels/*.whl; do
  expect_status 0 $PY -m wheel unpack -d "$T/unpacked" "$w"
done
[ -f "$T/unpacked/tiny_mlp-1.2rc1/tiny_mlp/model.safetensors" ] || fail "wheel unpack did not produce the model"
cmp "$T/unpacked/tiny_mlp-1.2rc1/tiny_mlp/model.safetensors" "$T/mlp.safetensors" || fail "the packaged weights differ"
pass "python3 -m wheel unpack accepts the wheels (and verifies RECORD); weights are byte for byte"

if "$KILN" wheel --help >/dev/null 2>&1; then
  expect_status 0 "$KILN" wheel check "$T"/wheels/*.whl
  expect_grep "tiny_mlp-1.2rc1-py3-none-any.whl: valid" "$T/out"
  pass "kiln wheel check accepts them"
else
  echo "note: 'kiln wheel' is not in this kiln's command table yet; CLI check skipped"
fi

# ---- real pip into a fresh venv; predictions equal the reference ----------------------------
$PY -m venv --system-site-packages "$T/venv"
expect_status 0 "$T/venv/bin/python" -m pip install --no-index --no-deps "$T"/wheels/*.whl
expect_grep "Successfully installed tiny-cnn-2.0.0 tiny-mlp-1.2rc1" "$T/out"
cd "$T"  # import from the install, never from a source tree
expect_status 0 "$T/venv/bin/python" "$PYDIR/wheel_verify.py" --import tiny_mlp --model "$T/mlp.safetensors" \
  --x "$T/x_mlp.npy" --name Tiny.MLP --version 1.2rc1 --classes
cat "$T/out"
expect_status 0 "$T/venv/bin/python" "$PYDIR/wheel_verify.py" --import tiny_cnn --model "$T/cnn.safetensors" \
  --x "$T/x_cnn.npy" --name tiny-cnn --version 2.0.0
cat "$T/out"
pass "pip installs both wheels; predict/predict_proba equal the reference forward pass (MLP and CNN)"

expect_status 0 "$T/venv/bin/python" -c '
import tiny_cnn
m = tiny_cnn.metadata
assert m["metrics"] == {"accuracy": 0.875, "loss": 0.25, "samples": 40}, m["metrics"]
assert m["normalize"]["mode"] == "global" and m["arch"]["layers"][0]["type"] == "conv2d"
assert len(m["model_sha256"]) == 64 and m["import_name"] == "tiny_cnn"
from importlib.metadata import metadata, requires
md = metadata("tiny-cnn")
assert md["Summary"] == "a CNN" and md["Metadata-Version"] == "2.1", dict(md)
assert requires("tiny-cnn") == ["numpy"], requires("tiny-cnn")
print("metadata ok")'
expect_status 0 "$T/venv/bin/python" -m pip uninstall -y tiny-mlp
expect_status 1 "$T/venv/bin/python" -c 'import tiny_mlp'
cd - >/dev/null
[ ! -e "$T/venv/lib/python3"*/site-packages/tiny_mlp ] || fail "pip uninstall left tiny_mlp behind"
pass "metadata carries metrics, normalisation, the model digest; pip uninstall removes every file"

# ---- version suffixes -------------------------------------------------------------------------
expect_status 0 package dev "$T/mlp.safetensors" '{"name": "tiny-mlp", "version": "1.2.0", "suffix": "dev", "date": "20250131"}'
[ "$(result_name)" = "tiny_mlp-1.2.0.dev20250131-py3-none-any.whl" ] || fail "dev wheel named $(result_name)"
expect_status 0 package local "$T/mlp.safetensors" '{"name": "tiny-mlp", "version": "1.2.0", "suffix": "local", "commit": "ABCDEF1234"}'
[ "$(result_name)" = "tiny_mlp-1.2.0+gabcdef1234-py3-none-any.whl" ] || fail "local wheel named $(result_name)"
digest=$(sha256sum "$T/mlp.safetensors" | cut -c1-12)
expect_status 0 package local2 "$T/mlp.safetensors" '{"name": "tiny-mlp", "version": "1.2.0", "suffix": "local"}'
[ "$(result_name)" = "tiny_mlp-1.2.0+g$digest-py3-none-any.whl" ] || fail "local wheel named $(result_name), want +g$digest"
expect_status 0 package rel "$T/mlp.safetensors" '{"name": "tiny-mlp", "version": "1.2.0", "suffix": "release"}'
[ "$(result_name)" = "tiny_mlp-1.2.0-py3-none-any.whl" ] || fail "release wheel named $(result_name)"
pass "suffixes: release, dev (.devYYYYMMDD), local (+g<commit> or +g<model digest>)"

# ---- refusals -------------------------------------------------------------------------------
expect_status 1 package e1 "$T/mlp.safetensors" '{"name": "tiny-mlp", "suffix": "dev"}'
expect_grep "param 'date' \(YYYYMMDD\) is required with suffix 'dev'" "$T/out"
expect_status 1 package e2 "$T/mlp.safetensors" '{"name": "tiny-mlp", "suffix": "dev", "date": "20251332"}'
expect_grep "param 'date': expected YYYYMMDD" "$T/out"
expect_status 1 package e3 "$T/mlp.safetensors" '{"name": "bad name"}'
expect_grep "invalid distribution name 'bad name'" "$T/out"
expect_status 1 package e4 "$T/mlp.safetensors" '{"name": "tiny-mlp", "version": "1.0.x"}'
expect_grep "param 'version': invalid version '1.0.x'" "$T/out"
expect_status 1 package e5 "$T/mlp.safetensors" '{"name": "3d-net"}'
expect_grep "set param 'import_name'" "$T/out"
expect_status 0 package e5ok "$T/mlp.safetensors" '{"name": "3d-net", "import_name": "net3d"}'
expect_status 1 package e6 "$T/mlp.safetensors" '{"name": "x", "version": "1.0+local", "suffix": "local"}'
expect_grep "already has a local part" "$T/out"
expect_status 1 package e7 "$T/mlp.safetensors" '{"name": "x", "suffix": "local", "commit": "not-hex"}'
expect_grep "param 'commit': expected hex digits" "$T/out"

$PY - "$T" "$PYDIR" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from make_model import write_safetensors
import numpy as np
t = sys.argv[1]
w = {"0.weight": np.zeros((3, 4), np.float32), "0.bias": np.zeros(3, np.float32)}
arch = {"input_shape": [4], "num_classes": 3, "layers": [{"type": "linear", "in": 4, "out": 3}]}
write_safetensors(t + "/noarch.safetensors", w, {"format": "pt"})
bad = dict(arch, layers=[{"type": "gelu"}])
write_safetensors(t + "/gelu.safetensors", w, {"kiln.arch": json.dumps(bad)})
write_safetensors(t + "/shape.safetensors", {"0.weight": np.zeros((3, 5), np.float32), "0.bias": w["0.bias"]},
                  {"kiln.arch": json.dumps(arch)})
write_safetensors(t + "/classes.safetensors", w, {"kiln.arch": json.dumps(dict(arch, num_classes=2))})
open(t + "/garbage.safetensors", "wb").write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
PY
expect_status 1 package m1 "$T/noarch.safetensors" '{"name": "x"}'
expect_grep "has no kiln.arch metadata" "$T/out"
expect_status 1 package m2 "$T/gelu.safetensors" '{"name": "x"}'
expect_grep "layer 0 has type 'gelu'" "$T/out"
expect_status 1 package m3 "$T/shape.safetensors" '{"name": "x"}'
expect_grep "tensor '0.weight' should be F32 \[3, 4\], it is F32 \[3, 5\]" "$T/out"
expect_status 1 package m4 "$T/classes.safetensors" '{"name": "x"}'
expect_grep "the last layer gives \[3\], but num_classes is 2" "$T/out"
expect_status 1 package m5 "$T/garbage.safetensors" '{"name": "x"}'
expect_grep "input 'model'" "$T/out"
expect_status 1 package e8 "$T/mlp.safetensors" '{"name": "NumPy"}'
expect_grep "import name 'numpy' \(from param 'name'\) would shadow the module 'numpy'" "$T/out"
for tag in e1 e2 e3 e4 e5 e6 e7 e8 m1 m2 m3 m4 m5; do
  [ ! -e "$T/res/$tag.whl" ] || fail "a failed node ($tag) left a wheel behind"
done
pass "bad params and bad models fail the node with the problem named; no wheel is left"
