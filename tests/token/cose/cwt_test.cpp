// CWT (RFC 8392) against the appendix A vectors, plus cnf (RFC 8747) and nesting.

#include "acemq/token/cose/cwt.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "acemq/token/cose/cose_key.hpp"
#include "rfc8392_vectors.hpp"

namespace acemq::token::cose {
namespace {

byte_vector hex(std::string_view text) {
  byte_vector out;
  EXPECT_TRUE(from_hex(text, out)) << text;
  return out;
}

crypto::key vector_key(const char* encoded) {
  auto key = key_from_cose(hex(encoded));
  EXPECT_TRUE(key.has_value());
  return *key;
}

// RFC 8392 A.2.2 as published labels the 256-bit key with alg 10 (AES-CCM-16-64-128, a 128-bit
// algorithm) although the text and A.4 use it for HMAC 256/64; key_from_cose() rightly refuses
// that pairing, so A.4 and A.7 use the key material bound to HMAC 256/64.
crypto::key hmac_key_a2_2() {
  auto key = crypto::key::symmetric_from_bytes(
      hex("403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388"));
  EXPECT_TRUE(key.has_value());
  key->set_kid(to_bytes("Symmetric256"));
  key->bind_algorithm(crypto::algorithm::hmac_256_64);
  return *key;
}

claims example_claims() {
  claims c;
  c.iss = "coap://as.example.com";
  c.sub = "erikw";
  c.aud = {"coap://light.example.com"};
  c.exp = 1444064944;
  c.nbf = 1443944944;
  c.iat = 1443944944;
  c.cti = hex("0b71");
  return c;
}

key_lookup single_key(const crypto::key& key) {
  return [key](const message&) -> result<crypto::key, failure> { return key; };
}

void expect_example_claims(const claims& c) {
  EXPECT_EQ(c.iss, "coap://as.example.com");
  EXPECT_EQ(c.sub, "erikw");
  ASSERT_EQ(c.aud.size(), 1u);
  EXPECT_EQ(c.aud.front(), "coap://light.example.com");
  EXPECT_EQ(c.exp, 1444064944);
  EXPECT_EQ(c.nbf, 1443944944);
  EXPECT_EQ(c.iat, 1443944944);
  EXPECT_EQ(c.cti, hex("0b71"));
}

TEST(CwtRfc8392, A1ClaimsEncodeByteExact) {
  EXPECT_EQ(to_hex(encode_claims(example_claims())), rfc8392::claims_a1);
  auto decoded = decode_claims(hex(rfc8392::claims_a1));
  ASSERT_TRUE(decoded.has_value());
  expect_example_claims(*decoded);
}

TEST(CwtRfc8392, A2KeysDecode) {
  auto k128 = key_from_cose(hex(rfc8392::key_a2_1));
  ASSERT_TRUE(k128.has_value());
  EXPECT_EQ(k128->type(), crypto::key_type::symmetric);
  EXPECT_EQ(to_hex(k128->symmetric_bytes()), "231f4c4d4d3051fdc2ec0a3851d5b383");
  EXPECT_EQ(k128->kid(), to_bytes("Symmetric128"));
  EXPECT_EQ(k128->bound_algorithm(), crypto::algorithm::aes_ccm_16_64_128);

  // A.2.2 pairs a 256-bit key with a 128-bit algorithm (see hmac_key_a2_2): refused.
  auto k256 = key_from_cose(hex(rfc8392::key_a2_2));
  ASSERT_FALSE(k256.has_value());
  EXPECT_EQ(k256.error(), failure::bad_key);
  auto k256_map = cbor::decode(hex(rfc8392::key_a2_2));
  ASSERT_TRUE(k256_map.has_value());
  const crypto::key material = hmac_key_a2_2();
  const byte_view secret = material.symmetric_bytes();
  EXPECT_EQ(k256_map->find(-1)->byte_content(), byte_vector(secret.begin(), secret.end()));
  EXPECT_EQ(k256_map->find(2)->byte_content(), to_bytes("Symmetric256"));

  auto ec = key_from_cose(hex(rfc8392::key_a2_3));
  ASSERT_TRUE(ec.has_value());
  EXPECT_EQ(ec->type(), crypto::key_type::ec_p256);
  EXPECT_TRUE(ec->is_private());
  EXPECT_EQ(ec->kid(), to_bytes("AsymmetricECDSA256"));
  EXPECT_EQ(ec->bound_algorithm(), crypto::algorithm::es256);
}

TEST(CwtRfc8392, A3SignedVerifies) {
  auto public_key = vector_key(rfc8392::key_a2_3).public_key();
  ASSERT_TRUE(public_key.has_value());
  auto verified = verify_cwt(hex(rfc8392::signed_a3), single_key(*public_key));
  ASSERT_TRUE(verified.has_value()) << static_cast<int>(verified.error());
  expect_example_claims(verified->claims_set);
  EXPECT_EQ(verified->layers, std::vector<message_type>{message_type::sign1});
  EXPECT_EQ(verified->kid, to_bytes("AsymmetricECDSA256"));
}

TEST(CwtRfc8392, A3SignedFailsWithBitFlips) {
  auto public_key = *vector_key(rfc8392::key_a2_3).public_key();
  const byte_vector token = hex(rfc8392::signed_a3);
  // Flip one bit in the payload, in the signature and in the protected header.
  for (std::size_t index : {std::size_t{40}, token.size() - 1, std::size_t{5}}) {
    byte_vector tampered = token;
    tampered[index] ^= 0x01;
    auto verified = verify_cwt(tampered, single_key(public_key));
    ASSERT_FALSE(verified.has_value()) << index;
  }
}

TEST(CwtRfc8392, A4MacedByteExact) {
  crypto::key key = hmac_key_a2_2();
  auto maced = mac0(crypto::algorithm::hmac_256_64, key, encode_claims(example_claims()));
  ASSERT_TRUE(maced.has_value());
  EXPECT_EQ(to_hex(add_cwt_tag(*maced)), rfc8392::maced_a4);

  auto verified = verify_cwt(hex(rfc8392::maced_a4), single_key(key));
  ASSERT_TRUE(verified.has_value()) << static_cast<int>(verified.error());
  expect_example_claims(verified->claims_set);
  EXPECT_EQ(verified->layers, std::vector<message_type>{message_type::mac0});
}

TEST(CwtRfc8392, A5EncryptedByteExact) {
  crypto::key key = vector_key(rfc8392::key_a2_1);
  deterministic_random unused(1);
  protect_options options;
  options.iv = hex(rfc8392::iv_a5);
  auto encrypted = encrypt0(crypto::algorithm::aes_ccm_16_64_128, key,
                            encode_claims(example_claims()), unused, options);
  ASSERT_TRUE(encrypted.has_value());
  EXPECT_EQ(to_hex(*encrypted), rfc8392::encrypted_a5);

  auto verified = verify_cwt(hex(rfc8392::encrypted_a5), single_key(key));
  ASSERT_TRUE(verified.has_value()) << static_cast<int>(verified.error());
  expect_example_claims(verified->claims_set);
}

TEST(CwtRfc8392, A6NestedByteExactAndVerifies) {
  crypto::key encryption_key = vector_key(rfc8392::key_a2_1);
  deterministic_random unused(1);
  protect_options options;
  options.iv = hex(rfc8392::iv_a6);
  auto nested = encrypt0(crypto::algorithm::aes_ccm_16_64_128, encryption_key,
                         hex(rfc8392::signed_a3), unused, options);
  ASSERT_TRUE(nested.has_value());
  EXPECT_EQ(to_hex(*nested), rfc8392::nested_a6);

  crypto::key signing_key = *vector_key(rfc8392::key_a2_3).public_key();
  key_lookup keys = [&](const message& layer) -> result<crypto::key, failure> {
    if (layer.type == message_type::encrypt0) return encryption_key;
    if (layer.type == message_type::sign1) return signing_key;
    return unexpected{failure::unknown_key};
  };
  auto verified = verify_cwt(hex(rfc8392::nested_a6), keys);
  ASSERT_TRUE(verified.has_value()) << static_cast<int>(verified.error());
  expect_example_claims(verified->claims_set);
  EXPECT_EQ(verified->layers,
            (std::vector<message_type>{message_type::encrypt0, message_type::sign1}));
  EXPECT_EQ(verified->kid, to_bytes("AsymmetricECDSA256"));

  verify_options one_layer;
  one_layer.max_layers = 1;
  EXPECT_EQ(verify_cwt(hex(rfc8392::nested_a6), keys, one_layer).error(), failure::too_deep);
}

TEST(CwtRfc8392, A7FloatingPointDateVerifies) {
  auto verified = verify_cwt(hex(rfc8392::maced_float_a7), single_key(hmac_key_a2_2()));
  ASSERT_TRUE(verified.has_value()) << static_cast<int>(verified.error());
  // iat 1443944944.5 rounds up: a token never looks older than it is.
  EXPECT_EQ(verified->claims_set.iat, 1443944945);
  const cbor::value* raw = verified->claims_set.all.find(6);
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(raw->as_double(), 1443944944.5);
}

TEST(CwtVerify, WrongKeyAndUnknownKey) {
  crypto::key other = *crypto::key::symmetric_from_bytes(byte_vector(32, 0x42));
  auto wrong = verify_cwt(hex(rfc8392::maced_a4), single_key(other));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error(), failure::bad_signature);

