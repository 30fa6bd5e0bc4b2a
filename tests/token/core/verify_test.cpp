#include "acemq/token/verify.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <limits>
#include <string>

#include "acemq/common/base64.hpp"
#include "acemq/common/random.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cose/cose_key.hpp"
#include "acemq/token/cose/cose_message.hpp"
#include "acemq/token/cose/cwt.hpp"
#include "acemq/token/crypto/sign.hpp"
#include "acemq/token/jose/jwt.hpp"

namespace acemq::token {
namespace {

constexpr std::int64_t now = 1'700'000'000;
constexpr std::string_view aif_json = R"([["sensors/+/temp",["pub"]],["cmd/#",["sub"]]])";

struct fixture {
  // Declared first: the constructor draws keys from it.
  deterministic_random random{42};
  crypto::key as_ed25519 = crypto::key::generate_ed25519();
  crypto::key as_p256 = crypto::key::generate_p256();
  crypto::key as_hmac;
  crypto::key broker_kek;
  crypto::key pop_key = crypto::key::generate_ed25519();
  crypto::key pop_symmetric;

  fixture()
      : as_hmac(make_symmetric(32, "as-hmac")),
        broker_kek(make_symmetric(16, "broker")),
        pop_symmetric(make_symmetric(32, "pop")) {
    as_ed25519.set_kid(to_bytes("as-ed"));
    as_p256.set_kid(to_bytes("as-p256"));
  }

  crypto::key make_symmetric(std::size_t size, std::string_view kid) {
    crypto::key k = crypto::key::generate_symmetric(size, random);
    k.set_kid(to_bytes(kid));
    return k;
  }

  trusted_keys keys() const {
    trusted_keys k;
    k.issuer_keys = {*as_ed25519.public_key(), *as_p256.public_key(), as_hmac};
    k.decryption_keys = {broker_kek};
    return k;
  }

  static expectations expected() {
    expectations e;
    e.issuer = "https://as.example";
    e.audience = "broker";
    return e;
  }

  boost::json::object jwt_claims() const {
    boost::json::object c;
    c["iss"] = "https://as.example";
    c["aud"] = "broker";
    c["sub"] = "client-1";
    c["iat"] = now - 10;
    c["exp"] = now + 3600;
    c["scope"] = base64url_encode(as_bytes(aif_json));
    c["ace_profile"] = "mqtt_tls";
    c["cnf"] = *jose::make_cnf_jwk(*pop_key.public_key());
    return c;
  }

  std::string jwt(const boost::json::object& claims, const crypto::key& signer) const {
    auto signed_jwt = jose::sign_jwt(claims, signer);
    EXPECT_TRUE(signed_jwt.has_value());
    return signed_jwt ? *signed_jwt : std::string();
  }

  cose::claims cwt_claims() const {
    cose::claims c;
    c.iss = "https://as.example";
    c.aud = {"broker"};
    c.iat = now - 10;
    c.exp = now + 3600;
    c.scope = scope::aif_scope::from_json(aif_json)->to_cbor_value();
    c.ace_profile = cose::ace_profile_mqtt_tls;
    cose::confirmation cnf;
    cnf.cose_key = *cose::key_to_cose(*pop_key.public_key());
    c.cnf = cnf;
    return c;
  }

