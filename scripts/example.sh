#!/usr/bin/env bash
# Installs what is missing, builds kiln, and runs the example pipeline end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=build scripts/build.sh
export KILN_HOME="${KILN_HOME:-$PWD/out/kiln-home}"
GRAPH="${1:-examples/fashion-mnist-train.json}"
# The test plugins (examples/quickstart.json uses them) are on the path too.
export KILN_PLUGIN_PATH="$PWD/build/tests/plugins${KILN_PLUGIN_PATH:+:$KILN_PLUGIN_PATH}"
build/bin/kiln validate "$GRAPH"
build/bin/kiln run "$GRAPH" --out out/results
# The training example ends in eval.classify on the test set: print what it measured.
if [ -f out/results/test_eval/metrics.json ]; then
  /usr/bin/python3 - out/results/test_eval/metrics.json out/results/best/table.json <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
if os.path.exists(sys.argv[2]):
    t = json.load(open(sys.argv[2]))
    print("best of the sweep by validation %s: %s (%.4f)" % (t["by"], t.get("best_node", "?"), t["best_value"]))
print("test accuracy: %.2f%% on %d samples (mean loss %.4f)" % (100 * m["accuracy"], m["samples"], m["loss"]))
PY
fi
echo
echo "Results copied to out/results/; state in $KILN_HOME. Run it again: everything is cached."
