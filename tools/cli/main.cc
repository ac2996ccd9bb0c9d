// blotter: the command-line interface. One binary, one subcommand per job.

#include <cstdio>
#include <vector>

#include "tools/cli/common.h"

namespace {

// Subcommands whose capability has not landed yet say so plainly.
blotter::cli::Subcommand AddPending(CLI::App& root, const char* name, const char* what,
                                    const char* issue) {
  blotter::cli::Subcommand c;
  c.app = root.add_subcommand(name, what);
  c.app->allow_extras();
  c.run = [name, issue] {
    return blotter::cli::Fail(name, fmt::format("not available yet: arrives with {}", issue));
  };
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("blotter: event-sourced incident case management for 110 emergency call centres",
               "blotter");
  app.require_subcommand(1);
  app.set_version_flag("--version", "blotter 0.1.0");
  std::vector<blotter::cli::Subcommand> commands = {
      blotter::cli::AddSubmit(app),
      blotter::cli::AddImport(app),
      blotter::cli::AddReplay(app),
      blotter::cli::AddTail(app),
      blotter::cli::AddSimulate(app),
      blotter::cli::AddProject(app),
      blotter::cli::AddQuery(app),
      blotter::cli::AddReport(app),
      AddPending(app, "link", "confirm or reject a case link", "the serial-case linking issue"),
      AddPending(app, "evaluate-links", "compare links with ground truth",
                 "the serial-case linking issue"),
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
