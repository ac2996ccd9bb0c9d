#include "events/embedded_log.h"

#include <fmt/format.h>
#include <poll.h>
#include <rocksdb/db.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_partitioner.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "events/group_commit.h"
#include "events/hash_chain.h"
#include "events/head_tracker.h"
#include "events/incident_key.h"
#include "events/position_entry.h"
#include "events/table_options.h"

namespace blotter {
namespace {

constexpr char kFormatKey[] = "format";
constexpr char kPartitionsKey[] = "partitions";
// Present while a bulk load's appends are not all flushed (written with WAL
// before its first append, deleted once they are): its index may then hold
// entries of appends the crash lost, so the next open rebuilds it.
constexpr char kBulkLoadKey[] = "bulk-load-unfinished";
// 2: index keys lead with IncidentKey(id) (day first) instead of the id. A
// log of format 1 is re-indexed on open (the log itself is unchanged).
// 3: index values keep 8 bytes of the event's hash instead of all 32 (a
// head's hash is read from its event, and checked against them). Format 2's
// values begin the same way, so a log of format 2 is only marked 3 on open:
// older blotters then refuse it.
// 4: an index value holds the entries of a run of an incident's events (those
// one write of the index took, sequence after sequence), under the first
// one's key: about a third as many records to insert, sort and compact as one
// per event. A value of one entry is format 3's, so logs of formats 2 and 3
// are only marked 4 on open.
constexpr char kFormatVersion[] = "4";
constexpr char kFormatVersionPerEventIndex[] = "3";
constexpr char kFormatVersionHashedIndex[] = "2";
constexpr char kFormatVersionIdIndex[] = "1";
constexpr int32_t kDefaultPartitions = 8;

enum Cf { kDefaultCf = 0, kLogCf, kIncidentsCf, kCfCount };
constexpr const char* kCfNames[] = {"default", "log", "incidents"};
constexpr size_t kIndexValueSizeFormat2 = 4 + 8 + kHashSize;

// Log keys are the offset alone: appends land in key order, as in a plain
// append-only file, whatever partition they belong to.
std::string LogKey(int64_t offset) {
  std::string k;
  k.reserve(8);
  PutBE(&k, static_cast<uint64_t>(offset), 8);
  return k;
}

// Log values are [partition u32 BE][event bytes].
constexpr size_t kLogValuePrefix = 4;
// A reader's scan of at least this many entries reads ahead this far.
constexpr int64_t kReadAheadFrom = 1000;
constexpr size_t kReadAheadBytes = 1 << 20;
// A log entry's bytes in a write batch beside its event's: the record tag,
// column family id, two varint lengths, the key and the value prefix.
constexpr size_t kLogEntryOverhead = 1 + 5 + 5 + 5 + 8 + kLogValuePrefix;

// An index value is one or more position entries (events/position_entry.h),
// for the events from its key's sequence on (format 2: one entry with all 32
// bytes of the hash).

// How many entries an index value holds; 0 if it is not one.
size_t IndexEntries(std::string_view v) {
  if (v.size() == kIndexValueSizeFormat2) return 1;
  return v.size() % kPositionEntrySize == 0 ? v.size() / kPositionEntrySize : 0;
}

// Entry i of an index value that holds more than i.
std::string_view IndexValueEntry(std::string_view v, size_t i) {
  if (v.size() == kIndexValueSizeFormat2) return v;
  return v.substr(i * kPositionEntrySize, kPositionEntrySize);
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  const std::string m = fmt::format("{}: {}", what, s.ToString());
  if (s.IsCorruption()) return Status::Corruption(m);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return Status::Unavailable(m);
  return Status::IOError(m);
}

}  // namespace

struct EmbeddedLog::Impl {
  std::string dir;
  EmbeddedLogOptions options;
  std::unique_ptr<GroupCommitter> committer;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cf;
  int32_t partitions = 0;

  std::mutex mu;
  int64_t end = 0;          // next offset, published; guarded by mu
  uint64_t generation = 0;  // bumped on every publish; guarded by mu
  bool closed = false;      // guarded by mu

  // Follower mode: a secondary instance, woken by inotify.
  bool follower = false;
  std::string secondary_dir;
  int inotify_fd = -1;

