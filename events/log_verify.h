#pragma once

// Audit helpers over a whole log: read every record in log order, and verify
// decoding, hash chains and sequences.

#include <functional>
#include <string>

#include "events/event_log.h"
#include "events/hash_chain.h"

namespace blotter {

// Calls `fn` for each record of the log in log order (append order where the
// log has one, else partition by partition), up to the end offsets found at
// the start; or, when `incident` is not empty, for that incident's records in sequence order
// (kNotFound if it has none). Stops at the first error `fn` returns.
Status ForEachRecord(EventLog& log, const std::string& incident,
                     const std::function<Status(LogRecord&)>& fn);

// Calls `fn` for each record a reader opened with `options` returns, until
// it reaches its stop offsets (`options.stop_at` must be set). Stops at the
// first error `fn` returns.
Status ForEachRecordIn(EventLog& log, const ReaderOptions& options,
                       const std::function<Status(LogRecord&)>& fn);

struct VerifySummary {
  uint64_t events = 0;
  size_t incidents = 0;
  Micros first_recorded = 0;
  Micros last_recorded = 0;
};

// Verifies every event (or one incident's): it decodes, its hash matches its
// content, its sequence follows its predecessor and its prev_hash is the
// predecessor's hash; and each incident's last event is the one the log's
// head records (a deleted tail). kCorruption names the first bad event and
// its position.
Result<VerifySummary> VerifyLog(EventLog& log, const std::string& incident = "");

}  // namespace blotter
