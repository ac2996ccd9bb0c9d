#pragma once

// RocksDB settings shared by the embedded log and the projections' view
// store: table options, so both bound their memory the same way, and perf
// counters off.

#include <rocksdb/listener.h>
#include <rocksdb/table.h>

#include <cstddef>
#include <memory>

namespace blotter {

// Block-based tables whose index and filter blocks live in one LRU cache of
// `cache_bytes` (so memory does not grow with the data), in 4 KiB partitions
// under a small pinned top level: a whole file's index or filter in one block
// (megabytes for a large file) does not stay in a cache shard of about that
// size, and every lookup would read it again from the file. No filter.
rocksdb::BlockBasedTableOptions BoundedTableOptions(size_t cache_bytes);

// The same options (and cache) with a bloom filter of 10 bits per key,
// partitioned like the index.
rocksdb::BlockBasedTableOptions WithBloomFilter(rocksdb::BlockBasedTableOptions options);

// RocksDB counts every key comparison, block read and the like in a
// thread-local perf context unless the thread's perf level says not to (its
// default counts), which costs a thread-local lookup in each comparison:
// flushes that sort a vector memtable make millions. Nothing here reads the
// counts. This listener turns counting off on each background thread as its
// flush or compaction begins; PerfCountersOff() on the calling thread.
std::shared_ptr<rocksdb::EventListener> PerfCountersOffListener();
void PerfCountersOff();

}  // namespace blotter
