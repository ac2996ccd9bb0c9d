#include "projections/store.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_partitioner.h>
#include <rocksdb/table.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>

#include "events/codec.h"
#include "events/hash_chain.h"
#include "events/position_entry.h"
#include "events/table_options.h"
#include "projections/bulk_memtable.h"

namespace blotter::projections {
namespace {

constexpr const char* kCfNames[] = {
    "default",      "incidents", "incident_index",   "history",         "stats",
    "dead_letters", "links",     "incident_index_b", "incident_index_c"};

// Adds int64 counters, so a batch can add to a counter without reading it.
class AddInt64 final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    const int64_t sum = (existing ? DecodeCounter(existing->ToStringView()) : 0) +
                        DecodeCounter(value.ToStringView());
    *new_value = EncodeCounter(sum);
    return true;
  }
  const char* Name() const override { return "blotter.AddInt64"; }
};

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(fmt::format("{}: {}", what, s.ToString()));
  return Status::IOError(fmt::format("{}: {}", what, s.ToString()));
}

// The column families a catch-up only writes (the runner reads incident
// states and its checkpoints, nothing else).
bool IsWriteOnlyInBulk(Cf cf) { return cf != Cf::kIncidents && cf != Cf::kMeta; }

// The write-only column families a catch-up compacts once, at its end. Not
// history: keyed day-first (IncidentKey), each flush overlaps only the last
// days, so compacting as it goes rewrites little, beside the runner instead
// of after it.
bool IsCompactedAtEndOfBulk(Cf cf) { return IsWriteOnlyInBulk(cf) && cf != Cf::kHistory; }

// Level-0 files a store that compacts as it goes may keep: a catch-up that
// ends with no more owes no compaction.
constexpr int kLevel0FilesOwedAbove = 8;

}  // namespace

const char* CfName(Cf cf) { return kCfNames[static_cast<int>(cf)]; }

std::string EncodeCounter(int64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
  return out;
}

int64_t DecodeCounter(std::string_view b) {
  if (b.size() != 8) return 0;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return static_cast<int64_t>(v);
}

std::string ViewStore::CheckpointKey(int32_t partition) {
  std::string k = "checkpoint/";
  PutBE(&k, static_cast<uint32_t>(partition), 4);
  return k;
}

std::string ViewStore::DeadLetterKey(Position p) {
  std::string k;
  PutBE(&k, static_cast<uint32_t>(p.partition), 4);
  PutBE(&k, static_cast<uint64_t>(p.offset), 8);
  return k;
}

ViewStore::~ViewStore() {
  if (bulk()) Persist().IgnoreError();
  for (auto* h : cfs_) {
    if (h) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  if (db_) db_->Close().PermitUncheckedError();
  db_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);
  }
}

