#include "projections/prefetcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "events/sample_events.h"

namespace blotter::projections {
namespace {

// A reader that returns scripted polls, then the end of the stream; its
// position is the number of polls made. A test double of one piece.
class ScriptedReader final : public LogReader {
 public:
  explicit ScriptedReader(std::vector<Result<std::vector<LogRecord>>> polls)
      : polls_(std::move(polls)) {}
  Result<std::vector<LogRecord>> Poll(size_t, std::chrono::milliseconds) override {
    const size_t n = polls_made_++;
    if (n >= polls_.size()) return Status::EndOfStream();
    return polls_[n];
  }
  std::vector<Position> positions() const override {
    return {{0, static_cast<int64_t>(polls_made_.load())}};
  }
  size_t polls_made() const { return polls_made_; }

 private:
  std::vector<Result<std::vector<LogRecord>>> polls_;
  std::atomic<size_t> polls_made_{0};
};

std::vector<LogRecord> Records(std::vector<std::string> bytes) {
  std::vector<LogRecord> out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    out.push_back({{0, static_cast<int64_t>(i)}, std::move(bytes[i])});
  }
  return out;
}

TEST(PrefetcherTest, DeliversBatchesInOrderVerifiedThenTheEnd) {
  const auto chain = testing::SealedChain("411681-20211015-000001", 3);
  ScriptedReader reader({Records({chain[0].bytes(), "not an event at all"}),
                         Records({chain[1].bytes(), chain[2].bytes()})});
  Prefetcher prefetcher(&reader, 100, /*retry_unavailable=*/false);

  Polled first = prefetcher.Next();
  ASSERT_TRUE(first.batch.ok());
  ASSERT_EQ(first.batch->size(), 2u);
  EXPECT_EQ((*first.batch)[0].bytes, chain[0].bytes());
  EXPECT_EQ(first.errors[0], "");
  EXPECT_NE(first.errors[1], "");  // garbage is named, not dropped
  EXPECT_EQ(first.positions, (std::vector<Position>{{0, 1}}));
  prefetcher.Recycle(std::move(first));

  Polled second = prefetcher.Next();
  ASSERT_TRUE(second.batch.ok());
  ASSERT_EQ(second.batch->size(), 2u);
  EXPECT_EQ((*second.batch)[1].bytes, chain[2].bytes());
  EXPECT_EQ(second.errors, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(second.positions, (std::vector<Position>{{0, 2}}));
  prefetcher.Recycle(std::move(second));

  EXPECT_EQ(prefetcher.Next().batch.status().code(), StatusCode::kEndOfStream);
}

TEST(PrefetcherTest, RetriesUnavailableOnlyWhenAsked) {
  const auto chain = testing::SealedChain("411681-20211015-000002", 1);
  for (const bool retry : {true, false}) {
    ScriptedReader reader({Status::Unavailable("broker away"), Records({chain[0].bytes()})});
    {
      Prefetcher prefetcher(&reader, 100, retry);
      EXPECT_EQ(prefetcher.Next().batch.status().code(), StatusCode::kUnavailable);
      if (retry) {
        Polled next = prefetcher.Next();
        ASSERT_TRUE(next.batch.ok()) << next.batch.status().ToString();
        EXPECT_EQ(next.batch->size(), 1u);
      } else {
        // Give a reading thread that wrongly went on the time to poll again.
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        while (reader.polls_made() < 2 && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
    }  // joins the reading thread
    if (!retry) {
      EXPECT_EQ(reader.polls_made(), 1u) << "stopped after the error";
    }
  }
}

}  // namespace
}  // namespace blotter::projections
