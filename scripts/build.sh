#!/usr/bin/env bash
# Configures and builds kiln into BUILD_DIR (default: build) with warnings as errors.
# Extra arguments go to cmake's configure step (e.g. -DKILN_SANITIZE=address,undefined).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DKILN_WERROR=ON "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
