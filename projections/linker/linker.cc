#include "projections/linker/linker.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace blotter::projections::linker {
namespace {

std::string PairKey(std::string_view incident, std::string_view case_id) {
  std::string k(incident);
  k.push_back('\0');
  k.append(case_id);
  return k;
}

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

// A pattern is what at least kPatternShare of an incident's matches say, once
// it has kPatternMatches of them.
constexpr size_t kPatternMatches = 6;
constexpr double kPatternShare = 0.9;

}  // namespace

Linker::Linker(Model model) : model_(std::move(model)), cell_deg_(model_.radius_km() / 111.0) {}

std::string Linker::CommandId(std::string_view version, std::string_view incident,
                              std::string_view case_id) {
  return fmt::format("link:{}:{}:{}", version, incident, case_id);
}

std::string Linker::CaseIdFor(std::string_view founding_incident, Micros received_at) {
  std::string stamp;
  for (char c : FormatTime(received_at).substr(0, 19)) {
    if (c >= '0' && c <= '9') stamp.push_back(c);
  }
  return fmt::format("K-{}-{}", stamp, founding_incident);
}

int64_t Linker::CellKey(fb::Subtype s, double lat, double lon) const {
  const auto y = static_cast<int64_t>(std::floor(lat / cell_deg_)) + 4096;
  const auto x = static_cast<int64_t>(std::floor(lon / cell_deg_)) + 4096;
  return (static_cast<int64_t>(s) << 40) | (y << 20) | x;
}

std::string Linker::Root(std::string id) {
  while (true) {
    auto it = cases_.find(id);
    if (it == cases_.end() || it->second.parent == id) return id;
    id = it->second.parent;
  }
}

std::string Linker::CaseOf(std::string_view incident_id) {
  auto it = incident_case_.find(incident_id);
  return it == incident_case_.end() ? std::string() : Root(it->second);
}

void Linker::Observe(const fb::Event& e, std::vector<Command>* out) {
  ++stats_.events;
  const std::string_view id = e.incident_id()->string_view();
  switch (e.payload_type()) {
    case fb::Payload::IncidentReceived: {
      const auto* r = e.payload_as_IncidentReceived();
      if (!r->location()) break;
      Pending p;
      p.division = Str(r->location()->division());
      p.lat = r->location()->lat();
      p.lon = r->location()->lon();
      p.received_at = e.occurred_at();
      p.from = p.to = e.occurred_at();
      if (r->happened() && r->happened()->earliest() <= r->happened()->latest()) {
        p.from = r->happened()->earliest();
        p.to = r->happened()->latest();
      }
      p.bigrams = Bigrams(r->description() ? r->description()->string_view() : "");
      pending_.insert_or_assign(std::string(id), std::move(p));
      pending_order_.emplace_back(e.occurred_at(), std::string(id));
      break;
    }
    case fb::Payload::IncidentClassified:
      Classified(e, out);
      break;
    case fb::Payload::IncidentTransferred:
      if (auto it = pending_.find(id); it != pending_.end()) pending_.erase(it);
      break;
    case fb::Payload::CaseLinked:
      Linked(e, out);
      break;
    case fb::Payload::CaseLinkRejected:
      rejected_.insert(PairKey(id, Str(e.payload_as_CaseLinkRejected()->case_id())));
      break;
    default:
      break;
  }
  // Time moves with the incidents received (an investigator's decision
  // weeks later must not age the candidates out).
  if (e.payload_type() == fb::Payload::IncidentReceived &&
      e.occurred_at() - last_prune_ > kMicrosPerHour) {
    Prune(e.occurred_at());
  }
}

