#include "projections/incidents/incidents_view.h"

#include <algorithm>
#include <span>

#include "events/position_entry.h"
#include "events/vocabulary.h"

namespace blotter::projections {

void IncidentsView::AppendTimeAndId(const IncidentState& s, std::string* out) {
  const uint64_t t = static_cast<uint64_t>(s.received_at) ^ (uint64_t{1} << 63);  // sortable sign
  PutBE(out, t, 8);
  out->push_back('/');
  out->append(s.incident_id);
}

size_t IncidentsView::IndexKeys(const IncidentState& s, std::vector<std::string>* keys) {
  if (!s.exists()) return 0;
  size_t n = 0;
  auto add = [&](std::initializer_list<std::string_view> parts) {
    if (n == keys->size()) keys->emplace_back().reserve(64);
    std::string& k = (*keys)[n++];
    k.clear();
    for (std::string_view p : parts) {
      k += p;
      k += '/';
    }
    AppendTimeAndId(s, &k);
  };
  add({"s", Name(s.subtype), s.division});  // subtype unknown until classified
  if (s.open()) add({"o", Name(s.status)});
  for (const auto& u : s.units) add({"u", u.unit_id});
  const auto first = keys->begin();
  std::sort(first, first + static_cast<std::ptrdiff_t>(n));
  return static_cast<size_t>(std::unique(first, first + static_cast<std::ptrdiff_t>(n)) - first);
}

void IncidentsView::Finish(const IncidentState& before_state, const IncidentState& after_state,
                           uint32_t, rocksdb::WriteBatch* batch) {
  const size_t nb = IndexKeys(before_state, &before_keys_);
  const size_t na = IndexKeys(after_state, &after_keys_);
  const std::span<const std::string> before(before_keys_.data(), nb);
  const std::span<const std::string> after(after_keys_.data(), na);
  auto in = [](std::span<const std::string> keys, const std::string& k) {
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
