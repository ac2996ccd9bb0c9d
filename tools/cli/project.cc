// blotter project: runs the projections into RocksDB views, or reports on them.

#include <rocksdb/db.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "events/json.h"
#include "projections/runner.h"
#include "tools/cli/common.h"

namespace blotter::cli {
namespace {

namespace fs = std::filesystem;
using projections::Cf;
using projections::ViewStore;

std::atomic<bool> g_stop{false};
// A store this far behind the log catches up in bulk mode first.
constexpr uint64_t kBulkCatchUpEvents = 100'000;
void OnSignal(int) { g_stop = true; }

struct ProjectOptions {
  LogOptions log;
  std::vector<std::string> views;
  std::string views_dir;
  bool until_caught_up = false;
  bool rebuild = false;
  bool status = false;
  bool digest = false;
  bool dead_letters = false;
  size_t batch = 20000;
  std::string group;
};

int Status_(const ProjectOptions& o, const std::string& dir) {
  auto store = ViewStore::Open(dir, projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("project", store.status());
  auto log = OpenLog(o.log, /*create=*/false, /*follow_if_busy=*/true);
  if (!log.ok()) return Fail("project", log.status());
  auto checkpoints = (*store)->Checkpoints();
  auto ends = (*log)->EndOffsets();
  auto dead = (*store)->DeadLetterCount();
  if (!checkpoints.ok() || !ends.ok() || !dead.ok()) {
    return Fail("project", !checkpoints.ok() ? checkpoints.status()
                           : !ends.ok()      ? ends.status()
                                             : dead.status());
  }
  // Lag counts offsets not yet applied (on Kafka transaction markers too;
  // on the embedded log offsets are shared, so the furthest-behind partition).
  int64_t lag = 0;
  std::string positions;
  for (int32_t p = 0; p < (*log)->partitions(); ++p) {
    const int64_t at = checkpoints->contains(p) ? checkpoints->at(p) : 0;
    const int64_t behind = std::max<int64_t>(0, (*ends)[p] - at);
    lag = (*log)->TotallyOrdered() ? std::max(lag, behind) : lag + behind;
    positions += fmt::format("{}{}:{}", positions.empty() ? "" : " ", p, at);
  }
  auto names = projections::ChooseViews(**store, log->get(), o.views);
  if (!names.ok()) return Fail("project", names.status());
  auto views = projections::MakeViews(store->get(), *names);
  if (!views.ok()) return Fail("project", views.status());
  for (const auto& v : *views) {
    PrintLine(fmt::format("{:<10} positions {}  lag {}  dead letters {}", v->name(), positions, lag,
                          *dead));
  }
  return 0;
}

int Digest(const ProjectOptions& o, const std::string& dir) {
  auto store = ViewStore::Open(dir, projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("project", store.status());
  auto names = projections::ChooseViews(**store, nullptr, o.views);
  if (!names.ok()) return Fail("project", names.status());
  auto views = projections::MakeViews(store->get(), *names);
  if (!views.ok()) return Fail("project", views.status());
  for (const auto& v : *views) {
    auto d = v->Digest(**store);
    if (!d.ok()) return Fail("project", d.status());
    PrintLine(fmt::format("{:<10} {}", v->name(), *d));
  }
  return 0;
}

// Every dead letter: position, reason and the bytes' size, one JSON line each.
int DeadLetters(const std::string& dir) {
  auto store = ViewStore::Open(dir, projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("project", store.status());
  std::unique_ptr<rocksdb::Iterator> it(
      (*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->cf(Cf::kDeadLetters)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view k = it->key().ToStringView();
    const std::string_view v = it->value().ToStringView();
    if (k.size() != 12) continue;
    uint64_t p = 0, off = 0;
    for (size_t i = 0; i < 4; ++i) p = (p << 8) | static_cast<uint8_t>(k[i]);
    for (size_t i = 4; i < 12; ++i) off = (off << 8) | static_cast<uint8_t>(k[i]);
    const size_t nul = v.find('\0');
    Json j = Json::object();
    j["partition"] = p;
    j["offset"] = off;
    j["reason"] = std::string(v.substr(0, nul));
    j["bytes"] = nul == std::string_view::npos ? 0 : v.size() - nul - 1;
    PrintLine(j.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  return 0;
}

int Run(const ProjectOptions& o) {
  const std::string dir = ViewsDir(o.log, o.views_dir);
  if (o.status) return Status_(o, dir);
  if (o.dead_letters) return DeadLetters(dir);
  if (o.digest) return Digest(o, dir);

  auto log = OpenLog(o.log, /*create=*/false, /*follow_if_busy=*/true);
  if (!log.ok()) return Fail("project", log.status());
  // A rebuild fills a fresh store beside the old one, which keeps answering
  // queries until the new one has caught up and takes its place.
  const std::string target = o.rebuild ? dir + ".rebuild" : dir;
  std::error_code ec;
  if (o.rebuild) fs::remove_all(target, ec);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  projections::RunStats stats;
  // One phase of the run: a store opened with `access`, run to the end read
  // at its start, or live.
  auto phase = [&](ViewStore::Access access, bool until_caught_up, uint64_t behind) -> Status {
    // On its own line, below a progress bar.
    auto notice = [](std::string_view m) {
      fmt::print(stderr, "{}project: {}\n", isatty(2) ? "\n" : "", m);
    };
    BLOTTER_ASSIGN_OR_RETURN(auto store, ViewStore::Open(target, access, notice));
    BLOTTER_ASSIGN_OR_RETURN(auto names, projections::ChooseViews(*store, log->get(), o.views));
    BLOTTER_ASSIGN_OR_RETURN(auto views, projections::MakeViews(store.get(), names));
    Progress progress(access == ViewStore::Access::kBulk ? "project (catching up)" : "project",
                      until_caught_up ? behind : 0);
    projections::RunnerOptions ro;
    ro.batch_events = o.batch;
    ro.until_caught_up = until_caught_up;
    ro.group = o.group;
    ro.on_batch = [&](uint64_t applied, uint64_t dead) { progress.Update(applied + dead); };
    projections::Runner runner(log->get(), store.get(), std::move(views), ro);
    auto r = runner.Run(&g_stop);
    progress.Finish();
    BLOTTER_RETURN_IF_ERROR(r.status());
    stats.applied += r->applied;
    stats.dead_letters += r->dead_letters;
    stats.batches += r->batches;
    return Status::Ok();
  };
  // How far behind the store is: a long way means a catch-up without the
  // WAL (ViewStore::Access::kBulk) before following the log.
  auto behind = [&]() -> Result<uint64_t> {
    BLOTTER_ASSIGN_OR_RETURN(std::vector<int64_t> ends, (*log)->EndOffsets());
    std::map<int32_t, int64_t> cps;
    if (fs::exists(fs::path(target) / "CURRENT")) {
      BLOTTER_ASSIGN_OR_RETURN(auto store, ViewStore::Open(target, ViewStore::Access::kRead));
      BLOTTER_ASSIGN_OR_RETURN(cps, store->Checkpoints());
    }
    uint64_t total = 0;
    for (int32_t p = 0; p < (*log)->partitions(); ++p) {
      const int64_t at = cps.contains(p) ? cps.at(p) : 0;
      const auto b = static_cast<uint64_t>(std::max<int64_t>(0, ends[p] - at));
      total = (*log)->TotallyOrdered() ? std::max(total, b) : total + b;
    }
    return total;
  };
  auto lag = behind();
  if (!lag.ok()) return Fail("project", lag.status());
  const bool until_caught_up = o.until_caught_up || o.rebuild;
  Status result;
  if (o.group.empty() && *lag >= kBulkCatchUpEvents) {
    result = phase(ViewStore::Access::kBulk, /*until_caught_up=*/true, *lag);
    if (result.ok() && !until_caught_up && !g_stop) {
      result = phase(ViewStore::Access::kWrite, false, 0);
    }
  } else {
    result = phase(ViewStore::Access::kWrite, until_caught_up, *lag);
  }
  if (!result.ok()) return Fail("project", result);
  if (o.rebuild && !g_stop) {
    const std::string old = dir + ".old";
    fs::remove_all(old, ec);
    if (fs::exists(dir)) fs::rename(dir, old, ec);
    if (!ec) fs::rename(target, dir, ec);
    if (ec) return Fail("project", fmt::format("swapping in the rebuilt views: {}", ec.message()));
    fs::remove_all(old, ec);
  }
  fmt::print(stderr, "project: applied {} events in {} batches, {} dead letters, views in {}\n",
             stats.applied, stats.batches, stats.dead_letters, dir);
  return 0;
}

}  // namespace

Subcommand AddProject(CLI::App& root) {
  auto o = std::make_shared<ProjectOptions>();
  Subcommand c;
  c.app =
      root.add_subcommand("project",
                          "run the projections (incidents, history, stats, links) into RocksDB "
                          "views: live, --until-caught-up, or --rebuild; or --status, --digest");
  AddLogOptions(c.app, &o->log, "project");
  c.app
      ->add_option("--views", o->views,
                   "views to run or report (default: those the store holds; a new store: all, but "
                   "history only on Kafka, as the embedded log reads an incident by its own index)")
      ->delimiter(',');
  AddViewsDirOption(c.app, &o->views_dir);
  c.app->add_flag("--until-caught-up", o->until_caught_up,
                  "stop at the log's end as read at the start");
  c.app->add_flag("--rebuild", o->rebuild,
                  "replay from the start into a fresh store that replaces the old one when it has "
                  "caught up");
  c.app->add_flag("--status", o->status, "print each view's position, lag and dead letters");
  c.app->add_flag("--digest", o->digest, "print one stable hash per view over its full content");
  c.app->add_flag("--dead-letters", o->dead_letters,
                  "list what could not be applied: position, reason, size (JSON lines)");
  c.app->add_option("--batch", o->batch, "events per committed batch")->capture_default_str();
  c.app->add_option(
      "--group", o->group,
      "with --kafka, live: share the partitions with other instances in this consumer "
      "group; each keeps its own --views-dir and takes over partitions from its own "
      "checkpoints");
  c.run = [o] { return Run(*o); };
  return c;
}

}  // namespace blotter::cli
