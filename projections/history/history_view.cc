#include "projections/history/history_view.h"

#include <fmt/format.h>
#include <rocksdb/db.h>

namespace blotter::projections {
namespace {

// Splits a record into its events; false if it is malformed.
bool Split(std::string_view record, std::vector<std::string_view>* out) {
  while (!record.empty()) {
    if (record.size() < 4) return false;
    uint32_t n = 0;
    for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(record[i]);
    if (record.size() - 4 < n) return false;
    out->push_back(record.substr(4, n));
    record.remove_prefix(4 + n);
  }
  return true;
}

uint64_t SequenceOf(std::string_view key) {
  uint64_t v = 0;
  for (char c : key.substr(key.size() - 8)) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

}  // namespace

std::string HistoryView::Key(std::string_view id, uint64_t sequence) {
  std::string k = IncidentKey(id);
  k.push_back('\0');
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((sequence >> (8 * i)) & 0xff));
  return k;
}

void HistoryView::Apply(const Change& c, rocksdb::WriteBatch*) {
  auto it = pending_.find(c.after.incident_id);
  if (it == pending_.end()) {
    it = pending_.emplace(c.after.incident_id, Pending{c.event.sequence(), {}}).first;
  }
  const auto n = static_cast<uint32_t>(c.bytes.size());
  std::array<char, 4>& len = lengths_.emplace_back();
  for (int i = 0; i < 4; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  it->second.parts.emplace_back(len.data(), len.size());
  it->second.parts.emplace_back(c.bytes.data(), c.bytes.size());
}

void HistoryView::Flush(rocksdb::WriteBatch* batch) {
  for (const auto& [id, p] : pending_) {
    const std::string key = Key(id, p.first_sequence);
    const rocksdb::Slice key_slice(key);
    batch
        ->Put(store_->cf(Cf::kHistory), rocksdb::SliceParts(&key_slice, 1),
              rocksdb::SliceParts(p.parts.data(), static_cast<int>(p.parts.size())))
        .PermitUncheckedError();
  }
  pending_.clear();
  lengths_.clear();
}

Result<std::string> HistoryView::Digest(const ViewStore& store) const {
  Digester d;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::kHistory)));
  std::vector<std::string_view> events;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    events.clear();
    if (key.size() < 9 || !Split(it->value().ToStringView(), &events)) {
      return Status::Corruption(fmt::format("history record {} is malformed", key));
    }
    const std::string id = IncidentIdOf(key.substr(0, key.size() - 9));
    uint64_t seq = SequenceOf(key);
    for (std::string_view e : events) d.Add(Key(id, seq++), e);
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  d.EndSection(CfName(Cf::kHistory));
  return d.Hex();
}

Result<std::vector<std::string>> HistoryView::Read(const ViewStore& store, std::string_view id) {
  std::vector<std::string> out;
  std::string prefix = IncidentKey(id);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::kHistory)));
  std::vector<std::string_view> events;
  for (it->Seek(prefix);
       it->Valid() && it->key().starts_with(prefix) && it->key().size() == prefix.size() + 8;
       it->Next()) {
    events.clear();
    if (!Split(it->value().ToStringView(), &events)) {
      return Status::Corruption(fmt::format("history record of {} is malformed", id));
    }
    for (std::string_view e : events) out.emplace_back(e);
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return out;
}

}  // namespace blotter::projections
