#include "events/codec.h"

#include <fmt/format.h>

namespace blotter {

Result<const fb::Event*> DecodeEvent(std::string_view bytes) {
  if (bytes.size() < 8) {
    return Status::Corruption(fmt::format("event is {} bytes, too short", bytes.size()));
  }
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (!flatbuffers::BufferHasIdentifier(data, fb::EventIdentifier())) {
    return Status::Corruption("not a blotter event (file identifier is not BLEV)");
  }
  flatbuffers::Verifier verifier(data, bytes.size());
  if (!fb::VerifyEventBuffer(verifier)) {
    return Status::Corruption("event bytes fail FlatBuffers verification");
  }
  const fb::Event* e = fb::GetEvent(data);
  if (e->incident_id() == nullptr || e->incident_id()->size() == 0) {
    return Status::Corruption("event has no incident id");
  }
  if (e->sequence() == 0) return Status::Corruption("event sequence is 0 (starts at 1)");
  if (e->payload_type() == fb::Payload::NONE || e->payload() == nullptr) {
    return Status::Corruption("event has no payload");
  }
  if (e->payload_type() > fb::Payload::MAX) {
    return Status::Corruption(fmt::format("event payload type {} is unknown to this version",
                                          static_cast<int>(e->payload_type())));
  }
  if (e->hash() == nullptr || e->hash()->size() != kHashSize || e->prev_hash() == nullptr ||
      e->prev_hash()->size() != kHashSize) {
    return Status::Corruption("event hash or prev_hash is not 32 bytes");
  }
  return e;
}

std::string_view PackCanonical(const fb::EventT& event) {
  // Clear() resets a builder to the state of a fresh one and keeps its
  // memory: a fresh builder per event allocated and grew its buffer each time.
  thread_local flatbuffers::FlatBufferBuilder fbb(1024);
  fbb.Clear();
  fb::FinishEventBuffer(fbb, fb::Event::Pack(fbb, &event));
  return {reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()};
}

std::string EncodeCanonical(const fb::EventT& event) { return std::string(PackCanonical(event)); }

Result<EncodedEvent> EncodedEvent::FromBytes(std::string bytes) {
  auto decoded = DecodeEvent(bytes);
  if (!decoded.ok()) return decoded.status();
  return FromVerified(std::move(bytes));
}

EncodedEvent EncodedEvent::FromVerified(std::string bytes) {
  EncodedEvent out;
  out.bytes_ = std::move(bytes);
  const fb::Event* e = out.event();
  if (const auto* id = e->incident_id()) out.incident_id_ = out.SpanOf(id->data(), id->size());
  if (const auto* h = e->hash()) out.hash_ = out.SpanOf(h->data(), h->size());
  if (const auto* h = e->prev_hash()) out.prev_hash_ = out.SpanOf(h->data(), h->size());
  out.sequence_ = e->sequence();
  out.recorded_at_ = e->recorded_at();
  return out;
}

EncodedEvent::Span EncodedEvent::SpanOf(const void* data, size_t size) const {
  return Span{static_cast<uint32_t>(static_cast<const char*>(data) - bytes_.data()),
              static_cast<uint32_t>(size)};
}

fb::EventT Unpack(const fb::Event& event) {
  fb::EventT out;
  event.UnPackTo(&out);
  return out;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

Result<std::string> FromHex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return Status::InvalidArgument("hex string has odd length");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("not a hex string");
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

}  // namespace blotter
