#include "events/kafka_log.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "events/group_commit.h"
#include "events/hash_chain.h"
#include "events/head_tracker.h"

namespace blotter {
namespace {

using Clock = std::chrono::steady_clock;

Status KafkaError(RdKafka::ErrorCode code, std::string_view what) {
  const std::string m = fmt::format("{}: {}", what, RdKafka::err2str(code));
  switch (code) {
    case RdKafka::ERR__FENCED:
    case RdKafka::ERR_PRODUCER_FENCED:
    case RdKafka::ERR_INVALID_PRODUCER_EPOCH:
      return Status::Fenced(m);
    case RdKafka::ERR__INVALID_ARG:
    case RdKafka::ERR__UNKNOWN_TOPIC:
    case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
      return Status::NotFound(m);
    default:
      return Status::Unavailable(m);
  }
}

// Takes ownership of an RdKafka::Error.
Status FromError(RdKafka::Error* error, std::string_view what) {
  if (!error) return Status::Ok();
  std::unique_ptr<RdKafka::Error> e(error);
  const std::string m = fmt::format("{}: {}", what, e->str());
  if (e->is_fatal() || e->code() == RdKafka::ERR__FENCED ||
      e->code() == RdKafka::ERR_PRODUCER_FENCED) {
    return Status::Fenced(m + " (another writer with this transactional.id took over)");
  }
  return Status::Unavailable(m);
}

// librdkafka logs retries and reconnects that blotter handles itself; they
// reach stderr only with BLOTTER_KAFKA_DEBUG set.
class QuietLogs final : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& e) override {
    if (e.type() == RdKafka::Event::EVENT_LOG && std::getenv("BLOTTER_KAFKA_DEBUG")) {
      std::fprintf(stderr, "librdkafka %s: %s\n", e.fac().c_str(), e.str().c_str());
    }
  }
};
QuietLogs quiet_logs;

// What every reader sets: offsets are the views' business, never committed;
// only committed transactions; at most 50,000 records queued ahead (about
// 25 MB) and 1 MiB fetched per partition at a time, so what one fetch adds
// past that stays small too. Bigger fetches had hidden librdkafka's pauses
// (KafkaReader::WakeFetcher); with those woken, a 10M-event Kafka rebuild
// took 15.2 s and peaked at 423 MB this way, 16.6 s and 853 MB with 4 MiB
// fetches and librdkafka's 100,000 records.
std::vector<std::pair<std::string, std::string>> ReaderProperties(std::string group) {
  return {{"group.id", std::move(group)},        {"enable.auto.commit", "false"},
          {"enable.auto.offset.store", "false"}, {"enable.partition.eof", "true"},
          {"isolation.level", "read_committed"}, {"auto.offset.reset", "earliest"},
          {"fetch.wait.max.ms", "100"},          {"max.partition.fetch.bytes", "1048576"},
          {"queued.min.messages", "50000"}};
}

Result<std::unique_ptr<RdKafka::Conf>> MakeConf(
    const KafkaLogOptions& o, const std::vector<std::pair<std::string, std::string>>& extra) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  auto set = [&](const std::string& k, const std::string& v) -> Status {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return Status::InvalidArgument(fmt::format("Kafka property {}: {}", k, err));
    }
    return Status::Ok();
  };
  BLOTTER_RETURN_IF_ERROR(set("bootstrap.servers", o.bootstrap));
  BLOTTER_RETURN_IF_ERROR(set("client.id", "blotter"));
  if (conf->set("event_cb", &quiet_logs, err) != RdKafka::Conf::CONF_OK) {
    return Status::Internal(err);
  }
  for (const auto& [k, v] : extra) BLOTTER_RETURN_IF_ERROR(set(k, v));
  for (const auto& [k, v] : o.properties) BLOTTER_RETURN_IF_ERROR(set(k, v));  // the user's win
  return conf;
}

// Delivery reports land in the slot each message points to.
struct DeliverySlot {
  RdKafka::ErrorCode err = RdKafka::ERR_NO_ERROR;
  int64_t offset = -1;
  int32_t partition = -1;
};