  byte_vector cwt(const cose::claims& claims, const crypto::key& signer) const {
    auto signed_cwt = cose::sign1(crypto::algorithm::eddsa, signer, cose::encode_claims(claims));
    EXPECT_TRUE(signed_cwt.has_value());
    return signed_cwt ? *signed_cwt : byte_vector();
  }
};

result<claims, failure> verify_jwt(const fixture& f, const std::string& token,
                                   const expectations& e = fixture::expected(),
                                   std::int64_t at = now) {
  return verify(as_bytes(token), f.keys(), e, at);
}

void expect_failure(const result<claims, failure>& r, failure expected) {
  ASSERT_FALSE(r.has_value()) << "expected " << to_string(expected);
  EXPECT_EQ(r.error(), expected) << to_string(r.error()) << " instead of " << to_string(expected);
}

// --- success paths ---------------------------------------------------------------------------

TEST(Verify, JwtEdDsaWithPublicJwk) {
  fixture f;
  auto verified = verify_jwt(f, f.jwt(f.jwt_claims(), f.as_ed25519));
  ASSERT_TRUE(verified.has_value()) << to_string(verified.error());
  EXPECT_EQ(verified->format, token_format::jwt);
  EXPECT_EQ(verified->issuer, "https://as.example");
  EXPECT_EQ(verified->subject, "client-1");
  EXPECT_EQ(verified->expires_at, now + 3600);
  EXPECT_EQ(verified->ace_profile, "mqtt_tls");
  ASSERT_TRUE(verified->cnf && verified->cnf->key);
  EXPECT_EQ(verified->cnf->form, cnf_form::key);
  EXPECT_TRUE(verified->cnf->key->same_material(*f.pop_key.public_key()));
  EXPECT_TRUE(verified->scope.allows_publish("sensors/a/temp"));
  EXPECT_TRUE(verified->scope.allows_subscribe("cmd/x/#"));
  EXPECT_FALSE(verified->scope.allows_publish("cmd/x"));
  EXPECT_NE(verified->json.find("\"iss\":\"https://as.example\""), std::string::npos);
}

TEST(Verify, JwtEs256AndHs256AndPlainArrayScope) {
  fixture f;
  auto c = f.jwt_claims();
  c["scope"] = boost::json::parse(aif_json);
  for (const crypto::key* signer : {&f.as_p256, &f.as_hmac}) {
    auto verified = verify_jwt(f, f.jwt(c, *signer));
    ASSERT_TRUE(verified.has_value()) << to_string(verified.error());
    EXPECT_TRUE(verified->scope.allows_publish("sensors/1/temp"));
  }
}

TEST(Verify, JwtSymmetricPopKeyAsJwe) {
  fixture f;
  auto c = f.jwt_claims();
  c["cnf"] = *jose::make_cnf_jwe(f.pop_symmetric, f.broker_kek, {}, f.random);
  auto verified = verify_jwt(f, f.jwt(c, f.as_ed25519));
  ASSERT_TRUE(verified.has_value()) << to_string(verified.error());
  ASSERT_TRUE(verified->cnf && verified->cnf->key);
  EXPECT_EQ(verified->cnf->form, cnf_form::encrypted_key);
  EXPECT_TRUE(verified->cnf->key->same_material(f.pop_symmetric));
  // The secret never reaches the JSON rendering.
  const std::string secret = base64url_encode(f.pop_symmetric.symmetric_bytes());
  EXPECT_EQ(verified->json.find(secret), std::string::npos);
}

TEST(Verify, JwtNestedInJwe) {
  fixture f;
  const std::string inner = f.jwt(f.jwt_claims(), f.as_ed25519);
  auto outer = jose::encrypt_jwt(inner, f.broker_kek, {}, f.random);
  ASSERT_TRUE(outer.has_value());
  auto verified = verify_jwt(f, *outer);
  ASSERT_TRUE(verified.has_value()) << to_string(verified.error());
}

TEST(Verify, JwtCnfKid) {
  fixture f;
  auto c = f.jwt_claims();
  c["cnf"] = jose::make_cnf_kid("pop-key-7");
  auto verified = verify_jwt(f, f.jwt(c, f.as_ed25519));
  ASSERT_TRUE(verified.has_value()) << to_string(verified.error());
  EXPECT_EQ(verified->cnf->form, cnf_form::key_id);
  EXPECT_EQ(verified->cnf->key_id, to_bytes("pop-key-7"));
}

TEST(Verify, CwtSign1Mac0TaggedUntaggedAndTag61) {
  fixture f;
  const byte_vector payload = cose::encode_claims(f.cwt_claims());
  cose::protect_options untagged;
  untagged.tagged = false;
  const std::vector<byte_vector> tokens = {
      f.cwt(f.cwt_claims(), f.as_ed25519),
      *cose::sign1(crypto::algorithm::es256, f.as_p256, payload),
      *cose::sign1(crypto::algorithm::eddsa, f.as_ed25519, payload, untagged),
      *cose::mac0(crypto::algorithm::hs256, f.as_hmac, payload),
      *cose::mac0(crypto::algorithm::hs256, f.as_hmac, payload, untagged),
      cose::add_cwt_tag(f.cwt(f.cwt_claims(), f.as_ed25519)),
  };
  for (const auto& token : tokens) {
    auto verified = verify(token, f.keys(), fixture::expected(), now);
    ASSERT_TRUE(verified.has_value()) << to_string(verified.error());
    EXPECT_EQ(verified->format, token_format::cwt);
    EXPECT_EQ(verified->ace_profile, "mqtt_tls");
    EXPECT_TRUE(verified->scope.allows_publish("sensors/x/temp"));
    ASSERT_TRUE(verified->cnf && verified->cnf->key);
    EXPECT_TRUE(verified->cnf->key->same_material(*f.pop_key.public_key()));
  }
}

TEST(Verify, CwtEncryptedCoseKeyAndKid) {
  fixture f;
  auto c = f.cwt_claims();
  cose::confirmation encrypted;
  encrypted.encrypted_cose_key =
      *cose::encrypt0_value(crypto::algorithm::a128gcm, f.broker_kek,
                            cbor::encode(*cose::key_to_cose(f.pop_symmetric, true)), f.random);
  c.cnf = encrypted;
  auto verified = verify(f.cwt(c, f.as_ed25519), f.keys(), fixture::expected(), now);
  ASSERT_TRUE(verified.has_value()) << to_string(verified.error());
  EXPECT_EQ(verified->cnf->form, cnf_form::encrypted_key);
  EXPECT_TRUE(verified->cnf->key->same_material(f.pop_symmetric));

  cose::confirmation by_kid;
  by_kid.kid = to_bytes("pop-7");
  c.cnf = by_kid;
  auto with_kid = verify(f.cwt(c, f.as_ed25519), f.keys(), fixture::expected(), now);
  ASSERT_TRUE(with_kid.has_value()) << to_string(with_kid.error());
  EXPECT_EQ(with_kid->cnf->key_id, to_bytes("pop-7"));
}

TEST(Verify, CwtScopeAsText) {
  fixture f;
  auto c = f.cwt_claims();
  c.scope = cbor::value::text(aif_json);
  auto verified = verify(f.cwt(c, f.as_ed25519), f.keys(), fixture::expected(), now);
  ASSERT_TRUE(verified.has_value()) << to_string(verified.error());
  EXPECT_TRUE(verified->scope.allows_subscribe("cmd/1"));
}

// --- every failure verify() can return -------------------------------------------------------

TEST(VerifyFailures, BadEncoding) {
  fixture f;
  for (std::string_view garbage : {"", "hello", "a.b", "a.b.c.d", "%%%.%%.%%", "..", "{}"}) {
    expect_failure(verify(as_bytes(garbage), f.keys(), fixture::expected(), now),
                   failure::bad_encoding);
  }
  expect_failure(verify(byte_vector{0xd2, 0x84}, f.keys(), fixture::expected(), now),
                 failure::bad_encoding);
  // Wrong claim type: exp as a string.
  auto c = f.jwt_claims();
  c["exp"] = "tomorrow";
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::bad_encoding);
}

TEST(VerifyFailures, TooLarge) {
  fixture f;
  const std::string huge(1024 * 1024, 'a');
  expect_failure(verify_jwt(f, huge), failure::too_large);
  expect_failure(verify(byte_vector(1024 * 1024, 0xd2), f.keys(), fixture::expected(), now),
                 failure::too_large);
  // Exactly at the bound is not too large (it fails later, for another reason).
  auto at_bound = verify_jwt(f, std::string(fixture::expected().max_token_size, 'a'));
  ASSERT_FALSE(at_bound.has_value());
  EXPECT_NE(at_bound.error(), failure::too_large);
}

TEST(VerifyFailures, TooDeep) {
  fixture f;
  byte_vector nested(200, 0x81);  // [[[[...]]]]
  nested.push_back(0x80);
  expect_failure(verify(nested, f.keys(), fixture::expected(), now), failure::too_deep);
}

TEST(VerifyFailures, AlgNone) {
  fixture f;
  const std::string header = base64url_encode(as_bytes(R"({"alg":"none","typ":"JWT"})"));
  const std::string payload = base64url_encode(as_bytes(boost::json::serialize(f.jwt_claims())));
  expect_failure(verify_jwt(f, header + "." + payload + "."), failure::alg_none);
}

TEST(VerifyFailures, Hs256WithThePublicKeyBytesAsSecret) {
  // The classic confusion: sign HS256 with the Ed25519 public key as HMAC secret. With only the
  // Ed25519 key trusted, it must never verify.
  fixture f;
  const byte_vector public_bytes = *f.as_ed25519.ed25519_public();
  const crypto::key forged_secret = *crypto::key::symmetric_from_bytes(public_bytes);
  trusted_keys only_ed25519;
  only_ed25519.issuer_keys = {*f.as_ed25519.public_key()};
  const std::string header = base64url_encode(as_bytes(R"({"alg":"HS256","typ":"JWT"})"));
  const std::string payload = base64url_encode(as_bytes(boost::json::serialize(f.jwt_claims())));
  const std::string input = header + "." + payload;
  const byte_vector mac = *crypto::sign(crypto::algorithm::hs256, forged_secret, as_bytes(input));
  const std::string forged = input + "." + base64url_encode(mac);
  auto r = verify(as_bytes(forged), only_ed25519, fixture::expected(), now);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error() == failure::algorithm_not_allowed || r.error() == failure::unknown_key)
      << to_string(r.error());
  // The same with a kid naming the Ed25519 key.
  const std::string kid_header =
      base64url_encode(as_bytes(R"({"alg":"HS256","typ":"JWT","kid":"as-ed"})"));
  const std::string kid_input = kid_header + "." + payload;
  const std::string kid_forged =
      kid_input + "." +
      base64url_encode(*crypto::sign(crypto::algorithm::hs256, forged_secret, as_bytes(kid_input)));
  expect_failure(verify(as_bytes(kid_forged), only_ed25519, fixture::expected(), now),
                 failure::algorithm_not_allowed);
}