  // Catches up with the primary and publishes any new end.
  Status CatchUp() {
    BLOTTER_RETURN_IF_ERROR(FromRocks(db->TryCatchUpWithPrimary(), "follow event log"));
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[kLogCf]));
    it->SeekToLast();
    BLOTTER_RETURN_IF_ERROR(FromRocks(it->status(), "follow event log"));
    const int64_t last =
        it->Valid() ? static_cast<int64_t>(GetBE(it->key().ToStringView(), 0, 8)) + 1 : 0;
    std::lock_guard l(mu);
    if (last > end) {
      end = last;
      ++generation;
    }
    return Status::Ok();
  }

  // Follower: waits until the directory changes or the deadline, then catches up.
  Status WaitForPrimary(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{inotify_fd, POLLIN, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n > 0) {
      char buf[4096];
      while (::read(inotify_fd, buf, sizeof buf) > 0) {
      }
    }
    return CatchUp();
  }
  std::condition_variable readers_cv;

  // Bulk loading: whether kBulkLoadKey is written. Commit and Sync hold
  // bulk_mu throughout, so a Sync never clears the marker while an append it
  // did not flush is under way.
  std::mutex bulk_mu;
  bool bulk_marked = false;  // guarded by bulk_mu

  Status SyncBulk() {
    std::lock_guard l(bulk_mu);
    if (!bulk_marked) return Status::Ok();
    rocksdb::FlushOptions fo;
    fo.wait = true;
    // The log alone: the index is derived from it, and on open whatever the
    // index lacks is indexed again.
    BLOTTER_RETURN_IF_ERROR(FromRocks(db->Flush(fo, cf[kLogCf]), "flush event log"));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    BLOTTER_RETURN_IF_ERROR(
        FromRocks(db->Delete(wo, cf[kDefaultCf], kBulkLoadKey), "mark the bulk load flushed"));
    bulk_marked = false;
    return Status::Ok();
  }

  // Used only by the group leader, one at a time (ordered through mu). Holds
  // every incident with events not yet indexed, so validation never needs
  // the index for them.
  HeadTracker head_cache;

  // The incidents index is written behind the log by the indexer thread, so
  // an append costs one synced write to the log alone. The log is the truth:
  // on open, whatever the index lacks is indexed again from the log.
  struct IndexEntry {
    std::string id;
    uint64_t sequence;
    Position position;
    std::array<char, kWitnessSize> witness;  // the hash's first bytes
  };
  std::mutex index_mu;
  std::condition_variable index_cv;
  std::deque<IndexEntry> index_queue;  // guarded by index_mu, in log order
  int64_t indexed_through = 0;         // guarded by index_mu
  bool index_stopping = false;         // guarded by index_mu
  Status index_status;                 // guarded by index_mu
  std::thread indexer;
  static constexpr size_t kMaxIndexQueue = 1 << 20;

  void StopIndexer() {
    {
      std::lock_guard l(index_mu);
      index_stopping = true;
    }
    index_cv.notify_all();
    if (indexer.joinable()) indexer.join();
  }

  // Kept in the index's own column family, so a crash loses markers and
  // entries together. 0xff never begins a UTF-8 incident id.
  static std::string IndexedKey() {
    return "\xff"
           "indexed-through";
  }

  Status WriteIndex(const std::vector<IndexEntry>& entries) {
    // In key order: each memtable insert then starts its search where the
    // previous one ended, instead of from the top of the skip list.
    // The keys side by side in one buffer, not a string each.
    struct Keyed {
      uint32_t at, size;
      const IndexEntry* entry;
    };
    thread_local std::string keys;
    thread_local std::vector<Keyed> keyed;
    keys.clear();
    keyed.clear();
    int64_t through = 0;
    for (const auto& e : entries) {
      const size_t at = keys.size();
      AppendIncidentKey(e.id, &keys);
      keys.push_back('\0');
      PutBE(&keys, e.sequence, 8);
      keyed.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(keys.size() - at), &e});
      through = std::max(through, e.position.offset + 1);
    }
    auto key_of = [](const Keyed& k) { return std::string_view(keys).substr(k.at, k.size); };
    // Without its sequence's 8 bytes.
    auto incident_of = [&](const Keyed& k) { return key_of(k).substr(0, k.size - 8); };
    std::sort(keyed.begin(), keyed.end(),
              [&](const Keyed& a, const Keyed& b) { return key_of(a) < key_of(b); });
    rocksdb::WriteBatch b(keys.size() + entries.size() * kPositionEntrySize + 64);
    std::string value;
    // Each run of an incident's events, sequence after sequence: one record
    // under the first one's key.
    for (size_t i = 0, j; i < keyed.size(); i = j) {
      value.clear();
      uint64_t sequence = keyed[i].entry->sequence;
      for (j = i; j < keyed.size() && keyed[j].entry->sequence == sequence &&
                  incident_of(keyed[j]) == incident_of(keyed[i]);
           ++j, ++sequence) {
        const auto& witness = keyed[j].entry->witness;
        AppendPositionEntry(&value, keyed[j].entry->position,
                            std::string_view(witness.data(), witness.size()));
      }
      const std::string_view key = key_of(keyed[i]);
      b.Put(cf[kIncidentsCf], rocksdb::Slice(key.data(), key.size()), value);
    }
    b.Put(cf[kIncidentsCf], IndexedKey(), std::to_string(through));
    // No WAL: the log is the truth, and RecoverIndex redoes what a crash loses.
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;
    return FromRocks(db->Write(wo, &b), "write incident index");
  }

  void IndexerLoop() {
    PerfCountersOff();
    std::vector<IndexEntry> taken;
    while (true) {
      {
        std::unique_lock l(index_mu);
        index_cv.wait(l, [&] { return index_stopping || !index_queue.empty(); });
        if (index_queue.empty()) return;  // stopping, and drained
        const size_t n = std::min<size_t>(index_queue.size(), 65536);
        taken.assign(std::make_move_iterator(index_queue.begin()),
                     std::make_move_iterator(index_queue.begin() + n));
        index_queue.erase(index_queue.begin(), index_queue.begin() + n);
      }
      Status st = WriteIndex(taken);
      {
        std::lock_guard l(index_mu);
        if (!st.ok() && index_status.ok()) index_status = st;
        for (const auto& e : taken)
          indexed_through = std::max(indexed_through, e.position.offset + 1);
      }
      index_cv.notify_all();
    }
  }

  // Waits until the index covers every event below offset `until`.
  Status WaitIndexed(int64_t until) {
    std::unique_lock l(index_mu);
    index_cv.wait(l, [&] { return !index_status.ok() || indexed_through >= until; });
    return index_status;
  }

  Status WaitIndexedAll() {
    int64_t until;
    {
      std::lock_guard l(mu);
      until = end;
    }
    return WaitIndexed(until);
  }

  // On open: indexes the log entries the index lacks (after a crash, the
  // unsynced index writes behind the last synced append).
  Status RecoverIndex() {
    std::string v;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf[kIncidentsCf], IndexedKey(), &v);
    if (s.ok())
      indexed_through = std::stoll(v);
    else if (!s.IsNotFound())
      return FromRocks(s, "read index marker");
    if (indexed_through >= end) return Status::Ok();
    std::vector<IndexEntry> entries;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[kLogCf]));
    for (it->Seek(LogKey(indexed_through)); it->Valid(); it->Next()) {
      const std::string_view value = it->value().ToStringView();
      if (value.size() < kLogValuePrefix) continue;
      const Position pos{static_cast<int32_t>(GetBE(value, 0, 4)),
                         static_cast<int64_t>(GetBE(it->key().ToStringView(), 0, 8))};
      auto e = DecodeEvent(value.substr(kLogValuePrefix));
      if (!e.ok()) continue;  // replay --verify names it; the index skips it
      IndexEntry& entry =
          entries.emplace_back(IndexEntry{(*e)->incident_id()->str(), (*e)->sequence(), pos, {}});
      std::copy_n(reinterpret_cast<const char*>((*e)->hash()->data()), kWitnessSize,
                  entry.witness.begin());
      if (entries.size() >= 65536) {
        BLOTTER_RETURN_IF_ERROR(WriteIndex(entries));
        entries.clear();
      }
    }
    BLOTTER_RETURN_IF_ERROR(FromRocks(it->status(), "scan log for index recovery"));
    if (!entries.empty()) BLOTTER_RETURN_IF_ERROR(WriteIndex(entries));
    indexed_through = end;
    return Status::Ok();
  }

  ~Impl() {
    // An error leaves the marker, and the next open re-indexes.
    if (db && options.bulk_load && !follower) SyncBulk().IgnoreError();
    StopIndexer();
    for (auto* h : cf) {
      if (h) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    if (db) db->Close().PermitUncheckedError();
    db.reset();
    if (inotify_fd >= 0) ::close(inotify_fd);
    if (!secondary_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(secondary_dir, ec);
    }
  }

  // The last indexed event of an incident.
  Result<IncidentHead> ReadHead(std::string_view id) {
    const std::string key = IncidentKey(id);
    const std::string last = IncidentSequenceKey(id, UINT64_MAX);
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), cf[kIncidentsCf]));
    it->SeekForPrev(last);
    BLOTTER_RETURN_IF_ERROR(FromRocks(it->status(), "read incident index"));
    const std::string_view k = it->Valid() ? it->key().ToStringView() : std::string_view();
    if (k.size() != key.size() + 9 || !k.starts_with(key) || k[key.size()] != '\0') {
      return IncidentHead{0, GenesisHash()};
    }
    const std::string_view v = it->value().ToStringView();
    const size_t n = IndexEntries(v);
    if (n == 0) return Status::Corruption(fmt::format("index entry of incident {} is damaged", id));
    const uint64_t sequence = GetBE(k, key.size() + 1, 8) + n - 1;
    const std::string index_value(IndexValueEntry(v, n - 1));
    it.reset();
    std::string event;
    const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf[kLogCf],
                                      LogKey(EntryPosition(index_value).offset), &event);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read event log");
    BLOTTER_ASSIGN_OR_RETURN(std::string_view hash, HeadHash(s.ok() ? event : std::string_view(),
                                                             id, sequence, index_value));
    return IncidentHead{sequence, std::string(hash)};
  }

  // The hash of an incident's head event, from `log_value` (empty: none at
  // the index's position), checked against the index's entry for it.
  static Result<std::string_view> HeadHash(std::string_view log_value, std::string_view id,
                                           uint64_t sequence, std::string_view index_entry) {
    const Position p = EntryPosition(index_entry);
    if (log_value.empty()) {
      return Status::Corruption(fmt::format(
          "incident {}: its index records event {} at {}:{}, which the log lacks (events deleted)",
          id, sequence, p.partition, p.offset));
    }
    auto e = log_value.size() < kLogValuePrefix ? Result<const fb::Event*>(Status::Corruption(""))
                                                : DecodeEvent(log_value.substr(kLogValuePrefix));
    if (!e.ok() || (*e)->sequence() != sequence || (*e)->incident_id()->string_view() != id) {
      return Status::Corruption(fmt::format(
          "incident {}: its index records event {} at {}:{}, where the log holds something else",
          id, sequence, p.partition, p.offset));
    }
    const std::string_view hash(reinterpret_cast<const char*>((*e)->hash()->data()),
                                (*e)->hash()->size());
    if (!hash.starts_with(EntryWitness(index_entry))) {
      return Status::Corruption(
          fmt::format("incident {}: event {} does not match the hash its index recorded (altered)",
                      id, sequence));
    }
    return hash;
  }

  // One batched MultiGet of `keys` in a column family.
  struct Gotten {
    std::vector<rocksdb::PinnableSlice> values;
    std::vector<rocksdb::Status> statuses;
  };
  Gotten GetAll(Cf family, const std::vector<std::string>& keys) {
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    Gotten out{std::vector<rocksdb::PinnableSlice>(keys.size()),
               std::vector<rocksdb::Status>(keys.size())};
    db->MultiGet(rocksdb::ReadOptions(), cf[family], keys.size(), slices.data(), out.values.data(),
                 out.statuses.data());
    return out;
  }

  // Loads into head_cache the heads of the incidents a group appends to that
  // the cache lacks: for an event with sequence 1, the incident must have no
  // index record (one batched MultiGet, bloom-filtered point lookups); for
  // sequence s > 1, its last indexed event must be s-1 (a seek for its last
  // record, in key order through one iterator). Incidents where that does not
  // hold are left out; Stage then reads their true head and reports the
  // conflict. Sets `known` to each event's cached head where it has it (null
  // where not), for Stage.
  Status Prefetch(std::span<PendingAppend* const> group, std::vector<HeadTracker::Head*>* known) {
    struct Want {
      std::string_view id;
      uint64_t sequence;
      std::string key;  // sequence 1: IncidentSequenceKey(id, 1); else IncidentSequenceKey(id, max)
      size_t event;     // its index in `known`
    };
    std::vector<Want> firsts, later;
    std::unordered_set<std::string_view> seen;
    known->clear();
    for (const PendingAppend* w : group) {
      for (const EncodedEvent& e : w->events) {
        const std::string_view id = e.incident_id();
        HeadTracker::Head* head = head_cache.Find(id);
        known->push_back(head);
        if (head != nullptr || !seen.insert(id).second) continue;
        if (e.sequence() <= 1) {
          firsts.push_back(Want{id, e.sequence(), IncidentSequenceKey(id, 1), known->size() - 1});
        } else {
          later.push_back(
              Want{id, e.sequence(), IncidentSequenceKey(id, UINT64_MAX), known->size() - 1});
        }
      }
    }
    if (!firsts.empty()) {
      std::vector<std::string> keys;
      for (const Want& w : firsts) keys.push_back(w.key);
      const Gotten index = GetAll(kIncidentsCf, keys);
      for (size_t i = 0; i < firsts.size(); ++i) {
        const rocksdb::Status& at = index.statuses[i];
        if (at.ok()) continue;  // event 1 exists already: a conflict, Stage reports it
        if (!at.IsNotFound()) return FromRocks(at, "read incident index");
        (*known)[firsts[i].event] = head_cache.Set(firsts[i].id, 0, GenesisHash());
      }
    }
    if (later.empty()) return Status::Ok();
    std::sort(later.begin(), later.end(),
              [](const Want& a, const Want& b) { return a.key < b.key; });
    // The heads' hashes are in their events: then one MultiGet, in the log.
    std::vector<const Want*> found;
    std::vector<std::string> log_keys, index_entries;
    {
      std::unique_ptr<rocksdb::Iterator> it(
          db->NewIterator(rocksdb::ReadOptions(), cf[kIncidentsCf]));
      for (const Want& w : later) {
        it->SeekForPrev(w.key);
        BLOTTER_RETURN_IF_ERROR(FromRocks(it->status(), "read incident index"));
        // The incident's last record: IncidentKey(id), 0x00, its first sequence.
        const size_t id_key = w.key.size() - 8;
        const std::string_view k = it->Valid() ? it->key().ToStringView() : std::string_view();
        if (k.size() != w.key.size() || !k.starts_with(std::string_view(w.key).substr(0, id_key))) {
          continue;  // no event indexed: a gap, Stage reports it
        }
        const std::string_view v = it->value().ToStringView();
        const size_t n = IndexEntries(v);
        if (n == 0) {
          return Status::Corruption(fmt::format("index entry of incident {} is damaged", w.id));
        }
        if (GetBE(k, id_key, 8) + n - 1 != w.sequence - 1) continue;  // Stage reports it
        found.push_back(&w);
        const std::string_view entry = IndexValueEntry(v, n - 1);
        log_keys.push_back(LogKey(EntryPosition(entry).offset));
        index_entries.emplace_back(entry);
      }
    }
    if (found.empty()) return Status::Ok();
    const Gotten log = GetAll(kLogCf, log_keys);
    const std::vector<rocksdb::PinnableSlice>& events = log.values;
    const std::vector<rocksdb::Status>& log_statuses = log.statuses;
    for (size_t i = 0; i < found.size(); ++i) {
      const Want& w = *found[i];
      if (!log_statuses[i].ok() && !log_statuses[i].IsNotFound()) {
        return FromRocks(log_statuses[i], "read event log");
      }
      BLOTTER_ASSIGN_OR_RETURN(
          std::string_view hash,
          HeadHash(log_statuses[i].ok() ? events[i].ToStringView() : std::string_view(), w.id,
                   w.sequence - 1, index_entries[i]));
      (*known)[w.event] = head_cache.Set(w.id, w.sequence - 1, hash);
    }
    return Status::Ok();
  }

  // Validates one appender's events and adds them to `batch`. On error it
  // leaves batch, cache and `next` as they were.
  Status Stage(PendingAppend* w, std::span<HeadTracker::Head* const> known,
               rocksdb::WriteBatch* batch, int64_t* next, HeadTracker::Undo* undo) {
    // Prefetch saw a conflict for incidents it did not cache: report the true head.
    BLOTTER_RETURN_IF_ERROR(head_cache.Advance(
        w->events, known, [this](std::string_view id) { return ReadHead(id); }, undo));
    w->positions.reserve(w->events.size());
    for (const EncodedEvent& e : w->events) {
      const int32_t p = KafkaPartition(e.incident_id(), partitions);
      const Position pos{p, (*next)++};
      char prefix[kLogValuePrefix];
      for (size_t i = 0; i < kLogValuePrefix; ++i) {
        prefix[i] =
            static_cast<char>((static_cast<uint32_t>(p) >> (8 * (kLogValuePrefix - 1 - i))) & 0xff);
      }
      const rocksdb::Slice parts[2] = {rocksdb::Slice(prefix, kLogValuePrefix),
                                       rocksdb::Slice(e.bytes())};
      const std::string key = LogKey(pos.offset);
      const rocksdb::Slice key_slice(key);
      batch->Put(cf[kLogCf], rocksdb::SliceParts(&key_slice, 1), rocksdb::SliceParts(parts, 2));
      w->positions.push_back(pos);
    }
    return Status::Ok();
  }

  // Commits a group of appends as one synced write (the group leader only).
  void Commit(std::span<PendingAppend* const> group) {
    int64_t next;
    bool is_closed;
    {
      std::lock_guard l(mu);
      next = end;
      is_closed = closed;
    }
    if (head_cache.size() > options.head_cache_entries) {
      // Entries may go only once their incidents are indexed.
      if (WaitIndexed(next).ok()) head_cache.Clear();
    }
    // Sized up front: a large append's batch would otherwise double its way
    // to its size, copying itself each time.
    size_t bytes = 64;
    for (const PendingAppend* x : group) {
      for (const EncodedEvent& e : x->events) bytes += e.bytes().size() + kLogEntryOverhead;
    }
    rocksdb::WriteBatch batch(bytes);
    bool any = false;
    std::vector<HeadTracker::Head*> known;  // per event of the group, in order
    const Status prefetched =
        is_closed ? Status::Unavailable("event log is closed") : Prefetch(group, &known);
    HeadTracker::Undo undo;
    size_t first = 0;
    for (PendingAppend* x : group) {
      x->status = !prefetched.ok() ? prefetched
                                   : Stage(x, std::span(known).subspan(first, x->events.size()),
                                           &batch, &next, &undo);
      first += x->events.size();
      any = any || x->status.ok();
    }
    if (!any) return;
    rocksdb::WriteOptions wo;
    wo.sync = options.sync;
    std::unique_lock<std::mutex> bulk;
    Status written;
    if (options.bulk_load) {
      bulk = std::unique_lock(bulk_mu);
      if (!bulk_marked) {
        rocksdb::WriteOptions marker;
        marker.sync = true;
        written = FromRocks(db->Put(marker, cf[kDefaultCf], kBulkLoadKey, ""), "mark a bulk load");
        bulk_marked = written.ok();
      }
      wo.sync = false;
      wo.disableWAL = true;
    }
    if (written.ok()) written = FromRocks(db->Write(wo, &batch), "append to event log");
    if (!written.ok()) {
      for (PendingAppend* x : group) {
        if (x->status.ok()) x->status = written;
        x->positions.clear();
      }
      head_cache.Rollback(undo);
      return;
    }
    {
      std::unique_lock il(index_mu);
      for (const PendingAppend* x : group) {
        if (!x->status.ok()) continue;
        for (size_t i = 0; i < x->events.size(); ++i) {
          const EncodedEvent& e = x->events[i];
          IndexEntry& entry = index_queue.emplace_back(
              IndexEntry{std::string(e.incident_id()), e.sequence(), x->positions[i], {}});
          std::copy_n(e.hash().data(), kWitnessSize, entry.witness.begin());
        }
      }
      index_cv.notify_all();
      // Back-pressure: the index may lag, but not without bound.
      index_cv.wait(il, [&] { return index_queue.size() < kMaxIndexQueue || !index_status.ok(); });
    }
    std::lock_guard l(mu);
    end = next;
    ++generation;
    readers_cv.notify_all();
  }
};

