// blotter replay: the log as JSON lines, an incident's state as of a time, or
// a verification of every hash chain.

#include <map>

#include "events/aggregate.h"
#include "events/describe.h"
#include "events/hash_chain.h"
#include "events/log_verify.h"
#include "projections/history/history_view.h"
#include "projections/store.h"
#include "tools/cli/common.h"

namespace blotter::cli {
namespace {

struct ReplayOptions {
  LogOptions log;
  std::string incident;
  std::string as_of;        // recorded time: what the system knew
  std::string occurred_by;  // field time: what had happened
  bool verify = false;
  std::string format = "json";
  std::string views_dir;
};

// With --kafka, one incident's events are read where the history view
// recorded them when one has been built (a prefix scan and a fetch of each
// instead of a scan of the partition), and past the view's checkpoint from
// the log itself.
class HistoryFromViews final : public EventLog {
 public:
  HistoryFromViews(std::unique_ptr<EventLog> log, std::unique_ptr<projections::ViewStore> store)
      : log_(std::move(log)), store_(std::move(store)) {}
  int32_t partitions() const override { return log_->partitions(); }
  Result<std::vector<Position>> Append(std::span<const EncodedEvent> events) override {
    return log_->Append(events);
  }
  Result<std::vector<int64_t>> EndOffsets() override { return log_->EndOffsets(); }
  Result<IncidentHead> Head(std::string_view id) override { return log_->Head(id); }
  Result<std::vector<LogRecord>> ReadIncident(std::string_view id) override {
    BLOTTER_ASSIGN_OR_RETURN(auto events,
                             projections::ReadIncidentThroughHistory(*log_, *store_, id));
    if (!events) return log_->ReadIncident(id);  // its partition not projected here
    return std::move(*events);
  }
  Result<std::vector<LogRecord>> ReadAt(std::span<const Position> positions) override {
    return log_->ReadAt(positions);
  }
  Result<std::unique_ptr<LogReader>> NewReader(const ReaderOptions& options) override {
    return log_->NewReader(options);
  }

 private:
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<projections::ViewStore> store_;
};

std::string Where(const LogRecord& r) {
  return fmt::format("position {}:{}", r.position.partition, r.position.offset);
}

int Verify(EventLog& log, const ReplayOptions& o) {
  auto sum = VerifyLog(log, o.incident);
  if (!sum.ok()) return Fail("replay", "verify failed: " + sum.status().message());
  PrintLine(fmt::format(
      "verified {} events of {} incidents: every event decodes, every hash chain is intact, no "
      "sequence gaps{}",
      sum->events, sum->incidents,
      sum->events ? fmt::format(" (recorded {} .. {})", FormatTime(sum->first_recorded),
                                FormatTime(sum->last_recorded))
                  : ""));
  return 0;
}

int Run(const ReplayOptions& o) {
  // While a writer runs, the whole log can still be read beside it.
  auto log = OpenLog(o.log, /*create=*/false,
                     /*follow_if_busy=*/o.incident.empty() && !o.verify);
  if (!log.ok()) return Fail("replay", log.status());
  if (!o.log.kafka.empty() && !o.incident.empty()) {
    auto store = projections::ViewStore::Open(ViewsDir(o.log, o.views_dir),
                                              projections::ViewStore::Access::kRead);
    if (store.ok()) {
      *log = std::make_unique<HistoryFromViews>(std::move(*log), std::move(store).value());
    }
  }
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
      PrintLine(o.format == "text" ? DescribeEvent(ev) : EventToJson(ev));
      return Status::Ok();
    }
    if (ev.recorded_at() <= as_of && ev.occurred_at() <= occurred_by) {
      Apply(folded[ev.incident_id()->str()], ev);
    }
    return Status::Ok();
  });
  if (!st.ok()) return Fail("replay", st);
  for (const auto& [id, state] : folded) {
    if (o.format == "text") {
      PrintLine(DescribeState(state));
      continue;
    }
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
      "print the log as JSON lines in log order (append order on the embedded log, partition by "
      "partition on Kafka), or incident states as of a time, or verify every hash chain");
  AddLogOptions(c.app, &o->log, "replay");
  c.app->add_option("--incident", o->incident,
                    "only this incident's events, in sequence order (with --kafka from the history "
                    "view when blotter project has built one, else by scanning its partition)");
  AddViewsDirOption(c.app, &o->views_dir);
  c.app->add_option("--as-of", o->as_of,
                    "print each incident's state as the system knew it at this recorded time "
                    "(RFC 3339)");
  c.app->add_option("--occurred-by", o->occurred_by,
                    "print each incident's state from the events that had happened (occurred_at) "
                    "by this time");
  c.app->add_flag("--verify", o->verify,
                  "check decoding, hash chains and sequences; print a summary; exit non-zero "
                  "naming the first bad event");
  c.app
      ->add_option("--format", o->format,
                   "json (one line per event or state; import reads it) or text")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "text"}));
  c.run = [o] { return Run(*o); };
  return c;
}

}  // namespace blotter::cli
