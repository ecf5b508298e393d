#!/usr/bin/env bash
# data.csv and data.npy through the real kiln binary: good files read exactly (numpy checks
# the artifacts); bad rows fail with their line or are skipped and counted; unsupported .npy
# dtypes, mismatched arrays and bad archives fail with the file named; nothing is stored.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export PYTHONPATH="$KILN_SOURCE_DIR/tests/python"

$PY - "$T" <<'PY'
import gzip, sys
import numpy as np
t = sys.argv[1]
rng = np.random.default_rng(1)
x = rng.normal(size=(40, 3)).astype(np.float32)
y = rng.integers(0, 3, 40)
np.save(t + "/x.npy", x); np.save(t + "/y.npy", y)
with open(t + "/good.csv", "w") as f:
    f.write("a,species,b,c\n")
    for r, l in zip(x, y):
        f.write("%r,%d,%r,%r\n" % (float(r[0]), l, float(r[1]), float(r[2])))
with open(t + "/good.tsv", "w") as f:
    f.write("a\tb\tc\tspecies\n")
    for r, l in zip(x, y):
        f.write("%r\t%r\t%r\t%d\n" % (float(r[0]), float(r[1]), float(r[2]), l))
lines = open(t + "/good.csv").read().splitlines()
bad = lines[:]
bad[5] = "1.0,0,abc,2.0"        # line 6: non-numeric
bad[9] = "1.0,0,2.0"            # line 10: ragged
open(t + "/bad.csv", "w").write("\n".join(bad) + "\n")
open(t + "/empty.csv", "w").close()
np.save(t + "/xu8.npy", (np.arange(40 * 6) % 256).astype(np.uint8).reshape(40, 2, 3))
np.save(t + "/x_c8.npy", np.zeros((40, 2), np.complex64))
np.save(t + "/y39.npy", y[:39])
np.savez(t + "/d.npz", x=x, y=y)
np.savez_compressed(t + "/dc.npz", features=x, labels=y)
np.savez(t + "/noy.npz", x=x)
PY

cat > "$T/good.json" <<'EOF2'
{"kiln": 1, "name": "csv-npy-good", "nodes": {
  "csv":  {"op": "data.csv", "params": {"path": "good.csv", "label": "species"}},
  "tsv":  {"op": "data.csv", "params": {"path": "good.tsv", "label": "species", "delimiter": "\t",
                                        "classes": ["setosa", "versicolor", "virginica"]}},
  "skip": {"op": "data.csv", "params": {"path": "bad.csv", "label": "species", "bad_rows": "skip"}},
  "npy":  {"op": "data.npy", "params": {"x": "x.npy", "y": "y.npy"}},
  "u8":   {"op": "data.npy", "params": {"x": "xu8.npy", "y": "y.npy"}},
  "npz":  {"op": "data.npy", "params": {"x": "d.npz"}},
  "npzc": {"op": "data.npy", "params": {"x": "dc.npz", "x_key": "features", "y_key": "labels"}}}}
EOF2
expect_status 0 "$KILN" run --json --out "$T/res" "$T/good.json"
cp "$T/out" "$T/good_events"
$PY - "$T" <<'PY'
import json, sys
import numpy as np
from read_safetensors import load
t = sys.argv[1]
x, y = np.load(t + "/x.npy"), np.load(t + "/y.npy")
for node in ("csv", "tsv", "npy", "npz", "npzc"):
    d, meta = load("%s/res/%s/dataset.safetensors" % (t, node))
    assert d["x"].dtype == np.float32 and d["x"].shape == (40, 3), node
    assert (d["x"] == x).all(), node
    assert d["y"].dtype == np.int64 and (d["y"] == y).all(), node
