#pragma once

// The incidents view: each incident's current state (kept by the runner in
// the `incidents` column family) and secondary indexes, all valued empty,
// newest last within a prefix; in `incident_index`:
//   s/<subtype>/<division>/<received BE>/<id>     by subtype and region
// in `incident_index_b`:
//   o/<status>/<received BE>/<id>                 open incidents by status
// and in `incident_index_c`:
//   u/<unit>/<received BE>/<id>                   by unit
// One index serves subtype, category and region: an incident not yet
// classified is under subtype `unknown`, so a query by region reads every
// subtype's range of its division prefix (some fifty seeks), and one by
// category its subtypes' ranges: a subtype belongs to one category
// (CategoryOf), except `other`, whose incidents' states are checked. An index
// by region and one by category would double the index's writes.
// Three column families: the end of a catch-up compacts them side by side
// (store.h), and the open index, which churns, stays small.

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
  void Finish(const IncidentState& before, const IncidentState& after, uint32_t incident_slot,
              rocksdb::WriteBatch* batch) override;

  // The index keys of a state, sorted, each once (none for an incident that
  // does not exist): their number n, the keys (*keys)[0, n). The strings
  // past n are spare buffers, reused by the next call (this runs twice for
  // every incident a batch touches).
  static size_t IndexKeys(const IncidentState& state, std::vector<std::string>* keys);
  // The column family that holds an index key (or a prefix of one).
  static Cf IndexCf(std::string_view key) {
    if (key.starts_with("s/")) return Cf::kIncidentIndex;
    return key.starts_with("u/") ? Cf::kIncidentIndexC : Cf::kIncidentIndexB;
  }

 private:
  // Appends "<received BE>/<id>": the tail every index key ends with.
  static void AppendTimeAndId(const IncidentState& state, std::string* out);

  ViewStore* store_;
  std::vector<std::string> before_keys_, after_keys_;  // Finish's, kept for their buffers
};

}  // namespace blotter::projections
