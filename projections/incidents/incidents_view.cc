#include "projections/incidents/incidents_view.h"

#include <algorithm>

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

std::vector<std::string> IncidentsView::IndexKeys(const IncidentState& s) {
  std::vector<std::string> keys;
  if (!s.exists()) return keys;
  const std::string tail = TimeAndId(s);
  // Built by hand: this runs twice for every incident a batch touches.
  auto add = [&](std::initializer_list<std::string_view> parts) {
    std::string& k = keys.emplace_back();
    k.reserve(64);
    for (std::string_view p : parts) {
      k += p;
      k += '/';
    }
    k += tail;
  };
  keys.reserve(2 + s.units.size());
  add({"s", Name(s.subtype), s.division});  // subtype unknown until classified
  if (s.open()) add({"o", Name(s.status)});
  for (const auto& u : s.units) add({"u", u.unit_id});
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

void IncidentsView::Finish(const IncidentState& before_state, const IncidentState& after_state,
                           uint32_t, rocksdb::WriteBatch* batch) {
  const auto before = IndexKeys(before_state);
  const auto after = IndexKeys(after_state);
  auto in = [](const std::vector<std::string>& keys, const std::string& k) {
    return std::binary_search(keys.begin(), keys.end(), k);
  };
  for (const auto& k : before) {
    if (!in(after, k)) batch->Delete(store_->cf(IndexCf(k)), k);
  }
  for (const auto& k : after) {
    if (!in(before, k)) batch->Put(store_->cf(IndexCf(k)), k, "");
  }
}

}  // namespace blotter::projections
