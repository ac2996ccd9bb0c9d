#include "events/log_verify.h"

#include <fmt/format.h>

namespace blotter {

Status ForEachRecord(EventLog& log, const std::string& incident,
                     const std::function<Status(LogRecord&)>& fn) {
  if (!incident.empty()) {
    BLOTTER_ASSIGN_OR_RETURN(std::vector<LogRecord> records, log.ReadIncident(incident));
    if (records.empty()) return Status::NotFound(fmt::format("no incident {} in the log", incident));
    for (auto& r : records) BLOTTER_RETURN_IF_ERROR(fn(r));
    return Status::Ok();
  }
  BLOTTER_ASSIGN_OR_RETURN(std::vector<int64_t> ends, log.EndOffsets());
  ReaderOptions ro;
  ro.stop_at = ends;
  BLOTTER_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader, log.NewReader(ro));
  while (true) {
    auto batch = reader->Poll(4096, std::chrono::seconds(1));
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
    const std::string where = fmt::format("position {}:{}", r.position.partition, r.position.offset);
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
    BLOTTER_ASSIGN_OR_RETURN(IncidentHead h, log.Head(id));
    if (h.sequence != head.sequence || h.hash != head.hash) {
      return Status::Corruption(
          fmt::format("incident {} ends at event {} in the log but its head records event {} "
                      "(events deleted)",
                      id, head.sequence, h.sequence));
    }
  }
  sum.incidents = chains.incidents();
  return sum;
}

}  // namespace blotter
