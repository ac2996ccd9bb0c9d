#include "projections/runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <array>
#include <set>

#include "events/hash_chain.h"
#include "events/table_options.h"
#include "projections/history/history_view.h"
#include "projections/incidents/incidents_view.h"
#include "projections/linker/links_view.h"
#include "projections/prefetcher.h"
#include "projections/state_codec.h"
#include "projections/stats/stats_view.h"

namespace blotter::projections {
namespace {

constexpr std::array<const char*, 4> kAllViews = {"incidents", "history", "stats", "links"};

// The records come from the reading thread, so from another core's cache: a
// record's fields are a chain of dependent loads (root, vtable, field), each
// a miss unless its lines were asked for some records ahead. Done in the
// first pass over a batch (LoadTouched): 10M rebuild, the runner's thread
// 0.4-0.7 CPU-s less in three paired runs at 4 ahead, up to 0.25 less again
// at 16. In the second pass as well, it cost more than it saved.
constexpr size_t kPrefetchAhead = 16;
void Prefetch(const std::vector<LogRecord>& records, size_t i) {
  if (i >= records.size()) return;
  const std::string& bytes = records[i].bytes;
  for (size_t at = 0; at < bytes.size(); at += 64) __builtin_prefetch(bytes.data() + at);
}

}  // namespace

Result<std::vector<std::unique_ptr<View>>> MakeViews(ViewStore* store,
                                                     const std::vector<std::string>& names) {
  std::vector<std::unique_ptr<View>> out;
  const std::vector<std::string> all(kAllViews.begin(), kAllViews.end());
  for (const std::string& n : names.empty() ? all : names) {
    if (n == "incidents") {
      out.push_back(std::make_unique<IncidentsView>(store));
    } else if (n == "history") {
      out.push_back(std::make_unique<HistoryView>(store));
    } else if (n == "stats") {
      out.push_back(std::make_unique<StatsView>(store));
    } else if (n == "links") {
      out.push_back(std::make_unique<LinksView>(store));
    } else {
      return Status::InvalidArgument(
          fmt::format("unknown view '{}' (views: incidents, history, stats, links)", n));
    }
  }
  return out;
}

Result<std::vector<std::string>> ChooseViews(const ViewStore& store, const EventLog* log,
                                             const std::vector<std::string>& requested) {
  if (!requested.empty()) return requested;
  BLOTTER_ASSIGN_OR_RETURN(std::vector<std::string> recorded, store.Views());
  if (!recorded.empty()) return recorded;
  BLOTTER_ASSIGN_OR_RETURN(auto checkpoints, store.Checkpoints());
  if (!checkpoints.empty() || !log || !log->IndexesIncidents()) {
    return std::vector<std::string>(kAllViews.begin(), kAllViews.end());
  }
  return std::vector<std::string>{"incidents", "stats", "links"};
}

Runner::Runner(EventLog* log, ViewStore* store, std::vector<std::unique_ptr<View>> views,
               RunnerOptions options)
    : log_(log), store_(store), views_(std::move(views)), options_(std::move(options)) {}

Runner::~Runner() = default;

Result<RunStats> Runner::Run(const std::atomic<bool>* stop) {
  PerfCountersOff();
  BLOTTER_ASSIGN_OR_RETURN(auto checkpoints, store_->Checkpoints());
  BLOTTER_ASSIGN_OR_RETURN(dead_total_, store_->DeadLetterCount());
  // The views share one checkpoint: a view left out of a run would miss its
  // events for good, one added would lack the past.
  std::vector<std::string> names;
  for (const auto& v : views_) names.emplace_back(v->name());
  BLOTTER_ASSIGN_OR_RETURN(std::vector<std::string> recorded, store_->Views());
  if (recorded.empty()) {
    BLOTTER_RETURN_IF_ERROR(store_->RecordViews(names));
  } else if (std::set<std::string>(recorded.begin(), recorded.end()) !=
             std::set<std::string>(names.begin(), names.end())) {
    return Status::FailedPrecondition(fmt::format(
        "the store holds the views {} and cannot run {}: they share one checkpoint; rebuild it "
        "with blotter project --rebuild --views {}",
        fmt::join(recorded, ","), fmt::join(names, ","), fmt::join(names, ",")));
  }
  std::vector<int32_t> owned = options_.partitions;
  if (owned.empty()) {
    for (int32_t p = 0; p < log_->partitions(); ++p) owned.push_back(p);
  }
  ReaderOptions ro;
  if (!options_.group.empty()) {
    if (options_.until_caught_up) {
      return Status::InvalidArgument("a consumer-group runner follows the log live");
    }
    ro.group = options_.group;
    ro.start_for = [this](int32_t p) -> int64_t {
      auto cps = store_->Checkpoints();
      return cps.ok() && cps->contains(p) ? cps->at(p) : 0;
    };
  } else {
    for (int32_t p : owned) ro.start.push_back({p, checkpoints.contains(p) ? checkpoints[p] : 0});
  }
  if (options_.until_caught_up) {
    BLOTTER_ASSIGN_OR_RETURN(std::vector<int64_t> ends, log_->EndOffsets());
    std::vector<int64_t> stop_at;
    for (int32_t p : owned) stop_at.push_back(ends.at(p));
    ro.stop_at = std::move(stop_at);
  }
  BLOTTER_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader, log_->NewReader(ro));
  RunStats stats;
  std::vector<Position> committed = reader->positions();
  // A consumer group's reader must stay on this thread: its rebalances read
  // the checkpoints, which must not lag a batch read ahead.
  std::unique_ptr<Prefetcher> prefetcher;
  if (options_.group.empty()) {
    prefetcher = std::make_unique<Prefetcher>(reader.get(), options_.batch_events,
                                              !options_.until_caught_up);
  }
  auto next = [&]() -> Polled {
    return prefetcher ? prefetcher->Next() : PollVerified(reader.get(), options_.batch_events);
  };
  while (!(stop && stop->load())) {
    Polled polled = next();
    auto& batch = polled.batch;
    if (!batch.ok()) {
      if (batch.status().code() == StatusCode::kEndOfStream) {
        // Positions may have moved past records of no interest (Kafka's
        // transaction markers): keep them too.
        std::vector<LogRecord> none;
        BLOTTER_RETURN_IF_ERROR(ApplyBatch(none, {}, polled.positions, &stats));
        BLOTTER_RETURN_IF_ERROR(store_->FinishBulk());
        break;
      }
      if (batch.status().code() == StatusCode::kUnavailable && !options_.until_caught_up) continue;
      return batch.status();
    }
    std::vector<Position>& positions = polled.positions;
    // Positions may move with no record (past Kafka's transaction markers);
    // keep them, so lag reads 0 once everything is applied.
    if (batch->empty() && positions == committed) continue;
    BLOTTER_RETURN_IF_ERROR(ApplyBatch(*batch, polled.errors, positions, &stats));
    committed = std::move(positions);
    since_persist_ += batch->size();
    if (store_->bulk() && since_persist_ >= options_.bulk_persist_events) {
      BLOTTER_RETURN_IF_ERROR(store_->Persist());
      since_persist_ = 0;
    }
    if (options_.on_batch) options_.on_batch(stats.applied, stats.dead_letters);
    if (prefetcher) prefetcher->Recycle(std::move(polled));
  }
  return stats;
}

