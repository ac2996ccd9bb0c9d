#include "projections/history/history_view.h"

#include <rocksdb/db.h>

namespace blotter::projections {

std::string HistoryView::Key(std::string_view id, uint64_t sequence) {
  std::string k(id);
  k.push_back('\0');
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((sequence >> (8 * i)) & 0xff));
  return k;
}

void HistoryView::Apply(const Change& c, rocksdb::WriteBatch* batch) {
  batch->Put(store_->cf(Cf::kHistory), Key(c.after.incident_id, c.event.sequence()),
             rocksdb::Slice(c.bytes.data(), c.bytes.size()));
}

Result<std::vector<std::string>> HistoryView::Read(const ViewStore& store, std::string_view id) {
  std::vector<std::string> out;
  std::string prefix(id);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::kHistory)));
  for (it->Seek(prefix);
       it->Valid() && it->key().starts_with(prefix) && it->key().size() == prefix.size() + 8;
       it->Next()) {
    out.push_back(it->value().ToString());
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return out;
}

}  // namespace blotter::projections
