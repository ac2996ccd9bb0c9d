// The embedded (RocksDB) event log: the conformance suite, and what only a
// disk log has to show: one process at a time, and durability across kill -9.

#include "events/embedded_log.h"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <random>
#include <set>

#include "events/codec.h"
#include "events/hash_chain.h"
#include "events/incident_key.h"
#include "events/position_entry.h"
#include "events/sample_events.h"
#include "tests/log_conformance.h"
#include "tests/scratch_dir.h"

namespace blotter::testing {
namespace {

class EmbeddedHarness final : public LogHarness {
 public:
  std::unique_ptr<EventLog> NewLog(int32_t partitions) override {
    dir_ = scratch_.Sub(fmt::format("log-{}", n_++));
    EmbeddedLogOptions o;
    o.partitions = partitions;
    auto log = EmbeddedLog::Open(dir_, o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  std::unique_ptr<EventLog> Reopen() override {
    EmbeddedLogOptions o;
    o.create_if_missing = false;
    auto log = EmbeddedLog::Open(dir_, o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }

 private:
  ScratchDir scratch_;
  std::string dir_;
  int n_ = 0;
};

std::unique_ptr<LogHarness> MakeEmbeddedHarness() { return std::make_unique<EmbeddedHarness>(); }

INSTANTIATE_TEST_SUITE_P(Embedded, LogConformanceTest, ::testing::Values(&MakeEmbeddedHarness),
                         [](const auto&) { return std::string("RocksDB"); });

// The sequence an index key ends with.
uint64_t KeySequence(const std::string& key) { return GetBE(key, key.size() - 8, 8); }

// The log's RocksDB opened directly, to damage or rewrite it as a test needs.
struct RawLog {
  explicit RawLog(const std::string& dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* name : {"default", "log", "incidents"}) {
      cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* raw = nullptr;
    status = rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &cf, &raw);
    db.reset(raw);
  }
  ~RawLog() {
    for (auto* c : cf) db->DestroyColumnFamilyHandle(c).PermitUncheckedError();
  }
  rocksdb::ColumnFamilyHandle* index() const { return cf[2]; }

  // The index rewritten as formats 1 to 3 had it, a record per event: for
  // each event, `rewrite` turns (the key of a run of that event alone, its
  // 20-byte entry) into the key and value to write. `records` counts them.
  void SplitIndex(const std::function<std::pair<std::string, std::string>(
                      const std::string& key, const std::string& entry)>& rewrite,
                  int* records) {
    std::vector<std::pair<std::string, std::string>> runs;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), index()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key()[0] == '\xff') continue;
      runs.emplace_back(it->key().ToString(), it->value().ToString());
    }
    ASSERT_TRUE(it->status().ok());
    it.reset();
    *records = 0;
    for (const auto& [k, v] : runs) {
      ASSERT_EQ(v.size() % 20, 0u) << "index records are runs of 20-byte entries";
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), index(), k).ok());
      const uint64_t first = KeySequence(k);
      for (size_t i = 0; i < v.size() / 20; ++i) {
        std::string key = k.substr(0, k.size() - 8);
        PutBE(&key, first + i, 8);
        const auto [nk, nv] = rewrite(key, v.substr(20 * i, 20));
        ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), index(), nk, nv).ok());
        ++*records;
      }
    }
  }

  rocksdb::Status status;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cf;  // default, log, incidents
};

TEST(EmbeddedLogTest, SecondProcessGetsAClearError) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto second = EmbeddedLog::Open(dir.path());
    const bool busy = !second.ok() && second.status().code() == StatusCode::kBusy &&
                      second.status().message().find("in use by another") != std::string::npos;
    _exit(busy ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the second process did not get kBusy";
}