class DeliveryReports final : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    auto* slot = static_cast<DeliverySlot*>(m.msg_opaque());
    if (!slot) return;
    slot->err = m.err();
    slot->offset = m.offset();
    slot->partition = m.partition();
  }
};

}  // namespace

std::string IncidentEventsTopic(const std::string& prefix) { return prefix + ".incident-events"; }

std::vector<std::pair<std::string, std::string>> KafkaProducerDefaults() {
  // linger.ms stays short: a commit flushes anyway, and each transaction
  // would otherwise start with a linger's wait.
  return {{"enable.idempotence", "true"},
          {"acks", "all"},
          {"partitioner", "murmur2_random"},
          {"linger.ms", "1"},
          {"compression.type", "lz4"}};
}

Result<std::vector<std::pair<std::string, std::string>>> ReadKafkaProperties(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot open Kafka config {}", path));
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  int n = 0;
  auto trim = [](std::string s) {
    const auto b = s.find_first_not_of(" \t\r");
    const auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  while (std::getline(in, line)) {
    ++n;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument(fmt::format("{} line {}: expected key=value", path, n));
    }
    out.emplace_back(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
  }
  return out;
}

struct KafkaLog::Impl {
  KafkaLogOptions options;
  std::string topic;
  int32_t partitions = 0;
  // Metadata, watermarks and the admin API. A consumer handle reading
  // uncommitted, so end offsets are high watermarks: a just-committed
  // transaction whose markers have not landed yet is still inside them.
  std::unique_ptr<RdKafka::KafkaConsumer> admin;
  std::unique_ptr<RdKafka::Producer> producer;  // transactional writer
  DeliveryReports reports;
  std::unique_ptr<GroupCommitter> committer;
  std::mutex heads_mu;  // Head() reads while the leader commits
  HeadTracker heads;    // guarded by heads_mu
  std::atomic<bool> fenced{false};
  // A commit failed without a certain outcome: rebuild the heads from what
  // the log committed before the next append.
  bool heads_stale = false;  // leader only
  Status fenced_status;      // set once, before fenced turns true

  ~Impl() {
    if (producer) producer->flush(options.timeout_ms);
    if (admin) admin->close();
  }

  Status CreateTopicIfMissing() {
    rd_kafka_t* rk = admin->c_ptr();
    char errstr[512];
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(
        topic.c_str(), options.partitions, options.replication_factor, errstr, sizeof errstr);
    if (!nt) return Status::InvalidArgument(fmt::format("topic {}: {}", topic, errstr));
    const std::string min_isr =
        std::to_string(options.replication_factor >= 3 ? options.replication_factor - 1 : 1);
    rd_kafka_NewTopic_set_config(nt, "retention.ms", "-1");
    rd_kafka_NewTopic_set_config(nt, "retention.bytes", "-1");
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "delete");
    rd_kafka_NewTopic_set_config(nt, "min.insync.replicas", min_isr.c_str());
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(ao, options.timeout_ms, errstr, sizeof errstr);
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, options.timeout_ms + 5000);
    Status st;
    if (!ev) {
      st = Status::Unavailable(fmt::format("creating topic {} timed out", topic));
    } else if (rd_kafka_event_error(ev)) {
      st = Status::Unavailable(
          fmt::format("creating topic {}: {}", topic, rd_kafka_event_error_string(ev)));
    } else {
      size_t n = 0;
      const rd_kafka_topic_result_t** res =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
      if (n == 1) {
        const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[0]);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          st = Status::Unavailable(fmt::format("creating topic {}: {}", topic,
                                               rd_kafka_topic_result_error_string(res[0])));
        }
      }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return st;
  }

  // The topic's partition count, waiting for a new topic's metadata.
  Result<int32_t> PartitionCount() {
    std::string err;
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(admin.get(), topic, nullptr, err));
    if (!t) return Status::Internal(err);
    const auto deadline = Clock::now() + std::chrono::milliseconds(options.timeout_ms);
    RdKafka::ErrorCode last = RdKafka::ERR_NO_ERROR;
    while (Clock::now() < deadline) {
      RdKafka::Metadata* md = nullptr;
      last = admin->metadata(false, t.get(), &md, 5000);
      std::unique_ptr<RdKafka::Metadata> owned(md);
      if (last == RdKafka::ERR_NO_ERROR && md && !md->topics()->empty()) {
        const auto* tm = md->topics()->at(0);
        bool led = tm->err() == RdKafka::ERR_NO_ERROR && !tm->partitions()->empty();
        for (const auto* pm : *tm->partitions())
          led = led && pm->err() == RdKafka::ERR_NO_ERROR && pm->leader() >= 0;
        if (led) return static_cast<int32_t>(tm->partitions()->size());
        last = tm->err() != RdKafka::ERR_NO_ERROR ? tm->err() : RdKafka::ERR_LEADER_NOT_AVAILABLE;
        if (last == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART && !options.writer) {
          return Status::NotFound(
              fmt::format("no topic {} at {} (a writer creates it)", topic, options.bootstrap));
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // topic propagating
    }
    if (last == RdKafka::ERR__TRANSPORT || last == RdKafka::ERR__ALL_BROKERS_DOWN ||
        last == RdKafka::ERR__TIMED_OUT) {
      return Status::Unavailable(
          fmt::format("cannot reach Kafka at {} ({})", options.bootstrap, RdKafka::err2str(last)));
    }
    return KafkaError(last, fmt::format("metadata of topic {}", topic));
  }

  Result<std::vector<int64_t>> EndOffsets() {
    std::vector<int64_t> out(partitions);
    for (int32_t p = 0; p < partitions; ++p) {
      BLOTTER_ASSIGN_OR_RETURN(auto marks, Watermarks(p));
      out[p] = marks.second;
    }
    return out;
  }

  // A partition's low and high watermarks, retrying while leadership moves.
  Result<std::pair<int64_t, int64_t>> Watermarks(int32_t p) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(options.timeout_ms);
    while (true) {
      int64_t low = 0, high = 0;
      const auto err = admin->query_watermark_offsets(topic, p, &low, &high, options.timeout_ms);
      if (err == RdKafka::ERR_NO_ERROR) return std::pair{low, high};
      const bool transient = err == RdKafka::ERR_NOT_LEADER_FOR_PARTITION ||
                             err == RdKafka::ERR_LEADER_NOT_AVAILABLE ||
                             err == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART ||
                             err == RdKafka::ERR__TRANSPORT || err == RdKafka::ERR__TIMED_OUT;
      if (!transient || Clock::now() >= deadline) return KafkaError(err, "query offsets");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // leadership moving
    }
  }

  // Every record of one partition up to its end now, read_committed.
  Status ScanPartition(int32_t p, const std::function<void(LogRecord&)>& fn);

  void Commit(std::span<PendingAppend* const> group);
  Status RebuildHeads();
};