Result<std::unique_ptr<ViewStore>> ViewStore::Open(const std::string& dir, Access access,
                                                   std::function<void(std::string_view)> notice) {
  namespace fs = std::filesystem;
  const bool read_only = access == Access::kRead;
  const bool bulk = access == Access::kBulk;
  std::error_code ec;
  if (read_only && !fs::exists(fs::path(dir) / "CURRENT", ec)) {
    return Status::NotFound(fmt::format("no views in {} (run blotter project first)", dir));
  }
  if (!read_only) fs::create_directories(dir, ec);
  std::unique_ptr<ViewStore> store(new ViewStore());
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !read_only;
  db_options.create_missing_column_families = !read_only;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.listeners.push_back(PerfCountersOffListener());
  if (bulk) {
    // With no WAL, only flushes that take every column family at once keep
    // the checkpoints and the view data they describe together.
    db_options.atomic_flush = true;
    db_options.allow_concurrent_memtable_write = false;  // vector memtables
    // FinishBulk's compactions run side by side (one flush, three
    // compactions: the index's three parts).
    db_options.max_background_jobs = 4;
  }
  // Index and filter blocks live in one bounded cache, so memory does not
  // grow with the views' size. Bloom filters only where something asks for a
  // key (Get): history, indexes and stats are read by range, which they do
  // not serve.
  const rocksdb::BlockBasedTableOptions plain = BoundedTableOptions(64 << 20);
  const rocksdb::BlockBasedTableOptions bloom = WithBloomFilter(plain);
  // A catch-up's level-0 files of column families compacted at its end pile
  // up until FinishBulk: pinning their index blocks would grow memory with
  // the log.
  rocksdb::BlockBasedTableOptions unpinned = plain;
  unpinned.pin_l0_filter_and_index_blocks_in_cache = false;
  // Incident states in blocks of 16 KiB, not 4: compressed once each (their
  // keys are day-first, so compactions rarely rewrite them), and a bigger
  // block compresses better and for less. 10M rebuild: 0.3 CPU-s less
  // compaction, 197 -> 189 MB of views.
  rocksdb::BlockBasedTableOptions states = bloom;
  states.block_size = 16 << 10;
  // One filter block per file, not partitions: the files are 8 MiB at most
  // (a filter of some 60 KiB, still held in the bounded cache), and the
  // runner's sorted MultiGet then probes each file's filter once per batch
  // of keys rather than a partition per key. 1M rebuild under callgrind:
  // MultiGet 704M -> 305M instructions.
  states.partition_filters = false;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    const Cf c = static_cast<Cf>(i);
    rocksdb::ColumnFamilyOptions o;
    o.write_buffer_size = 32 << 20;
    const rocksdb::BlockBasedTableOptions* table = &plain;
    if (c == Cf::kIncidents) {
      table = &states;
    } else if (c == Cf::kLinks || c == Cf::kMeta) {
      table = &bloom;  // point lookups
    } else if (bulk && IsCompactedAtEndOfBulk(c)) {
      table = &unpinned;
    }
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(*table));
    if (c == Cf::kStats) o.merge_operator = std::make_shared<AddInt64>();
    if (c == Cf::kIncidents) {
      // A rebuild mostly asks for incidents not there yet: answer "no" from a
      // bloom filter, memtable included.
      o.memtable_whole_key_filtering = true;
      o.memtable_prefix_bloom_size_ratio = 0.05;
      if (bulk) {
        // In a catch-up its filling memtable starts every (atomic) flush: a
        // small one keeps its skip list cheap to search and insert into, and
        // spreads the flushes of the other memtables over the run instead of
        // leaving most of them to its end. 1M-event rebuild: 1.34-1.42 s at
        // 8 and 16 MiB, 1.56-1.61 at 32, 1.79 at 64, 1.59-1.66 at 4.
        o.write_buffer_size = 8 << 20;
        // Those small files merged 12 at a time rather than 4: each merge
        // rewrites the recent days below it. 10M rebuild: 15.4-15.8 s instead
        // of 17.4-17.5 s (16: 15.9 s; 24 passes the write slowdown at 20).
        o.level0_file_num_compaction_trigger = 12;
        // A batch's states go in in key order, but from Kafka a batch holds
        // each partition's stretch of the log, so its days lie apart: one
        // insert position kept per day (partially repaired when it goes
        // stale) instead of one, which a jump sends back to the top of the
        // skip list. 10M Kafka rebuild: the runner's skip list and key
        // comparison samples 249 -> 184 of about 1,100; the embedded log's
        // the same.
        o.memtable_insert_with_hint_prefix_extractor.reset(
            rocksdb::NewFixedPrefixTransform(kIncidentKeyDayPrefix));
      }
    }
    if (c == Cf::kIncidents || c == Cf::kHistory) {
      // Keyed day-first (IncidentKey): files cut at each day, 8 MiB at most,
      // so a compaction rewrites the files of the days it brings, not one
      // 64 MiB file from the first day on (the event log's index does the
      // same). 10M rebuild, three views: their compactions read 6.3M
      // entries, rewriting the whole last level each time, then 3.6M; all
      // compactions 5.8 -> 4.8 CPU-s.
      o.sst_partitioner_factory =
          rocksdb::NewSstPartitionerFixedPrefixFactory(kIncidentKeyDayPrefix);
      o.target_file_size_base = 8 << 20;
    }
    if (c == Cf::kHistory) {
      o.compression = rocksdb::kLZ4Compression;
      // Merged 12 level-0 files at a time in a catch-up, as incidents: a 10M
      // Kafka rebuild read 6.4M history records in its compactions (3.7
      // CPU-s) at 4, 2.7M (1.5 CPU-s) at 12; 15.3-15.6 s -> 14.3 s.
      if (bulk) o.level0_file_num_compaction_trigger = 12;
    }
    if (bulk) {
      // A catch-up's level-0 files are merged again soon (incidents,
      // history) or at its end (the rest): compressing them is work thrown
      // away. 10M rebuild: 14.8-15.0 s, 24.5 CPU-s instead of 15.3-15.5 s,
      // 25.6-25.9.
      o.compression_per_level.assign(o.num_levels, o.compression);
      o.compression_per_level[0] = rocksdb::kNoCompression;
    }
    // Levels sized from the bottom up: a store compacted once holds its data
    // in the last level, not in an overfull first one that is rewritten again.
    o.level_compaction_dynamic_level_bytes = true;
    if (bulk && IsWriteOnlyInBulk(c)) {
      // Written, never read, during a catch-up: appending beats a skip list
      // insert on the runner's thread, and the sort moves to the flush thread
      // (bulk_memtable.h: RocksDB's VectorRep sorted with std::sort through
      // its comparator, a tenth of a catch-up's instructions).
      o.memtable_factory = NewBulkMemTableFactory();
      o.write_buffer_size = 128 << 20;
    }
    if (bulk && IsCompactedAtEndOfBulk(c)) {
      // Compacted once, at the end (FinishBulk), instead of level by level
      // all along: their keys lead with a category, a unit or a day
      // counter, so every flush overlaps every file below it.
      o.disable_auto_compactions = true;
    }
    cfs.emplace_back(kCfNames[i], o);
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (!read_only) {
    s = rocksdb::DB::Open(db_options, dir, cfs, &store->cfs_, &raw);
    if (!s.ok() && s.ToString().find("LOCK") != std::string::npos) {
      return Status::Busy(
          fmt::format("views in {} are being written by another blotter process", dir));
    }
  } else {
    db_options.max_open_files = -1;
    std::string tmpl = (fs::temp_directory_path() / "blotter-views-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return Status::IOError("cannot make a temporary directory");
    store->secondary_dir_ = tmpl;
    s = rocksdb::DB::OpenAsSecondary(db_options, dir, tmpl, cfs, &store->cfs_, &raw);
    if (s.ok()) {
      store->db_.reset(raw);
      raw = nullptr;
      BLOTTER_RETURN_IF_ERROR(FromRocks(store->db_->TryCatchUpWithPrimary(), "read views"));
    }
  }
  if (!s.ok()) return FromRocks(s, fmt::format("open views {}", dir));
  if (raw) store->db_.reset(raw);
  store->access_ = access;
  store->notice_ = std::move(notice);
  BLOTTER_RETURN_IF_ERROR(store->CheckFormat(dir));
  // A catch-up stopped before its end (FinishBulk) leaves its level-0 pile:
  // compact it now rather than stall the first live writes behind it.
  if (access == Access::kWrite) BLOTTER_RETURN_IF_ERROR(store->CompactOwed());
  return store;
}

