// blotter bench: throughput figures, each beside its ceiling measured in the
// same run (these machines are shared and noisy; the ratio is what holds).

#include <jemalloc/jemalloc.h>
#include <librdkafka/rdkafkacpp.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <thread>

#include "events/embedded_log.h"
#include "events/hash_chain.h"
#include "events/kafka_log.h"
#include "events/log_verify.h"
#include "projections/linker/linker.h"
#include "projections/runner.h"
#include "services/command_handler.h"
#include "tools/cli/common.h"
#include "tools/cli/simulate.h"

namespace blotter::cli {
namespace {

namespace fs = std::filesystem;

struct BenchOptions {
  LogOptions log;
  uint64_t events = 1'000'000;
  size_t batch = 1000;
  std::vector<int> appenders = {1, 4};
  int small_appenders = 16;
  uint64_t small_events = 50'000;
  std::string dir;  // scratch directory; default: a new one under /tmp
  std::vector<size_t> kafka_commit_events = {1000, 10000, 50000};
};

// Realistic incident lifecycles (received, classified, assigned, arrived,
// resolved), sealed into their hash chains, in log order per incident.
std::vector<EncodedEvent> MakeIncident(uint64_t i, std::mt19937_64& rng);

std::vector<std::vector<EncodedEvent>> MakeIncidents(uint64_t events) {
  const uint64_t incidents = std::max<uint64_t>(1, events / 5);
  std::vector<std::vector<EncodedEvent>> out(incidents);
  std::mt19937_64 rng(42);
  for (uint64_t i = 0; i < incidents; ++i) out[i] = MakeIncident(i, rng);
  return out;
}

// Incident i's five events.
std::vector<EncodedEvent> MakeIncident(uint64_t i, std::mt19937_64& rng) {
  std::vector<EncodedEvent> out;
  static const char* kDescriptions[] = {
      "停在路边的货车油箱被撬，柴油被盗约二百升，车主早上发现",
      "居民报称家中被盗，门锁有撬动痕迹，丢失现金和首饰",
      "两车追尾，无人受伤，道路部分堵塞，请求交警处理",
      "老人走失，患有阿尔茨海默病，身穿蓝色外套，家属求助",
      "邻里纠纷，双方因噪音发生争吵，情绪激动",
  };
  static const char* kDivisions[] = {"411681", "411625", "341221", "410102", "411302"};
  static const Micros t0 = ParseTime("2021-10-15T01:30:00+08:00").value();
  {
    // An incident every 7 seconds; its id as blotter derives one (division,
    // day received, then a unique part).
    const Micros at = t0 + static_cast<Micros>(i) * 7 * kMicrosPerSecond;
    const std::string id = IncidentIdPrefix(kDivisions[i % 5], at) + fmt::format("{:08x}", i);
    std::string prev = GenesisHash();
    for (uint64_t seq = 1; seq <= 5; ++seq) {
      fb::EventT e;
      e.incident_id = id;
      e.event_id = fmt::format("{}#{}", id, seq);
      e.sequence = seq;
      e.occurred_at = at + static_cast<Micros>(seq) * 90 * kMicrosPerSecond;
      e.recorded_at = e.occurred_at + 2 * kMicrosPerSecond;
      e.actor = seq <= 2 ? "op:xc-07" : "unit:XC-P-03";
      e.correlation_id = id;
      e.causation_id = fmt::format("cmd-{}-{}", i, seq);
      switch (seq) {
        case 1: {
          fb::IncidentReceivedT p;
          p.channel = fb::Channel::phone;
          p.caller = std::make_unique<fb::CallerT>();
          p.caller->name = "王先生";
          p.caller->phone = fmt::format("139{:08}", rng() % 100000000);
          p.location = std::make_unique<fb::LocationT>();
          p.location->lat = 33.4 + (rng() % 1000) / 10000.0;
          p.location->lon = 114.9 + (rng() % 1000) / 10000.0;
          p.location->address = "河南省周口市项城市莲花大道物流园停车场";
          p.location->division = kDivisions[i % 5];
          p.reported_category = fb::Category::criminal;
          p.description = kDescriptions[i % 5];
          p.happened = std::make_unique<fb::TimeWindowT>();
          p.happened->earliest = at - 6 * kMicrosPerHour;
          p.happened->latest = at;
          e.payload.Set(std::move(p));
          break;
        }
        case 2: {
          fb::IncidentClassifiedT p;
          p.category = fb::Category::criminal;
          p.subtype = fb::Subtype::fuel_theft;
          p.mo_tags = {"siphoning", "parked_lorry", "night"};
          auto ent = std::make_unique<fb::EntityT>();
          ent->kind = fb::EntityKind::plate;
          ent->value = "豫P·3K721";
          p.entities.push_back(std::move(ent));
          e.payload.Set(std::move(p));
          break;
        }
        case 3: {
          fb::UnitAssignedT p;
          p.unit_id = "XC-P-03";
          p.unit_kind = fb::UnitKind::patrol_car;
          e.payload.Set(std::move(p));
          break;
        }
        case 4: {
          fb::UnitArrivedT p;
          p.unit_id = "XC-P-03";
          e.payload.Set(std::move(p));
          break;
        }
        default: {
          fb::IncidentResolvedT p;
          p.disposition = fb::Disposition::case_filed;
          p.summary = "已立案，调取周边监控";
          e.payload.Set(std::move(p));
          break;
        }
      }
      e.prev_hash.assign(prev.begin(), prev.end());
      auto sealed = Seal(e);
      if (!sealed.ok()) throw std::runtime_error(sealed.status().ToString());
      prev = std::string(sealed->hash());
      out.push_back(std::move(sealed).value());
    }
  }
  return out;
}

// A small sealed first event of a throwaway incident.
EncodedEvent WarmUpEvent(const std::string& id) {
  fb::EventT e;
  e.incident_id = id;
  e.event_id = id + "#1";
  e.sequence = 1;
  e.actor = "bench";
  fb::NoteAddedT note;
  note.text = "warm-up";
  e.payload.Set(std::move(note));
  e.prev_hash.assign(GenesisHash().begin(), GenesisHash().end());
  return Seal(e).value();
}

struct Figure {
  std::string name;
  uint64_t events = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? events / seconds : 0; }
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Splits incidents round robin among `n` appenders; each keeps its incidents' order.
std::vector<std::vector<const EncodedEvent*>> Split(
    const std::vector<std::vector<EncodedEvent>>& incidents, int n, uint64_t limit) {
  std::vector<std::vector<const EncodedEvent*>> out(n);
  uint64_t taken = 0;
  for (size_t i = 0; i < incidents.size() && taken < limit; ++i) {
    for (const auto& e : incidents[i]) out[i % n].push_back(&e);
    taken += incidents[i].size();
  }
  return out;
}

Result<Figure> RawRocksDb(const std::string& dir,
                          const std::vector<std::vector<const EncodedEvent*>>& parts,
                          size_t batch) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = 64 << 20;
  options.compression = rocksdb::kLZ4Compression;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return Status::IOError(s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::atomic<bool> failed{false};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  uint64_t total = 0;
  for (size_t t = 0; t < parts.size(); ++t) {
    total += parts[t].size();
    threads.emplace_back([&, t] {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      const auto& mine = parts[t];
      for (size_t i = 0; i < mine.size(); i += batch) {
        rocksdb::WriteBatch b;
        for (size_t j = i; j < std::min(mine.size(), i + batch); ++j) {
          std::string key = fmt::format("{:02}{:012}", t, j);
          b.Put(key, mine[j]->bytes());
        }
        if (!db->Write(wo, &b).ok()) failed = true;
      }
    });
  }
  for (auto& th : threads) th.join();
  Figure f{fmt::format("rocksdb raw, {} writer(s), batch {}", parts.size(), batch), total,
           Seconds(start)};
  if (failed) return Status::IOError("raw RocksDB write failed");
  db->Close().PermitUncheckedError();
  return f;
}

// Appends `parts` (one appender thread each) in appends of `batch` events
// and times it. Batches are built before the clock starts: the figure is the
// log's work.
Result<Figure> TimeAppends(EventLog& log,
                           const std::vector<std::vector<const EncodedEvent*>>& parts, size_t batch,
                           std::string name) {
  std::vector<std::vector<std::vector<EncodedEvent>>> batches(parts.size());
  uint64_t total = 0;
  for (size_t t = 0; t < parts.size(); ++t) {
    for (size_t i = 0; i < parts[t].size(); i += batch) {
      std::vector<EncodedEvent> b;
      for (size_t j = i; j < std::min(parts[t].size(), i + batch); ++j) b.push_back(*parts[t][j]);
      total += b.size();
      batches[t].push_back(std::move(b));
    }
  }
  std::mutex mu;
  Status first_error;
  Progress progress("append", total);
  std::atomic<uint64_t> done{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < parts.size(); ++t) {
    threads.emplace_back([&, t] {
      for (const auto& b : batches[t]) {
        auto r = log.Append(b);
        if (!r.ok()) {
          std::lock_guard l(mu);
          if (first_error.ok()) first_error = r.status();
          return;
        }
        const uint64_t d = done += b.size();
        if (t == 0) progress.Update(d);
      }
    });
  }
  for (auto& th : threads) th.join();
  const double secs = Seconds(start);
  progress.Finish();
  if (!first_error.ok()) return first_error;
  return Figure{std::move(name), total, secs};
}

Result<Figure> LogAppend(const std::string& dir,
                         const std::vector<std::vector<const EncodedEvent*>>& parts, size_t batch,
                         int32_t partitions) {
  EmbeddedLogOptions eo;
  eo.partitions = partitions;
  BLOTTER_ASSIGN_OR_RETURN(std::unique_ptr<EmbeddedLog> log, EmbeddedLog::Open(dir, eo));
  return TimeAppends(*log, parts, batch,
                     fmt::format("blotter log, {} appender(s), batch {}", parts.size(), batch));
}

// The Kafka ceiling: a plain idempotent producer (acks=all, the writer's
// own batching settings) sending the same keys and bytes, then flushing.
Result<Figure> RawKafka(const KafkaLogOptions& base,
                        const std::vector<const EncodedEvent*>& events) {
  KafkaLogOptions o = base;
  o.topic_prefix += "-raw";
  {
    // Creates the topic the same way the log does.
    BLOTTER_ASSIGN_OR_RETURN(std::unique_ptr<KafkaLog> creator, KafkaLog::Open(o));
  }
  const std::string topic = IncidentEventsTopic(o.topic_prefix);
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  if (conf->set("bootstrap.servers", o.bootstrap, err) != RdKafka::Conf::CONF_OK) {
    return Status::InvalidArgument(err);
  }
  for (const auto& [k, v] : KafkaProducerDefaults()) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) return Status::InvalidArgument(err);
  }
  for (const auto& [k, v] : o.properties) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) return Status::InvalidArgument(err);
  }
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) return Status::Unavailable(err);
  const int32_t partitions = o.partitions;
  // Warm up: one record to every partition, so leaders and connections are
  // settled before the clock starts (as for the log below).
  for (int32_t p = 0; p < partitions; ++p) {
    static const char kWarm[] = "warm-up";
    producer->produce(topic, p, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(kWarm),
                      sizeof kWarm - 1, nullptr, 0, 0, nullptr);
  }
  if (producer->flush(60000) != RdKafka::ERR_NO_ERROR)
    return Status::Unavailable("warm-up timed out");
  Progress progress("raw produce", events.size());
  const auto start = std::chrono::steady_clock::now();
  uint64_t sent = 0;
  for (const EncodedEvent* e : events) {
    const std::string key(e->incident_id());
    while (true) {
      const auto code =
          producer->produce(topic, KafkaPartition(key, partitions), RdKafka::Producer::RK_MSG_COPY,
                            const_cast<char*>(e->bytes().data()), e->bytes().size(), key.data(),
                            key.size(), 0, nullptr);
      if (code == RdKafka::ERR_NO_ERROR) break;
      if (code != RdKafka::ERR__QUEUE_FULL) return Status::Unavailable(RdKafka::err2str(code));
      producer->poll(10);
    }
    producer->poll(0);
    if (++sent % 10000 == 0) progress.Update(sent);
  }
  if (producer->flush(120000) != RdKafka::ERR_NO_ERROR)
    return Status::Unavailable("flush timed out");
  const double secs = Seconds(start);
  progress.Finish();
  return Figure{"plain idempotent producer, acks=all (ceiling)", events.size(), secs};
}

