// The projection runner: exactly-once across kill -9, dead letters, and the
// state codec.

#include "projections/runner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "events/embedded_log.h"
#include "events/hash_chain.h"
#include "projections/history/history_view.h"
#include "projections/state_codec.h"
#include "projections/stats/report.h"
#include "projections/stats/stats_view.h"
#include "services/command_handler.h"
#include "tests/scratch_dir.h"

namespace blotter::projections {
namespace {

using testing::ScratchDir;

// Submits `incidents` lifecycles through the aggregate (received, classified,
// dispatched, arrived, resolved or transferred; some invalid calls).
void Generate(EventLog* log, int incidents, uint64_t seed) {
  const Micros base = ParseTime("2021-10-01T00:00:00+08:00").value();
  ManualClock clock(ParseTime("2030-01-01T00:00:00+08:00").value());
  CommandHandler handler(log, &clock);
  std::mt19937_64 rng(seed);
  const char* divisions[] = {"411681", "411625", "341221", "410102", "411302"};
  const char* kinds[][2] = {{"criminal", "fuel_theft"},
                            {"traffic", "traffic_collision"},
                            {"assistance", "missing_person"},
                            {"public_order", "dispute"},
                            {"invalid", "prank"}};
  std::vector<Command> batch;
  auto flush = [&] {
    for (auto& r : handler.HandleBatch(batch)) ASSERT_TRUE(r.ok()) << r.status().ToString();
    batch.clear();
  };
  for (int i = 0; i < incidents; ++i) {
    const std::string id = fmt::format("{}-{:06}", divisions[i % 5], i);
    const Micros t = base + i * 45 * kMicrosPerSecond;
    clock.Advance(kMicrosPerSecond);
    auto at = [&](int min) {
      return FormatTime(t + min * kMicrosPerMinute + (rng() % 50) * kMicrosPerSecond);
    };
    const auto& kind = kinds[rng() % 5];
    std::vector<std::string> lines = {
        fmt::format(
            R"({{"command_id":"{0}-r","type":"receive","incident_id":"{0}","actor":"op","at":"{1}","channel":"phone","location":{{"lat":33.4,"lon":114.9,"division":"{2}"}},"description":"测试"}})",
            id, at(0), divisions[i % 5]),
        fmt::format(
            R"({{"command_id":"{0}-c","type":"classify","incident_id":"{0}","actor":"op","at":"{1}","category":"{2}","subtype":"{3}"}})",
            id, at(1), kind[0], kind[1])};
    if (std::string(kind[0]) != "invalid") {
      lines.push_back(fmt::format(
          R"({{"command_id":"{0}-a","type":"assign","incident_id":"{0}","actor":"op","at":"{1}","unit_id":"U{2}","unit_kind":"patrol_car"}})",
          id, at(2), i % 40));
      lines.push_back(fmt::format(
          R"({{"command_id":"{0}-v","type":"arrive","incident_id":"{0}","actor":"u","at":"{1}","unit_id":"U{2}"}})",
          id, at(4 + static_cast<int>(rng() % 6)), i % 40));
      lines.push_back(
          i % 7 == 0
              ? fmt::format(
                    R"({{"command_id":"{0}-t","type":"transfer","incident_id":"{0}","actor":"u","at":"{1}","destination":"ambulance_120"}})",
                    id, at(20))
              : fmt::format(
                    R"({{"command_id":"{0}-z","type":"resolve","incident_id":"{0}","actor":"u","at":"{1}","disposition":"{2}"{3}}})",
                    id, at(30), i % 5 == 0 ? "arrest" : "handled",
                    i % 5 == 0 ? R"(,"count":2)" : ""));
    }
    for (const auto& l : lines) batch.push_back(CommandFromJson(l).value());
    if (batch.size() >= 2000) flush();
  }
  flush();
}

// Every view's digest, as project --digest prints them.
std::string DigestAll(ViewStore& store) {
  std::string out;
  for (const auto& v : MakeViews(&store, {}).value()) out += v->Digest(store).value() + "\n";
  return out;
}

Result<RunStats> Project(EventLog* log, const std::string& dir, size_t batch = 2000,
                         ViewStore::Access access = ViewStore::Access::kWrite,
                         std::function<void(uint64_t, uint64_t)> on_batch = {}) {
  BLOTTER_ASSIGN_OR_RETURN(auto store, ViewStore::Open(dir, access));
  BLOTTER_ASSIGN_OR_RETURN(auto views, MakeViews(store.get(), {}));
  RunnerOptions o;
  o.until_caught_up = true;
  o.batch_events = batch;
  o.bulk_persist_events = 3 * batch;
  o.on_batch = std::move(on_batch);
  Runner runner(log, store.get(), std::move(views), o);
  return runner.Run();
}

// A store of another layout is refused with what to do, not misread; a
// format-4 store reads as it is unless it holds history (whose records
// format 5 changed).
TEST(ViewStoreTest, RefusesAStoreOfAnotherFormat) {
  struct Case {
    int64_t format;
    bool history;
    bool refused;
  };
  for (const Case& c : std::vector<Case>{{3, false, true}, {4, true, true}, {4, false, false}}) {
    ScratchDir dir;
    {
      auto store = ViewStore::Open(dir.Sub("views")).value();
      rocksdb::WriteBatch b;
      ASSERT_TRUE(b.Put(store->cf(Cf::kMeta), "format", EncodeCounter(c.format)).ok());
      if (c.history) {
        ASSERT_TRUE(b.Put(store->cf(Cf::kHistory), "k", "v").ok());
      }
      ASSERT_TRUE(store->db()->Write(rocksdb::WriteOptions(), &b).ok());
    }
    for (auto access : {ViewStore::Access::kRead, ViewStore::Access::kWrite}) {
      auto again = ViewStore::Open(dir.Sub("views"), access);
      ASSERT_EQ(again.ok(), !c.refused) << c.format << " " << c.history;
      if (!c.refused) continue;
      EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
      EXPECT_NE(again.status().message().find("--rebuild"), std::string::npos);
    }
    if (c.refused) continue;
    auto store = ViewStore::Open(dir.Sub("views"), ViewStore::Access::kRead).value();
    std::string v;
    ASSERT_TRUE(store->db()->Get(rocksdb::ReadOptions(), store->cf(Cf::kMeta), "format", &v).ok());
    EXPECT_EQ(DecodeCounter(v), ViewStore::kFormat);  // marked when opened for writing
  }
}

TEST(StateCodecTest, RoundTripsAState) {
  IncidentState s;
  s.incident_id = "411681-000001";
  s.version = 7;
  s.last_hash = std::string(32, 'h');
  s.status = IncidentStatus::kResolved;
  s.division = "411681";
  s.category = fb::Category::criminal;
  s.subtype = fb::Subtype::fuel_theft;
  s.units.push_back(UnitState{"XC-P-03", fb::UnitKind::patrol_car, false, 10, 20});
  s.disposition = fb::Disposition::arrest;
  s.disposition_count = 2;
  s.received_at = -5;
  // Times are kept as offsets from received_at: far ones, ones before it and
  // unset ones (0) come back as they were.
  s.last_recorded_at = 30;
  s.classified_at = INT64_MAX;
  s.first_dispatched_at = INT64_MIN + 1;
  s.closed_at = -7;
  s.cases["K1"] = LinkStatus::kConfirmed;
  auto back = DecodeState(s.incident_id, EncodeState(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(EncodeState(*back), EncodeState(s));
  EXPECT_EQ(back->incident_id, s.incident_id);  // from the caller, not the record
  EXPECT_EQ(back->units[0].assigned_at, 10);
  EXPECT_EQ(back->units[0].arrived_at, 20);
  EXPECT_EQ(back->received_at, -5);
  EXPECT_EQ(back->last_recorded_at, 30);
  EXPECT_EQ(back->classified_at, INT64_MAX);
  EXPECT_EQ(back->first_dispatched_at, INT64_MIN + 1);
  EXPECT_EQ(back->first_arrived_at, 0);
  EXPECT_EQ(back->closed_at, -7);
  EXPECT_EQ(back->cases.at("K1"), LinkStatus::kConfirmed);
  EXPECT_FALSE(DecodeState(s.incident_id, EncodeState(s).substr(0, 20)).ok());
  EXPECT_FALSE(DecodeState("x", "").ok());
}

TEST(StatsViewTest, DaysAreChinaStandardTime) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"2021-11-06T23:59:59+08:00", "20211106"}, {"2021-11-06T16:00:00Z", "20211107"},
      {"2021-11-06T15:59:59Z", "20211106"},      {"1969-12-31T15:59:59Z", "19691231"},
      {"1969-12-31T16:00:00Z", "19700101"},      {"2020-02-29T12:00:00+08:00", "20200229"},
  };
  for (const auto& [at, day] : cases) {
    EXPECT_EQ(StatsView::Day(ParseTime(at).value()), day) << at;
  }
}

TEST(RunnerTest, ViewsMatchTheLog) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  Generate(log.get(), 300, 1);
  auto stats = Project(log.get(), dir.Sub("views"));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->dead_letters, 0u);
  EXPECT_EQ(static_cast<int64_t>(stats->applied), log->EndOffsets().value()[0]);
  auto store = ViewStore::Open(dir.Sub("views")).value();
  // Every incident's state equals a fold of its history in the log.
  for (int i : {0, 7, 150, 299}) {
    const std::string id = fmt::format(
        "{}-{:06}",
        std::vector<std::string>{"411681", "411625", "341221", "410102", "411302"}[i % 5], i);
    std::string v;
    ASSERT_TRUE(store->db()
                    ->Get(rocksdb::ReadOptions(), store->cf(Cf::kIncidents), IncidentKey(id), &v)
                    .ok())
        << id;
    IncidentState folded;
    for (const auto& r : log->ReadIncident(id).value())
      Apply(folded, *DecodeEvent(r.bytes).value());
    folded.commands.clear();
    EXPECT_EQ(EncodeState(DecodeState(id, v).value()), EncodeState(folded)) << id;
    // The history view leads to what the embedded log reads by its own index
    // (why a new store on it leaves history out: ChooseViews).
    std::vector<std::pair<Position, std::string>> from_log, from_history;
    for (auto& r : log->ReadIncident(id).value()) from_log.emplace_back(r.position, r.bytes);
    for (auto& r : ReadHistory(*log, *store, id).value()) {
      from_history.emplace_back(r.position, r.bytes);
    }
    EXPECT_EQ(from_history, from_log) << id;
  }
  // The stats count every incident once.
  int64_t incidents = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      store->db()->NewIterator(rocksdb::ReadOptions(), store->cf(Cf::kStats)));
  for (it->Seek("n|"); it->Valid() && it->key().starts_with("n|"); it->Next()) {
    incidents += DecodeCounter(it->value().ToStringView());
  }
  EXPECT_EQ(incidents, 300);
}

