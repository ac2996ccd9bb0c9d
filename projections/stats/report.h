#pragma once

// The 110 report (the table of the Henan 2021 report) for any period and
// region, computed from the stats view.

#include <map>
#include <string>
#include <vector>

#include "events/json.h"
#include "projections/store.h"

namespace blotter::projections {

struct ReportQuery {
  std::string from_day;    // YYYYMMDD, inclusive (local date of receipt)
  std::string to_day;      // YYYYMMDD, inclusive
  std::string region;      // division-code prefix; empty: everywhere
  bool by_region = false;  // one column per division instead of one total
};

// One figure of the report for one column.
struct ReportFigures {
  int64_t calls_received = 0;
  int64_t valid = 0;  // criminal + public order + traffic + assistance + fire/disaster
  int64_t criminal = 0;
  int64_t public_order = 0;
  int64_t traffic = 0;
  int64_t assistance = 0;
  int64_t fire_disaster = 0;
  int64_t non_police = 0;  // handled jointly with the 12345 hotline
  int64_t invalid = 0;
  int64_t transferred_120 = 0;
  int64_t transferred_119 = 0;
  int64_t transferred_12345 = 0;
  int64_t missing_found = 0;   // incidents resolved person_found
  int64_t people_rescued = 0;  // sum of rescued counts
  int64_t arrests = 0;         // sum of arrest counts
  int64_t arrived = 0;         // incidents with a unit on scene
  int64_t arrived_1min = 0, arrived_3min = 0, arrived_5min = 0;
};

struct Report {
  ReportQuery query;
  std::map<std::string, ReportFigures> columns;  // "total" or division code
};

Result<Report> ComputeReport(const ViewStore& store, const ReportQuery& query);

// The rows in report order: key, Chinese label, English label, and the figure
// (a share in percent for the 1/3/5-minute rows).
struct ReportRow {
  const char* key;
  const char* zh;
  const char* en;
  double value;
  bool percent;
};
std::vector<ReportRow> ReportRows(const ReportFigures& f);

// One column as blotter report --format json prints it: row key -> figure
// (counts as integers, the 1/3/5-minute rows as percentages).
Json FiguresToJson(const ReportFigures& f);

}  // namespace blotter::projections
