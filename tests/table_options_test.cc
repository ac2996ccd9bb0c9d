// events/table_options.h: RocksDB's perf counters turned off on our threads
// and, through the listener, on RocksDB's own flush and compaction threads.

#include "events/table_options.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/perf_level.h>

#include <atomic>
#include <memory>
#include <thread>

#include "tests/scratch_dir.h"

namespace blotter {
namespace {

// Records the perf level of the thread each flush and compaction finishes on.
class Probe final : public rocksdb::EventListener {
 public:
  void OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo&) override {
    flush_level = static_cast<int>(rocksdb::GetPerfLevel());
  }
  void OnCompactionCompleted(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override {
    compaction_level = static_cast<int>(rocksdb::GetPerfLevel());
  }
  std::atomic<int> flush_level{-1}, compaction_level{-1};
};

TEST(PerfCountersOffTest, OffOnTheCallingThreadOnly) {
  int other = -1;
  std::thread([&] { other = static_cast<int>(rocksdb::GetPerfLevel()); }).join();
  std::thread([] {
    PerfCountersOff();
    EXPECT_EQ(rocksdb::GetPerfLevel(), rocksdb::PerfLevel::kDisable);
  }).join();
  EXPECT_EQ(other, static_cast<int>(rocksdb::PerfLevel::kEnableCount));  // RocksDB's default
}

TEST(PerfCountersOffTest, TheListenerTurnsThemOffOnFlushAndCompactionThreads) {
  for (bool with_listener : {false, true}) {
    SCOPED_TRACE(with_listener ? "with the listener" : "without");
    testing::ScratchDir dir;
    auto probe = std::make_shared<Probe>();
    rocksdb::Options o;
    o.create_if_missing = true;
    if (with_listener) o.listeners.push_back(PerfCountersOffListener());
    o.listeners.push_back(probe);  // called after it, on the same thread
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "k" + std::to_string(i), "v").ok());
      ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
    }
    ASSERT_TRUE(db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
    const int want = static_cast<int>(with_listener ? rocksdb::PerfLevel::kDisable
                                                    : rocksdb::PerfLevel::kEnableCount);
    EXPECT_EQ(probe->flush_level.load(), want);
    EXPECT_EQ(probe->compaction_level.load(), want);
    ASSERT_TRUE(db->Close().ok());
  }
}

}  // namespace
}  // namespace blotter