// Through history, a view that lags the log still gives each incident's
// whole history: what it recorded, then the log past its checkpoint. A store
// without history gives nothing (read the log instead).
TEST(HistoryViewTest, AViewBehindTheLogStillGivesTheWholeHistory) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  Generate(log.get(), 60, 2);
  for (const std::vector<std::string>& views :
       std::vector<std::vector<std::string>>{{"incidents", "history"}, {"incidents"}}) {
    const std::string path = dir.Sub(fmt::format("views-{}", views.size()));
    auto store = ViewStore::Open(path).value();
    RunnerOptions o;
    o.until_caught_up = true;
    o.batch_events = 7;  // batches that end inside incidents
    std::atomic<bool> stop = false;
    o.on_batch = [&](uint64_t applied, uint64_t) { stop = applied >= 120; };
    Runner runner(log.get(), store.get(), MakeViews(store.get(), views).value(), o);
    ASSERT_TRUE(runner.Run(&stop).ok());
    const int64_t checkpoint = store->Checkpoints().value().at(0);
    ASSERT_GT(checkpoint, 0);
    ASSERT_LT(checkpoint, log->EndOffsets().value()[0]);
    int split = 0;  // incidents with events on both sides of the checkpoint
    for (int i = 0; i < 60; ++i) {
      const std::string id = fmt::format(
          "{}-{:06}",
          std::vector<std::string>{"411681", "411625", "341221", "410102", "411302"}[i % 5], i);
      auto got = ReadIncidentThroughHistory(*log, *store, id);
      ASSERT_TRUE(got.ok()) << id << ": " << got.status().ToString();
      if (views.size() == 1) {
        EXPECT_FALSE(got->has_value()) << id;
        continue;
      }
      ASSERT_TRUE(got->has_value()) << id;
      const auto want = log->ReadIncident(id).value();
      ASSERT_EQ((*got)->size(), want.size()) << id;
      for (size_t k = 0; k < want.size(); ++k) {
        EXPECT_EQ((**got)[k].position, want[k].position) << id << " " << k;
        EXPECT_EQ((**got)[k].bytes, want[k].bytes) << id << " " << k;
      }
      split +=
          want.front().position.offset < checkpoint && want.back().position.offset >= checkpoint;
    }
    if (views.size() == 2) {
      EXPECT_GT(split, 0);
    }
  }
}