Result<Figure> KafkaAppend(const KafkaLogOptions& base,
                           const std::vector<std::vector<const EncodedEvent*>>& parts,
                           size_t batch) {
  KafkaLogOptions o = base;
  o.topic_prefix += fmt::format("-txn{}x{}", parts.size(), batch);
  o.transactional_id = o.topic_prefix;
  BLOTTER_ASSIGN_OR_RETURN(std::unique_ptr<KafkaLog> log, KafkaLog::Open(o));
  {
    // Warm up: one transaction touching every partition before the clock starts
    // (a new topic's first transaction registers partitions and waits for leaders).
    std::vector<EncodedEvent> warm;
    for (int i = 0; warm.size() < static_cast<size_t>(o.partitions) * 4 && i < 10000; ++i) {
      warm.push_back(WarmUpEvent(fmt::format("warm-up-{}", i)));
    }
    BLOTTER_RETURN_IF_ERROR(log->Append(warm).status());
  }
  return TimeAppends(
      *log, parts, batch,
      fmt::format("blotter Kafka log, {} appender(s), {} per append", parts.size(), batch));
}

int RunAppendKafka(const BenchOptions& o) {
  KafkaLogOptions ko;
  ko.bootstrap = o.log.kafka;
  if (!o.log.kafka_config.empty()) {
    auto props = ReadKafkaProperties(o.log.kafka_config);
    if (!props.ok()) return Fail("bench", props.status());
    ko.properties = *props;
  }
  ko.partitions = o.log.partitions > 0 ? o.log.partitions : 8;
  ko.topic_prefix =
      fmt::format("{}-bench-{}", o.log.topic_prefix,
                  std::chrono::system_clock::now().time_since_epoch().count() / 1000000);
  fmt::print(stderr, "bench append --kafka: sealing {} realistic events...\n", o.events);
  auto incidents = MakeIncidents(o.events);
  uint64_t n = 0, bytes = 0;
  std::vector<const EncodedEvent*> flat;
  for (const auto& inc : incidents) {
    for (const auto& e : inc) {
      flat.push_back(&e);
      ++n;
      bytes += e.bytes().size();
    }
  }
  std::vector<Figure> figures;
  fmt::print(stderr, "bench append --kafka: topics {}-*\n", ko.topic_prefix);
  auto raw = RawKafka(ko, flat);
  if (!raw.ok()) return Fail("bench", raw.status().WithContext("ceiling"));
  figures.push_back(*raw);
  // Transaction size trades latency for throughput: each case one size.
  std::vector<std::pair<int, size_t>> cases;
  for (size_t b : o.kafka_commit_events) cases.emplace_back(1, b);
  for (int k : o.appenders) {
    if (k > 1) cases.emplace_back(k, o.kafka_commit_events.front());
  }
  for (const auto& [k, b] : cases) {
    auto f = KafkaAppend(ko, Split(incidents, k, UINT64_MAX), b);
    if (!f.ok()) return Fail("bench", f.status().WithContext("transactional append"));
    figures.push_back(*f);
  }
  PrintLine(
      fmt::format("bench append --kafka {}: {} events, {} incidents, {:.0f} bytes/event, "
                  "{} partitions, replication factor {}; topics {}-*",
                  o.log.kafka, n, incidents.size(), static_cast<double>(bytes) / n, ko.partitions,
                  ko.replication_factor, ko.topic_prefix));
  PrintLine(
      fmt::format("  commit every N events: one transaction per append of N events (appends "
                  "queued meanwhile join it); an append returns after its commit"));
  PrintLine(
      fmt::format("  {:<52} {:>10} {:>12} {:>10}", "case", "events", "events/s", "vs ceiling"));
  for (const Figure& f : figures) {
    PrintLine(fmt::format("  {:<52} {:>10} {:>12.0f} {:>9.0f}%", f.name, f.events, f.rate(),
                          100.0 * f.rate() / figures[0].rate()));
  }
  return 0;
}