TEST(VerifyFailures, AlgorithmNotAllowedByExpectations) {
  fixture f;
  auto e = fixture::expected();
  e.allowed_algorithms = {crypto::algorithm::es256};
  expect_failure(verify_jwt(f, f.jwt(f.jwt_claims(), f.as_ed25519), e),
                 failure::algorithm_not_allowed);
  expect_failure(verify(f.cwt(f.cwt_claims(), f.as_ed25519), f.keys(), e, now),
                 failure::algorithm_not_allowed);
}

TEST(VerifyFailures, UnknownKey) {
  fixture f;
  const crypto::key stranger = [] {
    crypto::key k = crypto::key::generate_ed25519();
    k.set_kid(to_bytes("stranger"));
    return k;
  }();
  expect_failure(verify_jwt(f, f.jwt(f.jwt_claims(), stranger)), failure::unknown_key);
  expect_failure(verify(f.cwt(f.cwt_claims(), stranger), f.keys(), fixture::expected(), now),
                 failure::unknown_key);
}

TEST(VerifyFailures, BadSignatureAndTruncatedSignature) {
  fixture f;
  std::string token = f.jwt(f.jwt_claims(), f.as_ed25519);
  std::string flipped = token;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  expect_failure(verify_jwt(f, flipped), failure::bad_signature);
  const auto last_dot = token.rfind('.');
  const byte_vector signature = *base64url_decode(token.substr(last_dot + 1));
  const std::string truncated = token.substr(0, last_dot + 1) +
                                base64url_encode(byte_view(signature).first(signature.size() - 1));
  expect_failure(verify_jwt(f, truncated), failure::bad_signature);
  // A payload changed after signing.
  auto other = f.jwt_claims();
  other["aud"] = "everyone";
  const std::string other_token = f.jwt(other, f.as_ed25519);
  const auto dot1 = token.find('.');
  const auto dot2 = token.find('.', dot1 + 1);
  const auto other_dot1 = other_token.find('.');
  const auto other_dot2 = other_token.find('.', other_dot1 + 1);
  const std::string spliced = token.substr(0, dot1 + 1) +
                              other_token.substr(other_dot1 + 1, other_dot2 - other_dot1 - 1) +
                              token.substr(dot2);
  expect_failure(verify_jwt(f, spliced), failure::bad_signature);

  byte_vector cwt = f.cwt(f.cwt_claims(), f.as_ed25519);
  cwt[cwt.size() - 3] ^= 0x01;
  expect_failure(verify(cwt, f.keys(), fixture::expected(), now), failure::bad_signature);
}

