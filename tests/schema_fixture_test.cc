// Bytes written by schema version 1 decode forever (docs/schema-evolution.md).
//
// tests/fixtures/events-v1.blev holds 66 events of the seed incidents as the
// first schema wrote them: each a little-endian u32 length, then the bytes.
// events-v1.jsonl is their JSON form. The .blev was written once from the
// .jsonl (EncodeCanonical(EventFromJson(line)) per line). Never regenerate
// these files: a schema change that breaks this test breaks every log
// already written.

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>

#include "events/hash_chain.h"
#include "events/json.h"

namespace blotter {
namespace {

const std::string kDir = std::string(BLOTTER_SOURCE_DIR) + "/tests/fixtures/";

std::vector<std::string> ReadRecords(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos + 4 <= all.size()) {
    uint32_t n = 0;
    for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(all[pos + i]);
    pos += 4;
    out.push_back(all.substr(pos, n));
    pos += n;
  }
  return out;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(SchemaFixtureTest, DecodesVersion1BytesForever) {
  const auto records = ReadRecords(kDir + "events-v1.blev");
  const auto lines = ReadLines(kDir + "events-v1.jsonl");
  ASSERT_EQ(records.size(), 66u);
  ASSERT_EQ(lines.size(), records.size());
  ChainVerifier chains;
  for (size_t i = 0; i < records.size(); ++i) {
    auto e = DecodeEvent(records[i]);
    ASSERT_TRUE(e.ok()) << "record " << i << ": " << e.status().ToString();
    EXPECT_EQ((*e)->schema_version(), 1);
    EXPECT_TRUE(chains.Check(**e).ok()) << "record " << i;
    EXPECT_EQ(EventToJson(**e), lines[i]) << "record " << i;
  }
  EXPECT_EQ(chains.incidents(), 13u);
}

}  // namespace
}  // namespace blotter
