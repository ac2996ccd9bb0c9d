#pragma once

// Entry points that take untrusted bytes: event decoding (log records, Kafka
// records), the JSON forms (import, submit) and times. Each must return an
// error value on bad input and never crash, hang or leak. Run by
// fuzz_smoke_test (mutations of real inputs, every build) and, with clang,
// by libFuzzer (tests/fuzz/libfuzzer_main.cc, -DBLOTTER_LIBFUZZER=ON).

#include <cstddef>
#include <cstdint>

namespace blotter::fuzz {

// Decodes `data` as an event; if it decodes, its JSON must parse back to the
// same canonical bytes and its hash must verify or fail cleanly.
void DecodeEventTarget(const uint8_t* data, size_t size);

// Parses `data` as an event's JSON line, a command's JSON line and a time.
void JsonTarget(const uint8_t* data, size_t size);

}  // namespace blotter::fuzz
