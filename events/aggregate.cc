#include "events/aggregate.h"

#include <fmt/format.h>

#include <cmath>

#include "events/hash_chain.h"
#include "events/vocabulary.h"

namespace blotter {

std::string_view Name(IncidentStatus s) {
  switch (s) {
    case IncidentStatus::kNone:
      return "none";
    case IncidentStatus::kReceived:
      return "received";
    case IncidentStatus::kClassified:
      return "classified";
    case IncidentStatus::kDispatched:
      return "dispatched";
    case IncidentStatus::kOnScene:
      return "on_scene";
    case IncidentStatus::kResolved:
      return "resolved";
    case IncidentStatus::kTransferred:
      return "transferred";
  }
  return "?";
}

std::string_view Name(LinkStatus s) {
  switch (s) {
    case LinkStatus::kProposed:
      return "proposed";
    case LinkStatus::kConfirmed:
      return "confirmed";
    case LinkStatus::kRejected:
      return "rejected";
  }
  return "?";
}

const UnitState* IncidentState::FindUnit(std::string_view unit_id) const {
  for (const auto& u : units) {
    if (u.unit_id == unit_id) return &u;
  }
  return nullptr;
}

// ---------------------------------------------------------------- fold

namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

IncidentStatus OpenStatusFor(const IncidentState& s) {
  if (s.first_arrived_at != 0) return IncidentStatus::kOnScene;
  if (!s.units.empty()) return IncidentStatus::kDispatched;
  if (s.category != fb::Category::unknown) return IncidentStatus::kClassified;
  return IncidentStatus::kReceived;
}

}  // namespace

void Apply(IncidentState& s, const fb::Event& e, ApplyMode mode) {
  const Micros at = e.occurred_at();
  if (s.incident_id.empty()) s.incident_id = Str(e.incident_id());
  switch (e.payload_type()) {
    case fb::Payload::IncidentReceived: {
      const auto* p = e.payload_as_IncidentReceived();
      s.status = IncidentStatus::kReceived;
      s.received_at = at;
      s.channel = p->channel();
      s.reported_category = p->reported_category();
      if (p->location()) s.division = Str(p->location()->division());
      break;
    }
    case fb::Payload::IncidentClassified: {
      const auto* p = e.payload_as_IncidentClassified();
      s.category = p->category();
      s.subtype = p->subtype();
      if (s.classified_at == 0) s.classified_at = at;
      if (s.status == IncidentStatus::kReceived) s.status = IncidentStatus::kClassified;
      break;
    }
    case fb::Payload::UnitAssigned: {
      const auto* p = e.payload_as_UnitAssigned();
      s.units.push_back(UnitState{Str(p->unit_id()), p->unit_kind(), p->reinforcement(), at, 0});
      if (s.first_dispatched_at == 0) s.first_dispatched_at = at;
      if (s.status == IncidentStatus::kReceived || s.status == IncidentStatus::kClassified) {
        s.status = IncidentStatus::kDispatched;
      }
      break;
    }
    case fb::Payload::UnitArrived: {
      const std::string unit = Str(e.payload_as_UnitArrived()->unit_id());
      for (auto& u : s.units) {
        if (u.unit_id == unit && u.arrived_at == 0) u.arrived_at = at;
      }
      if (s.first_arrived_at == 0) s.first_arrived_at = at;
      if (s.open()) s.status = IncidentStatus::kOnScene;
      break;
    }
    case fb::Payload::IncidentTransferred:
      s.status = IncidentStatus::kTransferred;
      s.transferred_to = e.payload_as_IncidentTransferred()->destination();
      s.closed_at = at;
      break;
    case fb::Payload::IncidentResolved:
      s.status = IncidentStatus::kResolved;
      s.disposition = e.payload_as_IncidentResolved()->disposition();
      s.disposition_count = e.payload_as_IncidentResolved()->count();
      s.closed_at = at;
      break;
    case fb::Payload::IncidentReopened:
      ++s.reopen_count;
      s.disposition = fb::Disposition::unknown;
      s.disposition_count = 0;
      s.transferred_to = fb::TransferDestination::unknown;
      s.closed_at = 0;
      s.status = OpenStatusFor(s);
      break;
    case fb::Payload::NoteAdded:
      ++s.note_count;
      break;
    case fb::Payload::CaseLinked: {
      const std::string id = Str(e.payload_as_CaseLinked()->case_id());
      s.cases.try_emplace(id, LinkStatus::kProposed);
      break;
    }
    case fb::Payload::CaseLinkConfirmed:
      s.cases[Str(e.payload_as_CaseLinkConfirmed()->case_id())] = LinkStatus::kConfirmed;
      break;
    case fb::Payload::CaseLinkRejected:
      s.cases[Str(e.payload_as_CaseLinkRejected()->case_id())] = LinkStatus::kRejected;
      break;
    case fb::Payload::NONE:
      break;
  }
  s.version = e.sequence();
  if (e.hash())
    s.last_hash.assign(reinterpret_cast<const char*>(e.hash()->data()), e.hash()->size());
  s.last_recorded_at = e.recorded_at();
  if (mode == ApplyMode::kWithCommands && e.causation_id() && e.causation_id()->size() > 0) {
    s.commands.Record(e.causation_id()->string_view(), e.sequence());
  }
}