TEST(EmbeddedLogTest, PartitionCountCannotChange) {
  ScratchDir dir;
  {
    EmbeddedLogOptions o;
    o.partitions = 6;
    ASSERT_TRUE(EmbeddedLog::Open(dir.path(), o).ok());
  }
  EmbeddedLogOptions o;
  o.partitions = 8;
  auto r = EmbeddedLog::Open(dir.path(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  auto keep = EmbeddedLog::Open(dir.path());  // 0: whatever it has
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ((*keep)->partitions(), 6);
}

TEST(EmbeddedLogTest, MissingDirectoryWithoutCreateIsNotFound) {
  ScratchDir dir;
  EmbeddedLogOptions o;
  o.create_if_missing = false;
  auto r = EmbeddedLog::Open(dir.Sub("nothing-here"), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(EmbeddedLogTest, ClosedLogWakesReadersAndRefusesAppends) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  auto reader = (*log)->NewReader({});
  ASSERT_TRUE(reader.ok());
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (*log)->Close();
  });
  auto r = (*reader)->Poll(10, std::chrono::seconds(30));
  closer.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE((*log)->Append(SealedChain("x", 1)).ok());
}

// A child appends batches of kBatch new incidents and reports each
// acknowledged batch number through a pipe; the parent kills it with SIGKILL
// at a random moment. After reopening, every acknowledged batch is there in
// full and no batch is there in part.
// Heads beyond the in-memory cache (emptied when full) are read back from the
// incidents index: the sequence and chain checks hold for them as well.
TEST(EmbeddedLogTest, HeadsBeyondTheCacheAreCheckedFromTheIndex) {
  ScratchDir scratch;
  EmbeddedLogOptions o;
  o.head_cache_entries = 2;
  auto log = EmbeddedLog::Open(scratch.Sub("log"), o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::vector<std::vector<EncodedEvent>> chains;
  for (int i = 0; i < 10; ++i) {
    chains.push_back(SealedChain(fmt::format("inc-{}", i), 2));
    ASSERT_TRUE((*log)->Append(chains.back()).ok());
  }
  for (int i = 0; i < 10; ++i) {
    const std::string id = fmt::format("inc-{}", i);
    const std::string first(chains[i][0].hash()), second(chains[i][1].hash());
    EXPECT_EQ((*log)->Append(SealedChain(id, 1, 2, first)).status().code(), StatusCode::kConflict)
        << id << ": a repeat of event 2";
    EXPECT_EQ((*log)->Append(SealedChain(id, 1, 3, std::string(32, 'z'))).status().code(),
              StatusCode::kConflict)
        << id << ": an event 3 that does not chain";
    EXPECT_TRUE((*log)->Append(SealedChain(id, 1, 3, second)).ok()) << id;
  }
}

// A log whose index has the format-1 layout (keys lead with the bare id) is
// re-indexed on open: heads and histories read right, nothing left behind.
TEST(EmbeddedLogTest, AFormatOneIndexIsRebuiltOnOpen) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("log");
  const std::vector<std::string> ids = {"411681-20211015-0000002a", "inc-7"};
  std::vector<std::string> heads;
  {
    auto log = EmbeddedLog::Open(dir).value();
    for (const auto& id : ids) {
      auto chain = SealedChain(id, 3);
      ASSERT_TRUE(log->Append(chain).ok());
      heads.emplace_back(chain.back().hash());
    }
  }
  {
    // Rewrite the index as format 1 had it: an entry per event, keyed by the
    // bare id.
    RawLog raw(dir);
    ASSERT_TRUE(raw.status.ok()) << raw.status.ToString();
    int records = 0;
    raw.SplitIndex(
        [](const std::string& k, const std::string& entry) {
          const size_t nul = k.size() - 9;
          return std::pair(IncidentIdOf(k.substr(0, nul)) + k.substr(nul), entry);
        },
        &records);
    ASSERT_EQ(records, 6);
    ASSERT_TRUE(raw.db->Put(rocksdb::WriteOptions(), raw.cf[0], "format", "1").ok());
  }
  EmbeddedLogOptions o;
  std::vector<std::string> notices;
  o.notice = [&](std::string_view m) { notices.emplace_back(m); };
  auto log = EmbeddedLog::Open(dir, o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ(notices.size(), 1u);  // the user is told why opening takes a while
  EXPECT_NE(notices[0].find("re-indexing"), std::string::npos) << notices[0];
  for (size_t i = 0; i < ids.size(); ++i) {
    auto head = (*log)->Head(ids[i]);
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(head->sequence, 3u) << ids[i];
    EXPECT_EQ(head->hash, heads[i]) << ids[i];
    EXPECT_EQ((*log)->ReadIncident(ids[i]).value().size(), 3u) << ids[i];
  }
  // The next event chains on; a repeat is refused.
  EXPECT_TRUE((*log)->Append(SealedChain(ids[0], 1, 4, heads[0])).ok());
  EXPECT_EQ((*log)->Append(SealedChain(ids[1], 1, 3, heads[1])).status().code(),
            StatusCode::kConflict);
  // Once: the next open has nothing to say.
  log->reset();
  notices.clear();
  ASSERT_TRUE(EmbeddedLog::Open(dir, o).ok());
  EXPECT_TRUE(notices.empty());
}

// Logs of formats 2 and 3 keep an index entry per event (format 2's values
// carry the event's whole hash after its position, format 3's its first 8
// bytes); format 4 keeps runs of them. They open as they are: no re-index,
// heads and histories right, appends chain on (their runs beside the old
// entries), and they are marked format 4.
TEST(EmbeddedLogTest, AnIndexOfAnEntryPerEventReadsWithoutReindexing) {
  for (const int format : {2, 3}) {
    SCOPED_TRACE(format);
    ScratchDir scratch;
    const std::string dir = scratch.Sub("log");
    const std::vector<std::string> ids = {"411681-20211015-000042", "inc-7"};
    std::map<std::pair<std::string, uint64_t>, std::string> hashes;
    std::vector<std::string> heads;
    {
      auto log = EmbeddedLog::Open(dir).value();
      for (const auto& id : ids) {
        auto chain = SealedChain(id, 3);
        ASSERT_TRUE(log->Append(chain).ok());
        for (const auto& e : chain) hashes[{id, e.sequence()}] = std::string(e.hash());
        heads.emplace_back(chain.back().hash());
      }
    }
    {
      RawLog raw(dir);
      ASSERT_TRUE(raw.status.ok()) << raw.status.ToString();
      int records = 0;
      raw.SplitIndex(
          [&](const std::string& k, const std::string& entry) {
            if (format == 3) return std::pair(k, entry);
            const std::string id = IncidentIdOf(k.substr(0, k.size() - 9));
            return std::pair(k, entry.substr(0, 12) + hashes.at({id, KeySequence(k)}));
          },
          &records);
      ASSERT_EQ(records, 6);
      ASSERT_TRUE(
          raw.db->Put(rocksdb::WriteOptions(), raw.cf[0], "format", std::to_string(format)).ok());
    }
    EmbeddedLogOptions o;
    std::vector<std::string> notices;
    o.notice = [&](std::string_view m) { notices.emplace_back(m); };
    {
      auto log = EmbeddedLog::Open(dir, o);
      ASSERT_TRUE(log.ok()) << log.status().ToString();
      EXPECT_TRUE(notices.empty());
      for (size_t i = 0; i < ids.size(); ++i) {
        auto head = (*log)->Head(ids[i]);
        ASSERT_TRUE(head.ok()) << head.status().ToString();
        EXPECT_EQ(head->sequence, 3u) << ids[i];
        EXPECT_EQ(head->hash, heads[i]) << ids[i];
        EXPECT_EQ((*log)->ReadIncident(ids[i]).value().size(), 3u) << ids[i];
      }
    }
    {
      // Appends after a fresh open find their heads through the index.
      auto log = EmbeddedLog::Open(dir, o);
      ASSERT_TRUE(log.ok()) << log.status().ToString();
      EXPECT_TRUE((*log)->Append(SealedChain(ids[0], 2, 4, heads[0])).ok());
      EXPECT_EQ((*log)->Append(SealedChain(ids[1], 1, 4, heads[0])).status().code(),
                StatusCode::kConflict);
      EXPECT_EQ((*log)->Append(SealedChain(ids[1], 1, 3, heads[1])).status().code(),
                StatusCode::kConflict);
      EXPECT_TRUE((*log)->Append(SealedChain(ids[1], 1, 4, heads[1])).ok());
    }
    {
      // Old entries and new runs read as one history, after another open.
      auto log = EmbeddedLog::Open(dir, o);
      ASSERT_TRUE(log.ok()) << log.status().ToString();
      auto first = (*log)->ReadIncident(ids[0]);
      ASSERT_TRUE(first.ok()) << first.status().ToString();
      ASSERT_EQ(first->size(), 5u);
      for (size_t i = 0; i < first->size(); ++i) {
        EXPECT_EQ(DecodeEvent((*first)[i].bytes).value()->sequence(), i + 1);
      }
      EXPECT_EQ((*log)->Head(ids[0]).value().sequence, 5u);
      EXPECT_EQ((*log)->Head(ids[1]).value().sequence, 4u);
    }
    RawLog raw(dir);
    ASSERT_TRUE(raw.status.ok()) << raw.status.ToString();
    std::string value;
    ASSERT_TRUE(raw.db->Get(rocksdb::ReadOptions(), raw.cf[0], "format", &value).ok());
    EXPECT_EQ(value, "4");
  }
}

// An index record holds a run of an incident's events: those of one append,
// sequence after sequence, under the first one's key; another append's start
// a record of their own.
TEST(EmbeddedLogTest, TheIndexKeepsARecordPerRunOfEvents) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("log");
  const std::string id = "411681-20211015-000042";
  std::string head;
  {
    auto log = EmbeddedLog::Open(dir).value();
    auto chain = SealedChain(id, 3);
    head = std::string(chain.back().hash());
    ASSERT_TRUE(log->Append(chain).ok());
    // Indexed before the next append (Head waits for the index): else the
    // indexer, behind on a loaded machine, writes both appends as one run.
    ASSERT_EQ(log->Head(id).value().sequence, 3u);
    ASSERT_TRUE(log->Append(SealedChain(id, 2, 4, head)).ok());
    auto events = log->ReadIncident(id);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    ASSERT_EQ(events->size(), 5u);
    EXPECT_EQ(log->Head(id).value().sequence, 5u);
  }
  RawLog raw(dir);
  ASSERT_TRUE(raw.status.ok()) << raw.status.ToString();
  std::vector<std::pair<uint64_t, size_t>> records;  // (first sequence, value size)
  std::unique_ptr<rocksdb::Iterator> it(raw.db->NewIterator(rocksdb::ReadOptions(), raw.index()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string k = it->key().ToString();
    if (k[0] == '\xff') continue;
    records.emplace_back(KeySequence(k), it->value().size());
  }
  EXPECT_EQ(records, (std::vector<std::pair<uint64_t, size_t>>{{1, 60}, {4, 40}}));
}

// An incident's last event altered and sealed again in the log alone (its
// chain still valid: nothing follows it) no longer matches the hash bytes
// its index entry keeps: reading its head says so, and appending to it fails.
TEST(EmbeddedLogTest, AHeadResealedInTheLogAloneIsCaught) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("log");
  const std::string id = "411681-20211015-000042";
  const auto chain = SealedChain(id, 3);
  {
    auto log = EmbeddedLog::Open(dir).value();
    ASSERT_TRUE(log->Append(chain).ok());
  }
  {
    RawLog raw(dir);
    ASSERT_TRUE(raw.status.ok()) << raw.status.ToString();
    const std::string key("\0\0\0\0\0\0\0\2", 8);  // offset 2: the third event
    std::string value;
    ASSERT_TRUE(raw.db->Get(rocksdb::ReadOptions(), raw.cf[1], key, &value).ok());
    fb::EventT forged;
    DecodeEvent(value.substr(4)).value()->UnPackTo(&forged);
    forged.actor = "someone else";
    auto sealed = Seal(forged);
    ASSERT_TRUE(sealed.ok());
    ASSERT_NE(sealed->hash(), chain.back().hash());
    value = value.substr(0, 4) + std::string(sealed->bytes());
    ASSERT_TRUE(raw.db->Put(rocksdb::WriteOptions(), raw.cf[1], key, value).ok());
  }
  auto log = EmbeddedLog::Open(dir);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto head = (*log)->Head(id);
  ASSERT_EQ(head.status().code(), StatusCode::kCorruption);
  EXPECT_NE(head.status().message().find("altered"), std::string::npos) << head.status().ToString();
  EXPECT_EQ((*log)->Append(SealedChain(id, 1, 4, std::string(chain.back().hash()))).status().code(),
            StatusCode::kCorruption);
}

// A bulk load's appends are durable once synced. A process that dies after
// more appends (no WAL for them, so they are gone) leaves its marker, and the
// next open rebuilds the index from the log: an index entry of a lost append
// (its memtable flushed before the log's) does not survive.
TEST(EmbeddedLogTest, ABulkLoadIsDurableAtSyncAndAnUnfinishedOneIsReindexed) {
  const std::string kept = "411681-20211015-000001", lost = "411681-20211015-000002";
  const auto chain = SealedChain(kept, 3);
  // The child runs in a fresh process (this test, executed again): after a
  // fork RocksDB's background threads of earlier tests would be missing, and
  // a flush would wait for them for ever.
  if (const char* child_dir = getenv("BLOTTER_BULK_CHILD")) {
    const std::string dir = child_dir;
    EmbeddedLogOptions o;
    o.bulk_load = true;
    auto log = EmbeddedLog::Open(dir, o);
    if (!log.ok()) _exit(2);
    if (!(*log)->Append(chain).ok()) _exit(3);
    if (!(*log)->Sync().ok()) _exit(4);
    if (!(*log)->Append(SealedChain(lost, 2)).ok()) _exit(5);
    if (!(*log)->Append(SealedChain(kept, 1, 4, std::string(chain.back().hash()))).ok()) _exit(6);
    _exit(0);  // no close, no flush: as if killed
  }
  ScratchDir scratch;
  const std::string dir = scratch.Sub("log");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("BLOTTER_BULK_CHILD", dir.c_str(), 1);
    execl("/proc/self/exe", "embedded_log_test",
          "--gtest_filter=EmbeddedLogTest.ABulkLoadIsDurableAtSyncAndAnUnfinishedOneIsReindexed",
          static_cast<char*>(nullptr));
    _exit(7);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed: " << status;
  {
    // What a crash can leave: an index entry of the lost fourth event.
    RawLog raw(dir);
    ASSERT_TRUE(raw.status.ok()) << raw.status.ToString();
    std::string key = IncidentKey(kept);
    key.push_back('\0');
    key.append("\0\0\0\0\0\0\0\4", 8);
    std::string value(12, '\0');
    value.append(32, 'x');
    ASSERT_TRUE(raw.db->Put(rocksdb::WriteOptions(), raw.index(), key, value).ok());
  }
  EmbeddedLogOptions o;
  std::vector<std::string> notices;
  o.notice = [&](std::string_view m) { notices.emplace_back(m); };
  auto log = EmbeddedLog::Open(dir, o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_NE(notices[0].find("bulk load did not finish"), std::string::npos) << notices[0];
  auto head = (*log)->Head(kept);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->sequence, 3u) << "the synced appends are there, the lost one is not";
  EXPECT_EQ(head->hash, chain.back().hash());
  EXPECT_EQ((*log)->ReadIncident(kept).value().size(), 3u);
  EXPECT_EQ((*log)->Head(lost).value().sequence, 0u);
  EXPECT_EQ((*log)->EndOffsets().value()[0], 3);
  EXPECT_TRUE((*log)->Append(SealedChain(kept, 1, 4, std::string(chain.back().hash()))).ok());
  EXPECT_TRUE((*log)->Append(SealedChain(lost, 2)).ok());
  log->reset();
  notices.clear();
  ASSERT_TRUE(EmbeddedLog::Open(dir, o).ok());
  EXPECT_TRUE(notices.empty()) << "re-indexed once";
}

// A bulk load closed cleanly is whole, and leaves nothing to redo.
TEST(EmbeddedLogTest, ABulkLoadClosedCleanlyIsWhole) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("log");
  EmbeddedLogOptions o;
  o.bulk_load = true;
  {
    auto log = EmbeddedLog::Open(dir, o).value();
    for (int i = 0; i < 100; ++i)
      ASSERT_TRUE(log->Append(SealedChain(fmt::format("inc-{}", i), 3)).ok());
  }
  std::vector<std::string> notices;
  EmbeddedLogOptions plain;
  plain.notice = [&](std::string_view m) { notices.emplace_back(m); };
  auto log = EmbeddedLog::Open(dir, plain);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_TRUE(notices.empty());
  EXPECT_EQ((*log)->EndOffsets().value()[0], 300);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ((*log)->Head(fmt::format("inc-{}", i)).value().sequence, 3u);
}

