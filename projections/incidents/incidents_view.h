#pragma once

// The incidents view: each incident's current state (kept by the runner in
// the `incidents` column family) and secondary indexes in `incident_index`,
// all valued empty, newest last within a prefix:
//   s/<subtype>/<division>/<received BE>/<id>     by subtype and region
//   k/<category>/<division>/<received BE>/<id>    by category and region
//   r/<division>/<received BE>/<id>               by region
//   o/<status>/<received BE>/<id>                 open incidents by status
//   u/<unit>/<received BE>/<id>                   by unit

#include <string>
#include <vector>

#include "projections/view.h"

namespace blotter::projections {

class IncidentsView final : public View {
 public:
  explicit IncidentsView(ViewStore* store) : store_(store) {}
  std::string_view name() const override { return "incidents"; }
  std::vector<Cf> column_families() const override { return {Cf::kIncidents, Cf::kIncidentIndex}; }
  void Finish(const IncidentState& before, const IncidentState& after,
              rocksdb::WriteBatch* batch) override;

  // The index keys of a state, sorted, each once (none for an incident that
  // does not exist).
  static std::vector<std::string> IndexKeys(const IncidentState& state);
  // "<received BE>/<id>": the tail every index key ends with.
  static std::string TimeAndId(const IncidentState& state);

 private:
  ViewStore* store_;
};

}  // namespace blotter::projections
