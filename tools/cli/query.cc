// blotter query: reads the views (blotter project builds them).

#include <fmt/ranges.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <map>
#include <optional>
#include <queue>
#include <set>

#include "events/vocabulary.h"
#include "projections/incidents/incidents_view.h"
#include "projections/linker/links_view.h"
#include "projections/state_codec.h"
#include "projections/store.h"
#include "tools/cli/common.h"

namespace blotter::cli {
namespace {

using projections::Cf;
using projections::ViewStore;

struct QueryOptions {
  LogOptions log;
  std::string views_dir;
  std::string incident;
  std::string category, subtype, region, from, to, status, unit, cursor;
  size_t limit = 50;
  std::string case_id;
  std::string format = "text";
  bool open = false;
  size_t min_size = 2;
};

std::string ViewsDir(const QueryOptions& o) { return ViewsDir(o.log, o.views_dir); }

int Incident(const QueryOptions& o) {
  auto store = ViewStore::Open(ViewsDir(o), projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("query", store.status());
  std::string v;
  auto s = (*store)->db()->Get(rocksdb::ReadOptions(), (*store)->cf(Cf::kIncidents),
                               IncidentKey(o.incident), &v);
  if (s.IsNotFound()) return Fail("query", fmt::format("no incident {} in the views", o.incident));
  if (!s.ok()) return Fail("query", s.ToString());
  auto state = projections::DecodeState(o.incident, v);
  if (!state.ok()) return Fail("query", state.status());
  PrintLine(StateToJson(*state).dump(-1, ' ', false));
  return 0;
}

int Incidents(const QueryOptions& o) {
  auto store = ViewStore::Open(ViewsDir(o), projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("query", store.status());
  if (!o.status.empty()) {
    std::vector<std::string_view> statuses;
    for (int s = static_cast<int>(IncidentStatus::kReceived);
         s <= static_cast<int>(IncidentStatus::kTransferred); ++s) {
      statuses.push_back(Name(static_cast<IncidentStatus>(s)));
    }
    if (std::find(statuses.begin(), statuses.end(), o.status) == statuses.end()) {
      return Fail("query",
                  fmt::format("unknown status '{}' ({})", o.status, fmt::join(statuses, ", ")));
    }
  }
  // The narrowest index the filters allow, as one or more key ranges; the
  // filters its keys do not carry are checked on each candidate's state
  // before it counts toward a page, so that a page holds `limit` matches
  // whenever there are that many.
  struct Range {
    std::string prefix;
    bool check_category = false;  // a range of `other`, which any category may use
  };
  std::vector<Range> ranges;
  bool keyed_region = true;  // the index's keys carry the division
  if (!o.subtype.empty()) {
    auto st = EnumFromName<fb::Subtype>(o.subtype, "subtype");
    if (!st.ok()) return Fail("query", st.status());
    ranges.push_back({"s/" + o.subtype + "/" + o.region, !o.category.empty()});
  } else if (!o.category.empty()) {
    auto c = EnumFromName<fb::Category>(o.category, "category");
    if (!c.ok()) return Fail("query", c.status());
    // Its subtypes' ranges (incidents_view.h); `unknown` for category unknown.
    for (fb::Subtype st : fb::EnumValuesSubtype()) {
      if (st != fb::Subtype::other && CategoryOf(st) == *c) {
        ranges.push_back({fmt::format("s/{}/{}", Name(st), o.region)});
      }
    }
    ranges.push_back({fmt::format("s/{}/{}", Name(fb::Subtype::other), o.region), true});
  } else if (!o.unit.empty()) {
    ranges.push_back({"u/" + o.unit + "/"});
    keyed_region = false;
  } else if (!o.status.empty() && o.status != "resolved" && o.status != "transferred") {
    ranges.push_back({"o/" + o.status + "/"});
    keyed_region = false;
  } else {
    // Every subtype's range, unknown (not yet classified) included.
    for (fb::Subtype st : fb::EnumValuesSubtype()) {
      ranges.push_back({fmt::format("s/{}/{}", Name(st), o.region)});
    }
  }
  const std::string& first = ranges.front().prefix;
  const bool keyed_status = first.starts_with("o/");
  const bool needs_state = (!o.status.empty() && !keyed_status) ||
                           (!o.region.empty() && !keyed_region) ||
                           (!o.unit.empty() && !first.starts_with("u/"));
  auto matches = [&](const IncidentState& s) {
    if (!o.status.empty() && Name(s.status) != o.status) return false;
    if (!o.category.empty() && Name(s.category) != o.category) return false;
    if (!o.subtype.empty() && Name(s.subtype) != o.subtype) return false;
    if (!s.division.starts_with(o.region)) return false;
    return o.unit.empty() || s.FindUnit(o.unit) != nullptr;
  };
  rocksdb::DB* db = (*store)->db();
  auto read_state = [&](const std::string& id) -> std::optional<IncidentState> {
    std::string v;
    if (!db->Get(rocksdb::ReadOptions(), (*store)->cf(Cf::kIncidents), IncidentKey(id), &v).ok()) {
      return std::nullopt;
    }
    auto state = projections::DecodeState(id, v);
    if (!state.ok()) return std::nullopt;
    return std::move(*state);
  };
  Micros from = INT64_MIN, to = INT64_MAX;
  if (!o.from.empty()) {
    auto t = ParseTime(o.from);
    if (!t.ok()) return Fail("query", t.status().WithContext("--from"));
    from = *t;
  }
  if (!o.to.empty()) {
    auto t = ParseTime(o.to);
    if (!t.ok()) return Fail("query", t.status().WithContext("--to"));
    to = *t;
  }
  // Newest first: keep the `limit` newest matches older than the cursor.
  using Entry = std::pair<Micros, std::string>;  // received, id
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> newest;
  Entry cursor{INT64_MAX, ""};
  if (!o.cursor.empty()) {
    const auto slash = o.cursor.find('/');
    auto t = ParseTime(o.cursor.substr(0, slash));
    if (slash == std::string::npos || !t.ok())
      return Fail("query", "--cursor is not a cursor this query printed");
    cursor = {*t, o.cursor.substr(slash + 1)};
  }
  for (const Range& range : ranges) {
    const std::string& prefix = range.prefix;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(
        rocksdb::ReadOptions(), (*store)->cf(projections::IncidentsView::IndexCf(prefix))));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const std::string_view k = it->key().ToStringView();
      // Keys end with /<received, 8 bytes>/<id>; incident ids hold no '/'.
      const size_t slash = k.rfind('/');
      if (slash == std::string_view::npos || slash < 8) continue;
      const std::string id(k.substr(slash + 1));
      const std::string_view tb = k.substr(slash - 8, 8);
      uint64_t t = 0;
      for (char c : tb) t = (t << 8) | static_cast<uint8_t>(c);
      const Micros received = static_cast<Micros>(t ^ (uint64_t{1} << 63));
      if (received < from || received > to) continue;
      Entry e{received, id};
      if (!(e < cursor)) continue;
      if (!newest.empty() && newest.size() == o.limit && !(newest.top() < e)) continue;
      if (needs_state || range.check_category) {
        auto state = read_state(e.second);
        if (!state || !matches(*state)) continue;
      }
      newest.push(std::move(e));
      if (newest.size() > o.limit) newest.pop();
    }
  }
  std::vector<Entry> page;
  while (!newest.empty()) {
    page.push_back(newest.top());
    newest.pop();
  }
  std::reverse(page.begin(), page.end());
  for (const Entry& e : page) {
    auto state = read_state(e.second);
    if (state) PrintLine(StateToJson(*state).dump(-1, ' ', false));
  }
  if (page.size() == o.limit && !page.empty()) {
    fmt::print(stderr, "more: --cursor {}/{}\n", FormatTime(page.back().first), page.back().second);
  }
  return 0;
}

// ------------------------------------------------------------------ cases

struct MemberView {
  projections::CaseMember link;
  IncidentState state;  // as the incidents view has it (empty if not there)
};

struct CaseView {
  std::string id;
  std::vector<MemberView> members;  // in time order
  std::set<std::string> subtypes, divisions, provinces;
  std::vector<std::string> common_mo;  // in most of the links
  Micros from = 0, to = 0;
  int first_hour = 24, last_hour = -1;
  size_t proposed = 0, confirmed = 0, rejected = 0;
};

int LocalHour(Micros t) {
  const Micros local = t + kDisplayOffsetMinutes * kMicrosPerMinute;
  return static_cast<int>(((local % kMicrosPerDay) + kMicrosPerDay) % kMicrosPerDay /
                          kMicrosPerHour);
}

Result<CaseView> LoadCase(const ViewStore& store, const std::string& case_id) {
  CaseView c;
  c.id = case_id;
  BLOTTER_ASSIGN_OR_RETURN(auto members, projections::MembersOf(store, case_id));
  std::map<std::string, size_t> mo;
  size_t with_mo = 0;
  for (auto& m : members) {
    MemberView v{std::move(m), {}};
    std::string raw;
    if (store.db()
            ->Get(rocksdb::ReadOptions(), store.cf(Cf::kIncidents), IncidentKey(v.link.incident_id),
                  &raw)
            .ok()) {
      auto st = projections::DecodeState(v.link.incident_id, raw);
      if (st.ok()) v.state = std::move(st).value();
    }
    if (v.link.status == "proposed") ++c.proposed;
    if (v.link.status == "confirmed") ++c.confirmed;
    if (v.link.status == "rejected") ++c.rejected;
    if (v.state.exists()) {
      c.subtypes.insert(std::string(Name(v.state.subtype)));
      c.divisions.insert(v.state.division);
      c.provinces.insert(std::string(ProvinceOf(v.state.division)));
      const int h = LocalHour(v.state.received_at);
      c.first_hour = std::min(c.first_hour, h);
      c.last_hour = std::max(c.last_hour, h);
    }
    if (v.link.link.is_object()) {
      for (const auto& f : v.link.link.value("factors", Json::array())) {
        const std::string detail = f.value("detail", "");
        if (f.value("name", "") != "mo_tags" || !detail.starts_with("same MO: ")) continue;
        ++with_mo;
        std::string_view rest = std::string_view(detail).substr(9);
        while (!rest.empty()) {
          const size_t comma = rest.find(", ");
          ++mo[std::string(rest.substr(0, comma))];
          rest = comma == std::string_view::npos ? "" : rest.substr(comma + 2);
        }
      }
    }
    c.members.push_back(std::move(v));
  }
  if (c.members.empty()) return Status::NotFound(fmt::format("no case {} in the views", case_id));
  std::sort(c.members.begin(), c.members.end(), [](const MemberView& a, const MemberView& b) {
    return std::tie(a.state.received_at, a.link.incident_id) <
           std::tie(b.state.received_at, b.link.incident_id);
  });
  c.from = c.members.front().state.received_at;
  c.to = c.members.back().state.received_at;
  for (const auto& [tag, n] : mo) {
    if (2 * n >= with_mo) c.common_mo.push_back(tag);
  }
  return c;
}

Json CaseJson(const CaseView& c) {
  Json j = Json::object();
  j["case_id"] = c.id;
  j["size"] = c.members.size();
  j["subtypes"] = std::vector<std::string>(c.subtypes.begin(), c.subtypes.end());
  j["from"] = FormatTime(c.from);
  j["to"] = FormatTime(c.to);
  j["divisions"] = std::vector<std::string>(c.divisions.begin(), c.divisions.end());
  j["provinces"] = std::vector<std::string>(c.provinces.begin(), c.provinces.end());
  j["common_mo"] = c.common_mo;
  j["links"] = {{"proposed", c.proposed}, {"confirmed", c.confirmed}, {"rejected", c.rejected}};
  Json members = Json::array();
  for (const auto& m : c.members) {
    Json mj = Json::object();
    mj["incident_id"] = m.link.incident_id;
    if (m.state.exists()) {
      mj["received_at"] = FormatTime(m.state.received_at);
      mj["division"] = m.state.division;
      mj["subtype"] = std::string(Name(m.state.subtype));
    }
    mj["status"] = m.link.status;
    if (m.link.link.is_object()) {
      mj["score"] = m.link.link.value("score", 0.0);
      mj["linked_incident_id"] = m.link.link.value("linked_incident_id", "");
      mj["factors"] = m.link.link.value("factors", Json::array());
    }
    members.push_back(std::move(mj));
  }
  j["members"] = std::move(members);
  return j;
}

// The reasons of one link in plain words: the factors that spoke for it (and
// the merge note), then those that clearly spoke against it.
std::string Because(const Json& link) {
  std::string out, against;
  for (const auto& f : link.value("factors", Json::array())) {
    const std::string name = f.value("name", "");
    const std::string detail = f.value("detail", "");
    const double weight = f.value("weight", 0.0);
    if (name == "merge" || weight > 0) {
      out += (out.empty() ? "" : ", ") + detail;
    } else if (weight < -0.25) {
      against += (against.empty() ? "" : ", ") + detail;
    }
  }
  return against.empty() ? out : fmt::format("{}; against: {}", out, against);
}

void PrintCase(const CaseView& c) {
  std::string provinces;
  for (const auto& p : c.provinces) provinces += (provinces.empty() ? "" : ", ") + p;
  std::string divisions;
  for (const auto& d : c.divisions) divisions += (divisions.empty() ? "" : ", ") + d;
  std::string subtypes;
  for (const auto& s : c.subtypes) subtypes += (subtypes.empty() ? "" : ", ") + s;
  std::string mo;
  for (const auto& t : c.common_mo) mo += (mo.empty() ? "" : ", ") + t;
  PrintLine(fmt::format("case {}: {} incidents of {}, {} to {} ({:.0f} days)", c.id,
                        c.members.size(), subtypes, FormatTime(c.from).substr(0, 16),
                        FormatTime(c.to).substr(0, 16),
                        static_cast<double>(c.to - c.from) / kMicrosPerDay));
  PrintLine(fmt::format("  crosses {} division(s) in {} province(s): {} ({})", c.divisions.size(),
                        c.provinces.size(), divisions, provinces));
  PrintLine(fmt::format("  in common: {}; reported between {:02}:00 and {:02}:59",
                        mo.empty() ? "no MO in most links" : "MO " + mo, c.first_hour,
                        c.last_hour));
  PrintLine(fmt::format("  links: {} proposed, {} confirmed, {} rejected", c.proposed, c.confirmed,
                        c.rejected));
  for (const auto& m : c.members) {
    std::string why = "founded the case";
    if (m.link.link.is_object()) {
      const std::string other = m.link.link.value("linked_incident_id", "");
      why = fmt::format("{:.3f} with {}: {}", m.link.link.value("score", 0.0), other,
                        Because(m.link.link));
    }
    PrintLine(fmt::format("  {}  {}  {} {}  {:<9}  {}",
                          m.state.exists() ? FormatTime(m.state.received_at).substr(0, 16) : "?",
                          m.link.incident_id, m.state.division, ProvinceOf(m.state.division),
                          m.link.status, why));
  }
}

int Linked(const QueryOptions& o) {
  auto store = ViewStore::Open(ViewsDir(o), projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("query", store.status());
  auto cases = projections::CasesOf(**store, o.incident);
  if (!cases.ok()) return Fail("query", cases.status());
  if (cases->empty()) {
    return Fail("query",
                fmt::format("incident {} is linked to no case (in the views)", o.incident));
  }
  for (const auto& id : *cases) {
    auto c = LoadCase(**store, id);
    if (!c.ok()) return Fail("query", c.status());
    if (o.format == "json") {
      PrintLine(CaseJson(*c).dump(-1, ' ', false, Json::error_handler_t::replace));
    } else {
      PrintCase(*c);
    }
  }
  return 0;
}

int Case(const QueryOptions& o) {
  auto store = ViewStore::Open(ViewsDir(o), projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("query", store.status());
  auto id = projections::SurvivingCase(**store, o.case_id);
  if (!id.ok()) return Fail("query", id.status());
  auto c = LoadCase(**store, *id);
  if (!c.ok()) return Fail("query", c.status());
  if (*id != o.case_id) {
    fmt::print(stderr, "query: case {} was merged into {}\n", o.case_id, *id);
  }
  if (o.format == "json") {
    PrintLine(CaseJson(*c).dump(-1, ' ', false, Json::error_handler_t::replace));
  } else {
    PrintCase(*c);
  }
  return 0;
}

// The series worth a look: one JSON line per case, largest first.
int Cases(const QueryOptions& o) {
  auto store = ViewStore::Open(ViewsDir(o), projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("query", store.status());
  auto ids = projections::AllCases(**store);
  if (!ids.ok()) return Fail("query", ids.status());
  std::vector<CaseView> found;
  for (const auto& id : *ids) {
    auto c = LoadCase(**store, id);
    if (!c.ok()) return Fail("query", c.status());
    // Open: some link still awaits an investigator's word.
    if (o.open && c->proposed == 0) continue;
    if (c->members.size() < o.min_size) continue;
    if (!o.subtype.empty() && !c->subtypes.contains(o.subtype)) continue;
    if (!o.region.empty() &&
        std::none_of(c->divisions.begin(), c->divisions.end(),
                     [&](const std::string& d) { return d.starts_with(o.region); })) {
      continue;
    }
    found.push_back(std::move(c).value());
  }
  std::stable_sort(found.begin(), found.end(), [](const CaseView& a, const CaseView& b) {
    return a.members.size() > b.members.size();
  });
  for (const auto& c : found) {
    Json j = CaseJson(c);
    j.erase("members");
    PrintLine(j.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  return 0;
}

}  // namespace

Subcommand AddQuery(CLI::App& root) {
  auto o = std::make_shared<QueryOptions>();
  Subcommand c;
  c.app = root.add_subcommand("query", "query the views (build them with blotter project)");
  c.app->require_subcommand(1);
  auto add_common = [&](CLI::App* app) {
    AddLogOptions(app, &o->log, "query");
    AddViewsDirOption(app, &o->views_dir);
  };
  CLI::App* one = c.app->add_subcommand("incident", "one incident's current state, as JSON");
  add_common(one);
  one->add_option("id", o->incident, "incident id")->required();
  CLI::App* many = c.app->add_subcommand(
      "incidents", "incidents matching filters, newest first, as JSON lines (paged with --cursor)");
  add_common(many);
  many->add_option("--category", o->category, "e.g. criminal");
  many->add_option("--subtype", o->subtype, "e.g. fuel_theft");
  many->add_option("--region", o->region, "division-code prefix, e.g. 4116 or 411681");
  many->add_option("--from", o->from, "received at or after (RFC 3339 or a date)");
  many->add_option("--to", o->to, "received at or before");
  many->add_option("--status", o->status,
                   "received, classified, dispatched, on_scene, resolved, transferred");
  many->add_option("--unit", o->unit, "attended by this unit, e.g. XC-P-03");
  many->add_option("--limit", o->limit, "most incidents per page")->capture_default_str();
  many->add_option("--cursor", o->cursor, "continue after the page that printed this cursor");
  CLI::App* linked = c.app->add_subcommand(
      "linked", "the series an incident belongs to: members, scores and why they were linked");
  add_common(linked);
  linked->add_option("id", o->incident, "incident id")->required();
  CLI::App* one_case = c.app->add_subcommand(
      "case", "a case: members in time order, span, regions and provinces, pattern, link status");
  add_common(one_case);
  one_case->add_option("id", o->case_id, "case id")->required();
  for (CLI::App* a : {linked, one_case}) {
    a->add_option("--format", o->format, "text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
  }
  CLI::App* cases =
      c.app->add_subcommand("cases", "the series worth a look, largest first, one JSON line each");
  add_common(cases);
  cases->add_flag("--open", o->open, "only cases with a link no investigator decided yet");
  cases->add_option("--region", o->region, "with a member in this division-code prefix");
  cases->add_option("--subtype", o->subtype, "with a member of this subtype");
  cases->add_option("--min-size", o->min_size, "at least this many incidents")
      ->capture_default_str();
  c.run = [o, one, many, linked, one_case, cases] {
    if (one->parsed()) return Incident(*o);
    if (many->parsed()) return Incidents(*o);
    if (linked->parsed()) return Linked(*o);
    if (one_case->parsed()) return Case(*o);
    if (cases->parsed()) return Cases(*o);
    return Fail("query", "name a query: incident, incidents, linked, case, cases");
  };
  return c;
}

}  // namespace blotter::cli
