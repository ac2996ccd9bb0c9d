#!/usr/bin/env bash
# Configures and builds blotter into build/ (the CLI lands at build/bin/blotter).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -- -j"$(nproc)"
