#!/usr/bin/env bash
# data.normalize, data.shuffle, data.split and data.subset through the real kiln binary:
# numbers checked against numpy; the test set normalised with the train set's statistics;
# metadata carried along; seeded ops give the same bytes for the same seed (in a separate
# state directory, too) and differ for another seed; input files keyed by content.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export PYTHONPATH="$KILN_SOURCE_DIR/tests/python"

$PY - "$T" <<'PY'
import sys
import numpy as np
from data_e2e import write_idx
t = sys.argv[1]
rng = np.random.default_rng(2)
write_idx(t + "/train_x.gz", rng.integers(0, 200, (300, 4, 4), dtype=np.uint8))
write_idx(t + "/train_y.gz", (np.arange(300) % 3).astype(np.uint8))
write_idx(t + "/test_x.gz", rng.integers(50, 256, (60, 4, 4), dtype=np.uint8))
write_idx(t + "/test_y.gz", (np.arange(60) % 3).astype(np.uint8))
write_idx(t + "/other_x.gz", rng.integers(0, 256, (60, 5, 5), dtype=np.uint8))
PY

cat > "$T/g.json" <<'EOF2'
{"kiln": 1, "name": "ops", "nodes": {
  "train": {"op": "data.idx", "params": {"images": "train_x.gz", "labels": "train_y.gz",
                                         "classes": ["x", "y", "z"]}},
  "test":  {"op": "data.idx", "params": {"images": "test_x.gz", "labels": "test_y.gz"}},
  "other": {"op": "data.idx", "params": {"images": "other_x.gz", "labels": "test_y.gz"}},
  "norm":  {"op": "data.normalize", "inputs": {"dataset": "train.dataset"}},
  "tnorm": {"op": "data.normalize", "inputs": {"dataset": "test.dataset", "stats_from": "norm.dataset"}},
  "traw":  {"op": "data.normalize", "inputs": {"dataset": "test.dataset", "stats_from": "train.dataset"}},
  "glob":  {"op": "data.normalize", "inputs": {"dataset": "train.dataset"}, "params": {"mode": "global"}},
  "mm":    {"op": "data.normalize", "inputs": {"dataset": "train.dataset"}, "params": {"mode": "minmax"}},
  "mmf":   {"op": "data.normalize", "inputs": {"dataset": "norm.dataset"}, "params": {"mode": "minmax-per-feature"}},
  "shuf":  {"op": "data.shuffle", "inputs": {"dataset": "train.dataset"}, "params": {"seed": 7}},
  "shuf8": {"op": "data.shuffle", "inputs": {"dataset": "train.dataset"}, "params": {"seed": 8}},
  "split": {"op": "data.split", "inputs": {"dataset": "norm.dataset"}, "params": {"holdout": 0.2, "seed": 3}},
  "strat": {"op": "data.split", "inputs": {"dataset": "train.dataset"},
            "params": {"holdout": 31, "stratify": true, "seed": 3}},
  "first": {"op": "data.subset", "inputs": {"dataset": "train.dataset"}, "params": {"n": 10}},
  "rand":  {"op": "data.subset", "inputs": {"dataset": "train.dataset"}, "params": {"n": 10, "mode": "random", "seed": 1}},
  "all":   {"op": "data.subset", "inputs": {"dataset": "test.dataset"}, "params": {"n": 1000}}}}
EOF2
expect_status 0 "$KILN" run --json --out "$T/res" "$T/g.json"
cp "$T/out" "$T/ev1"
$PY - "$T" <<'PY'
import json, sys
import numpy as np
from read_safetensors import load
t = sys.argv[1]
L = lambda n, p="dataset": load("%s/res/%s/%s.safetensors" % (t, n, p))
(tr, trm), (te, _) = L("train"), L("test")
X = tr["x"].reshape(300, -1).astype(np.float64)
mean, std = X.mean(0), X.std(0)
n, nm = L("norm")
st = json.loads(nm["kiln.normalize"])
assert st["mode"] == "per-feature" and st["features"] == 16, st
assert np.allclose(st["mean"], mean, rtol=1e-15) and np.allclose(st["std"], std, rtol=1e-13)
assert n["x"].dtype == np.float32 and n["x"].shape == (300, 4, 4)
assert np.abs(n["x"].reshape(300, -1) - (X - mean) / std).max() < 1e-5
assert nm["kiln.classes"] == trm["kiln.classes"] and nm["kiln.num_classes"] == "3"
# The test set with the train set's statistics, from the normalised train set's metadata or
# computed from the raw train set: the same numbers either way.
tn, tnm = L("tnorm")
T_ = te["x"].reshape(60, -1).astype(np.float64)
assert np.abs(tn["x"].reshape(60, -1) - (T_ - mean) / std).max() < 1e-5
assert json.loads(tnm["kiln.normalize"]) == st
assert (L("traw")[0]["x"] == tn["x"]).all()
g, gm = L("glob")
gs = json.loads(gm["kiln.normalize"])
assert abs(gs["mean"] - X.mean()) < 1e-12 and abs(gs["std"] - X.std()) < 1e-9
assert np.abs(g["x"].reshape(300, -1) - (X - X.mean()) / X.std()).max() < 1e-5
m = L("mm")[0]["x"]
assert m.min() == 0.0 and m.max() == 1.0
mf = L("mmf")[0]["x"].reshape(300, -1)
assert (mf.min(0) == 0).all() and (mf.max(0) == 1).all()
# shuffle: a permutation of the rows, labels travelling with their rows.
s = L("shuf")[0]
rows = {r.tobytes(): l for r, l in zip(tr["x"], tr["y"])}
assert len(rows) == 300 and sorted(r.tobytes() for r in s["x"]) == sorted(rows)
assert all(rows[r.tobytes()] == l for r, l in zip(s["x"], s["y"]))
assert not (s["y"] == tr["y"]).all()
# split: a partition in input order, sizes as asked; stratified per class.
a, b = L("split", "train")[0], L("split", "holdout")[0]
assert a["x"].shape[0] == 240 and b["x"].shape[0] == 60
both = np.concatenate([a["x"], b["x"]]).reshape(300, -1)
assert sorted(map(bytes, both)) == sorted(map(bytes, n["x"].reshape(300, -1)))
sa, sb = L("strat", "train")[0], L("strat", "holdout")[0]
assert sb["y"].shape == (31,) and sorted(np.bincount(sb["y"])) == [10, 10, 11], np.bincount(sb["y"])
assert sa["y"].shape == (269,)
sm = L("strat", "holdout")[1]
assert sm["kiln.num_classes"] == "3" and "kiln.classes" in sm
# subset: the first n, or n random rows in input order.
f = L("first")[0]
assert (f["x"] == tr["x"][:10]).all() and (f["y"] == tr["y"][:10]).all()
r = L("rand")[0]
idx = [next(i for i in range(300) if (tr["x"][i] == row).all()) for row in r["x"]]
assert idx == sorted(idx) and idx != list(range(10)), idx
assert L("all")[0]["x"].shape[0] == 60
PY
pass "normalize (4 modes, stats_from), shuffle, split (stratified), subset match numpy"

