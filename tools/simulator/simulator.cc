#include "tools/simulator/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "events/incident_key.h"
#include "events/vocabulary.h"
#include "projections/stats/stats_view.h"

namespace blotter::sim {

// One call's whole life, decided when the call is generated; its commands
// are materialised one step at a time, when their turn comes.
struct Simulator::Plan {
  enum StepKind : uint8_t {
    kReceive,
    kClassify,
    kAssign,
    kArrive,
    kReinforce,
    kReinforceArrive,
    kEnd,
    kStepCount
  };
  uint64_t call = 0;
  std::string incident_id;
  const Division* division = nullptr;
  fb::Category category = fb::Category::unknown;
  fb::Subtype subtype = fb::Subtype::unknown;
  fb::Channel channel = fb::Channel::phone;
  std::string referred_by;
  double lat = 0, lon = 0;
  std::string address, description, caller_name, caller_phone;
  Micros happened_from = 0, happened_to = 0;  // 0: not given
  std::vector<std::string> mo_tags;
  std::vector<std::pair<fb::EntityKind, std::string>> entities;
  std::string operator_id, unit, reinforcement_unit;
  fb::UnitKind unit_kind = fb::UnitKind::patrol_car;
  Outcome outcome;
  uint32_t count = 0;                   // arrests or people rescued
  std::array<Micros, kStepCount> at{};  // 0: the step does not happen
  int steps_left = 0;
  // Where the truth lists it, besides the figures ("" for background).
  int group = -1;
  bool series = false;
};

// A background call as a day first draws it, before its plan is filled in:
// the day's calls are sorted by time before that, and moving whole plans
// about (a few hundred bytes each, a quarter of a million a day at scale 1.0)
// was a third of the simulator thread's time.
struct Simulator::Seed {
  const Division* division;
  fb::Category category;
  fb::Subtype subtype;
  Micros at;
};

struct Simulator::Step {
  Micros at;
  uint64_t seq;  // generation order: ties keep it
  uint32_t plan;
  uint8_t step;
  bool operator>(const Step& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

namespace {

constexpr const char* kSurnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄",
                                     "周", "吴", "徐", "孙", "马", "胡", "朱", "郭"};

bool Selected(const Division& d, const std::vector<std::string>& regions) {
  if (regions.empty()) return true;
  for (const auto& r : regions) {
    if (d.code.starts_with(r)) return true;
  }
  return false;
}

double Mean(std::span<const double> v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// Local (UTC+8) calendar facts of a local midnight.
struct LocalDay {
  int weekday;  // 0 = Monday
  int month;    // 0 = January
};
LocalDay DayFacts(Micros midnight) {
  const std::chrono::sys_days days = CivilDay(midnight);
  const std::chrono::weekday wd(days);
  const std::chrono::year_month_day ymd(days);
  return {static_cast<int>(wd.iso_encoding()) - 1, static_cast<int>(unsigned(ymd.month())) - 1};
}

std::string Fill(std::string text, const std::string& place, uint64_t n) {
  for (auto [key, value] :
       {std::pair<std::string, std::string>{"{place}", place}, {"{n}", std::to_string(n)}}) {
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
      text.replace(at, key.size(), value);
      at += value.size();
    }
  }
  return text;
}

template <typename T>
const T& Any(Rng& rng, const std::vector<T>& v) {
  return v[rng.Below(v.size())];
}

}  // namespace

Result<Micros> ParseDay(std::string_view d) {
  auto t = ParseTime(std::string(d) + "T00:00:00+08:00");
  if (!t.ok() || d.size() != 10) {
    return Status::InvalidArgument(fmt::format("'{}' is not a date (YYYY-MM-DD)", d));
  }
  return *t;
}

projections::ReportFigures Truth::Total(std::string_view region) const {
  projections::ReportFigures t;
  for (const auto& [code, f] : by_division) {
    if (!code.starts_with(region)) continue;
    t.calls_received += f.calls_received;
    t.criminal += f.criminal;
    t.public_order += f.public_order;
    t.traffic += f.traffic;
    t.assistance += f.assistance;
    t.fire_disaster += f.fire_disaster;
    t.non_police += f.non_police;
    t.invalid += f.invalid;
    t.transferred_120 += f.transferred_120;
    t.transferred_119 += f.transferred_119;
    t.transferred_12345 += f.transferred_12345;
    t.missing_found += f.missing_found;
    t.people_rescued += f.people_rescued;
    t.arrests += f.arrests;
    t.arrived += f.arrived;
    t.arrived_1min += f.arrived_1min;
    t.arrived_3min += f.arrived_3min;
    t.arrived_5min += f.arrived_5min;
  }
  t.valid = t.criminal + t.public_order + t.traffic + t.assistance + t.fire_disaster;
  return t;
}

Simulator::Simulator(const Profile* profile, SimulateOptions options)
    : profile_(profile),
      options_(std::move(options)),
      rng_(options_.seed),
      calls_today_(profile_->divisions.size()),
      figures_(profile_->divisions.size()) {
  for (const auto& d : profile_->divisions) {
    if (!d.shared) henan_population_ += d.population;
    if (!Selected(d, options_.regions)) continue;
    (d.shared ? shared_ : henan_).push_back(&d);
  }
  if (options_.series) PlanSeries();
}

Simulator::~Simulator() = default;

double Simulator::ExpectedCalls() const {
  double pop = 0;
  for (const auto* d : henan_) pop += d->population;
  return options_.scale * profile_->year_calls / 365.0 * options_.days * pop /
         std::max(1.0, henan_population_);
}

uint32_t Simulator::TakePlanSlot() {
  if (!free_plans_.empty()) {
    const uint32_t index = free_plans_.back();
    free_plans_.pop_back();
    return index;
  }
  plans_.emplace_back();
  return static_cast<uint32_t>(plans_.size() - 1);
}

// Fills in a call's life: channel, place, words, times, units and outcome;
// counts it in the truth; and queues its steps. In its slot, where it stays.
void Simulator::AddCall(uint32_t index) {
  Plan& plan = plans_[index];
  const Profile& p = *profile_;
  Rng& rng = rng_;
  const Division& d = *plan.division;
  const Micros t0 = plan.at[Plan::kReceive];
  plan.call = next_call_++;

  // Channel: the profile's mix, where the division has it.
  if (plan.channel == fb::Channel::unknown) {
    fb::Channel c = p.channels.items[rng.Pick(p.channels.cumulative)];
    if ((c == fb::Channel::wechat || c == fb::Channel::weibo || c == fb::Channel::video) &&
        !d.Has(c)) {
      c = fb::Channel::phone;
    }
    plan.channel = c;
  }
  if (plan.channel == fb::Channel::platform_referral ||
      plan.channel == fb::Channel::agency_transfer) {
    plan.referred_by = Any(rng, p.referrers.at(plan.channel));
  }
  // Place and caller.
  if (plan.lat == 0 && plan.lon == 0) {
    const double r = d.radius_km * std::sqrt(rng.Uniform()), th = 2 * M_PI * rng.Uniform();
    plan.lat = d.lat + r * std::sin(th) / 111.0;
    plan.lon = d.lon + r * std::cos(th) / (111.0 * std::cos(d.lat * M_PI / 180));
  }
  const std::string place = plan.address.empty() ? Any(rng, p.places) : plan.address;
  plan.address = fmt::format("{}{}{}{}{}号", d.province, d.city == d.name ? "" : d.city, d.name,
                             place, 1 + rng.Below(300));
  if (plan.description.empty()) {
    auto it = p.descriptions.find(plan.subtype);
    plan.description = it == p.descriptions.end() || it->second.empty()
                           ? std::string("报警求助")
                           : Fill(Any(rng, it->second), place, 10 * (5 + rng.Below(500)));
  }
  plan.caller_name = fmt::format("{}{}", kSurnames[rng.Below(std::size(kSurnames))],
                                 rng.Chance(0.5) ? "先生" : "女士");
  plan.caller_phone = fmt::format("1{}{:09}", "35789"[rng.Below(5)], rng.Below(1'000'000'000));
  plan.operator_id = fmt::format("op:{}-{:02}", d.code.substr(0, 4), 1 + rng.Below(24));
  if (plan.happened_from == 0 &&
      (plan.subtype == fb::Subtype::theft || plan.subtype == fb::Subtype::burglary ||
       plan.subtype == fb::Subtype::vehicle_theft || plan.subtype == fb::Subtype::fuel_theft) &&
      rng.Chance(0.6)) {
    plan.happened_from = t0 - static_cast<Micros>(rng.Uniform(2, 10) * kMicrosPerHour);
    plan.happened_to = t0 - static_cast<Micros>(rng.Uniform(0.2, 1.5) * kMicrosPerHour);
  }

  // Times. Each step at least a second after the one before.
  const auto& resp = p.response;
  auto seconds = [](double s) { return static_cast<Micros>(std::max(1.0, s) * kMicrosPerSecond); };
  const Micros classify =
      t0 + seconds(rng.LogNormal(resp.answer_s.median, resp.answer_s.sigma) +
                   rng.LogNormal(resp.classify_s.median, resp.classify_s.sigma) *
                       (plan.category == fb::Category::invalid ? 0.4 : 1.0));
  plan.at[Plan::kClassify] = classify;
  const fb::Category cat = plan.category;
  const size_t di = static_cast<size_t>(&d - p.divisions.data());
  if (figures_[di] == nullptr) figures_[di] = &truth_.by_division[d.code];
  projections::ReportFigures& f = *figures_[di];
  ++f.calls_received;
  ++truth_.calls;
  switch (cat) {
    case fb::Category::criminal:
      ++f.criminal;
      break;
    case fb::Category::public_order:
      ++f.public_order;
      break;
    case fb::Category::traffic:
      ++f.traffic;
      break;
    case fb::Category::assistance:
      ++f.assistance;
      break;
    case fb::Category::fire_disaster:
      ++f.fire_disaster;
      break;
    case fb::Category::non_police:
      ++f.non_police;
      break;
    case fb::Category::invalid:
      ++f.invalid;
      break;
    default:
      break;
  }
  if (cat == fb::Category::invalid) {
    // Classifying a call invalid closes it (the aggregate resolves it at once).
    plan.outcome.disposition = fb::Disposition::invalid_call;
  } else if (cat == fb::Category::non_police) {
    plan.at[Plan::kEnd] = classify + seconds(rng.Uniform(15, 90));
    plan.outcome = Outcome{fb::Disposition::unknown, fb::TransferDestination::hotline_12345};
    ++f.transferred_12345;
  } else {
    const Weighted<Outcome>* outs = p.OutcomesFor(cat, plan.subtype);
    plan.outcome = outs ? outs->items[rng.Pick(outs->cumulative)] : Outcome{};
    auto ds = resp.dispatched_share.find(cat);
    const bool dispatched = ds == resp.dispatched_share.end() || rng.Chance(ds->second) ||
                            plan.outcome.disposition == fb::Disposition::arrest ||
                            plan.outcome.disposition == fb::Disposition::rescued ||
                            plan.outcome.disposition == fb::Disposition::person_found;
    Micros last = classify;
    if (dispatched) {
      plan.unit_kind = cat == fb::Category::traffic ? fb::UnitKind::traffic
                       : plan.subtype == fb::Subtype::covid && rng.Chance(0.1)
                           ? fb::UnitKind::drone
                           : fb::UnitKind::patrol_car;
      const int units = std::max(4, static_cast<int>(d.population / 40));
      const uint64_t u = rng.Below(units);
      const char kind = plan.unit_kind == fb::UnitKind::traffic ? 'T'
                        : plan.unit_kind == fb::UnitKind::drone ? 'D'
                                                                : 'P';
      plan.unit = fmt::format("{}-{}{:02}", d.code, kind, 1 + u);
      const Micros assign =
          classify + seconds(rng.LogNormal(resp.dispatch_s.median, resp.dispatch_s.sigma));
      const LogNormal& travel = d.urban ? resp.travel_min_urban : resp.travel_min_county;
      const int hour = static_cast<int>(
          ((t0 + kDisplayOffsetMinutes * kMicrosPerMinute) % kMicrosPerDay + kMicrosPerDay) %
          kMicrosPerDay / kMicrosPerHour);
      const double night = hour < 6 ? resp.night_travel_factor : 1.0;
      const Micros arrive =
          assign + seconds(60 * night * rng.LogNormal(travel.median, travel.sigma));
      plan.at[Plan::kAssign] = assign;
      plan.at[Plan::kArrive] = arrive;
      Micros first_arrival = arrive;
      last = arrive;
      auto rs = resp.reinforcement_share.find(cat);
      if (rs != resp.reinforcement_share.end() && rng.Chance(rs->second)) {
        plan.reinforcement_unit =
            fmt::format("{}-P{:02}", d.code, 1 + (u + 1 + rng.Below(units - 1)) % units);
        if (plan.reinforcement_unit == plan.unit) plan.reinforcement_unit += "R";
        const Micros ra = assign + seconds(rng.Uniform(60, 240));
        const Micros rarr = ra + seconds(60 * night * rng.LogNormal(travel.median, travel.sigma));
        plan.at[Plan::kReinforce] = ra;
        plan.at[Plan::kReinforceArrive] = rarr;
        first_arrival = std::min(first_arrival, rarr);
        last = std::max(last, rarr);
      }
      const Micros delay = first_arrival - t0;
      ++f.arrived;
      if (delay < 60 * kMicrosPerSecond) ++f.arrived_1min;
      if (delay < 180 * kMicrosPerSecond) ++f.arrived_3min;
      if (delay < 300 * kMicrosPerSecond) ++f.arrived_5min;
    } else if (plan.outcome.transfer == fb::TransferDestination::unknown) {
      plan.outcome.disposition = fb::Disposition::handled;  // settled on the phone
    }
    plan.at[Plan::kEnd] =
        last +
        seconds(60 * (dispatched ? rng.LogNormal(resp.handle_min.median, resp.handle_min.sigma)
                                 : rng.Uniform(1, 5)));
    if (plan.outcome.transfer == fb::TransferDestination::ambulance_120) ++f.transferred_120;
    if (plan.outcome.transfer == fb::TransferDestination::fire_119) ++f.transferred_119;
    if (plan.outcome.transfer == fb::TransferDestination::unknown) {
      if (plan.outcome.disposition == fb::Disposition::arrest ||
          plan.outcome.disposition == fb::Disposition::rescued) {
        const double x = rng.Uniform();
        plan.count = x < 0.7 ? 1 : x < 0.9 ? 2 : 3;
        (plan.outcome.disposition == fb::Disposition::arrest ? f.arrests : f.people_rescued) +=
            plan.count;
      }
      if (plan.outcome.disposition == fb::Disposition::person_found) ++f.missing_found;
    }
  }

  // Its id: division, local date and the call's number there that day, as a
  // 110 centre numbers them (a hash of the command id, as the writer derives
  // for a receive without an id, would collide at province scale).
  plan.incident_id = IncidentIdPrefix(d.code, t0) + fmt::format("{:06}", ++calls_today_[di]);
  if (plan.group >= 0) {
    (plan.series ? truth_.series : truth_.lookalikes)[plan.group].incidents.push_back(
        plan.incident_id);
  }

  for (int s = 0; s < Plan::kStepCount; ++s) {
    if (s != Plan::kReceive && plan.at[s] == 0) continue;
    queue_.push_back(Step{plan.at[s], next_seq_++, index, static_cast<uint8_t>(s)});
    ++plan.steps_left;
  }
}

void Simulator::GenerateDay() {
  const Profile& p = *profile_;
  const Micros day = options_.from + static_cast<Micros>(days_done_) * kMicrosPerDay;
  Rng day_rng(rng_.Fork(static_cast<uint64_t>(day / kMicrosPerDay) + 1));
  std::fill(calls_today_.begin(), calls_today_.end(), 0);
  std::swap(rng_, day_rng);  // AddCall draws from rng_
  const LocalDay facts = DayFacts(day);
  const double factor =
      p.weekday[facts.weekday] / Mean(p.weekday) * p.monthly[facts.month] / Mean(p.monthly);
  const double per_day = options_.scale * p.year_calls / 365.0 * factor;
  std::vector<double> hourly(24);
  std::partial_sum(p.hourly.begin(), p.hourly.end(), hourly.begin());
  auto time_in_day = [&](Rng& rng) {
    const size_t h = rng.Pick(hourly);
    return day + static_cast<Micros>(h) * kMicrosPerHour +
           static_cast<Micros>(rng.Below(kMicrosPerHour / kMicrosPerSecond)) * kMicrosPerSecond;
  };
  std::vector<Seed> calls;
  calls.reserve(static_cast<size_t>(per_day * 1.1) + 64);
  auto call = [&](const Division* d, fb::Category c, fb::Subtype s, Micros t) {
    calls.push_back(Seed{d, c, s, t});
  };
  for (const Division* d : henan_) {
    const uint64_t n = rng_.Poisson(per_day * d->population / henan_population_);
    for (uint64_t i = 0; i < n; ++i) {
      const fb::Category c = p.categories.items[rng_.Pick(p.categories.cumulative)];
      const auto& subs = p.subtypes.at(c);
      call(d, c, subs.items[rng_.Pick(subs.cumulative)], time_in_day(rng_));
    }
  }
  // Other provinces' counties: the property crime they share.
  if (!shared_.empty()) {
    const auto& crim = p.subtypes.at(fb::Category::criminal);
    Weighted<fb::Subtype> property;
    for (size_t i = 0; i < crim.items.size(); ++i) {
      const fb::Subtype s = crim.items[i];
      if (s == fb::Subtype::theft || s == fb::Subtype::fuel_theft || s == fb::Subtype::burglary ||
          s == fb::Subtype::vehicle_theft || s == fb::Subtype::pickpocketing) {
        property.Add(s, crim.cumulative[i] - (i ? crim.cumulative[i - 1] : 0.0));
      }
    }
    const double crime_share = [&] {
      for (size_t i = 0; i < p.categories.items.size(); ++i) {
        if (p.categories.items[i] == fb::Category::criminal) {
          return (p.categories.cumulative[i] - (i ? p.categories.cumulative[i - 1] : 0.0)) /
                 p.categories.total();
        }
      }
      return 0.0;
    }();
    const double property_share = property.total() / crim.total();
    for (const Division* d : shared_) {
      const uint64_t n =
          rng_.Poisson(per_day * d->population / henan_population_ * crime_share * property_share);
      for (uint64_t i = 0; i < n; ++i) {
        call(d, fb::Category::criminal, property.items[rng_.Pick(property.cumulative)],
             time_in_day(rng_));
      }
    }
  }
  // Surges: the flood, lockdowns.
  for (const auto& ev : p.events) {
    const int k = static_cast<int>((day - ev.from) / kMicrosPerDay);
    if (day < ev.from || k >= ev.days) continue;
    const double share =
        ev.peak_day_share > 0
            ? (k == 0 ? ev.peak_day_share : (1 - ev.peak_day_share) / std::max(1, ev.days - 1))
            : 1.0 / ev.days;
    std::vector<const Division*> in;
    double pop = 0;
    for (const Division* d : henan_) {
      for (const auto& r : ev.regions) {
        if (d->code.starts_with(r)) {
          in.push_back(d);
          pop += d->population;
          break;
        }
      }
    }
    double region_pop = 0;  // the event's whole region, selected or not
    for (const auto& d : p.divisions) {
      for (const auto& r : ev.regions) {
        if (d.code.starts_with(r)) {
          region_pop += d.population;
          break;
        }
      }
    }
    for (const Division* d : in) {
      const uint64_t n =
          rng_.Poisson(options_.scale * ev.calls * share * d->population / region_pop);
      for (uint64_t i = 0; i < n; ++i) {
        const fb::Subtype s = ev.subtypes.items[rng_.Pick(ev.subtypes.cumulative)];
        call(d, CategoryOf(s), s, time_in_day(rng_));
      }
    }
  }
  // The injected calls of this day, numbered after the background ones.
  const Micros next_day = day + kMicrosPerDay;
  std::vector<std::pair<Micros, uint32_t>> order(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) order[i] = {calls[i].at, static_cast<uint32_t>(i)};
  const size_t first_injected = next_injected_;
  while (next_injected_ < injected_.size() &&
         injected_[next_injected_].at[Plan::kReceive] < next_day) {
    if (injected_[next_injected_].at[Plan::kReceive] >= day) {
      order.emplace_back(injected_[next_injected_].at[Plan::kReceive],
                         static_cast<uint32_t>(calls.size() + next_injected_ - first_injected));
    }
    ++next_injected_;
  }
  // Sorted by time, ties in generation order, through (time, index) pairs:
  // moving the plans themselves about was most of this thread's time.
  std::sort(order.begin(), order.end());
  // Every step still queued is due today or later, after all consumed ones.
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(next_step_));
  next_step_ = 0;
  const size_t carried = queue_.size();
  for (const auto& [at, i] : order) {
    const uint32_t slot = TakePlanSlot();
    Plan& plan = plans_[slot];  // default-constructed (a new slot, or reset when freed)
    if (i < calls.size()) {
      const Seed& s = calls[i];
      plan.division = s.division;
      plan.category = s.category;
      plan.subtype = s.subtype;
      plan.channel = fb::Channel::unknown;
      plan.at[Plan::kReceive] = s.at;
    } else {
      plan = std::move(injected_[first_injected + (i - calls.size())]);
    }
    AddCall(slot);
  }
  const auto by_time = [](const Step& a, const Step& b) { return b > a; };
  std::sort(queue_.begin() + static_cast<std::ptrdiff_t>(carried), queue_.end(), by_time);
  std::inplace_merge(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(carried),
                     queue_.end(), by_time);
  std::swap(rng_, day_rng);
  ++days_done_;
}

void Simulator::PlanSeries() {
  const Profile& p = *profile_;
  const Micros end = options_.from + static_cast<Micros>(options_.days) * kMicrosPerDay;
  auto selected = [&](const std::string& code) {
    const Division* d = p.FindDivision(code);
    return d && Selected(*d, options_.regions) ? d : nullptr;
  };
  auto at_hour = [](Micros day, double hour) {
    return day + static_cast<Micros>(hour * kMicrosPerHour);
  };
  for (size_t si = 0; si < p.series.size(); ++si) {
    const SeriesSpec& s = p.series[si];
    Rng rng(rng_.Fork(1000 + si));
    truth_.series.push_back(TruthGroup{s.id, s.title, s.subtype, {}});
    const int group = static_cast<int>(truth_.series.size() - 1);
    // Days of the series, spread over its span; then where, moving along
    // its regions as it goes.
    std::vector<Micros> days;
    const int span = static_cast<int>((s.to - s.from) / kMicrosPerDay) + 1;
    for (int i = 0; i < s.incidents; ++i) {
      Micros d;
      do {
        d = s.from + static_cast<Micros>(rng.Below(span)) * kMicrosPerDay;
      } while (s.weekdays_only && DayFacts(d).weekday >= 5);
      days.push_back(d);
    }
    std::sort(days.begin(), days.end());
    // One spot per region the series keeps coming back to.
    std::map<std::string, std::pair<double, double>> spots;
    for (int i = 0; i < s.incidents; ++i) {
      const double frac = (i + 0.5) / s.incidents + 0.12 * rng.Normal();
      const size_t ri = static_cast<size_t>(std::clamp(frac, 0.0, 0.999) * s.regions.size());
      const std::string& code = s.regions[ri];
      const Division* d = p.FindDivision(code);
      if (!spots.contains(code)) {
        const double r = d->radius_km * 0.5 * std::sqrt(rng.Uniform()),
                     th = 2 * M_PI * rng.Uniform();
        spots[code] = {d->lat + r * std::sin(th) / 111.0,
                       d->lon + r * std::cos(th) / (111.0 * std::cos(d->lat * M_PI / 180))};
      }
      Plan plan;
      plan.division = d;
      plan.category = CategoryOf(s.subtype);
      plan.subtype = s.subtype;
      plan.channel = fb::Channel::phone;
      const double r = s.place_radius_km * std::sqrt(rng.Uniform()), th = 2 * M_PI * rng.Uniform();
      plan.lat = spots[code].first + r * std::sin(th) / 111.0;
      plan.lon = spots[code].second + r * std::cos(th) / (111.0 * std::cos(d->lat * M_PI / 180));
      const std::string place = Any(rng, s.places);
      plan.address = place;
      plan.description = Fill(Any(rng, s.descriptions), place, 10 * (10 + rng.Below(40)));
      plan.happened_from = at_hour(days[i], s.happened_hours[0] + rng.Uniform(0, 0.5));
      plan.happened_to = at_hour(days[i], s.happened_hours[1] - rng.Uniform(0, 0.5));
      plan.at[Plan::kReceive] =
          at_hour(days[i], rng.Uniform(s.reported_hours[0], s.reported_hours[1]));
      for (const auto& tag : s.mo_tags) {
        if (rng.Chance(s.mo_keep)) plan.mo_tags.push_back(tag);
      }
      for (const auto& e : s.entities) {
        if (rng.Chance(e.share)) plan.entities.emplace_back(e.kind, e.value);
      }
      plan.group = group;
      plan.series = true;
      if (selected(code) && plan.at[Plan::kReceive] >= options_.from &&
          plan.at[Plan::kReceive] < end) {
        injected_.push_back(std::move(plan));
      }
    }
  }
  for (size_t li = 0; li < p.lookalikes.size(); ++li) {
    const LookalikeSpec& l = p.lookalikes[li];
    Rng rng(rng_.Fork(2000 + li));
    truth_.lookalikes.push_back(
        TruthGroup{fmt::format("lookalikes-{}-{}", li + 1, Name(l.subtype)), "", l.subtype, {}});
    const int group = static_cast<int>(truth_.lookalikes.size() - 1);
    const int span = static_cast<int>((l.to - l.from) / kMicrosPerDay) + 1;
    for (int i = 0; i < l.incidents; ++i) {
      const Division* d = p.FindDivision(Any(rng, l.regions));
      Plan plan;
      plan.division = d;
      plan.category = CategoryOf(l.subtype);
      plan.subtype = l.subtype;
      plan.channel = fb::Channel::phone;
      const Micros day = l.from + static_cast<Micros>(rng.Below(span)) * kMicrosPerDay;
      const bool night = l.night || rng.Chance(0.4);
      const double happened = night ? rng.Uniform(-2, 5) : rng.Uniform(8, 18);
      plan.happened_from = at_hour(day, happened);
      plan.happened_to = at_hour(day, happened + rng.Uniform(0.5, 3));
      plan.at[Plan::kReceive] = at_hour(day, std::max(happened + 3.5, rng.Uniform(6, 21)));
      const std::string place = Any(rng, l.places);
      plan.address = place;
      plan.description = Fill(Any(rng, l.descriptions), place, 10 * (5 + rng.Below(100)));
      const size_t tags = 1 + rng.Below(3);
      for (size_t t = 0; t < tags; ++t) {
        const std::string& tag = Any(rng, l.mo_pool);
        if (std::find(plan.mo_tags.begin(), plan.mo_tags.end(), tag) == plan.mo_tags.end()) {
          plan.mo_tags.push_back(tag);
        }
      }
      plan.group = group;
      if (selected(d->code) && plan.at[Plan::kReceive] >= options_.from &&
          plan.at[Plan::kReceive] < end) {
        injected_.push_back(std::move(plan));
      }
    }
  }
  std::stable_sort(injected_.begin(), injected_.end(), [](const Plan& a, const Plan& b) {
    return a.at[Plan::kReceive] < b.at[Plan::kReceive];
  });
}

// What only one step uses is moved out of the plan rather than copied.
Command Simulator::Materialize(Plan& plan, int step) const {
  Command c;
  c.incident_id = plan.incident_id;
  c.occurred_at = plan.at[step];
  c.correlation_id = plan.incident_id;
  c.command_id = step == Plan::kReceive
                     ? fmt::format("sim{}-{}", options_.seed, plan.call)
                     : fmt::format("sim{}-{}-{}", options_.seed, plan.call, step);
  c.actor = plan.operator_id;
  switch (step) {
    case Plan::kReceive: {
      fb::IncidentReceivedT r;
      r.channel = plan.channel;
      r.caller = std::make_unique<fb::CallerT>();
      r.caller->name = std::move(plan.caller_name);
      r.caller->phone = std::move(plan.caller_phone);
      r.location = std::make_unique<fb::LocationT>();
      r.location->lat = plan.lat;
      r.location->lon = plan.lon;
      r.location->address = std::move(plan.address);
      r.location->division = plan.division->code;
      r.reported_category =
          plan.category == fb::Category::invalid || plan.category == fb::Category::non_police
              ? fb::Category::unknown
              : plan.category;
      r.description = std::move(plan.description);
      if (plan.happened_from != 0) {
        r.happened = std::make_unique<fb::TimeWindowT>();
        r.happened->earliest = plan.happened_from;
        r.happened->latest = plan.happened_to;
      }
      r.referred_by = std::move(plan.referred_by);
      c.payload.Set(std::move(r));
      break;
    }
    case Plan::kClassify: {
      fb::IncidentClassifiedT k;
      k.category = plan.category;
      k.subtype = plan.subtype;
      k.mo_tags = std::move(plan.mo_tags);
      for (auto& [kind, value] : plan.entities) {
        auto e = std::make_unique<fb::EntityT>();
        e->kind = kind;
        e->value = std::move(value);
        k.entities.push_back(std::move(e));
      }
      c.payload.Set(std::move(k));
      break;
    }
    case Plan::kAssign:
    case Plan::kReinforce: {
      fb::UnitAssignedT a;
      a.unit_id = step == Plan::kAssign ? plan.unit : plan.reinforcement_unit;
      a.unit_kind = step == Plan::kAssign ? plan.unit_kind : fb::UnitKind::patrol_car;
      a.reinforcement = step == Plan::kReinforce;
      c.payload.Set(std::move(a));
      break;
    }
    case Plan::kArrive:
    case Plan::kReinforceArrive: {
      fb::UnitArrivedT a;
      a.unit_id = step == Plan::kArrive ? plan.unit : plan.reinforcement_unit;
      c.actor = "unit:" + a.unit_id;
      c.payload.Set(std::move(a));
      break;
    }
    case Plan::kEnd: {
      if (!plan.unit.empty()) c.actor = "unit:" + plan.unit;
      if (plan.outcome.transfer != fb::TransferDestination::unknown) {
        fb::IncidentTransferredT t;
        t.destination = plan.outcome.transfer;
        c.payload.Set(std::move(t));
      } else {
        fb::IncidentResolvedT r;
        r.disposition = plan.outcome.disposition;
        r.count = plan.count;
        c.payload.Set(std::move(r));
      }
      break;
    }
    default:
      break;
  }
  return c;
}

bool Simulator::Next(size_t max, SimChunk* out) {
  size_t produced = 0;
  while (produced < max) {
    const Micros next_day = options_.from + static_cast<Micros>(days_done_) * kMicrosPerDay;
    const bool drained = next_step_ == queue_.size();
    if (days_done_ < options_.days && (drained || queue_[next_step_].at >= next_day)) {
      GenerateDay();
      continue;
    }
    if (drained) break;
    const Step s = queue_[next_step_++];
    Plan& plan = plans_[s.plan];
    out->commands.push_back(Materialize(plan, s.step));
    out->closes.push_back(--plan.steps_left == 0);
    ++produced;
    ++truth_.commands;
    if (plan.steps_left == 0) {
      plan = Plan{};
      free_plans_.push_back(s.plan);
    }
  }
  return produced > 0 || next_step_ < queue_.size() || days_done_ < options_.days;
}

Json TruthToJson(const Truth& truth, const Profile& profile, const SimulateOptions& options) {
  Json j = Json::object();
  j["profile"] = profile.name;
  j["seed"] = options.seed;
  j["scale"] = options.scale;
  j["from"] = FormatTime(options.from).substr(0, 10);
  j["days"] = options.days;
  j["regions"] = options.regions;
  j["calls"] = truth.calls;
  j["commands"] = truth.commands;
  Json report = Json::object();
  report["total"] = projections::FiguresToJson(truth.Total());
  Json by = Json::object();
  for (const auto& [code, f] : truth.by_division) {
    projections::ReportFigures g = f;
    g.valid = g.criminal + g.public_order + g.traffic + g.assistance + g.fire_disaster;
    by[code] = projections::FiguresToJson(g);
  }
  report["by_division"] = std::move(by);
  j["report"] = std::move(report);
  auto groups = [](const std::vector<TruthGroup>& gs) {
    Json a = Json::array();
    for (const auto& g : gs) {
      Json o = Json::object();
      o["id"] = g.id;
      if (!g.title.empty()) o["title"] = g.title;
      o["subtype"] = std::string(Name(g.subtype));
      o["incidents"] = g.incidents;
      a.push_back(std::move(o));
    }
    return a;
  };
  j["series"] = groups(truth.series);
  j["lookalikes"] = groups(truth.lookalikes);
  return j;
}

}  // namespace blotter::sim
