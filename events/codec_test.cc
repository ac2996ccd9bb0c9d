#include "events/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "events/event_log.h"
#include "events/hash_chain.h"
#include "events/sample_events.h"
#include "events/vocabulary.h"

namespace blotter {
namespace {

using testing::AllPayloadTypes;
using testing::SampleEvent;
using testing::SealedChain;

TEST(CodecTest, RoundTripsEveryPayloadType) {
  for (fb::Payload type : AllPayloadTypes()) {
    fb::EventT e = SampleEvent(type, "411621-20211106-0001", 1);
    e.prev_hash.assign(GenesisHash().begin(), GenesisHash().end());
    auto sealed = Seal(e);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    auto decoded = EncodedEvent::FromBytes(sealed->bytes());
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->incident_id(), "411621-20211106-0001");
    EXPECT_EQ(decoded->event()->payload_type(), type);
    // Unpack then re-encode gives the same canonical bytes.
    EXPECT_EQ(EncodeCanonical(Unpack(*decoded->event())), sealed->bytes()) << Name(type);
    EXPECT_TRUE(VerifyEventHash(*decoded->event()).ok());
  }
}

TEST(CodecTest, EveryTruncationIsRejected) {
  const std::string bytes = SealedChain("411681-20211008-0001", 1)[0].bytes();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = DecodeEvent(std::string_view(bytes).substr(0, n));
    if (r.ok()) {
      // Only trailing padding that no field reads may go; the content must be whole.
      EXPECT_EQ(EncodeCanonical(Unpack(**r)), bytes) << "prefix of " << n << " bytes decoded";
      EXPECT_GE(n + 8, bytes.size());
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    }
  }
}

TEST(CodecTest, RandomBytesAreRejected) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 600, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (i % 2 == 0 && junk.size() >= 8) junk.replace(4, 4, "BLEV");  // past the identifier check
    auto r = DecodeEvent(junk);
    if (r.ok()) {
      // Astronomically unlikely; if the verifier accepts it the hash must still fail.
      EXPECT_FALSE(VerifyEventHash(**r).ok());
    }
  }
}

TEST(CodecTest, EveryFlippedByteIsCaughtByVerifierOrHash) {
  const std::string good = SealedChain("411681-20211008-0001", 2)[1].bytes();
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    auto r = DecodeEvent(bad);
    if (!r.ok()) continue;
    // The verifier cannot see every change; a change it passes must fail the hash,
    // unless the byte was padding that no field reads (then the content is unchanged).
    if (EncodeCanonical(Unpack(**r)) == EncodeCanonical(Unpack(*DecodeEvent(good).value())))
      continue;
    EXPECT_FALSE(VerifyEventHash(**r).ok()) << "flip at byte " << i << " went unnoticed";
  }
}

TEST(CodecTest, WrongRootOrIdentifierIsRejected) {
  flatbuffers::FlatBufferBuilder fbb;
  fb::TimeWindowT w;
  w.earliest = 1;
  w.latest = 2;
  fbb.Finish(fb::TimeWindow::Pack(fbb, &w), "BLEV");  // right identifier, wrong table
  auto r = DecodeEvent(
      std::string_view(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
  EXPECT_FALSE(r.ok());

  std::string other = SealedChain("x", 1)[0].bytes();
  other.replace(4, 4, "XXXX");
  r = DecodeEvent(other);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("identifier"), std::string::npos);
}

TEST(CodecTest, EnvelopeRulesAreChecked) {
  fb::EventT e = SampleEvent(fb::Payload::NoteAdded, "x", 1);
  e.prev_hash.assign(GenesisHash().begin(), GenesisHash().end());
  e.hash = e.prev_hash;
  fb::EventT no_id = e;
  no_id.incident_id.clear();
  EXPECT_FALSE(DecodeEvent(EncodeCanonical(no_id)).ok());
  fb::EventT zero_seq = e;
  zero_seq.sequence = 0;
  EXPECT_FALSE(DecodeEvent(EncodeCanonical(zero_seq)).ok());
  fb::EventT short_hash = e;
  short_hash.hash.resize(31);
  EXPECT_FALSE(DecodeEvent(EncodeCanonical(short_hash)).ok());
  fb::EventT no_payload = e;
  no_payload.payload.Reset();
  EXPECT_FALSE(DecodeEvent(EncodeCanonical(no_payload)).ok());
  EXPECT_TRUE(DecodeEvent(EncodeCanonical(e)).ok());
}

TEST(HashChainTest, ChainVerifierNamesTheBreak) {
  auto chain = SealedChain("411681-20211008-0001", 4);
  {
    ChainVerifier v;
    for (const auto& e : chain) EXPECT_TRUE(v.Check(*e.event()).ok());
  }
  {  // deletion
    ChainVerifier v;
    ASSERT_TRUE(v.Check(*chain[0].event()).ok());
    Status st = v.Check(*chain[2].event());
    EXPECT_EQ(st.code(), StatusCode::kCorruption);
    EXPECT_NE(st.message().find("event 3"), std::string::npos) << st.message();
  }
  {  // reorder
    ChainVerifier v;
    ASSERT_TRUE(v.Check(*chain[0].event()).ok());
    EXPECT_FALSE(v.Check(*chain[2].event()).ok());
  }
  {  // alteration that keeps the stored hash
    fb::EventT t = Unpack(*chain[1].event());
    t.actor = "op:someone-else";
    std::string bytes = EncodeCanonical(t);
    ChainVerifier v;
    ASSERT_TRUE(v.Check(*chain[0].event()).ok());
    Status st = v.Check(*DecodeEvent(bytes).value());
    EXPECT_NE(st.message().find("altered"), std::string::npos) << st.message();
  }
  {  // a resealed alteration breaks the link to the next event
    fb::EventT t = Unpack(*chain[1].event());
    t.actor = "op:someone-else";
    auto resealed = Seal(t);
    ASSERT_TRUE(resealed.ok());
    ChainVerifier v;
    ASSERT_TRUE(v.Check(*chain[0].event()).ok());
    ASSERT_TRUE(v.Check(*resealed->event()).ok());
    EXPECT_FALSE(v.Check(*chain[2].event()).ok());
  }
}

// Kafka's own test vectors (clients/src/test/.../UtilsTest.java).
TEST(PartitionerTest, Murmur2MatchesKafka) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

TEST(PartitionerTest, PartitionIsStableAndInRange) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "411681-20211008-" + std::to_string(i);
    const int32_t p = KafkaPartition(id, 12);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 12);
    EXPECT_EQ(p, KafkaPartition(id, 12));
  }
}

}  // namespace
}  // namespace blotter
