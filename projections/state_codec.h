#pragma once

// A compact binary form of IncidentState for the incidents view (varints and
// length-prefixed strings, a version byte first). Command ids are not kept:
// idempotency is the writer's business, not a view's. Nor is the incident id:
// the view's key holds it, and the caller hands it back to DecodeState.

#include <string>
#include <string_view>

#include "events/aggregate.h"

namespace blotter::projections {

std::string EncodeState(const IncidentState& state);
// The same into `out` (replacing what it held), reusing its buffer.
void EncodeStateTo(const IncidentState& state, std::string* out);
Result<IncidentState> DecodeState(std::string_view incident_id, std::string_view bytes);

}  // namespace blotter::projections