template <typename Self>
auto* CommandRanges::Lookup(Self& self, std::string_view command_id) {
  using Found = decltype(&self.list_[0].second);
  if (self.list_.size() >= kIndexFrom) {
    auto it = self.index_.find(command_id);
    return it == self.index_.end() ? Found{nullptr} : &self.list_[it->second].second;
  }
  for (auto it = self.list_.rbegin(); it != self.list_.rend(); ++it) {
    if (it->first == command_id) return &it->second;
  }
  return Found{nullptr};
}

const CommandRanges::Range* CommandRanges::Find(std::string_view command_id) const {
  return Lookup(*this, command_id);
}

void CommandRanges::Record(std::string_view command_id, uint64_t sequence) {
  // A command's events are consecutive: its entry, if any, is the newest.
  if (!list_.empty() && list_.back().first == command_id) {
    list_.back().second.second = sequence;
    return;
  }
  if (Range* r = Lookup(*this, command_id)) {
    r->second = sequence;
    return;
  }
  if (list_.empty()) list_.reserve(4);
  list_.emplace_back(std::string(command_id), Range{sequence, sequence});
  if (list_.size() == kIndexFrom) {
    for (size_t i = 0; i < list_.size(); ++i) index_.emplace(list_[i].first, i);
  } else if (list_.size() > kIndexFrom) {
    index_.emplace(list_.back().first, list_.size() - 1);
  }
}

IncidentState Fold(std::span<const fb::Event* const> events) {
  IncidentState s;
  for (const fb::Event* e : events) Apply(s, *e);
  return s;
}

Json StateToJson(const IncidentState& s) {
  auto time = [](Micros t) { return t == 0 ? Json(nullptr) : Json(FormatTime(t)); };
  Json j = Json::object();
  j["incident_id"] = s.incident_id;
  j["version"] = s.version;
  j["status"] = Name(s.status);
  j["channel"] = Name(s.channel);
  j["division"] = s.division;
  j["reported_category"] = Name(s.reported_category);
  j["category"] = Name(s.category);
  j["subtype"] = Name(s.subtype);
  j["received_at"] = time(s.received_at);
  j["classified_at"] = time(s.classified_at);
  j["first_dispatched_at"] = time(s.first_dispatched_at);
  j["first_arrived_at"] = time(s.first_arrived_at);
  j["closed_at"] = time(s.closed_at);
  Json units = Json::array();
  for (const auto& u : s.units) {
    units.push_back(Json{{"unit_id", u.unit_id},
                         {"kind", Name(u.kind)},
                         {"reinforcement", u.reinforcement},
                         {"assigned_at", time(u.assigned_at)},
                         {"arrived_at", time(u.arrived_at)}});
  }
  j["units"] = std::move(units);
  j["disposition"] = Name(s.disposition);
  if (s.disposition_count) j["disposition_count"] = s.disposition_count;
  j["transferred_to"] = Name(s.transferred_to);
  j["reopen_count"] = s.reopen_count;
  j["note_count"] = s.note_count;
  Json cases = Json::object();
  for (const auto& [id, st] : s.cases) cases[id] = Name(st);
  j["cases"] = std::move(cases);
  j["last_recorded_at"] = time(s.last_recorded_at);
  return j;
}

