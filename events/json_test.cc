#include "events/json.h"

#include <gtest/gtest.h>

#include "events/hash_chain.h"
#include "events/sample_events.h"

namespace blotter {
namespace {

TEST(JsonTest, RoundTripsEveryPayloadTypeExactly) {
  for (fb::Payload type : testing::AllPayloadTypes()) {
    fb::EventT e = testing::SampleEvent(type, "411621-20211106-0001", 3);
    e.prev_hash.assign(GenesisHash().begin(), GenesisHash().end());
    auto sealed = Seal(e);
    ASSERT_TRUE(sealed.ok());
    const std::string line = EventToJson(*sealed->event());
    EXPECT_EQ(line.find('\n'), std::string::npos);
    auto back = EventFromJson(line);
    ASSERT_TRUE(back.ok()) << Name(type) << ": " << back.status().ToString();
    EXPECT_EQ(EncodeCanonical(*back), sealed->bytes()) << Name(type);
    EXPECT_EQ(EventToJson(*back), line);
  }
}

TEST(JsonTest, WritesReadableFields) {
  fb::EventT e = testing::SampleEvent(fb::Payload::IncidentReceived, "411621-20211106-0001", 1);
  const std::string line = EventToJson(e);
  EXPECT_NE(line.find("\"occurred_at\":\"2021-11-06T13:17:00+08:00\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"channel\":\"wechat\""), std::string::npos);
  EXPECT_NE(line.find("家中老人病重急需药品"), std::string::npos);  // UTF-8, not \u escapes
  EXPECT_NE(line.find("\"happened\":{\"from\""), std::string::npos);
}

// A value a newer schema added to an enum is kept, by number.
TEST(JsonTest, UnknownEnumValuesRoundTripByNumber) {
  fb::EventT e = testing::SampleEvent(fb::Payload::IncidentReceived, "x", 1);
  e.payload.AsIncidentReceived()->channel = static_cast<fb::Channel>(42);
  e.prev_hash.assign(GenesisHash().begin(), GenesisHash().end());
  auto sealed = Seal(e);
  ASSERT_TRUE(sealed.ok());
  const std::string line = EventToJson(*sealed->event());
  EXPECT_NE(line.find("\"channel\":42"), std::string::npos) << line;
  auto back = EventFromJson(line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EncodeCanonical(*back), sealed->bytes());
  EXPECT_FALSE(EventFromJson(std::string(line).replace(line.find(":42"), 3, ":999")).ok());
}

struct BadJsonCase {
  const char* name;
  std::string line;
  const char* want;  // substring of the error
};

TEST(JsonTest, RejectsBadInputWithClearErrors) {
  fb::EventT e = testing::SampleEvent(fb::Payload::UnitAssigned, "x", 1);
  e.prev_hash.assign(GenesisHash().begin(), GenesisHash().end());
  const std::string good = EventToJson(*Seal(e).value().event());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const BadJsonCase cases[] = {
      {"malformed", "{\"event_id\":", "malformed JSON"},
      {"not an object", "[1,2]", "object"},
      {"unknown field", replace("\"actor\"", "\"actr\""), "unknown field 'actr'"},
      {"unknown payload field", replace("\"unit_id\"", "\"unit\""), "payload.unit"},
      {"wrong type", replace("\"sequence\":1", "\"sequence\":\"1\""), "sequence must be"},
      {"unknown enum", replace("\"patrol_car\"", "\"tank\""), "unknown unit kind 'tank'"},
      {"bad time", replace("2021-11-06T13:17:00+08:00", "2021-13-06T13:17:00+08:00"),
       "occurred_at"},
      {"bad hex", replace("\"prev_hash\":\"00", "\"prev_hash\":\"zz"), "prev_hash"},
      {"unknown type", replace("\"UnitAssigned\"", "\"UnitTeleported\""), "unknown event type"},
  };
  for (const auto& c : cases) {
    auto r = EventFromJson(c.line);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos)
        << c.name << ": " << r.status().message();
  }
}

}  // namespace
}  // namespace blotter
