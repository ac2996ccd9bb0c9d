#pragma once

// Where an incident's records sort in the stores keyed by incident: the
// embedded log's index and the incidents and history views.
//
// Ids of the form DDDDDD-YYYYMMDD-rest (division code, day received: every id
// blotter derives or simulates) sort by day first, as 0x01 YYYYMMDD DDDDDD
// rest. A day's incidents are then written side by side, so an LSM store's
// compactions rewrite the last days instead of the whole store (at scale 1.0
// that was most of the work). Any other id sorts before them, as 0x00 id.

#include <string>
#include <string_view>

#include "events/time_util.h"

namespace blotter {

// "DDDDDD-YYYYMMDD-": how an id blotter makes begins (the division code and
// the day received, China Standard Time); the caller appends what makes it
// unique that day.
std::string IncidentIdPrefix(std::string_view division, Micros received_at);

std::string IncidentKey(std::string_view incident_id);
// The same, appended to `out`.
void AppendIncidentKey(std::string_view incident_id, std::string* out);

// [IncidentKey(id)][0x00][sequence u64 BE]: an incident's records in sequence
// order, its day's incidents side by side (the embedded log's index, the
// history view).
std::string IncidentSequenceKey(std::string_view incident_id, uint64_t sequence);
// The same, appended to `out`.
void AppendIncidentSequenceKey(std::string_view incident_id, uint64_t sequence, std::string* out);

// How many of a key's first bytes name its day ('\x01' and YYYYMMDD), for
// stores that cut their files at each day.
inline constexpr size_t kIncidentKeyDayPrefix = 9;

// The id back from IncidentKey(id); empty if `key` is not one.
std::string IncidentIdOf(std::string_view key);

}  // namespace blotter
