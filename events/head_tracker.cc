#include "events/head_tracker.h"

#include <fmt/format.h>

#include <algorithm>

namespace blotter {

HeadTracker::Head HeadTracker::Head::Of(uint64_t sequence, std::string_view h) {
  Head out;
  out.sequence = sequence;
  std::copy_n(h.data(), std::min(h.size(), kHashSize), out.hash.begin());
  return out;
}

HeadTracker::Head* HeadTracker::Find(std::string_view id) {
  auto it = heads_.find(id);
  return it == heads_.end() ? nullptr : &it->second;
}

const HeadTracker::Head* HeadTracker::Find(std::string_view id) const {
  auto it = heads_.find(id);
  return it == heads_.end() ? nullptr : &it->second;
}

HeadTracker::Head* HeadTracker::Set(std::string_view id, uint64_t sequence, std::string_view hash) {
  auto it = heads_.find(id);
  if (it == heads_.end()) it = heads_.emplace(std::string(id), Head{}).first;
  it->second = Head::Of(sequence, hash);
  return &it->second;
}

void HeadTracker::Rollback(Undo& undo) {
  for (auto c = undo.changes_.rbegin(); c != undo.changes_.rend(); ++c) {
    if (!c->created.empty()) {
      heads_.erase(heads_.find(c->created));
    } else {
      *c->head = c->before;
    }
  }
  undo.changes_.clear();
}

Status HeadTracker::Advance(std::span<const EncodedEvent> events, std::span<Head* const> known,
                            const Loader& load, Undo* undo) {
  Undo mine;
  auto fail = [&](Status st) {
    Rollback(mine);
    return st;
  };
  mine.changes_.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const EncodedEvent& e = events[i];
    const std::string_view id = e.incident_id();
    if (id.find('\0') != std::string_view::npos || static_cast<uint8_t>(id[0]) == 0xff) {
      return fail(Status::InvalidArgument("incident id contains a NUL or 0xff byte"));
    }
    Head* head = i < known.size() ? known[i] : nullptr;
    if (head != nullptr) {
      mine.changes_.push_back({head, *head, {}});
    } else if (auto it = heads_.find(id); it != heads_.end()) {
      head = &it->second;
      mine.changes_.push_back({head, *head, {}});
    } else {
      auto r = load(id);
      if (!r.ok()) return fail(r.status());
      head = &heads_.emplace(std::string(id), Head::Of(r->sequence, r->hash)).first->second;
      mine.changes_.push_back({head, *head, id});
    }
    if (e.sequence() != head->sequence + 1) {
      return fail(Status::Conflict(fmt::format(
          "incident {}: append of sequence {} but the log's last is {} (reload and decide again)",
          id, e.sequence(), head->sequence)));
    }
    if (e.prev_hash() != head->hash_view()) {
      return fail(Status::Conflict(fmt::format(
          "incident {}: event {} does not chain to the log's event {} (prev_hash differs)", id,
          e.sequence(), head->sequence)));
    }
    *head = Head::Of(e.sequence(), e.hash());
  }
  for (auto& c : mine.changes_) undo->changes_.push_back(c);
  return Status::Ok();
}

}  // namespace blotter