// ReadHistory hands out only the events the view projected: the log's event
// at a recorded position must be that incident's, with that sequence and the
// hash the view witnessed.
TEST(HistoryViewTest, AnEventNotAsProjectedIsRefused) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  Generate(log.get(), 20, 1);
  ASSERT_TRUE(Project(log.get(), dir.Sub("views")).ok());
  const std::string id = "411681-000000", other = "411625-000001";
  const int64_t end = log->EndOffsets().value()[0];
  const int64_t other_first = log->ReadIncident(other).value()[0].position.offset;
  struct Case {
    const char* name;
    std::function<void(std::string*)> change;  // of the record's first entry
    const char* error;                         // empty: reads
  };
  auto set_offset = [](std::string* r, int64_t offset) {
    for (int i = 0; i < 8; ++i) (*r)[4 + i] = static_cast<char>((offset >> (8 * (7 - i))) & 0xff);
  };
  const std::vector<Case> cases = {
      {"as projected", [](std::string*) {}, ""},
      {"witness altered", [](std::string* r) { (*r)[12] ^= 1; }, "(altered)"},
      {"another incident's event", [&](std::string* r) { set_offset(r, other_first); },
       "(altered)"},
      {"past the log's end", [&](std::string* r) { set_offset(r, end + 5); }, "(events deleted)"},
      {"truncated", [](std::string* r) { r->pop_back(); }, "malformed"},
  };
  std::string original;
  for (const Case& c : cases) {
    auto store = ViewStore::Open(dir.Sub("views")).value();
    const std::string key = HistoryView::Key(id, 1);
    if (original.empty()) {
      ASSERT_TRUE(
          store->db()->Get(rocksdb::ReadOptions(), store->cf(Cf::kHistory), key, &original).ok());
    }
    std::string record = original;
    c.change(&record);
    ASSERT_TRUE(
        store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kHistory), key, record).ok());
    auto events = ReadHistory(*log, *store, id);
    if (*c.error == '\0') {
      ASSERT_TRUE(events.ok()) << c.name << ": " << events.status().ToString();
      EXPECT_EQ(events->size(), log->ReadIncident(id).value().size()) << c.name;
      continue;
    }
    ASSERT_FALSE(events.ok()) << c.name;
    EXPECT_EQ(events.status().code(), StatusCode::kCorruption) << c.name;
    EXPECT_NE(events.status().message().find(c.error), std::string::npos)
        << c.name << ": " << events.status().message();
  }
}

