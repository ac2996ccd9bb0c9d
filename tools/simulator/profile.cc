#include "tools/simulator/profile.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "events/json.h"
#include "events/vocabulary.h"

#ifndef BLOTTER_PROFILES_DIR
#define BLOTTER_PROFILES_DIR ""
#endif

namespace blotter::sim {
namespace {

namespace fs = std::filesystem;

Result<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("cannot read {}", p.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = line.find('\t', start);
    out.push_back(
        line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// Reads the profile's JSON, with the path of the first problem in `status`.
class Reader {
 public:
  Reader(std::string file) : file_(std::move(file)) {}

  void Fail(const std::string& where, const std::string& what) {
    if (status_.ok())
      status_ = Status::InvalidArgument(fmt::format("{}: {}: {}", file_, where, what));
  }
  const Status& status() const { return status_; }

  const Json* Get(const Json& j, const std::string& key, const std::string& where,
                  bool required = true) {
    if (j.is_object() && j.contains(key)) return &j.at(key);
    if (required) Fail(where + "." + key, "missing");
    return nullptr;
  }
  double Number(const Json& j, const std::string& key, const std::string& where,
                double fallback = 0, bool required = true) {
    const Json* v = Get(j, key, where, required);
    if (!v) return fallback;
    if (!v->is_number()) {
      Fail(where + "." + key, "not a number");
      return fallback;
    }
    return v->get<double>();
  }
  std::string String(const Json& j, const std::string& key, const std::string& where,
                     bool required = true) {
    const Json* v = Get(j, key, where, required);
    if (!v) return "";
    if (!v->is_string()) {
      Fail(where + "." + key, "not a string");
      return "";
    }
    return v->get<std::string>();
  }
  std::vector<std::string> Strings(const Json& j, const std::string& key, const std::string& where,
                                   bool required = true) {
    std::vector<std::string> out;
    const Json* v = Get(j, key, where, required);
    if (!v) return out;
    if (!v->is_array()) {
      Fail(where + "." + key, "not a list");
      return out;
    }
    for (const auto& s : *v) {
      if (!s.is_string()) {
        Fail(where + "." + key, "not a list of strings");
        return {};
      }
      out.push_back(s.get<std::string>());
    }
    return out;
  }
  template <typename E>
  E Enum(const std::string& name, const std::string& where, const char* what) {
    auto e = EnumFromName<E>(name, what);
    if (!e.ok()) {
      Fail(where, e.status().message());
      return E{};
    }
    return *e;
  }
  // A local midnight from "YYYY-MM-DD".
  Micros Day(const Json& j, const std::string& key, const std::string& where) {
    const std::string s = String(j, key, where);
    if (!status_.ok()) return 0;
    auto t = ParseTime(s + "T00:00:00+08:00");
    if (!t.ok()) {
      Fail(where + "." + key, "not a date (YYYY-MM-DD)");
      return 0;
    }
    return *t;
  }
  template <size_t N>
  std::array<double, N> Numbers(const Json& j, const std::string& key, const std::string& where) {
    std::array<double, N> out{};
    const Json* v = Get(j, key, where);
    if (!v) return out;
    if (!v->is_array() || v->size() != N) {
      Fail(where + "." + key, fmt::format("needs {} numbers", N));
      return out;
    }
    for (size_t i = 0; i < N; ++i) {
      if (!(*v)[i].is_number() || (*v)[i].get<double>() < 0) {
        Fail(where + "." + key, "needs non-negative numbers");
        return out;
      }
      out[i] = (*v)[i].get<double>();
    }
    return out;
  }
  // {"name": weight, ...} with names parsed by `parse`.
  template <typename T, typename F>
  Weighted<T> Weights(const Json& j, const std::string& where, F parse) {
    Weighted<T> out;
    if (!j.is_object() || j.empty()) {
      Fail(where, "needs an object of weights");
      return out;
    }
    for (const auto& [k, v] : j.items()) {
      if (!v.is_number() || v.template get<double>() < 0) {
        Fail(where + "." + k, "weight is not a non-negative number");
        return out;
      }
      out.Add(parse(k, where + "." + k), v.template get<double>());
    }
    if (out.total() <= 0) Fail(where, "weights add up to nothing");
    return out;
  }
  LogNormal Spec(const Json& j, const std::string& key, const std::string& where) {
    const Json* v = Get(j, key, where);
    if (!v) return {};
    LogNormal out{Number(*v, "median", where + "." + key), Number(*v, "sigma", where + "." + key)};
    if (out.median <= 0 || out.sigma < 0) Fail(where + "." + key, "needs median > 0, sigma >= 0");
    return out;
  }

 private:
  std::string file_;
  Status status_;
};

}  // namespace

bool Division::Has(fb::Channel c) const {
  return std::find(channels.begin(), channels.end(), c) != channels.end();
}

const Weighted<Outcome>* Profile::OutcomesFor(fb::Category category, fb::Subtype subtype) const {
  if (auto it = outcomes.find(std::string(Name(subtype))); it != outcomes.end()) return &it->second;
  if (auto it = outcomes.find(std::string(Name(category))); it != outcomes.end()) {
    return &it->second;
  }
  return nullptr;
}

const Division* Profile::FindDivision(std::string_view code) const {
  for (const auto& d : divisions) {
    if (d.code == code) return &d;
  }
  return nullptr;
}

Result<Profile> Profile::Load(const std::string& dir) {
  Profile p;
  const fs::path json_path = fs::path(dir) / "profile.json";
  BLOTTER_ASSIGN_OR_RETURN(std::string text, ReadFile(json_path));
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(fmt::format("{}: not a JSON object", json_path.string()));
  }
  Reader r(json_path.string());
  p.name = r.String(j, "name", "");

  // Volumes: the category mix of a call follows the year's figures.
  if (const Json* year = r.Get(j, "year", "")) {
    p.year_calls = r.Number(*year, "calls", "year");
    double valid = 0;
    if (const Json* v = r.Get(*year, "valid", "year")) {
      for (const char* c : {"criminal", "public_order", "traffic", "assistance", "fire_disaster"}) {
        const double n = r.Number(*v, c, "year.valid");
        valid += n;
        p.categories.Add(r.Enum<fb::Category>(c, "year.valid", "category"), n);
      }
    }
    const double non_police = r.Number(*year, "non_police", "year");
    p.categories.Add(fb::Category::non_police, non_police);
    const double invalid = p.year_calls - valid - non_police;
    if (invalid < 0) r.Fail("year", "valid and non-police add up to more than the calls");
    p.categories.Add(fb::Category::invalid, invalid);
  }
  auto subtype = [&](const std::string& name, const std::string& where) {
    return r.Enum<fb::Subtype>(name, where, "subtype");
  };
  if (const Json* inv = r.Get(j, "invalid", "")) {
    p.subtypes[fb::Category::invalid] = r.Weights<fb::Subtype>(*inv, "invalid", subtype);
  }
  if (const Json* subs = r.Get(j, "subtypes", "")) {
    for (const auto& [cat, weights] : subs->items()) {
      const auto c = r.Enum<fb::Category>(cat, "subtypes." + cat, "category");
      p.subtypes[c] = r.Weights<fb::Subtype>(weights, "subtypes." + cat, subtype);
      for (fb::Subtype s : p.subtypes[c].items) {
        const fb::Category of = CategoryOf(s);
        if (of != fb::Category::unknown && of != c) {
          r.Fail("subtypes." + cat, fmt::format("subtype {} belongs to {}", Name(s), Name(of)));
        }
      }
    }
  }
  for (fb::Category c : p.categories.items) {
    if (!p.subtypes.contains(c)) r.Fail("subtypes", fmt::format("no mix for {}", Name(c)));
  }
  if (const Json* outs = r.Get(j, "outcomes", "")) {
    for (const auto& [key, weights] : outs->items()) {
      p.outcomes[key] = r.Weights<Outcome>(
          weights, "outcomes." + key, [&](const std::string& name, const std::string& where) {
            Outcome o;
            if (name == "transfer_120") {
              o.transfer = fb::TransferDestination::ambulance_120;
            } else if (name == "transfer_119") {
              o.transfer = fb::TransferDestination::fire_119;
            } else {
              o.disposition = r.Enum<fb::Disposition>(name, where, "disposition");
            }
            return o;
          });
    }
  }
  if (const Json* ch = r.Get(j, "channels", "")) {
    p.channels = r.Weights<fb::Channel>(*ch, "channels",
                                        [&](const std::string& n, const std::string& where) {
                                          return r.Enum<fb::Channel>(n, where, "channel");
                                        });
  }
  if (const Json* refs = r.Get(j, "referrers", "")) {
    for (const auto& [k, v] : refs->items()) {
      p.referrers[r.Enum<fb::Channel>(k, "referrers." + k, "channel")] =
          r.Strings(*refs, k, "referrers");
    }
  }
  for (fb::Channel c : {fb::Channel::platform_referral, fb::Channel::agency_transfer}) {
    if (p.referrers[c].empty()) {
      r.Fail("referrers", fmt::format("{} needs at least one referrer", Name(c)));
    }
  }
  p.hourly = r.Numbers<24>(j, "hourly", "");
  p.weekday = r.Numbers<7>(j, "weekday", "");
  p.monthly = r.Numbers<12>(j, "monthly", "");

  if (const Json* resp = r.Get(j, "response", "")) {
    auto& s = p.response;
    s.answer_s = r.Spec(*resp, "answer_seconds", "response");
    s.classify_s = r.Spec(*resp, "classify_seconds", "response");
    s.dispatch_s = r.Spec(*resp, "dispatch_seconds", "response");
    s.travel_min_urban = r.Spec(*resp, "travel_minutes_urban", "response");
    s.travel_min_county = r.Spec(*resp, "travel_minutes_county", "response");
    s.handle_min = r.Spec(*resp, "handle_minutes", "response");
    s.night_travel_factor = r.Number(*resp, "night_travel_factor", "response");
    for (const char* key : {"reinforcement_share", "dispatched_share"}) {
      if (const Json* m = r.Get(*resp, key, "response")) {
        for (const auto& [cat, v] : m->items()) {
          const std::string where = std::string("response.") + key + "." + cat;
          if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
            r.Fail(where, "not a share between 0 and 1");
            continue;
          }
          (key == std::string("reinforcement_share")
               ? s.reinforcement_share
               : s.dispatched_share)[r.Enum<fb::Category>(cat, where, "category")] =
              v.get<double>();
        }
      }
    }
  }

