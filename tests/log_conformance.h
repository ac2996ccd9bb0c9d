#pragma once

// The event-log conformance suite: one set of tests every EventLog backend
// must pass, unchanged. A backend's test binary links log_conformance.cc and
// instantiates it:
//
//   INSTANTIATE_TEST_SUITE_P(Embedded, LogConformanceTest,
//                            ::testing::Values(&MakeEmbeddedHarness));

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "events/event_log.h"

namespace blotter::testing {

// Makes fresh, empty logs for one test and cleans up after it.
class LogHarness {
 public:
  virtual ~LogHarness() = default;
  // A new empty log with `partitions` partitions.
  virtual std::unique_ptr<EventLog> NewLog(int32_t partitions) = 0;
  // The same log opened again after the last handle was destroyed (a restart).
  virtual std::unique_ptr<EventLog> Reopen() = 0;
};

// Every record up to the end offsets read at the start, in reader order.
std::vector<LogRecord> ReadAll(EventLog& log);

using HarnessFactory = std::unique_ptr<LogHarness> (*)();

class LogConformanceTest : public ::testing::TestWithParam<HarnessFactory> {
 protected:
  void SetUp() override { harness_ = GetParam()(); }
  void TearDown() override { harness_.reset(); }
  // A new log; a harness that cannot make one fails the test here.
  std::unique_ptr<EventLog> NewLog(int32_t partitions) {
    auto log = harness_->NewLog(partitions);
    if (!log) throw std::runtime_error("the harness could not open a new log");
    return log;
  }
  std::unique_ptr<LogHarness> harness_;
};

}  // namespace blotter::testing