EmbeddedLog::EmbeddedLog(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

EmbeddedLog::~EmbeddedLog() { Close(); }

void EmbeddedLog::Close() {
  std::lock_guard l(impl_->mu);
  impl_->closed = true;
  impl_->readers_cv.notify_all();
}

int32_t EmbeddedLog::partitions() const { return impl_->partitions; }

Result<std::unique_ptr<EmbeddedLog>> EmbeddedLog::Open(const std::string& dir,
                                                       const EmbeddedLogOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (!options.create_if_missing) {
      return Status::NotFound(fmt::format("no event log at {} (data directory missing)", dir));
    }
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError(fmt::format("cannot create {}: {}", dir, ec.message()));
  } else if (!fs::is_directory(dir, ec)) {
    return Status::InvalidArgument(fmt::format("{} is not a directory", dir));
  }
  if (!options.create_if_missing && !fs::exists(fs::path(dir) / "CURRENT", ec)) {
    return Status::NotFound(fmt::format("no event log in {}", dir));
  }

  auto impl = std::make_shared<Impl>();
  impl->dir = dir;
  impl->options = options;
  impl->committer = std::make_unique<GroupCommitter>(options.max_group_bytes);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.enable_pipelined_write = false;
  // Write SSTs out as they are built, so a WAL fsync never waits behind a
  // large flush (ext4 ordered mode).
  db_options.bytes_per_sync = 1 << 20;
  db_options.listeners.push_back(PerfCountersOffListener());
  // Index and filter blocks live in one bounded cache, so memory does not
  // grow with the log's length.
  const rocksdb::BlockBasedTableOptions plain = BoundedTableOptions(64 << 20);
  const rocksdb::BlockBasedTableOptions bloom = WithBloomFilter(plain);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (int i = 0; i < kCfCount; ++i) {
    rocksdb::ColumnFamilyOptions o;
    o.write_buffer_size = 64 << 20;
    o.compaction_style = rocksdb::kCompactionStyleUniversal;
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(plain));
    if (i == kLogCf) {
      // Read in scans, and now and then an incident's few events: 64 KiB
      // blocks compress a third better than 4 KiB ones for the same CPU.
      rocksdb::BlockBasedTableOptions log_table = plain;
      log_table.block_size = 64 << 10;
      o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(log_table));
      o.compression = rocksdb::kLZ4Compression;
      // Log keys only grow, so flushed files never overlap: compaction can
      // move them down instead of rewriting the whole log again and again.
      o.compaction_options_universal.allow_trivial_move = true;
    }
    if (i == kIncidentsCf) {
      // Keyed day-first, each flush overlaps only the last days: levels
      // sized from the bottom rewrite those, where universal compaction
      // would merge whole sorted runs again and again.
      o.compaction_style = rocksdb::kCompactionStyleLevel;
      o.level_compaction_dynamic_level_bytes = true;
      o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(bloom));
      // Most lookups ask whether a new incident exists: let a bloom filter
      // answer "no" in the memtable too.
      o.memtable_whole_key_filtering = true;
      o.memtable_prefix_bloom_size_ratio = 0.05;
      // Files cut at each day ('\x01' and the date: IncidentKey's first 9
      // bytes), 8 MiB at most, compressed alike on every level: a compaction
      // rewrites only the files around the last days' keys, and older days'
      // files move down untouched. (Compressed only in the last level, every
      // entry was rewritten to move there; uncut, the last file reached from
      // its first day to the marker key, which sorts after every entry, so
      // each move took the whole level above. A year at scale 1.0: 170.3M
      // entries compacted in 79.1 CPU-s, then 95.6M in 43.6.)
      o.compression = rocksdb::kLZ4Compression;
      o.sst_partitioner_factory =
          rocksdb::NewSstPartitionerFixedPrefixFactory(kIncidentKeyDayPrefix);
      o.target_file_size_base = 8 << 20;
    }
    cfs.emplace_back(kCfNames[i], o);
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.follower) {
    return OpenFollower(std::move(impl), dir, db_options, cfs);
  }
  s = rocksdb::DB::Open(db_options, dir, cfs, &impl->cf, &raw);
  if (!s.ok()) {
    if (s.ToString().find("LOCK") != std::string::npos) {
      return Status::Busy(fmt::format(
          "data directory {} is in use by another blotter process (its LOCK is held)", dir));
    }
    return FromRocks(s, fmt::format("open event log {}", dir));
  }
  impl->db.reset(raw);

  std::string stored;
  bool reindexed = false;  // a log of format 1, its index rebuilt
  s = impl->db->Get(rocksdb::ReadOptions(), impl->cf[kDefaultCf], kPartitionsKey, &stored);
  if (s.IsNotFound()) {
    impl->partitions = options.partitions > 0 ? options.partitions : kDefaultPartitions;
    rocksdb::WriteBatch b;
    b.Put(impl->cf[kDefaultCf], kFormatKey, kFormatVersion);
    b.Put(impl->cf[kDefaultCf], kPartitionsKey, std::to_string(impl->partitions));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    BLOTTER_RETURN_IF_ERROR(FromRocks(impl->db->Write(wo, &b), "initialise event log"));
  } else if (!s.ok()) {
    return FromRocks(s, "read event log metadata");
  } else {
    std::string format;
    BLOTTER_RETURN_IF_ERROR(
        FromRocks(impl->db->Get(rocksdb::ReadOptions(), impl->cf[kDefaultCf], kFormatKey, &format),
                  "read event log format"));
    std::string unused;
    s = impl->db->Get(rocksdb::ReadOptions(), impl->cf[kDefaultCf], kBulkLoadKey, &unused);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read event log metadata");
    const bool unfinished_bulk_load = s.ok();
    if (format == kFormatVersionIdIndex || unfinished_bulk_load) {
      // The index is derived from the log: drop it, index the log again below.
      if (options.notice) {
        options.notice(
            unfinished_bulk_load
                ? fmt::format("{}: the last bulk load did not finish: re-indexing the event log",
                              dir)
                : fmt::format("{}: re-indexing the event log for this version of blotter (format "
                              "{} -> {}), once",
                              dir, kFormatVersionIdIndex, kFormatVersion));
      }
      BLOTTER_RETURN_IF_ERROR(
          FromRocks(impl->db->DropColumnFamily(impl->cf[kIncidentsCf]), "drop old index"));
      BLOTTER_RETURN_IF_ERROR(
          FromRocks(impl->db->DestroyColumnFamilyHandle(impl->cf[kIncidentsCf]), "drop old index"));
      impl->cf[kIncidentsCf] = nullptr;
      BLOTTER_RETURN_IF_ERROR(
          FromRocks(impl->db->CreateColumnFamily(cfs[kIncidentsCf].options, cfs[kIncidentsCf].name,
                                                 &impl->cf[kIncidentsCf]),
                    "create index"));
      reindexed = true;
    } else if (format == kFormatVersionHashedIndex || format == kFormatVersionPerEventIndex) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      BLOTTER_RETURN_IF_ERROR(
          FromRocks(impl->db->Put(wo, impl->cf[kDefaultCf], kFormatKey, kFormatVersion),
                    "mark the event log format"));
    } else if (format != kFormatVersion) {
      return Status::InvalidArgument(fmt::format(
          "{} holds event log format {}, this blotter reads {}", dir, format, kFormatVersion));
    }
    impl->partitions = std::stoi(stored);
    if (options.partitions > 0 && options.partitions != impl->partitions) {
      return Status::InvalidArgument(
          fmt::format("{} has {} partitions, not {} (the count of an existing log cannot change)",
                      dir, impl->partitions, options.partitions));
    }
  }

  std::unique_ptr<rocksdb::Iterator> it(
      impl->db->NewIterator(rocksdb::ReadOptions(), impl->cf[kLogCf]));
  it->SeekToLast();
  if (it->Valid() && it->key().size() == 8) {
    impl->end = static_cast<int64_t>(GetBE(it->key().ToStringView(), 0, 8)) + 1;
  }
  BLOTTER_RETURN_IF_ERROR(FromRocks(it->status(), "scan event log"));
  it.reset();
  BLOTTER_RETURN_IF_ERROR(impl->RecoverIndex());
  if (reindexed) {
    // The index rebuilt from the log as it now is; the marker of a bulk load
    // goes with the same synced write.
    rocksdb::WriteBatch b;
    b.Put(impl->cf[kDefaultCf], kFormatKey, kFormatVersion);
    b.Delete(impl->cf[kDefaultCf], kBulkLoadKey);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    BLOTTER_RETURN_IF_ERROR(FromRocks(impl->db->Write(wo, &b), "mark the event log re-indexed"));
  }
  Impl* raw_impl = impl.get();
  impl->indexer = std::thread([raw_impl] { raw_impl->IndexerLoop(); });
  return std::unique_ptr<EmbeddedLog>(new EmbeddedLog(std::move(impl)));
}

