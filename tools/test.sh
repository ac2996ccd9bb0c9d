#!/usr/bin/env bash
# Runs set-up, builds, starts a real Kafka broker for the integration tests,
# and runs every test with ctest. The broker is stopped afterwards, whatever
# the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh

# A broker of the tests' own, on its own port and directory.
export BLOTTER_KAFKA_PORT=${BLOTTER_KAFKA_TEST_PORT:-19092}
export BLOTTER_KAFKA_DIR=$PWD/build/kafka-test
tools/kafka/stop.sh "$BLOTTER_KAFKA_DIR"
rm -rf "$BLOTTER_KAFKA_DIR"
trap 'tools/kafka/stop.sh "$BLOTTER_KAFKA_DIR"' EXIT
BLOTTER_KAFKA_BOOTSTRAP=$(tools/kafka/start.sh "$BLOTTER_KAFKA_DIR")
export BLOTTER_KAFKA_BOOTSTRAP
echo "test: Kafka broker at $BLOTTER_KAFKA_BOOTSTRAP"

ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
