#!/usr/bin/env bash
# Resolves the Kafka broker and tools jars from Maven Central into tools/kafka/lib/.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -f "$HERE/lib/.complete" ] && [ "$HERE/lib/.complete" -nt "$HERE/pom.xml" ]; then exit 0; fi
rm -rf "$HERE/lib"
(cd "$HERE" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies >"$HERE/fetch.log" 2>&1) ||
  { echo "kafka: resolving the broker from Maven Central failed; see $HERE/fetch.log" >&2; exit 1; }
touch "$HERE/lib/.complete"