TEST(VerifyFailures, UnsupportedAlgorithm) {
  fixture f;
  const std::string header = base64url_encode(as_bytes(R"({"alg":"ES512","typ":"JWT"})"));
  const std::string payload = base64url_encode(as_bytes(boost::json::serialize(f.jwt_claims())));
  expect_failure(
      verify_jwt(f, header + "." + payload + "." + base64url_encode(byte_vector(132, 1))),
      failure::unsupported_algorithm);
}

TEST(VerifyFailures, UnknownCriticalHeader) {
  fixture f;
  const std::string header =
      base64url_encode(as_bytes(R"({"alg":"EdDSA","crit":["exp-hint"],"exp-hint":1})"));
  const std::string payload = base64url_encode(as_bytes(boost::json::serialize(f.jwt_claims())));
  const std::string input = header + "." + payload;
  const byte_vector signature =
      *crypto::sign(crypto::algorithm::eddsa, f.as_ed25519, as_bytes(input));
  expect_failure(verify_jwt(f, input + "." + base64url_encode(signature)),
                 failure::unknown_critical_header);
}

TEST(VerifyFailures, DecryptionFailed) {
  fixture f;
  const std::string inner = f.jwt(f.jwt_claims(), f.as_ed25519);
  auto outer = jose::encrypt_jwt(inner, f.broker_kek, {}, f.random);
  ASSERT_TRUE(outer.has_value());
  std::string tampered = *outer;
  // Change one character of the authentication tag (the last part).
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  expect_failure(verify_jwt(f, tampered), failure::decryption_failed);
}

