#pragma once

// The JSON form of events: one line per event, keys in schema order, times in
// RFC 3339 (+08:00), hashes in hex, enums by name. EventFromJson(EventToJson(e))
// gives back e exactly, so its canonical bytes and hash are unchanged.
//
// Strings, sub-tables and vectors that are empty are left out; scalars and
// enums are always written. Unknown keys are an error (a typo must not lose a
// field silently).

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "events/codec.h"
#include "events/vocabulary.h"

namespace blotter {

using Json = nlohmann::ordered_json;

std::string EventToJson(const fb::EventT& event);
std::string EventToJson(const fb::Event& event);
Result<fb::EventT> EventFromJson(std::string_view line);

// Parses one line of JSON text into an object (kInvalidArgument otherwise).
Result<Json> ParseJsonObject(std::string_view text);

// Reads typed fields of one JSON object, remembering which keys were read,
// with errors that name the field path ("location.lat must be a number").
// Collects the first error; check status() at the end. Not thread-safe.
class JsonFields {
 public:
  JsonFields(const Json& object, std::string path, Status* status);

  bool Has(std::string_view key) const;
  std::string String(std::string_view key);
  double Double(std::string_view key);
  int64_t Int(std::string_view key);
  uint64_t Uint(std::string_view key);
  bool Bool(std::string_view key);
  Micros Time(std::string_view key);
  std::string Hex(std::string_view key);
  std::vector<std::string> Strings(std::string_view key);
  template <typename E>
  E Enum(std::string_view key, std::string_view what);
  // The sub-object at key, or nullptr when absent.
  const Json* Object(std::string_view key);
  const Json* Array(std::string_view key);
  std::string PathOf(std::string_view key) const;
  // Sets the error unless one is set already.
  void Fail(std::string message);
  // Fails if the object has keys that were never read.
  void RejectUnknown();
  bool ok() const { return status_->ok(); }
  Status* status() const { return status_; }

 private:
  const Json* Get(std::string_view key);

  const Json& object_;
  std::string path_;
  Status* status_;
  std::vector<std::string> read_;
};

// The payload's fields as JSON (without its type name), and back. A command's
// JSON carries the same fields, so both use these.
Json PayloadToJson(const fb::PayloadUnion& payload);
void PayloadFromJson(fb::Payload type, JsonFields& fields, fb::PayloadUnion* out);

template <typename E>
E JsonFields::Enum(std::string_view key, std::string_view what) {
  if (Has(key) && object_.at(key).is_number_integer()) {
    // A value a newer schema defined, written by number.
    const Json* v = Get(key);
    const int64_t n = v->get<int64_t>();
    using U = std::underlying_type_t<E>;
    if (n < 0 || n > static_cast<int64_t>(std::numeric_limits<U>::max())) {
      Fail(PathOf(key) + " is out of range");
      return E::MIN;
    }
    return static_cast<E>(n);
  }
  const std::string name = String(key);
  if (name.empty()) return E::MIN;
  auto v = EnumFromName<E>(name, what);
  if (!v.ok()) {
    Fail(PathOf(key) + ": " + v.status().message());
    return E::MIN;
  }
  return *v;
}

}  // namespace blotter