// Which views a store runs and reports: those asked for, else those its first
// run recorded, else the log's defaults (no history on the embedded log).
TEST(ChooseViewsTest, AskedThenRecordedThenTheLogsDefaults) {
  using Names = std::vector<std::string>;
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  Generate(log.get(), 20, 1);
  auto store = ViewStore::Open(dir.Sub("views")).value();
  EXPECT_EQ(ChooseViews(*store, log.get(), {}).value(), (Names{"incidents", "stats", "links"}));
  EXPECT_EQ(ChooseViews(*store, nullptr, {}).value(),
            (Names{"incidents", "history", "stats", "links"}));
  EXPECT_EQ(ChooseViews(*store, log.get(), {"history"}).value(), Names{"history"});
  RunnerOptions o;
  o.until_caught_up = true;
  Runner runner(log.get(), store.get(), MakeViews(store.get(), {"history", "stats"}).value(), o);
  ASSERT_TRUE(runner.Run().ok());
  EXPECT_EQ(ChooseViews(*store, log.get(), {}).value(), (Names{"history", "stats"}));
  EXPECT_EQ(ChooseViews(*store, nullptr, {}).value(), (Names{"history", "stats"}));
  EXPECT_EQ(ChooseViews(*store, log.get(), {"incidents"}).value(), Names{"incidents"});
  // Running other views on it would leave some behind the shared checkpoint.
  for (const Names& other : {Names{"history"}, Names{"history", "stats", "incidents"}}) {
    Runner again(log.get(), store.get(), MakeViews(store.get(), other).value(), o);
    auto r = again.Run();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("--rebuild"), std::string::npos) << r.status().message();
  }
  Runner same(log.get(), store.get(), MakeViews(store.get(), {"stats", "history"}).value(), o);
  EXPECT_TRUE(same.Run().ok());
}