  key_lookup none = [](const message&) -> result<crypto::key, failure> {
    return unexpected{failure::unknown_key};
  };
  EXPECT_EQ(verify_cwt(hex(rfc8392::maced_a4), none).error(), failure::unknown_key);

  crypto::key wrong_aes = *crypto::key::symmetric_from_bytes(byte_vector(16, 0x01));
  EXPECT_EQ(verify_cwt(hex(rfc8392::encrypted_a5), single_key(wrong_aes)).error(),
            failure::decryption_failed);
}

TEST(CwtVerify, TruncatedMacTagIsRefused) {
  const crypto::key bound = hmac_key_a2_2();
  crypto::key unbound = *crypto::key::symmetric_from_bytes(bound.symmetric_bytes());
  // A key bound to HMAC 256/64 does not make HMAC 256/256 tags: the key decides.
  EXPECT_EQ(mac0(crypto::algorithm::hs256, bound, encode_claims(example_claims())).error(),
            failure::algorithm_not_allowed);
  auto maced = mac0(crypto::algorithm::hs256, unbound, encode_claims(example_claims()));
  ASSERT_TRUE(maced.has_value());
  auto parsed = parse(*maced);
  ASSERT_TRUE(parsed.has_value());
  // Rebuild the same message with the HMAC 256/256 tag cut to 8 bytes.
  cbor::value structure =
      cbor::value::array({cbor::value::bytes(parsed->header.protected_bytes),
                          parsed->header.unprotected_map, cbor::value::bytes(parsed->content),
                          cbor::value::bytes(byte_view(parsed->signature_or_tag).first(8))});
  byte_vector truncated = cbor::encode(cbor::value::tag(17, structure));
  EXPECT_EQ(verify_cwt(truncated, single_key(unbound)).error(), failure::bad_signature);
  EXPECT_TRUE(verify_cwt(*maced, single_key(unbound)).has_value());
}

TEST(CwtVerify, EveryTruncationFailsCleanly) {
  crypto::key key = hmac_key_a2_2();
  const byte_vector token = hex(rfc8392::maced_a4);
  for (std::size_t length = 0; length < token.size(); ++length) {
    EXPECT_FALSE(verify_cwt(byte_view(token).first(length), single_key(key)).has_value()) << length;
  }
}

TEST(CwtVerify, OneMegabyteIsTooLarge) {
  byte_vector huge(1024 * 1024, 0x00);
  crypto::key key = hmac_key_a2_2();
  EXPECT_EQ(verify_cwt(huge, single_key(key)).error(), failure::too_large);
}

TEST(CwtVerify, PayloadMustBeAClaimsMap) {
  crypto::key key = hmac_key_a2_2();
  auto maced = mac0(crypto::algorithm::hmac_256_64, key, cbor::encode(cbor::value::text("hi")));
  ASSERT_TRUE(maced.has_value());
  EXPECT_EQ(verify_cwt(*maced, single_key(key)).error(), failure::bad_encoding);
  auto not_cbor = mac0(crypto::algorithm::hmac_256_64, key, to_bytes("plain text"));
  ASSERT_TRUE(not_cbor.has_value());
  EXPECT_EQ(verify_cwt(*not_cbor, single_key(key)).error(), failure::bad_encoding);
}

TEST(CwtClaims, AceClaimsRoundTrip) {
  claims c = example_claims();
  c.aud = {"broker-1", "broker-2"};
  c.scope = cbor::value::array({cbor::value::array(
      {cbor::value::text("sensors/#"), cbor::value::array({cbor::value::text("sub")})})});
  c.ace_profile = ace_profile_mqtt_tls;
  c.cnonce = hex("e0a156bb3f");
  c.exi = 3600;
  c.all.insert("private-claim", cbor::value::integer(7));
  auto decoded = decode_claims(encode_claims(c));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->aud, (std::vector<std::string>{"broker-1", "broker-2"}));
  EXPECT_EQ(decoded->scope, c.scope);
  EXPECT_EQ(decoded->ace_profile, 3);
  EXPECT_EQ(decoded->cnonce, hex("e0a156bb3f"));
  EXPECT_EQ(decoded->exi, 3600u);
  ASSERT_NE(decoded->all.find("private-claim"), nullptr);
  EXPECT_EQ(decoded->all.find("private-claim")->as_int64(), 7);
}

