#include "events/log_verify.h"

#include <fmt/format.h>

namespace blotter {

Status ForEachRecord(EventLog& log, const std::string& incident,
                     const std::function<Status(LogRecord&)>& fn) {
  if (!incident.empty()) {
    BLOTTER_ASSIGN_OR_RETURN(std::vector<LogRecord> records, log.ReadIncident(incident));
    if (records.empty())
      return Status::NotFound(fmt::format("no incident {} in the log", incident));
    for (auto& r : records) BLOTTER_RETURN_IF_ERROR(fn(r));
    return Status::Ok();
  }
  BLOTTER_ASSIGN_OR_RETURN(std::vector<int64_t> ends, log.EndOffsets());
  // One reader over everything where that is append order; else partition by
  // partition, so the order is the same on every replay.
  std::vector<ReaderOptions> passes;
  if (log.TotallyOrdered()) {
    passes.emplace_back().stop_at = ends;
  } else {
    for (int32_t p = 0; p < log.partitions(); ++p) {
      ReaderOptions& ro = passes.emplace_back();
      ro.start = {Position{p, 0}};
      ro.stop_at = std::vector<int64_t>{ends[p]};
    }
  }
  for (const ReaderOptions& ro : passes) BLOTTER_RETURN_IF_ERROR(ForEachRecordIn(log, ro, fn));
  return Status::Ok();
}

Status ForEachRecordIn(EventLog& log, const ReaderOptions& options,
                       const std::function<Status(LogRecord&)>& fn) {
  BLOTTER_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader, log.NewReader(options));
  while (true) {
    auto batch = reader->Poll(4096, std::chrono::seconds(30));
    if (!batch.ok()) {
      if (batch.status().code() == StatusCode::kEndOfStream) return Status::Ok();
      return batch.status();
    }
    for (auto& r : *batch) BLOTTER_RETURN_IF_ERROR(fn(r));
  }
}

Result<VerifySummary> VerifyLog(EventLog& log, const std::string& incident) {
  ChainVerifier chains;
  VerifySummary sum;
  Status st = ForEachRecord(log, incident, [&](LogRecord& r) -> Status {
    const std::string where =
        fmt::format("position {}:{}", r.position.partition, r.position.offset);
    auto e = DecodeEvent(r.bytes);
    if (!e.ok()) return e.status().WithContext(where);
    BLOTTER_RETURN_IF_ERROR(chains.Check(**e).WithContext(where));
    const Micros t = (*e)->recorded_at();
    if (sum.events == 0 || t < sum.first_recorded) sum.first_recorded = t;
    sum.last_recorded = std::max(sum.last_recorded, t);
    ++sum.events;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  // Where the log keeps each incident's head apart, a deleted tail shows.
  for (const auto& [id, head] : chains.heads()) {
    if (!log.KeepsHeads()) break;
    auto h = log.Head(id);
    if (!h.ok()) {
      // The log's own check of its head against the event found a mismatch.
      if (h.status().code() != StatusCode::kCorruption) return h.status();
      return Status::Corruption(fmt::format("incident {} ends at event {} in the log; {}", id,
                                            head.sequence, h.status().message()));
    }
    if (h->sequence != head.sequence || h->hash != head.hash) {
      return Status::Corruption(
          fmt::format("incident {} ends at event {} in the log but its head records event {} "
                      "(events deleted or altered)",
                      id, head.sequence, h->sequence));
    }
  }
  sum.incidents = chains.incidents();
  return sum;
}

}  // namespace blotter