// ---------------------------------------------------------------- commands

namespace {

struct CommandType {
  const char* name;
  fb::Payload payload;
};
constexpr CommandType kCommandTypes[] = {
    {"receive", fb::Payload::IncidentReceived},
    {"classify", fb::Payload::IncidentClassified},
    {"assign", fb::Payload::UnitAssigned},
    {"arrive", fb::Payload::UnitArrived},
    {"transfer", fb::Payload::IncidentTransferred},
    {"resolve", fb::Payload::IncidentResolved},
    {"reopen", fb::Payload::IncidentReopened},
    {"note", fb::Payload::NoteAdded},
    {"link", fb::Payload::CaseLinked},
    {"confirm_link", fb::Payload::CaseLinkConfirmed},
    {"reject_link", fb::Payload::CaseLinkRejected},
};

}  // namespace

std::string_view CommandTypeName(fb::Payload type) {
  for (const auto& t : kCommandTypes) {
    if (t.payload == type) return t.name;
  }
  return "?";
}

Result<Command> CommandFromJson(std::string_view line) {
  BLOTTER_ASSIGN_OR_RETURN(Json j, ParseJsonObject(line));
  Status st;
  JsonFields f(j, "", &st);
  Command c;
  c.command_id = f.String("command_id");
  c.incident_id = f.String("incident_id");
  c.actor = f.String("actor");
  c.correlation_id = f.String("correlation_id");
  c.occurred_at = f.Time("at");
  const std::string type = f.String("type");
  if (!st.ok()) return st;
  fb::Payload payload = fb::Payload::NONE;
  for (const auto& t : kCommandTypes) {
    if (type == t.name) payload = t.payload;
  }
  if (payload == fb::Payload::NONE) {
    std::string valid;
    for (const auto& t : kCommandTypes) valid += (valid.empty() ? "" : ", ") + std::string(t.name);
    return Status::InvalidArgument(
        type.empty() ? "command has no 'type'"
                     : fmt::format("unknown command type '{}' (valid: {})", type, valid));
  }
  PayloadFromJson(payload, f, &c.payload);
  f.RejectUnknown();
  if (!st.ok()) return st;
  return c;
}

// ---------------------------------------------------------------- decide