struct Runner::Touched {
  std::string_view id;  // into the batch's records
  std::string key;      // IncidentKey(id)
  IncidentState before;
  IncidentState now;
};

Status Runner::LoadTouched(const std::vector<LogRecord>& records,
                           const std::vector<std::string>& errors) {
  by_id_.clear();
  by_id_.reserve(records.size());
  touched_count_ = 0;
  record_touched_.resize(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    Prefetch(records, i + kPrefetchAhead);
    if (!errors[i].empty()) continue;
    const std::string_view id =
        fb::GetEvent(records[i].bytes.data())->incident_id()->string_view();  // verified
    const auto [it, added] = by_id_.try_emplace(id, static_cast<uint32_t>(touched_count_));
    record_touched_[i] = it->second;
    if (!added) continue;
    if (touched_count_ == touched_.size()) touched_.emplace_back();
    Touched& t = touched_[touched_count_++];
    t.id = id;
    t.key = IncidentKey(id);
  }
  // Sorted as (key, index) pairs side by side rather than indexes into
  // touched_, whose entries (two states each) are far apart.
  sorting_.resize(touched_count_);
  for (uint32_t i = 0; i < touched_count_; ++i) sorting_[i] = {touched_[i].key, i};
  std::sort(sorting_.begin(), sorting_.end());
  key_order_.resize(touched_count_);
  for (uint32_t j = 0; j < touched_count_; ++j) key_order_[j] = sorting_[j].second;
  // One sorted MultiGet: each file's filter and index blocks are looked up
  // once for the whole batch rather than once per incident, which matters in
  // a rebuild, where most incidents asked for are not there yet.
  std::vector<rocksdb::Slice> keys;
  keys.reserve(touched_count_);
  for (uint32_t i : key_order_) keys.emplace_back(touched_[i].key);
  std::vector<rocksdb::PinnableSlice> values(touched_count_);
  std::vector<rocksdb::Status> found(touched_count_);
  store_->db()->MultiGet(rocksdb::ReadOptions(), store_->cf(Cf::kIncidents), keys.size(),
                         keys.data(), values.data(), found.data(), /*sorted_input=*/true);
  for (size_t j = 0; j < touched_count_; ++j) {
    Touched& t = touched_[key_order_[j]];
    if (found[j].ok()) {
      BLOTTER_ASSIGN_OR_RETURN(t.before, DecodeState(t.id, values[j].ToStringView()));
    } else if (found[j].IsNotFound()) {
      t.before = IncidentState();
      t.before.incident_id = t.id;
      t.before.last_hash = GenesisHash();
    } else {
      return Status::IOError(fmt::format("read incident states: {}", found[j].ToString()));
    }
    t.now = t.before;
  }
  return Status::Ok();
}