namespace {

// Reads assigned partitions with a consumer, read_committed.
class KafkaReader final : public LogReader, public RdKafka::RebalanceCb {
 public:
  // In a consumer group: reads what the group assigns, from start_for(p).
  static Result<std::unique_ptr<KafkaReader>> CreateInGroup(
      KafkaLog::Impl* log, const std::string& group, std::function<int64_t(int32_t)> start_for) {
    auto r = std::unique_ptr<KafkaReader>(new KafkaReader());
    r->start_for_ = std::move(start_for);
    r->slot_.assign(log->partitions, -1);
    auto properties = ReaderProperties(group);
    properties.insert(properties.end(),
                      {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "1500"}});
    auto conf = MakeConf(log->options, properties);
    if (!conf.ok()) return conf.status();
    std::string err;
    if ((*conf)->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(r.get()), err) !=
        RdKafka::Conf::CONF_OK) {
      return Status::Internal(err);
    }
    r->consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
    if (!r->consumer_) return Status::Unavailable(fmt::format("Kafka consumer: {}", err));
    r->topic_ = log->topic;
    std::vector<Position> all;
    for (int32_t p = 0; p < log->partitions; ++p) all.push_back({p, 0});
    r->PrepareWaking(conf->get(), all);
    const auto code = r->consumer_->subscribe({log->topic});
    if (code != RdKafka::ERR_NO_ERROR) return KafkaError(code, "subscribe");
    return r;
  }

  // The group gives and takes partitions; each given one starts at the
  // caller's checkpoint, not at an offset the group committed.
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      for (auto* tp : partitions) {
        const int32_t p = tp->partition();
        const int64_t from = start_for_(p);
        tp->set_offset(from);
        if (p < static_cast<int32_t>(slot_.size())) {
          if (slot_[p] < 0) {
            slot_[p] = static_cast<int>(pos_.size());
            pos_.push_back({p, from});
          } else {
            pos_[slot_[p]].offset = from;
          }
        }
      }
      consumer->assign(partitions);
    } else {
      consumer->unassign();
    }
  }

  static Result<std::unique_ptr<KafkaReader>> Create(KafkaLog::Impl* log,
                                                     std::vector<Position> start,
                                                     std::optional<std::vector<int64_t>> stop) {
    auto conf = MakeConf(log->options, ReaderProperties("blotter-reader"));
    if (!conf.ok()) return conf.status();
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf->get(), err));
    if (!consumer) return Status::Unavailable(fmt::format("Kafka consumer: {}", err));
    std::vector<RdKafka::TopicPartition*> tps;
    for (const Position& p : start) {
      tps.push_back(RdKafka::TopicPartition::create(log->topic, p.partition, p.offset));
    }
    const auto code = consumer->assign(tps);
    RdKafka::TopicPartition::destroy(tps);
    if (code != RdKafka::ERR_NO_ERROR) return KafkaError(code, "assign partitions");
    auto r = std::unique_ptr<KafkaReader>(new KafkaReader());
    r->consumer_ = std::move(consumer);
    r->topic_ = log->topic;
    r->PrepareWaking(conf->get(), start);
    r->pos_ = std::move(start);
    r->slot_.assign(log->partitions, -1);
    for (size_t i = 0; i < r->pos_.size(); ++i)
      r->slot_[r->pos_[i].partition] = static_cast<int>(i);
    r->stop_ = std::move(stop);
    return r;
  }

  ~KafkaReader() override {
    if (consumer_) consumer_->close();
  }

  std::vector<Position> positions() const override { return pos_; }

  Result<std::vector<LogRecord>> Poll(size_t max_records,
                                      std::chrono::milliseconds timeout) override {
    std::vector<LogRecord> out;
    const auto deadline = Clock::now() + timeout;
    if (max_records == 0) max_records = 1;
    const bool was_full = NearlyFull();
    while (out.size() < max_records) {
      if (AllStopped()) {
        if (out.empty()) return Status::EndOfStream();
        return out;
      }
      // Wait for the first record; then take only what is already here.
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      const int wait_ms = out.empty() ? static_cast<int>(std::max<int64_t>(0, left.count())) : 0;
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(wait_ms));
      switch (m->err()) {
        case RdKafka::ERR_NO_ERROR: {
          const int i =
              m->partition() < static_cast<int32_t>(slot_.size()) ? slot_[m->partition()] : -1;
          if (i < 0) break;
          pos_[i].offset = m->offset() + 1;
          if (stop_ && m->offset() >= (*stop_)[i]) break;
          out.push_back(LogRecord{{m->partition(), m->offset()},
                                  std::string(static_cast<const char*>(m->payload()), m->len())});
          bytes_read_ += m->len();
          ++records_read_;
          break;
        }
        case RdKafka::ERR__PARTITION_EOF: {
          const int i =
              m->partition() < static_cast<int32_t>(slot_.size()) ? slot_[m->partition()] : -1;
          if (i >= 0) pos_[i].offset = std::max(pos_[i].offset, m->offset());
          break;
        }
        case RdKafka::ERR__TIMED_OUT:
          return out;
        default:
          if (!out.empty()) return out;
          return KafkaError(m->err(), "consume");
      }
    }
    if (was_full) WakeFetcher();
    return out;
  }

 private:
  KafkaReader() = default;

  // librdkafka before 2.1 (Debian 12 has 2.0.2) stops fetching a partition
  // while the consumer's queue holds queued.min.messages records or
  // queued.max.messages.kbytes, and then waits up to a second before it
  // looks again: nothing the application does wakes it sooner (librdkafka
  // issue #2879; fetch.queue.backoff.ms in 2.1). A reader whose caller pauses
  // between polls (the projection runner, while it applies a batch) starved
  // for most of each such second: a 10M-event rebuild took 36 s instead of
  // 16. So once a poll has drained a queue that was near either mark, the
  // reader wakes the fetchers with a request of its own to each broker it
  // reads from (a watermark query), after which they look at the queue again.
  bool NearlyFull() const {
    if (!queue_) return false;
    const size_t n = rd_kafka_queue_length(queue_.get());
    // The queue's bytes are not published: estimated from the records read.
    const size_t bytes = records_read_ ? n * (bytes_read_ / records_read_) : 0;
    return n >= max_queued_records_ / 2 || bytes >= max_queued_bytes_ / 2;
  }
  void WakeFetcher() {
    for (int32_t p : one_per_leader_) {
      int64_t low = 0, high = 0;
      consumer_->query_watermark_offsets(topic_, p, &low, &high, 1000);  // only to wake
    }
  }
  // Reads how full the queue may get from `conf`, and the partition leaders.
  void PrepareWaking(RdKafka::Conf* conf, const std::vector<Position>& read) {
    std::string v;
    if (conf->get("queued.min.messages", v) == RdKafka::Conf::CONF_OK) {
      max_queued_records_ = std::max<size_t>(2, std::strtoull(v.c_str(), nullptr, 10));
    }
    if (conf->get("queued.max.messages.kbytes", v) == RdKafka::Conf::CONF_OK) {
      max_queued_bytes_ = std::max<size_t>(2, std::strtoull(v.c_str(), nullptr, 10) * 1024);
    }
    queue_.reset(rd_kafka_queue_get_consumer(consumer_->c_ptr()));
    RdKafka::Metadata* raw = nullptr;
    std::string err;
    std::unique_ptr<RdKafka::Topic> t(
        RdKafka::Topic::create(consumer_.get(), topic_, nullptr, err));
    if (!t || consumer_->metadata(false, t.get(), &raw, 5000) != RdKafka::ERR_NO_ERROR) {
      for (const Position& p : read) one_per_leader_.push_back(p.partition);  // wake them all
      return;
    }
    std::unique_ptr<RdKafka::Metadata> md(raw);
    std::set<int32_t> leaders;
    for (const auto* tm : *md->topics()) {
      for (const auto* pm : *tm->partitions()) {
        const bool wanted = std::any_of(read.begin(), read.end(),
                                        [&](const Position& p) { return p.partition == pm->id(); });
        if (wanted && leaders.insert(pm->leader()).second) one_per_leader_.push_back(pm->id());
      }
    }
  }
  struct QueueDeleter {
    void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  };
  bool AllStopped() const {
    if (!stop_) return false;
    for (size_t i = 0; i < pos_.size(); ++i) {
      if (pos_[i].offset < (*stop_)[i]) return false;
    }
    return true;
  }

  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue_;  // the consumer's
  std::string topic_;
  size_t max_queued_records_ = 100000;  // librdkafka's defaults
  size_t max_queued_bytes_ = 65536 * 1024;
  uint64_t records_read_ = 0, bytes_read_ = 0;
  std::vector<int32_t> one_per_leader_;
  std::vector<Position> pos_;
  std::vector<int> slot_;  // partition -> index in pos_
  std::optional<std::vector<int64_t>> stop_;
  std::function<int64_t(int32_t)> start_for_;  // group mode
};

}  // namespace

