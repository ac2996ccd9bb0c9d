// blotter report: the table of the Henan 110 report for any period and region.

#include "projections/stats/report.h"

#include "events/json.h"
#include "tools/cli/common.h"

namespace blotter::cli {
namespace {

using projections::ReportRows;

struct ReportOptions {
  LogOptions log;
  std::string views_dir;
  std::string from, to, region, by, format = "table", lang = "zh";
};

Result<std::string> Day(const std::string& text, const char* what) {
  auto t = ParseTime(text);
  if (!t.ok()) return t.status().WithContext(what);
  const std::string s = FormatTime(*t);
  return s.substr(0, 4) + s.substr(5, 2) + s.substr(8, 2);
}

std::string Figure(const projections::ReportRow& r) {
  return r.percent ? fmt::format("{:.1f}%", r.value)
                   : fmt::format("{}", static_cast<int64_t>(r.value));
}

int Run(const ReportOptions& o) {
  projections::ReportQuery q;
  auto from = Day(o.from, "--from");
  auto to = Day(o.to, "--to");
  if (!from.ok()) return Fail("report", from.status());
  if (!to.ok()) return Fail("report", to.status());
  q.from_day = *from;
  q.to_day = *to;
  q.region = o.region;
  q.by_region = o.by == "region";
  const std::string dir = ViewsDir(o.log, o.views_dir);
  auto store = projections::ViewStore::Open(dir, projections::ViewStore::Access::kRead);
  if (!store.ok()) return Fail("report", store.status());
  auto report = projections::ComputeReport(**store, q);
  if (!report.ok()) return Fail("report", report.status());
  const bool zh = o.lang == "zh";
  std::vector<std::string> columns;
  for (const auto& [name, _] : report->columns) columns.push_back(name);
  const auto rows0 = ReportRows(report->columns.begin()->second);

  if (o.format == "json") {
    Json j = Json::object();
    j["from"] = o.from;
    j["to"] = o.to;
    j["region"] = o.region;
    Json cols = Json::object();
    for (const auto& [name, figures] : report->columns) cols[name] = FiguresToJson(figures);
    j["columns"] = std::move(cols);
    PrintLine(j.dump(-1, ' ', false));
    return 0;
  }
  if (o.format == "csv") {
    std::string header = "metric,label";
    for (const auto& c : columns) header += "," + c;
    PrintLine(header);
    for (size_t i = 0; i < rows0.size(); ++i) {
      std::string line = fmt::format("{},\"{}\"", rows0[i].key, zh ? rows0[i].zh : rows0[i].en);
      for (const auto& [_, figures] : report->columns) line += "," + Figure(ReportRows(figures)[i]);
      PrintLine(line);
    }
    return 0;
  }
  PrintLine(zh ? fmt::format("110接处警统计 {} 至 {}{}", o.from, o.to,
                             o.region.empty() ? "" : "，区划 " + o.region + "*")
               : fmt::format("110 report, {} to {}{}", o.from, o.to,
                             o.region.empty() ? "" : ", region " + o.region + "*"));
  std::string header = fmt::format("{:<34}", zh ? "项目" : "figure");
  for (const auto& c : columns)
    header += fmt::format("{:>12}", c == "total" ? (zh ? "合计" : "total") : c);
  PrintLine(header);
  for (size_t i = 0; i < rows0.size(); ++i) {
    const char* label = zh ? rows0[i].zh : rows0[i].en;
    // Pad by display width: a Chinese character takes two columns.
    int width = 0;
    for (const char* p = label; *p;) {
      const auto c = static_cast<unsigned char>(*p);
      const int len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
      width += len >= 3 ? 2 : 1;
      p += len;
    }
    std::string line = std::string(label) + std::string(std::max(1, 34 - width), ' ');
    for (const auto& [_, figures] : report->columns)
      line += fmt::format("{:>12}", Figure(ReportRows(figures)[i]));
    PrintLine(line);
  }
  return 0;
}

}  // namespace

Subcommand AddReport(CLI::App& root) {
  auto o = std::make_shared<ReportOptions>();
  Subcommand c;
  c.app = root.add_subcommand("report",
                              "the 110 report (calls, valid incidents by category, transfers, "
                              "rescues, arrests, 1/3/5-minute arrival) for a period and region");
  AddLogOptions(c.app, &o->log, "report");
  AddViewsDirOption(c.app, &o->views_dir);
  c.app->add_option("--from", o->from, "first day (a date or RFC 3339 time, UTC+8)")->required();
  c.app->add_option("--to", o->to, "last day, inclusive")->required();
  c.app->add_option("--region", o->region,
                    "division-code prefix, e.g. 41 (Henan) or 4116 (Zhoukou)");
  c.app->add_option("--by", o->by, "region: one column per division")
      ->check(CLI::IsMember({"region"}));
  c.app->add_option("--format", o->format, "table, json or csv")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json", "csv"}));
  c.app->add_option("--lang", o->lang, "zh or en labels")
      ->capture_default_str()
      ->check(CLI::IsMember({"zh", "en"}));
  c.run = [o] { return Run(*o); };
  return c;
}

}  // namespace blotter::cli