void Linker::Prune(Micros now) {
  last_prune_ = now;
  // An incident never classified within three days is not waited for.
  while (!pending_order_.empty() && pending_order_.front().first < now - 3 * kMicrosPerDay) {
    if (auto it = pending_.find(pending_order_.front().second);
        it != pending_.end() && it->second.received_at == pending_order_.front().first) {
      pending_.erase(it);
    }
    pending_order_.pop_front();
  }
  const Micros horizon = now - (model_.window_days() + 1) * kMicrosPerDay;
  for (auto it = cells_.begin(); it != cells_.end();) {
    auto& q = it->second;
    while (!q.empty() && q.front().to < horizon) q.pop_front();
    it = q.empty() ? cells_.erase(it) : std::next(it);
  }
}

void Linker::Classified(const fb::Event& e, std::vector<Command>* out) {
  const auto* k = e.payload_as_IncidentClassified();
  auto it = pending_.find(e.incident_id()->string_view());
  if (it == pending_.end()) return;  // never received here, or classified before
  Pending pending = std::move(it->second);
  pending_.erase(it);
  if (!model_.Links(k->subtype())) return;
  ++stats_.classified;
  Profile p;
  p.incident_id = e.incident_id()->str();
  p.subtype = k->subtype();
  p.division = std::move(pending.division);
  p.lat = pending.lat;
  p.lon = pending.lon;
  p.received_at = pending.received_at;
  p.from = pending.from;
  p.to = pending.to;
  p.bigrams = std::move(pending.bigrams);
  if (k->mo_tags()) {
    for (const auto* t : *k->mo_tags()) p.mo_tags.push_back(t->str());
  }
  std::sort(p.mo_tags.begin(), p.mo_tags.end());
  p.mo_tags.erase(std::unique(p.mo_tags.begin(), p.mo_tags.end()), p.mo_tags.end());
  if (k->entities()) {
    for (const auto* en : *k->entities()) p.entities.emplace_back(en->kind(), Str(en->value()));
  }

  // Candidates: the same subtype, in the cells around, within the window.
  const double cut = std::log(model_.threshold() / (1 - model_.threshold()));
  const int nx = static_cast<int>(std::ceil(1.0 / std::cos(p.lat * M_PI / 180)));
  const auto y0 = static_cast<int64_t>(std::floor(p.lat / cell_deg_));
  const auto x0 = static_cast<int64_t>(std::floor(p.lon / cell_deg_));
  const Micros window = model_.window_days() * kMicrosPerDay;
  std::vector<Match> matches;
  for (int64_t dy = -1; dy <= 1; ++dy) {
    for (int64_t dx = -nx; dx <= nx; ++dx) {
      const int64_t key =
          (static_cast<int64_t>(p.subtype) << 40) | ((y0 + dy + 4096) << 20) | (x0 + dx + 4096);
      auto cell = cells_.find(key);
      if (cell == cells_.end()) continue;
      for (Profile& c : cell->second) {
        if (std::max(p.from, c.from) - std::min(p.to, c.to) > window) continue;
        if (DistanceKm(p.lat, p.lon, c.lat, c.lon) > model_.radius_km()) continue;
        ++stats_.pairs;
        Evidence ev = Compare(p, c);
        const double score = model_.Score(ev);
        if (sink_) sink_(p, c, ev, score);
        if (model_.LogOdds(ev) >= cut) matches.push_back(Match{&c, std::move(ev), score});
      }
    }
  }
  KeepToPattern(p, &matches);
  Decide(p, std::move(matches), out);
  const int64_t key = CellKey(p.subtype, p.lat, p.lon);
  cells_[key].push_back(std::move(p));
}

