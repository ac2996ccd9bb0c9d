#include "projections/state_codec.h"

namespace blotter::projections {
namespace {

// 2: the id left to the key; times after the call's receipt.
constexpr uint8_t kVersion = 2;

// Writes into room the caller sized beforehand (EncodeStateTo), a byte at a
// time through a pointer rather than an append per field.
class Writer {
 public:
  explicit Writer(char* at) : at_(at) {}
  char* at() const { return at_; }
  void Byte(uint8_t b) { *at_++ = static_cast<char>(b); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      *at_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *at_++ = static_cast<char>(v);
  }
  void Signed(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void String(std::string_view s) {
    Varint(s.size());
    s.copy(at_, s.size());
    at_ += s.size();
  }
  // Times but the call's receipt are kept as offsets from it (minutes, in
  // microseconds: 4-5 bytes rather than 8), behind a mask of those set.
  void Times(uint64_t base, std::initializer_list<Micros> times) {
    uint64_t set = 0;
    int bit = 0;
    for (Micros t : times) set |= uint64_t{t != 0} << bit++;
    Varint(set);
    for (Micros t : times) {
      if (t != 0) Signed(static_cast<int64_t>(static_cast<uint64_t>(t) - base));
    }
  }

 private:
  char* at_;
};

constexpr size_t kMaxVarint = 10;

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return Fail();
      const auto b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    return Fail();
  }
  int64_t Signed() {
    const uint64_t v = Varint();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  std::string String() {
    const uint64_t n = Varint();
    if (!ok_ || n > in_.size() - pos_) return Fail(), std::string();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  bool AtEnd() const { return pos_ == in_.size(); }
  // What PutTimes wrote: each time offset from `base`, or 0 if not set.
  void Times(uint64_t base, std::initializer_list<Micros*> times) {
    const uint64_t set = Varint();
    int bit = 0;
    for (Micros* t : times) {
      *t = (set >> bit++) & 1 ? static_cast<Micros>(base + static_cast<uint64_t>(Signed())) : 0;
    }
    if (set >> bit) Fail();
  }

 private:
  uint64_t Fail() {
    ok_ = false;
    return 0;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

void EncodeStateTo(const IncidentState& s, std::string* out) {
  // Room for the most each field can take: 32 varints (23 are written)
  // beside the strings, 6 per unit and 2 per case.
  size_t room = 32 * kMaxVarint + s.last_hash.size() + s.division.size();
  for (const auto& u : s.units) room += 6 * kMaxVarint + u.unit_id.size();
  for (const auto& [id, st] : s.cases) room += 2 * kMaxVarint + id.size();
  out->resize(room);
  Writer w(out->data());
  w.Byte(kVersion);
  w.Varint(s.version);
  w.String(s.last_hash);
  w.Signed(s.received_at);
  const auto base = static_cast<uint64_t>(s.received_at);
  w.Times(base, {s.last_recorded_at, s.classified_at, s.first_dispatched_at, s.first_arrived_at,
                 s.closed_at});
  w.Varint(static_cast<uint64_t>(s.status));
  w.Varint(static_cast<uint64_t>(s.channel));
  w.String(s.division);
  w.Varint(static_cast<uint64_t>(s.reported_category));
  w.Varint(static_cast<uint64_t>(s.category));
  w.Varint(static_cast<uint64_t>(s.subtype));
  w.Varint(s.units.size());
  for (const auto& u : s.units) {
    w.String(u.unit_id);
    w.Varint(static_cast<uint64_t>(u.kind));
    w.Varint(u.reinforcement ? 1 : 0);
    w.Times(base, {u.assigned_at, u.arrived_at});
  }
  w.Varint(static_cast<uint64_t>(s.disposition));
  w.Varint(s.disposition_count);
  w.Varint(static_cast<uint64_t>(s.transferred_to));
  w.Varint(static_cast<uint64_t>(s.reopen_count));
  w.Varint(static_cast<uint64_t>(s.note_count));
  w.Varint(s.cases.size());
  for (const auto& [id, st] : s.cases) {
    w.String(id);
    w.Varint(static_cast<uint64_t>(st));
  }
  out->resize(static_cast<size_t>(w.at() - out->data()));
}

std::string EncodeState(const IncidentState& s) {
  std::string out;
  EncodeStateTo(s, &out);
  return out;
}

Result<IncidentState> DecodeState(std::string_view incident_id, std::string_view bytes) {
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != kVersion) {
    return Status::Corruption("incident record has an unknown version");
  }
  Reader r(bytes.substr(1));
  IncidentState s;
  s.incident_id = incident_id;
  s.version = r.Varint();
  s.last_hash = r.String();
  s.received_at = r.Signed();
  const auto base = static_cast<uint64_t>(s.received_at);
  r.Times(base, {&s.last_recorded_at, &s.classified_at, &s.first_dispatched_at, &s.first_arrived_at,
                 &s.closed_at});
  s.status = static_cast<IncidentStatus>(r.Varint());
  s.channel = static_cast<fb::Channel>(r.Varint());
  s.division = r.String();
  s.reported_category = static_cast<fb::Category>(r.Varint());
  s.category = static_cast<fb::Category>(r.Varint());
  s.subtype = static_cast<fb::Subtype>(r.Varint());
  const uint64_t units = r.Varint();
  for (uint64_t i = 0; r.ok() && i < units; ++i) {
    UnitState u;
    u.unit_id = r.String();
    u.kind = static_cast<fb::UnitKind>(r.Varint());
    u.reinforcement = r.Varint() != 0;
    r.Times(base, {&u.assigned_at, &u.arrived_at});
    s.units.push_back(std::move(u));
  }
  s.disposition = static_cast<fb::Disposition>(r.Varint());
  s.disposition_count = static_cast<uint32_t>(r.Varint());
  s.transferred_to = static_cast<fb::TransferDestination>(r.Varint());
  s.reopen_count = static_cast<int>(r.Varint());
  s.note_count = static_cast<int>(r.Varint());
  const uint64_t cases = r.Varint();
  for (uint64_t i = 0; r.ok() && i < cases; ++i) {
    std::string id = r.String();
    s.cases[id] = static_cast<LinkStatus>(r.Varint());
  }
  if (!r.ok() || !r.AtEnd()) return Status::Corruption("incident record is damaged");
  return s;
}

}  // namespace blotter::projections
