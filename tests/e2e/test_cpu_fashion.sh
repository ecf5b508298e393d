#!/usr/bin/env bash
# cpu.train / cpu.predict / eval.classify / eval.select on real Fashion-MNIST, in one `kiln run`:
# a 2000-sample subset learns (holdout accuracy far above the 10% of chance after one epoch,
# MLP and the default CNN); a 2x2 sweep trains 4 models and eval.select picks the one whose
# metrics really are the best, with every candidate in its table; the chosen model loads into
# PyTorch (skipped with a message without python3-torch) and gives cpu.predict's classes and
# probabilities; the same inputs, seed and threads give the same model bytes in a fresh state
# directory, another seed other bytes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_cpu.sh"
cpu_test_setup kiln_cpu kiln_eval kiln_data
[ -f "$FM/t10k-images-idx3-ubyte.gz" ] || { echo "skip: $FM not installed (dataset-fashion-mnist)"; exit 0; }

# The 10k test file is enough: 1000 stratified holdout samples, the first 2000 of the rest to
# train on. Small and fast enough for the sanitizer build on two cores.
data_nodes() {
  cat <<EOF
  "data": {"op": "data.idx", "params": {"images": "$FM/t10k-images-idx3-ubyte.gz",
                                        "labels": "$FM/t10k-labels-idx1-ubyte.gz"}},
  "norm": {"op": "data.normalize", "inputs": {"dataset": "data.dataset"}, "params": {"mode": "global"}},
  "split": {"op": "data.split", "inputs": {"dataset": "norm.dataset"},
            "params": {"holdout": 1000, "stratify": true, "seed": 0}},
  "sub": {"op": "data.subset", "inputs": {"dataset": "split.train"}, "params": {"n": 2000}},
EOF
}

cat > "$T/g.json" <<EOF
{"kiln": 1, "name": "cpu-fashion", "nodes": {
$(data_nodes)
  "train": {"op": "cpu.train", "inputs": {"train": "sub.dataset", "val": "split.holdout"},
            "params": {"arch": "mlp", "hidden": [64], "epochs": 1, "batch": 32, "seed": 3, "threads": 2},
            "sweep": {"lr": [0.002, 0.05], "momentum": [0.0, 0.9]}},
  "eval": {"op": "eval.classify", "inputs": {"model": "train.model", "dataset": "split.holdout"}},
  "best": {"op": "eval.select", "inputs": {"metrics": "eval.metrics", "models": "train.model"},
           "params": {"by": "accuracy", "mode": "max"}},
  "pred": {"op": "cpu.predict", "inputs": {"model": "best.model", "dataset": "split.holdout"}},
  "cnn": {"op": "cpu.train", "inputs": {"train": "sub.dataset"},
          "params": {"arch": "cnn", "epochs": 1, "batch": 32, "lr": 0.03, "seed": 3, "threads": 2}},
  "cnn_eval": {"op": "eval.classify", "inputs": {"model": "cnn.model", "dataset": "split.holdout"}},
  "cnn_pred": {"op": "cpu.predict", "inputs": {"model": "cnn.model", "dataset": "split.holdout"},
               "params": {"batch": 100}}}}
EOF
expect_status 0 "$KILN" run --json -j 2 --out "$T/res" "$T/g.json"
cp "$T/out" "$T/events"
[ "$(count_state succeeded "$T/events")" -eq 17 ] || fail "expected 17 instances to succeed"
for lr in 0.002 0.05; do for m in 0.0 0.9; do
  [ -f "$T/res/train[lr=$lr,momentum=$m]/model.safetensors" ] || fail "no model for lr=$lr momentum=$m"
done; done
pass "one run: data -> 2x2 sweep of cpu.train (4 models) -> eval.classify x4 -> eval.select -> cpu.predict; the CNN too"

# Again: nothing runs, eval.select included (its key holds the candidates' instance names).
expect_status 0 "$KILN" run --json -j 2 "$T/g.json"
[ "$(count_state cached "$T/out")" -eq 17 ] || fail "second run: expected all 17 instances cached"
[ "$(count_state succeeded "$T/out")" -eq 0 ] || fail "second run: something ran again"
pass "a second run executes nothing: all 17 instances are cache hits"

$PY - "$T" <<'PY' || fail "learning / selection checks"
import glob, json, os, sys
t = sys.argv[1]
def metrics(p): return json.load(open(p))
# Holdout accuracy after ONE epoch on 2000 samples: chance is 0.10.
m = metrics(t + "/res/eval[lr=0.05,momentum=0.9]/metrics.json")
c = metrics(t + "/res/cnn_eval/metrics.json")
print("holdout accuracy after 1 epoch: mlp %.3f, cnn %.3f (chance 0.100)" % (m["accuracy"], c["accuracy"]))
assert m["accuracy"] > 0.55 and c["accuracy"] > 0.45, (m["accuracy"], c["accuracy"])
assert m["samples"] == 1000 and len(m["confusion"]) == 10 and len(m["per_class"]) == 10
assert sum(map(sum, m["confusion"])) == 1000
# The model's metadata carries the per-epoch history (train and validation).
sys.path.insert(0, os.environ["PYTHONPATH"])
from read_safetensors import load
_, meta = load(t + "/res/train[lr=0.05,momentum=0.9]/model.safetensors")
h = json.loads(meta["kiln.training"])["history"]
assert len(h) == 1 and {"train_loss", "train_accuracy", "val_loss", "val_accuracy"} <= set(h[0]), h
# eval.select: 4 candidates, each with its sweep values and metrics; the winner is the max.
tab = json.load(open(t + "/res/best/table.json"))
cands = tab["candidates"]
assert len(cands) == 4, len(cands)
accs = {}
for cd in cands:
    sw = cd["sweep"]
    mine = metrics("%s/res/eval[lr=%s,momentum=%s]/metrics.json" % (t, sw["lr"], sw["momentum"]))
    assert cd["metrics"]["accuracy"] == mine["accuracy"], (cd, mine)
    assert cd["params"]["lr"] == sw["lr"] and cd["params"]["momentum"] == sw["momentum"]
    accs[cd["node"]] = mine["accuracy"]
    print("  %-30s accuracy %.3f" % (cd["node"], mine["accuracy"]))
