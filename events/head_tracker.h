#pragma once

// The single-writer check both log backends make: each appended event must
// carry its incident's next sequence and chain to its last hash. A
// HeadTracker keeps incidents' heads in memory, advances them through an
// append, and rolls an append back when it (or its commit) fails.
//
// Not thread-safe: the group-commit leader owns it.

#include <array>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "events/codec.h"
#include "events/event_log.h"
#include "events/string_map.h"

namespace blotter {

class HeadTracker {
 public:
  // An incident's last sequence and hash, without heap allocation.
  struct Head {
    uint64_t sequence = 0;
    std::array<char, kHashSize> hash{};
    std::string_view hash_view() const { return {hash.data(), hash.size()}; }
    static Head Of(uint64_t sequence, std::string_view h);
  };

  // What Advance changed, to undo it.
  class Undo {
   private:
    friend class HeadTracker;
    struct Change {
      Head* head;
      Head before;
      std::string_view created;  // the id, when the entry was created by Advance
    };
    std::vector<Change> changes_;
  };

  // Reads an incident's head from the log when it is not tracked.
  using Loader = std::function<Result<IncidentHead>(std::string_view incident_id)>;

  // Checks `events` in order, advancing the heads. On a conflict (kConflict)
  // or a loader error, restores what it changed and returns the error.
  Status Advance(std::span<const EncodedEvent> events, const Loader& load, Undo* undo) {
    return Advance(events, {}, load, undo);
  }
  // The same, where known[i], when given and not null, is the tracked head of
  // events[i]'s incident (from Find or Set since the last Clear), so it is
  // not looked up again.
  Status Advance(std::span<const EncodedEvent> events, std::span<Head* const> known,
                 const Loader& load, Undo* undo);

  // Restores the heads an Advance changed (most recent Advance first).
  void Rollback(Undo& undo);

  bool Contains(std::string_view id) const { return heads_.find(id) != heads_.end(); }
  // Pointers stay valid until the entry is cleared or rolled back.
  Head* Find(std::string_view id);
  const Head* Find(std::string_view id) const;
  Head* Set(std::string_view id, uint64_t sequence, std::string_view hash);
  size_t size() const { return heads_.size(); }
  void Clear() { heads_.clear(); }

 private:
  StringMap<Head> heads_;
};

}  // namespace blotter
