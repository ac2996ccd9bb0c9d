#pragma once

// Shared pieces of the blotter subcommands: opening the log, input lines,
// errors on stderr, progress on a terminal.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "events/event_log.h"

namespace blotter::cli {

struct LogOptions {
  std::string data_dir = "./blotter-data";
  int32_t partitions = 0;
  std::string kafka;         // bootstrap servers; empty: embedded
  std::string kafka_config;  // librdkafka properties file
  std::string topic_prefix = "blotter";
  std::string transactional_id;  // Kafka writer; default "blotter-<service>"
  int replication_factor = 1;    // a new Kafka topic's
  std::string service;           // the subcommand, for defaults
  // Embedded: appends durable at Sync() rather than one by one
  // (EmbeddedLogOptions::bulk_load).
  bool bulk_load = false;
};

void AddLogOptions(CLI::App* app, LogOptions* options, std::string service);

// Opens the log the options name. `create`: a new embedded log may be made.
// `follow_if_busy`: when another process has the embedded log open, open it
// read-only beside that process, following its appends.
// `create` also means "will write": a Kafka log opens as a transactional
// writer then, and read-only otherwise.
Result<std::unique_ptr<EventLog>> OpenLog(const LogOptions& options, bool create,
                                          bool follow_if_busy = false);

// The view store: `views_dir` when given, else DATA.views next to an embedded
// log, or ./blotter-views with --kafka.
std::string ViewsDir(const LogOptions& options, const std::string& views_dir);
void AddViewsDirOption(CLI::App* app, std::string* views_dir);

// "topic T at BOOTSTRAP" or the data directory, for messages.
std::string LogName(const LogOptions& options);

// Prints "blotter <command>: <message>" on stderr and returns exit code 1.
int Fail(std::string_view command, const Status& status);
int Fail(std::string_view command, std::string_view message);

// Reads lines from a file, or stdin when path is "-" or empty.
class LineInput {
 public:
  static Result<LineInput> Open(const std::string& path);
  bool Next(std::string* line);  // false at the end
  size_t line_number() const { return line_number_; }
  std::string name() const { return name_; }

 private:
  std::shared_ptr<std::istream> in_;
  std::string name_;
  size_t line_number_ = 0;
};

// A one-line progress report on stderr, redrawn at most every 200 ms, only
// when stderr is a terminal.
class Progress {
 public:
  // total 0: unknown. `lines`: when stderr is not a terminal, a plain line
  // every 10 s instead of nothing (for long jobs under a script or CI).
  Progress(std::string what, uint64_t total, bool lines = false);
  ~Progress();
  void Update(uint64_t done);
  void Finish();

 private:
  std::string what_;
  uint64_t total_;
  bool tty_;
  bool lines_;
  int64_t start_us_;
  int64_t last_us_ = 0;
  bool finished_ = false;
  uint64_t done_ = 0;
};

// A subcommand: its CLI11 app and what runs it (returns the exit code).
struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Subcommand AddSubmit(CLI::App& root);
Subcommand AddReplay(CLI::App& root);
Subcommand AddImport(CLI::App& root);
Subcommand AddTail(CLI::App& root);
Subcommand AddBench(CLI::App& root);
Subcommand AddProject(CLI::App& root);
Subcommand AddQuery(CLI::App& root);
Subcommand AddReport(CLI::App& root);
Subcommand AddSimulate(CLI::App& root);
Subcommand AddLink(CLI::App& root);
Subcommand AddEvaluateLinks(CLI::App& root);

// Writes one line to stdout.
void PrintLine(std::string_view line);

}  // namespace blotter::cli
