// Signatures and MACs: RFC 8032 7.1 Ed25519 vectors, HMAC lengths, ECDSA raw r||s handling and
// RSA round trips, with the rejections the wire forms require.

#include "acemq/token/crypto/sign.hpp"

#include <gtest/gtest.h>

#include "acemq/token/crypto/aead.hpp"
#include "test_hex.hpp"

namespace acemq::token::crypto {
namespace {

using test::hex;

struct ed25519_vector {
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

TEST(sign_eddsa, rfc8032_7_1_tests_1_to_3) {
  const ed25519_vector vectors[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
       "1cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
       "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
      {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
       "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760"
       "984dc6594a7c15e9716ed28dc027beceea1ec40a"},
  };
  for (const auto& v : vectors) {
    auto private_key = key::ed25519_from_private(hex(v.secret), byte_view(hex(v.public_key)));
    ASSERT_TRUE(private_key) << v.public_key;
    EXPECT_EQ(to_hex(*private_key->ed25519_public()), v.public_key);
    const auto message = hex(v.message);
    auto signature = sign(algorithm::eddsa, *private_key, message);
    ASSERT_TRUE(signature);
    EXPECT_EQ(to_hex(*signature), v.signature);  // Ed25519 is deterministic

    auto public_key = key::ed25519_from_public(hex(v.public_key));
    ASSERT_TRUE(public_key);
    EXPECT_TRUE(verify(algorithm::eddsa, *public_key, message, hex(v.signature)));
    auto flipped = hex(v.signature);
    flipped[10] ^= 0x04;
    EXPECT_EQ(verify(algorithm::eddsa, *public_key, message, flipped).error(),
              failure::bad_signature);
    auto truncated = hex(v.signature);
    truncated.pop_back();
    EXPECT_EQ(verify(algorithm::eddsa, *public_key, message, truncated).error(),
              failure::bad_signature);
  }
}

TEST(sign_eddsa, mismatched_public_part_is_refused) {
  auto made = key::ed25519_from_private(
      hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
      byte_view(hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")));
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error(), failure::bad_key);
}

TEST(sign_hmac, hs256_matches_hmac_sha256_and_checks_length) {
  const auto secret = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  auto k = key::symmetric_from_bytes(secret);
  ASSERT_TRUE(k);
  auto tag = sign(algorithm::hs256, *k, as_bytes("Hi There"));
  ASSERT_TRUE(tag);
  EXPECT_EQ(*tag, hmac_sha256(secret, as_bytes("Hi There")));
  EXPECT_TRUE(verify(algorithm::hs256, *k, as_bytes("Hi There"), *tag));

  // The truncated COSE MAC is a separate algorithm: a short tag never passes for HS256.
  auto short_tag = sign(algorithm::hmac_256_64, *k, as_bytes("Hi There"));
  ASSERT_TRUE(short_tag);
  EXPECT_EQ(short_tag->size(), 8u);
  EXPECT_TRUE(std::equal(short_tag->begin(), short_tag->end(), tag->begin()));
  EXPECT_TRUE(verify(algorithm::hmac_256_64, *k, as_bytes("Hi There"), *short_tag));
  EXPECT_EQ(verify(algorithm::hs256, *k, as_bytes("Hi There"), *short_tag).error(),
            failure::bad_signature);
  EXPECT_EQ(verify(algorithm::hmac_256_64, *k, as_bytes("Hi There"), *tag).error(),
            failure::bad_signature);
  auto flipped = *tag;
  flipped[31] ^= 1;
  EXPECT_EQ(verify(algorithm::hs256, *k, as_bytes("Hi There"), flipped).error(),
            failure::bad_signature);
  EXPECT_EQ(verify(algorithm::hs256, *k, as_bytes("Hi there"), *tag).error(),
            failure::bad_signature);
}

TEST(sign_hmac, hs384_and_hs512_need_longer_keys) {
  deterministic_random random(3);
  const auto k32 = key::generate_symmetric(32, random);
  const auto k64 = key::generate_symmetric(64, random);
  EXPECT_EQ(sign(algorithm::hs384, k32, as_bytes("x")).error(), failure::algorithm_not_allowed);
  EXPECT_EQ(sign(algorithm::hs512, k32, as_bytes("x")).error(), failure::algorithm_not_allowed);
  for (auto alg : {algorithm::hs256, algorithm::hs384, algorithm::hs512}) {
    auto tag = sign(alg, k64, as_bytes("payload"));
    ASSERT_TRUE(tag);
    EXPECT_EQ(tag->size(), signature_size(alg, k64));
    EXPECT_TRUE(verify(alg, k64, as_bytes("payload"), *tag));
  }
}

TEST(sign_es256, round_trip_raw_signature_and_rejections) {
  const auto k = key::generate_p256();
  const auto pub = *k.public_key();
  auto signature = sign(algorithm::es256, k, as_bytes("message"));
  ASSERT_TRUE(signature);
  ASSERT_EQ(signature->size(), 64u);
  EXPECT_TRUE(verify(algorithm::es256, pub, as_bytes("message"), *signature));
  EXPECT_TRUE(verify(algorithm::es256, k, as_bytes("message"), *signature));
  EXPECT_EQ(verify(algorithm::es256, pub, as_bytes("massage"), *signature).error(),
            failure::bad_signature);
  for (std::size_t i = 0; i < 64; i += 9) {
    auto flipped = *signature;
    flipped[i] ^= 0x20;
    EXPECT_EQ(verify(algorithm::es256, pub, as_bytes("message"), flipped).error(),
              failure::bad_signature);
  }
  auto truncated = *signature;
  truncated.pop_back();
  EXPECT_EQ(verify(algorithm::es256, pub, as_bytes("message"), truncated).error(),
            failure::bad_signature);
  // The DER form OpenSSL produces natively is not accepted from the wire.
  byte_vector der{0x30, 0x44, 0x02, 0x20};
  der.insert(der.end(), signature->begin(), signature->begin() + 32);
  der.insert(der.end(), {0x02, 0x20});
  der.insert(der.end(), signature->begin() + 32, signature->end());
  EXPECT_EQ(verify(algorithm::es256, pub, as_bytes("message"), der).error(),
            failure::bad_signature);
  // A zero signature (r = s = 0) is invalid.
  EXPECT_EQ(verify(algorithm::es256, pub, as_bytes("message"), byte_vector(64, 0)).error(),
            failure::bad_signature);
}

TEST(sign_rsa, rs256_and_ps256_round_trips) {
  const auto k = key::generate_rsa(2048);
  const auto pub = *k.public_key();
  for (auto alg : {algorithm::rs256, algorithm::ps256}) {
    auto signature = sign(alg, k, as_bytes("message"));
    ASSERT_TRUE(signature);
    EXPECT_EQ(signature->size(), 256u);
    EXPECT_TRUE(verify(alg, pub, as_bytes("message"), *signature));
    auto flipped = *signature;
    flipped[100] ^= 1;
    EXPECT_EQ(verify(alg, pub, as_bytes("message"), flipped).error(), failure::bad_signature);
    auto truncated = *signature;
    truncated.pop_back();
    EXPECT_EQ(verify(alg, pub, as_bytes("message"), truncated).error(), failure::bad_signature);
  }
  // A PKCS#1 v1.5 signature is not a PSS signature and vice versa.
  auto pkcs1 = sign(algorithm::rs256, k, as_bytes("m"));
  EXPECT_EQ(verify(algorithm::ps256, pub, as_bytes("m"), *pkcs1).error(), failure::bad_signature);
  // RS256 is deterministic.
  EXPECT_EQ(*sign(algorithm::rs256, k, as_bytes("m")), *pkcs1);
}

TEST(sign_rules, the_key_decides_the_algorithm) {
  const auto ed = key::generate_ed25519();
  const auto ed_public = *ed.public_key();
  // The classic confusion: an HMAC "signed" with the public key bytes as the secret.
  auto secret = key::symmetric_from_bytes(*ed.ed25519_public());
  ASSERT_TRUE(secret);
  auto forged = sign(algorithm::hs256, *secret, as_bytes("claims"));
  ASSERT_TRUE(forged);
  EXPECT_EQ(verify(algorithm::hs256, ed_public, as_bytes("claims"), *forged).error(),
            failure::algorithm_not_allowed);
  EXPECT_EQ(verify(algorithm::es256, ed_public, as_bytes("x"), byte_vector(64)).error(),
            failure::algorithm_not_allowed);
  // Signing needs the private half.
  EXPECT_EQ(sign(algorithm::eddsa, ed_public, as_bytes("x")).error(), failure::bad_key);
  // A bound key refuses any other algorithm, even of the right family.
  deterministic_random random(5);
  auto bound = key::generate_symmetric(64, random);
  bound.bind_algorithm(algorithm::hs512);
  EXPECT_EQ(sign(algorithm::hs256, bound, as_bytes("x")).error(), failure::algorithm_not_allowed);
  EXPECT_TRUE(sign(algorithm::hs512, bound, as_bytes("x")));
  // Encryption algorithms are not signature algorithms.
  EXPECT_EQ(sign(algorithm::a128gcm, bound, as_bytes("x")).error(), failure::unsupported_algorithm);
}

}  // namespace
}  // namespace acemq::token::crypto
