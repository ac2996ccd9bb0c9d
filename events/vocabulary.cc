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

std::string_view ProvinceOf(std::string_view d) {
  static constexpr std::pair<std::string_view, std::string_view> kProvinces[] = {
      {"11", "北京"}, {"12", "天津"}, {"13", "河北"},   {"14", "山西"}, {"15", "内蒙古"},
      {"21", "辽宁"}, {"22", "吉林"}, {"23", "黑龙江"}, {"31", "上海"}, {"32", "江苏"},
      {"33", "浙江"}, {"34", "安徽"}, {"35", "福建"},   {"36", "江西"}, {"37", "山东"},
      {"41", "河南"}, {"42", "湖北"}, {"43", "湖南"},   {"44", "广东"}, {"45", "广西"},
      {"46", "海南"}, {"50", "重庆"}, {"51", "四川"},   {"52", "贵州"}, {"53", "云南"},
      {"54", "西藏"}, {"61", "陕西"}, {"62", "甘肃"},   {"63", "青海"}, {"64", "宁夏"},
      {"65", "新疆"}, {"71", "台湾"}, {"81", "香港"},   {"82", "澳门"}};
  if (d.size() < 2) return "";
  for (const auto& [code, name] : kProvinces) {
    if (d.substr(0, 2) == code) return name;
  }
  return "";
}

}  // namespace blotter
