#include "projections/bulk_memtable.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/scratch_dir.h"

namespace blotter::projections {
namespace {

// Everything a database holds, in its order, through an iterator.
std::vector<std::pair<std::string, std::string>> Contents(rocksdb::DB* db) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return out;
}

std::unique_ptr<rocksdb::DB> Open(const std::string& dir, bool bulk_memtable) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.allow_concurrent_memtable_write = false;
  if (bulk_memtable) o.memtable_factory = NewBulkMemTableFactory();
  rocksdb::DB* db = nullptr;
  EXPECT_TRUE(rocksdb::DB::Open(o, dir, &db).ok());
  return std::unique_ptr<rocksdb::DB>(db);
}

// Batches whose keys come in sorted runs (as the runner writes a batch in
// key order), in no order, or both; with overwrites and deletes of earlier
// keys, and keys that are prefixes of others. The bulk memtable, read before
// and after its flush, holds what RocksDB's own skip list holds.
TEST(BulkMemTableTest, OrdersAsRocksDbDoes) {
  struct Case {
    const char* name;
    bool sorted_runs;
  };
  for (const Case& c : {Case{"sorted runs", true}, Case{"no order", false}}) {
    SCOPED_TRACE(c.name);
    testing::ScratchDir dir;
    auto bulk = Open(dir.Sub("bulk"), true);
    auto plain = Open(dir.Sub("plain"), false);
    std::mt19937 rng(7);
    for (int batch = 0; batch < 20; ++batch) {
      std::vector<std::string> keys;
      for (int i = 0; i < 300; ++i) {
        std::string k = "k" + std::to_string(rng() % 2000);
        if (rng() % 5 == 0) k.resize(k.size() - 1);  // a prefix of other keys
        keys.push_back(std::move(k));
      }
      if (c.sorted_runs) std::sort(keys.begin(), keys.end());
      rocksdb::WriteBatch b;
      for (const std::string& k : keys) {
        if (rng() % 7 == 0) {
          ASSERT_TRUE(b.Delete(k).ok());
        } else {
          ASSERT_TRUE(b.Put(k, std::to_string(batch)).ok());
        }
      }
      ASSERT_TRUE(bulk->Write(rocksdb::WriteOptions(), &b).ok());
      ASSERT_TRUE(plain->Write(rocksdb::WriteOptions(), &b).ok());
    }
    const auto want = Contents(plain.get());
    ASSERT_GT(want.size(), 500u);
    EXPECT_EQ(Contents(bulk.get()), want);  // a copy of the mutable memtable, sorted
    std::string v;
    ASSERT_TRUE(bulk->Get(rocksdb::ReadOptions(), want[want.size() / 2].first, &v).ok());
    EXPECT_EQ(v, want[want.size() / 2].second);
    ASSERT_TRUE(bulk->Flush(rocksdb::FlushOptions()).ok());  // sorted in place
    EXPECT_EQ(Contents(bulk.get()), want);
  }
  EXPECT_EQ(BulkMemTableFallbacks(), 0u) << "the bytewise order disagreed with RocksDB's";
}

}  // namespace
}  // namespace blotter::projections
