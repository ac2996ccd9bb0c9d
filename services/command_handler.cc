#include "services/command_handler.h"

#include <fmt/format.h>

#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "events/hash_chain.h"
#include "events/incident_key.h"
#include "events/table_options.h"

namespace blotter {

class CommandHandler::Context final : public DecideContext {
 public:
  Context(CommandHandler* h, Micros now) : h_(h), now_(now) {}
  Micros Now() const override { return now_; }
  bool IncidentExists(std::string_view id) const override {
    auto s = h_->Load(std::string(id));
    return s.ok() && (*s)->exists();
  }

 private:
  CommandHandler* h_;
  Micros now_;
};

// Appends batches in order on a thread of its own. Its first error sticks.
class CommandHandler::Appender {
 public:
  explicit Appender(EventLog* log) : log_(log) {
    thread_ = std::thread([this] {
      PerfCountersOff();  // its appends' memtable inserts
      Loop();
    });
  }
  ~Appender() {
    Drain().IgnoreError();
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Queues `events` behind at most one batch; the first error so far.
  Status Push(std::vector<EncodedEvent> events) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < 2 || !error_.ok(); });
    if (error_.ok()) queue_.push_back(std::move(events));
    cv_.notify_all();
    return error_;
  }

  // Waits until everything queued is appended; the first error so far.
  Status Drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.empty() || !error_.ok(); });
    return error_;
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return quit_ || !queue_.empty(); });
      if (queue_.empty()) return;
      std::vector<EncodedEvent>& events = queue_.front();
      lock.unlock();
      Status st = log_->Append(events).status();
      lock.lock();
      // Leaves the queue only once appended, so Drain waits for it.
      queue_.pop_front();
      if (!st.ok() && error_.ok()) error_ = std::move(st);
      if (!error_.ok()) queue_.clear();
      cv_.notify_all();
    }
  }

  EventLog* log_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<EncodedEvent>> queue_;
  Status error_;
  bool quit_ = false;
  std::thread thread_;
};

CommandHandler::CommandHandler(EventLog* log, Clock* clock, CommandHandlerOptions options)
    : log_(log), clock_(clock), options_(options) {
  if (options_.pipeline_appends) appender_ = std::make_unique<Appender>(log_);
}

CommandHandler::~CommandHandler() = default;

Status CommandHandler::Flush() { return appender_ ? appender_->Drain() : Status::Ok(); }

std::string DeriveIncidentId(const Command& c, Micros occurred_at) {
  std::string division = "000000";
  if (const auto* r = c.payload.AsIncidentReceived(); r && r->location) {
    division = r->location->division;
  }
  return IncidentIdPrefix(division, occurred_at) + ToHex(Sha256(c.command_id)).substr(0, 8);
}

Result<IncidentState*> CommandHandler::Load(const std::string& id, bool assume_new) {
  if (auto it = cache_.find(id); it != cache_.end()) return &it->second;
  IncidentState state;
  state.incident_id = id;
  state.last_hash = GenesisHash();
  std::vector<LogRecord> records;
  if (!assume_new) {
    BLOTTER_RETURN_IF_ERROR(Flush());
    BLOTTER_ASSIGN_OR_RETURN(records, log_->ReadIncident(id));
  }
  for (const auto& r : records) {
    auto e = DecodeEvent(r.bytes);
    if (!e.ok()) {
      return e.status().WithContext(
          fmt::format("incident {} at {}:{}", id, r.position.partition, r.position.offset));
    }
    Apply(state, **e);
  }
  if (cache_.size() >= options_.max_cached_incidents) cache_.clear();
  return &cache_.emplace(id, std::move(state)).first->second;
}

Result<const IncidentState*> CommandHandler::State(std::string_view incident_id) {
  BLOTTER_ASSIGN_OR_RETURN(IncidentState * s, Load(std::string(incident_id)));
  return s;
}

Result<SubmitResult> CommandHandler::Repeat(const IncidentState& state,
                                            const std::string& command_id) {
  const auto [first, last] = *state.commands.Find(command_id);
  SubmitResult out;
  out.incident_id = state.incident_id;
  out.repeated = true;
  BLOTTER_RETURN_IF_ERROR(Flush());
  BLOTTER_ASSIGN_OR_RETURN(std::vector<LogRecord> records, log_->ReadIncident(state.incident_id));
  for (auto& r : records) {
    BLOTTER_ASSIGN_OR_RETURN(EncodedEvent e, EncodedEvent::FromBytes(std::move(r.bytes)));
    if (e.sequence() >= first && e.sequence() <= last) out.events.push_back(std::move(e));
  }
  return out;
}