Status ViewStore::CheckFormat(const std::string& dir) {
  constexpr char kFormatKey[] = "format";
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kMeta), kFormatKey, &v);
  if (s.ok() && DecodeCounter(v) == kFormat) return Status::Ok();
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read views format");
  if (s.ok() && DecodeCounter(v) == 4) {
    // Format 5 changed only history's records (positions, not events): a
    // format-4 store without them reads as it is.
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf(Cf::kHistory)));
    it->SeekToFirst();
    BLOTTER_RETURN_IF_ERROR(FromRocks(it->status(), "read views"));
    if (!it->Valid()) {
      if (access_ == Access::kRead) return Status::Ok();
      return FromRocks(
          db_->Put(rocksdb::WriteOptions(), cf(Cf::kMeta), kFormatKey, EncodeCounter(kFormat)),
          "write views format");
    }
  }
  BLOTTER_ASSIGN_OR_RETURN(auto checkpoints, Checkpoints());
  if (s.ok() || !checkpoints.empty()) {
    return Status::FailedPrecondition(fmt::format(
        "views in {} were built by another version of blotter (format {}, this one reads {}): "
        "rebuild them with blotter project --rebuild",
        dir, s.ok() ? DecodeCounter(v) : 1, kFormat));
  }
  if (access_ == Access::kRead) return Status::Ok();  // nothing built yet
  return FromRocks(
      db_->Put(rocksdb::WriteOptions(), cf(Cf::kMeta), kFormatKey, EncodeCounter(kFormat)),
      "write views format");
}

Status ViewStore::Persist() {
  if (!bulk()) return Status::Ok();
  rocksdb::FlushOptions fo;
  fo.allow_write_stall = true;
  return FromRocks(db_->Flush(fo, cfs_), "flush views");
}