Status KafkaLog::Impl::ScanPartition(int32_t p, const std::function<void(LogRecord&)>& fn) {
  BLOTTER_ASSIGN_OR_RETURN(auto marks, Watermarks(p));
  const auto [low, high] = marks;
  if (high <= low) return Status::Ok();
  BLOTTER_ASSIGN_OR_RETURN(
      std::unique_ptr<KafkaReader> reader,
      KafkaReader::Create(this, {Position{p, low}}, std::vector<int64_t>{high}));
  while (true) {
    auto batch = reader->Poll(10000, std::chrono::milliseconds(options.timeout_ms));
    if (!batch.ok()) {
      if (batch.status().code() == StatusCode::kEndOfStream) return Status::Ok();
      return batch.status();
    }
    if (batch->empty())
      return Status::Unavailable(fmt::format("partition {} did not reach its end", p));
    for (auto& r : *batch) fn(r);
  }
}

Status KafkaLog::Impl::RebuildHeads() {
  HeadTracker rebuilt;
  for (int32_t p = 0; p < partitions; ++p) {
    BLOTTER_RETURN_IF_ERROR(ScanPartition(p, [&](LogRecord& r) {
      auto e = DecodeEvent(r.bytes);
      if (!e.ok()) return;  // replay --verify names it; it is no head
      const auto* h = (*e)->hash();
      rebuilt.Set((*e)->incident_id()->string_view(), (*e)->sequence(),
                  std::string_view(reinterpret_cast<const char*>(h->data()), h->size()));
    }));
  }
  std::lock_guard l(heads_mu);
  heads = std::move(rebuilt);
  return Status::Ok();
}

