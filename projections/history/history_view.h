#pragma once

// The history view: (incident id, sequence) -> event, so an auditor's replay
// of one incident is a prefix scan whatever the log (blotter replay --incident
// --kafka uses it when present). The events of one incident that one batch
// applies share a record, keyed by the first one's sequence (store.h): a
// rebuild writes a record per incident instead of one per event.

#include <array>
#include <deque>
#include <string>
#include <unordered_map>

#include "events/string_map.h"
#include "projections/view.h"

namespace blotter::projections {

class HistoryView final : public View {
 public:
  explicit HistoryView(ViewStore* store) : store_(store) {}
  std::string_view name() const override { return "history"; }
  std::vector<Cf> column_families() const override { return {Cf::kHistory}; }
  void Apply(const Change& change, rocksdb::WriteBatch* batch) override;
  void Flush(rocksdb::WriteBatch* batch) override;
  // Over (incident id, sequence) -> event, so independent of the records.
  Result<std::string> Digest(const ViewStore& store) const override;

  static std::string Key(std::string_view incident_id, uint64_t sequence);
  // An incident's events in sequence order from the store.
  static Result<std::vector<std::string>> Read(const ViewStore& store,
                                               std::string_view incident_id);

 private:
  // A record being gathered: slices of the events' bytes (which outlive the
  // batch's Flush) and of their length prefixes, copied once, into the batch.
  struct Pending {
    uint64_t first_sequence = 0;
    std::vector<rocksdb::Slice> parts;
  };
  ViewStore* store_;
  StringMap<Pending> pending_;
  std::deque<std::array<char, 4>> lengths_;  // stable addresses for `parts`
};

}  // namespace blotter::projections
