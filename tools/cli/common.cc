#include "tools/cli/common.h"

#include <unistd.h>

#include <fstream>
#include <iostream>

#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "events/time_util.h"

namespace blotter::cli {

void AddLogOptions(CLI::App* app, LogOptions* o, std::string service) {
  o->service = std::move(service);
  app->add_option("--data", o->data_dir, "embedded event log directory")->capture_default_str();
  app->add_option("--partitions", o->partitions,
                  "partitions of a new log (default 8; an existing log keeps its own)");
  app->add_option("--kafka", o->kafka, "Kafka bootstrap servers: use Kafka instead of --data");
  app->add_option("--kafka-config", o->kafka_config,
                  "librdkafka properties file (security.protocol, sasl.*, ssl.*, ...)");
  app->add_option("--topic-prefix", o->topic_prefix,
                  "Kafka topic prefix (the topic is PREFIX.incident-events)")
      ->capture_default_str();
  app->add_option("--transactional-id", o->transactional_id,
                  "Kafka writer's transactional.id (default blotter-<subcommand>); a second writer "
                  "with the same id fences the first");
  app->add_option("--replication-factor", o->replication_factor,
                  "replication factor of a new Kafka topic")
      ->capture_default_str();
}

Result<std::unique_ptr<EventLog>> OpenLog(const LogOptions& o, bool create, bool follow_if_busy) {
  if (!o.kafka.empty()) {
    KafkaLogOptions ko;
    ko.bootstrap = o.kafka;
    if (!o.kafka_config.empty()) {
      BLOTTER_ASSIGN_OR_RETURN(ko.properties, ReadKafkaProperties(o.kafka_config));
    }
    ko.topic_prefix = o.topic_prefix;
    if (o.partitions > 0) ko.partitions = o.partitions;
    ko.replication_factor = static_cast<int16_t>(o.replication_factor);
    ko.transactional_id = o.transactional_id.empty() ? "blotter-" + o.service : o.transactional_id;
    ko.writer = create;
    BLOTTER_ASSIGN_OR_RETURN(std::unique_ptr<KafkaLog> log, KafkaLog::Open(ko));
    return std::unique_ptr<EventLog>(std::move(log));
  }
  EmbeddedLogOptions eo;
  eo.partitions = o.partitions;
  eo.create_if_missing = create;
  eo.bulk_load = o.bulk_load;
  eo.notice = [](std::string_view m) { fmt::print(stderr, "blotter: {}\n", m); };
  auto log = EmbeddedLog::Open(o.data_dir, eo);
  if (!log.ok() && log.status().code() == StatusCode::kBusy && follow_if_busy) {
    eo.follower = true;
    log = EmbeddedLog::Open(o.data_dir, eo);
  }
  if (!log.ok()) return log.status();
  return std::unique_ptr<EventLog>(std::move(log).value());
}

std::string ViewsDir(const LogOptions& o, const std::string& views_dir) {
  if (!views_dir.empty()) return views_dir;
  return o.kafka.empty() ? o.data_dir + ".views" : "./blotter-views";
}

void AddViewsDirOption(CLI::App* app, std::string* views_dir) {
  app->add_option("--views-dir", *views_dir,
                  "the view store (default DATA.views, or ./blotter-views with --kafka)");
}

std::string LogName(const LogOptions& o) {
  if (o.kafka.empty()) return o.data_dir;
  return fmt::format("topic {} at {}", IncidentEventsTopic(o.topic_prefix), o.kafka);
}

int Fail(std::string_view command, const Status& status) {
  return Fail(command, status.message().empty() ? status.ToString() : status.message());
}

int Fail(std::string_view command, std::string_view message) {
  std::fflush(stdout);
  fmt::print(stderr, "blotter {}: {}\n", command, message);
  return 1;
}

Result<LineInput> LineInput::Open(const std::string& path) {
  LineInput in;
  if (path.empty() || path == "-") {
    in.in_ = std::shared_ptr<std::istream>(&std::cin, [](std::istream*) {});
    in.name_ = "stdin";
  } else {
    auto f = std::make_shared<std::ifstream>(path);
    if (!*f) return Status::NotFound(fmt::format("cannot open {}", path));
    in.in_ = std::move(f);
    in.name_ = path;
  }
  return in;
}

bool LineInput::Next(std::string* line) {
  if (!std::getline(*in_, *line)) return false;
  ++line_number_;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

Progress::Progress(std::string what, uint64_t total, bool lines)
    : what_(std::move(what)),
      total_(total),
      tty_(isatty(STDERR_FILENO) == 1),
      lines_(lines),
      start_us_(NowMicros()),
      last_us_(start_us_) {}

Progress::~Progress() { Finish(); }

void Progress::Update(uint64_t done) {
  done_ = done;
  if (!tty_ && !lines_) return;
  const int64_t now = NowMicros();
  if (now - last_us_ < (tty_ ? 200'000 : 10'000'000)) return;
  last_us_ = now;
  const char* start = tty_ ? "\r" : "";
  const char* end = tty_ ? "" : "\n";
  const double secs = std::max(1e-6, (now - start_us_) / 1e6);
  const double rate = done / secs;
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / total_);
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    const double eta = rate > 0 ? (total_ - std::min(done, total_)) / rate : 0;
    fmt::print(stderr, "{}{} [{}{}] {:5.1f}% {:>10}/{} {:>9.0f}/s ETA {:4.0f}s{}", start, what_,
               std::string(filled, '#'), std::string(width - filled, '.'), frac * 100, done, total_,
               rate, eta, end);
  } else {
    fmt::print(stderr, "{}{} {:>10} {:>9.0f}/s {:5.1f}s{}", start, what_, done, rate, secs, end);
  }
  std::fflush(stderr);
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (tty_ && last_us_ != start_us_) fmt::print(stderr, "\r\033[K");
}

void PrintLine(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

}  // namespace blotter::cli