  if (const Json* events = r.Get(j, "events", "", false)) {
    for (size_t i = 0; i < events->size(); ++i) {
      const Json& e = (*events)[i];
      const std::string where = fmt::format("events[{}]", i);
      SeasonalEvent ev;
      ev.name = r.String(e, "name", where);
      ev.from = r.Day(e, "from", where);
      ev.days = static_cast<int>(r.Number(e, "days", where));
      ev.regions = r.Strings(e, "regions", where);
      ev.calls = r.Number(e, "calls", where);
      ev.peak_day_share = r.Number(e, "peak_day_share", where, 0, false);
      if (const Json* s = r.Get(e, "subtypes", where)) {
        ev.subtypes = r.Weights<fb::Subtype>(*s, where + ".subtypes", subtype);
      }
      if (ev.days < 1) r.Fail(where + ".days", "at least 1");
      p.events.push_back(std::move(ev));
    }
  }
  auto entity_kind = [&](const std::string& n, const std::string& where) {
    return r.Enum<fb::EntityKind>(n, where, "entity kind");
  };
  if (const Json* series = r.Get(j, "series", "", false)) {
    for (size_t i = 0; i < series->size(); ++i) {
      const Json& s = (*series)[i];
      const std::string where = fmt::format("series[{}]", i);
      SeriesSpec sp;
      sp.id = r.String(s, "id", where);
      sp.title = r.String(s, "title", where);
      sp.subtype = subtype(r.String(s, "subtype", where), where + ".subtype");
      sp.from = r.Day(s, "from", where);
      sp.to = r.Day(s, "to", where);
      sp.incidents = static_cast<int>(r.Number(s, "incidents", where));
      sp.regions = r.Strings(s, "regions", where);
      sp.place_radius_km = r.Number(s, "place_radius_km", where);
      const auto hh = r.Strings(s, "mo_tags", where);
      sp.mo_tags = hh;
      sp.mo_keep = r.Number(s, "mo_keep", where, 1, false);
      for (const char* key : {"happened_hours", "reported_hours"}) {
        if (const Json* h = r.Get(s, key, where)) {
          if (!h->is_array() || h->size() != 2 || !(*h)[0].is_number_integer() ||
              !(*h)[1].is_number_integer()) {
            r.Fail(where + "." + key, "needs [from hour, to hour]");
            continue;
          }
          (key == std::string("happened_hours") ? sp.happened_hours : sp.reported_hours) = {
              (*h)[0].get<int>(), (*h)[1].get<int>()};
        }
      }
      sp.weekdays_only = s.value("weekdays_only", false);
      if (const Json* ents = r.Get(s, "entities", where, false)) {
        for (const auto& e : *ents) {
          sp.entities.push_back({entity_kind(r.String(e, "kind", where), where + ".entities"),
                                 r.String(e, "value", where + ".entities"),
                                 r.Number(e, "share", where + ".entities")});
        }
      }
      sp.descriptions = r.Strings(s, "descriptions", where);
      sp.places = r.Strings(s, "places", where);
      if (sp.incidents < 2) r.Fail(where + ".incidents", "a series has at least 2 incidents");
      if (sp.to < sp.from) r.Fail(where, "'to' is before 'from'");
      if (sp.regions.empty() || sp.descriptions.empty() || sp.places.empty()) {
        r.Fail(where, "needs regions, descriptions and places");
      }
      p.series.push_back(std::move(sp));
    }
  }
  if (const Json* looks = r.Get(j, "lookalikes", "", false)) {
    for (size_t i = 0; i < looks->size(); ++i) {
      const Json& s = (*looks)[i];
      const std::string where = fmt::format("lookalikes[{}]", i);
      LookalikeSpec l;
      l.subtype = subtype(r.String(s, "subtype", where), where + ".subtype");
      l.regions = r.Strings(s, "regions", where);
      l.from = r.Day(s, "from", where);
      l.to = r.Day(s, "to", where);
      l.incidents = static_cast<int>(r.Number(s, "incidents", where));
      l.night = s.value("night", false);
      l.mo_pool = r.Strings(s, "mo_pool", where);
      l.descriptions = r.Strings(s, "descriptions", where);
      l.places = r.Strings(s, "places", where);
      if (l.regions.empty() || l.descriptions.empty() || l.places.empty()) {
        r.Fail(where, "needs regions, descriptions and places");
      }
      p.lookalikes.push_back(std::move(l));
    }
  }
  if (const Json* d = r.Get(j, "descriptions", "")) {
    for (const auto& [k, v] : d->items()) {
      p.descriptions[subtype(k, "descriptions." + k)] = r.Strings(*d, k, "descriptions");
    }
  }
  p.places = r.Strings(j, "places", "");
  if (p.places.empty()) r.Fail("places", "needs at least one");
  BLOTTER_RETURN_IF_ERROR(r.status());

