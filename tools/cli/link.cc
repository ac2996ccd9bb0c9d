// blotter link: the serial-case linker (run), and an investigator's word on a
// proposed link (confirm, reject).

#include <atomic>
#include <chrono>
#include <csignal>
#include <set>

#include "events/codec.h"
#include "projections/linker/linker.h"
#include "services/command_handler.h"
#include "tools/cli/common.h"

namespace blotter::cli {
namespace {

namespace lk = projections::linker;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct LinkOptions {
  LogOptions log;
  std::string model;
  bool until_caught_up = false;
  // confirm / reject
  std::string incident, case_id, by, reason;
};

// The log, to read and to append to: on Kafka as a transactional writer
// (OpenLog's "create"); an embedded log must exist already.
Result<std::unique_ptr<EventLog>> OpenForLinks(const LogOptions& o) {
  return OpenLog(o, /*create=*/!o.kafka.empty());
}

Result<lk::Model> LoadModel(const std::string& path) {
  std::string p = path;
  if (p.empty()) {
    BLOTTER_ASSIGN_OR_RETURN(p, lk::DefaultModelPath());
  }
  return lk::Model::Load(p);
}

// Reads the log from the start through the linker and appends what it
// decides, as commands through the aggregate. A decision made before (a
// restart, a rebuild) is a repeat and appends nothing.
int RunLinker(const LinkOptions& o) {
  auto model = LoadModel(o.model);
  if (!model.ok()) return Fail("link", model.status());
  auto log = OpenForLinks(o.log);
  if (!log.ok()) return Fail("link", log.status());
  lk::Linker linker(std::move(model).value());
  SystemClock clock;
  CommandHandler handler(log->get(), &clock);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  Progress progress("link (events)", 0, /*lines=*/true);
  uint64_t appended = 0, repeated = 0, refused = 0, undecodable = 0;
  std::set<StatusCode> reported;
  const auto start = std::chrono::steady_clock::now();
  std::vector<Command> out;
  // With --until-caught-up: passes to the end as read at each pass's start,
  // until a pass appends nothing (its own links, read back, can call for
  // merges).
  std::vector<Position> from;
  for (int32_t p = 0; p < (*log)->partitions(); ++p) from.push_back({p, 0});
  bool more = true;
  while (more && !g_stop) {
    ReaderOptions ro;
    ro.start = from;
    if (o.until_caught_up) {
      auto ends = (*log)->EndOffsets();
      if (!ends.ok()) return Fail("link", ends.status());
      ro.stop_at = *ends;
    }
    auto reader = (*log)->NewReader(ro);
    if (!reader.ok()) return Fail("link", reader.status());
    const uint64_t appended_before = appended;
    while (!g_stop) {
      auto batch = (*reader)->Poll(20000, std::chrono::milliseconds(500));
      if (!batch.ok()) {
        if (batch.status().code() == StatusCode::kEndOfStream) break;
        if (batch.status().code() == StatusCode::kUnavailable && !o.until_caught_up) continue;
        return Fail("link", batch.status());
      }
      out.clear();
      for (const auto& r : *batch) {
        auto e = DecodeEvent(r.bytes);
        if (!e.ok()) {
          ++undecodable;  // replay --verify names it; the linker passes it by
          continue;
        }
        linker.Observe(**e, &out);
      }
      if (!out.empty()) {
        auto results = handler.HandleBatch(out);
        for (size_t i = 0; i < results.size(); ++i) {
          if (!results[i].ok()) {
            // Already linked, or refused by an investigator's rejection: the
            // log says no, and the log is right. Anything else is worth a line.
            ++refused;
            const auto code = results[i].status().code();
            if (code != StatusCode::kAlreadyExists && reported.insert(code).second) {
              fmt::print(stderr, "link: {}: {}\n", out[i].command_id,
                         results[i].status().ToString());
            }
            continue;
          }
          (results[i]->repeated ? repeated : appended) += 1;
        }
      }
      progress.Update(linker.stats().events);
    }
    from = (*reader)->positions();
    more = o.until_caught_up && appended > appended_before;
  }
  progress.Finish();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& s = linker.stats();
  fmt::print(stderr,
             "link: {} events, {} linkable incidents ({:.0f}/s), {} pairs scored, {} matches "
             "set aside (not the pattern's words); {} links appended, {} already in the log, {} "
             "refused by the log; {} undecodable; model {}\n",
             s.events, s.classified, s.classified / std::max(1e-9, secs), s.pairs, s.kept_out,
             appended, repeated, refused, undecodable, linker.model().version());
  return 0;
}

int Decide(const LinkOptions& o, bool confirm) {
  auto log = OpenForLinks(o.log);
  if (!log.ok()) return Fail("link", log.status());
  SystemClock clock;
  CommandHandler handler(log->get(), &clock);
  Command c;
  c.command_id =
      fmt::format("{}:{}:{}:{}", confirm ? "confirm" : "reject", o.incident, o.case_id, o.by);
  c.incident_id = o.incident;
  c.actor = o.by;
  c.correlation_id = o.case_id;
  if (confirm) {
    fb::CaseLinkConfirmedT p;
    p.case_id = o.case_id;
    p.by = o.by;
    p.reason = o.reason;
    c.payload.Set(std::move(p));
  } else {
    fb::CaseLinkRejectedT p;
    p.case_id = o.case_id;
    p.by = o.by;
    p.reason = o.reason;
    c.payload.Set(std::move(p));
  }
  auto r = handler.Handle(std::move(c));
  if (!r.ok()) return Fail("link", r.status());
  PrintLine(fmt::format("{} incident {} in case {} ({})", confirm ? "confirmed" : "rejected",
                        o.incident, o.case_id, r->repeated ? "already recorded" : "recorded"));
  return 0;
}

}  // namespace

Subcommand AddLink(CLI::App& root) {
  auto o = std::make_shared<LinkOptions>();
  Subcommand c;
  c.app = root.add_subcommand(
      "link", "serial-case linking: run the linker, or confirm or reject a proposed link");
  c.app->require_subcommand(1);
  CLI::App* run = c.app->add_subcommand(
      "run", "read the log through the linker and append the links it decides (CaseLinked)");
  AddLogOptions(run, &o->log, "linker");
  run->add_option("--model", o->model, "fitted model (default projections/linker/model.json)");
  run->add_flag("--until-caught-up", o->until_caught_up,
                "stop at the log's end as read at the start");
  CLI::App* confirm = c.app->add_subcommand("confirm", "an investigator confirms a link (final)");
  CLI::App* reject = c.app->add_subcommand(
      "reject", "an investigator rejects a link (final: never proposed again)");
  for (CLI::App* a : {confirm, reject}) {
    AddLogOptions(a, &o->log, "link");
    a->add_option("incident", o->incident, "incident id")->required();
    a->add_option("case", o->case_id, "case id")->required();
    a->add_option("--by", o->by, "the officer deciding")->required();
    a->add_option("--reason", o->reason, "why (required to reject)");
  }
  c.run = [o, run, confirm, reject] {
    if (run->parsed()) return RunLinker(*o);
    if (reject->parsed() && o->reason.empty()) return Fail("link", "reject needs --reason");
    return Decide(*o, confirm->parsed());
  };
  return c;
}

}  // namespace blotter::cli
