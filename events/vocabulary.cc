#include "events/vocabulary.h"

#include <fmt/format.h>

namespace blotter {
namespace {

template <typename E>
std::string_view NameIn(const char* const* names, E v) {
  const auto i = static_cast<size_t>(v);
  const char* n = names[i];
  return n ? std::string_view(n) : std::string_view("?");
}

template <typename E, size_t N>
Result<E> Lookup(const E (&values)[N], const char* const* names, std::string_view name,
                 std::string_view what) {
  for (E v : values) {
    if (name == names[static_cast<size_t>(v)]) return v;
  }
  std::string valid;
  for (E v : values) {
    if (v == E::MIN && std::string_view(names[0]) == "unknown") continue;
    if (!valid.empty()) valid += ", ";
    valid += names[static_cast<size_t>(v)];
  }
  return Status::InvalidArgument(fmt::format("unknown {} '{}' (valid: {})", what, name, valid));
}

}  // namespace

#define BLOTTER_ENUM(E)                                                             \
  std::string_view Name(fb::E v) {                                                  \
    if (v < fb::E::MIN || v > fb::E::MAX) return "?";                               \
    return NameIn(fb::EnumNames##E(), v);                                           \
  }                                                                                 \
  template <>                                                                       \
  Result<fb::E> EnumFromName<fb::E>(std::string_view name, std::string_view what) { \
    return Lookup(fb::EnumValues##E(), fb::EnumNames##E(), name, what);             \
  }

BLOTTER_ENUM(Channel)
BLOTTER_ENUM(Category)
BLOTTER_ENUM(Subtype)
BLOTTER_ENUM(UnitKind)
BLOTTER_ENUM(TransferDestination)
BLOTTER_ENUM(Disposition)
BLOTTER_ENUM(EntityKind)
BLOTTER_ENUM(Payload)
#undef BLOTTER_ENUM

fb::Category CategoryOf(fb::Subtype s) {
  using C = fb::Category;
  using S = fb::Subtype;
  if (s >= S::fuel_theft && s <= S::drugs) return C::criminal;
  if (s >= S::dispute && s <= S::disturbance) return C::public_order;
  if (s >= S::traffic_collision && s <= S::hit_and_run) return C::traffic;
  if (s >= S::missing_person && s <= S::welfare_check) return C::assistance;
  if (s >= S::fire && s <= S::building_collapse) return C::fire_disaster;
  if (s >= S::utilities && s <= S::inquiry) return C::non_police;
  if (s >= S::prank && s <= S::duplicate_call) return C::invalid;
  return C::unknown;
}

bool IsDivisionCode(std::string_view s) {
  if (s.size() != 6) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return s[0] != '0';
}

}  // namespace blotter