TEST(VerifyFailures, ExpiryAtAndAroundTheLeewayBoundary) {
  fixture f;
  auto e = fixture::expected();
  auto c = f.jwt_claims();
  const std::string token = f.jwt(c, f.as_ed25519);
  const std::int64_t exp = now + 3600;
  // RFC 7519 4.1.4: not accepted on or after exp (+ leeway).
  EXPECT_TRUE(verify_jwt(f, token, e, exp - 1).has_value());
  EXPECT_TRUE(verify_jwt(f, token, e, exp).has_value());
  EXPECT_TRUE(verify_jwt(f, token, e, exp + e.leeway_seconds - 1).has_value());
  expect_failure(verify_jwt(f, token, e, exp + e.leeway_seconds), failure::expired);
  expect_failure(verify_jwt(f, token, e, exp + e.leeway_seconds + 1), failure::expired);
  e.leeway_seconds = 0;
  EXPECT_TRUE(verify_jwt(f, token, e, exp - 1).has_value());
  expect_failure(verify_jwt(f, token, e, exp), failure::expired);
}

TEST(VerifyFailures, NotYetValidAtAndAroundTheLeewayBoundary) {
  fixture f;
  auto e = fixture::expected();
  auto c = f.jwt_claims();
  const std::int64_t nbf = now + 100;
  c["nbf"] = nbf;
  c["iat"] = now - 10;
  const std::string token = f.jwt(c, f.as_ed25519);
  expect_failure(verify_jwt(f, token, e, nbf - e.leeway_seconds - 1), failure::not_yet_valid);
  EXPECT_TRUE(verify_jwt(f, token, e, nbf - e.leeway_seconds).has_value());
  EXPECT_TRUE(verify_jwt(f, token, e, nbf).has_value());
}

