// blotter evaluate-links: the links in a log against the simulator's ground
// truth (--truth), as a crime analyst would judge them.

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "events/codec.h"
#include "events/log_verify.h"
#include "projections/linker/linker.h"
#include "tools/cli/common.h"

namespace blotter::cli {
namespace {

namespace lk = projections::linker;

struct EvaluateOptions {
  LogOptions log;
  std::string truth;
  std::string model;
  std::string export_pairs;
  std::string format = "table";
};

// A candidate pair in 8 bytes (a year at scale 1.0 scores ~10^8 of them):
// the score's float bits (ordered as the scores are, for scores >= 0), then
// 31 bits of a hash of the pair's ids to order ties the same on every run,
// then whether the pair is one series.
struct Candidate {
  uint64_t key;
  Candidate(double score, std::string_view later, std::string_view earlier, bool same) {
    const float f = static_cast<float>(std::max(0.0, score));
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    const uint64_t tie =
        std::hash<std::string_view>{}(later)*31 + std::hash<std::string_view>{}(earlier);
    key = (uint64_t{bits} << 32) | ((tie & 0x7fffffff) << 1) | (same ? 1 : 0);
  }
  bool same() const { return key & 1; }
};

class UnionFind {
 public:
  std::string Find(const std::string& x) {
    auto it = parent_.find(x);
    if (it == parent_.end()) {
      parent_[x] = x;
      return x;
    }
    if (it->second == x) return x;
    std::string root = Find(it->second);
    parent_[x] = root;
    return root;
  }
  void Union(const std::string& a, const std::string& b) {
    const std::string ra = Find(a), rb = Find(b);
    if (ra != rb) parent_[std::max(ra, rb)] = std::min(ra, rb);
  }

