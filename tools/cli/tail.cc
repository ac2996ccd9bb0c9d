// blotter tail: follow the log as JSON lines.

#include <csignal>

#include "events/json.h"
#include "tools/cli/common.h"

namespace blotter::cli {
namespace {

struct TailOptions {
  LogOptions log;
  bool from_start = false;
  std::vector<std::string> from;  // "P:O"
  uint64_t max_events = 0;        // 0: follow forever
  double idle_exit_s = 0;         // 0: never
};

Result<std::vector<Position>> StartPositions(EventLog& log, const TailOptions& o) {
  std::vector<Position> start;
  BLOTTER_ASSIGN_OR_RETURN(std::vector<int64_t> ends, log.EndOffsets());
  for (int32_t p = 0; p < log.partitions(); ++p) start.push_back({p, o.from_start ? 0 : ends[p]});
  for (const std::string& f : o.from) {
    const auto colon = f.find(':');
    Position pos;
    try {
      if (colon == std::string::npos) throw std::invalid_argument(f);
      pos.partition = std::stoi(f.substr(0, colon));
      pos.offset = std::stoll(f.substr(colon + 1));
    } catch (const std::exception&) {
      return Status::InvalidArgument(fmt::format("--from '{}' is not PARTITION:OFFSET", f));
    }
    if (pos.partition < 0 || pos.partition >= log.partitions()) {
      return Status::InvalidArgument(fmt::format("--from '{}': no partition {}", f, pos.partition));
    }
    start[pos.partition].offset = pos.offset;
  }
  return start;
}

int Run(const TailOptions& o) {
  auto log = OpenLog(o.log, /*create=*/false, /*follow_if_busy=*/true);
  if (!log.ok()) return Fail("tail", log.status());
  auto start = StartPositions(**log, o);
  if (!start.ok()) return Fail("tail", start.status());
  ReaderOptions ro;
  ro.start = *start;
  auto reader = (*log)->NewReader(ro);
  if (!reader.ok()) return Fail("tail", reader.status());
  uint64_t printed = 0;
  auto idle_since = std::chrono::steady_clock::now();
  while (o.max_events == 0 || printed < o.max_events) {
    auto batch = (*reader)->Poll(1024, std::chrono::milliseconds(500));
    if (!batch.ok()) return Fail("tail", batch.status());
    if (batch->empty()) {
      if (o.idle_exit_s > 0 && std::chrono::steady_clock::now() - idle_since >
                                   std::chrono::duration<double>(o.idle_exit_s)) {
        break;
      }
      continue;
    }
    idle_since = std::chrono::steady_clock::now();
    for (const LogRecord& r : *batch) {
      auto e = DecodeEvent(r.bytes);
      if (!e.ok()) {
        fmt::print(stderr, "blotter tail: position {}:{}: {}\n", r.position.partition,
                   r.position.offset, e.status().message());
        continue;
      }
      PrintLine(EventToJson(**e));
      if (o.max_events != 0 && ++printed >= o.max_events) break;
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

Subcommand AddTail(CLI::App& root) {
  auto o = std::make_shared<TailOptions>();
  Subcommand c;
  c.app = root.add_subcommand("tail",
                              "follow the log as JSON lines, from the end (default), the start "
                              "or given positions");
  AddLogOptions(c.app, &o->log, "tail");
  c.app->add_flag("--from-start", o->from_start, "start every partition at offset 0");
  c.app->add_option("--from", o->from, "start PARTITION at OFFSET, as PARTITION:OFFSET (repeat)");
  c.app->add_option("--max-events", o->max_events, "exit after this many events (0: follow)");
  c.app->add_option("--idle-exit", o->idle_exit_s, "exit after this many seconds without events");
  c.run = [o] { return Run(*o); };
  return c;
}

}  // namespace blotter::cli
