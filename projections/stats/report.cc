#include "projections/stats/report.h"

#include <rocksdb/db.h>

#include "projections/stats/stats_view.h"

namespace blotter::projections {
namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    out.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

}  // namespace

Result<Report> ComputeReport(const ViewStore& store, const ReportQuery& q) {
  Report report;
  report.query = q;
  for (const char* kind : {"n", "t", "c", "a"}) {
    const std::string prefix = std::string(kind) + "|";
    std::unique_ptr<rocksdb::Iterator> it(
        store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::kStats)));
    for (it->Seek(prefix + q.from_day); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const auto parts = Split(it->key().ToStringView(), '|');
      if (parts.size() < 4) continue;
      if (parts[1] > q.to_day) break;
      const std::string_view division = parts[2];
      if (!division.starts_with(q.region)) continue;
      const int64_t v = DecodeCounter(it->value().ToStringView());
      ReportFigures& f = report.columns[q.by_region ? std::string(division) : "total"];
      if (kind[0] == 'n' && parts.size() == 7) {
        const std::string_view category = parts[3], disposition = parts[6];
        f.calls_received += v;
        if (category == "criminal")
          f.criminal += v;
        else if (category == "public_order")
          f.public_order += v;
        else if (category == "traffic")
          f.traffic += v;
        else if (category == "assistance")
          f.assistance += v;
        else if (category == "fire_disaster")
          f.fire_disaster += v;
        else if (category == "non_police")
          f.non_police += v;
        else if (category == "invalid")
          f.invalid += v;
        if (disposition == "person_found") f.missing_found += v;
      } else if (kind[0] == 't') {
        if (parts[3] == "ambulance_120")
          f.transferred_120 += v;
        else if (parts[3] == "fire_119")
          f.transferred_119 += v;
        else if (parts[3] == "hotline_12345")
          f.transferred_12345 += v;
      } else if (kind[0] == 'c') {
        if (parts[3] == "arrest")
          f.arrests += v;
        else if (parts[3] == "rescued")
          f.people_rescued += v;
      } else if (kind[0] == 'a') {
        const int bucket = std::atoi(std::string(parts[3]).c_str());
        const int seconds = bucket * kDelayBucketSeconds;  // the bucket's lower bound
        f.arrived += v;
        if (seconds < 60) f.arrived_1min += v;
        if (seconds < 180) f.arrived_3min += v;
        if (seconds < 300) f.arrived_5min += v;
      }
    }
    if (!it->status().ok()) return Status::IOError(it->status().ToString());
  }
  for (auto& [_, f] : report.columns) {
    f.valid = f.criminal + f.public_order + f.traffic + f.assistance + f.fire_disaster;
  }
  if (report.columns.empty() && !q.by_region) report.columns["total"] = ReportFigures{};
  return report;
}

std::vector<ReportRow> ReportRows(const ReportFigures& f) {
  auto share = [&](int64_t n) { return f.arrived ? 100.0 * n / f.arrived : 0.0; };
  return {
      {"calls_received", "呼入总量", "calls received", double(f.calls_received), false},
      {"valid_incidents", "有效警情", "valid incidents", double(f.valid), false},
      {"criminal", "刑事警情", "criminal", double(f.criminal), false},
      {"public_order", "治安警情", "public order", double(f.public_order), false},
      {"traffic", "交通警情", "traffic", double(f.traffic), false},
      {"assistance", "群众求助", "assistance requests", double(f.assistance), false},
      {"fire_disaster", "火灾及灾害", "fire and disaster", double(f.fire_disaster), false},
      {"non_police", "非警务警情（12345联动）", "non-police matters (with 12345)",
       double(f.non_police), false},
      {"invalid", "无效警情", "invalid calls", double(f.invalid), false},
      {"transferred_120", "移交120", "transferred to 120", double(f.transferred_120), false},
      {"transferred_119", "移交119", "transferred to 119", double(f.transferred_119), false},
      {"transferred_12345", "转12345", "transferred to 12345", double(f.transferred_12345), false},
      {"missing_found", "找回走失人员", "missing people found", double(f.missing_found), false},
      {"people_rescued", "救助群众", "people rescued", double(f.people_rescued), false},
      {"arrests", "抓获嫌疑人", "suspects arrested", double(f.arrests), false},
      {"arrived_1min_pct", "1分钟到场率", "on scene within 1 min", share(f.arrived_1min), true},
      {"arrived_3min_pct", "3分钟到场率", "on scene within 3 min", share(f.arrived_3min), true},
      {"arrived_5min_pct", "5分钟到场率", "on scene within 5 min", share(f.arrived_5min), true},
  };
}

Json FiguresToJson(const ReportFigures& f) {
  Json c = Json::object();
  for (const auto& r : ReportRows(f)) {
    c[r.key] = r.percent ? Json(r.value) : Json(static_cast<int64_t>(r.value));
  }
  return c;
}

}  // namespace blotter::projections
