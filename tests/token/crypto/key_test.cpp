// Keys: generation, PEM, raw components with validation, and the key-decides-algorithm rule.

#include "acemq/token/crypto/key.hpp"

#include <gtest/gtest.h>

#include "acemq/token/crypto/algorithm.hpp"
#include "test_hex.hpp"

namespace acemq::token::crypto {
namespace {

using test::hex;

TEST(key_ed25519, generate_raw_round_trip_and_public_half) {
  auto k = key::generate_ed25519();
  EXPECT_EQ(k.type(), key_type::okp_ed25519);
  EXPECT_TRUE(k.is_private());
  k.set_kid(to_bytes("ed-1"));
  k.bind_algorithm(algorithm::eddsa);
  auto pub = k.public_key();
  ASSERT_TRUE(pub);
  EXPECT_FALSE(pub->is_private());
  EXPECT_EQ(*pub->kid(), to_bytes("ed-1"));
  EXPECT_EQ(pub->bound_algorithm(), algorithm::eddsa);
  EXPECT_TRUE(pub->same_material(k));
  EXPECT_EQ(pub->ed25519_private().error(), failure::bad_key);

  auto rebuilt = key::ed25519_from_private(*k.ed25519_private());
  ASSERT_TRUE(rebuilt);
  EXPECT_EQ(*rebuilt->ed25519_public(), *k.ed25519_public());
  EXPECT_EQ(key::ed25519_from_public(hex("0102")).error(), failure::bad_key);
  EXPECT_EQ(key::ed25519_from_private(byte_vector(31)).error(), failure::bad_key);
}

TEST(key_p256, raw_components_round_trip) {
  const auto k = key::generate_p256();
  auto point = k.p256_public();
  ASSERT_TRUE(point);
  EXPECT_EQ(point->x.size(), 32u);
  EXPECT_EQ(point->y.size(), 32u);
  auto pub = key::p256_from_public(point->x, point->y);
  ASSERT_TRUE(pub);
  EXPECT_TRUE(pub->same_material(k));
  EXPECT_FALSE(pub->is_private());
  auto priv = key::p256_from_private(point->x, point->y, *k.p256_private());
  ASSERT_TRUE(priv);
  EXPECT_TRUE(priv->is_private());
  EXPECT_EQ(*priv->p256_private(), *k.p256_private());
}

TEST(key_p256, rejects_points_off_the_curve_and_mismatched_scalars) {
  const auto k = key::generate_p256();
  auto point = *k.p256_public();
  auto off_curve = point.y;
  off_curve[31] ^= 1;
  EXPECT_EQ(key::p256_from_public(point.x, off_curve).error(), failure::bad_key);
  EXPECT_EQ(key::p256_from_public(byte_vector(32), byte_vector(32)).error(), failure::bad_key);
  // Short coordinates are not left-padded on our behalf (RFC 7518 6.2.1.2).
  EXPECT_EQ(key::p256_from_public(byte_view(point.x).subspan(1), point.y).error(),
            failure::bad_key);
  const auto other = key::generate_p256();
  EXPECT_EQ(key::p256_from_private(point.x, point.y, *other.p256_private()).error(),
            failure::bad_key);
  EXPECT_EQ(key::p256_from_private(point.x, point.y, byte_vector(32)).error(), failure::bad_key);
}

TEST(key_rsa, components_round_trip_and_size_rules) {
  const auto k = key::generate_rsa(2048);
  EXPECT_EQ(k.bits(), 2048);
  auto parts = k.rsa();
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->n.size(), 256u);
  EXPECT_FALSE(parts->qi.empty());
  auto pub = key::rsa_from_public(parts->n, parts->e);
  ASSERT_TRUE(pub);
  EXPECT_TRUE(pub->same_material(k));
  EXPECT_TRUE(pub->rsa()->d.empty());
  auto priv = key::rsa_from_private(*parts);
  ASSERT_TRUE(priv);
  EXPECT_TRUE(priv->is_private());