void KafkaLog::Impl::Commit(std::span<PendingAppend* const> group) {
  if (fenced) {
    for (PendingAppend* x : group) x->status = fenced_status;
    return;
  }
  if (heads_stale) {
    Status st = RebuildHeads();
    if (!st.ok()) {
      for (PendingAppend* x : group)
        x->status = st.WithContext("rebuilding heads after a failed commit");
      return;
    }
    heads_stale = false;
  }
  std::lock_guard hl(heads_mu);
  HeadTracker::Undo undo;
  // The writer rebuilt every head when it opened: an incident it does not
  // track has no events.
  auto none = [](std::string_view) -> Result<IncidentHead> {
    return IncidentHead{0, GenesisHash()};
  };
  std::vector<PendingAppend*> valid;
  for (PendingAppend* x : group) {
    x->status = heads.Advance(x->events, none, &undo);
    if (x->status.ok()) valid.push_back(x);
  }
  if (valid.empty()) return;

  auto fail_all = [&](const Status& st) {
    heads.Rollback(undo);
    for (PendingAppend* x : valid) {
      x->status = st;
      x->positions.clear();
    }
  };
  auto fence = [&](const Status& st) {
    if (!fenced.exchange(true)) fenced_status = st;
    fail_all(fenced_status);
  };
  Status st = FromError(producer->begin_transaction(), "begin transaction");
  if (!st.ok()) {
    if (st.code() == StatusCode::kFenced) return fence(st);
    return fail_all(st);
  }
  size_t total = 0;
  for (PendingAppend* x : valid) total += x->events.size();
  std::vector<DeliverySlot> slots(total);
  size_t n = 0;
  for (PendingAppend* x : valid) {
    for (const EncodedEvent& e : x->events) {
      const std::string key(e.incident_id());
      RdKafka::ErrorCode code;
      while (true) {
        code = producer->produce(topic, KafkaPartition(key, partitions),
                                 RdKafka::Producer::RK_MSG_COPY,
                                 const_cast<char*>(e.bytes().data()), e.bytes().size(), key.data(),
                                 key.size(), e.recorded_at() / 1000, &slots[n]);
        if (code != RdKafka::ERR__QUEUE_FULL) break;
        producer->poll(50);
      }
      if (code != RdKafka::ERR_NO_ERROR) {
        Status aborted =
            FromError(producer->abort_transaction(options.timeout_ms), "abort transaction");
        if (aborted.code() == StatusCode::kFenced) return fence(aborted);
        return fail_all(KafkaError(code, "produce"));
      }
      ++n;
    }
  }
  // Commit; a retriable failure is retried, an abortable one aborts.
  for (int attempt = 0;; ++attempt) {
    RdKafka::Error* error = producer->commit_transaction(options.timeout_ms);
    if (!error) break;
    const bool retriable = error->is_retriable();
    const bool abortable = error->txn_requires_abort();
    st = FromError(error, "commit transaction");
    if (st.code() == StatusCode::kFenced) return fence(st);
    if (retriable && attempt < 5) continue;
    if (abortable || retriable) {
      Status aborted =
          FromError(producer->abort_transaction(options.timeout_ms), "abort transaction");
      if (aborted.code() == StatusCode::kFenced) return fence(aborted);
    }
    heads_stale = true;  // the outcome may be unknown; the log will tell
    return fail_all(st);
  }
  n = 0;
  for (PendingAppend* x : valid) {
    x->positions.clear();
    for (size_t i = 0; i < x->events.size(); ++i, ++n) {
      const DeliverySlot& s = slots[n];
      if (s.err != RdKafka::ERR_NO_ERROR || s.offset < 0) {
        // Committed yet undelivered cannot happen; treat as a broken invariant.
        x->status = Status::Internal(
            fmt::format("committed event without a delivery report: {}", RdKafka::err2str(s.err)));
        break;
      }
      x->positions.push_back(Position{s.partition, s.offset});
    }
  }
}

