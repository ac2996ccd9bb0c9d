#include "projections/linker/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "events/vocabulary.h"

#ifndef BLOTTER_LINKER_DIR
#define BLOTTER_LINKER_DIR ""
#endif

namespace blotter::projections::linker {
namespace {

constexpr const char* kFactorNames[] = {"distance", "days_apart", "time_of_day", "day_of_week",
                                        "mo_tags",  "entities",   "description"};

// Decodes UTF-8 into code points; a malformed byte counts as itself.
std::vector<uint32_t> CodePoints(std::string_view s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + n > s.size()) n = 1;
    uint32_t cp = n == 1 ? c : c & (0xff >> (n + 1));
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    out.push_back(cp);
    i += n;
  }
  return out;
}

template <typename T>
double Jaccard(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.empty() && b.empty()) return 0;
  size_t i = 0, j = 0, both = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++both;
      ++i;
      ++j;
    }
  }
  return static_cast<double>(both) / static_cast<double>(a.size() + b.size() - both);
}

double HourOfDay(Micros t) {
  const Micros local = t + kDisplayOffsetMinutes * kMicrosPerMinute;
  return static_cast<double>(((local % kMicrosPerDay) + kMicrosPerDay) % kMicrosPerDay) /
         kMicrosPerHour;
}

int DayOfWeek(Micros t) {
  // 0 = Monday, as ISO numbers them from 1.
  return static_cast<int>(std::chrono::weekday(CivilDay(t)).iso_encoding()) - 1;
}

std::string Clock(double hour) {
  const int minutes = static_cast<int>(std::lround(hour * 60)) % (24 * 60);
  return fmt::format("{:02}:{:02}", minutes / 60, minutes % 60);
}

}  // namespace

const char* FactorName(Factor f) { return kFactorNames[f]; }

