#include "projections/linker/linker.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/linker/links_view.h"
#include "projections/runner.h"
#include "services/command_handler.h"
#include "tests/scratch_dir.h"

namespace blotter::projections::linker {
namespace {

using blotter::testing::ScratchDir;

// A hand-set model: near, same MO and same time of day is a series.
Model TestModel() {
  Json j = Json::parse(R"({
    "algorithm_version": "test-1", "prior": -4, "threshold": 0.8, "radius_km": 60,
    "window_days": 45, "subtypes": ["fuel_theft", "burglary"],
    "factors": {
      "distance": {"edges": [5, 20], "weights": [2.5, 0.5, -3]},
      "days_apart": {"edges": [10], "weights": [0.5, -0.5]},
      "time_of_day": {"edges": [2], "weights": [1, -2]},
      "day_of_week": {"edges": [1], "weights": [0, 0]},
      "mo_tags": {"edges": [1], "weights": [-2, 2.5]},
      "entities": {"edges": [1, 2], "weights": [0, 1, 4]},
      "description": {"edges": [0.3], "weights": [0, 1]}
    }})");
  return Model::FromJson(j).value();
}

TEST(ModelTest, BinsWeighsAndRefusesBadFiles) {
  const Model m = TestModel();
  EXPECT_EQ(m.Bin(kDistance, 3), 0);
  EXPECT_EQ(m.Bin(kDistance, 5), 1);
  EXPECT_EQ(m.Bin(kDistance, 100), 2);
  EXPECT_DOUBLE_EQ(m.Weight(kEntities, 2), 4);
  EXPECT_TRUE(m.Links(fb::Subtype::fuel_theft));
  EXPECT_FALSE(m.Links(fb::Subtype::fraud));
  EXPECT_FALSE(Model::FromJson(Json::parse(R"({"algorithm_version":"x"})")).ok());
  EXPECT_FALSE(Model::Load("/nonexistent/model.json").ok());
  auto shipped = DefaultModelPath();
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  EXPECT_TRUE(Model::Load(*shipped).ok());
}

TEST(EvidenceTest, ComparesPlacesTimesAndWords) {
  EXPECT_NEAR(DistanceKm(33.467, 114.875, 33.645, 115.177), 34.0, 2.0);  // Xiangcheng-Dancheng
  Profile a, b;
  const Micros day = ParseTime("2021-10-11T00:00:00+08:00").value();
  a.from = day + 1 * kMicrosPerHour;
  a.to = day + 3 * kMicrosPerHour;
  b.from = day + 6 * kMicrosPerDay + 2 * kMicrosPerHour;
  b.to = b.from + kMicrosPerHour;
  a.mo_tags = {"diesel", "night", "parked_lorry"};
  b.mo_tags = {"diesel", "parked_lorry", "siphon_hose"};
  a.entities = {{fb::EntityKind::plate, "皖K7M2Q1"}};
  b.entities = {{fb::EntityKind::plate, "皖K7M2Q1"}};
  a.bigrams = Bigrams("停在物流园的货车油箱被撬，柴油被盗");
  b.bigrams = Bigrams("停在服务区的货车油箱被撬，柴油被盗");
  const Evidence e = Compare(a, b);
  EXPECT_NEAR(e.value[kDaysApart], 6 - 1.0 / 24, 1e-9);  // 03:00 to 02:00 six days on
  EXPECT_NEAR(e.value[kTimeOfDay], 0.5, 1e-9);
  EXPECT_DOUBLE_EQ(e.value[kModus], 2);  // tags in common
  EXPECT_DOUBLE_EQ(e.value[kEntities], 2);
  EXPECT_GT(e.value[kDescription], 0.5);
  EXPECT_EQ(Describe(kModus, e, a, b), "same MO: diesel, parked_lorry");
  EXPECT_EQ(Describe(kEntities, e, a, b), "same plate 皖K7M2Q1");
  EXPECT_EQ(Describe(kDaysApart, e, a, b), "6 days apart");
  // Amounts and house numbers are not resemblance.
  EXPECT_EQ(Bigrams("柴油被盗约130升"), Bigrams("柴油被盗约５２０升"));
  EXPECT_NE(Bigrams("柴油被盗"), Bigrams("汽油被盗"));
}

class LinkerTest : public ::testing::Test {
 protected:
  // The id of the case founded by the incident Theft() received on `day`.
  static std::string Founded(const std::string& id, int day) {
    return Linker::CaseIdFor(id,
                             ParseTime("2021-10-01T07:00:00+08:00").value() + day * kMicrosPerDay);
  }

