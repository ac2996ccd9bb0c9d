// Mutations of real inputs through the fuzz targets, on every build: every
// seed event of the v1 fixture and every seed command, with bytes flipped,
// inserted, deleted and truncated. A crash or abort fails the test.

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "tests/fuzz/fuzz_targets.h"

namespace blotter::fuzz {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Seeds() {
  std::vector<std::string> out;
  const std::string dir = std::string(BLOTTER_SOURCE_DIR);
  const std::string blev = Slurp(dir + "/tests/fixtures/events-v1.blev");
  for (size_t pos = 0; pos + 4 <= blev.size();) {
    uint32_t n = 0;
    for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(blev[pos + i]);
    out.push_back(blev.substr(pos + 4, n));
    pos += 4 + n;
  }
  for (const char* f :
       {"/tests/fixtures/events-v1.jsonl", "/tools/examples/seed-incidents.jsonl"}) {
    std::istringstream lines(Slurp(dir + f));
    for (std::string l; std::getline(lines, l);) out.push_back(l);
  }
  return out;
}

std::string Mutate(std::string s, std::mt19937_64& rng) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits && !s.empty(); ++i) {
    const size_t at = rng() % s.size();
    switch (rng() % 5) {
      case 0:
        s[at] = static_cast<char>(rng());
        break;
      case 1:
        s[at] = static_cast<char>(s[at] ^ (1 << (rng() % 8)));
        break;
      case 2:
        s.insert(at, 1, static_cast<char>(rng()));
        break;
      case 3:
        s.erase(at, 1 + rng() % 8);
        break;
      default:
        s.resize(at);
        break;
    }
  }
  return s;
}

TEST(FuzzSmokeTest, MutatedEventsAndJsonNeverCrash) {
  const auto seeds = Seeds();
  ASSERT_GT(seeds.size(), 100u);
  std::mt19937_64 rng(110);
  for (int round = 0; round < 1500; ++round) {
    for (const std::string& seed : seeds) {
      const std::string m = round == 0 ? seed : Mutate(seed, rng);
      const auto* data = reinterpret_cast<const uint8_t*>(m.data());
      DecodeEventTarget(data, m.size());
      JsonTarget(data, m.size());
    }
  }
}

}  // namespace
}  // namespace blotter::fuzz
