#include "events/incident_key.h"

#include <gtest/gtest.h>

#include <vector>

namespace blotter {
namespace {

TEST(IncidentKeyTest, SortsDerivedIdsByDayAndGivesTheIdBack) {
  struct Case {
    std::string id;
    std::string key;
  };
  const std::vector<Case> cases = {
      {"411681-20211015-0000002a", std::string("\x01") + "20211015411681" + "0000002a"},
      {"341221-20211101-000001", std::string("\x01") + "20211101341221" + "000001"},
      {"411681-000000", std::string(1, '\0') + "411681-000000"},
      {"41168a-20211015-1", std::string(1, '\0') + "41168a-20211015-1"},
      {"411681-2021101x-1", std::string(1, '\0') + "411681-2021101x-1"},
      {"411681-20211015-", std::string(1, '\0') + "411681-20211015-"},
      {"", std::string(1, '\0')},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IncidentKey(c.id), c.key) << c.id;
    EXPECT_EQ(IncidentIdOf(IncidentKey(c.id)), c.id);
  }
  // The ids blotter makes have that form, dated in China Standard Time.
  EXPECT_EQ(IncidentIdPrefix("411681", ParseTime("2021-10-15T23:59:00+08:00").value()),
            "411681-20211015-");
  EXPECT_EQ(IncidentIdPrefix("411681", ParseTime("2021-10-15T16:00:00Z").value()),
            "411681-20211016-");
  // A later day sorts after every division of an earlier one.
  EXPECT_LT(IncidentKey("999999-20211015-1"), IncidentKey("100000-20211016-1"));
}

}  // namespace
}  // namespace blotter