namespace {

Status Rule(std::string message) { return Status::FailedPrecondition(std::move(message)); }
Status Bad(std::string message) { return Status::InvalidArgument(std::move(message)); }

Status CheckOpen(const IncidentState& s, std::string_view what) {
  if (s.status == IncidentStatus::kResolved) {
    return Rule(
        fmt::format("cannot {}: incident {} is resolved (only notes, links and reopen "
                    "after resolution)",
                    what, s.incident_id));
  }
  if (s.status == IncidentStatus::kTransferred) {
    return Rule(
        fmt::format("cannot {}: incident {} was transferred to {}, which ended police "
                    "handling (reopen it first)",
                    what, s.incident_id, Name(s.transferred_to)));
  }
  return Status::Ok();
}

// The fields of a payload that the rules read, as views into either form of
// it: a command's (Object API) or a logged event's (flatbuffer). So a
// projection checks an event without copying its payload out first (UnPack
// and the Command around it were a sixth of a rebuild's runner thread).
std::string_view View(const std::string& s) { return s; }
std::string_view View(const flatbuffers::String* s) {
  return s ? s->string_view() : std::string_view();
}

struct ReceivedFacts {
  fb::Channel channel;
  bool has_location;
  std::string_view division;
  double lat, lon;
  std::string_view referred_by;
  bool has_happened;
  Micros earliest, latest;
};
ReceivedFacts Facts(const fb::IncidentReceivedT& p) {
  const fb::LocationT* l = p.location.get();
  const fb::TimeWindowT* h = p.happened.get();
  return {p.channel,     l != nullptr, l ? View(l->division) : "", l ? l->lat : 0,   l ? l->lon : 0,
          p.referred_by, h != nullptr, h ? h->earliest : 0,        h ? h->latest : 0};
}
ReceivedFacts Facts(const fb::IncidentReceived& p) {
  const fb::Location* l = p.location();
  const fb::TimeWindow* h = p.happened();
  return {p.channel(),      l != nullptr,          l ? View(l->division()) : "",
          l ? l->lat() : 0, l ? l->lon() : 0,      View(p.referred_by()),
          h != nullptr,     h ? h->earliest() : 0, h ? h->latest() : 0};
}

struct ClassifiedFacts {
  fb::Category category;
  fb::Subtype subtype;
  bool entities_complete;  // each has a kind and a value
};
ClassifiedFacts Facts(const fb::IncidentClassifiedT& p) {
  bool complete = true;
  for (const auto& e : p.entities) {
    complete = complete && e->kind != fb::EntityKind::unknown && !e->value.empty();
  }
  return {p.category, p.subtype, complete};
}
ClassifiedFacts Facts(const fb::IncidentClassified& p) {
  bool complete = true;
  if (p.entities()) {
    for (const fb::Entity* e : *p.entities()) {
      complete = complete && e->kind() != fb::EntityKind::unknown && !View(e->value()).empty();
    }
  }
  return {p.category(), p.subtype(), complete};
}

struct AssignedFacts {
  std::string_view unit_id;
  fb::UnitKind unit_kind;
  bool reinforcement;
};
AssignedFacts Facts(const fb::UnitAssignedT& p) {
  return {p.unit_id, p.unit_kind, p.reinforcement};
}
AssignedFacts Facts(const fb::UnitAssigned& p) {
  return {View(p.unit_id()), p.unit_kind(), p.reinforcement()};
}

struct ArrivedFacts {
  std::string_view unit_id;
};
ArrivedFacts Facts(const fb::UnitArrivedT& p) { return {p.unit_id}; }
ArrivedFacts Facts(const fb::UnitArrived& p) { return {View(p.unit_id())}; }

struct TransferredFacts {
  fb::TransferDestination destination;
  std::string_view jurisdiction;
};
TransferredFacts Facts(const fb::IncidentTransferredT& p) {
  return {p.destination, p.jurisdiction};
}
TransferredFacts Facts(const fb::IncidentTransferred& p) {
  return {p.destination(), View(p.jurisdiction())};
}

struct ResolvedFacts {
  fb::Disposition disposition;
  uint32_t count;
  std::string_view duplicate_of;
};
ResolvedFacts Facts(const fb::IncidentResolvedT& p) {
  return {p.disposition, p.count, p.duplicate_of};
}
ResolvedFacts Facts(const fb::IncidentResolved& p) {
  return {p.disposition(), p.count(), View(p.duplicate_of())};
}

// Reopen's reason, a note's text.
struct TextFacts {
  std::string_view text;
};
TextFacts Facts(const fb::IncidentReopenedT& p) { return {p.reason}; }
TextFacts Facts(const fb::IncidentReopened& p) { return {View(p.reason())}; }
TextFacts Facts(const fb::NoteAddedT& p) { return {p.text}; }
TextFacts Facts(const fb::NoteAdded& p) { return {View(p.text())}; }

struct LinkedFacts {
  std::string_view case_id;
  std::string_view linked_incident_id;
  double score;
  std::string_view algorithm_version;
};
LinkedFacts Facts(const fb::CaseLinkedT& p) {
  return {p.case_id, p.linked_incident_id, p.score, p.algorithm_version};
}
LinkedFacts Facts(const fb::CaseLinked& p) {
  return {View(p.case_id()), View(p.linked_incident_id()), p.score(), View(p.algorithm_version())};
}

// A confirmation's or a rejection's.
struct LinkDecisionFacts {
  std::string_view case_id, by, reason;
};
LinkDecisionFacts Facts(const fb::CaseLinkConfirmedT& p) { return {p.case_id, p.by, p.reason}; }
LinkDecisionFacts Facts(const fb::CaseLinkRejectedT& p) { return {p.case_id, p.by, p.reason}; }
LinkDecisionFacts Facts(const fb::CaseLinkConfirmed& p) {
  return {View(p.case_id()), View(p.by()), View(p.reason())};
}
LinkDecisionFacts Facts(const fb::CaseLinkRejected& p) {
  return {View(p.case_id()), View(p.by()), View(p.reason())};
}

// Payload `T` (a flatbuffer table type) of a command's union, or of a logged
// event (whose decoding checked that it has one).
template <typename T>
const typename T::NativeTableType& PayloadOf(const fb::PayloadUnion& u) {
  return *static_cast<const typename T::NativeTableType*>(u.value);
}
template <typename T>
const T& PayloadOf(const fb::Event& e) {
  return *e.payload_as<T>();
}

Status CheckLocation(const ReceivedFacts& p) {
  if (!p.has_location) return Bad("receive needs a location");
  if (!IsDivisionCode(p.division)) {
    return Bad(fmt::format("location.division '{}' is not a six-digit GB/T 2260 code", p.division));
  }
  if (!std::isfinite(p.lat) || !std::isfinite(p.lon) || p.lat < -90 || p.lat > 90 || p.lon < -180 ||
      p.lon > 180) {
    return Bad("location lat/lon are not WGS84 degrees");
  }
  return Status::Ok();
}

Status DecideReceived(const IncidentState& s, const ReceivedFacts& p, Micros at) {
  if (s.exists()) {
    return Status::AlreadyExists(fmt::format("incident {} was already received at {}",
                                             s.incident_id, FormatTime(s.received_at)));
  }
  if (p.channel == fb::Channel::unknown) return Bad("receive needs a channel");
  BLOTTER_RETURN_IF_ERROR(CheckLocation(p));
  if ((p.channel == fb::Channel::platform_referral || p.channel == fb::Channel::agency_transfer) &&
      p.referred_by.empty()) {
    return Bad(fmt::format("a {} needs referred_by (who referred it)", Name(p.channel)));
  }
  if (p.has_happened) {
    if (p.earliest > p.latest) {
      return Bad("happened.from is after happened.to");
    }
    if (p.earliest > at + kMaxClockSkew) {
      return Rule("happened lies after the call was received");
    }
  }
  return Status::Ok();
}

Status DecideClassified(const IncidentState& s, const ClassifiedFacts& p) {
  BLOTTER_RETURN_IF_ERROR(CheckOpen(s, "classify"));
  if (p.category == fb::Category::unknown) return Bad("classify needs a category");
  if (p.subtype == fb::Subtype::unknown) return Bad("classify needs a subtype");
  const fb::Category of = CategoryOf(p.subtype);
  if (of != fb::Category::unknown && of != p.category) {
    return Bad(fmt::format("subtype {} belongs to category {}, not {}", Name(p.subtype), Name(of),
                           Name(p.category)));
  }
  if (!p.entities_complete) return Bad("each entity needs a kind and a value");
  return Status::Ok();
}

Status DecideAssigned(const IncidentState& s, const AssignedFacts& p) {
  BLOTTER_RETURN_IF_ERROR(CheckOpen(s, "assign a unit"));
  if (p.unit_id.empty()) return Bad("assign needs a unit_id");
  if (p.unit_kind == fb::UnitKind::unknown) return Bad("assign needs a unit_kind");
  if (s.FindUnit(p.unit_id)) {
    return Rule(
        fmt::format("unit {} is already assigned to incident {}", p.unit_id, s.incident_id));
  }
  if (p.reinforcement && s.units.empty()) {
    return Rule("a reinforcement needs a first unit assigned before it");
  }
  return Status::Ok();
}

Status DecideArrived(const IncidentState& s, const ArrivedFacts& p, Micros at) {
  BLOTTER_RETURN_IF_ERROR(CheckOpen(s, "record an arrival"));
  if (p.unit_id.empty()) return Bad("arrive needs a unit_id");
  const UnitState* u = s.FindUnit(p.unit_id);
  if (!u) {
    return Rule(fmt::format("unit {} cannot arrive: it was not assigned to incident {}", p.unit_id,
                            s.incident_id));
  }
  if (u->arrived_at != 0) {
    return Rule(fmt::format("unit {} already arrived at {}", p.unit_id, FormatTime(u->arrived_at)));
  }
  if (at < u->assigned_at) {
    return Rule(fmt::format("unit {} cannot arrive at {}, before its assignment at {}", p.unit_id,
                            FormatTime(at), FormatTime(u->assigned_at)));
  }
  return Status::Ok();
}

Status DecideTransferred(const IncidentState& s, const TransferredFacts& p) {
  BLOTTER_RETURN_IF_ERROR(CheckOpen(s, "transfer"));
  if (p.destination == fb::TransferDestination::unknown) return Bad("transfer needs a destination");
  if (p.destination == fb::TransferDestination::jurisdiction) {
    if (!IsDivisionCode(p.jurisdiction)) {
      return Bad("a transfer to another jurisdiction needs its six-digit division code");
    }
    if (p.jurisdiction == s.division) {
      return Rule(fmt::format("incident is already in jurisdiction {}", s.division));
    }
  } else if (!p.jurisdiction.empty()) {
    return Bad("jurisdiction is only for destination 'jurisdiction'");
  }
  return Status::Ok();
}

Status DecideResolved(const IncidentState& s, const ResolvedFacts& p, const DecideContext& ctx) {
  BLOTTER_RETURN_IF_ERROR(CheckOpen(s, "resolve"));
  if (s.category == fb::Category::unknown) {
    return Rule("an incident must be classified before it is resolved");
  }
  using D = fb::Disposition;
  switch (p.disposition) {
    case D::unknown:
      return Bad("resolve needs a disposition");
    case D::arrest:
    case D::rescued:
      if (p.count == 0) {
        return Bad(fmt::format("disposition {} needs a count of at least 1", Name(p.disposition)));
      }
      break;
    case D::invalid_call:
      if (s.category != fb::Category::invalid) {
        return Rule("disposition invalid_call is only for calls classified invalid");
      }
      break;
    case D::duplicate_of:
      if (p.duplicate_of.empty()) return Bad("disposition duplicate_of needs duplicate_of");
      if (p.duplicate_of == s.incident_id) return Rule("an incident cannot duplicate itself");
      if (!ctx.IncidentExists(p.duplicate_of)) {
        return Status::NotFound(
            fmt::format("duplicate_of names incident {}, which does not exist", p.duplicate_of));
      }
      break;
    default:
      break;
  }
  if (p.disposition != D::duplicate_of && !p.duplicate_of.empty()) {
    return Bad("duplicate_of is only for disposition duplicate_of");
  }
  if (p.disposition != D::arrest && p.disposition != D::rescued && p.count != 0) {
    return Bad(fmt::format("count is only for arrest and rescued, not {}", Name(p.disposition)));
  }
  return Status::Ok();
}

Status DecideLinked(const IncidentState& s, const LinkedFacts& p, const DecideContext& ctx) {
  if (s.category == fb::Category::unknown) return Rule("only classified incidents are linked");
  if (p.case_id.empty()) return Bad("link needs a case_id");
  if (p.algorithm_version.empty()) return Bad("link needs an algorithm_version");
  if (!std::isfinite(p.score) || p.score < 0 || p.score > 1) {
    return Bad("link score must lie in [0, 1]");
  }
  if (!p.linked_incident_id.empty()) {
    if (p.linked_incident_id == s.incident_id) return Rule("an incident cannot link to itself");
    if (!ctx.IncidentExists(p.linked_incident_id)) {
      return Status::NotFound(
          fmt::format("linked incident {} does not exist", p.linked_incident_id));
    }
  }
  if (auto it = s.cases.find(p.case_id); it != s.cases.end()) {
    if (it->second == LinkStatus::kRejected) {
      return Rule(
          fmt::format("an investigator rejected incident {} from case {}; it is not "
                      "proposed again",
                      s.incident_id, p.case_id));
    }
    return Status::AlreadyExists(
        fmt::format("incident {} is already linked to case {}", s.incident_id, p.case_id));
  }
  return Status::Ok();
}

Status DecideLinkDecision(const IncidentState& s, const LinkDecisionFacts& p, bool confirm) {
  if (p.case_id.empty()) return Bad("needs a case_id");
  if (p.by.empty()) return Bad("needs 'by', the officer deciding");
  if (!confirm && p.reason.empty()) return Bad("a rejection needs a reason");
  auto it = s.cases.find(p.case_id);
  if (it == s.cases.end()) {
    return Rule(fmt::format("incident {} is not linked to case {}", s.incident_id, p.case_id));
  }
  if (it->second != LinkStatus::kProposed) {
    return Rule(fmt::format("the link of incident {} to case {} was already {} (final)",
                            s.incident_id, p.case_id, Name(it->second)));
  }
  return Status::Ok();
}

// `payload`: a command's (fb::PayloadUnion) or a logged event (fb::Event).
template <typename Source>
Status DecidePayload(const IncidentState& s, fb::Payload type, const Source& payload,
                     std::string_view incident_id, Micros at, const DecideContext& ctx) {
  if (type == fb::Payload::IncidentReceived) {
    return DecideReceived(s, Facts(PayloadOf<fb::IncidentReceived>(payload)), at);
  }
  if (!s.exists()) {
    return Status::NotFound(fmt::format("incident {} does not exist", incident_id));
  }
  if (at < s.received_at) {
    return Rule(fmt::format("{} at {} is before the incident was received ({})",
                            CommandTypeName(type), FormatTime(at), FormatTime(s.received_at)));
  }
  switch (type) {
    case fb::Payload::IncidentClassified:
      return DecideClassified(s, Facts(PayloadOf<fb::IncidentClassified>(payload)));
    case fb::Payload::UnitAssigned:
      return DecideAssigned(s, Facts(PayloadOf<fb::UnitAssigned>(payload)));
    case fb::Payload::UnitArrived:
      return DecideArrived(s, Facts(PayloadOf<fb::UnitArrived>(payload)), at);
    case fb::Payload::IncidentTransferred:
      return DecideTransferred(s, Facts(PayloadOf<fb::IncidentTransferred>(payload)));
    case fb::Payload::IncidentResolved:
      return DecideResolved(s, Facts(PayloadOf<fb::IncidentResolved>(payload)), ctx);
    case fb::Payload::IncidentReopened:
      if (s.open()) return Rule("only a resolved or transferred incident can be reopened");
      if (Facts(PayloadOf<fb::IncidentReopened>(payload)).text.empty()) {
        return Bad("reopen needs a reason");
      }
      return Status::Ok();
    case fb::Payload::NoteAdded:
      if (Facts(PayloadOf<fb::NoteAdded>(payload)).text.empty()) return Bad("note needs text");
      return Status::Ok();
    case fb::Payload::CaseLinked:
      return DecideLinked(s, Facts(PayloadOf<fb::CaseLinked>(payload)), ctx);
    case fb::Payload::CaseLinkConfirmed:
      return DecideLinkDecision(s, Facts(PayloadOf<fb::CaseLinkConfirmed>(payload)), true);
    case fb::Payload::CaseLinkRejected:
      return DecideLinkDecision(s, Facts(PayloadOf<fb::CaseLinkRejected>(payload)), false);
    default:
      return Bad("command has no payload");
  }
}

fb::EventT NewEvent(const IncidentState& s, const Command& c, Micros at, uint64_t sequence) {
  fb::EventT e;
  e.incident_id = c.incident_id;
  e.sequence = sequence;
  e.occurred_at = at;
  e.actor = c.actor;
  e.correlation_id = c.correlation_id.empty() ? c.incident_id : c.correlation_id;
  e.causation_id = c.command_id;
  e.schema_version = kSchemaVersion;
  return e;
}

}  // namespace

