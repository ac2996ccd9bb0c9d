#pragma once

// The write side: commands go through the incident aggregate into the log.
//
// A CommandHandler is the single writer of its log: it keeps the states of
// the incidents it touched, decides against them, seals the events into each
// incident's hash chain and appends them. If another writer appended in the
// meantime the log refuses the append (kConflict); the handler then reloads
// that incident from the log and decides once more.
//
// Idempotent: a command whose command_id the incident has seen returns the
// events it produced the first time, and nothing is appended. (A command that
// was rejected left no trace; repeating it decides again.)
//
// Thread-compatible: one thread at a time.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "events/aggregate.h"
#include "events/event_log.h"
#include "events/string_map.h"

namespace blotter {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros Now() = 0;
};

class SystemClock final : public Clock {
 public:
  Micros Now() override { return NowMicros(); }
};

// A clock that reads what it is set to (tests, simulation).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Micros now) : now_(now) {}
  Micros Now() override { return now_; }
  void Set(Micros now) { now_ = now; }
  void Advance(Micros by) { now_ += by; }

 private:
  Micros now_;
};

struct SubmitResult {
  std::string incident_id;
  std::vector<EncodedEvent> events;  // appended now, or first time for a repeat
  size_t event_count = 0;            // appended now (also without return_events)
  bool repeated = false;             // nothing appended: the command was seen before
};

struct CommandHandlerOptions {
  // Incident states kept in memory; past this the cache starts afresh.
  size_t max_cached_incidents = 1 << 20;
  // Simulation: a command with an occurred_at is decided and recorded as of
  // occurred_at plus this delay instead of the clock's time, so a simulated
  // history reads as if it had been written live. Unset: the clock.
  std::optional<Micros> record_after_occurrence;
  // false: results of HandleBatch carry event_count but not the events
  // (a bulk writer such as the simulator saves copying them).
  bool return_events = true;
  // For a bulk writer that is its log's only writer (the simulator):
  // HandleBatch returns once it has decided, and the batch's append runs on a
  // thread of its own while the next batch is decided. Appends keep their
  // order; reading the log (a state not in the cache, a repeat) first waits
  // for them. An append's error is not retried: it comes back from the next
  // HandleBatch or Flush(), and every later call too.
  bool pipeline_appends = false;
  // With pipeline_appends (which never decides a batch twice): the payload
  // of each accepted command is moved into its event rather than copied, for
  // a bulk writer that drops its commands afterwards.
  bool consume_payloads = false;
};

class CommandHandler {
 public:
  // `log` and `clock` must outlive the handler.
  CommandHandler(EventLog* log, Clock* clock, CommandHandlerOptions options = {});

  // Decides one command and appends its events durably.
  Result<SubmitResult> Handle(Command command);

  // Decides many commands in order and appends all their events in one
  // append. Each command succeeds or is rejected alone; if the append itself
  // fails, every command not rejected gets that error. A receive without an
  // incident id gets one (DeriveIncidentId), written back into its command.
  std::vector<Result<SubmitResult>> HandleBatch(std::span<Command> commands);

  // The state of an incident as this writer knows it (loaded from the log).
  Result<const IncidentState*> State(std::string_view incident_id);

  // Drops an incident from the cache (a finished one, to bound memory); a
  // later command for it reloads it from the log.
  void Evict(std::string_view incident_id) { cache_.erase(std::string(incident_id)); }
  // Waits for the appends in flight (pipeline_appends); their first error.
  Status Flush();
  ~CommandHandler();

 private:
  class Context;
  // `assume_new`: an incident not in the cache starts empty, unread.
  Result<IncidentState*> Load(const std::string& incident_id, bool assume_new = false);
  Result<SubmitResult> Repeat(const IncidentState& state, const std::string& command_id);
  // Decides and seals against `state`, updating it. The events are not yet appended.
  Result<SubmitResult> DecideAndSeal(IncidentState& state, Command& command);
  void Forget(const std::string& incident_id) { cache_.erase(incident_id); }

  class Appender;

  EventLog* log_;
  Clock* clock_;
  CommandHandlerOptions options_;
  StringMap<IncidentState> cache_;
  std::unique_ptr<Appender> appender_;  // with pipeline_appends
};

// The id a receive without incident_id gets: division, local date and a hash
// of the command id, e.g. "411681-20211015-3fa2c1d0". Deterministic, so a
// retried receive finds its incident.
std::string DeriveIncidentId(const Command& command, Micros occurred_at);

}  // namespace blotter