KafkaLog::KafkaLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaLog::~KafkaLog() = default;

int32_t KafkaLog::partitions() const { return impl_->partitions; }
const std::string& KafkaLog::topic() const { return impl_->topic; }

Result<std::unique_ptr<KafkaLog>> KafkaLog::Open(const KafkaLogOptions& options) {
  if (options.bootstrap.empty()) return Status::InvalidArgument("no Kafka bootstrap servers");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->topic = IncidentEventsTopic(options.topic_prefix);
  impl->committer = std::make_unique<GroupCommitter>(options.max_group_bytes);
  std::string err;
  {
    BLOTTER_ASSIGN_OR_RETURN(auto conf, MakeConf(options, {{"group.id", "blotter-admin"},
                                                           {"isolation.level", "read_uncommitted"},
                                                           {"enable.auto.commit", "false"}}));
    impl->admin.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!impl->admin) return Status::Unavailable(fmt::format("Kafka client: {}", err));
  }
  if (options.writer) BLOTTER_RETURN_IF_ERROR(impl->CreateTopicIfMissing());
  BLOTTER_ASSIGN_OR_RETURN(impl->partitions, impl->PartitionCount());

  if (options.writer) {
    auto settings = KafkaProducerDefaults();
    settings.emplace_back("transactional.id", options.transactional_id);
    settings.emplace_back("transaction.timeout.ms", "60000");
    BLOTTER_ASSIGN_OR_RETURN(auto conf, MakeConf(options, settings));
    if (conf->set("dr_cb", &impl->reports, err) != RdKafka::Conf::CONF_OK) {
      return Status::Internal(err);
    }
    impl->producer.reset(RdKafka::Producer::create(conf.get(), err));
    if (!impl->producer) return Status::Unavailable(fmt::format("Kafka producer: {}", err));
    BLOTTER_RETURN_IF_ERROR(
        FromError(impl->producer->init_transactions(options.timeout_ms), "init transactions"));
    // Rebuild every incident's head from what is committed.
    BLOTTER_RETURN_IF_ERROR(impl->RebuildHeads());
  }
  return std::unique_ptr<KafkaLog>(new KafkaLog(std::move(impl)));
}