digests() { /usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("type") == "state" and e.get("state") in ("succeeded", "cached") and e.get("node"):
        print(e["node"], json.dumps(e.get("outputs"), sort_keys=True))' "$1" | sort; }
digests "$T/ev1" > "$T/d1"
[ "$(wc -l < "$T/d1")" = 16 ] && grep -q '"dataset"' "$T/d1" || { cat "$T/d1"; fail "no output digests in events"; }
# A second state directory: every op runs again and gives the same bytes.
KILN_HOME="$T/home2" expect_status 0 "$KILN" run --json --out "$T/res2" "$T/g.json"
[ "$(count_state succeeded "$T/out")" = 16 ] || fail "the second home did not run everything"
digests "$T/out" > "$T/d2"
diff "$T/d1" "$T/d2" || fail "the same graph gave different bytes in a fresh state directory"
for f in shuf/dataset split/train split/holdout strat/holdout rand/dataset norm/dataset; do
  cmp "$T/res/$f.safetensors" "$T/res2/$f.safetensors" || fail "$f differs between runs"
done
pass "same seeds, same bytes (fresh state directory, every node re-run)"
cmp -s "$T/res/shuf/dataset.safetensors" "$T/res/shuf8/dataset.safetensors" \
  && fail "seed 7 and seed 8 shuffles are identical"
pass "another seed, another order"

# Editing an input file re-runs what depends on it and nothing else.
$PY -c '
import sys, numpy as np
sys.path.insert(0, sys.argv[2]); from data_e2e import write_idx
write_idx(sys.argv[1] + "/test_y.gz", (np.arange(60) % 2).astype(np.uint8))' "$T" "$KILN_SOURCE_DIR/tests/python"
expect_status 0 "$KILN" run --json "$T/g.json"
[ "$(nodes_in_state succeeded "$T/out")" = "all other test tnorm traw" ] \
  || fail "after editing test_y.gz ran: $(nodes_in_state succeeded "$T/out")"
pass "editing a data file re-runs exactly its dependents"

# Bad op inputs.
cat > "$T/bad.json" <<'EOF2'
{"kiln": 1, "name": "ops-bad", "nodes": {
  "train": {"op": "data.idx", "params": {"images": "train_x.gz", "labels": "train_y.gz"}},
  "other": {"op": "data.idx", "params": {"images": "other_x.gz", "labels": "test_y.gz"}},
  "norm":  {"op": "data.normalize", "inputs": {"dataset": "train.dataset"}},
  "mode":  {"op": "data.normalize", "inputs": {"dataset": "train.dataset", "stats_from": "norm.dataset"},
            "params": {"mode": "global"}},
  "shape": {"op": "data.normalize", "inputs": {"dataset": "other.dataset", "stats_from": "norm.dataset"}},
  "big":   {"op": "data.split", "inputs": {"dataset": "train.dataset"}, "params": {"holdout": 300}},
  "frac":  {"op": "data.split", "inputs": {"dataset": "train.dataset"}, "params": {"holdout": 2.5}}}}
EOF2
expect_status 1 "$KILN" run --json "$T/bad.json"
$PY "$KILN_SOURCE_DIR/tests/python/data_e2e.py" errors "$T/out" > "$T/errors"
check() { grep -E "^$1	" "$T/errors" | grep -Eq -- "$2" || { cat "$T/errors"; fail "node $1: expected /$2/"; }; }
check mode  "input 'stats_from' carries per-feature statistics .* but param 'mode' is global"
check shape "input 'stats_from' has statistics for 16 features, input 'dataset' has 25"
check big   "param 'holdout': 300 samples of 300 leaves none to train on"
check frac  "param 'holdout': 2.5 is >= 1, so it is a count and must be a whole number"
[ "$(wc -l < "$T/errors")" = 4 ] || { cat "$T/errors"; fail "expected 4 failed nodes"; }
pass "mismatched statistics and impossible splits fail with a clear message"
