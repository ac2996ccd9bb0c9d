// blotter simulate: a province-scale 110 workload through the aggregate into
// the log, with its ground truth written only to --truth.

#include "tools/cli/simulate.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "services/command_handler.h"

namespace blotter::cli {
namespace {

struct SimulateCliOptions {
  LogOptions log;
  std::string profile = "henan-2021";
  double scale = 0.01;
  std::string from = "2021-01-01";
  int days = 7;
  uint64_t seed = 1;
  std::string truth;
  std::vector<std::string> regions;
  bool no_series = false;
  size_t batch = 20000;
  bool durable = false;
};

int Run(const SimulateCliOptions& o) {
  auto dir = sim::FindProfile(o.profile);
  if (!dir.ok()) return Fail("simulate", dir.status());
  auto profile = sim::Profile::Load(*dir);
  if (!profile.ok()) return Fail("simulate", profile.status());
  auto from = sim::ParseDay(o.from);
  if (!from.ok()) return Fail("simulate", from.status().WithContext("--from"));
  if (!(o.scale > 0) || o.scale > 10) return Fail("simulate", "--scale must lie in (0, 10]");
  if (o.days < 1) return Fail("simulate", "--days must be at least 1");
  for (const auto& r : o.regions) {
    if (r.empty() || r.size() > 6 || r.find_first_not_of("0123456789") != std::string::npos) {
      return Fail("simulate", fmt::format("--regions: '{}' is not a division-code prefix", r));
    }
  }
  sim::SimulateOptions so;
  so.scale = o.scale;
  so.from = *from;
  so.days = o.days;
  so.seed = o.seed;
  so.regions = o.regions;
  so.series = !o.no_series;
  // Fail on an unwritable truth file before spending the time.
  std::ofstream truth_out;
  if (!o.truth.empty()) {
    truth_out.open(o.truth, std::ios::trunc);
    if (!truth_out) return Fail("simulate", fmt::format("cannot write --truth {}", o.truth));
  }
  LogOptions lo = o.log;
  lo.bulk_load = !o.durable;
  auto log = OpenLog(lo, /*create=*/true);
  if (!log.ok()) return Fail("simulate", log.status());

  sim::Simulator estimate(&*profile, so);
  Progress progress("simulate (calls)", static_cast<uint64_t>(estimate.ExpectedCalls()),
                    /*lines=*/true);
  sim::Truth truth;
  auto summary = Simulate(log->get(), *profile, so, o.batch, &progress, &truth);
  progress.Finish();
  if (!summary.ok()) return Fail("simulate", summary.status());
  if (truth_out.is_open()) {
    truth_out << sim::TruthToJson(truth, *profile, so).dump(1, ' ', false) << "\n";
    truth_out.close();
    if (!truth_out) return Fail("simulate", fmt::format("writing --truth {} failed", o.truth));
  }
  size_t series_members = 0;
  for (const auto& s : truth.series) series_members += s.incidents.size();
  fmt::print(stderr,
             "simulate: {} calls, {} commands, {} events in {:.1f} s ({:.0f} events/s) into {}; "
             "{} series incidents{}\n",
             summary->calls, summary->commands, summary->events, summary->seconds,
             summary->events / std::max(1e-9, summary->seconds), LogName(o.log), series_members,
             o.truth.empty() ? "" : fmt::format(", truth in {}", o.truth));
  return 0;
}

}  // namespace

// Runs the simulation into `log`; rejections are the simulator's bugs. The
// simulator makes the next chunk of commands on a thread of its own while
// this one decides the current one and the handler appends the one before.
Result<SimulateSummary> Simulate(EventLog* log, const sim::Profile& profile,
                                 const sim::SimulateOptions& so, size_t batch, Progress* progress,
                                 sim::Truth* truth) {
  const auto start = std::chrono::steady_clock::now();
  ManualClock clock(so.from);
  CommandHandlerOptions ho;
  // Each event is recorded two seconds after it happened, as if live.
  ho.record_after_occurrence = 2 * kMicrosPerSecond;
  ho.return_events = false;
  // Each batch's append runs beside the deciding of the next.
  ho.pipeline_appends = true;
  ho.consume_payloads = true;
  CommandHandler handler(log, &clock, ho);
  sim::Simulator simulator(&profile, so);

  std::mutex mu;
  std::condition_variable cv;
  std::deque<sim::SimChunk> ready;
  bool done = false, quit = false;
  std::atomic<uint64_t> calls{0};
  std::thread producer([&] {
    while (true) {
      sim::SimChunk chunk;
      const bool more = simulator.Next(batch, &chunk);
      calls = simulator.truth().calls;
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return quit || ready.size() < 2; });
      if (quit) return;
      if (!chunk.empty()) ready.push_back(std::move(chunk));
      if (!more) {
        done = true;
        cv.notify_all();
        return;
      }
      cv.notify_all();
    }
  });
  auto stop = [&] {
    {
      std::lock_guard lock(mu);
      quit = true;
    }
    cv.notify_all();
    producer.join();
  };

  SimulateSummary summary;
  while (true) {
    sim::SimChunk chunk;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !ready.empty() || done; });
      if (ready.empty()) break;
      chunk = std::move(ready.front());
      ready.pop_front();
    }
    cv.notify_all();
    const std::vector<Command>& commands = chunk.commands;
    auto results = handler.HandleBatch(chunk.commands);
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) {
        stop();
        return results[i].status().WithContext(
            fmt::format("simulated command {} ({} of incident {})", commands[i].command_id,
                        CommandTypeName(commands[i].payload.type), commands[i].incident_id));
      }
      summary.events += results[i]->event_count;
      if (chunk.closes[i]) handler.Evict(results[i]->incident_id);
    }
    summary.commands += commands.size();
    if (progress) progress->Update(calls);
  }
  stop();
  BLOTTER_RETURN_IF_ERROR(handler.Flush());
  BLOTTER_RETURN_IF_ERROR(log->Sync());
  summary.calls = simulator.truth().calls;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *truth = simulator.truth();
  return summary;
}

Subcommand AddSimulate(CLI::App& root) {
  auto o = std::make_shared<SimulateCliOptions>();
  Subcommand c;
  c.app = root.add_subcommand(
      "simulate",
      "generate a province-scale 110 workload through the incident aggregate into the log, "
      "deterministic for a seed; ground truth only to --truth");
  AddLogOptions(c.app, &o->log, "simulate");
  c.app->add_option("--profile", o->profile, "profile name or directory")->capture_default_str();
  c.app->add_option("--scale", o->scale, "share of the profile's volumes (1.0: a whole province)")
      ->capture_default_str();
  c.app->add_option("--from", o->from, "first day (YYYY-MM-DD, China Standard Time)")
      ->capture_default_str();
  c.app->add_option("--days", o->days, "days to simulate")->capture_default_str();
  c.app->add_option("--seed", o->seed, "random seed: the same arguments give the same log")
      ->capture_default_str();
  c.app->add_option("--truth", o->truth,
                    "write the ground truth (report figures, series members) to this JSON file");
  c.app
      ->add_option("--regions", o->regions,
                   "division-code prefixes to simulate, e.g. 4116,341221 (default: all)")
      ->delimiter(',');
  c.app->add_flag("--no-series", o->no_series, "no injected crime series or look-alikes");
  c.app->add_flag("--durable", o->durable,
                  "embedded: sync each batch to the WAL as it is appended, as a live writer does "
                  "(default: a bulk load, flushed at the end; a crash loses what was not flushed)");
  c.app->add_option("--batch", o->batch, "commands per durable append")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  c.run = [o] { return Run(*o); };
  return c;
}

}  // namespace blotter::cli
