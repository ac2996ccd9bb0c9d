#include "events/incident_key.h"

#include <fmt/format.h>

#include <algorithm>

#include "events/position_entry.h"

namespace blotter {
namespace {

bool Digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string IncidentIdPrefix(std::string_view division, Micros received_at) {
  // The civil day, computed rather than formatted as a whole time and cut
  // up: this runs for every call the simulator makes.
  const std::chrono::year_month_day ymd(CivilDay(received_at));
  return fmt::format("{}-{:04}{:02}{:02}-", division, static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

void AppendIncidentKey(std::string_view id, std::string* out) {
  if (id.size() > 16 && id[6] == '-' && id[15] == '-' && Digits(id.substr(0, 6)) &&
      Digits(id.substr(7, 8))) {
    out->push_back('\x01');
    out->append(id.substr(7, 8));
    out->append(id.substr(0, 6));
    out->append(id.substr(16));
  } else {
    out->push_back('\x00');
    out->append(id);
  }
}

std::string IncidentKey(std::string_view id) {
  std::string key;
  key.reserve(id.size() + 1);
  AppendIncidentKey(id, &key);
  return key;
}

void AppendIncidentSequenceKey(std::string_view incident_id, uint64_t sequence, std::string* out) {
  AppendIncidentKey(incident_id, out);
  out->push_back('\0');
  PutBE(out, sequence, 8);
}

std::string IncidentSequenceKey(std::string_view incident_id, uint64_t sequence) {
  std::string k;
  k.reserve(incident_id.size() + 10);
  AppendIncidentSequenceKey(incident_id, sequence, &k);
  return k;
}

std::string IncidentIdOf(std::string_view key) {
  if (key.size() > 15 && key[0] == '\x01') {
    return fmt::format("{}-{}-{}", key.substr(9, 6), key.substr(1, 8), key.substr(15));
  }
  if (!key.empty() && key[0] == '\x00') return std::string(key.substr(1));
  return "";
}

}  // namespace blotter
