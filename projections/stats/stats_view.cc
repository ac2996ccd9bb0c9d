#include "projections/stats/stats_view.h"

#include <fmt/format.h>

#include <chrono>

#include "events/vocabulary.h"

namespace blotter::projections {

std::string StatsView::Day(Micros t) {
  // The calendar day where FormatTime puts t (China Standard Time).
  const std::chrono::year_month_day ymd(CivilDay(t));
  const int y = static_cast<int>(ymd.year());
  const unsigned digits[] = {static_cast<unsigned>(y), static_cast<unsigned>(ymd.month()),
                             static_cast<unsigned>(ymd.day())};
  if (y < 0 || y > 9999) return fmt::format("{:04}{:02}{:02}", y, digits[1], digits[2]);
  std::string out(8, '0');
  for (int i = 3, v = digits[0]; i >= 0; --i, v /= 10) out[i] = static_cast<char>('0' + v % 10);
  for (int f = 1; f <= 2; ++f) {
    out[2 + 2 * f] = static_cast<char>('0' + digits[f] / 10);
    out[3 + 2 * f] = static_cast<char>('0' + digits[f] % 10);
  }
  return out;
}

int StatsView::DelayBucket(Micros delay) {
  if (delay < 0) return 0;
  return static_cast<int>(
      std::min<int64_t>(kLastDelayBucket, delay / (kDelayBucketSeconds * kMicrosPerSecond)));
}

size_t StatsView::Contribution(const IncidentState& s,
                               std::vector<std::pair<std::string, int64_t>>* out) {
  if (!s.exists()) return 0;
  // Built by hand, not formatted, into the strings `out` holds: this runs
  // twice for every incident a rebuild's batch touches.
  const std::string day = Day(s.received_at);
  size_t used = 0;
  auto add = [&](char kind, std::initializer_list<std::string_view> parts, int64_t n) {
    if (used == out->size()) out->emplace_back().first.reserve(64);
    auto& [k, count] = (*out)[used++];
    count = n;
    k.clear();
    k += kind;
    k += '|';
    k += day;
    k += '|';
    k += s.division;
    for (std::string_view p : parts) {
      k += '|';
      k += p;
    }
  };
  auto bucket = [](Micros delay, char* two) {
    const int b = DelayBucket(delay);
    two[0] = static_cast<char>('0' + b / 10);
    two[1] = static_cast<char>('0' + b % 10);
    return std::string_view(two, 2);
  };
  add('n', {Name(s.category), Name(s.subtype), Name(s.channel), Name(s.disposition)}, 1);
  if (s.status == IncidentStatus::kTransferred) add('t', {Name(s.transferred_to)}, 1);
  if (s.disposition_count > 0) add('c', {Name(s.disposition)}, s.disposition_count);
  char two[2];
  if (s.first_dispatched_at) {
    add('d', {bucket(s.first_dispatched_at - s.received_at, two)}, 1);
  }
  if (s.first_arrived_at) add('a', {bucket(s.first_arrived_at - s.received_at, two)}, 1);
  return used;
}

void StatsView::Finish(const IncidentState& before, const IncidentState& after, uint32_t,
                       rocksdb::WriteBatch* batch) {
  for (size_t i = 0, n = Contribution(after, &counters_); i < n; ++i) {
    pending_[counters_[i].first] += counters_[i].second;
  }
  for (size_t i = 0, n = Contribution(before, &counters_); i < n; ++i) {
    pending_[counters_[i].first] -= counters_[i].second;
  }
}

void StatsView::Flush(rocksdb::WriteBatch* batch) {
  for (const auto& [k, v] : pending_) {
    if (v != 0) batch->Merge(store_->cf(Cf::kStats), k, EncodeCounter(v));
  }
  pending_.clear();
}

}  // namespace blotter::projections
