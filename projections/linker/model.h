#pragma once

// The serial-case linking model: what an incident looks like to the linker,
// the evidence between two incidents (each a factor), and the fitted
// naive-Bayes weights that turn evidence into a score.
//
// Each factor is binned; a bin's weight is its fitted log-likelihood ratio,
// log P(bin | same series) / P(bin | not), so the score is
//   sigmoid(prior + sum of the pair's bin weights)
// and every factor's part in it can be shown to an investigator. Weights,
// bins, prior and threshold live in a data file (model-*.json) written by
// tools/fit_linker.py, with the algorithm version they belong to.

#include <array>
#include <map>
#include <string>
#include <vector>

#include "events/aggregate.h"
#include "events/json.h"
#include "events/status.h"

namespace blotter::projections::linker {

// What the linker keeps of one classified incident.
struct Profile {
  std::string incident_id;
  fb::Subtype subtype = fb::Subtype::unknown;
  std::string division;
  double lat = 0, lon = 0;
  Micros received_at = 0;
  Micros from = 0, to = 0;           // when it happened: the window, or the receipt
  std::vector<std::string> mo_tags;  // sorted, unique
  std::vector<std::pair<fb::EntityKind, std::string>> entities;
  std::vector<uint32_t> bigrams;  // of the description's characters, sorted, unique
  // The bigrams nearly all of its matches shared when it was classified (the
  // words of the group it joined), sorted; empty with too few matches.
  std::vector<uint32_t> pattern;
};

// The description's character bigrams (UTF-8 decoded), hashed, sorted, unique.
std::vector<uint32_t> Bigrams(std::string_view text);

enum Factor : int {
  kDistance,     // km between the places
  kDaysApart,    // days between the windows (0 if they overlap)
  kTimeOfDay,    // hours between the windows' middles, on a 24-hour circle
  kDayOfWeek,    // days between weekdays, on a 7-day circle
  kModus,        // MO tags in common (a count: one tag of one in common is weak evidence)
  kEntities,     // 0 none shared, 1 a vehicle or person description, 2 a plate or phone
  kDescription,  // Jaccard of the descriptions' character bigrams
  kFactorCount
};
const char* FactorName(Factor f);

struct Evidence {
  std::array<double, kFactorCount> value{};
  std::string shared_entity;                // the strongest shared entity, if any
  std::vector<std::string> shared_mo_tags;  // in common
};

Evidence Compare(const Profile& a, const Profile& b);
double DistanceKm(double lat1, double lon1, double lat2, double lon2);

// One factor as an investigator reads it: "3.1 km apart", "6 days apart",
// "both 01:00-03:00", "same MO: parked_lorry, diesel", ...
std::string Describe(Factor f, const Evidence& e, const Profile& a, const Profile& b);

class Model {
 public:
  static Result<Model> Load(const std::string& path);
  static Result<Model> FromJson(const Json& j);

  const std::string& version() const { return version_; }
  double threshold() const { return threshold_; }
  double radius_km() const { return radius_km_; }
  int window_days() const { return window_days_; }
  bool Links(fb::Subtype s) const;

  // The bin of a factor's value, and its weight.
  int Bin(Factor f, double value) const;
  double Weight(Factor f, double value) const;
  // The pair's log-odds and its probability of being one series.
  double LogOdds(const Evidence& e) const;
  double Score(const Evidence& e) const;
  // The best total the factors from `from` on could still add (for pruning).
  double MaxRest(int from) const { return max_rest_[from]; }
  double prior() const { return prior_; }

 private:
  std::string version_;
  double prior_ = 0, threshold_ = 0.5, radius_km_ = 60;
  int window_days_ = 45;
  std::vector<fb::Subtype> subtypes_;
  std::array<std::vector<double>, kFactorCount> edges_;    // bin i: value < edges[i]
  std::array<std::vector<double>, kFactorCount> weights_;  // edges + 1 bins
  std::array<double, kFactorCount + 1> max_rest_{};
};

// Where the shipped models live (projections/linker), and the default one.
Result<std::string> DefaultModelPath();

}  // namespace blotter::projections::linker
