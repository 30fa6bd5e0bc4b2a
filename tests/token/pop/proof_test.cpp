#include "acemq/token/pop/proof.hpp"

#include <gtest/gtest.h>

#include "acemq/common/random.hpp"
#include "acemq/token/crypto/aead.hpp"
#include "acemq/token/pop/auth_data.hpp"

namespace acemq::token::pop {
namespace {

crypto::key symmetric_key(std::size_t size = 32) {
  deterministic_random random(7);
  return crypto::key::generate_symmetric(size, random);
}

byte_vector exporter_value() {
  return byte_vector(exporter_length, 0x3E);
}

TEST(Pop, HmacSha256OverTheExporter) {
  const crypto::key key = symmetric_key();
  const byte_vector data = exporter_value();
  auto pop = compute_pop(key, data);
  ASSERT_TRUE(pop.has_value());
  ASSERT_EQ(pop->size(), hmac_pop_size);
  // RFC 9431 2.2.4.1: the PoP is HMAC-SHA256(key, exporter) for a symmetric cnf key.
  EXPECT_EQ(*pop, crypto::hmac_sha256(key.symmetric_bytes(), data));
  EXPECT_TRUE(verify_pop(key, data, *pop).has_value());
}

TEST(Pop, SignaturesWithEd25519AndP256) {
  for (const crypto::key& key : {crypto::key::generate_ed25519(), crypto::key::generate_p256()}) {
    const byte_vector data = challenge_bytes(byte_vector(8, 1), byte_vector(8, 2));
    auto pop = compute_pop(key, data);
    ASSERT_TRUE(pop.has_value());
    ASSERT_EQ(pop->size(), signature_pop_size);
    // The broker holds only the public key from cnf.
    auto public_key = key.public_key();
    ASSERT_TRUE(public_key.has_value());
    EXPECT_TRUE(verify_pop(*public_key, data, *pop).has_value());
    // Against other data, a flipped bit, a truncated value: bad_pop.
    byte_vector other = data;
    other[0] ^= 1;
    EXPECT_EQ(verify_pop(*public_key, other, *pop).error(), failure::bad_pop);
    byte_vector flipped = *pop;
    flipped[10] ^= 0x80;
    EXPECT_EQ(verify_pop(*public_key, data, flipped).error(), failure::bad_pop);
    EXPECT_EQ(verify_pop(*public_key, data, byte_view(*pop).first(63)).error(), failure::bad_pop);
    EXPECT_EQ(verify_pop(*public_key, data, byte_view(*pop).first(32)).error(), failure::bad_pop);
    // A public key cannot compute a PoP.
    EXPECT_EQ(compute_pop(*public_key, data).error(), failure::bad_key);
  }
}

TEST(Pop, WrongMacRefused) {
  const crypto::key key = symmetric_key();
  const byte_vector data = exporter_value();
  byte_vector pop = *compute_pop(key, data);
  pop[31] ^= 1;
  EXPECT_EQ(verify_pop(key, data, pop).error(), failure::bad_pop);
  EXPECT_EQ(verify_pop(key, data, byte_view(pop).first(31)).error(), failure::bad_pop);
  EXPECT_EQ(verify_pop(key, data, byte_vector(64, 0)).error(), failure::bad_pop);
  deterministic_random other_random(99);
  const crypto::key other = crypto::key::generate_symmetric(32, other_random);
  EXPECT_EQ(verify_pop(other, data, *compute_pop(key, data)).error(), failure::bad_pop);
}

TEST(Pop, UnusableKeysAreBadKey) {
  const crypto::key rsa = crypto::key::generate_rsa(2048);
  EXPECT_EQ(compute_pop(rsa, exporter_value()).error(), failure::bad_key);
  EXPECT_EQ(verify_pop(rsa, exporter_value(), byte_vector(64, 0)).error(), failure::bad_key);
  // RFC 7518 3.2: an HMAC-SHA256 key shorter than the hash is refused.
  const crypto::key short_key = symmetric_key(16);
  EXPECT_FALSE(compute_pop(short_key, exporter_value()).has_value());
  EXPECT_EQ(verify_pop(short_key, exporter_value(), byte_vector(32, 0)).error(), failure::bad_key);
  // A key bound to another algorithm is not a PoP key for HMAC.
  crypto::key bound = symmetric_key();
  bound.bind_algorithm(crypto::algorithm::a256gcm);
  EXPECT_EQ(verify_pop(bound, exporter_value(), byte_vector(32, 0)).error(), failure::bad_key);
}

}  // namespace
}  // namespace acemq::token::pop
