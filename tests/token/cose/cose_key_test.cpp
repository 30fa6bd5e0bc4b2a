// COSE_Key (RFC 9052 7, RFC 9053 7) <-> crypto::key.

#include "acemq/token/cose/cose_key.hpp"

#include <gtest/gtest.h>

namespace acemq::token::cose {
namespace {

TEST(CoseKey, Ed25519RoundTrip) {
  crypto::key key = crypto::key::generate_ed25519();
  key.set_kid(to_bytes("ed"));
  key.bind_algorithm(crypto::algorithm::eddsa);
  auto public_map = key_to_cose(key);
  ASSERT_TRUE(public_map.has_value());
  EXPECT_EQ(public_map->find(1)->as_int64(), 1);   // kty OKP
  EXPECT_EQ(public_map->find(-1)->as_int64(), 6);  // crv Ed25519
  EXPECT_EQ(public_map->find(3)->as_int64(), -8);  // alg EdDSA
  EXPECT_EQ(public_map->find(-4), nullptr);        // no d unless asked
  auto public_key = key_from_cose(cbor::encode(*public_map));
  ASSERT_TRUE(public_key.has_value());
  EXPECT_FALSE(public_key->is_private());
  EXPECT_TRUE(public_key->same_material(*key.public_key()));
  EXPECT_EQ(public_key->kid(), to_bytes("ed"));
  EXPECT_EQ(public_key->bound_algorithm(), crypto::algorithm::eddsa);

  auto private_key = key_from_cose(*key_to_cose(key, true));
  ASSERT_TRUE(private_key.has_value());
  EXPECT_TRUE(private_key->is_private());
  EXPECT_TRUE(private_key->same_material(key));
}

TEST(CoseKey, P256RoundTrip) {
  crypto::key key = crypto::key::generate_p256();
  auto map = key_to_cose(key, true);
  ASSERT_TRUE(map.has_value());
  EXPECT_EQ(map->find(1)->as_int64(), 2);   // kty EC2
  EXPECT_EQ(map->find(-1)->as_int64(), 1);  // crv P-256
  EXPECT_EQ(map->find(-2)->byte_content().size(), 32u);
  EXPECT_EQ(map->find(-3)->byte_content().size(), 32u);
  auto back = key_from_cose(*map);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->same_material(key));
  EXPECT_EQ(back->bound_algorithm(), std::nullopt);
}

TEST(CoseKey, SymmetricNeedsIncludePrivate) {
  deterministic_random random(3);
  crypto::key key = crypto::key::generate_symmetric(32, random);
  EXPECT_EQ(key_to_cose(key).error(), failure::bad_key);
  auto map = key_to_cose(key, true);
  ASSERT_TRUE(map.has_value());
  EXPECT_EQ(map->find(1)->as_int64(), 4);
  auto back = key_from_cose(*map);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->same_material(key));
}

TEST(CoseKey, MalformedKeys) {
  crypto::key ed = crypto::key::generate_ed25519();
  const cbor::value good = *key_to_cose(ed);
  auto changed = [&good](std::int64_t label, std::optional<cbor::value> item) {
    cbor::value copy = cbor::value::map();
    for (const auto& entry : good.entries()) {
      if (entry.key.as_int64() != label) copy.insert(entry.key, entry.item);
    }
    if (item) copy.insert(label, *item);
    return copy;
  };
  EXPECT_EQ(key_from_cose(changed(1, std::nullopt)).error(), failure::bad_key);  // no kty
  EXPECT_EQ(key_from_cose(changed(1, cbor::value::integer(3))).error(), failure::bad_key);  // RSA
  EXPECT_EQ(key_from_cose(changed(1, cbor::value::text("OKP"))).error(), failure::bad_key);
  EXPECT_EQ(key_from_cose(changed(-1, cbor::value::integer(4))).error(),
            failure::bad_key);                                                    // X25519
  EXPECT_EQ(key_from_cose(changed(-2, std::nullopt)).error(), failure::bad_key);  // no x
  EXPECT_EQ(key_from_cose(changed(-2, cbor::value::bytes(byte_vector(31, 1)))).error(),
            failure::bad_key);
  EXPECT_EQ(key_from_cose(changed(-2, cbor::value::text("x"))).error(), failure::bad_key);
  EXPECT_EQ(key_from_cose(changed(2, cbor::value::text("kid"))).error(), failure::bad_key);
  // The key's own alg must suit it: an Ed25519 key marked ES256 or HMAC.
  EXPECT_EQ(key_from_cose(changed(3, cbor::value::integer(-7))).error(), failure::bad_key);
  EXPECT_EQ(key_from_cose(changed(3, cbor::value::integer(5))).error(), failure::bad_key);
  EXPECT_EQ(key_from_cose(changed(3, cbor::value::integer(-65000))).error(),
            failure::unsupported_algorithm);
  EXPECT_EQ(key_from_cose(cbor::value::array()).error(), failure::bad_encoding);

  // A P-256 point that is not on the curve.
  cbor::value off_curve = *key_to_cose(crypto::key::generate_p256());
  for (auto& entry : off_curve.entries()) {
    if (entry.key.as_int64() == -3) entry.item = cbor::value::bytes(byte_vector(32, 0x01));
  }
  EXPECT_EQ(key_from_cose(off_curve).error(), failure::bad_key);

  // Symmetric without k, or with an empty k.
  EXPECT_EQ(key_from_cose(cbor::value::map().insert(1, cbor::value::integer(4))).error(),
            failure::bad_key);
  EXPECT_EQ(key_from_cose(cbor::value::map()
                              .insert(1, cbor::value::integer(4))
                              .insert(-1, cbor::value::bytes(byte_vector{})))
                .error(),
            failure::bad_key);
}

}  // namespace
}  // namespace acemq::token::cose