// A store built before views were recorded was built with all four.
TEST(ChooseViewsTest, AStoreWithCheckpointsButNoRecordHoldsAllFour) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  auto store = ViewStore::Open(dir.Sub("views")).value();
  ASSERT_TRUE(store->db()
                  ->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), ViewStore::CheckpointKey(0),
                        EncodeCounter(7))
                  .ok());
  EXPECT_EQ(ChooseViews(*store, log.get(), {}).value(),
            (std::vector<std::string>{"incidents", "history", "stats", "links"}));
}

// A bulk catch-up leaves the indexes and stats uncompacted while it runs and
// compacts them once at the end: nothing owed, nothing changed.
TEST(RunnerTest, BulkCatchUpEndsCompacted) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  Generate(log.get(), 3000, 3);
  ASSERT_TRUE(Project(log.get(), dir.Sub("wal")).ok());
  // A flush every 600 events: about 20 level-0 files per column family.
  ASSERT_TRUE(Project(log.get(), dir.Sub("bulk"), 200, ViewStore::Access::kBulk).ok());
  auto store = ViewStore::Open(dir.Sub("bulk")).value();
  for (Cf c :
       {Cf::kHistory, Cf::kIncidentIndex, Cf::kIncidentIndexB, Cf::kIncidentIndexC, Cf::kStats}) {
    std::string files;
    ASSERT_TRUE(store->db()->GetProperty(store->cf(c), "rocksdb.num-files-at-level0", &files));
    // History compacts as it goes, 12 level-0 files at a time: up to 11
    // may wait for more.
    EXPECT_LE(std::stoi(files), c == Cf::kHistory ? 11 : 0) << CfName(c);
  }
  EXPECT_EQ(DigestAll(*store), DigestAll(*ViewStore::Open(dir.Sub("wal")).value()));
}

