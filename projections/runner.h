#pragma once

// The projection runner: consumes the log from the store's checkpoints and
// applies events in batches. Each batch's view changes, incident states,
// dead letters and new checkpoints go into one RocksDB WriteBatch (WAL on), so
// after a crash at any instant the store is exactly as it was at some
// checkpoint and the runner resumes from there: each event's effect is
// applied exactly once. No consumer-group offset is its truth.
//
// Checkpoints are per partition and live in the same store as the view data
// of that partition, so whoever owns a partition next resumes from them.
//
// What cannot be applied — bytes that do not decode, a sequence gap or
// repeat, a broken hash chain, an event the aggregate's rules refuse — goes to
// the dead-letter column family with its position and reason, is counted and
// logged once, and the runner carries on.
//
// Not thread-safe; one runner per store.

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "events/event_log.h"
#include "events/string_map.h"
#include "projections/store.h"
#include "projections/view.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace blotter::projections {

struct RunnerOptions {
  // Events read and committed per batch.
  size_t batch_events = 20000;
  // Stop at the end offsets read at the start (for scripts and tests).
  bool until_caught_up = false;
  // Partitions this runner owns; empty: all.
  std::vector<int32_t> partitions;
  // Kafka: share the partitions with the other instances of this consumer
  // group; each partition it is given resumes from this store's checkpoint
  // (0 for one it never had, so it replays that partition's history into its
  // own store). Live mode only.
  std::string group;
  // A store opened for bulk catch-up (ViewStore::Access::kBulk) has no WAL:
  // make progress durable at least every this many events.
  uint64_t bulk_persist_events = 2'000'000;
  // Called after each committed batch (events applied so far, dead letters).
  std::function<void(uint64_t applied, uint64_t dead)> on_batch;
};

struct RunStats {
  uint64_t applied = 0;
  uint64_t dead_letters = 0;
  uint64_t batches = 0;
};

class Runner {
 public:
  // `log` and `store` must outlive the runner.
  Runner(EventLog* log, ViewStore* store, std::vector<std::unique_ptr<View>> views,
         RunnerOptions options);
  ~Runner();

  // Applies events until caught up (with until_caught_up), until *stop turns
  // true, or until an error that is not the events' fault (I/O).
  Result<RunStats> Run(const std::atomic<bool>* stop = nullptr);

 private:
  // Applies `records` (errors[i]: why record i does not decode, or empty) and
  // commits them with the reader's `positions`.
  Status ApplyBatch(std::vector<LogRecord>& records, const std::vector<std::string>& errors,
                    const std::vector<Position>& positions, RunStats* stats);

  // Each incident the batch touches: its state before the batch, and now.
  struct Touched;
  // Fills touched_ (and by_id_, record_touched_) with the incidents of `records`' good
  // events, read from the store in one sorted MultiGet.
  Status LoadTouched(const std::vector<LogRecord>& records, const std::vector<std::string>& errors);

  EventLog* log_;
  ViewStore* store_;
  std::vector<std::unique_ptr<View>> views_;
  RunnerOptions options_;
  uint64_t dead_total_ = 0;
  uint64_t since_persist_ = 0;
  // The write batch ApplyBatch fills, reused (cleared) while it has room.
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  size_t batch_room_ = 0;
  // Kept from batch to batch so that their memory is reused. by_id_'s keys
  // point into the batch's records.
  std::vector<Touched> touched_;
  size_t touched_count_ = 0;
  std::vector<uint32_t> key_order_;                             // touched_ indexes in key order
  std::vector<std::pair<std::string_view, uint32_t>> sorting_;  // LoadTouched's, kept
  std::string state_bytes_;               // ApplyBatch's encoded state, kept for its buffer
  std::vector<uint32_t> record_touched_;  // record i's incident: touched_[record_touched_[i]]
  absl::flat_hash_map<std::string_view, uint32_t, StringHash> by_id_;
};

// The views by name ("incidents", "history", "stats", "links");
// kInvalidArgument for an unknown name. Empty `names`: all of them.
Result<std::vector<std::unique_ptr<View>>> MakeViews(ViewStore* store,
                                                     const std::vector<std::string>& names);

// The views to run on, or report from, `store`: `requested` when not empty;
// else the ones its first run recorded; else (a store built before views
// were recorded) all four if it has checkpoints; else, for a new store, the
// defaults for `log` (nullptr: all four). The defaults leave out history when
// the log reads an incident through an index of its own (the embedded log):
// there the log already is (incident id, sequence) -> event, and a history
// view would be a second copy of every event on the same disk that nothing
// reads. `blotter project --views history` still builds one. Runner::Run
// refuses a store recorded with other views (kFailedPrecondition).
Result<std::vector<std::string>> ChooseViews(const ViewStore& store, const EventLog* log,
                                             const std::vector<std::string>& requested);

}  // namespace blotter::projections
