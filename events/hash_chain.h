#pragma once

// The per-incident SHA-256 hash chain. Event n carries prev_hash = hash of
// event n-1 (32 zero bytes for n = 1) and hash = SHA-256 of its canonical
// bytes with `hash` empty. Altering, deleting or reordering any event of an
// incident breaks the chain at that point.

#include <string>
#include <string_view>
#include <unordered_map>

#include "events/codec.h"

namespace blotter {

// 32 zero bytes: the prev_hash of every incident's first event.
const std::string& GenesisHash();

std::string Sha256(std::string_view data);

// SHA-256 of the canonical bytes of `event` with its hash cleared.
std::string ComputeEventHash(const fb::EventT& event);

// Sets event.hash (event.prev_hash must already be set) and encodes it.
Result<EncodedEvent> Seal(fb::EventT& event);

// Checks that a decoded event's stored hash matches its content.
Status VerifyEventHash(const fb::Event& event);

// Follows many incidents' chains through a stream of events in log order.
// Not thread-safe.
class ChainVerifier {
 public:
  struct Head {
    uint64_t sequence = 0;
    std::string hash;
  };

  // Checks the event's own hash, its sequence (previous + 1) and its
  // prev_hash (the previous event's hash), then records it. The error names
  // the incident and sequence and says which check failed.
  Status Check(const fb::Event& event);

  // The same without recomputing the event's own hash (when the caller has).
  Status CheckLinks(const fb::Event& event);

  size_t incidents() const { return heads_.size(); }
  const std::unordered_map<std::string, Head>& heads() const { return heads_; }

 private:
  std::unordered_map<std::string, Head> heads_;
};

}  // namespace blotter