TEST(CwtClaims, WrongTypesAreRefused) {
  auto with = [](std::int64_t key, cbor::value item) {
    return cbor::value::map().insert(key, std::move(item));
  };
  EXPECT_EQ(claims_from_value(with(1, cbor::value::integer(1))).error(), failure::bad_encoding);
  EXPECT_EQ(claims_from_value(with(3, cbor::value::array())).error(), failure::bad_encoding);
  EXPECT_EQ(claims_from_value(with(4, cbor::value::text("soon"))).error(), failure::bad_encoding);
  EXPECT_EQ(
      claims_from_value(with(4, cbor::value::floating(std::numeric_limits<double>::infinity())))
          .error(),
      failure::bad_encoding);
  EXPECT_EQ(claims_from_value(with(4, cbor::value::floating(1e300))).error(),
            failure::bad_encoding);
  EXPECT_EQ(claims_from_value(with(7, cbor::value::text("id"))).error(), failure::bad_encoding);
  EXPECT_EQ(claims_from_value(with(9, cbor::value::integer(1))).error(), failure::bad_scope);
  EXPECT_EQ(claims_from_value(with(40, cbor::value::integer(-1))).error(), failure::bad_encoding);
  EXPECT_EQ(claims_from_value(cbor::value::array()).error(), failure::bad_encoding);
  // exp rounds down, nbf up.
  auto dates = claims_from_value(cbor::value::map()
                                     .insert(4, cbor::value::floating(100.5))
                                     .insert(5, cbor::value::floating(50.25)));
  ASSERT_TRUE(dates.has_value());
  EXPECT_EQ(dates->exp, 100);
  EXPECT_EQ(dates->nbf, 51);
}