 private:
  std::map<std::string, std::string> parent_;
};

int Run(const EvaluateOptions& o) {
  std::ifstream in(o.truth);
  if (!in) return Fail("evaluate-links", fmt::format("cannot read --truth {}", o.truth));
  std::stringstream ss;
  ss << in.rdbuf();
  const Json truth = Json::parse(ss.str(), nullptr, false);
  if (truth.is_discarded() || !truth.contains("series")) {
    return Fail("evaluate-links", fmt::format("{} is not a simulator truth file", o.truth));
  }
  std::map<std::string, std::string> series_of;  // incident -> series id
  std::map<std::string, std::vector<std::string>> series;
  std::set<std::string> lookalikes;
  for (const auto& s : truth["series"]) {
    for (const auto& id : s["incidents"]) {
      series_of[id.get<std::string>()] = s["id"].get<std::string>();
      series[s["id"].get<std::string>()].push_back(id.get<std::string>());
    }
  }
  for (const auto& l : truth.value("lookalikes", Json::array())) {
    for (const auto& id : l["incidents"]) lookalikes.insert(id.get<std::string>());
  }

  std::string model_path = o.model;
  if (model_path.empty()) {
    auto p = lk::DefaultModelPath();
    if (!p.ok()) return Fail("evaluate-links", p.status());
    model_path = *p;
  }
  auto model = lk::Model::Load(model_path);
  if (!model.ok()) return Fail("evaluate-links", model.status());
  auto log = OpenLog(o.log, /*create=*/false, /*follow_if_busy=*/true);
  if (!log.ok()) return Fail("evaluate-links", log.status());

  // Every candidate pair the linker scores, and the links in the log.
  lk::Linker linker(std::move(model).value());
  std::vector<Candidate> candidates;
  std::ofstream pairs_out;
  if (!o.export_pairs.empty()) {
    pairs_out.open(o.export_pairs, std::ios::trunc);
    if (!pairs_out) return Fail("evaluate-links", fmt::format("cannot write {}", o.export_pairs));
  }
  auto same = [&](const std::string& a, const std::string& b) {
    auto ia = series_of.find(a), ib = series_of.find(b);
    return ia != series_of.end() && ib != series_of.end() && ia->second == ib->second;
  };
  linker.set_pair_sink([&](const lk::Profile& later, const lk::Profile& earlier,
                           const lk::Evidence& ev, double score) {
    const bool s = same(later.incident_id, earlier.incident_id);
    candidates.emplace_back(score, later.incident_id, earlier.incident_id, s);
    if (pairs_out.is_open()) {
      Json j = {{"later", later.incident_id},
                {"earlier", earlier.incident_id},
                {"subtype", std::string(Name(later.subtype))},
                {"same_series", s},
                {"shared_mo", ev.shared_mo_tags.size()},
                {"values", std::vector<double>(ev.value.begin(), ev.value.end())}};
      pairs_out << j.dump() << "\n";
    }
  });
  std::map<std::string, std::set<std::string>> cases_of;  // incident -> cases linked
  std::set<std::pair<std::string, std::string>> rejected;
  std::vector<Command> ignored;
  Progress progress("evaluate-links (events)", 0, true);
  Status read = ForEachRecord(**log, "", [&](LogRecord& r) -> Status {
    auto e = DecodeEvent(r.bytes);
    if (!e.ok()) return Status::Ok();  // replay --verify names it
    ignored.clear();
    linker.Observe(**e, &ignored);
    const std::string id = (*e)->incident_id()->str();
    if ((*e)->payload_type() == fb::Payload::CaseLinked) {
      cases_of[id].insert((*e)->payload_as_CaseLinked()->case_id()->str());
    } else if ((*e)->payload_type() == fb::Payload::CaseLinkRejected) {
      rejected.emplace(id, (*e)->payload_as_CaseLinkRejected()->case_id()->str());
    }
    progress.Update(linker.stats().events);
    return Status::Ok();
  });
  if (!read.ok()) return Fail("evaluate-links", read);
  progress.Finish();

  // Predicted clusters: cases that meet in an incident are one.
  UnionFind uf;
  std::map<std::string, std::string> cluster_of;  // incident -> a case
  for (const auto& [id, cases] : cases_of) {
    std::string first;
    for (const auto& c : cases) {
      if (rejected.contains({id, c})) continue;
      if (first.empty()) {
        first = c;
      } else {
        uf.Union(first, c);
      }
    }
    if (!first.empty()) cluster_of[id] = first;
  }
  std::map<std::string, std::vector<std::string>> clusters;
  for (const auto& [id, c] : cluster_of) clusters[uf.Find(c)].push_back(id);

  auto pairs = [](uint64_t n) { return n * (n - 1) / 2; };
  uint64_t true_pairs = 0, predicted_pairs = 0, tp = 0;
  for (const auto& [_, members] : series) true_pairs += pairs(members.size());
  for (const auto& [_, members] : clusters) {
    predicted_pairs += pairs(members.size());
    std::map<std::string, uint64_t> by_series;
    for (const auto& m : members) {
      if (auto it = series_of.find(m); it != series_of.end()) ++by_series[it->second];
    }
    for (const auto& [__, n] : by_series) tp += pairs(n);
  }
  const double precision = predicted_pairs ? double(tp) / predicted_pairs : 0;
  const double recall = true_pairs ? double(tp) / true_pairs : 0;
  const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;

  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.key > b.key; });
  auto precision_at = [&](size_t k) {
    const size_t n = std::min(k, candidates.size());
    size_t good = 0;
    for (size_t i = 0; i < n; ++i) good += candidates[i].same();
    return n ? double(good) / n : 0.0;
  };
  // Average precision over the ranking: the area under the precision-recall
  // curve, with true pairs the candidate search never offered as misses.
  double ap = 0;
  size_t good = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!candidates[i].same()) continue;
    ++good;
    ap += double(good) / (i + 1);
  }
  ap = true_pairs ? ap / true_pairs : 0;

  Json out = Json::object();
  out["model"] = linker.model().version();
  out["true_pairs"] = true_pairs;
  out["predicted_pairs"] = predicted_pairs;
  out["pairwise_precision"] = precision;
  out["pairwise_recall"] = recall;
  out["pairwise_f1"] = f1;
  out["candidate_pairs"] = candidates.size();
  out["precision_at_100"] = precision_at(100);
  out["precision_at_500"] = precision_at(500);
  out["pr_auc"] = ap;
  Json per_series = Json::array();
  uint64_t lookalikes_in_series = 0, others_in_series = 0;
  std::set<std::string> counted;
  for (const auto& [sid, members] : series) {
    std::map<std::string, size_t> in_cluster;
    for (const auto& m : members) {
      if (auto it = cluster_of.find(m); it != cluster_of.end()) ++in_cluster[uf.Find(it->second)];
    }
    std::string best;
    size_t most = 0;
    for (const auto& [c, n] : in_cluster) {
      if (n > most) {
        most = n;
        best = c;
      }
    }
    size_t strangers = 0, strange_lookalikes = 0;
    if (!best.empty()) {
      for (const auto& m : clusters[best]) {
        auto it = series_of.find(m);
        if (it != series_of.end() && it->second == sid) continue;
        ++strangers;
        strange_lookalikes += lookalikes.contains(m);
      }
    }
    if (!best.empty() && counted.insert(best).second) {
      lookalikes_in_series += strange_lookalikes;
      others_in_series += strangers;
    }
    per_series.push_back({{"series", sid},
                          {"members", members.size()},
                          {"largest_case", best},
                          {"found_in_one_case", most},
                          {"completeness", members.empty() ? 0.0 : double(most) / members.size()},
                          {"others_in_that_case", strangers},
                          {"lookalikes_in_that_case", strange_lookalikes}});
  }
  out["series"] = std::move(per_series);
  out["lookalikes_in_series_cases"] = lookalikes_in_series;
  out["other_incidents_in_series_cases"] = others_in_series;
  out["cases"] = clusters.size();

  if (o.format == "json") {
    PrintLine(out.dump(-1, ' ', false));
    return 0;
  }
  PrintLine(fmt::format("links in {} against {} (model {})", LogName(o.log), o.truth,
                        linker.model().version()));
  PrintLine(fmt::format("  cases found                   {}", clusters.size()));
  PrintLine(fmt::format("  true pairs / predicted pairs  {} / {}", true_pairs, predicted_pairs));
  PrintLine(fmt::format("  pairwise precision            {:.4f}", precision));
  PrintLine(fmt::format("  pairwise recall               {:.4f}", recall));
  PrintLine(fmt::format("  pairwise F1                   {:.4f}", f1));
  PrintLine(fmt::format("  precision at 100 / 500        {:.4f} / {:.4f}  (of {} candidate pairs)",
                        precision_at(100), precision_at(500), candidates.size()));
  PrintLine(fmt::format("  area under precision-recall   {:.4f}", ap));
  for (const auto& s : out["series"]) {
    PrintLine(fmt::format(
        "  series {:<30} {:>3}/{:<3} in one case ({:.0f}%), {} others in it "
        "({} look-alikes)",
        s["series"].get<std::string>(), s["found_in_one_case"].get<size_t>(),
        s["members"].get<size_t>(), 100 * s["completeness"].get<double>(),
        s["others_in_that_case"].get<size_t>(), s["lookalikes_in_that_case"].get<size_t>()));
  }
  return 0;
}

}  // namespace

Subcommand AddEvaluateLinks(CLI::App& root) {
  auto o = std::make_shared<EvaluateOptions>();
  Subcommand c;
  c.app = root.add_subcommand(
      "evaluate-links",
      "compare the links in a log with the simulator's ground truth: pairwise precision, "
      "recall, F1, precision at 100 and 500, area under the precision-recall curve, and each "
      "series' completeness");
  AddLogOptions(c.app, &o->log, "evaluate-links");
  c.app->add_option("--truth", o->truth, "the simulator's --truth file")->required();
  c.app->add_option("--model", o->model,
                    "the model to score candidate pairs with (default: "
                    "projections/linker/model.json)");
  c.app->add_option("--export-pairs", o->export_pairs,
                    "write every candidate pair with its factor values and label (JSON lines), "
                    "for tools/fit_linker.py");
  c.app->add_option("--format", o->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  c.run = [o] { return Run(*o); };
  return c;
}

}  // namespace blotter::cli