namespace {

class ReplayContext final : public DecideContext {
 public:
  explicit ReplayContext(Micros now) : now_(now) {}
  Micros Now() const override { return now_; }
  bool IncidentExists(std::string_view) const override { return true; }

 private:
  Micros now_;
};

// The rules a command must keep, ids aside: not in the future, and the
// payload's own (`payload`: as DecidePayload's). Returns when it happened.
template <typename Source>
Result<Micros> CheckRules(const IncidentState& s, fb::Payload type, const Source& payload,
                          std::string_view incident_id, Micros occurred_at,
                          const DecideContext& ctx) {
  const Micros now = ctx.Now();
  const Micros at = occurred_at != 0 ? occurred_at : now;
  if (at > now + kMaxClockSkew) {
    return Rule(fmt::format("{} is in the future (now is {})", FormatTime(at), FormatTime(now)));
  }
  BLOTTER_RETURN_IF_ERROR(DecidePayload(s, type, payload, incident_id, at, ctx));
  return at;
}

}  // namespace

Status CheckEvent(const IncidentState& state, const fb::Event& e) {
  // Decide's rules, read from the event as it is: its ids and actor are
  // present by construction (the verifier required the strings).
  const ReplayContext ctx(std::max(e.recorded_at(), e.occurred_at()));
  const std::string_view id = e.incident_id()->string_view();
  if (state.incident_id.empty()) {
    IncidentState s = state;
    s.incident_id = id;
    return CheckRules(s, e.payload_type(), e, id, e.occurred_at(), ctx).status();
  }
  return CheckRules(state, e.payload_type(), e, id, e.occurred_at(), ctx).status();
}