  // Geography.
  const fs::path tsv = fs::path(dir) / "divisions.tsv";
  BLOTTER_ASSIGN_OR_RETURN(std::string rows, ReadFile(tsv));
  std::istringstream in(rows);
  std::string line;
  int line_no = 0;
  bool header = true;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    if (header) {
      header = false;  // the column names
      continue;
    }
    const auto f = SplitTabs(line);
    auto bad = [&](const std::string& what) {
      return Status::InvalidArgument(fmt::format("{}:{}: {}", tsv.string(), line_no, what));
    };
    if (f.size() != 11) return bad(fmt::format("{} columns, expected 11", f.size()));
    Division d;
    d.code = f[0];
    if (!IsDivisionCode(d.code)) return bad(fmt::format("'{}' is not a division code", f[0]));
    d.name = f[1];
    d.city = f[2];
    d.province = f[3];
    try {
      d.lat = std::stod(std::string(f[4]));
      d.lon = std::stod(std::string(f[5]));
      d.radius_km = std::stod(std::string(f[6]));
      d.population = std::stod(std::string(f[7]));
    } catch (const std::exception&) {
      return bad("lat, lon, radius_km and population must be numbers");
    }
    if (d.lat < -90 || d.lat > 90 || d.lon < -180 || d.lon > 180 || d.radius_km <= 0 ||
        d.population <= 0) {
      return bad("lat/lon out of range, or radius or population not positive");
    }
    d.urban = f[8] == "1";
    if (f[9] != "-") {
      std::string_view ch = f[9];
      while (!ch.empty()) {
        const size_t comma = ch.find(',');
        auto c = EnumFromName<fb::Channel>(ch.substr(0, comma), "channel");
        if (!c.ok()) return bad(c.status().message());
        d.channels.push_back(*c);
        ch = comma == std::string_view::npos ? "" : ch.substr(comma + 1);
      }
    }
    d.shared = f[10] == "1";
    if (p.FindDivision(d.code)) return bad(fmt::format("division {} listed twice", d.code));
    p.divisions.push_back(std::move(d));
  }
  if (p.divisions.empty()) return Status::InvalidArgument(tsv.string() + ": no divisions");
  for (const auto& s : p.series) {
    for (const auto& code : s.regions) {
      if (!p.FindDivision(code)) {
        return Status::InvalidArgument(
            fmt::format("{}: series {} names division {}, which divisions.tsv does not list",
                        json_path.string(), s.id, code));
      }
    }
  }
  for (const auto& l : p.lookalikes) {
    for (const auto& code : l.regions) {
      if (!p.FindDivision(code)) {
        return Status::InvalidArgument(
            fmt::format("{}: look-alikes name division {}, which divisions.tsv does not list",
                        json_path.string(), code));
      }
    }
  }
  return p;
}

Result<std::string> FindProfile(const std::string& name_or_dir) {
  std::error_code ec;
  if (name_or_dir.find('/') != std::string::npos || fs::is_directory(name_or_dir, ec)) {
    if (!fs::is_directory(name_or_dir, ec)) {
      return Status::NotFound(fmt::format("no profile directory {}", name_or_dir));
    }
    return name_or_dir;
  }
  std::vector<fs::path> roots;
  // Beside the binary (build/bin/blotter -> tools/simulator/profiles), then
  // where the build was configured.
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) roots.push_back(exe.parent_path() / "../../tools/simulator/profiles");
  if (std::string(BLOTTER_PROFILES_DIR).size()) roots.emplace_back(BLOTTER_PROFILES_DIR);
  for (const auto& root : roots) {
    const fs::path p = root / name_or_dir;
    if (fs::exists(p / "profile.json", ec)) return fs::weakly_canonical(p, ec).string();
  }
  return Status::NotFound(fmt::format(
      "no profile named '{}' (shipped: henan-2021; or give a profile directory)", name_or_dir));
}

}  // namespace blotter::sim