Result<std::unique_ptr<EmbeddedLog>> EmbeddedLog::OpenFollower(
    std::shared_ptr<Impl> impl, const std::string& dir, const rocksdb::DBOptions& base,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs) {
  rocksdb::DBOptions db_options = base;
  db_options.create_if_missing = false;
  db_options.max_open_files = -1;
  std::string tmpl = (std::filesystem::temp_directory_path() / "blotter-follower-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return Status::IOError("cannot make a follower directory");
  impl->secondary_dir = tmpl;
  impl->follower = true;
  rocksdb::DB* raw = nullptr;
  BLOTTER_RETURN_IF_ERROR(FromRocks(
      rocksdb::DB::OpenAsSecondary(db_options, dir, impl->secondary_dir, cfs, &impl->cf, &raw),
      fmt::format("follow event log {}", dir)));
  impl->db.reset(raw);
  std::string stored;
  BLOTTER_RETURN_IF_ERROR(FromRocks(
      impl->db->Get(rocksdb::ReadOptions(), impl->cf[kDefaultCf], kPartitionsKey, &stored),
      "read event log metadata"));
  impl->partitions = std::stoi(stored);
  impl->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (impl->inotify_fd < 0 ||
      inotify_add_watch(impl->inotify_fd, dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
    return Status::IOError(fmt::format("cannot watch {} for appends", dir));
  }
  BLOTTER_RETURN_IF_ERROR(impl->CatchUp());
  return std::unique_ptr<EmbeddedLog>(new EmbeddedLog(std::move(impl)));
}

Result<std::vector<Position>> EmbeddedLog::Append(std::span<const EncodedEvent> events) {
  if (events.empty()) return std::vector<Position>{};
  if (impl_->follower) {
    return Status::FailedPrecondition("this is a read-only follower; the writer appends");
  }
  Impl* d = impl_.get();
  return d->committer->Append(events,
                              [d](std::span<PendingAppend* const> group) { d->Commit(group); });
}

Status EmbeddedLog::Sync() {
  if (impl_->follower || !impl_->options.bulk_load) return Status::Ok();
  return impl_->SyncBulk();
}

Result<std::vector<int64_t>> EmbeddedLog::EndOffsets() {
  std::lock_guard l(impl_->mu);
  // One offset sequence spans every partition: each partition's next offset
  // is at least the log's next one.
  return std::vector<int64_t>(impl_->partitions, impl_->end);
}

namespace {
Status NotOnFollower() {
  return Status::FailedPrecondition(
      "history by incident needs the writer's index; the log is open in another process");
}
}  // namespace

Result<IncidentHead> EmbeddedLog::Head(std::string_view incident_id) {
  if (impl_->follower) return NotOnFollower();
  BLOTTER_RETURN_IF_ERROR(impl_->WaitIndexedAll());
  return impl_->ReadHead(incident_id);
}

Result<std::vector<LogRecord>> EmbeddedLog::ReadIncident(std::string_view incident_id) {
  Impl& d = *impl_;
  std::vector<LogRecord> out;
  if (d.follower) return NotOnFollower();
  if (incident_id.empty() || incident_id.find('\0') != std::string_view::npos) return out;
  BLOTTER_RETURN_IF_ERROR(d.WaitIndexedAll());
  std::string prefix = IncidentKey(incident_id);
  prefix.push_back('\0');
  std::string upper = prefix;
  upper.back() = '\1';
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(ro, d.cf[kIncidentsCf]));
  std::vector<std::string> keys;
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    const std::string_view v = it->value().ToStringView();
    const size_t n = IndexEntries(v);
    if (n == 0) {
      return Status::Corruption(fmt::format("index of incident {} is damaged", incident_id));
    }
    for (size_t i = 0; i < n; ++i) {
      const Position p = EntryPosition(IndexValueEntry(v, i));
      out.push_back(LogRecord{p, {}});
      keys.push_back(LogKey(p.offset));
    }
  }
  BLOTTER_RETURN_IF_ERROR(FromRocks(it->status(), "read incident index"));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(keys.size(), d.cf[kLogCf]);
  std::vector<std::string> values;
  std::vector<rocksdb::Status> st = d.db->MultiGet(rocksdb::ReadOptions(), cfs, slices, &values);
  for (size_t i = 0; i < out.size(); ++i) {
    if (!st[i].ok()) {
      return Status::Corruption(fmt::format("incident {}: event at {}:{} is missing from the log",
                                            incident_id, out[i].position.partition,
                                            out[i].position.offset));
    }
    if (values[i].size() < kLogValuePrefix) {
      return Status::Corruption(
          fmt::format("log entry at offset {} is damaged", out[i].position.offset));
    }
    out[i].bytes = values[i].substr(kLogValuePrefix);
  }
  return out;
}

