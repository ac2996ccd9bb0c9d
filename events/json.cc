#include "events/json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace blotter {
namespace {

using fb::Payload;

std::string HexOf(const std::vector<uint8_t>& v) {
  return ToHex(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()));
}

void PutString(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

// An enum by name; a value this version does not know (written by a newer
// schema) by number, so that it survives the round trip.
template <typename E>
Json EnumJson(E v) {
  const std::string_view name = Name(v);
  if (name == "?") return Json(static_cast<int64_t>(v));
  return Json(std::string(name));
}

Json WindowToJson(const fb::TimeWindowT& w) {
  Json j = Json::object();
  if (w.earliest == w.latest) {
    j["at"] = FormatTime(w.earliest);
  } else {
    j["from"] = FormatTime(w.earliest);
    j["to"] = FormatTime(w.latest);
  }
  return j;
}

}  // namespace

// ---------------------------------------------------------------- JsonFields

JsonFields::JsonFields(const Json& object, std::string path, Status* status)
    : object_(object), path_(std::move(path)), status_(status) {
  if (!object_.is_object())
    Fail(fmt::format("{} must be a JSON object", path_.empty() ? "input" : path_));
}

std::string JsonFields::PathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void JsonFields::Fail(std::string message) {
  if (status_->ok()) *status_ = Status::InvalidArgument(std::move(message));
}

bool JsonFields::Has(std::string_view key) const {
  return object_.is_object() && object_.contains(key);
}

const Json* JsonFields::Get(std::string_view key) {
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end()) return nullptr;
  read_.emplace_back(key);
  if (it->is_null()) return nullptr;
  return &*it;
}

std::string JsonFields::String(std::string_view key) {
  const Json* v = Get(key);
  if (!v) return {};
  if (!v->is_string()) {
    Fail(PathOf(key) + " must be a string");
    return {};
  }
  return v->get<std::string>();
}

double JsonFields::Double(std::string_view key) {
  const Json* v = Get(key);
  if (!v) return 0;
  if (!v->is_number()) {
    Fail(PathOf(key) + " must be a number");
    return 0;
  }
  return v->get<double>();
}

int64_t JsonFields::Int(std::string_view key) {
  const Json* v = Get(key);
  if (!v) return 0;
  if (!v->is_number_integer()) {
    Fail(PathOf(key) + " must be an integer");
    return 0;
  }
  return v->get<int64_t>();
}

uint64_t JsonFields::Uint(std::string_view key) {
  const Json* v = Get(key);
  if (!v) return 0;
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
    Fail(PathOf(key) + " must be a non-negative integer");
    return 0;
  }
  return v->get<uint64_t>();
}

bool JsonFields::Bool(std::string_view key) {
  const Json* v = Get(key);
  if (!v) return false;
  if (!v->is_boolean()) {
    Fail(PathOf(key) + " must be true or false");
    return false;
  }
  return v->get<bool>();
}

Micros JsonFields::Time(std::string_view key) {
  const std::string s = String(key);
  if (s.empty()) return 0;
  auto t = ParseTime(s);
  if (!t.ok()) {
    Fail(PathOf(key) + ": " + t.status().message());
    return 0;
  }
  return *t;
}

std::string JsonFields::Hex(std::string_view key) {
  const std::string s = String(key);
  auto bytes = FromHex(s);
  if (!bytes.ok()) {
    Fail(PathOf(key) + ": " + bytes.status().message());
    return {};
  }
  return *bytes;
}

