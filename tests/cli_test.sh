#!/usr/bin/env bash
# End-to-end checks of the blotter CLI on the embedded log.
# Usage: cli_test.sh BLOTTER TAMPER_TOOL SOURCE_DIR
set -u
B=$1
TAMPER=$2
SRC=$3
SEED=$SRC/tools/examples/seed-incidents.jsonl
W=$(mktemp -d "${TMPDIR:-/tmp}/blotter-cli-test-XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT
passed=0
failed=0

check() {  # check NAME COMMAND...: the command must succeed
  local name=$1; shift
  if "$@" >"$W/out" 2>"$W/err"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name"; sed 's/^/  out: /' "$W/out" | head -5; sed 's/^/  err: /' "$W/err" | head -5
  fi
}

expect() {  # expect NAME COMMAND...: an assertion; leaves $W/out alone
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL: $name"
  fi
}

refuses() {  # refuses NAME PATTERN COMMAND...: must fail with one stderr line matching PATTERN
  local name=$1 pattern=$2; shift 2
  if "$@" >"$W/out" 2>"$W/err"; then
    failed=$((failed + 1)); echo "FAIL: $name (exit 0, expected failure)"; return
  fi
  if grep -q -- "$pattern" "$W/err"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL: $name (stderr lacks '$pattern')"; sed 's/^/  err: /' "$W/err" | head -5
  fi
}

lines() { wc -l <"$1" | tr -d ' '; }
wait_for_log() { for _ in $(seq 1 100); do [ -f "$1/CURRENT" ] && return 0; sleep 0.1; done; return 1; }

# Submit the seed: every command accepted, one result line each.
check "submit seed" "$B" submit --data "$W/a" "$SEED"
expect "one result per command" test "$(lines "$W/out")" = "$(grep -c . "$SEED")"
expect "all appended" test "$(grep -c '"result":"appended"' "$W/out")" = "$(grep -c . "$SEED")"

# Retried commands append nothing and say so.
"$B" replay --data "$W/a" >"$W/before.jsonl"
check "resubmit seed" "$B" submit --data "$W/a" "$SEED"
expect "all repeated" test "$(grep -c '"result":"repeated"' "$W/out")" = "$(grep -c . "$SEED")"
"$B" replay --data "$W/a" >"$W/after.jsonl"
expect "repeat appended nothing" cmp "$W/before.jsonl" "$W/after.jsonl"

check "verify" "$B" replay --data "$W/a" --verify
expect "verify summary" grep -q "verified 66 events of 13 incidents" "$W/out"

# JSON round trip: replay | import | replay is byte-identical.
check "import replay" "$B" import --data "$W/b" "$W/before.jsonl"
"$B" replay --data "$W/b" >"$W/b.jsonl"
expect "round trip byte-identical" cmp "$W/before.jsonl" "$W/b.jsonl"
refuses "import into a non-empty log" "not empty" "$B" import --data "$W/b" "$W/before.jsonl"

# Tampered JSON: refused at its line, nothing after it written.
sed '10s/柴油/汽油/' "$W/before.jsonl" >"$W/altered.jsonl"
if cmp -s "$W/altered.jsonl" "$W/before.jsonl"; then sed -i '10s/"actor":"/"actor":"x/' "$W/altered.jsonl"; fi
refuses "altered line refused" "line 10 refused" "$B" import --data "$W/c" "$W/altered.jsonl"
expect "nothing after it" test "$("$B" replay --data "$W/c" | wc -l)" = 9
sed '7d' "$W/before.jsonl" >"$W/deleted.jsonl"
refuses "deleted line refused" "line 7 refused.*expected sequence" "$B" import --data "$W/d" "$W/deleted.jsonl"
awk 'NR==3{held=$0; next} NR==4{print; print held; next} {print}' "$W/before.jsonl" >"$W/swapped.jsonl"
refuses "swapped lines refused" "line 3 refused" "$B" import --data "$W/e" "$W/swapped.jsonl"

# Tampered storage: verify names the first bad event and its position.
# (Offsets 0..4 are the first incident's five events, in order.)
cp -r "$W/b" "$W/f"; "$TAMPER" "$W/f" flip 1
refuses "flipped byte detected" "verify failed: position [0-9]*:1:" "$B" replay --data "$W/f" --verify
cp -r "$W/b" "$W/g"; "$TAMPER" "$W/g" delete 1
refuses "deleted event detected" "verify failed: position [0-9]*:2: .*event 3: expected sequence 2" "$B" replay --data "$W/g" --verify
cp -r "$W/b" "$W/h"; "$TAMPER" "$W/h" swap 0 1
refuses "swapped events detected" "verify failed: position [0-9]*:0: .*expected sequence 1" "$B" replay --data "$W/h" --verify
cp -r "$W/b" "$W/t"; "$TAMPER" "$W/t" delete 4
refuses "deleted last event detected" "ends at event 4 in the log.*records event 5" "$B" replay --data "$W/t" --verify
# The last event resealed: its chain cannot show it (nothing follows), its index entry does.
cp -r "$W/b" "$W/r"; "$TAMPER" "$W/r" reseal 4
refuses "resealed last event detected" "ends at event 5 in the log.*event 5 does not match the hash its index recorded" "$B" replay --data "$W/r" --verify

# One incident, and states as of a time.
check "replay one incident" "$B" replay --data "$W/a" --incident 411621-20211106-0001
expect "its five events" test "$(lines "$W/out")" = 5
check "as of before anything was recorded" "$B" replay --data "$W/a" --as-of 2021-01-01T00:00:00+08:00
expect "nothing known then" test "$(lines "$W/out")" = 0
check "as of now" "$B" replay --data "$W/a" --as-of 2099-01-01T00:00:00+08:00
expect "thirteen incidents" test "$(lines "$W/out")" = 13
check "what had happened by 13:20" "$B" replay --data "$W/a" --incident 411621-20211106-0001 --occurred-by 2021-11-06T13:20:00+08:00
expect "dispatched, not yet arrived" grep -q '"status":"dispatched"' "$W/out"
refuses "bad time" "--as-of: bad time" "$B" replay --data "$W/a" --as-of yesterday
refuses "unknown incident" "no incident nope" "$B" replay --data "$W/a" --incident nope

# tail from the start.
check "tail from start" "$B" tail --data "$W/a" --from-start --max-events 66
expect "tail printed 66" test "$(lines "$W/out")" = 66

# Bad input: a clear line on stderr and a non-zero exit.
refuses "rule broken" "cannot record an arrival: incident 411621-20211106-0001 is resolved" "$B" submit --data "$W/a" <(echo '{"command_id":"z1","type":"arrive","incident_id":"411621-20211106-0001","actor":"u","unit_id":"ghost"}')
refuses "malformed JSON" "malformed JSON" "$B" submit --data "$W/a" <(echo '{"command_id":')
refuses "missing input file" "cannot open" "$B" submit --data "$W/a" "$W/no-such-file.jsonl"
refuses "missing data dir" "no event log" "$B" replay --data "$W/no-such-dir"
refuses "unknown subcommand" "" "$B" frobnicate
for sub in submit import replay tail bench simulate project query report link evaluate-links; do
  check "$sub --help" "$B" "$sub" --help
done

# simulate: the same arguments give the same log; the report over the
# simulated days equals the simulator's truth; bad arguments fail clearly.
SIM=(--from 2021-11-04 --days 3 --scale 0.05 --regions 4116,341221 --seed 3)
check "simulate" "$B" simulate --data "$W/s1" "${SIM[@]}" --truth "$W/truth.json"
check "simulate again" "$B" simulate --data "$W/s2" "${SIM[@]}"
check "simulate again, durably" "$B" simulate --data "$W/s2d" "${SIM[@]}" --durable
"$B" replay --data "$W/s1" >"$W/s1.jsonl"
"$B" replay --data "$W/s2" >"$W/s2.jsonl"
"$B" replay --data "$W/s2d" >"$W/s2d.jsonl"
expect "same seed, same log" cmp "$W/s1.jsonl" "$W/s2.jsonl"
expect "a bulk load and a durable one, the same log" cmp "$W/s1.jsonl" "$W/s2d.jsonl"
expect "the bulk load left no marker to redo" bash -c \
  "! '$B' replay --data '$W/s1' --incident x 2>&1 | grep -q 'did not finish'"
expect "simulated log verifies" "$B" replay --data "$W/s1" --verify
check "project the simulation" "$B" project --data "$W/s1" --until-caught-up
"$B" report --data "$W/s1" --from 2021-11-04 --to 2021-11-06 --format json >"$W/sim-report.json"
"$B" report --data "$W/s1" --from 2021-11-04 --to 2021-11-06 --region 341221 --format json \
  >"$W/sim-report-linquan.json"
expect "report equals the truth" python3 -c '
import json, sys
truth = json.load(open(sys.argv[1]))["report"]
total = json.load(open(sys.argv[2]))["columns"]["total"]
linquan = json.load(open(sys.argv[3]))["columns"]["total"]
assert total == truth["total"], (total, truth["total"])
assert linquan == truth["by_division"]["341221"], linquan
assert total["calls_received"] > 500
' "$W/truth.json" "$W/sim-report.json" "$W/sim-report-linquan.json"
expect "truth lists the fuel-theft series" grep -q fuel-theft-xiangcheng "$W/truth.json"
expect "the log does not" bash -c "! grep -q fuel-theft-xiangcheng '$W/s1.jsonl'"
refuses "simulate: bad date" "not a date" "$B" simulate --data "$W/s3" --from 2021-13-01
refuses "simulate: unknown profile" "no profile named" "$B" simulate --data "$W/s3" --profile nowhere
refuses "simulate: unwritable truth" "cannot write --truth" "$B" simulate --data "$W/s3" \
  --truth /nonexistent/dir/truth.json
refuses "simulate: bad region" "not a division-code prefix" "$B" simulate --data "$W/s3" --regions 41x

# link: the linker appends links (a second run none); investigators decide;
# queries explain; evaluate-links compares with the truth.
L=(--data "$W/l1")
check "simulate the fuel-theft weeks" "$B" simulate "${L[@]}" --from 2021-10-18 --days 14 \
  --scale 0.05 --regions 411681,411625,341221 --seed 5 --truth "$W/l1-truth.json"
check "link run" "$B" link run "${L[@]}" --until-caught-up
expect "links appended" bash -c "! grep -q ' 0 links appended' '$W/err'"
check "link run again" "$B" link run "${L[@]}" --until-caught-up
expect "a second run appends nothing" grep -q " 0 links appended" "$W/err"
check "project the links" "$B" project "${L[@]}" --until-caught-up
check "query cases" "$B" query cases "${L[@]}" --subtype fuel_theft --min-size 3
CASE=$(head -1 "$W/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["case_id"])')
check "query case" "$B" query case "$CASE" "${L[@]}"
expect "the case names its divisions" grep -q "crosses" "$W/out"
expect "and says why" grep -q "same MO" "$W/out"
MEMBER=$("$B" query case "$CASE" "${L[@]}" --format json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["members"][-1]["incident_id"])')
check "query linked" "$B" query linked "$MEMBER" "${L[@]}"
expect "linked names the case" grep -q "$CASE" "$W/out"
refuses "reject needs a reason" "needs --reason" "$B" link reject "$MEMBER" "$CASE" "${L[@]}" \
  --by officer:7
check "reject" "$B" link reject "$MEMBER" "$CASE" "${L[@]}" --by officer:7 --reason "other suspects"
check "reject again" "$B" link reject "$MEMBER" "$CASE" "${L[@]}" --by officer:7 \
  --reason "other suspects"
expect "a repeated rejection is recorded once" grep -q "already recorded" "$W/out"
refuses "a rejection is final" "final" "$B" link confirm "$MEMBER" "$CASE" "${L[@]}" --by officer:8
check "link run after the rejection" "$B" link run "${L[@]}" --until-caught-up
expect "the rejected link is not proposed again" grep -q " 0 links appended" "$W/err"
check "evaluate-links" "$B" evaluate-links "${L[@]}" --truth "$W/l1-truth.json"
expect "evaluation prints F1" grep -q "pairwise F1" "$W/out"
refuses "evaluate-links: missing truth" "cannot read --truth" "$B" evaluate-links "${L[@]}" \
  --truth "$W/none.json"

# tail follows appends made by another process (read-only beside the writer).
mkfifo "$W/wfifo"
"$B" submit --data "$W/live" "$W/wfifo" >/dev/null 2>&1 &
writer=$!
exec 7>"$W/wfifo"
wait_for_log "$W/live"
timeout 30 "$B" tail --data "$W/live" --from-start --max-events 66 >"$W/tail.jsonl" 2>"$W/tail.err" &
tailer=$!
sleep 0.5
head -30 "$SEED" >&7
sleep 0.5
tail -n +31 "$SEED" >&7
wait $tailer
expect "tail followed the other process" test "$(lines "$W/tail.jsonl")" = 66
exec 7>&-
wait $writer
"$B" replay --data "$W/live" >"$W/live.jsonl"
expect "tail printed what replay prints" cmp "$W/live.jsonl" "$W/tail.jsonl"

# Projections: views built, rebuilt to the same digest, queried, reported.
check "project until caught up" "$B" project --data "$W/a" --until-caught-up
check "project status" "$B" project --data "$W/a" --status
expect "no lag, no dead letters" grep -q "incidents .* lag 0  dead letters 0" "$W/out"
expect "the embedded log's views: no history copy" test "$(cut -d' ' -f1 "$W/out" | tr '\n' ,)" = "incidents,stats,links,"
check "no dead letters listed" "$B" project --data "$W/a" --dead-letters
expect "empty list" test "$(lines "$W/out")" = 0
check "digest" "$B" project --data "$W/a" --digest
cp "$W/out" "$W/digest1"
check "rebuild" "$B" project --data "$W/a" --rebuild
check "digest after rebuild" "$B" project --data "$W/a" --digest
expect "rebuild gives the same digest" cmp "$W/out" "$W/digest1"
check "query incident" "$B" query incident 411621-20211106-0001 --data "$W/a"
expect "its state" grep -q '"status":"resolved".*"units":\[{"unit_id":"FG-UAV-01"' "$W/out"
check "query incidents" "$B" query incidents --data "$W/a" --subtype fuel_theft --region 4116
expect "seven fuel thefts in Zhoukou" test "$(lines "$W/out")" = 7
check "query incidents across the border" "$B" query incidents --data "$W/a" --category criminal --region 341221
expect "one in Linquan, Anhui" test "$(lines "$W/out")" = 1
# Filters an index's keys do not carry (region in the open-by-status index,
# status in the others, unit) are checked before an incident counts toward a
# page: a page holds --limit matches whenever there are that many.
Q='{"actor":"op","channel":"phone","description":"q","type":"receive"'
{
  echo "$Q"',"command_id":"q1","incident_id":"411681-20211201-0001","at":"2021-12-01T10:00:00+08:00","location":{"lat":33.4,"lon":114.9,"division":"411681"}}'
  echo "$Q"',"command_id":"q2","incident_id":"341221-20211201-0001","at":"2021-12-01T10:05:00+08:00","location":{"lat":33.1,"lon":115.2,"division":"341221"}}'
  echo "$Q"',"command_id":"q3","incident_id":"411681-20211201-0002","at":"2021-12-01T10:10:00+08:00","location":{"lat":33.4,"lon":114.9,"division":"411681"}}'
  echo '{"actor":"op","type":"classify","command_id":"q4","incident_id":"411681-20211201-0002","at":"2021-12-01T10:11:00+08:00","category":"invalid","subtype":"prank"}'
  echo "$Q"',"command_id":"q5","incident_id":"411681-20211201-0003","at":"2021-12-01T10:20:00+08:00","location":{"lat":33.4,"lon":114.9,"division":"411681"}}'
  echo '{"actor":"op","type":"assign","command_id":"q6","incident_id":"411681-20211201-0001","at":"2021-12-01T10:02:00+08:00","unit_id":"XC-P-09","unit_kind":"patrol_car"}'
  # Two of subtype "other", which any category may use.
  echo "$Q"',"command_id":"q7","incident_id":"411681-20211201-0004","at":"2021-12-01T10:30:00+08:00","location":{"lat":33.4,"lon":114.9,"division":"411681"}}'
  echo '{"actor":"op","type":"classify","command_id":"q8","incident_id":"411681-20211201-0004","at":"2021-12-01T10:31:00+08:00","category":"criminal","subtype":"other"}'
  echo "$Q"',"command_id":"q9","incident_id":"411681-20211201-0005","at":"2021-12-01T10:40:00+08:00","location":{"lat":33.4,"lon":114.9,"division":"411681"}}'
  echo '{"actor":"op","type":"classify","command_id":"q10","incident_id":"411681-20211201-0005","at":"2021-12-01T10:41:00+08:00","category":"public_order","subtype":"other"}'
} >"$W/q.jsonl"
check "submit for queries" "$B" submit --data "$W/q" "$W/q.jsonl"
check "project them" "$B" project --data "$W/q" --until-caught-up
check "open by status in a region" "$B" query incidents --data "$W/q" --status received --region 4116
expect "only the one in 4116" test "$(grep -c '"incident_id":"411681-20211201-0003"' "$W/out"),$(lines "$W/out")" = 1,1
check "open by status, other region" "$B" query incidents --data "$W/q" --status received --region 3412
expect "only the one in Linquan" test "$(grep -c '"incident_id":"341221-20211201-0001"' "$W/out"),$(lines "$W/out")" = 1,1
check "resolved, newest first, one per page" "$B" query incidents --data "$W/q" --status resolved --region 411681 --limit 1
expect "the resolved one, though a newer one is open" grep -q '"incident_id":"411681-20211201-0002"' "$W/out"
check "by unit" "$B" query incidents --data "$W/q" --unit XC-P-09
expect "the incident it attended" test "$(grep -c '"unit_id":"XC-P-09"' "$W/out")" = 1
refuses "unknown status" "unknown status" "$B" query incidents --data "$W/q" --status arrived
# By region: every subtype's range, unclassified incidents (subtype unknown) included.
check "by region" "$B" query incidents --data "$W/q" --region 4116
expect "all five in 411681, the unclassified ones too" test "$(grep -c '"division":"411681"' "$W/out"),$(grep -c '"incident_id":"411681-20211201-0001"' "$W/out"),$(lines "$W/out")" = 5,1,5
check "by region, newest first across subtypes" "$B" query incidents --data "$W/q" --region 41 --limit 2
expect "the two newest, in order" test "$(sed -n 's/.*"incident_id":"\([^"]*\)".*/\1/p' "$W/out" | tr '\n' ' ')" = "411681-20211201-0005 411681-20211201-0004 "
# By category: its subtypes' index ranges, and "other"'s checked by state.
check "by category" "$B" query incidents --data "$W/q" --category criminal --region 4116
expect "only the criminal one of subtype other" test "$(grep -c '"incident_id":"411681-20211201-0004"' "$W/out"),$(lines "$W/out")" = 1,1
check "by category, another" "$B" query incidents --data "$W/q" --category invalid
expect "only the prank" test "$(grep -c '"incident_id":"411681-20211201-0002"' "$W/out"),$(lines "$W/out")" = 1,1
check "by category and subtype" "$B" query incidents --data "$W/q" --category public_order --subtype other
expect "only the public order one" test "$(grep -c '"incident_id":"411681-20211201-0005"' "$W/out"),$(lines "$W/out")" = 1,1
check "report" "$B" report --data "$W/a" --from 2021-08-01 --to 2021-12-31 --lang en
expect "13 calls" grep -q "calls received *13" "$W/out"
expect "2 arrests" grep -q "suspects arrested *2" "$W/out"
check "report json" "$B" report --data "$W/a" --from 2021-08-01 --to 2021-12-31 --format json --region 41 --by region
expect "per division" grep -q '"411681":{"calls_received":6' "$W/out"
refuses "report needs a period" "required" "$B" report --data "$W/a"
refuses "unknown view" "unknown view" "$B" project --data "$W/a" --views nope --status
check "a history view on request" "$B" project --data "$W/a" --views-dir "$W/a-history" --views incidents,history --until-caught-up
check "its status" "$B" project --data "$W/a" --views-dir "$W/a-history" --status
expect "the store keeps the views it was built with" test "$(cut -d' ' -f1 "$W/out" | tr '\n' ,)" = "incidents,history,"

# A second process on the same data directory gets a clear error.
mkfifo "$W/fifo"
"$B" submit --data "$W/a" "$W/fifo" >/dev/null 2>&1 &
exec 9>"$W/fifo"
sleep 1.5  # the first process opens the log once its input is open
refuses "second process" "in use by another blotter process" "$B" submit --data "$W/a" "$SEED"
exec 9>&-
wait

echo "cli_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
