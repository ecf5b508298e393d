#!/usr/bin/env bash
# The whole test suite: dependencies, a -Werror build, every unit and end-to-end test,
# then the same tests again on an ASan+UBSan build. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== build (warnings are errors)"
BUILD_DIR=build scripts/build.sh
echo "== tests"
ctest --test-dir build -j"$(nproc)" --output-on-failure

echo "== build with ASan+UBSan"
BUILD_DIR=build-asan BUILD_TYPE=Debug scripts/build.sh -DKILN_SANITIZE=address,undefined
echo "== tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$(nproc)" --output-on-failure -LE no-sanitize
