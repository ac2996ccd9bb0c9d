#include "projections/incidents/incidents_view.h"

#include "events/vocabulary.h"

namespace blotter::projections {

std::string IncidentsView::TimeAndId(const IncidentState& s) {
  std::string out;
  const uint64_t t = static_cast<uint64_t>(s.received_at) ^ (uint64_t{1} << 63);  // sortable sign
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((t >> (8 * i)) & 0xff));
  out.push_back('/');
  out.append(s.incident_id);
  return out;
}

std::set<std::string> IncidentsView::IndexKeys(const IncidentState& s) {
  std::set<std::string> keys;
  if (!s.exists()) return keys;
  const std::string tail = TimeAndId(s);
  keys.insert("r/" + s.division + "/" + tail);
  if (s.category != fb::Category::unknown) {
    keys.insert("k/" + std::string(Name(s.category)) + "/" + s.division + "/" + tail);
    keys.insert("s/" + std::string(Name(s.subtype)) + "/" + s.division + "/" + tail);
  }
  if (s.open()) keys.insert("o/" + std::string(Name(s.status)) + "/" + tail);
  for (const auto& u : s.units) keys.insert("u/" + u.unit_id + "/" + tail);
  return keys;
}

void IncidentsView::Finish(const IncidentState& before_state, const IncidentState& after_state,
                           rocksdb::WriteBatch* batch) {
  const auto before = IndexKeys(before_state);
  const auto after = IndexKeys(after_state);
  for (const auto& k : before) {
    if (!after.contains(k)) batch->Delete(store_->cf(Cf::kIncidentIndex), k);
  }
  for (const auto& k : after) {
    if (!before.contains(k)) batch->Put(store_->cf(Cf::kIncidentIndex), k, "");
  }
}

}  // namespace blotter::projections
