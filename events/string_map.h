#pragma once

// A string-keyed hash map that finds by string_view without allocating.
// absl's: its open addressing probes a group of control bytes where
// std::unordered_map chases its bucket's list, and its hash is cheaper. Maps
// looked up for every event (the log's incident heads, the command handler's
// states) took a fifth of the appending thread in a simulated month as
// std::unordered_map. Nodes, so that pointers to values stay put as it grows.

#include <functional>
#include <string>
#include <string_view>

#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace blotter {

struct StringHash {
  using is_transparent = void;
  // Debian's absl has its own string_view.
  size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
  }
};
template <typename V>
using StringMap = absl::node_hash_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace blotter
