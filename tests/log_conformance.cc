#include "tests/log_conformance.h"

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <thread>

#include "events/hash_chain.h"
#include "events/sample_events.h"

namespace blotter::testing {

std::vector<LogRecord> ReadAll(EventLog& log) {
  std::vector<LogRecord> out;
  ReaderOptions ro;
  ro.stop_at = log.EndOffsets().value();
  auto reader = log.NewReader(ro);
  EXPECT_TRUE(reader.ok());
  while (true) {
    auto batch = (*reader)->Poll(1000, std::chrono::seconds(20));
    if (!batch.ok()) {
      EXPECT_EQ(batch.status().code(), StatusCode::kEndOfStream) << batch.status().ToString();
      return out;
    }
    for (auto& r : *batch) out.push_back(std::move(r));
  }
}

namespace {

using namespace std::chrono_literals;

TEST_P(LogConformanceTest, AppendsAndReadsBackInOrder) {
  auto log = NewLog(4);
  ASSERT_EQ(log->partitions(), 4);
  auto a = SealedChain("411681-20211008-0001", 5);
  auto b = SealedChain("411625-20211021-0003", 3);
  auto pa = log->Append(a);
  ASSERT_TRUE(pa.ok()) << pa.status().ToString();
  auto pb = log->Append(b);
  ASSERT_TRUE(pb.ok()) << pb.status().ToString();
  ASSERT_EQ(pa->size(), 5u);
  for (size_t i = 0; i < pa->size(); ++i) {
    EXPECT_EQ((*pa)[i].partition, log->PartitionOf("411681-20211008-0001"));
    // Offsets grow within a partition; they need not be dense (Kafka's
    // transaction markers take offsets too).
    if (i > 0) {
      EXPECT_GT((*pa)[i].offset, (*pa)[i - 1].offset);
    }
  }

  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 8u);
  std::map<std::string, uint64_t> last;
  for (const auto& r : all) {
    auto e = DecodeEvent(r.bytes);
    ASSERT_TRUE(e.ok());
    const std::string id = (*e)->incident_id()->str();
    EXPECT_EQ(r.position.partition, log->PartitionOf(id));
    EXPECT_EQ((*e)->sequence(), last[id] + 1) << "per-incident order";
    last[id] = (*e)->sequence();
  }
  auto history = log->ReadIncident("411681-20211008-0001");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*history)[i].bytes, a[i].bytes());
    EXPECT_EQ((*history)[i].position, (*pa)[i]);
  }
  EXPECT_TRUE(log->ReadIncident("no-such-incident").value().empty());
}