int RunAppend(const BenchOptions& o) {
  if (!o.log.kafka.empty()) return RunAppendKafka(o);
  std::string dir = o.dir;
  bool cleanup = false;
  if (dir.empty()) {
    char tmpl[] = "/tmp/blotter-bench-XXXXXX";
    if (!mkdtemp(tmpl)) return Fail("bench", "cannot make a scratch directory in /tmp");
    dir = tmpl;
    cleanup = true;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);

  fmt::print(stderr, "bench append: sealing {} realistic events...\n", o.events);
  const auto seal_start = std::chrono::steady_clock::now();
  auto incidents = MakeIncidents(o.events);
  const double seal_secs = Seconds(seal_start);
  uint64_t n = 0, bytes = 0;
  for (const auto& inc : incidents) {
    for (const auto& e : inc) {
      ++n;
      bytes += e.bytes().size();
    }
  }
  std::vector<Figure> figures;
  int run = 0;
  auto scratch = [&] { return (fs::path(dir) / fmt::format("run-{}", run++)).string(); };
  auto add = [&](Result<Figure> f, const char* what) -> bool {
    if (!f.ok()) {
      Fail("bench", f.status().WithContext(what));
      return false;
    }
    figures.push_back(std::move(f).value());
    return true;
  };
  const int32_t partitions = o.log.partitions > 0 ? o.log.partitions : 8;
  for (int k : o.appenders) {
    auto parts = Split(incidents, k, UINT64_MAX);
    if (!add(RawRocksDb(scratch(), parts, o.batch), "ceiling")) return 1;
    if (!add(LogAppend(scratch(), parts, o.batch, partitions), "log")) return 1;
  }
  {
    auto parts = Split(incidents, o.small_appenders, o.small_events);
    if (!add(RawRocksDb(scratch(), parts, 1), "ceiling")) return 1;
    if (!add(LogAppend(scratch(), parts, 1, partitions), "log")) return 1;
  }
  if (cleanup) fs::remove_all(dir, ec);

  PrintLine(
      fmt::format("bench append: {} events, {} incidents, {:.0f} bytes/event, WAL synced "
                  "(fsync) on every write, {} partitions",
                  n, incidents.size(), static_cast<double>(bytes) / n, partitions));
  PrintLine(fmt::format("  sealing (encode + SHA-256 chain), 1 thread: {:>10.0f} events/s",
                        n / seal_secs));
  PrintLine(
      fmt::format("  {:<44} {:>10} {:>12} {:>10}", "case", "events", "events/s", "vs ceiling"));
  for (size_t i = 0; i < figures.size(); i += 2) {
    const Figure& raw = figures[i];
    const Figure& log = figures[i + 1];
    PrintLine(
        fmt::format("  {:<44} {:>10} {:>12.0f} {:>10}", raw.name, raw.events, raw.rate(), ""));
    PrintLine(fmt::format("  {:<44} {:>10} {:>12.0f} {:>9.0f}%", log.name, log.events, log.rate(),
                          100.0 * log.rate() / raw.rate()));
  }
  return 0;
}

}  // namespace

