#pragma once

// The serial-case linker: fed the log in order, it finds for each classified
// incident the earlier incidents that could be the same series, scores each
// pair (model.h) and, above the model's threshold, decides CaseLinked
// commands: the incident joins the case of its matches, or founds one with
// them; a match that sits in another case, or an incident the log shows in
// two cases, merges the younger case into the older one. Links are decisions, so they go back into
// the log as commands through the aggregate, like every other lifecycle step.
//
// Deterministic: the linker's view of cases changes only when it reads
// CaseLinked events in the log, never from its own decisions, so the same
// log gives the same decisions on every rebuild. Each decided command has an
// id made of the algorithm version, the incident and the case, so a decision
// made again (after a restart, in a rebuild) is a repeat that appends
// nothing. An investigator's rejection of an incident from a case is final:
// that pair is never proposed again (and the aggregate refuses it).
//
// Bounded: candidates come from a grid of cells per subtype holding only the
// incidents of the model's time window, so the work per incident does not
// grow with the history.
//
// Not thread-safe.

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "events/aggregate.h"
#include "events/string_map.h"
#include "projections/linker/model.h"

namespace blotter::projections::linker {

struct LinkerStats {
  uint64_t events = 0;
  uint64_t classified = 0;  // incidents classified with a subtype the model links
  uint64_t pairs = 0;       // candidate pairs scored
  uint64_t proposed = 0;    // link commands decided
  uint64_t kept_out = 0;    // matches above the threshold set aside: not the pattern's words
};

class Linker {
 public:
  explicit Linker(Model model);

  // One event of the log, in log order. Link commands the event calls for
  // are appended to `out` (only for an IncidentClassified).
  void Observe(const fb::Event& event, std::vector<Command>* out);

  // Every candidate pair as it is scored, unpruned (for fitting and
  // evaluation): the later incident, the earlier one, the evidence, the score.
  using PairSink =
      std::function<void(const Profile& later, const Profile& earlier, const Evidence&, double)>;
  void set_pair_sink(PairSink sink) { sink_ = std::move(sink); }

  const Model& model() const { return model_; }
  const LinkerStats& stats() const { return stats_; }
  // The case an incident belongs to as the log has it so far ("" if none).
  std::string CaseOf(std::string_view incident_id);

  // The command id of a link decision, and the case id founded on an incident.
  static std::string CommandId(std::string_view version, std::string_view incident,
                               std::string_view case_id);
  // "K-<received, local yyyymmddHHMMSS>-<incident>": ids sort by founding
  // time, so anyone can tell which of two cases is the older.
  static std::string CaseIdFor(std::string_view founding_incident, Micros received_at);

 private:
  struct Pending {
    std::string division;
    double lat = 0, lon = 0;
    Micros received_at = 0, from = 0, to = 0;
    std::vector<uint32_t> bigrams;
  };
  struct Match {
    Profile* profile;  // in cells_
    Evidence evidence;
    double score;
  };
  struct CaseInfo {
    std::string parent;                // itself when a root
    std::vector<std::string> members;  // of a root, as linked so far
  };

  void Classified(const fb::Event& e, std::vector<Command>* out);
  void Decide(const Profile& p, std::vector<Match> matches, std::vector<Command>* out);
  // A pair can look alike by chance; a series' own words are harder to match
  // by chance. When an incident matches kPatternMatches or more earlier
  // incidents, the character bigrams nearly all of those share (what every
  // report of the series says: "货车", "柴油") are their pattern, kept with the
  // incident; the incident and each match must hold more than half of it, and
  // the incident more than half of the pattern each match keeps from its own
  // classification (or was given by a later incident's group it fitted),
  // unless they share an entity. Sets aside the matches that fail; all of
  // them when the incident itself does not fit its matches. The matches that
  // stay and have no pattern yet are given this one: the group's words travel
  // to its early members, which had too few matches for a pattern of their own.
  void KeepToPattern(Profile& p, std::vector<Match>* matches);
  // A CaseLinked in the log; when it makes two cases meet in one incident,
  // the younger one's members are linked into the older (merge commands).
  void Linked(const fb::Event& e, std::vector<Command>* out);
  std::string Root(std::string id);
  static bool Older(const std::string& a, const std::string& b) { return a < b; }
  Command LinkCommand(const std::string& incident, const std::string& case_id,
                      const std::string& linked, double score, const Evidence* evidence,
                      const Profile* a, const Profile* b, const std::string& merged_from) const;
  int64_t CellKey(fb::Subtype s, double lat, double lon) const;
  void Prune(Micros now);

  Model model_;
  double cell_deg_;
  LinkerStats stats_;
  PairSink sink_;
  StringMap<Pending> pending_;
  std::deque<std::pair<Micros, std::string>> pending_order_;
  std::map<int64_t, std::deque<Profile>> cells_;
  Micros last_prune_ = 0;
  StringMap<std::string> incident_case_;  // incident -> a case it was linked to
  StringMap<CaseInfo> cases_;
  std::set<std::string> rejected_;  // incident \0 case
  std::set<std::string> linked_;    // incident \0 case, as the log has it
};

}  // namespace blotter::projections::linker
