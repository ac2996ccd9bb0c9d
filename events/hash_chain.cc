#include "events/hash_chain.h"

#include <fmt/format.h>
#include <openssl/evp.h>

namespace blotter {

const std::string& GenesisHash() {
  static const std::string kGenesis(kHashSize, '\0');
  return kGenesis;
}

std::string Sha256(std::string_view data) {
  // One fetched algorithm and context per thread: OpenSSL 3 would otherwise
  // look the algorithm up and allocate a context on every call.
  struct Context {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() {
      EVP_MD_CTX_free(ctx);
      EVP_MD_free(md);
    }
  };
  thread_local Context c;
  std::string out(kHashSize, '\0');
  unsigned int len = 0;
  if (!c.md || !c.ctx || EVP_DigestInit_ex(c.ctx, c.md, nullptr) != 1 ||
      EVP_DigestUpdate(c.ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(c.ctx, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kHashSize) {
    throw std::runtime_error("OpenSSL SHA-256 failed");  // broken invariant, not input
  }
  return out;
}

std::string ComputeEventHash(const fb::EventT& event) {
  if (event.hash.empty()) return Sha256(PackCanonical(event));
  fb::EventT copy = event;
  copy.hash.clear();
  return Sha256(PackCanonical(copy));
}

Result<EncodedEvent> Seal(fb::EventT& event) {
  if (event.prev_hash.size() != kHashSize) {
    return Status::InvalidArgument("prev_hash must be set (32 bytes) before sealing");
  }
  event.hash.clear();
  const std::string h = Sha256(PackCanonical(event));
  event.hash.assign(h.begin(), h.end());
  // Not verified again here: the bytes come from this process's builder, and
  // every reader verifies what it decodes.
  return EncodedEvent::FromVerified(EncodeCanonical(event));
}

namespace {

std::string Bytes(const flatbuffers::Vector<uint8_t>* v) {
  return v ? std::string(reinterpret_cast<const char*>(v->data()), v->size()) : std::string();
}

std::string Name(const fb::Event& e) {
  return fmt::format("incident {} event {}", e.incident_id() ? e.incident_id()->str() : "?",
                     e.sequence());
}

}  // namespace

Status VerifyEventHash(const fb::Event& event) {
  fb::EventT t;
  event.UnPackTo(&t);
  const std::string stored = Bytes(event.hash());
  t.hash.clear();
  if (Sha256(PackCanonical(t)) != stored) {
    return Status::Corruption(
        fmt::format("{}: content does not match its hash (altered)", Name(event)));
  }
  return Status::Ok();
}

Status ChainVerifier::CheckLinks(const fb::Event& event) {
  const std::string id = event.incident_id()->str();
  Head& head = heads_[id];
  const uint64_t want = head.sequence + 1;
  if (event.sequence() != want) {
    return Status::Corruption(fmt::format(
        "{}: expected sequence {} ({})", Name(event), want,
        event.sequence() > want ? "events missing before it" : "out of order or repeated"));
  }
  const std::string prev = Bytes(event.prev_hash());
  if (prev != (head.sequence == 0 ? GenesisHash() : head.hash)) {
    return Status::Corruption(
        fmt::format("{}: prev_hash does not match the hash of event {} (history altered)",
                    Name(event), head.sequence));
  }
  head.sequence = event.sequence();
  head.hash = Bytes(event.hash());
  return Status::Ok();
}

Status ChainVerifier::Check(const fb::Event& event) {
  BLOTTER_RETURN_IF_ERROR(VerifyEventHash(event));
  return CheckLinks(event);
}

}  // namespace blotter
