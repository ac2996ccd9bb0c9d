#pragma once

// Reading ahead of a consumer: a thread of its own polls and verifies the
// next batches of a LogReader while the consumer works on the current one.
// The projection runner reads through it (a consumer-group reader excepted,
// runner.cc).

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"

namespace blotter::projections {

// One Poll's outcome, with the reader's positions after it and each record
// already verified: errors[i] says why record i does not decode (empty if it
// does).
struct Polled {
  Result<std::vector<LogRecord>> batch;
  std::vector<Position> positions;
  std::vector<std::string> errors;
};

// Polls `reader` once (waiting up to 500 ms) and verifies what it returns.
Polled PollVerified(LogReader* reader, size_t max_records);

// Keeps up to two verified batches ready. Stops after end-of-stream or after
// an error that is not kUnavailable with `retry_unavailable`. The reader must
// outlive the prefetcher and must not be used by anyone else meanwhile.
// Next() and Recycle() are for one consumer thread.
class Prefetcher {
 public:
  Prefetcher(LogReader* reader, size_t max_records, bool retry_unavailable);
  ~Prefetcher();

  // The next batch, waiting for it; after the stream's end or an error that
  // stopped the thread, do not call again.
  Polled Next();
  // Hands a spent batch back so that it is freed on the reading thread,
  // off the consumer's.
  void Recycle(Polled p);

 private:
  static constexpr size_t kDepth = 2;
  void Loop();

  LogReader* reader_;
  const size_t max_records_;
  const bool retry_unavailable_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Polled> queue_;
  std::vector<Polled> spent_;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace blotter::projections