  void SetUp() override {
    log_ = EmbeddedLog::Open(dir_.Sub("log")).value();
    clock_ = std::make_unique<ManualClock>(ParseTime("2021-12-01T00:00:00+08:00").value());
    handler_ = std::make_unique<CommandHandler>(log_.get(), clock_.get());
  }

  // Receives and classifies a fuel theft at a place and day.
  std::string Theft(int n, double lat, double lon, int day, std::vector<std::string> mo,
                    const std::string& description = "货车油箱被撬，柴油被盗") {
    const Micros t = ParseTime("2021-10-01T07:00:00+08:00").value() + day * kMicrosPerDay;
    Json r = {{"command_id", fmt::format("r{}", n)},
              {"type", "receive"},
              {"incident_id", fmt::format("411681-t{:03}", n)},
              {"actor", "op:1"},
              {"at", FormatTime(t)},
              {"channel", "phone"},
              {"location", {{"lat", lat}, {"lon", lon}, {"division", "411681"}}},
              {"description", description},
              {"happened",
               {{"from", FormatTime(t - 5 * kMicrosPerHour)},
                {"to", FormatTime(t - 4 * kMicrosPerHour)}}}};
    Json k = {{"command_id", fmt::format("k{}", n)},
              {"type", "classify"},
              {"incident_id", fmt::format("411681-t{:03}", n)},
              {"actor", "op:1"},
              {"at", FormatTime(t + kMicrosPerMinute)},
              {"category", "criminal"},
              {"subtype", "fuel_theft"},
              {"mo_tags", mo}};
    for (const Json& c : {r, k}) {
      auto cmd = CommandFromJson(c.dump());
      EXPECT_TRUE(cmd.ok()) << cmd.status().ToString();
      EXPECT_TRUE(handler_->Handle(std::move(cmd).value()).ok());
    }
    return fmt::format("411681-t{:03}", n);
  }

  // Feeds the linker the log from where it last stopped (from the start for
  // a new one), appending what it decides, until it decides nothing new.
  // Returns the events appended.
  int64_t RunLinker(Linker* linker) {
    int64_t appended = 0;
    int64_t& read_to = read_to_[linker];
    for (int round = 0; round < 10; ++round) {
      ReaderOptions ro;
      for (int32_t p = 0; p < log_->partitions(); ++p) ro.start.push_back({p, read_to});
      const auto end = log_->EndOffsets().value();
      ro.stop_at = end;
      auto reader = log_->NewReader(ro).value();
      std::vector<Command> out;
      while (true) {
        auto batch = reader->Poll(1000, std::chrono::seconds(1));
        if (!batch.ok()) break;
        for (const auto& r : *batch) linker->Observe(*DecodeEvent(r.bytes).value(), &out);
      }
      read_to = *std::max_element(end.begin(), end.end());
      if (out.empty()) break;
      for (auto& r : handler_->HandleBatch(out)) {
        if (r.ok()) appended += r->repeated ? 0 : static_cast<int64_t>(r->events.size());
      }
    }
    return appended;
  }