Result<std::vector<LogRecord>> EmbeddedLog::ReadAt(std::span<const Position> positions) {
  Impl& d = *impl_;
  std::vector<std::string> keys;
  for (const Position& p : positions) {
    if (p.partition < 0 || p.partition >= d.partitions) {
      return Status::InvalidArgument(
          fmt::format("no partition {} in a log of {}", p.partition, d.partitions));
    }
    keys.push_back(LogKey(p.offset));
  }
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(keys.size(), d.cf[kLogCf]);
  std::vector<std::string> values;
  std::vector<rocksdb::Status> st = d.db->MultiGet(rocksdb::ReadOptions(), cfs, slices, &values);
  std::vector<LogRecord> out;
  for (size_t i = 0; i < positions.size(); ++i) {
    const Position& p = positions[i];
    if (st[i].IsNotFound() ||
        (st[i].ok() && (values[i].size() < kLogValuePrefix ||
                        static_cast<int32_t>(GetBE(values[i], 0, 4)) != p.partition))) {
      return NoEventAt(p);
    }
    BLOTTER_RETURN_IF_ERROR(FromRocks(st[i], "read the log"));
    out.push_back(LogRecord{p, values[i].substr(kLogValuePrefix)});
  }
  return out;
}

namespace {

// Reads the log in offset order with one cursor, keeping the records of the
// partitions it was given, each from its start offset up to its stop offset.
class EmbeddedReader final : public LogReader {
 public:
  EmbeddedReader(std::shared_ptr<EmbeddedLog::Impl> impl, std::vector<Position> start,
                 std::optional<std::vector<int64_t>> stop)
      : impl_(std::move(impl)), start_(std::move(start)) {
    owned_.assign(impl_->partitions, -1);
    from_.assign(impl_->partitions, 0);
    cursor_ = INT64_MAX;
    for (size_t i = 0; i < start_.size(); ++i) {
      const Position& p = start_[i];
      owned_[p.partition] = static_cast<int>(i);
      from_[p.partition] = p.offset;
      cursor_ = std::min(cursor_, p.offset);
    }
    if (cursor_ == INT64_MAX) cursor_ = 0;
    if (stop) {
      stop_ = std::vector<int64_t>(impl_->partitions, 0);
      stop_all_ = 0;
      for (size_t i = 0; i < start_.size(); ++i) {
        (*stop_)[start_[i].partition] = (*stop)[i];
        stop_all_ = std::max(stop_all_, (*stop)[i]);
      }
    }
  }