// ReadAt, which the history view's readers use: any positions, in any order,
// repeated; near ones read on, far ones fetched.
TEST_P(LogConformanceTest, ReadsTheEventsAtPositions) {
  auto log = NewLog(3);
  auto a = SealedChain("411681-20211008-0001", 400);
  auto b = SealedChain("411625-20211021-0003", 3);
  auto pa = log->Append(a).value();
  auto pb = log->Append(b).value();
  const std::vector<std::pair<Position, std::string>> want = {
      {pa[399], a[399].bytes()}, {pa[0], a[0].bytes()},     {pa[1], a[1].bytes()},
      {pb[2], b[2].bytes()},     {pa[300], a[300].bytes()}, {pa[300], a[300].bytes()},
      {pa[301], a[301].bytes()}, {pb[0], b[0].bytes()},
  };
  std::vector<Position> positions;
  for (const auto& w : want) positions.push_back(w.first);
  auto got = log->ReadAt(positions);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*got)[i].position, want[i].first) << i;
    EXPECT_EQ((*got)[i].bytes, want[i].second) << i;
  }
  EXPECT_TRUE(log->ReadAt({}).value().empty());
  const int32_t p = pa[0].partition;
  const Position past_end{p, log->EndOffsets().value()[p] + 3};
  EXPECT_EQ(log->ReadAt(std::vector<Position>{pa[0], past_end}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(log->ReadAt(std::vector<Position>{{7, 0}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(LogConformanceTest, HeadIsTheLastEvent) {
  auto log = NewLog(2);
  auto h0 = log->Head("x");
  ASSERT_TRUE(h0.ok());
  EXPECT_EQ(h0->sequence, 0u);
  EXPECT_EQ(h0->hash, GenesisHash());
  auto chain = SealedChain("x", 3);
  ASSERT_TRUE(log->Append(chain).ok());
  auto h = log->Head("x");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->sequence, 3u);
  EXPECT_EQ(h->hash, chain[2].hash());
}

struct ConflictCase {
  const char* name;
  std::function<std::vector<EncodedEvent>(const std::vector<EncodedEvent>& chain)> make;
};

TEST_P(LogConformanceTest, RejectsConflictingAppendsWhole) {
  const ConflictCase cases[] = {
      {"gap", [](const auto& c) { return std::vector<EncodedEvent>{c[3]}; }},
      {"repeat", [](const auto& c) { return std::vector<EncodedEvent>{c[1]}; }},
      {"restart at 1", [](const auto&) { return SealedChain("x", 1); }},
      {"wrong prev_hash",
       [](const auto& c) { return SealedChain("x", 1, 3, std::string(32, 'z')); }},
      {"good then bad in one append",
       [](const auto& c) {
         return std::vector<EncodedEvent>{c[2], c[4]};
       }},
      {"other incident fine, this one bad",
       [](const auto& c) {
         auto v = SealedChain("y", 1);
         v.push_back(c[0]);
         return v;
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto log = NewLog(3);
    auto chain = SealedChain("x", 5);
    ASSERT_TRUE(log->Append(std::span(chain).subspan(0, 2)).ok());
    auto r = log->Append(c.make(chain));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kConflict) << r.status().ToString();
    EXPECT_EQ(ReadAll(*log).size(), 2u) << "nothing appended";
    EXPECT_EQ(log->Head("x").value().sequence, 2u);
    EXPECT_EQ(log->Head("y").value().sequence, 0u);
    // The log goes on accepting the right next event.
    EXPECT_TRUE(log->Append(std::span(chain).subspan(2, 1)).ok());
  }
}

TEST_P(LogConformanceTest, ConcurrentAppendersKeepEachIncidentWhole) {
  auto log = NewLog(4);
  constexpr int kThreads = 8, kIncidents = 20, kEvents = 6;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncidents; ++i) {
        auto chain = SealedChain(fmt::format("t{}-i{}", t, i), kEvents);
        for (const auto& e : chain) {  // one event per append: the group-commit path
          if (!log->Append(std::span(&e, 1)).ok()) ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  auto all = ReadAll(*log);
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kIncidents * kEvents));
  ChainVerifier v;
  for (const auto& r : all) {
    auto e = DecodeEvent(r.bytes);
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(v.Check(**e).ok());
  }
  EXPECT_EQ(v.incidents(), static_cast<size_t>(kThreads * kIncidents));
}

TEST_P(LogConformanceTest, ConcurrentWritersOfOneIncidentNeverInterleave) {
  auto log = NewLog(2);
  auto base = SealedChain("contested", 1);
  ASSERT_TRUE(log->Append(base).ok());
  // Two writers each try to extend the same incident from sequence 1.
  std::vector<std::vector<EncodedEvent>> forks;
  for (int w = 0; w < 2; ++w) {
    fb::EventT e = SampleEvent(fb::Payload::NoteAdded, "contested", 2);
    e.actor = fmt::format("writer-{}", w);
    e.prev_hash.assign(base[0].hash().begin(), base[0].hash().end());
    std::vector<EncodedEvent> fork;
    fork.push_back(Seal(e).value());
    forks.push_back(std::move(fork));
  }
  std::atomic<int> ok{0}, conflicts{0};
  std::thread t0([&] { (log->Append(forks[0]).ok() ? ok : conflicts)++; });
  std::thread t1([&] { (log->Append(forks[1]).ok() ? ok : conflicts)++; });
  t0.join();
  t1.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(conflicts, 1);
  EXPECT_EQ(log->ReadIncident("contested").value().size(), 2u);
}

TEST_P(LogConformanceTest, ReaderBlocksUntilAnAppendWakesIt) {
  auto log = NewLog(2);
  auto reader = log->NewReader({});
  ASSERT_TRUE(reader.ok());
  auto empty = (*reader)->Poll(10, 50ms);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty()) << "timeout gives an empty batch";

  auto chain = SealedChain("late", 2);
  std::thread writer([&] {
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(log->Append(chain).ok());
  });
  const auto start = std::chrono::steady_clock::now();
  std::vector<LogRecord> got;
  while (got.size() < 2 && std::chrono::steady_clock::now() - start < 20s) {
    auto batch = (*reader)->Poll(10, 20s);
    ASSERT_TRUE(batch.ok());
    for (auto& r : *batch) got.push_back(std::move(r));
  }
  const auto waited = std::chrono::steady_clock::now() - start;
  writer.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 10s) << "woken by the append, not by the timeout";
  EXPECT_EQ(got[0].bytes, chain[0].bytes());
  const auto pos = (*reader)->positions();
  EXPECT_GT(pos[log->PartitionOf("late")].offset, got[1].position.offset);
}

TEST_P(LogConformanceTest, ReaderStopsAtEndAndStartsAtPositions) {
  auto log = NewLog(3);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(log->Append(SealedChain(fmt::format("s{}", i), 2)).ok());
  const auto ends = log->EndOffsets().value();
  // Up to here: later appends are not read.
  ReaderOptions upto;
  upto.stop_at = ends;
  auto reader = log->NewReader(upto);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(log->Append(SealedChain("after-the-end", 1)).ok());
  size_t n = 0;
  while (true) {
    auto batch = (*reader)->Poll(5, 5s);
    if (!batch.ok()) {
      EXPECT_EQ(batch.status().code(), StatusCode::kEndOfStream);
      break;
    }
    n += batch->size();
  }
  EXPECT_EQ(n, 24u);

  // One partition from its second record on.
  const int32_t p = log->PartitionOf("s0");
  std::vector<int64_t> offsets;
  for (const auto& r : ReadAll(*log)) {
    if (r.position.partition == p) offsets.push_back(r.position.offset);
  }
  ASSERT_GE(offsets.size(), 2u);
  ReaderOptions from;
  from.start = {Position{p, offsets[1]}};
  from.stop_at = std::vector<int64_t>{ends[p]};
  auto one = log->NewReader(from);
  ASSERT_TRUE(one.ok());
  size_t m = 0;
  while (true) {
    auto batch = (*one)->Poll(100, 5s);
    if (!batch.ok()) break;
    for (const auto& r : *batch) {
      EXPECT_EQ(r.position.partition, p);
      EXPECT_GE(r.position.offset, offsets[1]);
      ++m;
    }
  }
  // Everything of p up to the end read at the start: s0..s11 but not after-the-end.
  size_t want = 0;
  for (int64_t o : offsets) want += o >= offsets[1] && o < ends[p];
  EXPECT_EQ(m, want);

  ReaderOptions bad;
  bad.start = {Position{99, 0}};
  EXPECT_FALSE(log->NewReader(bad).ok());
}

TEST_P(LogConformanceTest, SurvivesReopen) {
  auto log = NewLog(4);
  auto chain = SealedChain("kept", 4);
  ASSERT_TRUE(log->Append(chain).ok());
  log.reset();
  log = harness_->Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->partitions(), 4);
  EXPECT_EQ(ReadAll(*log).size(), 4u);
  EXPECT_EQ(log->Head("kept").value().sequence, 4u);
  auto more = SealedChain("kept", 1, 5, std::string(chain[3].hash()));
  EXPECT_TRUE(log->Append(more).ok());
  EXPECT_EQ(log->ReadIncident("kept").value().size(), 5u);
}

}  // namespace
}  // namespace blotter::testing
