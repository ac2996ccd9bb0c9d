#include "events/time_util.h"

#include <gtest/gtest.h>

namespace blotter {
namespace {

TEST(TimeUtilTest, FormatsInChinaStandardTime) {
  EXPECT_EQ(FormatTime(0), "1970-01-01T08:00:00+08:00");
  EXPECT_EQ(FormatTime(0, 0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(1'500'000), "1970-01-01T08:00:01.5+08:00");
  EXPECT_EQ(FormatTime(-1), "1970-01-01T07:59:59.999999+08:00");
}

TEST(TimeUtilTest, ParsesWhatItFormats) {
  for (Micros t : {Micros{0}, Micros{1636175760'000000}, Micros{1636175760'123456},
                   Micros{-86400'000001}, Micros{4102444800'000000}}) {
    auto back = ParseTime(FormatTime(t));
    ASSERT_TRUE(back.ok()) << FormatTime(t);
    EXPECT_EQ(*back, t);
  }
}

struct ParseCase {
  const char* text;
  bool ok;
  Micros want;
};

TEST(TimeUtilTest, ParseTable) {
  const Micros nov6 = 1636175760'000000;  // 2021-11-06T13:16:00+08:00
  const ParseCase cases[] = {
      {"2021-11-06T13:16:00+08:00", true, nov6},
      {"2021-11-06T05:16:00Z", true, nov6},
      {"2021-11-06T05:16:00.000Z", true, nov6},
      {"2021-11-06 13:16:00+08:00", true, nov6},
      {"2021-11-06T00:16:00-05:00", true, nov6},
      {"2021-11-06", true, nov6 - (13 * 3600 + 16 * 60) * kMicrosPerSecond},
      {"2021-11-06T13:16:00", false, 0},  // no zone
      {"2021-02-30T00:00:00Z", false, 0},
      {"2021-11-06T25:00:00Z", false, 0},
      {"yesterday", false, 0},
      {"", false, 0},
      {"2021-11-06T13:16:00+0800", false, 0},
      {"2021-11-06T13:16:00Zjunk", false, 0},
  };
  for (const auto& c : cases) {
    auto r = ParseTime(c.text);
    EXPECT_EQ(r.ok(), c.ok) << c.text;
    if (c.ok && r.ok()) {
      EXPECT_EQ(*r, c.want) << c.text;
    }
  }
}

}  // namespace
}  // namespace blotter
