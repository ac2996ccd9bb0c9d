#include "projections/bulk_memtable.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

namespace blotter::projections {
namespace {

using rocksdb::MemTableRep;

std::atomic<uint64_t> fallbacks = 0;

// An entry as the sort reads it: its user key, and the 8-byte trailer after
// it (sequence and type, little-endian), which orders equal user keys newest
// first.
struct Decoded {
  const char* entry;
  const char* key;
  uint32_t key_size;
};

uint64_t Trailer(const Decoded& d) {
  uint64_t t = 0;
  for (int i = 7; i >= 0; --i) t = (t << 8) | static_cast<uint8_t>(d.key[d.key_size + i]);
  return t;
}

// RocksDB's internal key order under the bytewise comparator.
bool Less(const Decoded& a, const Decoded& b) {
  const int c = std::memcmp(a.key, b.key, std::min(a.key_size, b.key_size));
  if (c != 0) return c < 0;
  if (a.key_size != b.key_size) return a.key_size < b.key_size;
  return Trailer(a) > Trailer(b);
}

// Sorts `entries` by merging the runs they already hold: a level of merges
// per doubling of the runs' length, so input in a few ordered runs costs a
// few passes, and input in no order about as many comparisons as a merge
// sort.
void Sort(const MemTableRep::KeyComparator& cmp, std::vector<const char*>* entries) {
  const size_t n = entries->size();
  if (n < 2) return;
  std::vector<Decoded> a(n);
  for (size_t i = 0; i < n; ++i) {
    const rocksdb::Slice internal = cmp.decode_key((*entries)[i]);
    a[i] = {(*entries)[i], internal.data(), static_cast<uint32_t>(internal.size() - 8)};
  }
  std::vector<size_t> bounds = {0};  // run i is [bounds[i], bounds[i + 1])
  for (size_t i = 1; i < n; ++i) {
    if (Less(a[i], a[i - 1])) bounds.push_back(i);
  }
  bounds.push_back(n);
  if (bounds.size() > 2) {
    std::vector<Decoded> b(n);
    std::vector<Decoded>* from = &a;
    std::vector<Decoded>* to = &b;
    std::vector<size_t> merged;
    while (bounds.size() > 2) {
      merged.assign(1, 0);
      const size_t runs = bounds.size() - 1;
      for (size_t r = 0; r < runs; r += 2) {
        const size_t lo = bounds[r], mid = bounds[r + 1];
        const size_t hi = r + 2 <= runs ? bounds[r + 2] : mid;
        std::merge(from->begin() + lo, from->begin() + mid, from->begin() + mid, from->begin() + hi,
                   to->begin() + lo, Less);
        merged.push_back(hi);
      }
      std::swap(from, to);
      bounds.swap(merged);
    }
    if (from != &a) a.swap(b);
  }
  // The memcmp order is RocksDB's only under the bytewise comparator: check
  // it against the memtable's own on the first pairs, and sort with that
  // instead if they disagree.
  for (size_t i = 1; i < std::min<size_t>(n, 16); ++i) {
    if (cmp(a[i - 1].entry, a[i].entry) >= 0) {
      fallbacks.fetch_add(1, std::memory_order_relaxed);
      std::sort(entries->begin(), entries->end(),
                [&cmp](const char* x, const char* y) { return cmp(x, y) < 0; });
      return;
    }
  }
  for (size_t i = 0; i < n; ++i) (*entries)[i] = a[i].entry;
}

class Iter final : public MemTableRep::Iterator {
 public:
  // Over `*sorted`, which outlives the iterator, or over `own`.
  Iter(const MemTableRep::KeyComparator& cmp, const std::vector<const char*>* sorted,
       std::vector<const char*> own)
      : cmp_(cmp), own_(std::move(own)), entries_(sorted ? sorted : &own_) {
    at_ = entries_->size();
  }