// A catch-up stopped before its end leaves level-0 files piled up; opening the
// store for live writes compacts them first, and the views come out the same.
TEST(RunnerTest, StoppedBulkCatchUpIsCompactedWhenOpenedForWriting) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  Generate(log.get(), 3000, 3);
  ASSERT_TRUE(Project(log.get(), dir.Sub("wal")).ok());
  auto level0 = [](const ViewStore& store, Cf c) {
    std::string files;
    EXPECT_TRUE(store.db()->GetProperty(store.cf(c), "rocksdb.num-files-at-level0", &files));
    return std::stoi(files);
  };
  {
    auto store = ViewStore::Open(dir.Sub("bulk"), ViewStore::Access::kBulk).value();
    RunnerOptions o;
    o.until_caught_up = true;
    o.batch_events = 200;
    o.bulk_persist_events = 600;
    std::atomic<bool> stop = false;
    o.on_batch = [&](uint64_t applied, uint64_t) { stop = applied >= 5000; };
    Runner runner(log.get(), store.get(), MakeViews(store.get(), {}).value(), o);
    ASSERT_TRUE(runner.Run(&stop).ok());
    ASSERT_TRUE(store->Persist().ok());
    EXPECT_GT(level0(*store, Cf::kIncidentIndex), 8);
    EXPECT_GT(level0(*store, Cf::kIncidentIndexB), 8);
    EXPECT_GT(level0(*store, Cf::kIncidentIndexC), 8);
  }
  {
    std::vector<std::string> notices;
    auto store =
        ViewStore::Open(dir.Sub("bulk"), ViewStore::Access::kWrite, [&](std::string_view m) {
          notices.emplace_back(m);
        }).value();
    ASSERT_EQ(notices.size(), 1u);  // the user is told why opening takes a while
    EXPECT_NE(notices[0].find("incident_index"), std::string::npos) << notices[0];
    for (Cf c : {Cf::kIncidentIndex, Cf::kIncidentIndexB, Cf::kIncidentIndexC, Cf::kStats}) {
      EXPECT_EQ(level0(*store, c), 0) << CfName(c);
    }
  }
  ASSERT_TRUE(Project(log.get(), dir.Sub("bulk")).ok());
  EXPECT_EQ(DigestAll(*ViewStore::Open(dir.Sub("bulk")).value()),
            DigestAll(*ViewStore::Open(dir.Sub("wal")).value()));
}

// kill -9 at random moments during a rebuild, restarting each time: the final
// digest equals that of a clean, uninterrupted rebuild. Both with the WAL and
// in bulk mode (no WAL, atomic flushes).
class KillNineTest : public ::testing::TestWithParam<ViewStore::Access> {};

TEST_P(KillNineTest, RebuildAppliesEachEventExactlyOnce) {
  ScratchDir dir;
  {
    auto log = EmbeddedLog::Open(dir.Sub("log")).value();
    Generate(log.get(), 20000, 2);
  }
  std::string clean;
  {
    auto log = EmbeddedLog::Open(dir.Sub("log")).value();
    ASSERT_TRUE(Project(log.get(), dir.Sub("clean")).ok());
    clean = DigestAll(*ViewStore::Open(dir.Sub("clean")).value());
  }
  std::mt19937 rng(17);
  int kills = 0;
  std::set<int64_t> survived;  // checkpoints found after a kill
  for (int attempt = 0; attempt < 200; ++attempt) {
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // A fresh process (fork() alone would copy RocksDB's thread pools
      // without their threads, and bulk mode needs its flushes); it writes a
      // line to the pipe after each batch it commits.
      dup2(pipe_fds[1], STDOUT_FILENO);
      setenv("BLOTTER_KILL_CHILD_LOG", dir.Sub("log").c_str(), 1);
      setenv("BLOTTER_KILL_CHILD_VIEWS", dir.Sub("crashy").c_str(), 1);
      setenv("BLOTTER_KILL_CHILD_BULK", GetParam() == ViewStore::Access::kBulk ? "1" : "0", 1);
      execl("/proc/self/exe", "projections_test", static_cast<char*>(nullptr));
      _exit(4);
    }
    close(pipe_fds[1]);
    // Killed after a random number of its batches (of some 200 in a whole
    // rebuild) and a random part of the next, so the kill lands anywhere in
    // applying, committing or flushing, whatever the machine's speed.
    const int batches = 1 + static_cast<int>(rng() % 20);
    int seen = 0;
    char c;
    while (seen < batches && read(pipe_fds[0], &c, 1) == 1) seen += c == '\n';
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(pipe_fds[0]);  // only now: a child writing to a closed pipe would die of it
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0);
      break;  // it finished before the kill
    }
    ++kills;
    auto cps = ViewStore::Open(dir.Sub("crashy"), ViewStore::Access::kRead);
    if (cps.ok() && !(*cps)->Checkpoints()->empty()) {
      survived.insert((*cps)->Checkpoints()->begin()->second);
    }
  }
  EXPECT_GE(kills, 5) << "the runs were not interrupted";
  std::printf("rebuild killed %d times; progress that survived a kill: %zu distinct checkpoints\n",
              kills, survived.size());
  EXPECT_GE(survived.size(), 2u) << "no progress survived the kills";
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  ASSERT_TRUE(Project(log.get(), dir.Sub("crashy")).ok());  // finish whatever is left
  EXPECT_EQ(DigestAll(*ViewStore::Open(dir.Sub("crashy")).value()), clean) << kills << " kills";
}