  std::vector<Position> positions() const override {
    std::vector<Position> out;
    for (const Position& p : start_) out.push_back({p.partition, std::max(cursor_, p.offset)});
    return out;
  }

  Result<std::vector<LogRecord>> Poll(size_t max_records,
                                      std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<LogRecord> out;
    if (max_records == 0) max_records = 1;
    while (true) {
      int64_t end;
      uint64_t generation;
      {
        std::lock_guard l(impl_->mu);
        if (impl_->closed) return Status::Unavailable("event log is closed");
        end = impl_->end;
        generation = impl_->generation;
      }
      const int64_t limit = stop_ ? std::min(end, stop_all_) : end;
      if (cursor_ < limit) {
        BLOTTER_RETURN_IF_ERROR(Scan(limit, max_records, &out));
        if (!out.empty()) return out;
        continue;
      }
      if (stop_ && cursor_ >= stop_all_) return Status::EndOfStream();
      if (impl_->follower) {
        if (std::chrono::steady_clock::now() >= deadline) return out;
        BLOTTER_RETURN_IF_ERROR(impl_->WaitForPrimary(deadline));
        continue;
      }
      std::unique_lock l(impl_->mu);
      const bool woken = impl_->readers_cv.wait_until(
          l, deadline, [&] { return impl_->closed || impl_->generation != generation; });
      if (!woken) return out;
    }
  }

