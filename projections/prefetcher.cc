#include "projections/prefetcher.h"

#include <pthread.h>

#include "events/codec.h"
#include "events/table_options.h"

namespace blotter::projections {

Polled PollVerified(LogReader* reader, size_t max_records) {
  Polled p{reader->Poll(max_records, std::chrono::milliseconds(500)), reader->positions(), {}};
  if (p.batch.ok()) {
    p.errors.resize(p.batch->size());
    for (size_t i = 0; i < p.batch->size(); ++i) {
      auto d = DecodeEvent((*p.batch)[i].bytes);
      if (!d.ok()) p.errors[i] = d.status().message();
    }
  }
  return p;
}

Prefetcher::Prefetcher(LogReader* reader, size_t max_records, bool retry_unavailable)
    : reader_(reader), max_records_(max_records), retry_unavailable_(retry_unavailable) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "blotter:read");
    PerfCountersOff();  // the embedded log's reads
    Loop();
  });
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Prefetcher::Recycle(Polled p) {
  {
    std::lock_guard lock(mu_);
    spent_.push_back(std::move(p));
  }
  cv_.notify_all();
}

Polled Prefetcher::Next() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !queue_.empty(); });
  Polled p = std::move(queue_.front());
  queue_.pop_front();
  cv_.notify_all();
  return p;
}

void Prefetcher::Loop() {
  std::vector<Polled> spent;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return quit_ || queue_.size() < kDepth; });
      if (quit_) return;
      spent.swap(spent_);
    }
    spent.clear();
    Polled p = PollVerified(reader_, max_records_);
    const bool last = !p.batch.ok() &&
                      !(p.batch.status().code() == StatusCode::kUnavailable && retry_unavailable_);
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(p));
    }
    cv_.notify_all();
    if (last) return;
  }
}

}  // namespace blotter::projections
