#include "projections/linker/links_view.h"

#include <fmt/format.h>
#include <rocksdb/db.h>

#include <set>

namespace blotter::projections {
namespace {

std::string Key(char kind, std::string_view a, std::string_view b) {
  std::string k(1, kind);
  k.append(a);
  k.push_back('\0');
  k.append(b);
  return k;
}

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

Status FromRocks(const rocksdb::Status& s) {
  return s.ok() ? Status::Ok() : Status::IOError(fmt::format("read links: {}", s.ToString()));
}

}  // namespace

void LinksView::Apply(const Change& c, rocksdb::WriteBatch* batch) {
  if (c.event.payload_type() != fb::Payload::CaseLinked) return;
  const auto* l = c.event.payload_as_CaseLinked();
  Json j = Json::object();
  j["case_id"] = Str(l->case_id());
  j["linked_incident_id"] = Str(l->linked_incident_id());
  j["score"] = l->score();
  j["algorithm_version"] = Str(l->algorithm_version());
  j["at"] = FormatTime(c.event.occurred_at());
  Json factors = Json::array();
  if (l->factors()) {
    for (const auto* f : *l->factors()) {
      Json fj = Json::object();
      fj["name"] = Str(f->name());
      fj["detail"] = Str(f->detail());
      fj["value"] = f->value();
      fj["weight"] = f->weight();
      fj["contribution"] = f->contribution();
      factors.push_back(std::move(fj));
      if (Str(f->name()) == "merge") {
        // "case K-a merged into K-b": the merged case now stands for this one.
        const std::string detail = Str(f->detail());
        const size_t sp = detail.find(' ', 5);
        if (detail.starts_with("case ") && sp != std::string::npos) {
          batch->Put(store_->cf(Cf::kLinks), "m" + detail.substr(5, sp - 5), Str(l->case_id()));
        }
      }
    }
  }
  j["factors"] = std::move(factors);
  batch->Put(store_->cf(Cf::kLinks), Key('d', c.after.incident_id, Str(l->case_id())),
             j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void LinksView::Finish(const IncidentState& before, const IncidentState& after, uint32_t,
                       rocksdb::WriteBatch* batch) {
  // Cases that meet in an incident are one: the older (smaller id) stands for
  // the others.
  std::string oldest;
  for (const auto& [case_id, status] : after.cases) {
    if (status == LinkStatus::kRejected) continue;
    if (oldest.empty()) {
      oldest = case_id;  // the map is in id order
    } else if (!before.cases.contains(case_id) || !before.cases.contains(oldest)) {
      batch->Put(store_->cf(Cf::kLinks), "m" + case_id, oldest);
    }
  }
  for (const auto& [case_id, status] : after.cases) {
    auto it = before.cases.find(case_id);
    if (it != before.cases.end() && it->second == status) continue;
    const std::string s(Name(status));
    batch->Put(store_->cf(Cf::kLinks), Key('i', after.incident_id, case_id), s);
    batch->Put(store_->cf(Cf::kLinks), Key('c', case_id, after.incident_id), s);
  }
}

Result<std::string> SurvivingCase(const ViewStore& store, std::string case_id) {
  for (int hops = 0; hops < 64; ++hops) {
    std::string next;
    rocksdb::Status s =
        store.db()->Get(rocksdb::ReadOptions(), store.cf(Cf::kLinks), "m" + case_id, &next);
    if (s.IsNotFound()) return case_id;
    BLOTTER_RETURN_IF_ERROR(FromRocks(s));
    if (next == case_id) return case_id;
    case_id = next;
  }
  return Status::Corruption(fmt::format("case {}: merges go round in a circle", case_id));
}

Result<std::vector<std::string>> CasesOf(const ViewStore& store, std::string_view incident_id) {
  std::set<std::string> out;
  const std::string prefix = Key('i', incident_id, "");
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::kLinks)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    BLOTTER_ASSIGN_OR_RETURN(std::string c,
                             SurvivingCase(store, it->key().ToString().substr(prefix.size())));
    out.insert(std::move(c));
  }
  BLOTTER_RETURN_IF_ERROR(FromRocks(it->status()));
  return std::vector<std::string>(out.begin(), out.end());
}

Result<std::vector<CaseMember>> MembersOf(const ViewStore& store, std::string_view case_id) {
  std::vector<CaseMember> out;
  const std::string prefix = Key('c', case_id, "");
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::kLinks)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    CaseMember m;
    m.incident_id = it->key().ToString().substr(prefix.size());
    m.status = it->value().ToString();
    std::string detail;
    rocksdb::Status s = store.db()->Get(rocksdb::ReadOptions(), store.cf(Cf::kLinks),
                                        Key('d', m.incident_id, case_id), &detail);
    if (s.ok()) {
      m.link = Json::parse(detail, nullptr, false);
    } else if (!s.IsNotFound()) {
      return FromRocks(s);
    }
    out.push_back(std::move(m));
  }
  BLOTTER_RETURN_IF_ERROR(FromRocks(it->status()));
  return out;
}

Result<std::vector<std::string>> AllCases(const ViewStore& store) {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::kLinks)));
  for (it->Seek("c"); it->Valid() && it->key().starts_with("c");) {
    const std::string key = it->key().ToString();
    const size_t nul = key.find('\0');
    const std::string case_id = key.substr(1, nul - 1);
    std::string merged;
    rocksdb::Status s =
        store.db()->Get(rocksdb::ReadOptions(), store.cf(Cf::kLinks), "m" + case_id, &merged);
    if (s.IsNotFound()) out.push_back(case_id);
    // Past this case's members.
    std::string next = "c" + case_id;
    next.push_back('\1');
    it->Seek(next);
  }
  BLOTTER_RETURN_IF_ERROR(FromRocks(it->status()));
  return out;
}

}  // namespace blotter::projections
