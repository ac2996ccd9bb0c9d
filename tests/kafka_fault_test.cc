// A broker restart in the middle of a stream of appends and reads: no
// acknowledged event is lost, none is duplicated, the writer carries on, and
// a reader resumes from its position. Restarts the broker tools/test.sh
// started (BLOTTER_KAFKA_DIR), with tools/kafka/stop.sh and start.sh.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "events/kafka_log.h"
#include "events/sample_events.h"

namespace blotter::testing {
namespace {

using namespace std::chrono_literals;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int Shell(const std::string& command) { return std::system(command.c_str()); }

TEST(KafkaFaultTest, BrokerRestartLosesNothingAndDuplicatesNothing) {
  const std::string bootstrap = Env("BLOTTER_KAFKA_BOOTSTRAP");
  const std::string dir = Env("BLOTTER_KAFKA_DIR");
  ASSERT_FALSE(bootstrap.empty() || dir.empty())
      << "run through tools/test.sh, which starts the broker and sets BLOTTER_KAFKA_*";
  const std::string tools = std::string(BLOTTER_SOURCE_DIR) + "/tools/kafka/";

  KafkaLogOptions o;
  o.bootstrap = bootstrap;
  o.topic_prefix =
      fmt::format("fault-{}", std::chrono::system_clock::now().time_since_epoch().count());
  o.transactional_id = o.topic_prefix;
  o.partitions = 4;
  o.timeout_ms = 15000;
  auto log = KafkaLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();

  constexpr int kBatches = 40, kPerBatch = 5;
  std::mutex mu;
  std::vector<int> acked;
  std::atomic<int> retries{0}, landed_unclear{0};
  std::atomic<bool> writer_failed{false};
  std::thread writer([&] {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<EncodedEvent> batch;
      for (int k = 0; k < kPerBatch; ++k)
        batch.push_back(SealedChain(fmt::format("r{}-{}", b, k), 1)[0]);
      const auto deadline = std::chrono::steady_clock::now() + 180s;
      while (true) {
        auto r = (*log)->Append(batch);
        if (r.ok() || r.status().code() == StatusCode::kConflict) {
          // kConflict: an earlier attempt whose outcome was unclear did land.
          if (!r.ok()) ++landed_unclear;
          std::lock_guard l(mu);
          acked.push_back(b);
          break;
        }
        if (r.status().code() == StatusCode::kFenced ||
            std::chrono::steady_clock::now() > deadline) {
          ADD_FAILURE() << "writer gave up: " << r.status().ToString();
          writer_failed = true;
          return;
        }
        ++retries;
        std::this_thread::sleep_for(200ms);
      }
      std::this_thread::sleep_for(50ms);
    }
  });

  // A reader that follows the stream through the restart.
  std::map<std::string, int> seen;
  std::thread reader([&] {
    KafkaLogOptions ro = o;
    ro.writer = false;
    auto rlog = KafkaLog::Open(ro);
    ASSERT_TRUE(rlog.ok());
    auto r = (*rlog)->NewReader({});
    ASSERT_TRUE(r.ok());
    const auto deadline = std::chrono::steady_clock::now() + 240s;
    size_t total = 0;
    while (total < static_cast<size_t>(kBatches * kPerBatch) &&
           std::chrono::steady_clock::now() < deadline && !writer_failed) {
      auto batch = (*r)->Poll(500, 1s);
      if (!batch.ok()) continue;  // broker away: the consumer reconnects by itself
      for (const auto& rec : *batch) {
        auto e = DecodeEvent(rec.bytes);
        ASSERT_TRUE(e.ok());
        ++seen[(*e)->incident_id()->str()];
        ++total;
      }
    }
  });

  while (true) {
    {
      std::lock_guard l(mu);
      if (acked.size() >= 8 || writer_failed) break;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(Shell(tools + "stop.sh " + dir), 0);
  std::this_thread::sleep_for(2s);
  ASSERT_EQ(Shell(tools + "start.sh " + dir + " >/dev/null"), 0);
  writer.join();
  reader.join();

  ASSERT_EQ(acked.size(), static_cast<size_t>(kBatches)) << "the writer did not carry on";
  // Everything acknowledged is there exactly once, for a fresh reader too.
  KafkaLogOptions fresh = o;
  fresh.writer = false;
  auto check = KafkaLog::Open(fresh);
  ASSERT_TRUE(check.ok());
  ReaderOptions all;
  all.stop_at = (*check)->EndOffsets().value();
  auto r = (*check)->NewReader(all);
  ASSERT_TRUE(r.ok());
  std::map<std::string, int> stored;
  while (true) {
    auto batch = (*r)->Poll(1000, 30s);
    if (!batch.ok()) break;
    for (const auto& rec : *batch) ++stored[DecodeEvent(rec.bytes).value()->incident_id()->str()];
  }
  EXPECT_EQ(stored.size(), static_cast<size_t>(kBatches * kPerBatch));
  for (const auto& [id, n] : stored) EXPECT_EQ(n, 1) << id << " duplicated";
  EXPECT_EQ(seen.size(), static_cast<size_t>(kBatches * kPerBatch)) << "the reader did not resume";
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id << " read twice";
  std::printf(
      "broker restart: %d batches acknowledged, %d append attempts retried, %d landed "
      "from an unclear attempt; %zu events stored once each\n",
      kBatches, retries.load(), landed_unclear.load(), stored.size());
}

}  // namespace
}  // namespace blotter::testing
