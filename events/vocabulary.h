#pragma once

// Names of the schema's enums as they appear in JSON and on the command line,
// and which category each subtype belongs to.

#include <string_view>

#include "events/events_generated.h"
#include "events/status.h"

namespace blotter {

// The enum value named `name` (e.g. "fuel_theft"), or kInvalidArgument listing
// the valid names. The generated EnumNames*/EnumValues* tables are the source.
template <typename E>
Result<E> EnumFromName(std::string_view name, std::string_view what);

template <>
Result<fb::Channel> EnumFromName<fb::Channel>(std::string_view name, std::string_view what);
template <>
Result<fb::Category> EnumFromName<fb::Category>(std::string_view name, std::string_view what);
template <>
Result<fb::Subtype> EnumFromName<fb::Subtype>(std::string_view name, std::string_view what);
template <>
Result<fb::UnitKind> EnumFromName<fb::UnitKind>(std::string_view name, std::string_view what);
template <>
Result<fb::TransferDestination> EnumFromName<fb::TransferDestination>(std::string_view name,
                                                                      std::string_view what);
template <>
Result<fb::Disposition> EnumFromName<fb::Disposition>(std::string_view name, std::string_view what);
template <>
Result<fb::EntityKind> EnumFromName<fb::EntityKind>(std::string_view name, std::string_view what);
template <>
Result<fb::Payload> EnumFromName<fb::Payload>(std::string_view name, std::string_view what);

std::string_view Name(fb::Channel v);
std::string_view Name(fb::Category v);
std::string_view Name(fb::Subtype v);
std::string_view Name(fb::UnitKind v);
std::string_view Name(fb::TransferDestination v);
std::string_view Name(fb::Disposition v);
std::string_view Name(fb::EntityKind v);
std::string_view Name(fb::Payload v);

// The category a subtype belongs to (Category::unknown for subtype other/unknown,
// which any category may use).
fb::Category CategoryOf(fb::Subtype subtype);

// Whether `s` is a GB/T 2260 six-digit administrative division code.
bool IsDivisionCode(std::string_view s);

// The province (or province-level division) of a GB/T 2260 code, by its
// first two digits, e.g. "河南" for 411681; "" if unknown.
std::string_view ProvinceOf(std::string_view division);

}  // namespace blotter