// ---------------------------------------------------------------- bench project

struct Measured {
  uint64_t events = 0;
  double seconds = 0;
  long peak_rss_kb = 0;
  double rate() const { return seconds > 0 ? events / seconds : 0; }
};

// Runs this binary again with `args` (a fresh process: RocksDB's thread
// pools do not survive a fork), reads "<events> <seconds>" from its stdout and
// takes its peak memory from the kernel.
Result<Measured> InChild(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) return Status::IOError("pipe failed");
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) return Status::IOError("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    std::string self = "blotter";
    argv.push_back(self.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[256];
  ssize_t got;
  while ((got = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(got));
  close(fds[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  Measured m;
  // The child's own high-water mark: wait4's ru_maxrss would count the copy
  // of this process that fork made before the exec.
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      std::sscanf(out.c_str(), "%lu %lf %ld", &m.events, &m.seconds, &m.peak_rss_kb) != 3) {
    return Status::Internal("the measured child process failed");
  }
  return m;
}

// The malloc this binary runs on: figures taken with another one do not
// compare.
std::string AllocatorName() {
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) != 0 || version == nullptr) {
    return "glibc malloc (not jemalloc)";
  }
  size_t oversize = 0;
  size = sizeof(oversize);
  if (mallctl("opt.oversize_threshold", &oversize, &size, nullptr, 0) != 0) oversize = 0;
  return fmt::format("jemalloc {}, oversize_threshold {}", version, oversize);
}

// This process's peak resident memory (VmHWM), in KiB.
long PeakRssKb() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb;
}

// The measured parts of bench project, each in its own process: read (and
// decode) the log, or rebuild `view_names` from it (project; empty: the views
// a new store gets from this log); prints "<events> <seconds> <peak KiB>".
int RunMeasure(const LogOptions& lo, const std::string& what, const std::string& views,
               const std::vector<std::string>& view_names) {
  const auto start = std::chrono::steady_clock::now();
  auto count = [&]() -> Result<uint64_t> {
    BLOTTER_ASSIGN_OR_RETURN(auto log, OpenLog(lo, /*create=*/false));
    if (what == "project") {
      BLOTTER_ASSIGN_OR_RETURN(
          auto store, projections::ViewStore::Open(views, projections::ViewStore::Access::kBulk));
      BLOTTER_ASSIGN_OR_RETURN(auto names, projections::ChooseViews(*store, log.get(), view_names));
      BLOTTER_ASSIGN_OR_RETURN(auto v, projections::MakeViews(store.get(), names));
      projections::RunnerOptions ro;
      ro.until_caught_up = true;
      projections::Runner runner(log.get(), store.get(), std::move(v), ro);
      BLOTTER_ASSIGN_OR_RETURN(projections::RunStats stats, runner.Run());
      return stats.applied + stats.dead_letters;
    }
    ReaderOptions ro;
    BLOTTER_ASSIGN_OR_RETURN(ro.stop_at, log->EndOffsets());
    BLOTTER_ASSIGN_OR_RETURN(auto reader, log->NewReader(ro));
    uint64_t decoded = 0;
    while (true) {
      auto batch = reader->Poll(20000, std::chrono::seconds(30));
      if (!batch.ok()) {
        if (batch.status().code() == StatusCode::kEndOfStream) break;
        return batch.status();
      }
      for (const auto& r : *batch) {
        BLOTTER_RETURN_IF_ERROR(DecodeEvent(r.bytes).status());
        ++decoded;
      }
    }
    return decoded;
  }();
  if (!count.ok()) return Fail("bench", count.status());
  PrintLine(fmt::format("{} {:.6f} {}", *count, Seconds(start), PeakRssKb()));
  return 0;
}

struct ProjectBenchOptions {
  LogOptions log;
  std::vector<uint64_t> events = {1'000'000};
  // Rounds of (ceiling, each view set), one after the other, so that what
  // the shared machine does to one round is done to both sides of its ratios.
  int rounds = 3;
  std::string dir;
};

// The median of `v` (the mean of the middle two for an even count).
double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