INSTANTIATE_TEST_SUITE_P(Modes, KillNineTest,
                         ::testing::Values(ViewStore::Access::kWrite, ViewStore::Access::kBulk),
                         [](const auto& info) {
                           return info.param == ViewStore::Access::kBulk ? "Bulk" : "Wal";
                         });

// Garbage bytes and a rule-breaking event are dead-lettered; the rest is right.
TEST(RunnerTest, PoisonGoesToDeadLetters) {
  ScratchDir dir;
  std::string clean;
  {
    auto log = EmbeddedLog::Open(dir.Sub("log")).value();
    Generate(log.get(), 50, 3);
    ASSERT_TRUE(Project(log.get(), dir.Sub("before")).ok());
    clean = DigestAll(*ViewStore::Open(dir.Sub("before")).value());
  }
  // Behind the log's back: garbage, and an arrival of a unit never assigned,
  // properly sealed onto incident 0's chain.
  {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : {"default", "log", "incidents"})
      cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.Sub("log"), cfs, &h, &raw).ok());
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions(), h[1]));
    it->SeekToLast();
    uint64_t next = 0;
    for (char c : it->key().ToStringView()) next = (next << 8) | static_cast<uint8_t>(c);
    ++next;
    it.reset();
    auto key = [](uint64_t o) {
      std::string k;
      for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((o >> (8 * i)) & 0xff));
      return k;
    };
    std::string garbage("\0\0\0\0not an event at all", 25);
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), h[1], key(next), garbage).ok());
    // incident 0's head, from the views built above
    auto views = ViewStore::Open(dir.Sub("before"), ViewStore::Access::kRead).value();
    std::string v;
    ASSERT_TRUE(views->db()
                    ->Get(rocksdb::ReadOptions(), views->cf(Cf::kIncidents),
                          IncidentKey("411681-000000"), &v)
                    .ok());
    const IncidentState head = DecodeState("411681-000000", v).value();
    fb::EventT e;
    e.incident_id = head.incident_id;
    e.event_id = head.incident_id + "#x";
    e.sequence = head.version + 1;
    e.occurred_at = head.last_recorded_at;
    e.recorded_at = head.last_recorded_at;
    e.actor = "forger";
    fb::UnitArrivedT arrived;
    arrived.unit_id = "GHOST";
    e.payload.Set(std::move(arrived));
    e.prev_hash.assign(head.last_hash.begin(), head.last_hash.end());
    const std::string bytes = Seal(e).value().bytes();
    const int32_t p = KafkaPartition(head.incident_id, 8);
    std::string value;
    for (int i = 3; i >= 0; --i) value.push_back(static_cast<char>((p >> (8 * i)) & 0xff));
    value += bytes;
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), h[1], key(next + 1), value).ok());
    for (auto* x : h) raw->DestroyColumnFamilyHandle(x).PermitUncheckedError();
    delete raw;
  }
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  auto stats = Project(log.get(), dir.Sub("before"));  // carries on from its checkpoint
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->dead_letters, 2u);
  EXPECT_EQ(stats->applied, 0u);
  auto store = ViewStore::Open(dir.Sub("before")).value();
  EXPECT_EQ(store->DeadLetterCount().value(), 2u);
  EXPECT_EQ(DigestAll(*store), clean) << "the views did not change";
  std::unique_ptr<rocksdb::Iterator> it(
      store->db()->NewIterator(rocksdb::ReadOptions(), store->cf(Cf::kDeadLetters)));
  std::vector<std::string> reasons;
  for (it->SeekToFirst(); it->Valid(); it->Next())
    reasons.push_back(it->value().ToString().c_str());
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_NE((reasons[0] + reasons[1]).find("cannot record an arrival"), std::string::npos)
      << reasons[0] << " | " << reasons[1];
  EXPECT_NE((reasons[0] + reasons[1]).find("identifier"), std::string::npos);
}

