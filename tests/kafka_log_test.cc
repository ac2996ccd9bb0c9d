// The Kafka event log against a real broker (tools/kafka/start.sh; tools/test.sh
// starts one and sets BLOTTER_KAFKA_BOOTSTRAP): the conformance suite,
// unchanged, and what only Kafka has to show: fencing, and a broker restart
// in the middle of a stream of appends.

#include "events/kafka_log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "events/hash_chain.h"
#include "events/sample_events.h"
#include "tests/log_conformance.h"

namespace blotter::testing {
namespace {

using namespace std::chrono_literals;

std::string Bootstrap() {
  const char* b = std::getenv("BLOTTER_KAFKA_BOOTSTRAP");
  return b ? b : "";
}

std::string UniquePrefix(const char* what) {
  static std::atomic<int> n{0};
  return fmt::format("test-{}-{}-{}-{}", what, getpid(),
                     std::chrono::system_clock::now().time_since_epoch().count() % 1000000000, n++);
}

class KafkaHarness final : public LogHarness {
 public:
  std::unique_ptr<EventLog> NewLog(int32_t partitions) override {
    options_ = KafkaLogOptions();
    options_.bootstrap = Bootstrap();
    options_.topic_prefix = UniquePrefix("conformance");
    options_.transactional_id = options_.topic_prefix;
    options_.partitions = partitions;
    options_.timeout_ms = 20000;
    return Reopen();
  }
  std::unique_ptr<EventLog> Reopen() override {
    auto log = KafkaLog::Open(options_);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }

 private:
  KafkaLogOptions options_;
};

std::unique_ptr<LogHarness> MakeKafkaHarness() {
  if (Bootstrap().empty()) {
    ADD_FAILURE() << "BLOTTER_KAFKA_BOOTSTRAP is not set: start a broker (tools/kafka/start.sh) "
                     "or run tools/test.sh, which does";
  }
  return std::make_unique<KafkaHarness>();
}

INSTANTIATE_TEST_SUITE_P(Kafka, LogConformanceTest, ::testing::Values(&MakeKafkaHarness),
                         [](const auto&) { return std::string("Broker"); });

KafkaLogOptions Options(const std::string& prefix) {
  KafkaLogOptions o;
  o.bootstrap = Bootstrap();
  o.topic_prefix = prefix;
  o.transactional_id = prefix;
  o.partitions = 3;
  o.timeout_ms = 20000;
  return o;
}

TEST(KafkaLogTest, SecondWriterFencesTheFirst) {
  ASSERT_FALSE(Bootstrap().empty());
  const std::string prefix = UniquePrefix("fence");
  auto first = KafkaLog::Open(Options(prefix));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto a = SealedChain("fenced-incident", 4);
  ASSERT_TRUE((*first)->Append(std::span(a).subspan(0, 2)).ok());

  auto second = KafkaLog::Open(Options(prefix));  // same transactional.id
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto r = (*first)->Append(std::span(a).subspan(2, 1));
  ASSERT_FALSE(r.ok()) << "the fenced writer appended";
  EXPECT_EQ(r.status().code(), StatusCode::kFenced) << r.status().ToString();
  EXPECT_NE(r.status().message().find("took over"), std::string::npos) << r.status().message();
  // It stays stopped.
  EXPECT_EQ((*first)->Append(std::span(a).subspan(2, 1)).status().code(), StatusCode::kFenced);
  // The new writer rebuilt the heads and carries on from event 2.
  EXPECT_EQ((*second)->Head("fenced-incident").value().sequence, 2u);
  ASSERT_TRUE((*second)->Append(std::span(a).subspan(2, 2)).ok());

  ChainVerifier chains;
  size_t n = 0;
  for (const auto& rec : ReadAll(**second)) {
    auto e = DecodeEvent(rec.bytes);
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(chains.Check(**e).ok()) << "interleaved or repeated";
    ++n;
  }
  EXPECT_EQ(n, 4u);
}

TEST(KafkaLogTest, TopicIsCreatedAsTheSystemOfRecord) {
  ASSERT_FALSE(Bootstrap().empty());
  auto o = Options(UniquePrefix("topic"));
  o.partitions = 5;
  auto log = KafkaLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ((*log)->partitions(), 5);
  EXPECT_EQ((*log)->topic(), o.topic_prefix + ".incident-events");
  // A read-only open of the same topic finds it and its partition count.
  o.writer = false;
  o.partitions = 1;
  auto reader = KafkaLog::Open(o);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->partitions(), 5);
  EXPECT_EQ((*reader)->Append(SealedChain("x", 1)).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(KafkaLogTest, UnreachableBrokerIsAClearError) {
  KafkaLogOptions o;
  o.bootstrap = "127.0.0.1:1";  // nothing listens there
  o.topic_prefix = UniquePrefix("nowhere");
  o.timeout_ms = 3000;
  auto log = KafkaLog::Open(o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kUnavailable) << log.status().ToString();
}

TEST(KafkaLogTest, PropertiesFileIsReadAndBadOnesRefused) {
  const std::string path = fmt::format("/tmp/blotter-kafka-{}.properties", getpid());
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("# comment\nsecurity.protocol = plaintext\n\nsocket.timeout.ms=20000\n", f);
    std::fclose(f);
  }
  auto props = ReadKafkaProperties(path);
  ASSERT_TRUE(props.ok());
  ASSERT_EQ(props->size(), 2u);
  EXPECT_EQ((*props)[0].first, "security.protocol");
  EXPECT_EQ((*props)[0].second, "plaintext");
  KafkaLogOptions o = Options(UniquePrefix("props"));
  o.properties = {{"no.such.property", "1"}};
  auto log = KafkaLog::Open(o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(log.status().message().find("no.such.property"), std::string::npos);
  std::remove(path.c_str());
  EXPECT_EQ(ReadKafkaProperties(path).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace blotter::testing