TEST(VerifyFailures, IssuedInFutureAtAndAroundTheLeewayBoundary) {
  fixture f;
  auto e = fixture::expected();
  auto c = f.jwt_claims();
  c["iat"] = now + e.leeway_seconds;
  EXPECT_TRUE(verify_jwt(f, f.jwt(c, f.as_ed25519), e).has_value());
  c["iat"] = now + e.leeway_seconds + 1;
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519), e), failure::issued_in_future);
}

TEST(VerifyFailures, LifetimeTooLong) {
  fixture f;
  auto e = fixture::expected();
  auto c = f.jwt_claims();
  c["iat"] = now;
  c["exp"] = now + e.max_lifetime_seconds;
  EXPECT_TRUE(verify_jwt(f, f.jwt(c, f.as_ed25519), e).has_value());
  c["exp"] = now + e.max_lifetime_seconds + 1;
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519), e), failure::lifetime_too_long);
  // Without iat, exp - now counts.
  c.erase("iat");
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519), e), failure::lifetime_too_long);
  c["exp"] = now + e.max_lifetime_seconds;
  EXPECT_TRUE(verify_jwt(f, f.jwt(c, f.as_ed25519), e).has_value());
  // Extreme values saturate instead of overflowing.
  c["exp"] = std::numeric_limits<std::int64_t>::max();
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519), e), failure::lifetime_too_long);
}

TEST(VerifyFailures, MissingClaims) {
  fixture f;
  for (const char* name : {"exp", "iss", "aud", "scope"}) {
    auto c = f.jwt_claims();
    c.erase(name);
    expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::missing_claim);
  }
  auto c = f.cwt_claims();
  c.exp.reset();
  expect_failure(verify(f.cwt(c, f.as_ed25519), f.keys(), fixture::expected(), now),
                 failure::missing_claim);
}

TEST(VerifyFailures, WrongAudienceAndIssuer) {
  fixture f;
  auto c = f.jwt_claims();
  c["aud"] = boost::json::array{"other", "another"};
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::wrong_audience);
  c["aud"] = boost::json::array{"other", "broker"};
  EXPECT_TRUE(verify_jwt(f, f.jwt(c, f.as_ed25519)).has_value());
  c["iss"] = "https://evil.example";
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::wrong_issuer);
  auto any_issuer = fixture::expected();
  any_issuer.issuer.clear();
  EXPECT_TRUE(verify_jwt(f, f.jwt(c, f.as_ed25519), any_issuer).has_value());

  auto cwt_claims = f.cwt_claims();
  cwt_claims.aud = {"other"};
  expect_failure(verify(f.cwt(cwt_claims, f.as_ed25519), f.keys(), fixture::expected(), now),
                 failure::wrong_audience);
}