Result<std::vector<Position>> KafkaLog::Append(std::span<const EncodedEvent> events) {
  if (events.empty()) return std::vector<Position>{};
  if (!impl_->producer) return Status::FailedPrecondition("this Kafka log was opened read-only");
  Impl* d = impl_.get();
  return d->committer->Append(events,
                              [d](std::span<PendingAppend* const> group) { d->Commit(group); });
}

Result<std::vector<int64_t>> KafkaLog::EndOffsets() { return impl_->EndOffsets(); }

Result<IncidentHead> KafkaLog::Head(std::string_view incident_id) {
  if (impl_->producer) {
    std::lock_guard l(impl_->heads_mu);
    const auto* h = impl_->heads.Find(incident_id);
    if (!h) return IncidentHead{0, GenesisHash()};
    return IncidentHead{h->sequence, std::string(h->hash_view())};
  }
  BLOTTER_ASSIGN_OR_RETURN(std::vector<LogRecord> records, ReadIncident(incident_id));
  if (records.empty()) return IncidentHead{0, GenesisHash()};
  BLOTTER_ASSIGN_OR_RETURN(const fb::Event* last, DecodeEvent(records.back().bytes));
  return IncidentHead{last->sequence(),
                      std::string(reinterpret_cast<const char*>(last->hash()->data()), kHashSize)};
}

