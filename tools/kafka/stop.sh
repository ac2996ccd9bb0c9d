#!/usr/bin/env bash
# Stops the broker that tools/kafka/start.sh [DIR] started: cleanly (SIGTERM,
# controlled shutdown), or with SIGKILL after 30 s.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-$HERE/../../build/kafka}
PIDFILE="$DIR/broker.pid"
[ -f "$PIDFILE" ] || exit 0
pid=$(cat "$PIDFILE")
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kafka: broker $pid did not stop in 30 s; killing it" >&2
    kill -KILL "$pid"
  fi
fi
rm -f "$PIDFILE"