std::vector<std::string> JsonFields::Strings(std::string_view key) {
  std::vector<std::string> out;
  const Json* v = Array(key);
  if (!v) return out;
  for (const auto& e : *v) {
    if (!e.is_string()) {
      Fail(PathOf(key) + " must be a list of strings");
      return {};
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

const Json* JsonFields::Object(std::string_view key) {
  const Json* v = Get(key);
  if (v && !v->is_object()) {
    Fail(PathOf(key) + " must be an object");
    return nullptr;
  }
  return v;
}

const Json* JsonFields::Array(std::string_view key) {
  const Json* v = Get(key);
  if (v && !v->is_array()) {
    Fail(PathOf(key) + " must be a list");
    return nullptr;
  }
  return v;
}

void JsonFields::RejectUnknown() {
  if (!object_.is_object()) return;
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (std::find(read_.begin(), read_.end(), it.key()) == read_.end()) {
      Fail(fmt::format("unknown field '{}'", PathOf(it.key())));
      return;
    }
  }
}

Result<Json> ParseJsonObject(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse again for the position and reason; exceptions stay inside this function.
    try {
      const Json again = Json::parse(text);
      (void)again;
    } catch (const Json::parse_error& e) {
      return Status::InvalidArgument(fmt::format("malformed JSON: {}", e.what()));
    }
    return Status::InvalidArgument("malformed JSON");
  }
  if (!j.is_object()) return Status::InvalidArgument("expected a JSON object");
  return j;
}

// ---------------------------------------------------------------- payloads

namespace {

std::unique_ptr<fb::TimeWindowT> WindowFromJson(JsonFields& parent, std::string_view key) {
  const Json* o = parent.Object(key);
  if (!o) return nullptr;
  JsonFields f(*o, parent.PathOf(key), parent.status());
  auto w = std::make_unique<fb::TimeWindowT>();
  if (f.Has("at")) {
    w->earliest = w->latest = f.Time("at");
  } else {
    w->earliest = f.Time("from");
    w->latest = f.Time("to");
    if (!f.Has("from") || !f.Has("to"))
      f.Fail(parent.PathOf(key) + " needs 'at', or 'from' and 'to'");
  }
  f.RejectUnknown();
  return w;
}

template <typename T>
Json Received(const T& p) {
  Json j = Json::object();
  j["channel"] = EnumJson(p.channel);
  if (p.caller) {
    Json c = Json::object();
    PutString(c, "name", p.caller->name);
    PutString(c, "phone", p.caller->phone);
    j["caller"] = std::move(c);
  }
  if (p.location) {
    Json l = Json::object();
    l["lat"] = p.location->lat;
    l["lon"] = p.location->lon;
    PutString(l, "address", p.location->address);
    PutString(l, "division", p.location->division);
    j["location"] = std::move(l);
  }
  j["reported_category"] = EnumJson(p.reported_category);
  PutString(j, "description", p.description);
  if (p.happened) j["happened"] = WindowToJson(*p.happened);
  PutString(j, "referred_by", p.referred_by);
  return j;
}

fb::IncidentReceivedT ReceivedFrom(JsonFields& f) {
  fb::IncidentReceivedT p;
  p.channel = f.Enum<fb::Channel>("channel", "channel");
  if (const Json* c = f.Object("caller")) {
    JsonFields cf(*c, f.PathOf("caller"), f.status());
    p.caller = std::make_unique<fb::CallerT>();
    p.caller->name = cf.String("name");
    p.caller->phone = cf.String("phone");
    cf.RejectUnknown();
  }
  if (const Json* l = f.Object("location")) {
    JsonFields lf(*l, f.PathOf("location"), f.status());
    p.location = std::make_unique<fb::LocationT>();
    p.location->lat = lf.Double("lat");
    p.location->lon = lf.Double("lon");
    p.location->address = lf.String("address");
    p.location->division = lf.String("division");
    lf.RejectUnknown();
  }
  p.reported_category = f.Enum<fb::Category>("reported_category", "category");
  p.description = f.String("description");
  p.happened = WindowFromJson(f, "happened");
  p.referred_by = f.String("referred_by");
  return p;
}

Json Classified(const fb::IncidentClassifiedT& p) {
  Json j = Json::object();
  j["category"] = EnumJson(p.category);
  j["subtype"] = EnumJson(p.subtype);
  if (!p.mo_tags.empty()) j["mo_tags"] = p.mo_tags;
  if (!p.entities.empty()) {
    Json a = Json::array();
    for (const auto& e : p.entities)
      a.push_back(Json{{"kind", EnumJson(e->kind)}, {"value", e->value}});
    j["entities"] = std::move(a);
  }
  return j;
}

fb::IncidentClassifiedT ClassifiedFrom(JsonFields& f) {
  fb::IncidentClassifiedT p;
  p.category = f.Enum<fb::Category>("category", "category");
  p.subtype = f.Enum<fb::Subtype>("subtype", "subtype");
  p.mo_tags = f.Strings("mo_tags");
  if (const Json* a = f.Array("entities")) {
    for (size_t i = 0; i < a->size(); ++i) {
      JsonFields ef((*a)[i], fmt::format("{}[{}]", f.PathOf("entities"), i), f.status());
      auto e = std::make_unique<fb::EntityT>();
      e->kind = ef.Enum<fb::EntityKind>("kind", "entity kind");
      e->value = ef.String("value");
      ef.RejectUnknown();
      p.entities.push_back(std::move(e));
    }
  }
  return p;
}

Json Linked(const fb::CaseLinkedT& p) {
  Json j = Json::object();
  PutString(j, "case_id", p.case_id);
  PutString(j, "linked_incident_id", p.linked_incident_id);
  j["score"] = p.score;
  if (!p.factors.empty()) {
    Json a = Json::array();
    for (const auto& x : p.factors) {
      Json fj = Json::object();
      PutString(fj, "name", x->name);
      PutString(fj, "detail", x->detail);
      fj["value"] = x->value;
      fj["weight"] = x->weight;
      fj["contribution"] = x->contribution;
      a.push_back(std::move(fj));
    }
    j["factors"] = std::move(a);
  }
  PutString(j, "algorithm_version", p.algorithm_version);
  return j;
}

fb::CaseLinkedT LinkedFrom(JsonFields& f) {
  fb::CaseLinkedT p;
  p.case_id = f.String("case_id");
  p.linked_incident_id = f.String("linked_incident_id");
  p.score = f.Double("score");
  if (const Json* a = f.Array("factors")) {
    for (size_t i = 0; i < a->size(); ++i) {
      JsonFields xf((*a)[i], fmt::format("{}[{}]", f.PathOf("factors"), i), f.status());
      auto x = std::make_unique<fb::LinkFactorT>();
      x->name = xf.String("name");
      x->detail = xf.String("detail");
      x->value = xf.Double("value");
      x->weight = xf.Double("weight");
      x->contribution = xf.Double("contribution");
      xf.RejectUnknown();
      p.factors.push_back(std::move(x));
    }
  }
  p.algorithm_version = f.String("algorithm_version");
  return p;
}

template <typename T>
Json Decision(const T& p) {
  Json j = Json::object();
  PutString(j, "case_id", p.case_id);
  PutString(j, "by", p.by);
  PutString(j, "reason", p.reason);
  return j;
}

template <typename T>
T DecisionFrom(JsonFields& f) {
  T p;
  p.case_id = f.String("case_id");
  p.by = f.String("by");
  p.reason = f.String("reason");
  return p;
}

}  // namespace

Json PayloadToJson(const fb::PayloadUnion& u) {
  Json j = Json::object();
  switch (u.type) {
    case Payload::IncidentReceived:
      return Received(*u.AsIncidentReceived());
    case Payload::IncidentClassified:
      return Classified(*u.AsIncidentClassified());
    case Payload::UnitAssigned: {
      const auto& p = *u.AsUnitAssigned();
      PutString(j, "unit_id", p.unit_id);
      j["unit_kind"] = EnumJson(p.unit_kind);
      j["reinforcement"] = p.reinforcement;
      return j;
    }
    case Payload::UnitArrived:
      PutString(j, "unit_id", u.AsUnitArrived()->unit_id);
      return j;
    case Payload::IncidentTransferred: {
      const auto& p = *u.AsIncidentTransferred();
      j["destination"] = EnumJson(p.destination);
      PutString(j, "jurisdiction", p.jurisdiction);
      PutString(j, "reason", p.reason);
      return j;
    }
    case Payload::IncidentResolved: {
      const auto& p = *u.AsIncidentResolved();
      j["disposition"] = EnumJson(p.disposition);
      j["count"] = p.count;
      PutString(j, "duplicate_of", p.duplicate_of);
      PutString(j, "summary", p.summary);
      return j;
    }
    case Payload::IncidentReopened:
      PutString(j, "reason", u.AsIncidentReopened()->reason);
      return j;
    case Payload::NoteAdded:
      PutString(j, "text", u.AsNoteAdded()->text);
      return j;
    case Payload::CaseLinked:
      return Linked(*u.AsCaseLinked());
    case Payload::CaseLinkConfirmed:
      return Decision(*u.AsCaseLinkConfirmed());
    case Payload::CaseLinkRejected:
      return Decision(*u.AsCaseLinkRejected());
    case Payload::NONE:
      break;
  }
  return j;
}

void PayloadFromJson(Payload type, JsonFields& f, fb::PayloadUnion* out) {
  switch (type) {
    case Payload::IncidentReceived:
      out->Set(ReceivedFrom(f));
      return;
    case Payload::IncidentClassified:
      out->Set(ClassifiedFrom(f));
      return;
    case Payload::UnitAssigned: {
      fb::UnitAssignedT p;
      p.unit_id = f.String("unit_id");
      p.unit_kind = f.Enum<fb::UnitKind>("unit_kind", "unit kind");
      p.reinforcement = f.Bool("reinforcement");
      out->Set(std::move(p));
      return;
    }
    case Payload::UnitArrived: {
      fb::UnitArrivedT p;
      p.unit_id = f.String("unit_id");
      out->Set(std::move(p));
      return;
    }
    case Payload::IncidentTransferred: {
      fb::IncidentTransferredT p;
      p.destination = f.Enum<fb::TransferDestination>("destination", "transfer destination");
      p.jurisdiction = f.String("jurisdiction");
      p.reason = f.String("reason");
      out->Set(std::move(p));
      return;
    }
    case Payload::IncidentResolved: {
      fb::IncidentResolvedT p;
      p.disposition = f.Enum<fb::Disposition>("disposition", "disposition");
      const uint64_t count = f.Uint("count");
      if (count > UINT32_MAX) f.Fail(f.PathOf("count") + " is too large");
      p.count = static_cast<uint32_t>(count);
      p.duplicate_of = f.String("duplicate_of");
      p.summary = f.String("summary");
      out->Set(std::move(p));
      return;
    }
    case Payload::IncidentReopened: {
      fb::IncidentReopenedT p;
      p.reason = f.String("reason");
      out->Set(std::move(p));
      return;
    }
    case Payload::NoteAdded: {
      fb::NoteAddedT p;
      p.text = f.String("text");
      out->Set(std::move(p));
      return;
    }
    case Payload::CaseLinked:
      out->Set(LinkedFrom(f));
      return;
    case Payload::CaseLinkConfirmed:
      out->Set(DecisionFrom<fb::CaseLinkConfirmedT>(f));
      return;
    case Payload::CaseLinkRejected:
      out->Set(DecisionFrom<fb::CaseLinkRejectedT>(f));
      return;
    case Payload::NONE:
      break;
  }
  f.Fail("no payload type");
}

// ---------------------------------------------------------------- events

std::string EventToJson(const fb::EventT& e) {
  Json j = Json::object();
  j["event_id"] = e.event_id;
  j["incident_id"] = e.incident_id;
  j["sequence"] = e.sequence;
  j["occurred_at"] = FormatTime(e.occurred_at);
  j["recorded_at"] = FormatTime(e.recorded_at);
  PutString(j, "actor", e.actor);
  PutString(j, "correlation_id", e.correlation_id);
  PutString(j, "causation_id", e.causation_id);
  j["schema_version"] = e.schema_version;
  j["type"] = Name(e.payload.type);
  j["payload"] = PayloadToJson(e.payload);
  j["prev_hash"] = HexOf(e.prev_hash);
  j["hash"] = HexOf(e.hash);
  return j.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

std::string EventToJson(const fb::Event& e) { return EventToJson(Unpack(e)); }

Result<fb::EventT> EventFromJson(std::string_view line) {
  BLOTTER_ASSIGN_OR_RETURN(Json j, ParseJsonObject(line));
  Status st;
  JsonFields f(j, "", &st);
  fb::EventT e;
  e.event_id = f.String("event_id");
  e.incident_id = f.String("incident_id");
  e.sequence = f.Uint("sequence");
  e.occurred_at = f.Time("occurred_at");
  e.recorded_at = f.Time("recorded_at");
  e.actor = f.String("actor");
  e.correlation_id = f.String("correlation_id");
  e.causation_id = f.String("causation_id");
  const uint64_t version = f.Uint("schema_version");
  if (version > UINT16_MAX) f.Fail("schema_version is too large");
  e.schema_version = static_cast<uint16_t>(version);
  const auto type = f.Enum<Payload>("type", "event type");
  if (f.ok() && type == Payload::NONE) f.Fail("missing field 'type'");
  if (const Json* p = f.Object("payload"); p && f.ok()) {
    JsonFields pf(*p, "payload", &st);
    PayloadFromJson(type, pf, &e.payload);
    pf.RejectUnknown();
  } else if (f.ok()) {
    f.Fail("missing field 'payload'");
  }
  const std::string prev = f.Hex("prev_hash");
  const std::string hash = f.Hex("hash");
  e.prev_hash.assign(prev.begin(), prev.end());
  e.hash.assign(hash.begin(), hash.end());
  f.RejectUnknown();
  if (!st.ok()) return st;
  return e;
}

}  // namespace blotter
