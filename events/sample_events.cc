#include "events/sample_events.h"

#include <fmt/format.h>

#include <stdexcept>

#include "events/hash_chain.h"

namespace blotter::testing {

std::vector<fb::Payload> AllPayloadTypes() {
  std::vector<fb::Payload> out;
  for (fb::Payload p : fb::EnumValuesPayload()) {
    if (p != fb::Payload::NONE) out.push_back(p);
  }
  return out;
}

fb::EventT SampleEvent(fb::Payload type, const std::string& incident_id, uint64_t sequence) {
  fb::EventT e;
  e.event_id = fmt::format("{}#{}", incident_id, sequence);
  e.incident_id = incident_id;
  e.sequence = sequence;
  e.occurred_at = 1636175760'000000 + static_cast<Micros>(sequence) * 60'000000;  // 2021-11-06
  e.recorded_at = e.occurred_at + 1'250000;
  e.actor = "op:zk110-03";
  e.correlation_id = "call-7";
  e.causation_id = fmt::format("cmd-{}", sequence);
  switch (type) {
    case fb::Payload::IncidentReceived: {
      fb::IncidentReceivedT p;
      p.channel = fb::Channel::wechat;
      p.caller = std::make_unique<fb::CallerT>();
      p.caller->name = "李女士";
      p.caller->phone = "13839400000";
      p.location = std::make_unique<fb::LocationT>();
      p.location->lat = 34.0598;
      p.location->lon = 114.3925;
      p.location->address = "扶沟县城关镇";
      p.location->division = "411621";
      p.reported_category = fb::Category::assistance;
      p.description = "家中老人病重急需药品";
      p.happened = std::make_unique<fb::TimeWindowT>();
      p.happened->earliest = e.occurred_at - 3600'000000;
      p.happened->latest = e.occurred_at - 60'000000;
      p.referred_by = "电商平台客服";
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::IncidentClassified: {
      fb::IncidentClassifiedT p;
      p.category = fb::Category::criminal;
      p.subtype = fb::Subtype::fuel_theft;
      p.mo_tags = {"siphoning", "parked_lorry"};
      auto ent = std::make_unique<fb::EntityT>();
      ent->kind = fb::EntityKind::plate;
      ent->value = "皖K·7D2X9";
      p.entities.push_back(std::move(ent));
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::UnitAssigned: {
      fb::UnitAssignedT p;
      p.unit_id = "XC-P-03";
      p.unit_kind = fb::UnitKind::patrol_car;
      p.reinforcement = true;
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::UnitArrived: {
      fb::UnitArrivedT p;
      p.unit_id = "XC-P-03";
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::IncidentTransferred: {
      fb::IncidentTransferredT p;
      p.destination = fb::TransferDestination::jurisdiction;
      p.jurisdiction = "341221";
      p.reason = "案发地在临泉县";
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::IncidentResolved: {
      fb::IncidentResolvedT p;
      p.disposition = fb::Disposition::arrest;
      p.count = 2;
      p.summary = "抓获犯罪嫌疑人2名";
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::IncidentReopened: {
      fb::IncidentReopenedT p;
      p.reason = "new evidence";
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::NoteAdded: {
      fb::NoteAddedT p;
      p.text = "已联动120";
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::CaseLinked: {
      fb::CaseLinkedT p;
      p.case_id = "case-411681-0001";
      p.linked_incident_id = "411681-20211008-0001";
      p.score = 0.9731;
      auto f = std::make_unique<fb::LinkFactorT>();
      f->name = "distance";
      f->detail = "3.1 km apart";
      f->value = 3.1;
      f->weight = 1.7;
      f->contribution = 0.21;
      p.factors.push_back(std::move(f));
      p.algorithm_version = "linker-1";
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::CaseLinkConfirmed: {
      fb::CaseLinkConfirmedT p;
      p.case_id = "case-411681-0001";
      p.by = "officer:xc-017";
      p.reason = "same suspects";
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::CaseLinkRejected: {
      fb::CaseLinkRejectedT p;
      p.case_id = "case-411681-0001";
      p.by = "officer:xc-017";
      p.reason = "different MO";
      e.payload.Set(std::move(p));
      break;
    }
    case fb::Payload::NONE:
      break;
  }
  return e;
}

std::vector<EncodedEvent> SealedChain(const std::string& incident_id, int n, uint64_t first,
                                      std::string prev_hash) {
  if (prev_hash.empty()) prev_hash = GenesisHash();
  const auto types = AllPayloadTypes();
  std::vector<EncodedEvent> out;
  for (int i = 0; i < n; ++i) {
    const uint64_t seq = first + i;
    fb::EventT e = SampleEvent(types[(seq - 1) % types.size()], incident_id, seq);
    e.prev_hash.assign(prev_hash.begin(), prev_hash.end());
    auto sealed = Seal(e);
    if (!sealed.ok()) throw std::runtime_error(sealed.status().ToString());
    prev_hash = std::string(sealed->hash());
    out.push_back(std::move(sealed).value());
  }
  return out;
}

}  // namespace blotter::testing