Status Runner::ApplyBatch(std::vector<LogRecord>& records, const std::vector<std::string>& errors,
                          const std::vector<Position>& positions, RunStats* stats) {
  rocksdb::DB* db = store_->db();
  // Room for what the views write, about as much as the events' bytes, so
  // the batch rarely grows by copying itself; and one batch kept from call
  // to call, so its pages are not handed back and faulted in again each time.
  size_t bytes = 0;
  for (const LogRecord& r : records) bytes += r.bytes.size();
  const size_t room = bytes + 4096;
  if (!batch_ || room > batch_room_) {
    batch_ = std::make_unique<rocksdb::WriteBatch>(room);
    batch_room_ = room;
  }
  rocksdb::WriteBatch& batch = *batch_;
  batch.Clear();
  BLOTTER_RETURN_IF_ERROR(LoadTouched(records, errors));
  auto dead = [&](const LogRecord& r, const std::string& reason) {
    std::string value = reason;
    value.push_back('\0');
    value.append(r.bytes);
    batch.Put(store_->cf(Cf::kDeadLetters), ViewStore::DeadLetterKey(r.position), value);
    ++dead_total_;
    ++stats->dead_letters;
    fmt::print(stderr, "blotter project: dead letter at {}:{}: {}\n", r.position.partition,
               r.position.offset, reason);
  };

  for (size_t i = 0; i < records.size(); ++i) {
    const LogRecord& r = records[i];
    if (!errors[i].empty()) {
      dead(r, errors[i]);
      continue;
    }
    const fb::Event& e = *fb::GetEvent(r.bytes.data());  // verified when read
    IncidentState* state = &touched_[record_touched_[i]].now;
    if (e.sequence() != state->version + 1) {
      dead(r, fmt::format("incident {} event {}: expected sequence {} ({})", state->incident_id,
                          e.sequence(), state->version + 1,
                          e.sequence() > state->version + 1 ? "gap" : "repeat"));
      continue;
    }
    const auto* prev = e.prev_hash();
    const std::string_view want =
        state->version == 0 ? std::string_view(GenesisHash()) : state->last_hash;
    if (std::string_view(reinterpret_cast<const char*>(prev->data()), prev->size()) != want) {
      dead(r, fmt::format("incident {} event {}: does not chain to event {}", state->incident_id,
                          e.sequence(), state->version));
      continue;
    }
    if (Status rule = CheckEvent(*state, e); !rule.ok()) {
      dead(r, fmt::format("incident {} event {}: {}", state->incident_id, e.sequence(),
                          rule.message()));
      continue;
    }
    Apply(*state, e, ApplyMode::kNoCommands);
    const Change change{e, r.bytes, r.position, *state, record_touched_[i]};
    for (auto& v : views_) v->Apply(change, &batch);
    ++stats->applied;
  }
  // In key order: each memtable insert then starts its search where the
  // previous one ended, instead of from the top of the skip list.
  for (uint32_t i : key_order_) {
    const Touched& t = touched_[i];
    if (t.now.version == t.before.version) continue;
    EncodeStateTo(t.now, &state_bytes_);
    batch.Put(store_->cf(Cf::kIncidents), t.key, state_bytes_);
    for (auto& v : views_) v->Finish(t.before, t.now, i, &batch);
  }
  for (auto& v : views_) v->Flush(&batch);
  // The reader's positions: where each owned partition resumes (past
  // records of other partitions and past Kafka's transaction markers).
  for (const Position& p : positions) {
    batch.Put(store_->cf(Cf::kMeta), ViewStore::CheckpointKey(p.partition),
              EncodeCounter(p.offset));
  }
  batch.Put(store_->cf(Cf::kMeta), ViewStore::kDeadLetterCountKey,
            EncodeCounter(static_cast<int64_t>(dead_total_)));
  // WAL on: a batch is all or nothing after a crash. In bulk mode the atomic
  // flushes give the same: a crash goes back to the last flushed batch.
  rocksdb::WriteOptions wo;
  wo.disableWAL = store_->bulk();
  rocksdb::Status s = db->Write(wo, &batch);
  if (!s.ok()) return Status::IOError(fmt::format("commit views: {}", s.ToString()));
  ++stats->batches;
  return Status::Ok();
}

}  // namespace blotter::projections
