#include "projections/stats/stats_view.h"

#include <fmt/format.h>

#include <chrono>

#include "events/vocabulary.h"

namespace blotter::projections {

std::string StatsView::Day(Micros t) {
  // The calendar day where FormatTime puts t (China Standard Time).
  const Micros local = t + kDisplayOffsetMinutes * kMicrosPerMinute;
  const auto days = std::chrono::sys_days(std::chrono::days(
      local >= 0 ? local / kMicrosPerDay : -((-local + kMicrosPerDay - 1) / kMicrosPerDay)));
  const std::chrono::year_month_day ymd(days);
  return fmt::format("{:04}{:02}{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

int StatsView::DelayBucket(Micros delay) {
  if (delay < 0) return 0;
  return static_cast<int>(
      std::min<int64_t>(kLastDelayBucket, delay / (kDelayBucketSeconds * kMicrosPerSecond)));
}

std::map<std::string, int64_t> StatsView::Contribution(const IncidentState& s) {
  std::map<std::string, int64_t> out;
  if (!s.exists()) return out;
  const std::string where = Day(s.received_at) + "|" + s.division;
  out[fmt::format("n|{}|{}|{}|{}|{}", where, Name(s.category), Name(s.subtype), Name(s.channel),
                  Name(s.disposition))] = 1;
  if (s.status == IncidentStatus::kTransferred) {
    out[fmt::format("t|{}|{}", where, Name(s.transferred_to))] = 1;
  }
  if (s.disposition_count > 0) {
    out[fmt::format("c|{}|{}", where, Name(s.disposition))] = s.disposition_count;
  }
  if (s.first_dispatched_at) {
    out[fmt::format("d|{}|{:02}", where, DelayBucket(s.first_dispatched_at - s.received_at))] = 1;
  }
  if (s.first_arrived_at) {
    out[fmt::format("a|{}|{:02}", where, DelayBucket(s.first_arrived_at - s.received_at))] = 1;
  }
  return out;
}

void StatsView::Finish(const IncidentState& before, const IncidentState& after,
                       rocksdb::WriteBatch* batch) {
  for (const auto& [k, v] : Contribution(after)) pending_[k] += v;
  for (const auto& [k, v] : Contribution(before)) pending_[k] -= v;
}

void StatsView::Flush(rocksdb::WriteBatch* batch) {
  for (const auto& [k, v] : pending_) {
    if (v != 0) batch->Merge(store_->cf(Cf::kStats), k, EncodeCounter(v));
  }
  pending_.clear();
}

}  // namespace blotter::projections
