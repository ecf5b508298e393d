#!/usr/bin/env bash
# cpu.train checkpoints every epoch into the node's checkpoint dir and continues from it: a run
# killed (kill -9 of `kiln run`) after epoch k, then run again, ends with a model byte-identical
# to an uninterrupted run's (same seed and threads), SGD-momentum and Adam with a cosine
# schedule (optimizer state and the schedule position travel in the checkpoint). The checkpoint
# dir is gone once the node succeeded.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_cpu.sh"
cpu_test_setup kiln_cpu kiln_data
[ -f "$FM/t10k-images-idx3-ubyte.gz" ] || { echo "skip: $FM not installed (dataset-fashion-mnist)"; exit 0; }

EPOCHS=3
# CNN epochs on 3000 samples last long enough (about a second on two idle cores, more under
# load) for the poll below to land between two checkpoints.
graph() {  # OPTIMIZER-PARAMS
  cat <<EOF
{"kiln": 1, "name": "cpu-resume", "nodes": {
  "data": {"op": "data.idx", "params": {"images": "$FM/t10k-images-idx3-ubyte.gz",
                                        "labels": "$FM/t10k-labels-idx1-ubyte.gz"}},
  "norm": {"op": "data.normalize", "inputs": {"dataset": "data.dataset"}, "params": {"mode": "global"}},
  "split": {"op": "data.split", "inputs": {"dataset": "norm.dataset"}, "params": {"holdout": 500, "seed": 1}},
  "sub": {"op": "data.subset", "inputs": {"dataset": "split.train"}, "params": {"n": 3000}},
  "train": {"op": "cpu.train", "inputs": {"train": "sub.dataset", "val": "split.holdout"},
            "params": {"arch": "cnn", "conv": [16, 32], "hidden": [64], "epochs": $EPOCHS, "batch": 50,
                       "seed": 5, "threads": 2, $1}}}}
EOF
}

check_resume() {  # NAME OPTIMIZER-PARAMS
  local name=$1 g="$T/$1.json"
  graph "$2" > "$g"
  # Uninterrupted, in its own state directory.
  KILN_HOME="$T/full-$name" expect_status 0 "$KILN" run --out "$T/full-$name/res" "$g"
  # Interrupted: kill -9 the run as soon as a checkpoint exists, then run again.
  local home="$T/cut-$name"
  KILN_HOME="$home" "$KILN" run --json "$g" > "$T/cut-$name.ev1" 2>&1 &
  local pid=$!
  $PY - "$home/checkpoints" "$pid" <<'PY' || { kill -9 "$pid" 2>/dev/null; fail "$name: no checkpoint appeared"; }
import glob, os, sys, time
root, pid = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 600
while time.time() < deadline:
    if glob.glob(root + "/*/checkpoint.safetensors"):
        os.kill(pid, 9)
        sys.exit(0)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)
    time.sleep(0.005)
sys.exit(1)
PY
  wait "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do pgrep -f "exec-node --spec $home" >/dev/null || break; sleep 0.1; done
  ls "$home"/checkpoints/*/checkpoint.safetensors >/dev/null || fail "$name: the checkpoint did not survive the kill"
  KILN_HOME="$home" expect_status 0 "$KILN" run --json --out "$home/res" "$g"
  local k
  k=$($PY - "$T/out" <<'PY'
import json, re, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    m = re.search(r"resuming from the checkpoint after epoch (\d+) of (\d+)", e.get("message", "") or "")
    if e.get("type") == "log" and m: print(m.group(1)); break
PY
)
  [ -n "$k" ] || { cat "$T/out"; fail "$name: the second run did not resume from the checkpoint"; }
  [ "$k" -ge 1 ] && [ "$k" -lt "$EPOCHS" ] || fail "$name: resumed after epoch $k of $EPOCHS"
  cmp "$T/full-$name/res/train/model.safetensors" "$home/res/train/model.safetensors" ||
    fail "$name: the resumed model differs from the uninterrupted one"
  [ -z "$(ls -A "$home/checkpoints" 2>/dev/null)" ] || { ls -R "$home/checkpoints"; fail "$name: checkpoint left after success"; }
  pass "$name: killed after epoch $k of $EPOCHS, re-run resumed there, model byte-identical to the uninterrupted run"
}

check_resume sgd '"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "schedule": "step", "step_size": 2, "gamma": 0.5'
check_resume adam '"optimizer": "adam", "lr": 0.002, "weight_decay": 0.0001, "schedule": "cosine"'

# The history of all epochs is in the resumed model's metadata (the epochs before the kill
# came from the checkpoint).
$PY - "$T/cut-adam/res/train/model.safetensors" <<'PY' || fail "history"
import json, sys
from read_safetensors import load
_, meta = load(sys.argv[1])
h = json.loads(meta["kiln.training"])["history"]
assert [r["epoch"] for r in h] == [1, 2, 3], h
assert h[-1]["val_accuracy"] > 0.5, h
PY
pass "the resumed model's history has every epoch"

echo "all cpu resume checks passed"
