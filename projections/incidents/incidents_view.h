#pragma once

// The incidents view: each incident's current state (kept by the runner in
// the `incidents` column family) and secondary indexes, all valued empty,
// newest last within a prefix; in `incident_index`:
//   r/<division>/<received BE>/<id>               by region
//   k/<category>/<division>/<received BE>/<id>    by category and region
// and in `incident_index_b`:
//   s/<subtype>/<division>/<received BE>/<id>     by subtype and region
//   o/<status>/<received BE>/<id>                 open incidents by status
//   u/<unit>/<received BE>/<id>                   by unit
// Two column families of about equal size rather than one, so that the
// compaction a catch-up ends with (store.h) runs on both cores.

#include <string>
#include <vector>

#include "projections/view.h"

namespace blotter::projections {

class IncidentsView final : public View {
 public:
  explicit IncidentsView(ViewStore* store) : store_(store) {}
  std::string_view name() const override { return "incidents"; }
  std::vector<Cf> column_families() const override {
    return {Cf::kIncidents, Cf::kIncidentIndex, Cf::kIncidentIndexB};
  }
  void Finish(const IncidentState& before, const IncidentState& after,
              rocksdb::WriteBatch* batch) override;

  // The index keys of a state, sorted, each once (none for an incident that
  // does not exist).
  static std::vector<std::string> IndexKeys(const IncidentState& state);
  // The column family that holds an index key (or a prefix of one).
  static Cf IndexCf(std::string_view key) {
    return key.starts_with("r/") || key.starts_with("k/") ? Cf::kIncidentIndex
                                                          : Cf::kIncidentIndexB;
  }
  // "<received BE>/<id>": the tail every index key ends with.
  static std::string TimeAndId(const IncidentState& state);

 private:
  ViewStore* store_;
};

}  // namespace blotter::projections