int RunProjectBench(const ProjectBenchOptions& o) {
  std::string dir = o.dir;
  if (dir.empty()) {
    char tmpl[] = "/tmp/blotter-bench-project-XXXXXX";
    if (!mkdtemp(tmpl)) return Fail("bench", "cannot make a scratch directory in /tmp");
    dir = tmpl;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  const bool kafka = !o.log.kafka.empty();
  // Each size is rebuilt into the three views of issue 4 (incidents, history,
  // stats), and into the views a new store gets from this log: all four from
  // Kafka; on the embedded log, which reads an incident by its own index,
  // history is left out (ChooseViews), and all four are measured beside it.
  std::vector<std::string> view_sets = {"incidents,history,stats"};
  if (kafka) {
    view_sets.push_back("incidents,history,stats,links");
  } else {
    view_sets.push_back("incidents,stats,links");
    view_sets.push_back("incidents,history,stats,links");
  }
  PrintLine(fmt::format(
      "bench project: rebuild of views from the {} log beside reading and decoding the same log "
      "(ceiling), in {} rounds of one process per measure; medians, peak memory the largest, and "
      "the range of the rounds' ratios; a new store's views: {}",
      kafka ? "Kafka" : "embedded", o.rounds, view_sets[1]));
  PrintLine(fmt::format("  {:>10}  {:>12} {:>8}  {:<30} {:>12} {:>8} {:>10} {:>9}", "events",
                        "ceiling ev/s", "peak MiB", "views", "project ev/s", "peak MiB",
                        "vs ceiling", "range"));
  for (uint64_t n : o.events) {
    LogOptions lo = o.log;
    lo.data_dir = (fs::path(dir) / fmt::format("log-{}", n)).string();
    lo.topic_prefix =
        fmt::format("{}-benchproject-{}-{}", o.log.topic_prefix, n,
                    std::chrono::system_clock::now().time_since_epoch().count() / 1000000);
    lo.transactional_id = lo.topic_prefix;
    {
      // Fill the log, streaming: incidents of five events, 50,000 events per
      // append; into a fresh one (a run before left its own in --dir).
      if (!kafka) fs::remove_all(lo.data_dir, ec);
      auto log = OpenLog(lo, /*create=*/true);
      if (!log.ok()) return Fail("bench", log.status());
      std::mt19937_64 rng(42);
      Progress progress(fmt::format("fill {} events", n), n);
      std::vector<EncodedEvent> chunk;
      for (uint64_t i = 0; i * 5 < n; ++i) {
        for (auto& e : MakeIncident(i, rng)) chunk.push_back(std::move(e));
        if (chunk.size() >= 50000 || (i + 1) * 5 >= n) {
          auto r = (*log)->Append(chunk);
          if (!r.ok()) return Fail("bench", r.status());
          progress.Update((i + 1) * 5);
          chunk.clear();
        }
      }
    }
    std::vector<std::string> log_args =
        kafka ? std::vector<std::string>{"--kafka", lo.kafka, "--topic-prefix", lo.topic_prefix}
              : std::vector<std::string>{"--data", lo.data_dir};
    if (!lo.kafka_config.empty()) {
      log_args.push_back("--kafka-config");
      log_args.push_back(lo.kafka_config);
    }
    const std::string views = (fs::path(dir) / fmt::format("views-{}", n)).string();
    auto args = [&](const char* what, const std::string& names) {
      std::vector<std::string> a = {"bench", "measure", what, "--views-dir", views};
      if (!names.empty()) a.insert(a.end(), {"--views", names});
      a.insert(a.end(), log_args.begin(), log_args.end());
      return a;
    };
    std::vector<double> ceiling_rates;
    long ceiling_peak = 0;
    struct Side {
      std::vector<double> rates, ratios;
      long peak = 0;
    };
    std::vector<Side> sides(view_sets.size());
    for (int round = 0; round < o.rounds; ++round) {
      auto ceiling = InChild(args("read", ""));
      if (!ceiling.ok()) return Fail("bench", ceiling.status().WithContext("ceiling"));
      ceiling_rates.push_back(ceiling->rate());
      ceiling_peak = std::max(ceiling_peak, ceiling->peak_rss_kb);
      for (size_t i = 0; i < view_sets.size(); ++i) {
        fs::remove_all(views, ec);  // the last set's, or a run before's
        auto project = InChild(args("project", view_sets[i]));
        if (!project.ok()) {
          return Fail("bench",
                      project.status().WithContext(fmt::format("projection of {}", view_sets[i])));
        }
        sides[i].rates.push_back(project->rate());
        sides[i].ratios.push_back(project->rate() / ceiling->rate());
        sides[i].peak = std::max(sides[i].peak, project->peak_rss_kb);
      }
    }
    for (size_t i = 0; i < view_sets.size(); ++i) {
      const auto [least, most] =
          std::minmax_element(sides[i].ratios.begin(), sides[i].ratios.end());
      PrintLine(fmt::format(
          "  {:>10}  {:>12.0f} {:>8.0f}  {:<30} {:>12.0f} {:>8.0f} {:>9.0f}% {:>4.0f}-{:.0f}%", n,
          Median(ceiling_rates), ceiling_peak / 1024.0, view_sets[i], Median(sides[i].rates),
          sides[i].peak / 1024.0, 100.0 * Median(sides[i].ratios), 100.0 * *least, 100.0 * *most));
    }
    fs::remove_all(views, ec);
  }
  if (o.dir.empty()) fs::remove_all(dir, ec);
  return 0;
}

// ---------------------------------------------------------------- bench simulate

struct SimulateBenchOptions {
  std::string profile = "henan-2021";
  double scale = 0.01;
  std::string from = "2021-01-01";
  int days = 365;
  uint64_t seed = 1;
  size_t batch = 20000;
  std::string dir;
  bool durable = false;
};

uint64_t DiskBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

// Simulates into a fresh embedded log, then writes the same event bytes as
// raw RocksDB batches of the same size (the ceiling), durable the same way:
// each batch synced to the WAL (--durable), or a bulk load without the WAL
// flushed at the end.
int RunSimulateBench(const SimulateBenchOptions& o) {
  auto profile_dir = sim::FindProfile(o.profile);
  if (!profile_dir.ok()) return Fail("bench", profile_dir.status());
  auto profile = sim::Profile::Load(*profile_dir);
  if (!profile.ok()) return Fail("bench", profile.status());
  auto from = sim::ParseDay(o.from);
  if (!from.ok()) return Fail("bench", from.status());
  std::string dir = o.dir;
  if (dir.empty()) {
    char tmpl[] = "/tmp/blotter-bench-simulate-XXXXXX";
    if (!mkdtemp(tmpl)) return Fail("bench", "cannot make a scratch directory in /tmp");
    dir = tmpl;
  }
  sim::SimulateOptions so;
  so.scale = o.scale;
  so.from = *from;
  so.days = o.days;
  so.seed = o.seed;
  SimulateSummary summary;
  long peak_kb = 0;
  uint64_t disk = 0;
  double raw_seconds = 0;
  uint64_t raw_events = 0;
  {
    EmbeddedLogOptions lo;
    lo.bulk_load = !o.durable;
    auto log = EmbeddedLog::Open((fs::path(dir) / "log").string(), lo);
    if (!log.ok()) return Fail("bench", log.status());
    Progress progress("simulate (calls)", 0, /*lines=*/true);
    sim::Truth truth;
    auto r = Simulate(log->get(), *profile, so, o.batch, &progress, &truth);
    progress.Finish();
    if (!r.ok()) return Fail("bench", r.status());
    summary = *r;
    peak_kb = PeakRssKb();
    disk = DiskBytes((fs::path(dir) / "log").string());
    // The ceiling: the same bytes as raw synced RocksDB write batches of the
    // same size, read back batch by batch (only the writes are timed).
    rocksdb::Options options;
    options.create_if_missing = true;
    options.write_buffer_size = 64 << 20;
    options.compression = rocksdb::kLZ4Compression;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status st = rocksdb::DB::Open(options, (fs::path(dir) / "raw").string(), &raw);
    if (!st.ok()) return Fail("bench", st.ToString());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteOptions wo;
    wo.sync = o.durable;
    wo.disableWAL = !o.durable;
    rocksdb::WriteBatch b;
    auto write = [&]() -> Status {
      const auto t = std::chrono::steady_clock::now();
      if (!db->Write(wo, &b).ok()) return Status::IOError("raw RocksDB write failed");
      raw_seconds += Seconds(t);
      b.Clear();
      return Status::Ok();
    };
    Status read = ForEachRecord(**log, "", [&](LogRecord& rec) -> Status {
      b.Put(fmt::format("{:016}", raw_events++), rec.bytes);
      return b.Count() >= static_cast<uint32_t>(o.batch) ? write() : Status::Ok();
    });
    if (read.ok() && b.Count() > 0) read = write();
    if (!read.ok()) return Fail("bench", read);
    if (!o.durable) {
      const auto t = std::chrono::steady_clock::now();
      if (!db->Flush(rocksdb::FlushOptions()).ok())
        return Fail("bench", "raw RocksDB flush failed");
      raw_seconds += Seconds(t);
    }
    db->Close().PermitUncheckedError();
  }
  const double raw_rate = raw_events / std::max(1e-9, raw_seconds);
  PrintLine(fmt::format(
      "bench simulate: profile {}, scale {}, {} days from {}, seed {}; {} commands per append, {}",
      o.profile, o.scale, o.days, o.from, o.seed, o.batch,
      o.durable ? "each synced to the WAL" : "a bulk load (no WAL) flushed at the end"));
  PrintLine(fmt::format("  {:>12} {:>12} {:>10} {:>14} {:>9} {:>9} {:>16} {:>10}", "calls",
                        "events", "seconds", "simulate ev/s", "peak MiB", "disk MiB",
                        "raw RocksDB ev/s", "vs raw"));
  PrintLine(fmt::format(
      "  {:>12} {:>12} {:>10.1f} {:>14.0f} {:>9.0f} {:>9.0f} {:>16.0f} {:>9.0f}%", summary.calls,
      summary.events, summary.seconds, summary.events / std::max(1e-9, summary.seconds),
      peak_kb / 1024.0, disk / 1048576.0, raw_rate,
      100.0 * summary.events / std::max(1e-9, summary.seconds) / std::max(1e-9, raw_rate)));
  if (o.dir.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return 0;
}

// ---------------------------------------------------------------- bench link

struct LinkBenchOptions {
  std::string profile = "henan-2021";
  double scale = 0.04;
  int days = 365;
  uint64_t seed = 1;
  std::string model;
  std::string dir;
  double live_seconds = 5;
  int live_rate = 200;  // incidents per second in the live case
  std::string data;     // an existing log to rebuild from instead of simulating one
};

// Rebuild: the simulated log read through the linker (decode and decide, no
// appends) beside reading and decoding it alone; per million incidents, to
// show the cost stays flat as the history grows. Live: incidents submitted
// at a steady rate while a linker follows the log and appends its links; the
// latency from a classification's append to its link's append.
int RunLinkBench(const LinkBenchOptions& o) {
  std::string model_path = o.model;
  if (model_path.empty()) {
    auto p = projections::linker::DefaultModelPath();
    if (!p.ok()) return Fail("bench", p.status());
    model_path = *p;
  }
  auto model = projections::linker::Model::Load(model_path);
  if (!model.ok()) return Fail("bench", model.status());
  auto profile_dir = sim::FindProfile(o.profile);
  if (!profile_dir.ok()) return Fail("bench", profile_dir.status());
  auto profile = sim::Profile::Load(*profile_dir);
  if (!profile.ok()) return Fail("bench", profile.status());
  std::string dir = o.dir;
  if (dir.empty()) {
    char tmpl[] = "/tmp/blotter-bench-link-XXXXXX";
    if (!mkdtemp(tmpl)) return Fail("bench", "cannot make a scratch directory in /tmp");
    dir = tmpl;
  }
  auto log = EmbeddedLog::Open(o.data.empty() ? (fs::path(dir) / "log").string() : o.data);
  if (!log.ok()) return Fail("bench", log.status());
  if (o.data.empty()) {
    sim::SimulateOptions so;
    so.scale = o.scale;
    so.from = sim::ParseDay("2021-01-01").value();
    so.days = o.days;
    so.seed = o.seed;
    Progress progress("simulate the history (calls)", 0, true);
    sim::Truth truth;
    auto r = Simulate(log->get(), *profile, so, 20000, &progress, &truth);
    progress.Finish();
    if (!r.ok()) return Fail("bench", r.status());
  }
  // Read twice: decode only (the ceiling), then decode and link.
  auto pass = [&](bool link, std::vector<std::pair<uint64_t, double>>* segments,
                  projections::linker::LinkerStats* stats) -> Result<std::pair<uint64_t, double>> {
    projections::linker::Linker linker(*model);
    std::vector<Command> out;
    uint64_t incidents = 0, next_mark = 1'000'000;
    const auto start = std::chrono::steady_clock::now();
    auto mark = start;
    BLOTTER_RETURN_IF_ERROR(ForEachRecord(**log, "", [&](LogRecord& r) -> Status {
      BLOTTER_ASSIGN_OR_RETURN(const fb::Event* e, DecodeEvent(r.bytes));
      if (e->payload_type() == fb::Payload::IncidentClassified) ++incidents;
      if (link) {
        out.clear();
        linker.Observe(*e, &out);
      }
      if (segments && incidents >= next_mark) {
        const auto now = std::chrono::steady_clock::now();
        segments->emplace_back(incidents, std::chrono::duration<double>(now - mark).count());
        mark = now;
        next_mark += 1'000'000;
      }
      return Status::Ok();
    }));
    if (stats) *stats = linker.stats();
    return std::make_pair(incidents, Seconds(start));
  };
  auto ceiling = pass(false, nullptr, nullptr);
  if (!ceiling.ok()) return Fail("bench", ceiling.status());
  std::vector<std::pair<uint64_t, double>> segments;
  projections::linker::LinkerStats stats;
  auto linked = pass(true, &segments, &stats);
  if (!linked.ok()) return Fail("bench", linked.status());
  PrintLine(o.data.empty()
                ? fmt::format("bench link: model {}, history simulated at scale {} over {} days",
                              model->version(), o.scale, o.days)
                : fmt::format("bench link: model {}, history from {}", model->version(), o.data));
  PrintLine(fmt::format(
      "  rebuild: {} incidents ({} linkable, {} pairs scored, {} links decided) in {:.2f} s: "
      "{:.0f} incidents/s; reading and decoding alone {:.0f} incidents/s ({:.0f}%)",
      linked->first, stats.classified, stats.pairs, stats.proposed, linked->second,
      linked->first / linked->second, ceiling->first / ceiling->second,
      100.0 * (linked->first / linked->second) / (ceiling->first / ceiling->second)));
  uint64_t prev = 0;
  for (const auto& [n, secs] : segments) {
    PrintLine(fmt::format("    incidents {:>9} to {:>9}: {:.0f} incidents/s", prev, n,
                          (n - prev) / secs));
    prev = n;
  }

  // Live: a writer submits fuel thefts near each other; a linker follows.
  auto live_log = EmbeddedLog::Open((fs::path(dir) / "live").string());
  if (!live_log.ok()) return Fail("bench", live_log.status());
  std::mutex mu;
  std::map<std::string, std::chrono::steady_clock::time_point> classified_at;
  std::vector<double> latencies_ms;
  std::atomic<bool> writing{true};
  std::thread linker_thread([&] {
    projections::linker::Linker linker(*model);
    SystemClock clock;
    CommandHandler handler(live_log->get(), &clock);
    ReaderOptions ro;
    auto reader = (*live_log)->NewReader(ro);
    if (!reader.ok()) return;
    std::vector<Command> out;
    auto quiet_since = std::chrono::steady_clock::now();
    while (true) {
      auto batch = (*reader)->Poll(1000, std::chrono::milliseconds(50));
      if (!batch.ok() || batch->empty()) {
        if (!writing && std::chrono::steady_clock::now() - quiet_since > std::chrono::seconds(1))
          break;
        continue;
      }
      quiet_since = std::chrono::steady_clock::now();
      out.clear();
      for (const auto& r : *batch) {
        auto e = DecodeEvent(r.bytes);
        if (e.ok()) linker.Observe(**e, &out);
      }
      if (out.empty()) continue;
      auto results = handler.HandleBatch(out);
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard lock(mu);
      for (size_t i = 0; i < out.size(); ++i) {
        if (!results[i].ok() || results[i]->repeated) continue;
        auto it = classified_at.find(out[i].incident_id);
        if (it == classified_at.end()) continue;  // a link to an earlier incident
        latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
        classified_at.erase(it);
      }
    }
  });
  {
    SystemClock clock;
    CommandHandler writer(live_log->get(), &clock);
    const auto start = std::chrono::steady_clock::now();
    const auto gap = std::chrono::microseconds(1'000'000 / std::max(1, o.live_rate));
    std::mt19937_64 rng(7);
    for (int n = 0; Seconds(start) < o.live_seconds; ++n) {
      const Micros now = NowMicros();
      const std::string id = fmt::format("411681-live-{:07}", n);
      Json r = {{"command_id", "r" + id},
                {"type", "receive"},
                {"incident_id", id},
                {"actor", "op:1"},
                {"at", FormatTime(now)},
                {"channel", "phone"},
                {"location",
                 {{"lat", 33.46 + (rng() % 1000) / 50000.0},
                  {"lon", 114.87 + (rng() % 1000) / 50000.0},
                  {"division", "411681"}}},
                {"description", "停在物流园的货车油箱被撬，柴油被盗"},
                {"happened",
                 {{"from", FormatTime(now - 5 * kMicrosPerHour)},
                  {"to", FormatTime(now - 4 * kMicrosPerHour)}}}};
      Json k = {{"command_id", "k" + id},
                {"type", "classify"},
                {"incident_id", id},
                {"actor", "op:1"},
                {"at", FormatTime(now)},
                {"category", "criminal"},
                {"subtype", "fuel_theft"},
                {"mo_tags", {"diesel", "night", "parked_lorry", "siphon_hose"}}};
      auto rc = writer.Handle(CommandFromJson(r.dump()).value());
      if (!rc.ok()) return Fail("bench", rc.status());
      {
        // The clock starts when the classification is in the log.
        auto kc = writer.Handle(CommandFromJson(k.dump()).value());
        if (!kc.ok()) return Fail("bench", kc.status());
        std::lock_guard lock(mu);
        classified_at[id] = std::chrono::steady_clock::now();
      }
      std::this_thread::sleep_until(start + gap * (n + 1));
    }
    writing = false;
  }
  linker_thread.join();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto q = [&](double p) {
    return latencies_ms.empty()
               ? 0.0
               : latencies_ms[std::min(latencies_ms.size() - 1,
                                       static_cast<size_t>(p * latencies_ms.size()))];
  };
  PrintLine(
      fmt::format("  live: {} incidents at {}/s linked; classification to link appended: "
                  "p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms",
                  latencies_ms.size(), o.live_rate, q(0.5), q(0.99),
                  latencies_ms.empty() ? 0.0 : latencies_ms.back()));
  if (o.dir.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return 0;
}

Subcommand AddBench(CLI::App& root) {
  auto o = std::make_shared<BenchOptions>();
  Subcommand c;
  c.app = root.add_subcommand("bench", "throughput benchmarks, each beside its ceiling");
  c.app->require_subcommand(1);
  CLI::App* append = c.app->add_subcommand(
      "append", "durable append throughput of the event log vs raw synced RocksDB write batches");
  AddLogOptions(append, &o->log, "bench");
  append->add_option("--events", o->events, "events to append in each case")->capture_default_str();
  append->add_option("--batch", o->batch, "events per append")->capture_default_str();
  append->add_option("--appenders", o->appenders, "concurrent appenders, one case each")
      ->capture_default_str()
      ->delimiter(',');
  append
      ->add_option("--small-appenders", o->small_appenders,
                   "appenders in the one-event-per-append case (group commit)")
      ->capture_default_str();
  append->add_option("--small-events", o->small_events, "events in that case")
      ->capture_default_str();
  append->add_option("--dir", o->dir, "scratch directory (default: a new one in /tmp, removed)");
  append
      ->add_option("--commit-events", o->kafka_commit_events,
                   "with --kafka: events per transaction, one case each (the first also for "
                   "several appenders)")
      ->capture_default_str()
      ->delimiter(',');
  auto po = std::make_shared<ProjectBenchOptions>();
  CLI::App* project = c.app->add_subcommand(
      "project", "rebuild throughput and peak memory of the projections vs reading the log");
  AddLogOptions(project, &po->log, "bench");
  project->add_option("--events", po->events, "log sizes, one case each (e.g. 1000000,10000000)")
      ->capture_default_str()
      ->delimiter(',');
  project
      ->add_option("--rounds", po->rounds,
                   "rounds of measures per size; each row gives medians and the range of the "
                   "rounds' ratios")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  project->add_option("--dir", po->dir, "scratch directory (default: a new one in /tmp, removed)");
  auto so = std::make_shared<SimulateBenchOptions>();
  CLI::App* simulate = c.app->add_subcommand(
      "simulate", "events simulated per second into the embedded log vs raw RocksDB writes");
  simulate->add_option("--profile", so->profile, "profile name or directory")
      ->capture_default_str();
  simulate->add_option("--scale", so->scale, "share of the profile's volumes")
      ->capture_default_str();
  simulate->add_option("--from", so->from, "first day")->capture_default_str();
  simulate->add_option("--days", so->days, "days")->capture_default_str();
  simulate->add_option("--seed", so->seed, "seed")->capture_default_str();
  simulate->add_option("--batch", so->batch, "commands per append")->capture_default_str();
  simulate->add_option("--dir", so->dir, "scratch directory (default: a new one in /tmp, removed)");
  simulate->add_flag("--durable", so->durable,
                     "sync each append to the WAL (simulate --durable) instead of a bulk load");
  auto lo = std::make_shared<LinkBenchOptions>();
  CLI::App* link = c.app->add_subcommand(
      "link", "linker rebuild throughput vs decoding alone, and live link latency");
  link->add_option("--scale", lo->scale, "history to simulate (0.04: about a million incidents)")
      ->capture_default_str();
  link->add_option("--days", lo->days, "days of history")->capture_default_str();
  link->add_option("--model", lo->model, "linking model (default projections/linker/model.json)");
  link->add_option("--live-seconds", lo->live_seconds, "length of the live case")
      ->capture_default_str();
  link->add_option("--live-rate", lo->live_rate, "incidents per second in the live case")
      ->capture_default_str();
  link->add_option("--dir", lo->dir, "scratch directory (default: a new one in /tmp, removed)");
  link->add_option("--data", lo->data,
                   "rebuild from this existing embedded log instead of simulating one");
  // Internal: the measured half of bench project, run in a process of its own.
  auto mo = std::make_shared<LogOptions>();
  auto what = std::make_shared<std::string>();
  auto views = std::make_shared<std::string>();
  CLI::App* measure = c.app->add_subcommand("measure", "");
  measure->group("");  // hidden
  AddLogOptions(measure, mo.get(), "bench");
  measure->add_option("what", *what)->check(CLI::IsMember({"read", "project"}))->required();
  measure->add_option("--views-dir", *views);
  auto view_names = std::make_shared<std::vector<std::string>>();
  measure->add_option("--views", *view_names)->delimiter(',');
  c.run = [o, po, so, lo, mo, what, views, view_names, append, project, simulate, link, measure] {
    if (!measure->parsed()) PrintLine(fmt::format("bench: allocator {}", AllocatorName()));
    if (append->parsed()) return RunAppend(*o);
    if (project->parsed()) return RunProjectBench(*po);
    if (simulate->parsed()) return RunSimulateBench(*so);
    if (link->parsed()) return RunLinkBench(*lo);
    if (measure->parsed()) return RunMeasure(*mo, *what, *views, *view_names);
    return Fail("bench", "name a benchmark: append, project, simulate, link");
  };
  return c;
}

}  // namespace blotter::cli
