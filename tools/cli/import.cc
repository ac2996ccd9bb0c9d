// blotter import: JSON lines of events, exactly as replay prints them, into an
// empty log, verifying each incident's chain as it goes.

#include "events/hash_chain.h"
#include "events/json.h"
#include "tools/cli/common.h"

namespace blotter::cli {
namespace {

struct ImportOptions {
  LogOptions log;
  std::string input = "-";
  size_t batch = 4096;
};

int Run(const ImportOptions& o) {
  auto input = LineInput::Open(o.input);
  if (!input.ok()) return Fail("import", input.status());
  auto log = OpenLog(o.log, /*create=*/true);
  if (!log.ok()) return Fail("import", log.status());
  auto ends = (*log)->EndOffsets();
  if (!ends.ok()) return Fail("import", ends.status());
  for (int64_t end : *ends) {
    if (end != 0) {
      return Fail("import", fmt::format("the log in {} is not empty; import restores into an "
                                        "empty log only",
                                        LogName(o.log)));
    }
  }

  ChainVerifier chains;
  std::vector<EncodedEvent> pending;
  uint64_t imported = 0;
  Progress progress("import", 0);
  auto flush = [&]() -> Status {
    if (pending.empty()) return Status::Ok();
    auto appended = (*log)->Append(pending);
    if (!appended.ok()) return appended.status();
    imported += pending.size();
    pending.clear();
    progress.Update(imported);
    return Status::Ok();
  };

  std::string line;
  while (input->Next(&line)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const size_t n = input->line_number();
    auto refuse = [&](const Status& st) {
      // What came before the bad line is written; nothing after it is.
      Status f = flush();
      progress.Finish();
      return Fail("import", fmt::format("{} line {} refused: {}; {} event(s) before it imported, "
                                        "nothing after it{}",
                                        input->name(), n, st.message(), imported,
                                        f.ok() ? "" : " (" + f.message() + ")"));
    };
    auto event = EventFromJson(line);
    if (!event.ok()) return refuse(event.status());
    auto encoded = EncodedEvent::FromBytes(EncodeCanonical(*event));
    if (!encoded.ok()) return refuse(encoded.status());
    Status chained = chains.Check(*encoded->event());
    if (!chained.ok()) return refuse(chained);
    pending.push_back(std::move(encoded).value());
    if (pending.size() >= o.batch) {
      Status st = flush();
      if (!st.ok()) return Fail("import", st);
    }
  }
  Status st = flush();
  progress.Finish();
  if (!st.ok()) return Fail("import", st);
  fmt::print(stderr, "imported {} events of {} incidents into {}; every hash chain verified\n",
             imported, chains.incidents(), LogName(o.log));
  return 0;
}

}  // namespace

Subcommand AddImport(CLI::App& root) {
  auto o = std::make_shared<ImportOptions>();
  Subcommand c;
  c.app = root.add_subcommand("import",
                              "restore JSON-line events (as replay prints them) into an empty "
                              "log, verifying every hash chain; a tampered line is refused");
  AddLogOptions(c.app, &o->log, "import");
  c.app->add_option("input", o->input, "file of JSON-line events ('-': stdin)")
      ->capture_default_str();
  c.app->add_option("--batch", o->batch, "events per durable append")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  c.run = [o] { return Run(*o); };
  return c;
}

}  // namespace blotter::cli