Result<SubmitResult> CommandHandler::DecideAndSeal(IncidentState& state, Command& command) {
  const Micros now = options_.record_after_occurrence && command.occurred_at != 0
                         ? command.occurred_at + *options_.record_after_occurrence
                         : clock_->Now();
  Context ctx(this, now);
  BLOTTER_ASSIGN_OR_RETURN(std::vector<fb::EventT> decided,
                           options_.consume_payloads && appender_
                               ? Decide(state, std::move(command), ctx)
                               : Decide(state, std::as_const(command), ctx));
  SubmitResult out;
  out.incident_id = command.incident_id;
  // Applied to the cached state as each event is sealed, not to a copy: only
  // a failed seal (a broken invariant) can stop half way, and then the state
  // is forgotten, to be read again from the log.
  for (size_t i = 0; i < decided.size(); ++i) {
    fb::EventT& e = decided[i];
    char seq[24];
    const auto end = std::to_chars(seq, seq + sizeof seq, e.sequence).ptr;
    e.event_id.reserve(e.incident_id.size() + 1 + (end - seq));
    e.event_id.append(e.incident_id).append(1, '#').append(seq, end);
    // recorded_at never runs backwards within an incident, whatever the clock does.
    e.recorded_at = std::max(now, state.last_recorded_at);
    const std::string& prev = state.version == 0 ? GenesisHash() : state.last_hash;
    e.prev_hash.assign(prev.begin(), prev.end());
    auto sealed = Seal(e);
    if (!sealed.ok()) {
      if (i > 0) Forget(std::string(state.incident_id));
      return sealed.status();
    }
    Apply(state, *sealed->event());
    out.events.push_back(std::move(sealed).value());
  }
  return out;
}

Result<SubmitResult> CommandHandler::Handle(Command command) {
  return std::move(HandleBatch(std::span<Command>(&command, 1)).front());
}

std::vector<Result<SubmitResult>> CommandHandler::HandleBatch(std::span<Command> commands) {
  std::vector<Result<SubmitResult>> results;
  results.reserve(commands.size());
  for (int attempt = 0; attempt < 2; ++attempt) {
    results.clear();
    // Incidents this batch changed, to forget (and reload) if the append fails.
    std::vector<std::string> touched;
    std::vector<EncodedEvent> all;
    for (Command& c : commands) {
      if (c.incident_id.empty() && c.payload.type == fb::Payload::IncidentReceived &&
          !c.command_id.empty()) {
        c.incident_id = DeriveIncidentId(c, c.occurred_at ? c.occurred_at : clock_->Now());
      }
      if (c.incident_id.empty()) {
        results.push_back(Status::InvalidArgument("command needs an incident_id"));
        continue;
      }
      // A receive usually opens a new incident: take it as new without
      // reading the log. If it was not, the log refuses the append (its
      // single-writer check) and the second attempt reads it.
      auto state =
          Load(c.incident_id, attempt == 0 && c.payload.type == fb::Payload::IncidentReceived);
      if (!state.ok()) {
        results.push_back(state.status());
        continue;
      }
      IncidentState& s = **state;
      if (!c.command_id.empty() && s.commands.contains(c.command_id)) {
        results.push_back(Repeat(s, c.command_id));
        continue;
      }
      touched.push_back(c.incident_id);
      auto r = DecideAndSeal(s, c);
      if (r.ok()) {
        r->event_count = r->events.size();
        if (options_.return_events) {
          for (const auto& e : r->events) all.push_back(e);
        } else {
          for (auto& e : r->events) all.push_back(std::move(e));
          r->events.clear();
        }
      }
      results.push_back(std::move(r));
    }
    if (all.empty()) return results;
    if (appender_) {
      const Status queued = appender_->Push(std::move(all));
      if (!queued.ok()) {
        for (auto& r : results) {
          if (r.ok()) r = queued;
        }
      }
      return results;
    }
    auto appended = log_->Append(all);
    if (appended.ok()) return results;
    // Nothing was appended: drop what this batch did to the cached states.
    for (const auto& id : touched) Forget(id);
    if (appended.status().code() != StatusCode::kConflict || attempt == 1) {
      for (auto& r : results) {
        if (r.ok() && !r->repeated) r = appended.status();
      }
      return results;
    }
    // Another writer appended to one of these incidents: reload and decide again.
  }
  return results;
}

}  // namespace blotter
