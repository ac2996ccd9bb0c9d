#include "services/command_handler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "events/embedded_log.h"
#include "events/hash_chain.h"
#include "tests/scratch_dir.h"

namespace blotter {
namespace {

constexpr char kReceive[] =
    R"({"command_id":"r1","type":"receive","incident_id":"411681-20211008-0001","actor":"op:7","at":"2021-10-08T06:41:00+08:00","channel":"phone","location":{"lat":33.44,"lon":114.89,"division":"411681"}})";
constexpr char kClassify[] =
    R"({"command_id":"c1","type":"classify","incident_id":"411681-20211008-0001","actor":"op:7","at":"2021-10-08T06:42:00+08:00","category":"criminal","subtype":"fuel_theft"})";
constexpr char kPrank[] =
    R"({"command_id":"c2","type":"classify","incident_id":"411681-20211008-0001","actor":"op:7","at":"2021-10-08T06:42:00+08:00","category":"invalid","subtype":"prank"})";

Command Parse(const char* line) { return CommandFromJson(line).value(); }

// A log whose appends take a while to land (a test double around a real one).
class SlowAppends final : public EventLog {
 public:
  explicit SlowAppends(EventLog* log) : log_(log) {}
  int32_t partitions() const override { return log_->partitions(); }
  Result<std::vector<Position>> Append(std::span<const EncodedEvent> events) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return log_->Append(events);
  }
  Result<std::vector<int64_t>> EndOffsets() override { return log_->EndOffsets(); }
  Result<IncidentHead> Head(std::string_view id) override { return log_->Head(id); }
  Result<std::vector<LogRecord>> ReadIncident(std::string_view id) override {
    return log_->ReadIncident(id);
  }
  Result<std::unique_ptr<LogReader>> NewReader(const ReaderOptions& o) override {
    return log_->NewReader(o);
  }

 private:
  EventLog* log_;
};

class CommandHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override { log_ = EmbeddedLog::Open(dir_.path()).value(); }
  // Events in the log (the embedded log's offsets count appends).
  int64_t Appended() { return log_->EndOffsets().value().at(0); }
  testing::ScratchDir dir_;
  std::unique_ptr<EventLog> log_;
  ManualClock clock_{ParseTime("2021-11-20T00:00:00+08:00").value()};
};

TEST_F(CommandHandlerTest, AppendsSealedChainedEvents) {
  CommandHandler h(log_.get(), &clock_);
  auto r1 = h.Handle(Parse(kReceive));
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  auto r2 = h.Handle(Parse(kClassify));
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  ASSERT_EQ(r2->events.size(), 1u);
  EXPECT_EQ(r2->events[0].sequence(), 2u);
  EXPECT_EQ(r2->events[0].prev_hash(), r1->events[0].hash());
  EXPECT_EQ(r2->events[0].recorded_at(), clock_.Now());
  EXPECT_EQ(r2->events[0].event()->event_id()->str(), "411681-20211008-0001#2");
  EXPECT_TRUE(VerifyEventHash(*r2->events[0].event()).ok());
  EXPECT_EQ(Appended(), 2);
}

TEST_F(CommandHandlerTest, RepeatedCommandReturnsFirstResultAndAppendsNothing) {
  CommandHandler h(log_.get(), &clock_);
  ASSERT_TRUE(h.Handle(Parse(kReceive)).ok());
  auto first = h.Handle(Parse(kPrank));  // two events: classified, resolved
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->events.size(), 2u);
  clock_.Advance(kMicrosPerMinute);
  // A console retrying on a flaky network, through a fresh writer too.
  for (int fresh = 0; fresh < 2; ++fresh) {
    CommandHandler other(log_.get(), &clock_);
    CommandHandler& w = fresh ? other : h;
    auto again = w.Handle(Parse(kPrank));
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_TRUE(again->repeated);
    ASSERT_EQ(again->events.size(), 2u);
    EXPECT_EQ(again->events[0].bytes(), first->events[0].bytes());
    EXPECT_EQ(again->events[1].bytes(), first->events[1].bytes());
  }
  EXPECT_EQ(Appended(), 3);
}

TEST_F(CommandHandlerTest, RejectionAppendsNothing) {
  CommandHandler h(log_.get(), &clock_);
  auto r = h.Handle(Parse(kClassify));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Appended(), 0);
}

