#pragma once

// Plain-words renderings of events and states, for people reading a replay.

#include <string>

#include "events/aggregate.h"

namespace blotter {

// e.g. "unit FG-UAV-01 (drone) assigned".
std::string DescribePayload(const fb::Event& event);

// One line: "#2 2021-11-06T13:17:00+08:00 IncidentClassified  op:zk110-03  classified ... [hash
// 5d7d97db]".
std::string DescribeEvent(const fb::Event& event);

// One line: id, status, category/subtype, division, units, disposition.
std::string DescribeState(const IncidentState& state);

}  // namespace blotter
