#pragma once

// Small encodings shared by the stores keyed by incident: big-endian
// integers (keys that sort as numbers), and the 20-byte entry that says where
// an event is in the log, kept by the embedded log's index and by the history
// view: [partition u32 BE][offset u64 BE][the event's hash, its first 8
// bytes]. The hash bytes witness the event: one altered and sealed again in
// the log alone no longer matches its entry.

#include <cstdint>
#include <string>
#include <string_view>

#include "events/event_log.h"

namespace blotter {

// The low `bytes` bytes of `v`, big-endian, at `at`.
inline void StoreBE(char* at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) at[i] = static_cast<char>((v >> (8 * (bytes - 1 - i))) & 0xff);
}

// One append, not a push_back per byte: this runs for every event indexed.
inline void PutBE(std::string* out, uint64_t v, int bytes) {
  char be[8];
  StoreBE(be, v, bytes);
  out->append(be, static_cast<size_t>(bytes));
}

// `bytes` bytes of `in` from `pos`, which must hold them.
inline uint64_t GetBE(std::string_view in, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[pos + i]);
  return v;
}

inline constexpr size_t kWitnessSize = 8;
inline constexpr size_t kPositionEntrySize = 4 + 8 + kWitnessSize;

// Appends the entry of the event at `p` whose hash is `hash` (at least
// kWitnessSize bytes).
inline void AppendPositionEntry(std::string* out, Position p, std::string_view hash) {
  char entry[kPositionEntrySize];
  StoreBE(entry, static_cast<uint32_t>(p.partition), 4);
  StoreBE(entry + 4, static_cast<uint64_t>(p.offset), 8);
  hash.copy(entry + 12, kWitnessSize);
  out->append(entry, kPositionEntrySize);
}

// Of an entry (at least its first 12 bytes; the witness needs all 20).
inline Position EntryPosition(std::string_view entry) {
  return Position{static_cast<int32_t>(GetBE(entry, 0, 4)),
                  static_cast<int64_t>(GetBE(entry, 4, 8))};
}
inline std::string_view EntryWitness(std::string_view entry) {
  return entry.substr(12, kWitnessSize);
}

}  // namespace blotter
