#include "events/time_util.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>

namespace blotter {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

sys_days CivilDay(Micros t, int offset_minutes) {
  const Micros local = t + static_cast<Micros>(offset_minutes) * kMicrosPerMinute;
  return sys_days{std::chrono::days{FloorDiv(local, kMicrosPerDay)}};
}

std::string FormatTime(Micros t, int offset_minutes) {
  const Micros local = t + static_cast<Micros>(offset_minutes) * kMicrosPerMinute;
  const sys_days civil = CivilDay(t, offset_minutes);
  const Micros in_day = local - civil.time_since_epoch().count() * kMicrosPerDay;
  const year_month_day ymd{civil};
  const int64_t secs = in_day / kMicrosPerSecond;
  const int64_t frac = in_day % kMicrosPerSecond;
  std::string out =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), secs / 3600,
                  (secs / 60) % 60, secs % 60);
  if (frac != 0) {
    std::string f = fmt::format("{:06}", frac);
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += '.';
    out += f;
  }
  if (offset_minutes == 0) {
    out += 'Z';
  } else {
    const int a = offset_minutes < 0 ? -offset_minutes : offset_minutes;
    out += fmt::format("{}{:02}:{:02}", offset_minutes < 0 ? '-' : '+', a / 60, a % 60);
  }
  return out;
}

Result<Micros> ParseTime(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(
        fmt::format("bad time '{}': {} (want RFC 3339, e.g. "
                    "2021-11-06T13:16:00+08:00)",
                    s, why));
  };
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d)) {
    return bad("date is not YYYY-MM-DD");
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad("no such date");
  int offset_minutes = kDisplayOffsetMinutes;
  Micros frac = 0;
  if (s.size() > 10) {
    if ((s[10] != 'T' && s[10] != ' ') || !Digits(s, 11, 2, &h) || s.size() < 19 || s[13] != ':' ||
        !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &se)) {
      return bad("time is not THH:MM:SS");
    }
    if (h > 23 || mi > 59 || se > 60) return bad("time of day out of range");
    size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int ndig = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (ndig < 6) frac = frac * 10 + (s[pos] - '0');
        ++ndig;
        ++pos;
      }
      if (ndig == 0) return bad("empty fraction");
      for (int i = ndig; i < 6; ++i) frac *= 10;
    }
    if (pos == s.size()) return bad("missing zone (Z or +08:00)");
    if (s[pos] == 'Z' || s[pos] == 'z') {
      offset_minutes = 0;
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh, om;
      if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
          !Digits(s, pos + 4, 2, &om)) {
        return bad("zone offset is not +HH:MM");
      }
      offset_minutes = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
      pos += 6;
    } else {
      return bad("unexpected characters after the time");
    }
    if (pos != s.size()) return bad("trailing characters");
  }
  const int64_t days = sys_days{ymd}.time_since_epoch().count();
  return days * kMicrosPerDay + (h * 3600LL + mi * 60LL + se) * kMicrosPerSecond + frac -
         static_cast<Micros>(offset_minutes) * kMicrosPerMinute;
}

Micros NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace blotter
