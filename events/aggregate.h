#pragma once

// The incident aggregate: Fold(events) -> state, Decide(state, command) ->
// events or a rejection naming the rule broken. Pure functions of their
// inputs; the single writer (services/) owns persistence and the clock.

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/codec.h"
#include "events/json.h"
#include "events/string_map.h"

namespace blotter {

enum class IncidentStatus {
  kNone,  // no event yet: the incident does not exist
  kReceived,
  kClassified,
  kDispatched,  // at least one unit assigned, none arrived
  kOnScene,     // at least one unit arrived
  kResolved,
  kTransferred,  // handed to another agency: police handling ended
};
std::string_view Name(IncidentStatus s);

enum class LinkStatus { kProposed, kConfirmed, kRejected };
std::string_view Name(LinkStatus s);

struct UnitState {
  std::string unit_id;
  fb::UnitKind kind = fb::UnitKind::unknown;
  bool reinforcement = false;
  Micros assigned_at = 0;
  Micros arrived_at = 0;  // 0: not arrived
};

// Command id -> the sequences it produced [first, last], for idempotent
// retries. An incident has a few commands, so a list searched from its newest
// end, with a hash index only once it is long: a hash map per incident, its
// inserts and frees, had been 8% of the simulating writer's deciding thread.
class CommandRanges {
 public:
  using Range = std::pair<uint64_t, uint64_t>;
  // Extends the command's range to `sequence`, or adds it.
  void Record(std::string_view command_id, uint64_t sequence);
  const Range* Find(std::string_view command_id) const;
  bool contains(std::string_view command_id) const { return Find(command_id) != nullptr; }
  size_t size() const { return list_.size(); }
  void clear() {
    list_.clear();
    index_.clear();
  }

 private:
  static constexpr size_t kIndexFrom = 16;
  template <typename Self>  // const or not
  static auto* Lookup(Self& self, std::string_view command_id);
  std::vector<std::pair<std::string, Range>> list_;
  StringMap<size_t> index_;  // id -> list_ position, once list_ is long
};

struct IncidentState {
  std::string incident_id;
  uint64_t version = 0;   // sequence of the last event; 0 if none
  std::string last_hash;  // hash of the last event (GenesisHash() if none)
  Micros last_recorded_at = 0;
  IncidentStatus status = IncidentStatus::kNone;

  fb::Channel channel = fb::Channel::unknown;
  std::string division;
  fb::Category reported_category = fb::Category::unknown;
  fb::Category category = fb::Category::unknown;
  fb::Subtype subtype = fb::Subtype::unknown;
  std::vector<UnitState> units;
  fb::Disposition disposition = fb::Disposition::unknown;
  uint32_t disposition_count = 0;  // arrests or people rescued
  fb::TransferDestination transferred_to = fb::TransferDestination::unknown;
  Micros received_at = 0, classified_at = 0, first_dispatched_at = 0, first_arrived_at = 0,
         closed_at = 0;
  int reopen_count = 0;
  int note_count = 0;
  std::map<std::string, LinkStatus, std::less<>> cases;
  CommandRanges commands;

  bool exists() const { return status != IncidentStatus::kNone; }
  bool open() const {
    return exists() && status != IncidentStatus::kResolved &&
           status != IncidentStatus::kTransferred;
  }
  const UnitState* FindUnit(std::string_view unit_id) const;
};

// Applies one verified event. Apply trusts the log: it records what happened
// even where Decide would have refused (projections check rules themselves).
// Projections, which never decide, can skip the command ids (kNoCommands).
enum class ApplyMode { kWithCommands, kNoCommands };
void Apply(IncidentState& state, const fb::Event& event, ApplyMode mode = ApplyMode::kWithCommands);
IncidentState Fold(std::span<const fb::Event* const> events);

// The state as one JSON object (for replay --as-of and queries).
Json StateToJson(const IncidentState& state);

// A request to change an incident, as a dispatch console or service sends it.
// JSON form: {"command_id", "type", "incident_id", "actor", "at",
// "correlation_id", ...the payload's fields}, with type one of receive,
// classify, assign, arrive, transfer, resolve, reopen, note, link,
// confirm_link, reject_link.
struct Command {
  std::string command_id;  // client-chosen; a repeat returns the first result
  std::string incident_id;
  std::string actor;
  std::string correlation_id;
  Micros occurred_at = 0;  // 0: now
  fb::PayloadUnion payload;
};

Result<Command> CommandFromJson(std::string_view line);
std::string_view CommandTypeName(fb::Payload type);

// What Decide may ask beyond the incident itself.
class DecideContext {
 public:
  virtual ~DecideContext() = default;
  virtual Micros Now() const = 0;
  virtual bool IncidentExists(std::string_view incident_id) const = 0;
};

// How far in the future an occurred_at may lie (clock skew between consoles).
inline constexpr Micros kMaxClockSkew = 5 * kMicrosPerMinute;

// Checks an event already in the log against the rules Decide enforces, as
// if it were decided now on `state` (with its own recorded time as "now"; other
// incidents are assumed to exist). Projections dead-letter what fails.
Status CheckEvent(const IncidentState& state, const fb::Event& event);

// Decides the events a command causes. On success the events carry incident
// id, sequence, occurred_at, actor, correlation and causation ids, schema
// version and payload; the writer adds event_id, recorded_at and the hashes.
// A rejection is kFailedPrecondition (a rule), kInvalidArgument (malformed),
// kAlreadyExists or kNotFound, with the rule in the message.
Result<std::vector<fb::EventT>> Decide(const IncidentState& state, const Command& command,
                                       const DecideContext& context);
// The same, moving the payload out of `command` into the event when the
// command is accepted (left as it was when rejected).
Result<std::vector<fb::EventT>> Decide(const IncidentState& state, Command&& command,
                                       const DecideContext& context);

}  // namespace blotter
