#!/usr/bin/env bash
# Installs everything blotter's build, tests and demo need, from Debian's
# packages. Idempotent, and quiet when everything is there already.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev librocksdb-dev
  flatbuffers-compiler libflatbuffers-dev
  libgtest-dev libgmock-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libssl-dev libabsl-dev
  libjemalloc-dev
  clang-format
  # the Kafka broker (tools/kafka/, resolved from Maven Central) and the interop client
  openjdk-17-jre-headless maven
  python3 python3-confluent-kafka python3-flatbuffers
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
