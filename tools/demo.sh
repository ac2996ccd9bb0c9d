#!/usr/bin/env bash
# The main job: the four cases of the Henan 2021 report and the diesel-theft
# reports go through the incident aggregate into a fresh log, which is then
# replayed, verified and queried as an auditor would.
#
#   tools/demo.sh            on the embedded log (build/demo-data)
#   tools/demo.sh --kafka    on a real Kafka broker the script starts and stops
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh

B=build/bin/blotter
section() { printf '\n== %s\n' "$1"; }

if [ "${1:-}" = "--kafka" ]; then
  KAFKA_DIR=$PWD/build/kafka-demo
  export BLOTTER_KAFKA_PORT=${BLOTTER_KAFKA_DEMO_PORT:-29092}
  trap 'tools/kafka/stop.sh "$KAFKA_DIR"' EXIT
  section "Starting a Kafka broker (tools/kafka/start.sh)"
  BOOT=$(tools/kafka/start.sh "$KAFKA_DIR")
  echo "broker at $BOOT"
  run=demo-$(date +%s)
  LOG=(--kafka "$BOOT" --topic-prefix "$run")
  RESTORED=(--kafka "$BOOT" --topic-prefix "$run-restored")
  TAMPERED=(--kafka "$BOOT" --topic-prefix "$run-tampered")
  echo "topic $run.incident-events"
else
  DATA=${BLOTTER_DEMO_DATA:-build/demo-data}
  rm -rf "$DATA" "$DATA-restored" "$DATA-tampered"
  LOG=(--data "$DATA")
  RESTORED=(--data "$DATA-restored")
  TAMPERED=(--data "$DATA-tampered")
fi

section "Submitting the seed incidents (tools/examples/seed-incidents.jsonl)"
$B submit "${LOG[@]}" tools/examples/seed-incidents.jsonl >build/demo-submit.jsonl
echo "$(grep -c '"result":"appended"' build/demo-submit.jsonl) commands accepted"

section "Retrying every command (a console on a flaky network): nothing is appended"
$B submit "${LOG[@]}" tools/examples/seed-incidents.jsonl >build/demo-resubmit.jsonl
echo "$(grep -c '"result":"repeated"' build/demo-resubmit.jsonl) commands recognised as repeats"

section "A command that breaks a rule is refused with the rule named"
echo '{"command_id":"demo-bad","type":"arrive","incident_id":"411621-20211106-0001","actor":"unit:X","unit_id":"FG-UAV-02"}' |
  $B submit "${LOG[@]}" >/dev/null || echo "(exit status $?, as expected)"

section "Audit: every hash chain verified"
$B replay "${LOG[@]}" --verify

section "Case 1, Fugou, 6 Nov 2021: the drone delivery, event by event"
$B replay "${LOG[@]}" --incident 411621-20211106-0001 --format text

section "What had happened by 13:20 that day (occurred time)"
$B replay "${LOG[@]}" --incident 411621-20211106-0001 --occurred-by 2021-11-06T13:20:00+08:00 --format text

section "The diesel-theft reports across Xiangcheng, Dancheng and Linquan (Anhui)"
$B replay "${LOG[@]}" --as-of 2099-01-01T00:00:00+08:00 --format text | grep fuel_theft

section "Projections: the incidents, stats and links views (blotter project; history is the log's own index here)"
VIEWS=(--views-dir build/demo-views)
rm -rf build/demo-views
$B project "${LOG[@]}" "${VIEWS[@]}" --until-caught-up
$B project "${LOG[@]}" "${VIEWS[@]}" --status

section "An investigator's query: fuel thefts in Zhoukou (4116) and across the border in Linquan (341221)"
$B query incidents "${LOG[@]}" "${VIEWS[@]}" --subtype fuel_theft --region 4116 --limit 20 | cut -c1-120
$B query incidents "${LOG[@]}" "${VIEWS[@]}" --subtype fuel_theft --region 341221 | cut -c1-120

section "The 110 report for Henan (41), August to December 2021"
$B report "${LOG[@]}" "${VIEWS[@]}" --from 2021-08-01 --to 2021-12-31 --region 41

section "Backup and restore: replay | import | replay is byte-identical"
$B replay "${LOG[@]}" >build/demo-backup.jsonl
$B import "${RESTORED[@]}" build/demo-backup.jsonl
$B replay "${RESTORED[@]}" | cmp - build/demo-backup.jsonl &&
  echo "  identical: $(wc -l <build/demo-backup.jsonl) events"

section "Tampering is caught: one altered line in the backup"
sed '10s/"actor":"/"actor":"forged-/' build/demo-backup.jsonl >build/demo-tampered.jsonl
$B import "${TAMPERED[@]}" build/demo-tampered.jsonl || echo "  (refused, exit status $?)"

section "The simulator: a week of Xiangcheng, Dancheng, Shenqiu, Zhoukou city and Linquan (Anhui), 1-7 Nov 2021, full scale"
if [ "${1:-}" = "--kafka" ]; then
  SIMLOG=(--kafka "$BOOT" --topic-prefix "$run-sim")
else
  rm -rf "$DATA-sim"
  SIMLOG=(--data "$DATA-sim")
fi
SIMVIEWS=(--views-dir build/demo-sim-views)
rm -rf build/demo-sim-views
$B simulate "${SIMLOG[@]}" --profile henan-2021 --scale 1 --from 2021-11-01 --days 7 --seed 2021 \
  --regions 411681,411625,411624,411602,341221 --truth build/demo-truth.json
$B project "${SIMLOG[@]}" "${SIMVIEWS[@]}" --until-caught-up
$B report "${SIMLOG[@]}" "${SIMVIEWS[@]}" --from 2021-11-01 --to 2021-11-07 --by region --lang en
$B report "${SIMLOG[@]}" "${SIMVIEWS[@]}" --from 2021-11-01 --to 2021-11-07 --format json >build/demo-sim-report.json
python3 - build/demo-truth.json build/demo-sim-report.json <<'PY'
import json, sys
truth = json.load(open(sys.argv[1]))
report = json.load(open(sys.argv[2]))["columns"]["total"]
same = report == truth["report"]["total"]
print("report equals the simulator's own counts:", "yes" if same else "NO")
for s in truth["series"]:
    if s["incidents"]:
        print(f"injected series {s['id']}: {len(s['incidents'])} incidents this week (known only to --truth)")
sys.exit(0 if same else 1)
PY

section "Serial-case linking: the linker reads the week and appends its links (CaseLinked) to the log"
$B link run "${SIMLOG[@]}" --until-caught-up
$B project "${SIMLOG[@]}" "${SIMVIEWS[@]}" --until-caught-up
echo "series worth a look (three incidents or more):"
$B query cases "${SIMLOG[@]}" "${SIMVIEWS[@]}" --open --min-size 3 |
  python3 -c '
import json, sys
for line in sys.stdin:
    c = json.loads(line)
    where = ", ".join(c["divisions"]) + " (" + ", ".join(c["provinces"]) + ")"
    print("  %s: %d x %s in %s" % (c["case_id"], c["size"], ",".join(c["subtypes"]), where))'

section "The fuel-theft series it found: members in time order, counties and provinces crossed, why they are linked"
FUEL=$($B query cases "${SIMLOG[@]}" "${SIMVIEWS[@]}" --subtype fuel_theft --min-size 3 |
  python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["case_id"])')
$B query case "$FUEL" "${SIMLOG[@]}" "${SIMVIEWS[@]}"

section "How the links compare with the simulator's ground truth"
$B evaluate-links "${SIMLOG[@]}" --truth build/demo-truth.json

echo
echo "demo: done"
