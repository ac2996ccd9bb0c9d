#pragma once

// The statistics view: int64 counters in the `stats` column family, merged by
// addition. Each incident counts once, as it stands now: every change takes
// away what the incident contributed before and adds what it contributes
// after, so reclassification and reopening keep the counts right.
//
//   n|<day>|<division>|<category>|<subtype>|<channel>|<disposition>   incidents
//   t|<day>|<division>|<destination>                                  transfers
//   c|<day>|<division>|<disposition>                  arrests / people rescued
//   d|<day>|<division>|<bucket>     received -> first unit dispatched (30 s buckets)
//   a|<day>|<division>|<bucket>     received -> first unit on scene (30 s buckets)
//
// <day> is the local (UTC+8) date the incident was received, YYYYMMDD;
// <bucket> is two digits, 00 = under 30 s, ..., 40 = 20 minutes or more.

#include <string>
#include <utility>
#include <vector>

#include "events/string_map.h"
#include "projections/view.h"

namespace blotter::projections {

inline constexpr int kDelayBucketSeconds = 30;
inline constexpr int kLastDelayBucket = 40;

class StatsView final : public View {
 public:
  explicit StatsView(ViewStore* store) : store_(store) {}
  std::string_view name() const override { return "stats"; }
  std::vector<Cf> column_families() const override { return {Cf::kStats}; }
  void Finish(const IncidentState& before, const IncidentState& after, uint32_t incident_slot,
              rocksdb::WriteBatch* batch) override;
  void Flush(rocksdb::WriteBatch* batch) override;

  // The counters an incident in `state` contributes, each key once: their
  // number n, the counters (*out)[0, n). The strings past n are spare
  // buffers, reused by the next call.
  static size_t Contribution(const IncidentState& state,
                             std::vector<std::pair<std::string, int64_t>>* out);
  static std::string Day(Micros t);
  static int DelayBucket(Micros delay);

 private:
  ViewStore* store_;
  // This batch's changes, one merge per counter when it commits.
  StringMap<int64_t> pending_;
  std::vector<std::pair<std::string, int64_t>> counters_;  // Finish's, kept for their buffers
};

}  // namespace blotter::projections
