#pragma once

// The event log on Apache Kafka (librdkafka).
//
// Topic `<prefix>.incident-events`, key = incident id, value = the encoded
// event (events.fbs), partition = murmur2(key) as Kafka's Java client and
// librdkafka's murmur2_random choose it. Created with the admin API when
// missing: infinite retention (the system of record), min.insync.replicas
// suited to the replication factor.
//
// Writer: idempotent, acks=all, transactional. Each group commit
// (group_commit.h) is one transaction, and an append is acknowledged only
// after its transaction commits. A writer whose transactional.id another
// writer took over is fenced: it says so (kFenced) and appends nothing more.
// The single-writer check (sequence and hash chain) runs against heads the
// writer rebuilds from the log (read_committed) when it opens.
//
// Readers: isolation.level=read_committed, assigned partitions at offsets
// (no consumer group), blocking consume (no sleep loops), optional stop
// offsets. Offsets within a partition are not dense: transaction markers
// take offsets too.
//
// Head() and ReadIncident() scan the incident's partition; the history view
// (projections/history) records each incident's positions, which ReadAt
// fetches.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "events/event_log.h"

namespace blotter {

struct KafkaLogOptions {
  std::string bootstrap;  // bootstrap.servers
  // librdkafka properties (security.protocol, sasl.*, ssl.*, ...), passed
  // through unchanged to every client.
  std::vector<std::pair<std::string, std::string>> properties;
  std::string topic_prefix = "blotter";
  int32_t partitions = 8;          // for a new topic
  int16_t replication_factor = 1;  // for a new topic
  // Writer: the transactional.id. A second writer with the same id fences the first.
  std::string transactional_id = "blotter-writer";
  // false: read only (no producer, no head rebuild).
  bool writer = true;
  int timeout_ms = 30000;
  size_t max_group_bytes = 8 << 20;
};

std::string IncidentEventsTopic(const std::string& prefix);

// The writer's producer settings beyond transactions (idempotence, acks=all,
// batching, compression); benchmarks give a plain producer the same ones.
std::vector<std::pair<std::string, std::string>> KafkaProducerDefaults();

// Reads a librdkafka properties file: `key=value` lines, # comments.
Result<std::vector<std::pair<std::string, std::string>>> ReadKafkaProperties(
    const std::string& path);

class KafkaLog final : public EventLog {
 public:
  // Connects, creates the topic if missing and, for a writer, initialises
  // transactions (fencing any older writer with the same id) and rebuilds
  // the incident heads. kUnavailable when the brokers cannot be reached.
  static Result<std::unique_ptr<KafkaLog>> Open(const KafkaLogOptions& options);
  ~KafkaLog() override;

  int32_t partitions() const override;
  Result<std::vector<Position>> Append(std::span<const EncodedEvent> events) override;
  Result<std::vector<int64_t>> EndOffsets() override;
  Result<IncidentHead> Head(std::string_view incident_id) override;
  Result<std::vector<LogRecord>> ReadIncident(std::string_view incident_id) override;
  Result<std::unique_ptr<LogReader>> NewReader(const ReaderOptions& options) override;
  // One consumer, fetching at each position (or reading on to it when it is
  // a few records further on).
  Result<std::vector<LogRecord>> ReadAt(std::span<const Position> positions) override;

  const std::string& topic() const;

  struct Impl;

 private:
  explicit KafkaLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace blotter
