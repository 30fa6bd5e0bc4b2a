// JWT: signed and nested (signed then encrypted) tokens, claims parsing, and RFC 7800 cnf.

#include "acemq/token/jose/jwt.hpp"

#include <gtest/gtest.h>

#include "acemq/common/base64.hpp"

namespace acemq::token::jose {
namespace {

using crypto::algorithm;
using crypto::key;

class jwt_test : public ::testing::Test {
 protected:
  deterministic_random random{5};
  key issuer = key::generate_ed25519();
  key issuer_public = *issuer.public_key();
  key broker = key::generate_p256();
  boost::json::object claims{{"iss", "as"}, {"aud", "broker"}, {"exp", 1700000600}};
};

TEST_F(jwt_test, signed_jwt_round_trip) {
  auto token = sign_jwt(claims, issuer);
  ASSERT_TRUE(token);
  EXPECT_FALSE(looks_like_jwe(*token));
  const key trusted[] = {issuer_public};
  auto verified = verify_jwt(*token, {.verification = trusted, .decryption = {}});
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->claims, claims);
  EXPECT_EQ(verified->header.at("typ").as_string(), "JWT");
  EXPECT_FALSE(verified->was_encrypted);
}

TEST_F(jwt_test, nested_jwt_round_trip) {
  auto inner = sign_jwt(claims, issuer);
  auto token =
      encrypt_jwt(*inner, *broker.public_key(),
                  {.key_management = algorithm::ecdh_es, .content = algorithm::a256gcm}, random);
  ASSERT_TRUE(token);
  EXPECT_TRUE(looks_like_jwe(*token));
  const key trusted[] = {issuer_public};
  const key decryption[] = {broker};
  auto verified = verify_jwt(*token, {.verification = trusted, .decryption = decryption});
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->claims, claims);
  EXPECT_TRUE(verified->was_encrypted);
  // Without the issuer's key the inner signature is not trusted.
  const key stranger[] = {*key::generate_ed25519().public_key()};
  EXPECT_EQ(verify_jwt(*token, {.verification = stranger, .decryption = decryption}).error(),
            failure::bad_signature);
  // Without our decryption key nothing is revealed.
  const key wrong[] = {key::generate_p256()};
  EXPECT_EQ(verify_jwt(*token, {.verification = trusted, .decryption = wrong}).error(),
            failure::decryption_failed);
}

TEST_F(jwt_test, encrypted_only_claims_are_refused) {
  // Anyone can encrypt to the broker's public key: a JWE without a nested JWS is unsecured.
  auto token = encrypt_jwe(as_bytes(serialize(claims)), *broker.public_key(),
                           {.key_management = algorithm::ecdh_es}, random);
  const key trusted[] = {issuer_public};
  const key decryption[] = {broker};
  EXPECT_EQ(verify_jwt(*token, {.verification = trusted, .decryption = decryption}).error(),
            failure::alg_none);
}

TEST_F(jwt_test, payload_must_be_a_json_object) {
  auto array_payload = sign_jws(issuer, as_bytes("[1,2]"));
  auto text_payload = sign_jws(issuer, as_bytes("not json"));
  const key trusted[] = {issuer_public};
  EXPECT_EQ(verify_jwt(*array_payload, {.verification = trusted, .decryption = {}}).error(),
            failure::bad_encoding);
  EXPECT_EQ(verify_jwt(*text_payload, {.verification = trusted, .decryption = {}}).error(),
            failure::bad_encoding);
  const std::string deep = R"({"a":)" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(parse_claims(as_bytes(deep)).error(), failure::too_deep);
}

TEST_F(jwt_test, cnf_jwk) {
  const auto pop = key::generate_p256();
  auto cnf = make_cnf_jwk(pop);
  ASSERT_TRUE(cnf);
  auto with_cnf = claims;
  with_cnf["cnf"] = *cnf;
  auto parsed = parse_cnf(with_cnf);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->jwk);
  EXPECT_TRUE(parsed->jwk->same_material(pop));
  EXPECT_FALSE(parsed->jwk->is_private());
  EXPECT_FALSE(parsed->jwe);
  EXPECT_FALSE(parsed->kid);
  EXPECT_EQ(make_cnf_jwk(key::generate_symmetric(32, random)).error(), failure::bad_key);
}

