#pragma once

// Group commit, as in LevelDB's DBImpl::Write: appenders queue; the one at
// the front commits for itself and everyone queued behind it (up to a size)
// in one go, outside the queue's lock, then wakes them. One durable write (or
// one Kafka transaction) then serves many appenders. Commits never overlap,
// so the commit function may keep state without a lock of its own.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "events/codec.h"
#include "events/event_log.h"

namespace blotter {

// One queued append, on its caller's stack until its commit is done.
struct PendingAppend {
  std::span<const EncodedEvent> events;
  size_t bytes = 0;
  Status status;                    // set by the commit: OK or why this append failed
  std::vector<Position> positions;  // set by the commit when OK, one per event
};

class GroupCommitter {
 public:
  explicit GroupCommitter(size_t max_group_bytes) : max_group_bytes_(max_group_bytes) {}

  // Commits the appends of `group` (in queue order), setting each one's
  // status and positions. Each append succeeds or fails alone.
  using CommitFn = std::function<void(std::span<PendingAppend* const> group)>;

  // Queues `events` and returns when a commit (this caller's or another's)
  // has handled them.
  Result<std::vector<Position>> Append(std::span<const EncodedEvent> events,
                                       const CommitFn& commit);

 private:
  struct Waiter {
    PendingAppend append;
    bool done = false;
    std::condition_variable cv;
  };

  const size_t max_group_bytes_;
  std::mutex mu_;
  std::deque<Waiter*> queue_;  // guarded by mu_
};

}  // namespace blotter
