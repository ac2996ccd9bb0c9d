#include "events/describe.h"

#include <fmt/format.h>

#include "events/vocabulary.h"

namespace blotter {
namespace {

std::string S(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

std::string Join(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
  std::string out;
  if (!v) return out;
  for (const auto* s : *v) out += (out.empty() ? "" : ", ") + s->str();
  return out;
}

}  // namespace

std::string DescribePayload(const fb::Event& e) {
  switch (e.payload_type()) {
    case fb::Payload::IncidentReceived: {
      const auto* p = e.payload_as_IncidentReceived();
      std::string where = p->location() ? fmt::format("{} ({})", S(p->location()->address()),
                                                      S(p->location()->division()))
                                        : "?";
      return fmt::format("received by {}{} at {}: {}", Name(p->channel()),
                         p->referred_by() ? " from " + S(p->referred_by()) : "", where,
                         S(p->description()));
    }
    case fb::Payload::IncidentClassified: {
      const auto* p = e.payload_as_IncidentClassified();
      std::string out = fmt::format("classified {}/{}", Name(p->category()), Name(p->subtype()));
      if (p->mo_tags() && p->mo_tags()->size()) out += " MO [" + Join(p->mo_tags()) + "]";
      if (p->entities()) {
        for (const auto* x : *p->entities())
          out += fmt::format(" {}:{}", Name(x->kind()), S(x->value()));
      }
      return out;
    }
    case fb::Payload::UnitAssigned: {
      const auto* p = e.payload_as_UnitAssigned();
      return fmt::format("unit {} ({}) assigned{}", S(p->unit_id()), Name(p->unit_kind()),
                         p->reinforcement() ? " as reinforcement" : "");
    }
    case fb::Payload::UnitArrived:
      return fmt::format("unit {} arrived", S(e.payload_as_UnitArrived()->unit_id()));
    case fb::Payload::IncidentTransferred: {
      const auto* p = e.payload_as_IncidentTransferred();
      return fmt::format("transferred to {}{}: {}", Name(p->destination()),
                         p->jurisdiction() ? " " + S(p->jurisdiction()) : "", S(p->reason()));
    }
    case fb::Payload::IncidentResolved: {
      const auto* p = e.payload_as_IncidentResolved();
      std::string d(Name(p->disposition()));
      if (p->count() > 0) d += fmt::format(" ({})", p->count());
      if (p->duplicate_of()) d += " " + S(p->duplicate_of());
      return fmt::format("resolved: {}: {}", d, S(p->summary()));
    }
    case fb::Payload::IncidentReopened:
      return "reopened: " + S(e.payload_as_IncidentReopened()->reason());
    case fb::Payload::NoteAdded:
      return "note: " + S(e.payload_as_NoteAdded()->text());
    case fb::Payload::CaseLinked: {
      const auto* p = e.payload_as_CaseLinked();
      return fmt::format("linked to case {} with {} (score {:.3f}, {})", S(p->case_id()),
                         S(p->linked_incident_id()), p->score(), S(p->algorithm_version()));
    }
    case fb::Payload::CaseLinkConfirmed: {
      const auto* p = e.payload_as_CaseLinkConfirmed();
      return fmt::format("link to case {} confirmed by {}: {}", S(p->case_id()), S(p->by()),
                         S(p->reason()));
    }
    case fb::Payload::CaseLinkRejected: {
      const auto* p = e.payload_as_CaseLinkRejected();
      return fmt::format("link to case {} rejected by {}: {}", S(p->case_id()), S(p->by()),
                         S(p->reason()));
    }
    case fb::Payload::NONE:
      break;
  }
  return "?";
}

std::string DescribeEvent(const fb::Event& e) {
  const auto* h = e.hash();
  const std::string hash = h ? ToHex(std::string_view(reinterpret_cast<const char*>(h->data()),
                                                      std::min<size_t>(4, h->size())))
                             : "";
  return fmt::format("{} #{:<3} {}  {:<16} {}  [hash {}]", S(e.incident_id()), e.sequence(),
                     FormatTime(e.occurred_at()), S(e.actor()), DescribePayload(e), hash);
}

std::string DescribeState(const IncidentState& s) {
  std::string units;
  for (const auto& u : s.units) {
    units += (units.empty() ? "" : ",") + u.unit_id + (u.arrived_at ? "" : "(en route)");
  }
  std::string out =
      fmt::format("{}  {:<11} {}/{}  division {}  received {}", s.incident_id, Name(s.status),
                  Name(s.category), Name(s.subtype), s.division, FormatTime(s.received_at));
  if (!units.empty()) out += "  units " + units;
  if (s.first_arrived_at) {
    out += fmt::format("  on scene after {:.1f} min",
                       (s.first_arrived_at - s.received_at) / double(kMicrosPerMinute));
  }
  if (s.disposition != fb::Disposition::unknown) out += fmt::format("  {}", Name(s.disposition));
  if (s.transferred_to != fb::TransferDestination::unknown) {
    out += fmt::format("  to {}", Name(s.transferred_to));
  }
  return out;
}

}  // namespace blotter