  ScratchDir dir_;
  std::map<Linker*, int64_t> read_to_;
  std::unique_ptr<EmbeddedLog> log_;
  std::unique_ptr<ManualClock> clock_;
  std::unique_ptr<CommandHandler> handler_;
};

TEST_F(LinkerTest, LinksASeriesLeavesTheRestAndNeverLinksTwice) {
  const std::vector<std::string> mo = {"diesel", "night", "parked_lorry"};
  const auto a = Theft(1, 33.46, 114.87, 0, mo);
  const auto b = Theft(2, 33.47, 114.88, 5, mo);
  const auto c = Theft(3, 33.48, 114.86, 9, mo);
  const auto far = Theft(4, 34.75, 113.65, 7, mo);                   // Zhengzhou
  const auto other = Theft(5, 33.47, 114.87, 8, {"petrol", "day"});  // near, other MO
  Linker linker(TestModel());
  EXPECT_GT(RunLinker(&linker), 0);
  const std::string k = linker.CaseOf(a);
  EXPECT_EQ(k, Founded(a, 0));  // the oldest founds the case
  EXPECT_EQ(linker.CaseOf(b), k);
  EXPECT_EQ(linker.CaseOf(c), k);
  EXPECT_EQ(linker.CaseOf(far), "");
  EXPECT_EQ(linker.CaseOf(other), "");
  // Each link is an event of its incident, with the factors in words.
  bool explained = false;
  for (const auto& r : log_->ReadIncident(b).value()) {
    const auto* e = DecodeEvent(r.bytes).value();
    if (e->payload_type() != fb::Payload::CaseLinked) continue;
    const auto* l = e->payload_as_CaseLinked();
    EXPECT_EQ(l->algorithm_version()->str(), "test-1");
    EXPECT_GE(l->score(), 0.8);
    for (const auto* f : *l->factors()) {
      if (f->name()->str() == "mo_tags") {
        EXPECT_EQ(f->detail()->str(), "same MO: diesel, night, parked_lorry");
        explained = true;
      }
    }
  }
  EXPECT_TRUE(explained);
  // A rebuild decides the same and appends nothing.
  const auto end = log_->EndOffsets().value();
  Linker again(TestModel());
  EXPECT_EQ(RunLinker(&again), 0);
  EXPECT_EQ(log_->EndOffsets().value(), end);
  EXPECT_EQ(again.CaseOf(c), k);
}

TEST_F(LinkerTest, AnIncidentThatMatchesASeriesButNotItsWordsStaysOut) {
  const std::vector<std::string> mo = {"diesel", "night", "parked_lorry"};
  std::vector<std::string> series;
  for (int i = 0; i < 7; ++i) series.push_back(Theft(i + 1, 33.46 + 0.002 * i, 114.87, i, mo));
  // Near, same night, same MO, and a third of the words ("柴油被盗"): each
  // pair scores above the threshold, but the series' own words are missing.
  const auto excavator = Theft(8, 33.465, 114.87, 7, mo, "工地挖掘机柴油被盗约520升");
  // A later member matches the series and the excavator: it joins, the
  // excavator is not pulled in with it.
  const auto later = Theft(9, 33.462, 114.871, 8, mo, "停车场货车油箱被撬，柴油被盗约300升");
  Linker linker(TestModel());
  RunLinker(&linker);
  const std::string k = linker.CaseOf(series[0]);
  ASSERT_NE(k, "");
  for (const auto& id : series) EXPECT_EQ(linker.CaseOf(id), k) << id;
  EXPECT_EQ(linker.CaseOf(later), k);
  EXPECT_EQ(linker.CaseOf(excavator), "");
  EXPECT_GE(linker.stats().kept_out, 2u);
}

TEST_F(LinkerTest, AMatchKeepsItsGroupsWords) {
  const std::vector<std::string> mo = {"diesel", "night", "parked_lorry"};
  std::vector<std::string> series;
  for (int i = 0; i < 7; ++i) series.push_back(Theft(i + 1, 33.46 + 0.002 * i, 114.87, i, mo));
  // 15 km north, it matches all seven and keeps their words.
  const auto north = Theft(8, 33.595, 114.87, 7, mo);
  // 3 km further north it matches `north` alone (the seven are too far): one
  // match, too few for a pattern of its own, but `north` kept its group's.
  const auto excavator = Theft(9, 33.625, 114.87, 8, mo, "工地挖掘机柴油被盗约520升");
  Linker linker(TestModel());
  RunLinker(&linker);
  const std::string k = linker.CaseOf(series[0]);
  ASSERT_NE(k, "");
  EXPECT_EQ(linker.CaseOf(north), k);
  EXPECT_EQ(linker.CaseOf(excavator), "");
  EXPECT_GE(linker.stats().kept_out, 1u);
}

TEST_F(LinkerTest, TwoCasesMergeIntoTheOlderAndRejectionsStand) {
  const std::vector<std::string> mo = {"diesel", "night", "parked_lorry"};
  // Two groups 25 km apart, then one incident between them.
  const auto a1 = Theft(1, 33.40, 114.80, 0, mo);
  const auto a2 = Theft(2, 33.401, 114.801, 1, mo);
  const auto b1 = Theft(3, 33.625, 114.80, 2, mo);
  const auto b2 = Theft(4, 33.626, 114.801, 3, mo);
  Linker linker(TestModel());
  RunLinker(&linker);
  ASSERT_EQ(linker.CaseOf(a2), Founded(a1, 0));
  ASSERT_EQ(linker.CaseOf(b2), Founded(b1, 2));
  // An investigator rejects a2 from case K-a1... before the bridge arrives.
  Json reject = {{"command_id", "rej-1"},         {"type", "reject_link"},     {"incident_id", a2},
                 {"actor", "officer:7"},          {"case_id", Founded(a1, 0)}, {"by", "officer:7"},
                 {"reason", "different suspects"}};
  ASSERT_TRUE(handler_->Handle(CommandFromJson(reject.dump()).value()).ok());
  const auto bridge = Theft(5, 33.5125, 114.80, 4, mo);
  RunLinker(&linker);
  // The bridge joins the older case; the younger one merges into it.
  EXPECT_EQ(linker.CaseOf(bridge), Founded(a1, 0));
  EXPECT_EQ(linker.CaseOf(b1), Founded(a1, 0));
  EXPECT_EQ(linker.CaseOf(b2), Founded(a1, 0));
  // The rejected link stays rejected; no second CaseLinked for it.
  int links_of_a2 = 0;
  for (const auto& r : log_->ReadIncident(a2).value()) {
    links_of_a2 += DecodeEvent(r.bytes).value()->payload_type() == fb::Payload::CaseLinked;
  }
  EXPECT_EQ(links_of_a2, 1);

  // The links view: the merged case points to the survivor, which lists all.
  {
    auto store = ViewStore::Open(dir_.Sub("views")).value();
    auto views = MakeViews(store.get(), {"links"}).value();
    RunnerOptions ro;
    ro.until_caught_up = true;
    Runner runner(log_.get(), store.get(), std::move(views), ro);
    ASSERT_TRUE(runner.Run().ok());
  }
  auto store = ViewStore::Open(dir_.Sub("views")).value();
  EXPECT_EQ(SurvivingCase(*store, Founded(b1, 2)).value(), Founded(a1, 0));
  auto members = MembersOf(*store, Founded(a1, 0)).value();
  std::map<std::string, std::string> status;
  for (const auto& m : members) status[m.incident_id] = m.status;
  EXPECT_EQ(status.size(), 5u);
  EXPECT_EQ(status[a2], "rejected");
  EXPECT_EQ(status[b2], "proposed");
  EXPECT_EQ(AllCases(*store).value(), std::vector<std::string>{Founded(a1, 0)});
}

}  // namespace
}  // namespace blotter::projections::linker
