#pragma once

// The embedded event log: RocksDB in one data directory, no server.
//
// Layout (column families):
//   default    format version and partition count
//   log        [offset u64 BE] -> [partition u32 BE][encoded event]
//   incidents  [IncidentKey(id)][0x00][first sequence u64 BE] -> for each event of a run
//              from it (one index write's, sequence after sequence):
//              [partition u32][offset u64][the event's hash, first 8 bytes]
//              and 0xff"indexed-through" -> the offset the index covers
//              (IncidentKey, events/incident_key.h: a day's incidents side
//              by side, so compaction rewrites recent days only)
//
// One offset sequence spans all partitions, so every append lands at the end
// of the key space (as in an append-only file) and the log has a total order:
// append order. Within a partition offsets grow but are not dense; readers
// keep only their partitions' records.
//
// An append is one WriteBatch to the log, written with the WAL synced, so
// after a crash an append is either wholly there or not at all. The
// incidents index (history by id, and each incident's head: the last
// sequence and hash) is written just behind it by an indexer thread, without
// WAL: the log is the truth, and on open whatever the index lacks is indexed
// again from the log. Head() and ReadIncident() wait for the index to catch
// up with what was appended before them; appends validate against an
// in-memory cache of heads that covers every incident not yet indexed.
//
// Group commit, as in LevelDB's DBImpl::Write: concurrent appenders queue; the
// one at the front validates the queued appends, writes them as one synced
// batch and wakes the others. Readers see only fully written appends.
//
// A log of format 1 (index keyed by the bare id), or one whose bulk load did
// not finish, is re-indexed on open.
//
// One process at a time: a second Open of the same directory fails with kBusy.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "events/event_log.h"

namespace rocksdb {
struct DBOptions;
struct ColumnFamilyDescriptor;
}  // namespace rocksdb

namespace blotter {

struct EmbeddedLogOptions {
  // Partitions of a new log. 0: 8 for a new log, and whatever an existing log
  // has. A non-zero value that differs from an existing log's is an error
  // (it would move incidents between partitions).
  int32_t partitions = 0;
  // Create the directory and log if missing.
  bool create_if_missing = true;
  // Sync the WAL before acknowledging an append. Only benchmarks of the
  // ceiling turn this off.
  bool sync = true;
  // Most bytes one group commit gathers from queued appends.
  size_t max_group_bytes = 8 << 20;
  // Incident heads kept in memory to check sequences without a read. Small
  // enough to stay in the CPU's caches: the incidents being worked on fit
  // many times over, and any other is one index read away.
  size_t head_cache_entries = 1 << 16;
  // Bulk loading (a generated workload, such as simulate's): appends skip the
  // WAL and become durable at Sync() or a clean close, not one by one. A
  // crash in between loses the appends since the last Sync and leaves the log
  // a prefix of its appends; the next open then rebuilds the incidents index
  // from the log (a marker kept with WAL records that a load was under way).
  // A follower sees bulk appends only once they are flushed.
  bool bulk_load = false;
  // Told, before a long one-time job on open (re-indexing a log of an older
  // format: minutes for a year at scale 1.0), what it is. Unset: nothing.
  std::function<void(std::string_view)> notice;
  // Open read-only beside the process that has the log open, following its
  // appends (a RocksDB secondary instance; readers wake on inotify events of
  // the directory, no sleep-polling). Appends, Head and ReadIncident answer
  // kFailedPrecondition: history by id needs the writer's index.
  bool follower = false;
};

class EmbeddedLog final : public EventLog {
 public:
  // Opens (or creates) the log in `dir`. kBusy when another process has it
  // open; kInvalidArgument for a partition mismatch; kCorruption or kIOError
  // from RocksDB.
  static Result<std::unique_ptr<EmbeddedLog>> Open(const std::string& dir,
                                                   const EmbeddedLogOptions& options = {});
  ~EmbeddedLog() override;

  int32_t partitions() const override;
  Result<std::vector<Position>> Append(std::span<const EncodedEvent> events) override;
  Result<std::vector<int64_t>> EndOffsets() override;
  Status Sync() override;
  Result<IncidentHead> Head(std::string_view incident_id) override;
  Result<std::vector<LogRecord>> ReadIncident(std::string_view incident_id) override;
  Result<std::unique_ptr<LogReader>> NewReader(const ReaderOptions& options) override;
  Result<std::vector<LogRecord>> ReadAt(std::span<const Position> positions) override;
  bool KeepsHeads() const override { return true; }
  bool TotallyOrdered() const override { return true; }
  bool IndexesIncidents() const override { return true; }

  // Wakes blocked readers with kUnavailable and refuses further appends.
  void Close();

  struct Impl;

 private:
  explicit EmbeddedLog(std::shared_ptr<Impl> impl);
  static Result<std::unique_ptr<EmbeddedLog>> OpenFollower(
      std::shared_ptr<Impl> impl, const std::string& dir, const rocksdb::DBOptions& options,
      const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs);
  std::shared_ptr<Impl> impl_;
};

}  // namespace blotter
