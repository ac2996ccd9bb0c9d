// blotter: the command-line interface. One binary, one subcommand per job.

#include <cstdio>
#include <vector>

#include "tools/cli/common.h"

int main(int argc, char** argv) {
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
