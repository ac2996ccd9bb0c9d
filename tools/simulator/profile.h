#pragma once

// A simulation profile: the volumes, mixes, rhythms, response times,
// geography and crime series of one province's year, loaded from a directory
// of data files (profiles/<name>/profile.json and divisions.tsv). Nothing of a
// province lives in code.

#include <array>
#include <map>
#include <string>
#include <vector>

#include "events/aggregate.h"
#include "events/status.h"

namespace blotter::sim {

// Items with weights, ready to draw from (Rng::Pick over `cumulative`).
template <typename T>
struct Weighted {
  std::vector<T> items;
  std::vector<double> cumulative;
  void Add(T item, double weight) {
    items.push_back(std::move(item));
    cumulative.push_back((cumulative.empty() ? 0.0 : cumulative.back()) + weight);
  }
  bool empty() const { return items.empty(); }
  double total() const { return cumulative.empty() ? 0.0 : cumulative.back(); }
};

struct Division {
  std::string code, name, city, province;
  double lat = 0, lon = 0, radius_km = 10;
  double population = 0;  // thousands
  bool urban = false;
  bool shared = false;                // another province's county: property crime only
  std::vector<fb::Channel> channels;  // beyond phone
  bool Has(fb::Channel c) const;
};

// How an incident ends.
struct Outcome {
  fb::Disposition disposition = fb::Disposition::handled;               // when resolved
  fb::TransferDestination transfer = fb::TransferDestination::unknown;  // when transferred
};

struct LogNormal {
  double median = 1, sigma = 0.5;
};

// A surge of calls: the flood, COVID lockdowns.
struct SeasonalEvent {
  std::string name;
  Micros from = 0;  // local midnight of its first day
  int days = 1;
  std::vector<std::string> regions;  // division-code prefixes
  double calls = 0;                  // at scale 1
  double peak_day_share = 0;         // of the calls, on the first day (0: even)
  Weighted<fb::Subtype> subtypes;
};

// A crime series to inject, and the look-alikes around one.
struct SeriesSpec {
  std::string id, title;
  fb::Subtype subtype = fb::Subtype::unknown;
  Micros from = 0, to = 0;  // local midnights, inclusive days
  int incidents = 0;
  std::vector<std::string> regions;  // in the order the series moves; repeats weigh
  double place_radius_km = 5;
  std::array<int, 2> happened_hours{0, 0}, reported_hours{0, 0};
  bool weekdays_only = false;
  std::vector<std::string> mo_tags;
  double mo_keep = 1;
  struct Entity {
    fb::EntityKind kind;
    std::string value;
    double share;
  };
  std::vector<Entity> entities;
  std::vector<std::string> descriptions, places;
};

struct LookalikeSpec {
  fb::Subtype subtype = fb::Subtype::unknown;
  std::vector<std::string> regions;
  Micros from = 0, to = 0;
  int incidents = 0;
  bool night = false;
  std::vector<std::string> mo_pool, descriptions, places;
};

struct Profile {
  std::string name;
  double year_calls = 0;
  // Category of a call (valid categories, non_police, invalid).
  Weighted<fb::Category> categories;
  std::map<fb::Category, Weighted<fb::Subtype>> subtypes;
  // By subtype name or category name; a subtype's own wins.
  std::map<std::string, Weighted<Outcome>> outcomes;
  Weighted<fb::Channel> channels;
  std::map<fb::Channel, std::vector<std::string>> referrers;
  std::array<double, 24> hourly{};
  std::array<double, 7> weekday{};  // Monday first
  std::array<double, 12> monthly{};
  struct Response {
    LogNormal answer_s, classify_s, dispatch_s, travel_min_urban, travel_min_county, handle_min;
    double night_travel_factor = 1;
    std::map<fb::Category, double> reinforcement_share;
    std::map<fb::Category, double> dispatched_share;  // absent: always dispatched
  } response;
  std::vector<SeasonalEvent> events;
  std::vector<SeriesSpec> series;
  std::vector<LookalikeSpec> lookalikes;
  std::map<fb::Subtype, std::vector<std::string>> descriptions;
  std::vector<std::string> places;
  std::vector<Division> divisions;

  // The outcomes for an incident of this subtype and category.
  const Weighted<Outcome>* OutcomesFor(fb::Category category, fb::Subtype subtype) const;
  const Division* FindDivision(std::string_view code) const;

  // Loads profiles/<name> from `dir` (the profile's own directory). Errors
  // name the file and the field.
  static Result<Profile> Load(const std::string& dir);
};

// The directory of a profile given by name or path: a path to a directory
// is taken as is; a name is looked up in the profiles shipped with blotter.
Result<std::string> FindProfile(const std::string& name_or_dir);

}  // namespace blotter::sim
