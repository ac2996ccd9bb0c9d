#pragma once

// The links view: what the serial-case linker and investigators decided, as
// the log has it, for `blotter query linked|case|cases`.
//
// Keys in the links column family:
//   d<incident>\0<case>  -> the link as decided: score, the incident it was
//                           matched with, each factor (JSON)
//   i<incident>\0<case>  -> its status: proposed, confirmed, rejected
//   c<case>\0<incident>  -> the same status, by case
//   m<case>              -> the case it was merged into (cases meet in an
//                           incident linked to both; the older id stands)

#include <string>
#include <vector>

#include "events/json.h"
#include "projections/view.h"

namespace blotter::projections {

class LinksView final : public View {
 public:
  explicit LinksView(ViewStore* store) : store_(store) {}
  std::string_view name() const override { return "links"; }
  std::vector<Cf> column_families() const override { return {Cf::kLinks}; }
  void Apply(const Change& change, rocksdb::WriteBatch* batch) override;
  void Finish(const IncidentState& before, const IncidentState& after, uint32_t incident_slot,
              rocksdb::WriteBatch* batch) override;

 private:
  ViewStore* store_;
};

struct CaseMember {
  std::string incident_id;
  std::string status;  // proposed, confirmed, rejected
  Json link;           // the CaseLinked as decided (score, linked_incident_id, factors)
};

// The case a case id stands for now (following merges).
Result<std::string> SurvivingCase(const ViewStore& store, std::string case_id);
// The cases an incident is in (after merges), in id order.
Result<std::vector<std::string>> CasesOf(const ViewStore& store, std::string_view incident_id);
// A case's members with their links' status and details.
Result<std::vector<CaseMember>> MembersOf(const ViewStore& store, std::string_view case_id);
// Every case not merged into another.
Result<std::vector<std::string>> AllCases(const ViewStore& store);

}  // namespace blotter::projections