best = max(accs, key=accs.get)
assert tab["best_node"] == best and tab["best_value"] == accs[best], (tab["best_node"], best)
assert len(set(accs.values())) > 1, "the sweep made no difference"
# The selected model is the winner's file, byte for byte.
win = open("%s/res/%s/model.safetensors" % (t, best), "rb").read()
assert open(t + "/res/best/model.safetensors", "rb").read() == win
print("eval.select picked", best)
PY
pass "a 2000-sample subset learns in one epoch; eval.select picks the max of 4 candidates, table complete"

# The selected model (and the CNN) in PyTorch: same classes and probabilities as cpu.predict.
if ! $PY -c 'import torch' 2>/dev/null; then
  echo "skip: PyTorch cross-check (python3-torch not installed: 'import torch' failed)"
else
  $PY - "$T" <<'PY' || fail "PyTorch cross-check"
import json, sys
import numpy as np, torch
from read_safetensors import load
t = sys.argv[1]
torch.set_num_threads(1)
x = load(t + "/res/split/holdout.safetensors")[0]["x"].astype(np.float32)
def sequential(arch):
    mods = []
    for l in arch["layers"]:
        k = l["type"]
        if k == "linear": mods.append(torch.nn.Linear(l["in"], l["out"]))
        elif k == "conv2d": mods.append(torch.nn.Conv2d(l["in_channels"], l["out_channels"], l["kernel"],
                                                         l["stride"], l["padding"]))
        elif k == "relu": mods.append(torch.nn.ReLU())
        elif k == "maxpool2d": mods.append(torch.nn.MaxPool2d(l["kernel"], l["stride"]))
        elif k == "flatten": mods.append(torch.nn.Flatten())
        else: raise SystemExit("unknown layer " + k)
    return torch.nn.Sequential(*mods)
for model, pred in (("best", "pred"), ("cnn", "cnn_pred")):
    w, meta = load("%s/res/%s/model.safetensors" % (t, model))
    arch = json.loads(meta["kiln.arch"])
    net = sequential(arch)
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in w.items()}, strict=True)
    xin = x.reshape([-1] + arch["input_shape"])
    with torch.no_grad():
        p = torch.softmax(net(torch.from_numpy(xin)), dim=1).numpy()
    k, _ = load("%s/res/%s/predictions.safetensors" % (t, pred))
    d = np.abs(p - k["proba"]).max()
    agree = (p.argmax(1) == k["class"]).mean()
    print("%s: max |proba torch - cpu.predict| = %.2e, classes agree on %.4f" % (model, d, agree))
    assert d < 1e-4, d
    # Exactly equal classes, except where two probabilities tie within float noise.
    top2 = np.sort(p, axis=1)[:, -2:]
    ambiguous = (top2[:, 1] - top2[:, 0]) < 1e-5
    assert ((p.argmax(1) == k["class"]) | ambiguous).all()
PY
  pass "PyTorch loads the models (nn.Sequential state_dict) and predicts what cpu.predict does"
fi

# Determinism: the winner's params as a plain node in a fresh state directory give the same
# bytes (nothing but inputs, params and threads decides them); another seed, other bytes.
best_node=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["best_node"])' "$T/res/best/table.json")
best_params=$($PY -c 'import json,sys
t = json.load(open(sys.argv[1]))
print(json.dumps(t["candidates"][t["best"]]["params"]))' "$T/res/best/table.json")
cat > "$T/g2.json" <<EOF
{"kiln": 1, "name": "cpu-again", "nodes": {
$(data_nodes)
  "again": {"op": "cpu.train", "inputs": {"train": "sub.dataset", "val": "split.holdout"},
            "params": $best_params},
  "seed4": {"op": "cpu.train", "inputs": {"train": "sub.dataset", "val": "split.holdout"},
            "params": $(echo "$best_params" | sed 's/"seed": 3/"seed": 4/')}}}
EOF
KILN_HOME="$T/home2" expect_status 0 "$KILN" run -j 2 --out "$T/res2" "$T/g2.json"
cmp "$T/res/$best_node/model.safetensors" "$T/res2/again/model.safetensors" ||
  fail "same inputs, seed and threads in a fresh state dir gave different model bytes"
if cmp -s "$T/res2/again/model.safetensors" "$T/res2/seed4/model.safetensors"; then
  fail "another seed gave the same model bytes"
fi
pass "same inputs + seed + threads => identical model bytes (fresh KILN_HOME); another seed differs"
echo "all cpu fashion checks passed"
