#pragma once

// Timestamps are int64 microseconds since the Unix epoch (UTC). Text form is
// RFC 3339; blotter writes China Standard Time (+08:00, no daylight saving),
// the clock its users read, and reads any offset or Z.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/status.h"

namespace blotter {

using Micros = int64_t;

inline constexpr Micros kMicrosPerSecond = 1'000'000;
inline constexpr Micros kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr Micros kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr Micros kMicrosPerDay = 24 * kMicrosPerHour;
// The offset FormatTime writes: China Standard Time.
inline constexpr int kDisplayOffsetMinutes = 8 * 60;

// The calendar day `t` falls on at `offset_minutes` (China Standard Time
// unless told otherwise).
std::chrono::sys_days CivilDay(Micros t, int offset_minutes = kDisplayOffsetMinutes);

// "2021-11-06T13:16:00+08:00"; fractional seconds only when non-zero.
std::string FormatTime(Micros t, int offset_minutes = kDisplayOffsetMinutes);

// Parses RFC 3339 ("2021-11-06T13:16:00+08:00", "...T05:16:00.25Z"). A date
// alone ("2021-11-06") is midnight at +08:00.
Result<Micros> ParseTime(std::string_view text);

// The wall clock.
Micros NowMicros();

}  // namespace blotter