Result<std::vector<LogRecord>> KafkaLog::ReadIncident(std::string_view incident_id) {
  std::vector<LogRecord> out;
  if (incident_id.empty()) return out;
  Status st = impl_->ScanPartition(PartitionOf(incident_id), [&](LogRecord& r) {
    auto e = DecodeEvent(r.bytes);
    if (e.ok() && (*e)->incident_id()->string_view() == incident_id) out.push_back(std::move(r));
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<LogRecord>> KafkaLog::ReadAt(std::span<const Position> positions) {
  std::vector<LogRecord> out;
  if (positions.empty()) return out;
  auto properties = ReaderProperties("blotter-reader");
  // An offset the topic no longer holds is an error here, not a restart
  // from the earliest one; and a fetch needs to bring little.
  for (auto& [k, v] : properties) {
    if (k == "auto.offset.reset") v = "error";
    if (k == "max.partition.fetch.bytes") v = "262144";
    if (k == "queued.min.messages") v = "1000";
  }
  properties.emplace_back("queued.max.messages.kbytes", "1024");
  BLOTTER_ASSIGN_OR_RETURN(auto conf, MakeConf(impl_->options, properties));
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return Status::Unavailable(fmt::format("Kafka consumer: {}", err));
  // Records this close after the last one read are read on to, not fetched.
  constexpr int64_t kReadOnWithin = 256;
  Position next{-1, -1};  // what the consumer returns next, if it is assigned
  const auto deadline = Clock::now() + std::chrono::milliseconds(impl_->options.timeout_ms);
  Status st = [&]() -> Status {
    for (const Position& p : positions) {
      if (p.partition < 0 || p.partition >= impl_->partitions || p.offset < 0) {
        return Status::InvalidArgument(fmt::format("no position {}:{} in a log of {} partitions",
                                                   p.partition, p.offset, impl_->partitions));
      }
      if (p.partition != next.partition || p.offset < next.offset ||
          p.offset > next.offset + kReadOnWithin) {
        std::vector<RdKafka::TopicPartition*> tps = {
            RdKafka::TopicPartition::create(impl_->topic, p.partition, p.offset)};
        const auto code = consumer->assign(tps);
        RdKafka::TopicPartition::destroy(tps);
        if (code != RdKafka::ERR_NO_ERROR) return KafkaError(code, "assign partition");
        next = p;
      }
      while (true) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
          return Status::Unavailable("Kafka: reading events at positions timed out");
        std::unique_ptr<RdKafka::Message> m(consumer->consume(static_cast<int>(left.count())));
        if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
        if (m->err() == RdKafka::ERR__PARTITION_EOF ||
            m->err() == RdKafka::ERR__AUTO_OFFSET_RESET ||
            m->err() == RdKafka::ERR_OFFSET_OUT_OF_RANGE) {
          return NoEventAt(p);
        }
        if (m->err() != RdKafka::ERR_NO_ERROR) return KafkaError(m->err(), "consume");
        if (m->partition() != p.partition || m->offset() < p.offset) continue;
        if (m->offset() > p.offset) return NoEventAt(p);  // a transaction marker's, or aborted
        next = Position{p.partition, p.offset + 1};
        out.push_back(LogRecord{p, std::string(static_cast<const char*>(m->payload()), m->len())});
        break;
      }
    }
    return Status::Ok();
  }();
  consumer->close();
  if (!st.ok()) return st;
  return out;
}

Result<std::unique_ptr<LogReader>> KafkaLog::NewReader(const ReaderOptions& options) {
  BLOTTER_ASSIGN_OR_RETURN(std::vector<Position> start, ReaderStart(options, impl_->partitions));
  if (!options.group.empty()) {
    BLOTTER_ASSIGN_OR_RETURN(
        std::unique_ptr<KafkaReader> r,
        KafkaReader::CreateInGroup(impl_.get(), options.group, options.start_for));
    return std::unique_ptr<LogReader>(std::move(r));
  }
  BLOTTER_ASSIGN_OR_RETURN(std::unique_ptr<KafkaReader> r,
                           KafkaReader::Create(impl_.get(), std::move(start), options.stop_at));
  return std::unique_ptr<LogReader>(std::move(r));
}

}  // namespace blotter