// The report's figures equal counts made independently by folding the log.
TEST(ReportTest, TotalsEqualCountsFromTheReplayedLog) {
  ScratchDir dir;
  auto log = EmbeddedLog::Open(dir.Sub("log")).value();
  Generate(log.get(), 2000, 4);
  ASSERT_TRUE(Project(log.get(), dir.Sub("views")).ok());
  auto store = ViewStore::Open(dir.Sub("views")).value();

  std::map<std::string, IncidentState> folded;
  ReaderOptions ro;
  ro.stop_at = log->EndOffsets().value();
  auto reader = log->NewReader(ro).value();
  for (auto batch = reader->Poll(10000, std::chrono::seconds(5)); batch.ok();
       batch = reader->Poll(10000, std::chrono::seconds(5))) {
    for (const auto& r : *batch) {
      const fb::Event& e = *DecodeEvent(r.bytes).value();
      Apply(folded[e.incident_id()->str()], e);
    }
  }
  for (const std::string region : {"", "4116", "341221"}) {
    SCOPED_TRACE("region " + region);
    ReportFigures want;
    for (const auto& [id, s] : folded) {
      if (!s.division.starts_with(region)) continue;
      ++want.calls_received;
      want.criminal += s.category == fb::Category::criminal;
      want.public_order += s.category == fb::Category::public_order;
      want.traffic += s.category == fb::Category::traffic;
      want.assistance += s.category == fb::Category::assistance;
      want.invalid += s.category == fb::Category::invalid;
      want.transferred_120 += s.transferred_to == fb::TransferDestination::ambulance_120;
      if (s.disposition == fb::Disposition::arrest) want.arrests += s.disposition_count;
      if (s.first_arrived_at) {
        const Micros d = s.first_arrived_at - s.received_at;
        ++want.arrived;
        want.arrived_1min += d < kMicrosPerMinute;
        want.arrived_3min += d < 3 * kMicrosPerMinute;
        want.arrived_5min += d < 5 * kMicrosPerMinute;
      }
    }
    ReportQuery q;
    q.from_day = "20200101";
    q.to_day = "20301231";
    q.region = region;
    auto report = ComputeReport(*store, q);
    ASSERT_TRUE(report.ok());
    const ReportFigures& got = report->columns.at("total");
    EXPECT_GT(want.calls_received, 0);
    EXPECT_EQ(got.calls_received, want.calls_received);
    EXPECT_EQ(got.criminal, want.criminal);
    EXPECT_EQ(got.public_order, want.public_order);
    EXPECT_EQ(got.traffic, want.traffic);
    EXPECT_EQ(got.assistance, want.assistance);
    EXPECT_EQ(got.invalid, want.invalid);
    EXPECT_EQ(got.valid, want.criminal + want.public_order + want.traffic + want.assistance);
    EXPECT_EQ(got.transferred_120, want.transferred_120);
    EXPECT_EQ(got.arrests, want.arrests);
    EXPECT_EQ(got.arrived, want.arrived);
    EXPECT_EQ(got.arrived_1min, want.arrived_1min);
    EXPECT_EQ(got.arrived_3min, want.arrived_3min);
    EXPECT_EQ(got.arrived_5min, want.arrived_5min);
  }
}

}  // namespace
}  // namespace blotter::projections

// The projection KillNineTest kills, when it sets the environment; the tests
// otherwise.
int main(int argc, char** argv) {
  using blotter::projections::ViewStore;
  const char* log_dir = getenv("BLOTTER_KILL_CHILD_LOG");
  const char* views = getenv("BLOTTER_KILL_CHILD_VIEWS");
  const char* bulk = getenv("BLOTTER_KILL_CHILD_BULK");
  if (log_dir && views && bulk) {
    auto log = blotter::EmbeddedLog::Open(log_dir);
    if (!log.ok()) return 2;
    auto r = blotter::projections::Project(
        log->get(), views, 500,
        std::string(bulk) == "1" ? ViewStore::Access::kBulk : ViewStore::Access::kWrite,
        [](uint64_t, uint64_t) { (void)!write(STDOUT_FILENO, "\n", 1); });
    return r.ok() ? 0 : 3;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
