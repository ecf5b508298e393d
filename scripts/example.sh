#!/usr/bin/env bash
# Installs what is missing, builds kiln, and runs the example pipeline end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=build scripts/build.sh
export KILN_HOME="${KILN_HOME:-$PWD/out/kiln-home}"
GRAPH="${1:-examples/fashion-mnist.json}"
# The test plugins (examples/quickstart.json uses them) are on the path too.
export KILN_PLUGIN_PATH="$PWD/build/tests/plugins${KILN_PLUGIN_PATH:+:$KILN_PLUGIN_PATH}"
build/bin/kiln validate "$GRAPH"
build/bin/kiln run "$GRAPH" --out out/results
echo
echo "Results copied to out/results/; state in $KILN_HOME. Run it again: everything is cached."
