#pragma once

// The history view: (incident id, sequence) -> event, so an auditor's replay
// of one incident is a prefix scan whatever the log (blotter replay --incident
// --kafka uses it when present).

#include <string>

#include "projections/view.h"

namespace blotter::projections {

class HistoryView final : public View {
 public:
  explicit HistoryView(ViewStore* store) : store_(store) {}
  std::string_view name() const override { return "history"; }
  std::vector<Cf> column_families() const override { return {Cf::kHistory}; }
  void Apply(const Change& change, rocksdb::WriteBatch* batch) override;

  static std::string Key(std::string_view incident_id, uint64_t sequence);
  // An incident's events in sequence order from the store.
  static Result<std::vector<std::string>> Read(const ViewStore& store,
                                               std::string_view incident_id);

 private:
  ViewStore* store_;
};

}  // namespace blotter::projections