void Linker::KeepToPattern(Profile& p, std::vector<Match>* matches) {
  const size_t n = matches->size();
  auto shares_entity = [](const Match& m) { return m.evidence.value[kEntities] >= 1; };
  // More than half of `pattern` in `bigrams`.
  auto holds = [](const std::vector<uint32_t>& pattern, const std::vector<uint32_t>& bigrams) {
    size_t present = 0;
    for (uint32_t b : pattern) present += std::binary_search(bigrams.begin(), bigrams.end(), b);
    return 2 * present > pattern.size();
  };
  if (n >= kPatternMatches) {
    std::unordered_map<uint32_t, size_t> holders;
    for (const Match& m : *matches) {
      for (uint32_t b : m.profile->bigrams) ++holders[b];
    }
    auto need = [](size_t of) {
      return static_cast<size_t>(std::ceil(kPatternShare * static_cast<double>(of)));
    };
    for (const auto& [bigram, count] : holders) {
      if (count >= need(n)) p.pattern.push_back(bigram);
    }
    std::sort(p.pattern.begin(), p.pattern.end());
    // A match is measured against what the others say: one look-alike among
    // the matches must not thin out the pattern.
    auto match_fits = [&](const Match& m) {
      size_t pattern = 0, present = 0;
      for (const auto& [bigram, count] : holders) {
        const bool has =
            std::binary_search(m.profile->bigrams.begin(), m.profile->bigrams.end(), bigram);
        if (count - (has ? 1 : 0) < need(n - 1)) continue;
        ++pattern;
        present += has;
      }
      return 2 * present > pattern;
    };
    if (!holds(p.pattern, p.bigrams) &&
        std::none_of(matches->begin(), matches->end(), shares_entity)) {
      matches->clear();
    } else {
      std::erase_if(*matches, [&](const Match& m) { return !shares_entity(m) && !match_fits(m); });
    }
  }
  // And a match that keeps a group's words is joined only in those words.
  std::erase_if(*matches, [&](const Match& m) {
    return !shares_entity(m) && !m.profile->pattern.empty() &&
           !holds(m.profile->pattern, p.bigrams);
  });
  stats_.kept_out += n - matches->size();
  if (!p.pattern.empty()) {
    for (Match& m : *matches) {
      if (m.profile->pattern.empty()) m.profile->pattern = p.pattern;
    }
  }
}

void Linker::Decide(const Profile& p, std::vector<Match> matches, std::vector<Command>* out) {
  if (matches.empty()) return;
  std::sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) {
    return a.score != b.score ? a.score > b.score : a.profile->incident_id < b.profile->incident_id;
  });
  // The oldest case among the matches' takes them all; with none, the
  // oldest match founds one.
  std::string target;
  for (const Match& m : matches) {
    const std::string c = CaseOf(m.profile->incident_id);
    if (!c.empty() && (target.empty() || Older(c, target))) target = c;
  }
  if (target.empty()) {
    const Profile* oldest = matches.front().profile;
    for (const Match& m : matches) {
      if (std::tie(m.profile->received_at, m.profile->incident_id) <
          std::tie(oldest->received_at, oldest->incident_id)) {
        oldest = m.profile;
      }
    }
    target = CaseIdFor(oldest->incident_id, oldest->received_at);
  }
  auto wanted = [&](const std::string& incident) {
    const std::string k = PairKey(incident, target);
    return !linked_.contains(k) && !rejected_.contains(k);
  };
  if (rejected_.contains(PairKey(p.incident_id, target))) return;
  const Match& best = matches.front();
  auto emit = [&](Command c) {
    ++stats_.proposed;
    out->push_back(std::move(c));
  };
  if (wanted(p.incident_id)) {
    emit(LinkCommand(p.incident_id, target, best.profile->incident_id, best.score, &best.evidence,
                     &p, best.profile, ""));
  }
  std::set<std::string> merged;
  for (const Match& m : matches) {
    const std::string& id = m.profile->incident_id;
    const std::string c = CaseOf(id);
    if (c == target) continue;
    if (c.empty()) {
      if (wanted(id)) {
        emit(LinkCommand(id, target, p.incident_id, m.score, &m.evidence, m.profile, &p, ""));
      }
      continue;
    }
    if (!merged.insert(c).second) continue;
    // A match in another case: that case joins the older one.
    for (const std::string& member : cases_[c].members) {
      if (wanted(member)) {
        emit(LinkCommand(member, target, p.incident_id, m.score, &m.evidence, m.profile, &p, c));
      }
    }
  }
}

