#!/usr/bin/env bash
# The serial-case linker on Kafka: a simulated fortnight of the fuel-theft
# counties goes to a topic; the linker appends its links through the
# transactional writer; a second run (a restart, a rebuild) appends none;
# the links view built from the topic agrees with the evaluation.
# Usage: kafka_link_test.sh BLOTTER   (BLOTTER_KAFKA_BOOTSTRAP set)
set -uo pipefail
B=$1
BOOT=${BLOTTER_KAFKA_BOOTSTRAP:?start a broker (tools/test.sh does) and set BLOTTER_KAFKA_BOOTSTRAP}
W=$(mktemp -d "${TMPDIR:-/tmp}/blotter-link-XXXXXX")
trap 'rm -rf "$W"' EXIT
prefix="link-$$-$(date +%s)"
K=(--kafka "$BOOT" --topic-prefix "$prefix")
passed=0
fail() { echo "kafka_link_test: FAIL: $*"; echo "kafka_link_test: $passed passed, 1 failed"; exit 1; }
ok() { passed=$((passed + 1)); }

"$B" simulate "${K[@]}" --from 2021-10-20 --days 14 --scale 0.05 --regions 411681,411625,341221 \
  --seed 9 --truth "$W/truth.json" 2>"$W/sim.err" || fail "simulate: $(tail -1 "$W/sim.err")"
ok
"$B" link run "${K[@]}" --until-caught-up 2>"$W/link1.err" || fail "link run: $(tail -1 "$W/link1.err")"
grep -q " 0 links appended" "$W/link1.err" && fail "the linker appended no link: $(tail -1 "$W/link1.err")"
ok
"$B" link run "${K[@]}" --until-caught-up 2>"$W/link2.err" || fail "second link run"
grep -q " 0 links appended" "$W/link2.err" || fail "a second run appended links: $(tail -1 "$W/link2.err")"
ok
"$B" evaluate-links "${K[@]}" --truth "$W/truth.json" --format json >"$W/eval.json" 2>/dev/null ||
  fail "evaluate-links"
"$B" project "${K[@]}" --views-dir "$W/views" --until-caught-up 2>/dev/null || fail "project"
"$B" query cases "${K[@]}" --views-dir "$W/views" --min-size 2 >"$W/cases.jsonl" || fail "query cases"
python3 - "$W/eval.json" "$W/cases.jsonl" <<'PY' || fail "the links view disagrees with the evaluation"
import json, sys
e = json.load(open(sys.argv[1]))
cases = [json.loads(l) for l in open(sys.argv[2])]
fuel = [s for s in e["series"] if s["series"].startswith("fuel-theft")][0]
assert fuel["completeness"] >= 0.9, fuel
sizes = sorted((c["size"] for c in cases), reverse=True)
assert sizes and sizes[0] >= fuel["found_in_one_case"], (sizes, fuel)
PY
ok
echo "kafka_link_test: $passed passed, 0 failed"
