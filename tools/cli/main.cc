// blotter: the command-line interface. One binary, one subcommand per job.

#include <cstdio>
#include <vector>

#include "events/table_options.h"
#include "tools/cli/common.h"

// jemalloc's settings for this process (read at its start). Its default
// gives allocations of 8 MiB and more (a large append's write batch, RocksDB's
// memtable blocks) an arena that hands their pages back at once, so each new
// one faults in and zeroes fresh pages: 2.6 times the page faults and 16%
// more CPU in a simulated year at scale 0.01. 0 turns that arena off; freed
// pages are kept for reuse and decay back to the system as smaller ones do.
extern "C" {
const char* malloc_conf = "oversize_threshold:0";
}

int main(int argc, char** argv) {
  blotter::PerfCountersOff();  // RocksDB's counters, on this thread
  CLI::App app("blotter: event-sourced incident case management for 110 emergency call centres",
               "blotter");
  app.require_subcommand(1);
  app.set_version_flag("--version", "blotter 0.1.0");
  std::vector<blotter::cli::Subcommand> commands = {
      blotter::cli::AddSubmit(app),   blotter::cli::AddImport(app),
      blotter::cli::AddReplay(app),   blotter::cli::AddTail(app),
      blotter::cli::AddSimulate(app), blotter::cli::AddProject(app),
      blotter::cli::AddQuery(app),    blotter::cli::AddReport(app),
      blotter::cli::AddLink(app),     blotter::cli::AddEvaluateLinks(app),
      blotter::cli::AddBench(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& c : commands) {
    if (c.app->parsed()) {
      const int rc = c.run();
      std::fflush(stdout);
      return rc;
    }
  }
  return 1;
}
