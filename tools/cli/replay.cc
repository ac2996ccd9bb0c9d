// blotter replay: the log as JSON lines, an incident's state as of a time, or
// a verification of every hash chain.

#include <map>

#include "events/aggregate.h"
#include "events/hash_chain.h"
#include "tools/cli/common.h"

namespace blotter::cli {
namespace {

struct ReplayOptions {
  LogOptions log;
  std::string incident;
  std::string as_of;        // recorded time: what the system knew
  std::string occurred_by;  // field time: what had happened
  bool verify = false;
};

// Calls `fn` for each record of the whole log (partition by partition, in
// offset order, up to the end found at the start) or of one incident.
Status ForEachRecord(EventLog& log, const std::string& incident,
                     const std::function<Status(LogRecord&)>& fn) {
  if (!incident.empty()) {
    BLOTTER_ASSIGN_OR_RETURN(std::vector<LogRecord> records, log.ReadIncident(incident));
    if (records.empty()) return Status::NotFound(fmt::format("no incident {} in the log", incident));
    for (auto& r : records) BLOTTER_RETURN_IF_ERROR(fn(r));
    return Status::Ok();
  }
  BLOTTER_ASSIGN_OR_RETURN(std::vector<int64_t> ends, log.EndOffsets());
  ReaderOptions ro;
  ro.stop_at = ends;
  BLOTTER_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader, log.NewReader(ro));
  while (true) {
    auto batch = reader->Poll(4096, std::chrono::seconds(1));
    if (!batch.ok()) {
      if (batch.status().code() == StatusCode::kEndOfStream) return Status::Ok();
      return batch.status();
    }
    for (auto& r : *batch) BLOTTER_RETURN_IF_ERROR(fn(r));
  }
}

std::string Where(const LogRecord& r) {
  return fmt::format("position {}:{}", r.position.partition, r.position.offset);
}

int Verify(EventLog& log, const ReplayOptions& o) {
  ChainVerifier chains;
  uint64_t events = 0;
  Micros first = 0, last = 0;
  Status st = ForEachRecord(log, o.incident, [&](LogRecord& r) -> Status {
    auto e = DecodeEvent(r.bytes);
    if (!e.ok()) return e.status().WithContext(Where(r));
    BLOTTER_RETURN_IF_ERROR(chains.Check(**e).WithContext(Where(r)));
    const Micros t = (*e)->recorded_at();
    if (first == 0 || t < first) first = t;
    last = std::max(last, t);
    ++events;
    return Status::Ok();
  });
  if (!st.ok()) return Fail("replay", "verify failed: " + st.message());
  // The log's own record of each incident's last event catches a deleted tail.
  for (const auto& [id, head] : chains.heads()) {
    auto h = log.Head(id);
    if (!h.ok()) return Fail("replay", h.status());
    if (h->sequence != head.sequence || h->hash != head.hash) {
      return Fail("replay", fmt::format("verify failed: incident {} ends at event {} in the log "
                                        "but its head records event {} (events deleted)",
                                        id, head.sequence, h->sequence));
    }
  }
  PrintLine(fmt::format(
      "verified {} events of {} incidents: every event decodes, every hash chain is intact, no "
      "sequence gaps{}",
      events, chains.incidents(),
      events ? fmt::format(" (recorded {} .. {})", FormatTime(first), FormatTime(last)) : ""));
  return 0;
}

int Run(const ReplayOptions& o) {
  auto log = OpenLog(o.log, /*create=*/false);
  if (!log.ok()) return Fail("replay", log.status());
  if (o.verify) return Verify(**log, o);

  Micros as_of = INT64_MAX, occurred_by = INT64_MAX;
  const bool states = !o.as_of.empty() || !o.occurred_by.empty();
  if (!o.as_of.empty()) {
    auto t = ParseTime(o.as_of);
    if (!t.ok()) return Fail("replay", t.status().WithContext("--as-of"));
    as_of = *t;
  }
  if (!o.occurred_by.empty()) {
    auto t = ParseTime(o.occurred_by);
    if (!t.ok()) return Fail("replay", t.status().WithContext("--occurred-by"));
    occurred_by = *t;
  }

  std::map<std::string, IncidentState> folded;
  uint64_t bad = 0;
  Status st = ForEachRecord(**log, o.incident, [&](LogRecord& r) -> Status {
    auto e = DecodeEvent(r.bytes);
    if (!e.ok()) {
      ++bad;
      fmt::print(stderr, "blotter replay: {}: {}\n", Where(r), e.status().message());
      return Status::Ok();
    }
    const fb::Event& ev = **e;
    if (!states) {
      PrintLine(EventToJson(ev));
      return Status::Ok();
    }
    if (ev.recorded_at() <= as_of && ev.occurred_at() <= occurred_by) {
      Apply(folded[ev.incident_id()->str()], ev);
    }
    return Status::Ok();
  });
  if (!st.ok()) return Fail("replay", st);
  for (const auto& [id, state] : folded) {
    Json j = StateToJson(state);
    if (!o.as_of.empty()) j["as_of"] = FormatTime(as_of);
    if (!o.occurred_by.empty()) j["occurred_by"] = FormatTime(occurred_by);
    PrintLine(j.dump(-1, ' ', false));
  }
  if (bad > 0) return Fail("replay", fmt::format("{} event(s) failed to decode", bad));
  return 0;
}

}  // namespace

Subcommand AddReplay(CLI::App& root) {
  auto o = std::make_shared<ReplayOptions>();
  Subcommand c;
  c.app = root.add_subcommand(
      "replay",
      "print the log as JSON lines (partition by partition, in offset order), or incident states "
      "as of a time, or verify every hash chain");
  AddLogOptions(c.app, &o->log);
  c.app->add_option("--incident", o->incident, "only this incident's events, in sequence order");
  c.app->add_option("--as-of", o->as_of,
                    "print each incident's state as the system knew it at this recorded time "
                    "(RFC 3339)");
  c.app->add_option("--occurred-by", o->occurred_by,
                    "print each incident's state from the events that had happened (occurred_at) "
                    "by this time");
  c.app->add_flag("--verify", o->verify,
                  "check decoding, hash chains and sequences; print a summary; exit non-zero "
                  "naming the first bad event");
  c.run = [o] { return Run(*o); };
  return c;
}

}  // namespace blotter::cli
