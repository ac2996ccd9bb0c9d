#include "tests/fuzz/fuzz_targets.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "events/aggregate.h"
#include "events/hash_chain.h"
#include "events/json.h"

namespace blotter::fuzz {

void DecodeEventTarget(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto e = DecodeEvent(bytes);
  if (!e.ok()) return;
  const fb::EventT t = Unpack(**e);
  const std::string json = EventToJson(t);  // must not crash, whatever decodes
  IncidentState s;
  Apply(s, **e);
  (void)CheckEvent(IncidentState{}, **e);
  // An event whose hash holds (content as sealed) must survive its JSON form
  // exactly. Altered content need not: invalid UTF-8, say, has no JSON form,
  // and the hash check names the alteration.
  if (!VerifyEventHash(**e).ok()) return;
  auto back = EventFromJson(json);
  if (!back.ok() || EncodeCanonical(*back) != EncodeCanonical(t)) {
    if (std::getenv("FUZZ_DEBUG")) {
      fprintf(stderr, "json: %s\nerr: %s\n", EventToJson(t).c_str(),
              back.ok() ? "differs" : back.status().ToString().c_str());
    }
    std::abort();
  }
}

void JsonTarget(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)EventFromJson(text);
  (void)CommandFromJson(text);
  (void)ParseTime(text);
}

}  // namespace blotter::fuzz
