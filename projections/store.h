#pragma once

// The view store: one RocksDB that holds every view's column families, the
// runner's per-partition checkpoints and the dead letters, so that a batch's
// view changes and its checkpoints commit in one WriteBatch. After a crash the
// store is exactly as it was at some checkpoint.
//
// Column families:
//   default         checkpoint/<partition u32 BE> -> next offset; counters;
//                   "format" -> kFormat; "views" -> the views, comma-separated
//   incidents       IncidentKey(id) (events/incident_key.h) -> state record
//                   (state_codec.h)
//   incident_index  secondary indexes of the incidents view: by subtype and
//                   region (incidents_view.h)
//   incident_index_b  open by status
//   incident_index_c  by unit
//   history         [IncidentKey(id)][0x00][first sequence u64 BE] -> where that
//                   event and the incident's next ones applied in the same
//                   batch are in the log (history_view.h)
//   stats           counter key -> int64 LE (merged by addition)
//   dead_letters    [partition u32 BE][offset u64 BE] -> reason, then the raw bytes
//   links           serial-case links (linker/links_view.h)
//
// One process at a time writes a store (RocksDB's lock); queries read it
// beside the writer as a secondary instance.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "events/incident_key.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace blotter::projections {

enum class Cf {
  kMeta = 0,
  kIncidents,
  kIncidentIndex,
  kHistory,
  kStats,
  kDeadLetters,
  kLinks,
  kIncidentIndexB,
  kIncidentIndexC,
  kCount
};
const char* CfName(Cf cf);

class ViewStore {
 public:
  enum class Access {
    // The runner's normal mode: every batch goes through the WAL.
    kWrite,
    // Catch-up mode for a store far behind the log (a rebuild): no WAL,
    // write-only column families in memtables that append and sort at flush
    // (all but history left uncompacted until FinishBulk()), and atomic flushes of all
    // column families. What survives a crash is still exactly some
    // checkpoint; progress becomes durable at each flush (Persist(), and
    // whenever a memtable fills). Queries opened beside it see the last flush.
    kBulk,
    // A query's view beside a writer (a RocksDB secondary instance).
    kRead,
  };
  // Opens the store in `dir`, creating it unless `access` is kRead. kWrite
  // first compacts what a catch-up stopped before FinishBulk() left behind
  // (which can take a while on a large store). `notice`, if set, is told
  // before each such compaction (here and in FinishBulk) what it is.
  static Result<std::unique_ptr<ViewStore>> Open(const std::string& dir,
                                                 Access access = Access::kWrite,
                                                 std::function<void(std::string_view)> notice = {});
  ~ViewStore();

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Cf which) const { return cfs_[static_cast<int>(which)]; }

  // partition -> next offset to apply.
  Result<std::map<int32_t, int64_t>> Checkpoints() const;
  Result<uint64_t> DeadLetterCount() const;
  // The views this store holds, as the first run on it recorded them
  // (RecordViews); empty when none are recorded.
  Result<std::vector<std::string>> Views() const;
  // Records `names` as the store's views (Runner::Run, on a store with none).
  Status RecordViews(const std::vector<std::string>& names);

  // How the runner commits a batch (no WAL in kBulk).
  bool bulk() const { return access_ == Access::kBulk; }
  // Makes everything written so far durable (kBulk: an atomic flush of every
  // column family; kWrite: nothing to do, the WAL has it).
  Status Persist();
  // Ends a catch-up (kBulk): Persist(), then compacts the column families
  // that were left uncompacted while it ran. Takes a while on a large store;
  // queries opened beside it keep answering meanwhile.
  Status FinishBulk();
  // Hex SHA-256 over every key and value of the column families, in order
  // (stats counters at zero count as absent).
  Result<std::string> Digest(const std::vector<Cf>& cfs) const;

  // The layout this build writes (the "format" key of the default column
  // family). A store of another format is refused: rebuild it. Format 4
  // differs only in history's records, so a format-4 store without history
  // is read, and marked 5 when opened for writing.
  static constexpr int64_t kFormat = 5;

  static std::string CheckpointKey(int32_t partition);
  static std::string DeadLetterKey(Position p);
  static constexpr char kDeadLetterCountKey[] = "dead-letter-count";
  static constexpr char kViewsKey[] = "views";

 private:
  ViewStore() = default;
  // Compacts each column family a catch-up leaves uncompacted that has more
  // level-0 files than a store compacting as it goes would keep.
  Status CompactOwed();
  // Refuses a store of another format; marks a new one with kFormat.
  Status CheckFormat(const std::string& dir);
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  std::string secondary_dir_;
  Access access_ = Access::kWrite;
  std::function<void(std::string_view)> notice_;
};

// A SHA-256 over a stream of (key, value) pairs, length-prefixed so that no
// two streams hash alike. What --digest prints.
class Digester {
 public:
  Digester();
  void Add(std::string_view key, std::string_view value);
  // Ends a section (one column family) named `name`.
  void EndSection(std::string_view name);
  // Hex, after the last section.
  std::string Hex() const;

 private:
  std::string running_;
  std::string chunk_;
};

// An int64 as the stats counters store it (8 bytes little-endian).
std::string EncodeCounter(int64_t v);
int64_t DecodeCounter(std::string_view bytes);

}  // namespace blotter::projections
