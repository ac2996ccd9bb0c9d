#pragma once

// The simulation run that blotter simulate and blotter bench simulate share.

#include "events/event_log.h"
#include "tools/cli/common.h"
#include "tools/simulator/simulator.h"

namespace blotter::cli {

struct SimulateSummary {
  uint64_t calls = 0, commands = 0, events = 0;
  double seconds = 0;
};

// Runs the simulation through a CommandHandler into `log` (each event
// recorded two seconds after it happened); a rejected command is the
// simulator's bug and ends the run with its reason. `progress` may be null.
Result<SimulateSummary> Simulate(EventLog* log, const sim::Profile& profile,
                                 const sim::SimulateOptions& options, size_t batch,
                                 Progress* progress, sim::Truth* truth);

}  // namespace blotter::cli