  auto broken = *parts;
  broken.d[10] ^= 1;
  EXPECT_EQ(key::rsa_from_private(broken).error(), failure::bad_key);
  broken = *parts;
  broken.qi.clear();
  EXPECT_EQ(key::rsa_from_private(broken).error(), failure::bad_key);
  // 1024-bit moduli are refused; so are even moduli and e = 1.
  EXPECT_EQ(key::rsa_from_public(byte_view(parts->n).subspan(128), parts->e).error(),
            failure::bad_key);
  EXPECT_EQ(key::rsa_from_public(parts->n, hex("01")).error(), failure::bad_key);
  auto even = parts->n;
  even.back() &= 0xFE;
  EXPECT_EQ(key::rsa_from_public(even, parts->e).error(), failure::bad_key);
}

TEST(key_pem, round_trips_for_every_asymmetric_type) {
  for (const auto& k : {key::generate_ed25519(), key::generate_p256(), key::generate_rsa()}) {
    auto private_pem = k.private_pem();
    ASSERT_TRUE(private_pem);
    EXPECT_NE(private_pem->find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
    auto loaded = key::from_pem(*private_pem);
    ASSERT_TRUE(loaded);
    EXPECT_TRUE(loaded->is_private());
    EXPECT_EQ(loaded->type(), k.type());
    EXPECT_TRUE(loaded->same_material(k));

    auto public_pem = k.public_pem();
    ASSERT_TRUE(public_pem);
    EXPECT_NE(public_pem->find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
    auto loaded_public = key::from_pem(*public_pem);
    ASSERT_TRUE(loaded_public);
    EXPECT_FALSE(loaded_public->is_private());
    EXPECT_TRUE(loaded_public->same_material(k));
    EXPECT_EQ(loaded_public->private_pem().error(), failure::bad_key);
  }
}

TEST(key_pem, rejects_garbage_other_curves_and_small_rsa) {
  EXPECT_EQ(key::from_pem("").error(), failure::bad_key);
  EXPECT_EQ(key::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").error(),
            failure::bad_key);
  // A secp384r1 public key (openssl ecparam -name secp384r1 -genkey | openssl ec -pubout).
  const char* p384 =
      "-----BEGIN PUBLIC KEY-----\n"
      "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEyInh9EsTPzmh36vOX+If0MBIdj3ewORW\n"
      "RY5XgUT6WOlrmaePObphRspgOEBLjKFlhNhfdNsBWv+FkA20X2FEutVKtC+rS+hb\n"
      "Q+UNpKCXZTztsamhbgw2oqavsIwaRUNh\n"
      "-----END PUBLIC KEY-----\n";
  EXPECT_EQ(key::from_pem(p384).error(), failure::bad_key);
  EXPECT_EQ(key::from_pem(std::string(70000, 'A')).error(), failure::bad_key);
}

TEST(key_symmetric, generation_bytes_and_no_public_half) {
  deterministic_random random(1);
  auto k = key::generate_symmetric(32, random);
  EXPECT_EQ(k.type(), key_type::symmetric);
  EXPECT_TRUE(k.is_private());
  EXPECT_EQ(k.symmetric_bytes().size(), 32u);
  EXPECT_EQ(k.bits(), 256);
  EXPECT_EQ(k.public_key().error(), failure::bad_key);
  EXPECT_EQ(k.public_pem().error(), failure::bad_key);
  auto copy = k;
  EXPECT_TRUE(copy.same_material(k));
  auto rebuilt = key::symmetric_from_bytes(k.symmetric_bytes());
  ASSERT_TRUE(rebuilt);
  EXPECT_TRUE(rebuilt->same_material(k));
  EXPECT_EQ(key::symmetric_from_bytes({}).error(), failure::bad_key);
  EXPECT_EQ(key::symmetric_from_bytes(byte_vector(symmetric_max_size + 1)).error(),
            failure::bad_key);
  EXPECT_EQ(k.ed25519_public().error(), failure::bad_key);
  EXPECT_EQ(k.p256_public().error(), failure::bad_key);
  EXPECT_EQ(k.rsa().error(), failure::bad_key);
}

TEST(algorithm_names, jose_and_cose_identifiers_round_trip) {
  for (auto alg :
       {algorithm::hs256, algorithm::hs384, algorithm::hs512, algorithm::eddsa, algorithm::es256,
        algorithm::rs256, algorithm::ps256, algorithm::a128gcm, algorithm::a256gcm, algorithm::dir,
        algorithm::a128kw, algorithm::a256kw, algorithm::ecdh_es}) {
    EXPECT_EQ(algorithm_from_jose_name(jose_name(alg)), alg) << jose_name(alg);
  }
  EXPECT_EQ(cose_id(algorithm::eddsa), -8);
  EXPECT_EQ(cose_id(algorithm::es256), -7);
  EXPECT_EQ(cose_id(algorithm::hs256), 5);
  EXPECT_EQ(cose_id(algorithm::hmac_256_64), 4);
  EXPECT_EQ(cose_id(algorithm::aes_ccm_16_64_128), 10);
  EXPECT_EQ(algorithm_from_cose_id(10), algorithm::aes_ccm_16_64_128);
  EXPECT_EQ(algorithm_from_cose_id(-257), algorithm::rs256);
  EXPECT_FALSE(algorithm_from_cose_id(0));
  EXPECT_FALSE(cose_id(algorithm::ecdh_es));
  EXPECT_FALSE(algorithm_from_jose_name("none"));
  EXPECT_FALSE(algorithm_from_jose_name("hs256"));  // names are case-sensitive
  EXPECT_FALSE(algorithm_from_jose_name(""));
}

TEST(algorithm_rules, check_key_allows_table) {
  deterministic_random random(9);
  const auto ed = key::generate_ed25519();
  const auto ec = key::generate_p256();
  const auto sym16 = key::generate_symmetric(16, random);
  const auto sym32 = key::generate_symmetric(32, random);
  EXPECT_TRUE(check_key_allows(ed, algorithm::eddsa));
  EXPECT_FALSE(check_key_allows(ed, algorithm::es256));
  EXPECT_FALSE(check_key_allows(ed, algorithm::hs256));
  EXPECT_TRUE(check_key_allows(ec, algorithm::es256));
  EXPECT_TRUE(check_key_allows(ec, algorithm::ecdh_es));
  EXPECT_FALSE(check_key_allows(ec, algorithm::eddsa));
  EXPECT_FALSE(check_key_allows(ec, algorithm::rs256));
  EXPECT_EQ(check_key_allows(sym16, algorithm::hs256).error(), failure::algorithm_not_allowed);
  EXPECT_TRUE(check_key_allows(sym32, algorithm::hs256));
  EXPECT_TRUE(check_key_allows(sym16, algorithm::a128gcm));
  EXPECT_TRUE(check_key_allows(sym16, algorithm::aes_ccm_16_64_128));
  EXPECT_FALSE(check_key_allows(sym32, algorithm::a128gcm));
  EXPECT_TRUE(check_key_allows(sym32, algorithm::a256kw));
  EXPECT_TRUE(check_key_allows(sym16, algorithm::dir));
  EXPECT_EQ(check_key_allows(sym32, static_cast<algorithm>(0x7F)).error(),
            failure::unsupported_algorithm);
  auto bound = ec;
  bound.bind_algorithm(algorithm::es256);
  EXPECT_EQ(check_key_allows(bound, algorithm::ecdh_es).error(), failure::algorithm_not_allowed);
}

}  // namespace
}  // namespace acemq::token::crypto