TEST_F(CommandHandlerTest, StaleWriterReloadsAfterConflict) {
  CommandHandler a(log_.get(), &clock_);
  CommandHandler b(log_.get(), &clock_);
  ASSERT_TRUE(a.Handle(Parse(kReceive)).ok());
  ASSERT_TRUE(b.State("411681-20211008-0001").ok());  // b caches version 1
  ASSERT_TRUE(a.Handle(Parse(kClassify)).ok());       // log now at version 2
  // b decides against its stale state, the log refuses, b reloads and decides again.
  auto r = b.Handle(Parse(
      R"({"command_id":"n1","type":"note","incident_id":"411681-20211008-0001","actor":"op:8","text":"patrol"})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->events[0].sequence(), 3u);
  EXPECT_EQ(Appended(), 3);
}

TEST_F(CommandHandlerTest, BatchRejectsAloneAndAppendsTheRestOnce) {
  CommandHandler h(log_.get(), &clock_);
  std::vector<Command> batch = {
      Parse(kReceive), Parse(kClassify),
      Parse(
          R"({"command_id":"x","type":"arrive","incident_id":"411681-20211008-0001","actor":"u","unit_id":"nobody"})")};
  auto results = h.HandleBatch(batch);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_TRUE(results[1].ok());
  ASSERT_FALSE(results[2].ok());
  EXPECT_NE(results[2].status().message().find("was not assigned"), std::string::npos);
  EXPECT_EQ(Appended(), 2);
}

TEST_F(CommandHandlerTest, ReceiveWithoutIdGetsADeterministicOne) {
  CommandHandler h(log_.get(), &clock_);
  const char* line =
      R"({"command_id":"console-42","type":"receive","actor":"op:7","at":"2021-10-08T06:41:00+08:00","channel":"phone","location":{"lat":33.44,"lon":114.89,"division":"411681"}})";
  auto r = h.Handle(Parse(line));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->incident_id.substr(0, 16), "411681-20211008-");
  auto again = h.Handle(Parse(line));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->repeated);
  EXPECT_EQ(again->incident_id, r->incident_id);
}

TEST_F(CommandHandlerTest, RecordedTimeNeverRunsBackwards) {
  CommandHandler h(log_.get(), &clock_);
  ASSERT_TRUE(h.Handle(Parse(kReceive)).ok());
  const Micros first = clock_.Now();
  clock_.Set(first - kMicrosPerHour);  // the wall clock stepped back
  auto r = h.Handle(Parse(kClassify));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->events[0].recorded_at(), first);
}

// Pipelined: each batch's append runs while the next is decided; the log
// ends up the same, an evicted incident is read back only after its appends,
// and an append's error comes back from the next call and sticks.
TEST_F(CommandHandlerTest, PipelinedAppendsKeepOrderAndReportTheirError) {
  CommandHandlerOptions o;
  o.pipeline_appends = true;
  {
    SlowAppends slow(log_.get());
    CommandHandler h(&slow, &clock_, o);
    std::vector<Command> first = {Parse(kReceive)};
    ASSERT_TRUE(h.HandleBatch(first)[0].ok());
    std::vector<Command> second = {Parse(kClassify)};
    ASSERT_TRUE(h.HandleBatch(second)[0].ok());
    // Reading it back from the log waits for both appends.
    h.Evict("411681-20211008-0001");
    auto note = h.Handle(Parse(
        R"({"command_id":"n1","type":"note","incident_id":"411681-20211008-0001","actor":"op:8","text":"patrol"})"));
    ASSERT_TRUE(note.ok()) << note.status().ToString();
    EXPECT_EQ(note->events[0].sequence(), 3u);
    ASSERT_TRUE(h.Flush().ok());
    EXPECT_EQ(Appended(), 3);
  }
  // Another writer appends behind a pipelined handler's back: its next
  // append conflicts, and the error stays.
  CommandHandler h(log_.get(), &clock_, o);
  ASSERT_TRUE(h.State("411681-20211008-0001").ok());
  CommandHandler other(log_.get(), &clock_);
  ASSERT_TRUE(
      other
          .Handle(Parse(
              R"({"command_id":"n2","type":"note","incident_id":"411681-20211008-0001","actor":"op:9","text":"x"})"))
          .ok());
  std::vector<Command> stale = {Parse(
      R"({"command_id":"n3","type":"note","incident_id":"411681-20211008-0001","actor":"op:8","text":"y"})")};
  EXPECT_TRUE(h.HandleBatch(stale)[0].ok());  // decided; its append fails later
  EXPECT_EQ(h.Flush().code(), StatusCode::kConflict);
  std::vector<Command> after = {Parse(
      R"({"command_id":"n4","type":"note","incident_id":"411681-20211008-0001","actor":"op:8","text":"z"})")};
  auto r = h.HandleBatch(after);
  ASSERT_FALSE(r[0].ok());
  EXPECT_EQ(r[0].status().code(), StatusCode::kConflict);
  EXPECT_EQ(Appended(), 4);
}

}  // namespace
}  // namespace blotter