  bool Valid() const override { return at_ < entries_->size(); }
  const char* key() const override { return (*entries_)[at_]; }
  void Next() override { ++at_; }
  void Prev() override { at_ = at_ == 0 ? entries_->size() : at_ - 1; }
  void Seek(const rocksdb::Slice& internal_key, const char*) override {
    at_ = static_cast<size_t>(std::lower_bound(entries_->begin(), entries_->end(), internal_key,
                                               [this](const char* e, const rocksdb::Slice& k) {
                                                 return cmp_(e, k) < 0;
                                               }) -
                              entries_->begin());
  }
  void SeekForPrev(const rocksdb::Slice& internal_key, const char*) override {
    const auto after =
        std::upper_bound(entries_->begin(), entries_->end(), internal_key,
                         [this](const rocksdb::Slice& k, const char* e) { return cmp_(e, k) > 0; });
    at_ = after == entries_->begin() ? entries_->size()
                                     : static_cast<size_t>(after - entries_->begin()) - 1;
  }
  void SeekToFirst() override { at_ = 0; }
  void SeekToLast() override { at_ = entries_->empty() ? 0 : entries_->size() - 1; }

 private:
  const MemTableRep::KeyComparator& cmp_;
  std::vector<const char*> own_;
  const std::vector<const char*>* entries_;
  size_t at_;
};

class BulkRep final : public MemTableRep {
 public:
  BulkRep(const KeyComparator& cmp, rocksdb::Allocator* allocator)
      : MemTableRep(allocator), cmp_(cmp) {}

  void Insert(rocksdb::KeyHandle handle) override {
    std::lock_guard l(mu_);
    entries_.push_back(static_cast<const char*>(handle));
    bytes_.store(entries_.capacity() * sizeof(const char*), std::memory_order_relaxed);
  }
  bool Contains(const char* key) const override {
    std::lock_guard l(mu_);
    for (const char* e : entries_) {
      if (cmp_(e, key) == 0) return true;
    }
    return false;
  }
  void MarkReadOnly() override {
    std::lock_guard l(mu_);
    read_only_ = true;
  }
  size_t ApproximateMemoryUsage() override { return bytes_.load(std::memory_order_relaxed); }

  // A read-only memtable (a flush's) is sorted in place, once; a mutable one
  // is copied and the copy sorted, as RocksDB's VectorRep does.
  MemTableRep::Iterator* GetIterator(rocksdb::Arena* arena) override {
    std::lock_guard l(mu_);
    const std::vector<const char*>* sorted = nullptr;
    std::vector<const char*> own;
    if (read_only_) {
      if (!sorted_) Sort(cmp_, &entries_);
      sorted_ = true;
      sorted = &entries_;
    } else {
      own = entries_;
      Sort(cmp_, &own);
    }
    if (arena == nullptr) return new Iter(cmp_, sorted, std::move(own));
    // RocksDB then only runs the iterator's destructor, leaving the memory
    // to the arena, whose type is internal to RocksDB: the memtable keeps it
    // instead, and frees it with itself (iterators never outlive it).
    in_arena_.push_back(std::make_unique<unsigned char[]>(sizeof(Iter)));
    return new (in_arena_.back().get()) Iter(cmp_, sorted, std::move(own));
  }

 private:
  const KeyComparator& cmp_;
  mutable std::mutex mu_;
  std::vector<const char*> entries_;
  std::atomic<size_t> bytes_ = 0;
  bool read_only_ = false;
  bool sorted_ = false;
  std::vector<std::unique_ptr<unsigned char[]>> in_arena_;
};

class BulkRepFactory final : public rocksdb::MemTableRepFactory {
 public:
  const char* Name() const override { return "blotter.BulkMemTable"; }
  MemTableRep* CreateMemTableRep(const MemTableRep::KeyComparator& cmp,
                                 rocksdb::Allocator* allocator, const rocksdb::SliceTransform*,
                                 rocksdb::Logger*) override {
    return new BulkRep(cmp, allocator);
  }
};

}  // namespace

uint64_t BulkMemTableFallbacks() { return fallbacks.load(); }

std::shared_ptr<rocksdb::MemTableRepFactory> NewBulkMemTableFactory() {
  return std::make_shared<BulkRepFactory>();
}

}  // namespace blotter::projections
