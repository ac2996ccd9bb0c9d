#include "events/table_options.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/perf_level.h>

namespace blotter {

rocksdb::BlockBasedTableOptions BoundedTableOptions(size_t cache_bytes) {
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(cache_bytes);
  t.cache_index_and_filter_blocks = true;
  t.cache_index_and_filter_blocks_with_high_priority = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  t.metadata_block_size = 4096;
  t.pin_top_level_index_and_filter = true;
  return t;
}

rocksdb::BlockBasedTableOptions WithBloomFilter(rocksdb::BlockBasedTableOptions options) {
  options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.partition_filters = true;
  return options;
}

namespace {

class PerfOff final : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "blotter.PerfCountersOff"; }
  void OnFlushBegin(rocksdb::DB*, const rocksdb::FlushJobInfo&) override { PerfCountersOff(); }
  void OnCompactionBegin(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override {
    PerfCountersOff();
  }
};

}  // namespace

std::shared_ptr<rocksdb::EventListener> PerfCountersOffListener() {
  return std::make_shared<PerfOff>();
}

void PerfCountersOff() { rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable); }

}  // namespace blotter