assert json.loads(load(t + "/res/tsv/dataset.safetensors")[1]["kiln.classes"])[2] == "virginica"
d = load(t + "/res/skip/dataset.safetensors")[0]
keep = [i for i in range(40) if i not in (4, 8)]   # data lines 6 and 10 are rows 4 and 8
assert d["x"].shape == (38, 3) and (d["x"] == x[keep]).all() and (d["y"] == y[keep]).all()
u = load(t + "/res/u8/dataset.safetensors")[0]["x"]
assert u.dtype == np.uint8 and (u == np.load(t + "/xu8.npy")).all()
PY
pass "CSV, TSV, .npy, .npz and compressed .npz read exactly"
cmp "$T/res/csv/dataset.safetensors" "$T/res/npy/dataset.safetensors" || fail "csv and npy differ"
pass "the same data from CSV and from .npy gives the same bytes"
"$KILN" show skip > "$T/show"
LOG=$(grep -Eo '/[^ ]*/cas/[0-9a-f]{2}/[0-9a-f]{64}' "$T/show" | tail -1)
expect_grep "skipped 2 bad rows \(lines 6, 10\)" "$LOG"
pass "skipped rows are counted in the log with their line numbers"

export KILN_HOME="$T/badhome"
cat > "$T/bad.json" <<'EOF2'
{"kiln": 1, "name": "csv-npy-bad", "nodes": {
  "cell":     {"op": "data.csv", "params": {"path": "bad.csv", "label": "species"}},
  "nolabel":  {"op": "data.csv", "params": {"path": "good.csv", "label": "kind"}},
  "empty":    {"op": "data.csv", "params": {"path": "empty.csv"}},
  "complex":  {"op": "data.npy", "params": {"x": "x_c8.npy", "y": "y.npy"}},
  "mismatch": {"op": "data.npy", "params": {"x": "x.npy", "y": "y39.npy"}},
  "noy":      {"op": "data.npy", "params": {"x": "noy.npz"}},
  "notnpy":   {"op": "data.npy", "params": {"x": "good.csv", "y": "y.npy"}}}}
EOF2
expect_status 1 "$KILN" run --json "$T/bad.json"
$PY "$KILN_SOURCE_DIR/tests/python/data_e2e.py" errors "$T/out" > "$T/errors"
check() { # NODE REGEX
  grep -E "^$1	" "$T/errors" | grep -Eq -- "$2" || { cat "$T/errors"; fail "node $1: expected /$2/"; }
}
check cell     "$T/bad.csv: line 6: column 'b' \(field 3\): 'abc' is not a number"
check nolabel  "$T/good.csv: line 1 \(header\): no column named 'kind'; columns: 'a', 'species', 'b', 'c'"
check empty    "$T/empty.csv: empty file"
check complex  "$T/x_c8.npy: unsupported dtype '<c8' at byte [0-9]+"
check mismatch "x/y count mismatch: $T/x.npy has 40 samples, $T/y39.npy has 39 labels"
check noy      "$T/noy.npz: no array 'y' in the archive; arrays: 'x'"
check notnpy   "$T/good.csv \(param 'x'\): not a .npy or .npz file"
[ "$(wc -l < "$T/errors")" = 7 ] || { cat "$T/errors"; fail "expected 7 failed nodes"; }
$PY "$KILN_SOURCE_DIR/tests/python/data_e2e.py" no-datasets "$KILN_HOME"
pass "bad CSV and NPY inputs fail with the file and line or byte named, storing nothing"

# Ragged rows (checked after the bad cell above is fixed).
sed -i '6s/abc/3.5/' "$T/bad.csv"
cat > "$T/ragged.json" <<'EOF2'
{"kiln": 1, "name": "csv-ragged", "nodes": {
  "ragged": {"op": "data.csv", "params": {"path": "bad.csv", "label": "species"}}}}
EOF2
expect_status 1 "$KILN" run "$T/ragged.json"
expect_grep "$T/bad.csv: line 10: 3 fields, the header has 4 \(ragged row\)" "$T/out"
pass "a ragged row fails with its line number"