namespace {

// `payload`: the command's own (moved out) or a copy of it; taken only once
// the command is accepted.
template <typename TakePayload>
Result<std::vector<fb::EventT>> DecideWith(const IncidentState& s, const Command& c,
                                           const DecideContext& ctx, TakePayload take_payload) {
  if (c.command_id.empty()) return Bad("command needs a command_id");
  if (c.incident_id.empty()) return Bad("command needs an incident_id");
  if (c.actor.empty()) return Bad("command needs an actor (operator, unit or service id)");
  BLOTTER_ASSIGN_OR_RETURN(
      const Micros at, CheckRules(s, c.payload.type, c.payload, c.incident_id, c.occurred_at, ctx));

  std::vector<fb::EventT> out;
  fb::EventT e = NewEvent(s, c, at, s.version + 1);
  // Invalid calls (prank, misdial, silent, duplicate) are closed at once.
  const bool invalid = c.payload.type == fb::Payload::IncidentClassified &&
                       c.payload.AsIncidentClassified()->category == fb::Category::invalid;
  const fb::Subtype subtype =
      invalid ? c.payload.AsIncidentClassified()->subtype : fb::Subtype::unknown;
  e.payload = take_payload();
  out.push_back(std::move(e));
  if (invalid) {
    fb::IncidentResolvedT r;
    r.disposition = fb::Disposition::invalid_call;
    r.summary = fmt::format("invalid call ({})", Name(subtype));
    fb::EventT closing = NewEvent(s, c, at, s.version + 2);
    closing.payload.Set(std::move(r));
    out.push_back(std::move(closing));
  }
  return out;
}

}  // namespace

Result<std::vector<fb::EventT>> Decide(const IncidentState& s, const Command& c,
                                       const DecideContext& ctx) {
  return DecideWith(s, c, ctx, [&] { return c.payload; });
}

Result<std::vector<fb::EventT>> Decide(const IncidentState& s, Command&& c,
                                       const DecideContext& ctx) {
  return DecideWith(s, c, ctx, [&] { return std::move(c.payload); });
}

}  // namespace blotter
