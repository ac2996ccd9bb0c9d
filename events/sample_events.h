#pragma once

// Sample events for tests (test-only library blotter_events_testing).

#include <string>
#include <vector>

#include "events/codec.h"

namespace blotter::testing {

// An event of `type` with every field of the envelope and payload filled.
fb::EventT SampleEvent(fb::Payload type, const std::string& incident_id, uint64_t sequence);

// Every payload type once.
std::vector<fb::Payload> AllPayloadTypes();

// `n` events of one incident, sealed into a chain starting at sequence
// `first` after `prev_hash` (GenesisHash() for a new incident).
std::vector<EncodedEvent> SealedChain(const std::string& incident_id, int n, uint64_t first = 1,
                                      std::string prev_hash = "");

}  // namespace blotter::testing
