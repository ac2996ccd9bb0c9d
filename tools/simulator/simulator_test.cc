#include "tools/simulator/simulator.h"

#include <gtest/gtest.h>

#include <map>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/log_verify.h"
#include "events/vocabulary.h"
#include "projections/runner.h"
#include "services/command_handler.h"
#include "tests/scratch_dir.h"

namespace blotter::sim {
namespace {

using blotter::testing::ScratchDir;

const Profile& Henan() {
  static const Profile* p = [] {
    auto dir = FindProfile("henan-2021");
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    auto profile = Profile::Load(*dir);
    EXPECT_TRUE(profile.ok()) << profile.status().ToString();
    return new Profile(std::move(profile).value());
  }();
  return *p;
}

SimulateOptions Options(const char* from, int days, double scale, uint64_t seed,
                        std::vector<std::string> regions = {}) {
  SimulateOptions o;
  o.from = ParseDay(from).value();
  o.days = days;
  o.scale = scale;
  o.seed = seed;
  o.regions = std::move(regions);
  return o;
}

// Runs a simulation through the aggregate into an embedded log.
Truth SimulateInto(EventLog* log, const SimulateOptions& o) {
  ManualClock clock(o.from);
  CommandHandlerOptions ho;
  ho.record_after_occurrence = 2 * kMicrosPerSecond;
  CommandHandler handler(log, &clock, ho);
  Simulator s(&Henan(), o);
  SimChunk chunk;
  while (true) {
    chunk.clear();
    const bool more = s.Next(5000, &chunk);
    if (chunk.empty() && !more) break;
    const std::vector<Command>& commands = chunk.commands;
    auto results = handler.HandleBatch(chunk.commands);
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_TRUE(results[i].ok())
          << commands[i].command_id << ": " << results[i].status().ToString();
      if (results[i].ok() && chunk.closes[i]) handler.Evict(results[i]->incident_id);
    }
  }
  return s.truth();
}

std::string LogBytes(EventLog& log) {
  std::string all;
  EXPECT_TRUE(ForEachRecord(log, "", [&](LogRecord& r) {
                all += r.bytes;
                return Status::Ok();
              }).ok());
  return all;
}

TEST(ProfileTest, HenanLoads) {
  const Profile& p = Henan();
  int henan = 0, cities = 0;
  std::set<std::string> seen;
  for (const auto& d : p.divisions) {
    if (d.shared) continue;
    ++henan;
    if (seen.insert(d.city).second) ++cities;
  }
  EXPECT_EQ(cities, 18);  // 17 cities and Jiyuan
  EXPECT_GE(henan, 150);
  ASSERT_NE(p.FindDivision("341221"), nullptr);  // Linquan, Anhui
  EXPECT_TRUE(p.FindDivision("341221")->shared);
  EXPECT_EQ(p.FindDivision("411681")->name, "项城市");
}

TEST(ProfileTest, BadFilesGiveClearErrors) {
  ScratchDir dir;
  auto missing = Profile::Load(dir.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("profile.json"), std::string::npos);
  EXPECT_FALSE(FindProfile("no-such-profile").ok());
}

TEST(SimulatorTest, SameSeedSameLogDifferentSeedDifferentLog) {
  ScratchDir dir;
  auto run = [&](const std::string& name, uint64_t seed) {
    auto log = EmbeddedLog::Open(dir.Sub(name)).value();
    SimulateInto(log.get(), Options("2021-11-01", 2, 0.02, seed, {"4116", "341221"}));
    return LogBytes(*log);
  };
  const std::string a = run("a", 7), b = run("b", 7), c = run("c", 8);
  EXPECT_GT(a.size(), 100000u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

// A year at scale 0.01: the category shares of valid incidents and the
// valid/invalid split within a percentage point of the profile; channel and
// region shares follow it.
TEST(SimulatorTest, AYearFollowsTheProfile) {
  const Profile& p = Henan();
  SimulateOptions o = Options("2021-01-01", 365, 0.01, 1);
  o.series = false;
  Simulator s(&p, o);
  std::map<fb::Channel, double> channels;
  std::map<std::string, double> cities;
  double receives = 0;
  SimChunk chunk;
  while (true) {
    chunk.clear();
    const bool more = s.Next(100000, &chunk);
    for (const auto& c : chunk.commands) {
      if (const auto* r = c.payload.AsIncidentReceived()) {
        ++receives;
        ++channels[r->channel];
        if (!r->location->division.starts_with("34")) ++cities[r->location->division.substr(0, 4)];
      }
    }
    if (chunk.empty() && !more) break;
  }
  const auto t = s.truth().Total("41");
  const double calls = t.calls_received;
  EXPECT_NEAR(calls, p.year_calls * 0.01, p.year_calls * 0.01 * 0.03);
  const double valid = t.valid;
  auto pct = [](double a, double b) { return 100.0 * a / b; };
  // The profile's own shares.
  std::map<fb::Category, double> want;
  for (size_t i = 0; i < p.categories.items.size(); ++i) {
    want[p.categories.items[i]] =
        p.categories.cumulative[i] - (i ? p.categories.cumulative[i - 1] : 0.0);
  }
  const double want_valid = want[fb::Category::criminal] + want[fb::Category::public_order] +
                            want[fb::Category::traffic] + want[fb::Category::assistance] +
                            want[fb::Category::fire_disaster];
  const std::vector<std::pair<fb::Category, double>> got = {
      {fb::Category::criminal, static_cast<double>(t.criminal)},
      {fb::Category::public_order, static_cast<double>(t.public_order)},
      {fb::Category::traffic, static_cast<double>(t.traffic)},
      {fb::Category::assistance, static_cast<double>(t.assistance)},
      {fb::Category::fire_disaster, static_cast<double>(t.fire_disaster)},
  };
  for (const auto& [c, n] : got) {
    EXPECT_NEAR(pct(n, valid), pct(want[c], want_valid), 1.0) << Name(c);
  }
  EXPECT_NEAR(pct(valid, calls), pct(want_valid, p.categories.total()), 1.0);
  EXPECT_NEAR(pct(t.invalid, calls), pct(want[fb::Category::invalid], p.categories.total()), 1.0);
  EXPECT_NEAR(pct(t.non_police, calls), pct(want[fb::Category::non_police], p.categories.total()),
              1.0);
  // Channels: phone dominant; WeChat only where it runs.
  EXPECT_GT(pct(channels[fb::Channel::phone], receives), 90.0);
  EXPECT_GT(channels[fb::Channel::wechat], 0);
  // Regions: each city's share of calls within a point of its population share.
  std::map<std::string, double> pop;
  double total_pop = 0;
  for (const auto& d : p.divisions) {
    if (d.shared) continue;
    pop[d.code.substr(0, 4)] += d.population;
    total_pop += d.population;
  }
  double henan_receives = 0;
  for (const auto& [_, n] : cities) henan_receives += n;
  for (const auto& [city, n] : cities) {
    EXPECT_NEAR(pct(n, henan_receives), pct(pop[city], total_pop), 1.0) << city;
  }
  // The report's headline figures land near the year's.
  EXPECT_NEAR(t.missing_found, 44000 * 0.01, 44000 * 0.01 * 0.25);
  EXPECT_NEAR(t.arrests, 45500 * 0.01, 45500 * 0.01 * 0.25);
}

// The report over a simulated period equals the simulator's own counts.
TEST(SimulatorTest, ReportEqualsTruth) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  const Truth truth = SimulateInto(log.get(), Options("2021-10-30", 5, 0.01, 3));
  EXPECT_GT(truth.calls, 3000u);
  {
    auto store = projections::ViewStore::Open(dir.Sub("views")).value();
    auto views = projections::MakeViews(store.get(), {}).value();
    projections::RunnerOptions ro;
    ro.until_caught_up = true;
    projections::Runner runner(log.get(), store.get(), std::move(views), ro);
    auto stats = runner.Run();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->dead_letters, 0u);
  }
  auto store = projections::ViewStore::Open(dir.Sub("views")).value();
  for (const std::string region : {"", "41", "4116", "411681", "341221"}) {
    projections::ReportQuery q;
    q.from_day = "20211030";
    q.to_day = "20211103";
    q.region = region;
    auto report = projections::ComputeReport(*store, q);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(projections::FiguresToJson(report->columns.at("total")).dump(),
              projections::FiguresToJson(truth.Total(region)).dump())
        << "region '" << region << "'";
  }
}

// The injected series are there, in the truth only.
TEST(SimulatorTest, SeriesAreInjectedAndOnlyTheTruthNamesThem) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  const Truth truth =
      SimulateInto(log.get(), Options("2021-10-01", 61, 0.002, 5, {"4116", "341221", "410105"}));
  const TruthGroup* fuel = nullptr;
  for (const auto& s : truth.series) {
    if (s.id == "fuel-theft-xiangcheng-2021") fuel = &s;
  }
  ASSERT_NE(fuel, nullptr);
  EXPECT_GE(fuel->incidents.size(), 30u);  // of 36, those inside October-November
  std::set<std::string> divisions;
  for (const auto& id : fuel->incidents) {
    auto records = log->ReadIncident(id).value();
    ASSERT_GE(records.size(), 2u) << id;
    const auto* e = DecodeEvent(records[1].bytes).value();
    ASSERT_EQ(e->payload_type(), fb::Payload::IncidentClassified);
    EXPECT_EQ(e->payload_as_IncidentClassified()->subtype(), fb::Subtype::fuel_theft);
    divisions.insert(id.substr(0, 6));
  }
  EXPECT_EQ(divisions, (std::set<std::string>{"411681", "411625", "341221"}));
  EXPECT_FALSE(truth.lookalikes.empty());
  const std::string bytes = LogBytes(*log);
  EXPECT_EQ(bytes.find("fuel-theft-xiangcheng"), std::string::npos);
  EXPECT_EQ(bytes.find("lookalike"), std::string::npos);
}

}  // namespace
}  // namespace blotter::sim