Command Linker::LinkCommand(const std::string& incident, const std::string& case_id,
                            const std::string& linked, double score, const Evidence* evidence,
                            const Profile* a, const Profile* b,
                            const std::string& merged_from) const {
  Command c;
  c.command_id = CommandId(model_.version(), incident, case_id);
  c.incident_id = incident;
  c.actor = "svc:linker";
  c.correlation_id = case_id;
  // A link happens when the linker decides it: now (occurred_at 0). The time
  // of the event that prompted it can lie before the incident's own receipt
  // when partitions are read in another order (Kafka).
  c.occurred_at = 0;
  fb::CaseLinkedT l;
  l.case_id = case_id;
  l.linked_incident_id = linked == incident ? "" : linked;
  l.score = std::clamp(score, 0.0, 1.0);
  l.algorithm_version = model_.version();
  double evidence_total = 0;
  for (int f = 0; evidence && f < kFactorCount; ++f) {
    evidence_total += std::fabs(model_.Weight(static_cast<Factor>(f), evidence->value[f]));
  }
  for (int f = 0; evidence && f < kFactorCount; ++f) {
    auto factor = std::make_unique<fb::LinkFactorT>();
    factor->name = FactorName(static_cast<Factor>(f));
    factor->detail = Describe(static_cast<Factor>(f), *evidence, *a, *b);
    factor->value = evidence->value[f];
    factor->weight = model_.Weight(static_cast<Factor>(f), evidence->value[f]);
    factor->contribution = evidence_total > 0 ? factor->weight / evidence_total : 0;
    l.factors.push_back(std::move(factor));
  }
  if (!merged_from.empty()) {
    auto factor = std::make_unique<fb::LinkFactorT>();
    factor->name = "merge";
    factor->detail = fmt::format("case {} merged into {}", merged_from, case_id);
    l.factors.push_back(std::move(factor));
  }
  c.payload.Set(std::move(l));
  return c;
}

void Linker::Linked(const fb::Event& e, std::vector<Command>* out) {
  const auto* l = e.payload_as_CaseLinked();
  const std::string incident = e.incident_id()->str();
  const std::string case_id = Str(l->case_id());
  if (case_id.empty()) return;
  linked_.insert(PairKey(incident, case_id));
  if (!cases_.contains(case_id)) cases_[case_id] = CaseInfo{case_id, {}};
  std::string root = Root(case_id);
  if (root != case_id && !linked_.contains(PairKey(incident, root)) &&
      !rejected_.contains(PairKey(incident, root))) {
    // Linked to a case that was merged: into the survivor too.
    ++stats_.proposed;
    out->push_back(LinkCommand(incident, root, Str(l->linked_incident_id()), l->score(), nullptr,
                               nullptr, nullptr, case_id));
  }
  auto prev = incident_case_.find(incident);
  if (prev != incident_case_.end()) {
    const std::string other = Root(prev->second);
    if (other != root) {
      // Two cases meet in one incident: the older survives, and the younger
      // one's members are linked into it.
      const std::string keep = Older(other, root) ? other : root;
      const std::string gone = keep == other ? root : other;
      for (const std::string& member : cases_[gone].members) {
        const std::string k = PairKey(member, keep);
        if (linked_.contains(k) || rejected_.contains(k)) continue;
        ++stats_.proposed;
        out->push_back(
            LinkCommand(member, keep, incident, l->score(), nullptr, nullptr, nullptr, gone));
      }
      cases_[gone].parent = keep;
      auto& kept = cases_[keep].members;
      for (auto& m : cases_[gone].members) kept.push_back(std::move(m));
      cases_[gone].members.clear();
      root = keep;
    } else {
      return;  // already a member
    }
  }
  incident_case_.insert_or_assign(incident, case_id);
  auto& members = cases_[root].members;
  if (std::find(members.begin(), members.end(), incident) == members.end()) {
    members.push_back(incident);
  }
}

}  // namespace blotter::projections::linker
