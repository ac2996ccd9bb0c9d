#pragma once

// The wire form of events: FlatBuffers bytes of blotter.fb.Event (events.fbs).
//
// Canonical bytes: an EventT packed by the generated Object API into a fresh
// (or cleared) builder with the "BLEV" identifier. The same content always
// gives the same bytes, so the hash chain (hash_chain.h) can be checked after
// any round trip (JSON, Kafka, another language) by re-encoding.
//
// Every decode runs the FlatBuffers Verifier: corrupt or foreign bytes come
// back as kCorruption, never a crash.

#include <cstdint>
#include <string>
#include <string_view>

#include "events/events_generated.h"
#include "events/status.h"
#include "events/time_util.h"

namespace blotter {

inline constexpr size_t kHashSize = 32;  // SHA-256
inline constexpr uint16_t kSchemaVersion = 1;

// Verifies `bytes` and returns the root table, which points into `bytes` and
// is valid while they are. Checks the Verifier, the file identifier, and the
// envelope's required fields (incident id, sequence >= 1, a known payload,
// 32-byte hashes).
Result<const fb::Event*> DecodeEvent(std::string_view bytes);

// Packs `event` canonically.
std::string EncodeCanonical(const fb::EventT& event);
// The same bytes, packed into this thread's reused builder (no allocation
// once it has grown): valid until the thread's next PackCanonical.
std::string_view PackCanonical(const fb::EventT& event);

// An event in canonical verified wire form with its envelope header at hand.
// Built only by FromBytes or Seal, so header and bytes always agree. Cheap to
// move; copying copies the bytes.
class EncodedEvent {
 public:
  // Verifies `bytes` (DecodeEvent) and takes them.
  static Result<EncodedEvent> FromBytes(std::string bytes);

  const std::string& bytes() const { return bytes_; }
  // The verified root table; valid while this object lives and is not moved from.
  const fb::Event* event() const { return fb::GetEvent(bytes_.data()); }
  std::string_view incident_id() const { return Field(incident_id_); }
  uint64_t sequence() const { return sequence_; }
  Micros recorded_at() const { return recorded_at_; }
  std::string_view hash() const { return Field(hash_); }            // 32 raw bytes
  std::string_view prev_hash() const { return Field(prev_hash_); }  // 32 raw bytes

 private:
  // Where a field's bytes lie within bytes_: kept as offsets, so they hold
  // across moves and copies without a copy of their own.
  struct Span {
    uint32_t at = 0, size = 0;
  };
  std::string_view Field(Span s) const { return std::string_view(bytes_).substr(s.at, s.size); }
  Span SpanOf(const void* data, size_t size) const;

  EncodedEvent() = default;
  static EncodedEvent FromVerified(std::string bytes);

  std::string bytes_;
  Span incident_id_, hash_, prev_hash_;
  uint64_t sequence_ = 0;
  Micros recorded_at_ = 0;
  friend Result<EncodedEvent> Seal(fb::EventT& event);
};

// Unpacks a verified event into its Object API form.
fb::EventT Unpack(const fb::Event& event);

// Lower-case hex of raw bytes, and back.
std::string ToHex(std::string_view bytes);
Result<std::string> FromHex(std::string_view hex);

}  // namespace blotter