TEST(VerifyFailures, MissingAndBadCnf) {
  fixture f;
  auto c = f.jwt_claims();
  c.erase("cnf");
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::missing_cnf);
  auto optional_cnf = fixture::expected();
  optional_cnf.require_cnf = false;
  EXPECT_TRUE(verify_jwt(f, f.jwt(c, f.as_ed25519), optional_cnf).has_value());
  // RFC 9431 2.1: a symmetric key in the clear in a JWT is refused.
  boost::json::object clear;
  clear["jwk"] = *jose::to_jwk(f.pop_symmetric, jose::jwk_content::with_private);
  c["cnf"] = clear;
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::bad_cnf);
  // A jwe the broker cannot decrypt.
  const crypto::key other_kek = f.make_symmetric(16, "other");
  c["cnf"] = *jose::make_cnf_jwe(f.pop_symmetric, other_kek, {}, f.random);
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::bad_cnf);
  c["cnf"] = boost::json::object{{"x5c", "abc"}};
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::bad_cnf);

  auto cwt_claims = f.cwt_claims();
  cwt_claims.cnf.reset();
  expect_failure(verify(f.cwt(cwt_claims, f.as_ed25519), f.keys(), fixture::expected(), now),
                 failure::missing_cnf);
  cose::confirmation undecryptable;
  undecryptable.encrypted_cose_key =
      *cose::encrypt0_value(crypto::algorithm::a128gcm, other_kek,
                            cbor::encode(*cose::key_to_cose(f.pop_symmetric, true)), f.random);
  cwt_claims.cnf = undecryptable;
  expect_failure(verify(f.cwt(cwt_claims, f.as_ed25519), f.keys(), fixture::expected(), now),
                 failure::bad_cnf);
}

TEST(VerifyFailures, BadScope) {
  fixture f;
  auto c = f.jwt_claims();
  c["scope"] = base64url_encode(as_bytes(R"([["a/#/b",["pub"]]])"));
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::bad_scope);
  c["scope"] = "not base64url!";
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::bad_scope);
  c["scope"] = base64url_encode(as_bytes(R"([["a",["publish"]]])"));
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::bad_scope);
  auto small = fixture::expected();
  small.max_scope_entries = 1;
  expect_failure(verify_jwt(f, f.jwt(f.jwt_claims(), f.as_ed25519), small), failure::bad_scope);

  auto cwt_claims = f.cwt_claims();
  cwt_claims.scope = cbor::value::array({cbor::value::integer(1)});
  expect_failure(verify(f.cwt(cwt_claims, f.as_ed25519), f.keys(), fixture::expected(), now),
                 failure::bad_scope);
}

TEST(VerifyFailures, WrongProfile) {
  fixture f;
  auto c = f.jwt_claims();
  c["ace_profile"] = "coap_dtls";
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519)), failure::wrong_profile);
  c.erase("ace_profile");
  EXPECT_TRUE(verify_jwt(f, f.jwt(c, f.as_ed25519)).has_value());
  auto cwt_claims = f.cwt_claims();
  cwt_claims.ace_profile = 1;  // coap_dtls (RFC 9202)
  expect_failure(verify(f.cwt(cwt_claims, f.as_ed25519), f.keys(), fixture::expected(), now),
                 failure::wrong_profile);
}

TEST(VerifyFailures, BadNonce) {
  fixture f;
  auto e = fixture::expected();
  e.expected_cnonce = byte_vector{1, 2, 3, 4, 5, 6, 7, 8};
  auto c = f.jwt_claims();
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519), e), failure::bad_nonce);
  c["cnonce"] = base64url_encode(byte_vector{1, 2, 3, 4, 5, 6, 7, 9});
  expect_failure(verify_jwt(f, f.jwt(c, f.as_ed25519), e), failure::bad_nonce);
  c["cnonce"] = base64url_encode(*e.expected_cnonce);
  EXPECT_TRUE(verify_jwt(f, f.jwt(c, f.as_ed25519), e).has_value());
}

TEST(DetectFormat, Shapes) {
  EXPECT_EQ(detect_format(as_bytes("a.b.c")), token_format::jwt);
  EXPECT_EQ(detect_format(as_bytes("a.b.c.d.e")), token_format::jwt);
  EXPECT_EQ(detect_format(as_bytes("a.b")), std::nullopt);
  EXPECT_EQ(detect_format(byte_vector{0xd2}), token_format::cwt);
  EXPECT_EQ(detect_format(byte_vector{0x84}), token_format::cwt);
  EXPECT_EQ(detect_format(byte_vector{0xa1}), std::nullopt);
  EXPECT_EQ(detect_format({}), std::nullopt);
}

}  // namespace
}  // namespace acemq::token
