#!/usr/bin/env bash
# Runs set-up, builds, and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
