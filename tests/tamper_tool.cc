// tamper_tool: alters an embedded log's stored bytes behind blotter's back,
// as an attacker with disk access would, for the tamper-detection tests.
//
//   tamper_tool DIR flip OFFSET          change one byte of an event
//   tamper_tool DIR delete OFFSET        remove an event
//   tamper_tool DIR swap OFFSET OFFSET   exchange two events
//   tamper_tool DIR reseal OFFSET        alter an event and seal it again, so
//                                        its own hash is valid (what an
//                                        attacker who knows the format does)

#include <rocksdb/db.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "events/codec.h"
#include "events/hash_chain.h"

namespace {

std::string Key(long long offset) {
  std::string k;
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((offset >> (8 * i)) & 0xff));
  return k;
}

int Die(const std::string& m) {
  std::fprintf(stderr, "tamper_tool: %s\n", m.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return Die("usage: DIR flip|delete|swap|reseal OFFSET [OFFSET]");
  const std::string dir = argv[1], op = argv[2];
  const long long o = std::stoll(argv[3]);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* name : {"default", "log", "incidents"})
    cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &h, &raw);
  if (!s.ok()) return Die(s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string v;
  s = db->Get(rocksdb::ReadOptions(), h[1], Key(o), &v);
  if (!s.ok()) return Die("no event at that position");
  if (op == "flip") {
    v[v.size() / 2] = static_cast<char>(v[v.size() / 2] ^ 0x01);
    s = db->Put(rocksdb::WriteOptions(), h[1], Key(o), v);
  } else if (op == "reseal") {
    // Log values are [partition u32][event bytes].
    auto e = blotter::DecodeEvent(std::string_view(v).substr(4));
    if (!e.ok()) return Die(e.status().ToString());
    blotter::fb::EventT t;
    (*e)->UnPackTo(&t);
    t.actor += " (altered)";
    auto sealed = blotter::Seal(t);
    if (!sealed.ok()) return Die(sealed.status().ToString());
    s = db->Put(rocksdb::WriteOptions(), h[1], Key(o),
                v.substr(0, 4) + std::string(sealed->bytes()));
  } else if (op == "delete") {
    s = db->Delete(rocksdb::WriteOptions(), h[1], Key(o));
  } else if (op == "swap" && argc > 4) {
    const long long o2 = std::stoll(argv[4]);
    std::string v2;
    s = db->Get(rocksdb::ReadOptions(), h[1], Key(o2), &v2);
    if (!s.ok()) return Die("no event at the second position");
    s = db->Put(rocksdb::WriteOptions(), h[1], Key(o), v2);
    if (s.ok()) s = db->Put(rocksdb::WriteOptions(), h[1], Key(o2), v);
  } else {
    return Die("unknown operation " + op);
  }
  if (!s.ok()) return Die(s.ToString());
  for (auto* x : h) db->DestroyColumnFamilyHandle(x).PermitUncheckedError();
  return 0;
}
