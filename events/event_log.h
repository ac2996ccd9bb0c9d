#pragma once

// The event log: an append-only, partitioned sequence of encoded events.
// Two backends implement it: EmbeddedLog (RocksDB, one machine, the default)
// and KafkaLog (a later issue). A conformance suite (tests/log_conformance.*)
// holds both to this contract.
//
// Positions are (partition, offset). All events of one incident go to one
// partition, chosen by murmur2 of the incident id exactly as Kafka's Java
// client and librdkafka's murmur2_random partitioner choose it, so each
// incident's order is total and other languages find the same partition.
//
// Thread safety: an EventLog may be used from many threads at once. A
// LogReader is used by one thread at a time.

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "events/codec.h"
#include "events/status.h"

namespace blotter {

struct Position {
  int32_t partition = 0;
  int64_t offset = 0;
  auto operator<=>(const Position&) const = default;
};

struct LogRecord {
  Position position;
  std::string bytes;  // one encoded event; decode with DecodeEvent (it may be corrupt)
};

// An incident's last event as the log holds it.
struct IncidentHead {
  uint64_t sequence = 0;  // 0: the incident has no events
  std::string hash;       // GenesisHash() when sequence is 0
};

struct ReaderOptions {
  // Partitions to read and the offset to start each at. Empty: every
  // partition from offset 0.
  std::vector<Position> start;
  // When set, the reader stops at these end offsets (one per partition of
  // `start`, or per partition of the log when start is empty): Poll returns
  // kEndOfStream once every partition reached its end. Use EndOffsets() for
  // "replay up to here".
  std::optional<std::vector<int64_t>> stop_at;
  // Kafka only: join this consumer group and read whichever partitions it
  // assigns, each from start_for(partition) (the caller's own checkpoint),
  // as assignments change; `start` and `stop_at` must be empty. positions()
  // then lists every partition read so far, assigned or not any more.
  std::string group;
  std::function<int64_t(int32_t partition)> start_for;
};

class LogReader {
 public:
  virtual ~LogReader() = default;

  // Returns up to `max_records` records, each partition's in offset order.
  // Waits up to `timeout` when none is available (woken by an append, no
  // sleep-polling) and then returns an empty vector. kEndOfStream once every
  // partition reached its stop offset; kUnavailable if the log was closed.
  virtual Result<std::vector<LogRecord>> Poll(size_t max_records,
                                              std::chrono::milliseconds timeout) = 0;

  // The next offset to read for each partition this reader reads.
  virtual std::vector<Position> positions() const = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  virtual int32_t partitions() const = 0;

  // The partition of an incident: toPositive(murmur2(id)) % partitions().
  int32_t PartitionOf(std::string_view incident_id) const;

  // Appends `events` atomically (all or none) and durably: when it returns OK
  // every event is on disk (embedded: WAL synced; an embedded log opened for
  // bulk loading: at the next Sync) and the positions are in the
  // order of `events`. Each event's sequence must be its incident's last
  // sequence + 1 and its prev_hash the last event's hash, counting earlier
  // events of the same call; otherwise kConflict and nothing is appended.
  // Concurrent appends are group-committed; each succeeds or fails alone.
  [[nodiscard]] virtual Result<std::vector<Position>> Append(
      std::span<const EncodedEvent> events) = 0;

  // Makes every acknowledged append durable. Only a log that defers
  // durability (an embedded log opened for bulk loading) has work to do; an
  // error means the appends since the last Sync may be lost on a crash.
  [[nodiscard]] virtual Status Sync() { return Status::Ok(); }

  // The offset the next append to each partition will get.
  [[nodiscard]] virtual Result<std::vector<int64_t>> EndOffsets() = 0;

  // The incident's last sequence and hash (sequence 0 if it has no events).
  [[nodiscard]] virtual Result<IncidentHead> Head(std::string_view incident_id) = 0;

  // All events of one incident in sequence order (empty if none).
  [[nodiscard]] virtual Result<std::vector<LogRecord>> ReadIncident(
      std::string_view incident_id) = 0;

  [[nodiscard]] virtual Result<std::unique_ptr<LogReader>> NewReader(
      const ReaderOptions& options) = 0;

  // The events at `positions`, in that order (a position may repeat).
  // kNotFound when the log holds no event at one of them (never written, or
  // no longer kept); kInvalidArgument for a partition out of range. This
  // default reads each through a reader of its own.
  [[nodiscard]] virtual Result<std::vector<LogRecord>> ReadAt(std::span<const Position> positions);

  // Whether Head() answers from a record kept apart from the events (so an
  // audit can catch a deleted tail), not from the events themselves.
  virtual bool KeepsHeads() const { return false; }

  // Whether ReadIncident answers from an index of the log's own (the
  // embedded log) rather than by scanning a partition (Kafka).
  virtual bool IndexesIncidents() const { return false; }

  // Whether one offset sequence spans all partitions (the embedded log), so
  // reading every partition together yields append order. Otherwise (Kafka)
  // log order is partition by partition.
  virtual bool TotallyOrdered() const { return false; }
};

// The start positions a reader gets from `options` in a log of `partitions`
// (every partition from 0 when none are given), checked: kInvalidArgument for
// a partition out of range, a negative offset, or stop offsets that do not
// match the partitions read.
Result<std::vector<Position>> ReaderStart(const ReaderOptions& options, int32_t partitions);

// ReadAt's kNotFound for `p`, the same from every backend.
Status NoEventAt(const Position& p);

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2).
int32_t Murmur2(std::string_view key);
// Kafka's default partition for a key: (murmur2(key) & 0x7fffffff) % partitions.
int32_t KafkaPartition(std::string_view key, int32_t partitions);

}  // namespace blotter
