#include "projections/history/history_view.h"

#include <fmt/format.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <cstring>

#include "events/log_verify.h"
#include "events/position_entry.h"

namespace blotter::projections {
namespace {

// Appends a record's entries, numbered from its key's sequence; false if it
// is malformed.
bool Split(std::string_view key, std::string_view record, std::vector<HistoryEntry>* out) {
  if (key.size() < 9 || record.empty() || record.size() % kPositionEntrySize != 0) return false;
  uint64_t seq = GetBE(key, key.size() - 8, 8);
  for (; !record.empty(); record.remove_prefix(kPositionEntrySize)) {
    HistoryEntry& e = out->emplace_back();
    e.sequence = seq++;
    e.position = EntryPosition(record);
    std::memcpy(e.witness.data(), EntryWitness(record).data(), e.witness.size());
  }
  return true;
}

}  // namespace

std::string HistoryView::Key(std::string_view id, uint64_t sequence) {
  return IncidentSequenceKey(id, sequence);
}

void HistoryView::Apply(const Change& c, rocksdb::WriteBatch*) {
  if (c.incident_slot >= by_slot_.size()) by_slot_.resize(c.incident_slot + 1);
  Pending& p = by_slot_[c.incident_slot];
  if (p.entries.empty()) p.first_sequence = c.event.sequence();
  AppendPositionEntry(&p.entries, c.position,
                      std::string_view(reinterpret_cast<const char*>(c.event.hash()->data()),
                                       c.event.hash()->size()));
}

void HistoryView::Finish(const IncidentState&, const IncidentState& after, uint32_t incident_slot,
                         rocksdb::WriteBatch* batch) {
  Pending& p = by_slot_[incident_slot];
  key_.clear();
  AppendIncidentSequenceKey(after.incident_id, p.first_sequence, &key_);
  batch->Put(store_->cf(Cf::kHistory), key_, p.entries).PermitUncheckedError();
  p.entries.clear();  // keeps its buffer for the next batch
}

Result<std::string> HistoryView::Digest(const ViewStore& store) const {
  Digester d;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::kHistory)));
  std::vector<HistoryEntry> entries;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    entries.clear();
    if (!Split(key, it->value().ToStringView(), &entries)) {
      return Status::Corruption(fmt::format("history record {} is malformed", key));
    }
    const std::string id = IncidentIdOf(key.substr(0, key.size() - 9));
    const std::string_view record = it->value().ToStringView();
    for (size_t i = 0; i < entries.size(); ++i) {
      d.Add(Key(id, entries[i].sequence),
            record.substr(i * kPositionEntrySize, kPositionEntrySize));
    }
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  d.EndSection(CfName(Cf::kHistory));
  return d.Hex();
}

Result<std::vector<HistoryEntry>> HistoryView::Read(const ViewStore& store, std::string_view id) {
  std::vector<HistoryEntry> out;
  std::string prefix = IncidentKey(id);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::kHistory)));
  for (it->Seek(prefix);
       it->Valid() && it->key().starts_with(prefix) && it->key().size() == prefix.size() + 8;
       it->Next()) {
    if (!Split(it->key().ToStringView(), it->value().ToStringView(), &out)) {
      return Status::Corruption(fmt::format("history record of {} is malformed", id));
    }
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return out;
}

Result<std::vector<LogRecord>> ReadHistory(EventLog& log, const ViewStore& store,
                                           std::string_view id) {
  BLOTTER_ASSIGN_OR_RETURN(std::vector<HistoryEntry> entries, HistoryView::Read(store, id));
  std::vector<Position> positions;
  for (const HistoryEntry& e : entries) positions.push_back(e.position);
  auto records = log.ReadAt(positions);
  if (!records.ok() && records.status().code() == StatusCode::kNotFound) {
    return Status::Corruption(
        fmt::format("incident {}: the history view records an event the log "
                    "lacks (events deleted): {}",
                    id, records.status().message()));
  }
  if (!records.ok()) return records.status();
  for (size_t i = 0; i < entries.size(); ++i) {
    const HistoryEntry& e = entries[i];
    auto ev = DecodeEvent((*records)[i].bytes);
    if (!ev.ok() || (*ev)->incident_id()->string_view() != id || (*ev)->sequence() != e.sequence ||
        std::memcmp((*ev)->hash()->data(), e.witness.data(), e.witness.size()) != 0) {
      return Status::Corruption(fmt::format(
          "incident {}: the log's event at {}:{} is not event {} as projected (altered)", id,
          e.position.partition, e.position.offset, e.sequence));
    }
  }
  return records;
}

Result<std::optional<std::vector<LogRecord>>> ReadIncidentThroughHistory(EventLog& log,
                                                                         const ViewStore& store,
                                                                         std::string_view id) {
  // A store whose recorded views leave history out has none (one with none
  // recorded predates the list and holds all four).
  BLOTTER_ASSIGN_OR_RETURN(std::vector<std::string> views, store.Views());
  if (!views.empty() && std::find(views.begin(), views.end(), "history") == views.end()) {
    return std::optional<std::vector<LogRecord>>();
  }
  const int32_t p = log.PartitionOf(id);
  BLOTTER_ASSIGN_OR_RETURN(auto checkpoints, store.Checkpoints());
  const auto cp = checkpoints.find(p);
  if (cp == checkpoints.end()) return std::optional<std::vector<LogRecord>>();
  BLOTTER_ASSIGN_OR_RETURN(std::vector<LogRecord> out, ReadHistory(log, store, id));
  BLOTTER_ASSIGN_OR_RETURN(std::vector<int64_t> ends, log.EndOffsets());
  if (cp->second < ends.at(p)) {
    uint64_t last = 0;
    if (!out.empty()) last = (*DecodeEvent(out.back().bytes))->sequence();  // checked
    ReaderOptions ro;
    ro.start = {Position{p, cp->second}};
    ro.stop_at = std::vector<int64_t>{ends[p]};
    BLOTTER_RETURN_IF_ERROR(ForEachRecordIn(log, ro, [&](LogRecord& r) {
      auto e = DecodeEvent(r.bytes);
      if (e.ok() && (*e)->incident_id()->string_view() == id && (*e)->sequence() > last) {
        out.push_back(std::move(r));
      }
      return Status::Ok();
    }));
  }
  return std::optional<std::vector<LogRecord>>(std::move(out));
}

}  // namespace blotter::projections