TEST(CwtConfirmation, CoseKeyAndKid) {
  crypto::key pop = crypto::key::generate_ed25519();
  pop.set_kid(to_bytes("client-1"));
  claims c = example_claims();
  c.cnf = confirmation{};
  c.cnf->cose_key = *key_to_cose(pop, false);
  auto decoded = decode_claims(encode_claims(c));
  ASSERT_TRUE(decoded.has_value());
  ASSERT_TRUE(decoded->cnf.has_value());
  auto recovered = confirmation_key(*decoded->cnf);
  ASSERT_TRUE(recovered.has_value());
  EXPECT_TRUE(recovered->same_material(*pop.public_key()));
  EXPECT_FALSE(recovered->is_private());
  EXPECT_EQ(recovered->kid(), to_bytes("client-1"));

  claims by_kid;
  by_kid.cnf = confirmation{};
  by_kid.cnf->kid = to_bytes("client-1");
  auto decoded_kid = decode_claims(encode_claims(by_kid));
  ASSERT_TRUE(decoded_kid.has_value());
  EXPECT_EQ(decoded_kid->cnf->kid, to_bytes("client-1"));
  EXPECT_EQ(confirmation_key(*decoded_kid->cnf).error(), failure::bad_cnf);
}

TEST(CwtConfirmation, EncryptedCoseKey) {
  deterministic_random random(7);
  crypto::key kek = crypto::key::generate_symmetric(16, random);
  crypto::key pop = crypto::key::generate_symmetric(32, random);
  pop.set_kid(to_bytes("pop-1"));
  protect_options untagged;
  untagged.tagged = false;
  auto encrypted = encrypt0_value(crypto::algorithm::a128gcm, kek,
                                  cbor::encode(*key_to_cose(pop, true)), random, untagged);
  ASSERT_TRUE(encrypted.has_value());
  claims c = example_claims();
  c.cnf = confirmation{};
  c.cnf->encrypted_cose_key = *encrypted;
  auto decoded = decode_claims(encode_claims(c));
  ASSERT_TRUE(decoded.has_value());
  auto recovered = decrypt_confirmation_key(*decoded->cnf, kek);
  ASSERT_TRUE(recovered.has_value());
  EXPECT_TRUE(recovered->same_material(pop));
  EXPECT_EQ(recovered->kid(), to_bytes("pop-1"));

  crypto::key wrong = crypto::key::generate_symmetric(16, random);
  EXPECT_EQ(decrypt_confirmation_key(*decoded->cnf, wrong).error(), failure::bad_cnf);
}

TEST(CwtConfirmation, MalformedCnf) {
  auto with_cnf = [](cbor::value cnf) { return cbor::value::map().insert(8, std::move(cnf)); };
  EXPECT_EQ(claims_from_value(with_cnf(cbor::value::map())).error(), failure::bad_cnf);
  EXPECT_EQ(claims_from_value(with_cnf(cbor::value::bytes(byte_vector{1}))).error(),
            failure::bad_cnf);
  EXPECT_EQ(claims_from_value(with_cnf(cbor::value::map()
                                           .insert(3, cbor::value::bytes(byte_vector{1}))
                                           .insert(1, cbor::value::map())))
                .error(),
            failure::bad_cnf);
  EXPECT_EQ(
      claims_from_value(with_cnf(cbor::value::map().insert(3, cbor::value::text("k")))).error(),
      failure::bad_cnf);
  EXPECT_EQ(claims_from_value(with_cnf(cbor::value::map().insert(9, cbor::value::null()))).error(),
            failure::bad_cnf);
}

}  // namespace
}  // namespace acemq::token::cose
