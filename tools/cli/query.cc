// blotter query: reads the views (blotter project builds them).

#include <rocksdb/db.h>

#include <queue>

#include "events/vocabulary.h"
#include "projections/incidents/incidents_view.h"
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
  std::string category, subtype, region, from, to, status, cursor;
  size_t limit = 50;
};

std::string ViewsDir(const QueryOptions& o) { return ViewsDir(o.log, o.views_dir); }

int Incident(const QueryOptions& o) {
  auto store = ViewStore::Open(ViewsDir(o), projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("query", store.status());
  std::string v;
  auto s =
      (*store)->db()->Get(rocksdb::ReadOptions(), (*store)->cf(Cf::kIncidents), o.incident, &v);
  if (s.IsNotFound()) return Fail("query", fmt::format("no incident {} in the views", o.incident));
  if (!s.ok()) return Fail("query", s.ToString());
  auto state = projections::DecodeState(v);
  if (!state.ok()) return Fail("query", state.status());
  PrintLine(StateToJson(*state).dump(-1, ' ', false));
  return 0;
}

int Incidents(const QueryOptions& o) {
  auto store = ViewStore::Open(ViewsDir(o), projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("query", store.status());
  // The narrowest index the filters allow.
  std::string prefix;
  if (!o.subtype.empty()) {
    auto st = EnumFromName<fb::Subtype>(o.subtype, "subtype");
    if (!st.ok()) return Fail("query", st.status());
    prefix = "s/" + o.subtype + "/" + o.region;
  } else if (!o.category.empty()) {
    auto c = EnumFromName<fb::Category>(o.category, "category");
    if (!c.ok()) return Fail("query", c.status());
    prefix = "k/" + o.category + "/" + o.region;
  } else if (!o.status.empty() && o.status != "resolved" && o.status != "transferred") {
    prefix = "o/" + o.status + "/";
  } else {
    prefix = "r/" + o.region;
  }
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
  rocksdb::DB* db = (*store)->db();
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), (*store)->cf(Cf::kIncidentIndex)));
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
    const Entry e{received, id};
    if (!(e < cursor)) continue;
    newest.push(e);
    if (newest.size() > o.limit) newest.pop();
  }
  std::vector<Entry> page;
  while (!newest.empty()) {
    page.push_back(newest.top());
    newest.pop();
  }
  std::reverse(page.begin(), page.end());
  for (const Entry& e : page) {
    std::string v;
    if (!db->Get(rocksdb::ReadOptions(), (*store)->cf(Cf::kIncidents), e.second, &v).ok()) continue;
    auto state = projections::DecodeState(v);
    if (!state.ok()) continue;
    if (!o.status.empty() && Name(state->status) != o.status) continue;
    if (!o.category.empty() && Name(state->category) != o.category) continue;
    PrintLine(StateToJson(*state).dump(-1, ' ', false));
  }
  if (page.size() == o.limit && !page.empty()) {
    fmt::print(stderr, "more: --cursor {}/{}\n", FormatTime(page.back().first), page.back().second);
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
  many->add_option("--limit", o->limit, "most incidents per page")->capture_default_str();
  many->add_option("--cursor", o->cursor, "continue after the page that printed this cursor");
  c.run = [o, one, many] {
    if (one->parsed()) return Incident(*o);
    if (many->parsed()) return Incidents(*o);
    return Fail("query", "name a query: incident, incidents");
  };
  return c;
}

}  // namespace blotter::cli