TEST(EmbeddedLogTest, KillNineLosesNoAcknowledgedAppendAndLeavesNoPartialBatch) {
  constexpr int kBatch = 10;
  std::mt19937 rng(20211117);
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE(fmt::format("round {}", round));
    ScratchDir dir;
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      auto log = EmbeddedLog::Open(dir.path());
      if (!log.ok()) _exit(2);
      for (int64_t b = 0;; ++b) {
        std::vector<EncodedEvent> batch;
        for (int k = 0; k < kBatch; ++k) {
          auto one = SealedChain(fmt::format("b{}-{}", b, k), 1);
          batch.push_back(std::move(one[0]));
        }
        if (!(*log)->Append(batch).ok()) _exit(3);
        if (write(fds[1], &b, sizeof b) != sizeof b) _exit(4);
      }
    }
    close(fds[1]);
    // Long enough for the child to open the log and append at least once, even
    // on a loaded machine.
    const int wait_ms = 150 + static_cast<int>(rng() % 400);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    kill(pid, SIGKILL);
    int64_t acked = -1, b;
    while (read(fds[0], &b, sizeof b) == sizeof b) acked = b;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    ASSERT_GE(acked, 0) << "nothing was acknowledged in " << wait_ms << " ms";

    auto log = EmbeddedLog::Open(dir.path());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    int64_t present_batches = 0;
    for (int64_t batch = 0;; ++batch) {
      int present = 0;
      for (int k = 0; k < kBatch; ++k) {
        present += (*log)->Head(fmt::format("b{}-{}", batch, k)).value().sequence == 1;
      }
      ASSERT_TRUE(present == 0 || present == kBatch)
          << "batch " << batch << " is partial: " << present;
      if (present == 0) break;
      ++present_batches;
    }
    EXPECT_GE(present_batches, acked + 1) << "an acknowledged batch was lost";
    EXPECT_LE(present_batches, acked + 2) << "at most the one in flight may also be there";
    int64_t total = 0;
    ReaderOptions all;
    all.stop_at = (*log)->EndOffsets().value();
    auto reader = (*log)->NewReader(all);
    ASSERT_TRUE(reader.ok());
    for (auto batch = (*reader)->Poll(10000, std::chrono::seconds(5)); batch.ok();
         batch = (*reader)->Poll(10000, std::chrono::seconds(5))) {
      total += static_cast<int64_t>(batch->size());
    }
    EXPECT_EQ(total, present_batches * kBatch) << "no stray events";
  }
}

}  // namespace
}  // namespace blotter::testing