 private:
  Status Scan(int64_t limit, size_t max_records, std::vector<LogRecord>* out) {
    const std::string upper = LogKey(limit);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice;
    // A scan reads each block once: through the block cache it would evict
    // what lookups use and pay for inserting every block. A long one reads
    // ahead in large steps rather than a read per block; a live reader's
    // short polls do not.
    ro.fill_cache = false;
    if (std::min<int64_t>(limit - cursor_, static_cast<int64_t>(max_records)) >= kReadAheadFrom) {
      ro.readahead_size = kReadAheadBytes;
    }
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf[kLogCf]));
    for (it->Seek(LogKey(cursor_)); it->Valid() && out->size() < max_records; it->Next()) {
      const int64_t offset = static_cast<int64_t>(GetBE(it->key().ToStringView(), 0, 8));
      const std::string_view value = it->value().ToStringView();
      cursor_ = offset + 1;
      if (value.size() < kLogValuePrefix) {
        return Status::Corruption(fmt::format("log entry at offset {} is damaged", offset));
      }
      const auto p = static_cast<int32_t>(GetBE(value, 0, 4));
      if (p < 0 || p >= impl_->partitions || owned_[p] < 0 || offset < from_[p]) continue;
      if (stop_ && offset >= (*stop_)[p]) continue;
      out->push_back(LogRecord{{p, offset}, std::string(value.substr(kLogValuePrefix))});
    }
    BLOTTER_RETURN_IF_ERROR(FromRocks(it->status(), "read event log"));
    if (out->size() < max_records) cursor_ = std::max(cursor_, limit);
    return Status::Ok();
  }

  std::shared_ptr<EmbeddedLog::Impl> impl_;
  std::vector<Position> start_;
  std::vector<int> owned_;                    // partition -> index in start_, or -1
  std::vector<int64_t> from_;                 // partition -> first offset to return
  std::optional<std::vector<int64_t>> stop_;  // partition -> end offset
  int64_t stop_all_ = 0;
  int64_t cursor_ = 0;
};

}  // namespace

Result<std::unique_ptr<LogReader>> EmbeddedLog::NewReader(const ReaderOptions& options) {
  if (!options.group.empty()) {
    return Status::InvalidArgument("consumer groups need the Kafka log (--kafka)");
  }
  BLOTTER_ASSIGN_OR_RETURN(std::vector<Position> start, ReaderStart(options, impl_->partitions));
  return std::unique_ptr<LogReader>(new EmbeddedReader(impl_, std::move(start), options.stop_at));
}

}  // namespace blotter