Status ViewStore::FinishBulk() {
  BLOTTER_RETURN_IF_ERROR(Persist());
  if (!bulk()) return Status::Ok();
  return CompactOwed();
}

Status ViewStore::CompactOwed() {
  std::vector<Cf> owed;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    const Cf c = static_cast<Cf>(i);
    std::string files;
    if (IsCompactedAtEndOfBulk(c) &&
        db_->GetProperty(cf(c), rocksdb::DB::Properties::kNumFilesAtLevelPrefix + std::string("0"),
                         &files) &&
        std::stoi(files) > kLevel0FilesOwedAbove) {
      owed.push_back(c);
    }
  }
  if (!owed.empty() && notice_) {
    std::vector<std::string> names;
    for (Cf c : owed) names.emplace_back(CfName(c));
    notice_(fmt::format("compacting {} once, after the catch-up", fmt::join(names, ", ")));
  }
  // One compaction cannot be split here (every level-0 file spans all the
  // keys), so the column families compact side by side, each on a thread of
  // its own (the index's three parts are by far the largest).
  std::vector<Status> done(owed.size(), Status::Ok());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < owed.size(); ++i) {
    threads.emplace_back([this, &owed, &done, i] {
      rocksdb::CompactRangeOptions co;
      co.exclusive_manual_compaction = false;
      done[i] = FromRocks(db_->CompactRange(co, cf(owed[i]), nullptr, nullptr),
                          fmt::format("compact {}", CfName(owed[i])));
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : done) BLOTTER_RETURN_IF_ERROR(s);
  return Status::Ok();
}

Result<std::map<int32_t, int64_t>> ViewStore::Checkpoints() const {
  std::map<int32_t, int64_t> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(Cf::kMeta)));
  const std::string prefix = "checkpoint/";
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view k = it->key().ToStringView().substr(prefix.size());
    if (k.size() != 4) continue;
    int32_t p = 0;
    for (char c : k) p = (p << 8) | static_cast<uint8_t>(c);
    out[p] = DecodeCounter(it->value().ToStringView());
  }
  BLOTTER_RETURN_IF_ERROR(FromRocks(it->status(), "read checkpoints"));
  return out;
}

Result<uint64_t> ViewStore::DeadLetterCount() const {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kMeta), kDeadLetterCountKey, &v);
  if (s.IsNotFound()) return uint64_t{0};
  BLOTTER_RETURN_IF_ERROR(FromRocks(s, "read dead-letter count"));
  return static_cast<uint64_t>(DecodeCounter(v));
}

Result<std::vector<std::string>> ViewStore::Views() const {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kMeta), kViewsKey, &v);
  std::vector<std::string> out;
  if (s.IsNotFound()) return out;
  BLOTTER_RETURN_IF_ERROR(FromRocks(s, "read the views of the store"));
  for (size_t at = 0; at <= v.size();) {
    size_t comma = std::min(v.find(',', at), v.size());
    if (comma > at) out.push_back(v.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

Status ViewStore::RecordViews(const std::vector<std::string>& names) {
  return FromRocks(db_->Put(rocksdb::WriteOptions(), cf(Cf::kMeta), kViewsKey,
                            fmt::format("{}", fmt::join(names, ","))),
                   "record the views of the store");
}

Digester::Digester() : running_(Sha256("")) {}

void Digester::Add(std::string_view key, std::string_view value) {
  PutBE(&chunk_, key.size(), 4);
  chunk_.append(key);
  PutBE(&chunk_, value.size(), 4);
  chunk_.append(value);
  if (chunk_.size() > (1 << 20)) {
    running_ = Sha256(running_ + chunk_);
    chunk_.clear();
  }
}

void Digester::EndSection(std::string_view name) {
  running_ = Sha256(running_ + std::string(name) + chunk_);
  chunk_.clear();
}

std::string Digester::Hex() const { return ToHex(running_); }

Result<std::string> ViewStore::Digest(const std::vector<Cf>& which) const {
  Digester d;
  for (Cf c : which) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(c)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto v = it->value().ToStringView();
      // A counter back at zero is as good as none (how a batch spanned the
      // changes decides whether it was written).
      if (c == Cf::kStats && DecodeCounter(v) == 0) continue;
      d.Add(it->key().ToStringView(), v);
    }
    BLOTTER_RETURN_IF_ERROR(FromRocks(it->status(), "read views for digest"));
    d.EndSection(CfName(c));
  }
  return d.Hex();
}

}  // namespace blotter::projections
