#pragma once

// The workload simulator: a province's 110 calls, day by day, as the commands
// a dispatch console would send (receive, classify, assign, arrive, resolve or
// transfer), in time order, so that every simulated history goes through the
// incident aggregate like a real one. Crime series and look-alikes from the
// profile are injected among the background calls.
//
// Deterministic: a profile, options and seed give the same commands, byte for
// byte, on every run. What really happened (which incident belongs to which
// series, the figures a report should show) is kept in a Truth, never in the
// commands, so that an analysis of the log cannot peek.
//
// Not thread-safe.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/aggregate.h"
#include "events/json.h"
#include "projections/stats/report.h"
#include "tools/simulator/profile.h"
#include "tools/simulator/rng.h"

namespace blotter::sim {

struct SimulateOptions {
  // Share of the profile's volumes (1.0: the whole province's year).
  double scale = 0.01;
  // Local midnight (China Standard Time) of the first day.
  Micros from = 0;
  int days = 7;
  uint64_t seed = 1;
  // Division-code prefixes to simulate; empty: every division of the profile.
  std::vector<std::string> regions;
  // Inject the profile's crime series and look-alikes.
  bool series = true;
};

// Commands in time order, as a writer takes them, and beside each whether it
// is its incident's last step (a writer may forget the incident after it).
struct SimChunk {
  std::vector<Command> commands;
  std::vector<uint8_t> closes;
  size_t size() const { return commands.size(); }
  bool empty() const { return commands.empty(); }
  void clear() {
    commands.clear();
    closes.clear();
  }
};

// A group of incidents the truth knows about: an injected series, or the
// look-alikes around one.
struct TruthGroup {
  std::string id, title;
  fb::Subtype subtype = fb::Subtype::unknown;
  std::vector<std::string> incidents;  // in time order
};

struct Truth {
  // The report's figures, as blotter report would compute them, by division.
  std::map<std::string, projections::ReportFigures> by_division;
  std::vector<TruthGroup> series;
  std::vector<TruthGroup> lookalikes;
  uint64_t calls = 0;
  uint64_t commands = 0;

  // The figures of every division whose code starts with `region`.
  projections::ReportFigures Total(std::string_view region = "") const;
};

class Simulator {
 public:
  // `profile` must outlive the simulator.
  Simulator(const Profile* profile, SimulateOptions options);
  ~Simulator();

  // Appends up to `max` commands, in time order, to `out`; false when the
  // simulation has nothing left (every incident closed).
  bool Next(size_t max, SimChunk* out);

  const Truth& truth() const { return truth_; }
  int days_done() const { return days_done_; }
  // Roughly how many calls the whole run makes (for progress).
  double ExpectedCalls() const;

 private:
  struct Plan;
  struct Step;
  struct Seed;
  void GenerateDay();
  // A free slot of plans_, its plan default-constructed.
  uint32_t TakePlanSlot();
  void AddCall(uint32_t slot);
  void PlanSeries();
  Command Materialize(Plan& plan, int step) const;

  const Profile* profile_;
  SimulateOptions options_;
  Rng rng_;
  std::vector<const Division*> henan_, shared_;  // selected divisions
  double henan_population_ = 0;
  int days_done_ = 0;
  uint64_t next_call_ = 0;
  uint64_t next_seq_ = 0;
  std::vector<Plan> plans_;
  std::vector<uint32_t> free_plans_;
  // The steps to come in (time, generation) order from queue_[next_step_]:
  // a day's steps are generated at once, before any of them is due, so
  // sorting them in beside the rest is all the ordering they need (a heap of
  // a province's day was a tenth of this thread's time).
  std::vector<Step> queue_;
  size_t next_step_ = 0;
  std::vector<Plan> injected_;  // series and look-alike calls, by time
  // Per division (by its index in the profile): calls numbered so far today
  // and its figures in truth_ (found once, not by its code for every call).
  std::vector<uint32_t> calls_today_;
  std::vector<projections::ReportFigures*> figures_;
  size_t next_injected_ = 0;
  Truth truth_;
};

// The truth as JSON (--truth FILE): options, the report's figures in total
// and by division (as blotter report --format json prints them), the series
// and the look-alikes.
Json TruthToJson(const Truth& truth, const Profile& profile, const SimulateOptions& options);

// The local day (YYYY-MM-DD) of a time, as options take it.
Result<Micros> ParseDay(std::string_view yyyy_mm_dd);

}  // namespace blotter::sim
