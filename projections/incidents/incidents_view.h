#pragma once

// The incidents view: each incident's current state (kept by the runner in
// the `incidents` column family) and secondary indexes, all valued empty,
// newest last within a prefix; in `incident_index`:
//   r/<division>/<received BE>/<id>               by region
// in `incident_index_b`:
//   s/<subtype>/<division>/<received BE>/<id>     by subtype (so by category:
//                                                 its subtypes) and region
//   o/<status>/<received BE>/<id>                 open incidents by status
// and in `incident_index_c`:
//   u/<unit>/<received BE>/<id>                   by unit
// Three column families rather than one, so that the compaction a catch-up
// ends with (store.h) keeps both cores busy: one merge cannot be split, and
// the first two are about the same size, the third a third of either. No index by
// category: a subtype belongs to one category (CategoryOf), except `other`,
// so a query by category reads its subtypes' ranges and checks `other`'s
// incidents' states; a fifth of the index's writes saved.

#include <string>
#include <vector>

#include "projections/view.h"

namespace blotter::projections {

class IncidentsView final : public View {
 public:
  explicit IncidentsView(ViewStore* store) : store_(store) {}
  std::string_view name() const override { return "incidents"; }
  std::vector<Cf> column_families() const override {
    return {Cf::kIncidents, Cf::kIncidentIndex, Cf::kIncidentIndexB, Cf::kIncidentIndexC};
  }
  void Finish(const IncidentState& before, const IncidentState& after,
              rocksdb::WriteBatch* batch) override;

  // The index keys of a state, sorted, each once (none for an incident that
  // does not exist).
  static std::vector<std::string> IndexKeys(const IncidentState& state);
  // The column family that holds an index key (or a prefix of one).
  static Cf IndexCf(std::string_view key) {
    if (key.starts_with("r/")) return Cf::kIncidentIndex;
    return key.starts_with("u/") ? Cf::kIncidentIndexC : Cf::kIncidentIndexB;
  }
  // "<received BE>/<id>": the tail every index key ends with.
  static std::string TimeAndId(const IncidentState& state);

 private:
  ViewStore* store_;
};

}  // namespace blotter::projections
