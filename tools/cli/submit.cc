// blotter submit: commands as JSON lines through the aggregate into the log.

#include "services/command_handler.h"
#include "tools/cli/common.h"

namespace blotter::cli {
namespace {

struct SubmitOptions {
  LogOptions log;
  std::string input = "-";
  size_t batch = 1;
};

Json ResultJson(size_t line, const Command& c, const Result<SubmitResult>& r) {
  Json j = Json::object();
  j["line"] = line;
  j["command_id"] = c.command_id;
  j["incident_id"] = r.ok() ? r->incident_id : c.incident_id;
  if (!r.ok()) {
    j["result"] = "rejected";
    j["code"] = StatusCodeName(r.status().code());
    j["reason"] = r.status().message();
    return j;
  }
  j["result"] = r->repeated ? "repeated" : "appended";
  Json events = Json::array();
  for (const auto& e : r->events) {
    events.push_back(Json{{"event_id", e.event()->event_id()->str()},
                          {"sequence", e.sequence()},
                          {"type", Name(e.event()->payload_type())}});
  }
  j["events"] = std::move(events);
  return j;
}

int Run(const SubmitOptions& o) {
  auto input = LineInput::Open(o.input);
  if (!input.ok()) return Fail("submit", input.status());
  auto log = OpenLog(o.log, /*create=*/true);
  if (!log.ok()) return Fail("submit", log.status());
  SystemClock clock;
  CommandHandler handler(log->get(), &clock);

  size_t rejected = 0, accepted = 0;
  std::vector<Command> pending;
  std::vector<size_t> pending_lines;
  auto reject = [&](size_t line, const std::string& id, const Status& st) {
    ++rejected;
    fmt::print(stderr, "blotter submit: {} line {}{}: {}\n", input->name(), line,
               id.empty() ? "" : fmt::format(" (command {})", id), st.ToString());
  };
  auto flush = [&] {
    if (pending.empty()) return;
    auto results = handler.HandleBatch(pending);
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok())
        reject(pending_lines[i], pending[i].command_id, results[i].status());
      else
        ++accepted;
      PrintLine(ResultJson(pending_lines[i], pending[i], results[i]).dump(-1, ' ', false));
    }
    pending.clear();
    pending_lines.clear();
  };

  Progress progress("submit", 0);
  std::string line;
  while (input->Next(&line)) {
    progress.Update(input->line_number());
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto command = CommandFromJson(line);
    if (!command.ok()) {
      flush();
      reject(input->line_number(), "", command.status());
      Command empty;
      PrintLine(ResultJson(input->line_number(), empty, command.status()).dump(-1, ' ', false));
      continue;
    }
    pending.push_back(std::move(command).value());
    pending_lines.push_back(input->line_number());
    if (pending.size() >= o.batch) flush();
  }
  flush();
  progress.Finish();
  std::fflush(stdout);
  if (rejected > 0) {
    fmt::print(stderr, "blotter submit: {} command(s) rejected, {} accepted\n", rejected, accepted);
    return 1;
  }
  return 0;
}

}  // namespace

Subcommand AddSubmit(CLI::App& root) {
  auto o = std::make_shared<SubmitOptions>();
  Subcommand c;
  c.app = root.add_subcommand("submit",
                              "submit commands (JSON lines) through the incident aggregate into "
                              "the log; prints one result line per command");
  AddLogOptions(c.app, &o->log, "submit");
  c.app->add_option("input", o->input, "file of JSON-line commands ('-': stdin)")
      ->capture_default_str();
  c.app
      ->add_option("--batch", o->batch,
                   "commands decided per durable append (1: each command acknowledged alone)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  c.run = [o] { return Run(*o); };
  return c;
}

}  // namespace blotter::cli
