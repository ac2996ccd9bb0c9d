#pragma once

// The memtable of the column families a catch-up only writes (store.h,
// ViewStore::Access::kBulk): entries appended to a vector as they come and
// sorted once, when the memtable is flushed, as RocksDB's VectorRep does, but
// sorted faster:
// - each entry's user key and trailer are decoded once, and entries compare
//   by memcmp and trailer instead of through RocksDB's virtual comparator
//   (length prefixes decoded again, a perf-counter check per comparison);
// - a natural merge sort: runs already in order (a batch's records are
//   written in key order) are merged, not sorted again.
// A catch-up's flushes spent a tenth of its CPU sorting these memtables.
//
// Only for column families with RocksDB's default (bytewise) comparator: the
// first sort checks its order against the memtable's comparator and falls
// back to sorting with that comparator if they disagree.
//
// Thread safety as RocksDB requires of a MemTableRep: one writer at a time
// (allow_concurrent_memtable_write off), readers beside it.

#include <rocksdb/memtablerep.h>

#include <memory>

namespace blotter::projections {

std::shared_ptr<rocksdb::MemTableRepFactory> NewBulkMemTableFactory();

// How many sorts in this process fell back to the memtable's comparator (for
// tests: none should, with the bytewise comparator).
uint64_t BulkMemTableFallbacks();

}  // namespace blotter::projections
