#include "events/group_commit.h"

namespace blotter {

Result<std::vector<Position>> GroupCommitter::Append(std::span<const EncodedEvent> events,
                                                     const CommitFn& commit) {
  Waiter w;
  w.append.events = events;
  for (const auto& e : events) w.append.bytes += e.bytes().size();

  std::unique_lock l(mu_);
  queue_.push_back(&w);
  while (!w.done && &w != queue_.front()) w.cv.wait(l);
  if (!w.done) {
    // This appender leads: it commits everything queued behind it, up to a size.
    std::vector<Waiter*> waiters;
    std::vector<PendingAppend*> group;
    size_t bytes = 0;
    for (Waiter* x : queue_) {
      if (!group.empty() && bytes + x->append.bytes > max_group_bytes_) break;
      waiters.push_back(x);
      group.push_back(&x->append);
      bytes += x->append.bytes;
    }
    l.unlock();  // later appenders queue up meanwhile
    commit(group);
    l.lock();
    for (Waiter* x : waiters) {
      queue_.pop_front();
      x->done = true;
      if (x != &w) x->cv.notify_one();
    }
    if (!queue_.empty()) queue_.front()->cv.notify_one();
  }
  if (!w.append.status.ok()) return w.append.status;
  return std::move(w.append.positions);
}

}  // namespace blotter