TEST_F(jwt_test, cnf_jwe_carries_an_encrypted_symmetric_key) {
  const auto pop = key::generate_symmetric(32, random);
  auto cnf =
      make_cnf_jwe(pop, *broker.public_key(), {.key_management = algorithm::ecdh_es}, random);
  ASSERT_TRUE(cnf);
  auto with_cnf = claims;
  with_cnf["cnf"] = *cnf;
  auto parsed = parse_cnf(with_cnf);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->jwe);
  auto decrypted = decrypt_cnf_key(*parsed->jwe, broker);
  ASSERT_TRUE(decrypted);
  EXPECT_TRUE(decrypted->same_material(pop));
  EXPECT_EQ(decrypt_cnf_key(*parsed->jwe, key::generate_p256()).error(), failure::bad_cnf);
  EXPECT_EQ(decrypt_cnf_key("not a jwe", broker).error(), failure::bad_cnf);
}

TEST_F(jwt_test, cnf_errors) {
  EXPECT_EQ(parse_cnf(claims).error(), failure::missing_cnf);
  auto with = [&](boost::json::value cnf) {
    auto c = claims;
    c["cnf"] = std::move(cnf);
    return parse_cnf(c);
  };
  EXPECT_EQ(with("kid").error(), failure::bad_cnf);
  EXPECT_EQ(with(boost::json::object{}).error(), failure::bad_cnf);
  EXPECT_EQ(with(boost::json::object{{"kid", "a"}, {"jwe", "b"}}).error(), failure::bad_cnf);
  EXPECT_EQ(with(boost::json::object{{"kid", 5}}).error(), failure::bad_cnf);
  // A symmetric key in the clear is refused (RFC 9431 2.1), as is a private key.
  EXPECT_EQ(
      with(boost::json::object{{"jwk", {{"kty", "oct"}, {"k", "AAECAwQFBgcICQoLDA0ODw"}}}}).error(),
      failure::bad_cnf);
  EXPECT_EQ(with(boost::json::object{
                     {"jwk", *to_jwk(key::generate_ed25519(), jwk_content::with_private)}})
                .error(),
            failure::bad_cnf);
  auto kid = with(make_cnf_kid("pop-key-1"));
  ASSERT_TRUE(kid);
  EXPECT_EQ(kid->kid, "pop-key-1");
}

TEST_F(jwt_test, cnf_of_an_introspection_response_may_carry_a_symmetric_key) {
  // RFC 9431 2.2.5 / RFC 7800 3.2: an introspection response comes over the authenticated,
  // confidential channel to the AS, so its cnf may hold a symmetric key in the clear.
  const auto pop = key::generate_symmetric(32, random);
  auto c = claims;
  c["cnf"] = boost::json::object{{"jwk", *to_jwk(pop, jwk_content::with_private)}};
  EXPECT_EQ(parse_cnf(c).error(), failure::bad_cnf);  // the JWT rule (RFC 9431 2.1)
  auto parsed = parse_cnf(c, cnf_origin::introspection);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->jwk);
  EXPECT_TRUE(parsed->jwk->same_material(pop));
  // A public key is read as from a JWT; a private asymmetric key is still refused.
  const auto public_pop = key::generate_ed25519();
  c["cnf"] = *make_cnf_jwk(public_pop);
  parsed = parse_cnf(c, cnf_origin::introspection);
  ASSERT_TRUE(parsed && parsed->jwk);
  EXPECT_FALSE(parsed->jwk->is_private());
  c["cnf"] = boost::json::object{{"jwk", *to_jwk(public_pop, jwk_content::with_private)}};
  EXPECT_EQ(parse_cnf(c, cnf_origin::introspection).error(), failure::bad_cnf);
}

}  // namespace
}  // namespace acemq::token::jose
