#include "events/event_log.h"

#include <fmt/format.h>

namespace blotter {

int32_t Murmur2(std::string_view key) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  const size_t length = key.size();
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  const size_t length4 = length / 4;
  for (size_t i = 0; i < length4; ++i) {
    const size_t i4 = i * 4;
    uint32_t k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) |
                 (static_cast<uint32_t>(data[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(data[(length & ~3u) + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[(length & ~3u) + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= data[length & ~3u];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t KafkaPartition(std::string_view key, int32_t partitions) {
  return static_cast<int32_t>((static_cast<uint32_t>(Murmur2(key)) & 0x7fffffff) %
                              static_cast<uint32_t>(partitions));
}

Result<std::vector<Position>> ReaderStart(const ReaderOptions& options, int32_t partitions) {
  if (!options.group.empty()) {
    if (!options.start.empty() || options.stop_at || !options.start_for) {
      return Status::InvalidArgument(
          "a consumer-group reader takes start_for, not start or stop_at");
    }
    return std::vector<Position>{};
  }
  std::vector<Position> start = options.start;
  if (start.empty()) {
    for (int32_t p = 0; p < partitions; ++p) start.push_back({p, 0});
  }
  for (const auto& p : start) {
    if (p.partition < 0 || p.partition >= partitions || p.offset < 0) {
      return Status::InvalidArgument(fmt::format("no position {}:{} in a log of {} partitions",
                                                 p.partition, p.offset, partitions));
    }
  }
  if (options.stop_at && options.stop_at->size() != start.size()) {
    return Status::InvalidArgument("stop_at needs one offset per partition read");
  }
  return start;
}

Status NoEventAt(const Position& p) {
  return Status::NotFound(fmt::format("the log holds no event at {}:{}", p.partition, p.offset));
}

Result<std::vector<LogRecord>> EventLog::ReadAt(std::span<const Position> positions) {
  std::vector<LogRecord> out;
  for (const Position& p : positions) {
    ReaderOptions ro;
    ro.start = {p};
    ro.stop_at = std::vector<int64_t>{p.offset + 1};
    BLOTTER_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader, NewReader(ro));
    auto got = reader->Poll(1, std::chrono::seconds(30));
    if (!got.ok() && got.status().code() != StatusCode::kEndOfStream) return got.status();
    if (!got.ok() || got->empty() || (*got)[0].position != p) return NoEventAt(p);
    out.push_back(std::move((*got)[0]));
  }
  return out;
}

int32_t EventLog::PartitionOf(std::string_view incident_id) const {
  return KafkaPartition(incident_id, partitions());
}

}  // namespace blotter
