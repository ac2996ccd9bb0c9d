#!/usr/bin/env bash
# Two projection instances share a topic's partitions through a consumer
# group, each with its own view store; one is killed with SIGKILL; the other
# takes over its partitions (replaying them into its own store from its own
# checkpoints), and its final digest equals a single-instance rebuild's.
# Usage: kafka_group_test.sh BLOTTER   (BLOTTER_KAFKA_BOOTSTRAP set)
set -uo pipefail
B=$1
BOOT=${BLOTTER_KAFKA_BOOTSTRAP:?start a broker (tools/test.sh does) and set BLOTTER_KAFKA_BOOTSTRAP}
W=$(mktemp -d "${TMPDIR:-/tmp}/blotter-group-XXXXXX")
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT
prefix="group-$$-$(date +%s)"
K=(--kafka "$BOOT" --topic-prefix "$prefix")
passed=0
fail() { echo "kafka_group_test: FAIL: $*"; echo "kafka_group_test: $passed passed, 1 failed"; exit 1; }
ok() { passed=$((passed + 1)); }

# 400 incidents, three steps each, across the topic's 8 partitions.
for i in $(seq 1 400); do
  id=$(printf '4116%02d-20211020-%04d' $((i % 30 + 1)) "$i")
  echo "{\"command_id\":\"$id-r\",\"type\":\"receive\",\"incident_id\":\"$id\",\"actor\":\"op\",\"at\":\"2021-10-20T02:00:00+08:00\",\"channel\":\"phone\",\"location\":{\"lat\":33.4,\"lon\":114.9,\"division\":\"411681\"}}"
  echo "{\"command_id\":\"$id-c\",\"type\":\"classify\",\"incident_id\":\"$id\",\"actor\":\"op\",\"at\":\"2021-10-20T02:01:00+08:00\",\"category\":\"criminal\",\"subtype\":\"fuel_theft\"}"
  echo "{\"command_id\":\"$id-z\",\"type\":\"resolve\",\"incident_id\":\"$id\",\"actor\":\"op\",\"at\":\"2021-10-20T03:00:00+08:00\",\"disposition\":\"case_filed\"}"
done >"$W/commands.jsonl"
"$B" submit "${K[@]}" --batch 200 "$W/commands.jsonl" >/dev/null || fail "submit"
ok

"$B" project "${K[@]}" --group "$prefix-views" --views-dir "$W/a" 2>"$W/a.err" &
a=$!
"$B" project "${K[@]}" --group "$prefix-views" --views-dir "$W/b" 2>"$W/b.err" &
b=$!

has_share() {  # has_share DIR: its checkpoints show some partition read
  "$B" project "${K[@]}" --views-dir "$1" --status 2>/dev/null | head -1 | grep -qE ' [0-9]+:[1-9][0-9]*'
}
for _ in $(seq 1 60); do
  has_share "$W/a" && has_share "$W/b" && break
  sleep 1
done
has_share "$W/a" && has_share "$W/b" || fail "the two instances did not both get partitions"
ok
"$B" project "${K[@]}" --views-dir "$W/a" --status | head -1 | sed 's/^/  a before the kill: /'
"$B" project "${K[@]}" --views-dir "$W/b" --status | head -1 | sed 's/^/  b before the kill: /'

kill -9 "$a"
wait "$a" 2>/dev/null
for _ in $(seq 1 90); do
  "$B" project "${K[@]}" --views-dir "$W/b" --status 2>/dev/null | head -1 | grep -q "lag 0 " && break
  sleep 1
done
"$B" project "${K[@]}" --views-dir "$W/b" --status | head -1 | sed 's/^/  b after the takeover: /'
"$B" project "${K[@]}" --views-dir "$W/b" --status 2>/dev/null | head -1 | grep -q "lag 0 " ||
  fail "the survivor did not catch up with every partition"
ok
kill -TERM "$b"
wait "$b" 2>/dev/null

"$B" project "${K[@]}" --views-dir "$W/c" --until-caught-up 2>/dev/null || fail "single-instance rebuild"
"$B" project "${K[@]}" --views-dir "$W/b" --digest >"$W/b.digest" || fail "digest b"
"$B" project "${K[@]}" --views-dir "$W/c" --digest >"$W/c.digest" || fail "digest c"
cmp -s "$W/b.digest" "$W/c.digest" || { diff "$W/b.digest" "$W/c.digest"; fail "digests differ"; }
ok
# One incident's replay through the history view (positions, each event
# fetched and checked against the hash the view witnessed) equals a scan of
# its partition; so does its verification.
id=4116$(printf %02d $((77 % 30 + 1)))-20211020-0077
"$B" replay "${K[@]}" --views-dir "$W/c" --incident "$id" >"$W/h.view" || fail "replay through history"
"$B" replay "${K[@]}" --views-dir "$W/none" --incident "$id" >"$W/h.scan" || fail "replay by scan"
[ "$(wc -l <"$W/h.view")" -eq 3 ] && cmp -s "$W/h.view" "$W/h.scan" ||
  { diff "$W/h.view" "$W/h.scan"; fail "history's replay differs from the partition's"; }
"$B" replay "${K[@]}" --views-dir "$W/c" --incident "$id" --verify | grep -q "verified 3 events" ||
  fail "verify through history"
ok
# Events appended after the view's checkpoint come from the log itself:
# the replay of an incident the view has not seen yet is still whole.
late=411699-20211021-0001
{
  echo "{\"command_id\":\"$late-r\",\"type\":\"receive\",\"incident_id\":\"$late\",\"actor\":\"op\",\"at\":\"2021-10-21T02:00:00+08:00\",\"channel\":\"phone\",\"location\":{\"lat\":33.4,\"lon\":114.9,\"division\":\"411681\"}}"
  echo "{\"command_id\":\"$late-c\",\"type\":\"classify\",\"incident_id\":\"$late\",\"actor\":\"op\",\"at\":\"2021-10-21T02:01:00+08:00\",\"category\":\"criminal\",\"subtype\":\"fuel_theft\"}"
} | "$B" submit "${K[@]}" - >/dev/null || fail "submit a late incident"
"$B" replay "${K[@]}" --views-dir "$W/c" --incident "$late" >"$W/l.view" || fail "replay of a late incident"
"$B" replay "${K[@]}" --views-dir "$W/none" --incident "$late" >"$W/l.scan" || fail "scan of a late incident"
[ "$(wc -l <"$W/l.view")" -eq 2 ] && cmp -s "$W/l.view" "$W/l.scan" ||
  { diff "$W/l.view" "$W/l.scan"; fail "a late incident's replay through history is not whole"; }
ok
# The same history read against another topic (another log with the same
# incident ids) is refused, not handed out: its events are not the ones the
# view projected.
sed 's/02:01:00/02:02:00/' "$W/commands.jsonl" | "$B" submit --kafka "$BOOT" --topic-prefix "$prefix-other" --batch 200 - >/dev/null ||
  fail "submit another log"
if "$B" replay --kafka "$BOOT" --topic-prefix "$prefix-other" --views-dir "$W/c" --incident "$id" >/dev/null 2>"$W/h.err"; then
  fail "a history of another log was replayed"
fi
grep -qE "not event [0-9]+ as projected \(altered\)|lacks \(events deleted\)" "$W/h.err" ||
  { cat "$W/h.err"; fail "no clear error for a history of another log"; }
ok
echo "kafka_group_test: $passed passed, 0 failed"