std::vector<uint32_t> Bigrams(std::string_view text) {
  const auto cps = CodePoints(text);
  std::vector<uint32_t> out;
  for (size_t i = 0; i + 1 < cps.size(); ++i) {
    // Punctuation, spaces and digits (amounts, house numbers) carry no
    // resemblance.
    auto skip = [](uint32_t c) {
      return c <= 0x39 || (c >= 0x3000 && c <= 0x303f) || (c >= 0xff00 && c <= 0xff19);
    };
    if (skip(cps[i]) || skip(cps[i + 1])) continue;
    out.push_back(cps[i] * 0x9e3779b1u ^ (cps[i + 1] + 0x7f4a7c15u));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double DistanceKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kEarthKm = 6371.0088, kRad = M_PI / 180;
  const double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  const double h =
      std::sin(dlat / 2) * std::sin(dlat / 2) +
      std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthKm * std::asin(std::min(1.0, std::sqrt(h)));
}

Evidence Compare(const Profile& a, const Profile& b) {
  Evidence e;
  e.value[kDistance] = DistanceKm(a.lat, a.lon, b.lat, b.lon);
  const Micros gap = std::max<Micros>(0, std::max(a.from, b.from) - std::min(a.to, b.to));
  e.value[kDaysApart] = static_cast<double>(gap) / kMicrosPerDay;
  const double ha = HourOfDay(a.from + (a.to - a.from) / 2),
               hb = HourOfDay(b.from + (b.to - b.from) / 2);
  const double dh = std::fabs(ha - hb);
  e.value[kTimeOfDay] = std::min(dh, 24 - dh);
  const int dd =
      std::abs(DayOfWeek(a.from + (a.to - a.from) / 2) - DayOfWeek(b.from + (b.to - b.from) / 2));
  e.value[kDayOfWeek] = std::min(dd, 7 - dd);
  std::set_intersection(a.mo_tags.begin(), a.mo_tags.end(), b.mo_tags.begin(), b.mo_tags.end(),
                        std::back_inserter(e.shared_mo_tags));
  e.value[kModus] = static_cast<double>(e.shared_mo_tags.size());
  for (const auto& [ka, va] : a.entities) {
    for (const auto& [kb, vb] : b.entities) {
      if (ka != kb || va != vb) continue;
      const double strength =
          ka == fb::EntityKind::plate || ka == fb::EntityKind::phone ? 2.0 : 1.0;
      if (strength > e.value[kEntities]) {
        e.value[kEntities] = strength;
        e.shared_entity = fmt::format("{} {}", Name(ka), va);
      }
    }
  }
  e.value[kDescription] = Jaccard(a.bigrams, b.bigrams);
  return e;
}

std::string Describe(Factor f, const Evidence& e, const Profile& a, const Profile& b) {
  const double v = e.value[f];
  switch (f) {
    case kDistance:
      return fmt::format("{:.1f} km apart", v);
    case kDaysApart:
      return v < 1 ? "within a day" : fmt::format("{:.0f} days apart", v);
    case kTimeOfDay: {
      auto window = [](const Profile& p) {
        return fmt::format("{}-{}", Clock(HourOfDay(p.from)), Clock(HourOfDay(p.to)));
      };
      return v <= 2
                 ? fmt::format("both around {} ({} and {})",
                               Clock(HourOfDay(a.from + (a.to - a.from) / 2)), window(a), window(b))
                 : fmt::format("{:.0f} hours apart in the day ({} and {})", v, window(a),
                               window(b));
    }
    case kDayOfWeek:
      return v == 0 ? "same weekday" : fmt::format("{:.0f} weekday(s) apart", v);
    case kModus: {
      if (e.shared_mo_tags.empty()) return "no MO in common";
      std::string tags;
      for (const auto& t : e.shared_mo_tags) tags += (tags.empty() ? "" : ", ") + t;
      return fmt::format("same MO: {}", tags);
    }
    case kEntities:
      return e.shared_entity.empty() ? "no vehicle, plate, phone or person in common"
                                     : fmt::format("same {}", e.shared_entity);
    case kDescription:
      return fmt::format("descriptions {:.0f}% alike", 100 * v);
    default:
      return "";
  }
}

bool Model::Links(fb::Subtype s) const {
  return std::find(subtypes_.begin(), subtypes_.end(), s) != subtypes_.end();
}

int Model::Bin(Factor f, double value) const {
  const auto& edges = edges_[f];
  return static_cast<int>(std::upper_bound(edges.begin(), edges.end(), value) - edges.begin());
}

double Model::Weight(Factor f, double value) const { return weights_[f][Bin(f, value)]; }

double Model::LogOdds(const Evidence& e) const {
  double x = prior_;
  for (int f = 0; f < kFactorCount; ++f) x += Weight(static_cast<Factor>(f), e.value[f]);
  return x;
}

double Model::Score(const Evidence& e) const { return 1.0 / (1.0 + std::exp(-LogOdds(e))); }

Result<Model> Model::FromJson(const Json& j) {
  Model m;
  Status st;
  JsonFields f(j, "model", &st);
  m.version_ = f.String("algorithm_version");
  m.prior_ = f.Double("prior");
  m.threshold_ = f.Double("threshold");
  m.radius_km_ = f.Double("radius_km");
  m.window_days_ = static_cast<int>(f.Int("window_days"));
  for (const auto& s : f.Strings("subtypes")) {
    auto sub = EnumFromName<fb::Subtype>(s, "subtype");
    if (!sub.ok()) return sub.status().WithContext("model subtypes");
    m.subtypes_.push_back(*sub);
  }
  BLOTTER_RETURN_IF_ERROR(st);
  if (m.version_.empty() || !(m.threshold_ > 0 && m.threshold_ < 1) || m.radius_km_ <= 0 ||
      m.window_days_ <= 0) {
    return Status::InvalidArgument(
        "model needs algorithm_version, a threshold in (0, 1), radius_km and window_days");
  }
  const Json* factors = f.Object("factors");
  if (!factors) return Status::InvalidArgument("model needs factors");
  for (int i = 0; i < kFactorCount; ++i) {
    const char* name = kFactorNames[i];
    if (!factors->contains(name)) {
      return Status::InvalidArgument(fmt::format("model lacks factor {}", name));
    }
    const Json& fj = factors->at(name);
    try {
      m.edges_[i] = fj.at("edges").get<std::vector<double>>();
      m.weights_[i] = fj.at("weights").get<std::vector<double>>();
    } catch (const std::exception&) {
      return Status::InvalidArgument(fmt::format("model factor {}: edges and weights", name));
    }
    if (m.weights_[i].size() != m.edges_[i].size() + 1 ||
        !std::is_sorted(m.edges_[i].begin(), m.edges_[i].end())) {
      return Status::InvalidArgument(
          fmt::format("model factor {}: needs sorted edges and one weight more", name));
    }
  }
  for (int i = kFactorCount - 1; i >= 0; --i) {
    m.max_rest_[i] =
        m.max_rest_[i + 1] + *std::max_element(m.weights_[i].begin(), m.weights_[i].end());
  }
  return m;
}

Result<Model> Model::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot read linking model {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  Json j = Json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument(fmt::format("{}: not JSON", path));
  auto m = FromJson(j);
  if (!m.ok()) return m.status().WithContext(path);
  return m;
}

Result<std::string> DefaultModelPath() {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> roots;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) roots.push_back(exe.parent_path() / "../../projections/linker");
  if (std::string(BLOTTER_LINKER_DIR).size()) roots.emplace_back(BLOTTER_LINKER_DIR);
  for (const auto& r : roots) {
    if (fs::exists(r / "model.json", ec))
      return fs::weakly_canonical(r / "model.json", ec).string();
  }
  return Status::NotFound("no linking model (projections/linker/model.json); give --model FILE");
}

}  // namespace blotter::projections::linker
