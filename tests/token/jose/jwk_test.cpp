// JWK parsing and writing, JWK Sets, and RFC 7638 / RFC 8037 thumbprints.

#include "acemq/token/jose/jwk.hpp"

#include <gtest/gtest.h>

#include <array>
#include <optional>

#include "acemq/common/base64.hpp"

namespace acemq::token::jose {
namespace {

using crypto::key;
using crypto::key_type;

// RFC 8037 A.1 / A.2: the Ed25519 key of RFC 8032 7.1 TEST 1.
constexpr std::string_view rfc8037_private_jwk =
    R"({"kty":"OKP","crv":"Ed25519",)"
    R"("d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",)"
    R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";

// RFC 7638 3.1: the RSA key of RFC 7517 A.1.
constexpr std::string_view rfc7638_jwk =
    R"({"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",)"
    R"("e":"AQAB","alg":"RS256","kid":"2011-04-29"})";

TEST(jwk, rfc8037_ed25519_key_and_thumbprint) {
  auto k = parse_jwk(rfc8037_private_jwk);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->type(), key_type::okp_ed25519);
  EXPECT_TRUE(k->is_private());
  EXPECT_EQ(to_hex(*k->ed25519_public()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  // RFC 8037 A.3.
  EXPECT_EQ(*thumbprint_base64url(*k), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

TEST(jwk, rfc7638_3_1_rsa_thumbprint) {
  auto k = parse_jwk(rfc7638_jwk);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->type(), key_type::rsa);
  EXPECT_EQ(k->bits(), 2048);
  EXPECT_EQ(as_string_view(*k->kid()), "2011-04-29");
  EXPECT_EQ(k->bound_algorithm(), crypto::algorithm::rs256);
  EXPECT_EQ(*thumbprint_base64url(*k), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(jwk, round_trips_every_key_type) {
  deterministic_random random(21);
  std::vector<key> keys{key::generate_ed25519(), key::generate_p256(), key::generate_rsa(),
                        key::generate_symmetric(32, random)};
  for (auto& k : keys) {
    k.set_kid(to_bytes("kid-" + std::to_string(static_cast<int>(k.type()))));
    auto written = to_jwk(k, jwk_content::with_private, "sig");
    ASSERT_TRUE(written);
    auto read = parse_jwk(*written);
    ASSERT_TRUE(read) << serialize(*written);
    EXPECT_TRUE(read->same_material(k));
    EXPECT_TRUE(read->is_private());
    EXPECT_EQ(*read->kid(), *k.kid());
    EXPECT_EQ(*thumbprint(*read), *thumbprint(k));
    if (k.type() == key_type::symmetric) {
      EXPECT_EQ(to_jwk(k, jwk_content::public_only).error(), failure::bad_key);
      continue;
    }
    auto public_jwk = to_jwk(k, jwk_content::public_only);
    ASSERT_TRUE(public_jwk);
    EXPECT_FALSE(public_jwk->contains("d"));
    auto public_key = parse_jwk(*public_jwk, jwk_options{.public_only = true, .required_use = {}});
    ASSERT_TRUE(public_key);
    EXPECT_FALSE(public_key->is_private());
    // The thumbprint depends on the public members only.
    EXPECT_EQ(*thumbprint(*public_key), *thumbprint(k));
  }
}

TEST(jwk, public_only_refuses_private_members_and_secrets) {
  const jwk_options public_only{.public_only = true, .required_use = {}};
  EXPECT_EQ(parse_jwk(rfc8037_private_jwk, public_only).error(), failure::bad_key);
  EXPECT_EQ(parse_jwk(R"({"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw"})", public_only).error(),
            failure::bad_key);
  auto rsa = to_jwk(key::generate_rsa(), jwk_content::with_private);
  ASSERT_TRUE(rsa);
  EXPECT_EQ(parse_jwk(*rsa, public_only).error(), failure::bad_key);
}

TEST(jwk, rejects_unknown_or_malformed_keys) {
  const std::string_view bad_keys[] = {
      R"({"kty":"EC","crv":"P-384","x":"AA","y":"AA"})",
      R"({"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"})",
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR"})",
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="})",
      R"({"kty":"OKP","crv":"Ed25519"})",
      R"({"kty":"PQC","x":"AA"})",
      R"({"crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
      R"({"kty":7})",
      R"({"kty":"oct","k":""})",
      R"({"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw","kid":5})",
      R"(["not", "an", "object"])",
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"ES256"})",
      R"({"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw","alg":"HS256"})",  // 16 bytes < 32
  };
  for (auto text : bad_keys) {
    auto parsed = parse_jwk(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error(), failure::bad_key) << text;
  }
  auto unknown_alg = parse_jwk(
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"Ed448"})");
  EXPECT_EQ(unknown_alg.error(), failure::unsupported_algorithm);
  auto wrong_use = parse_jwk(
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","use":"enc"})",
      jwk_options{.public_only = false, .required_use = "sig"});
  EXPECT_EQ(wrong_use.error(), failure::bad_key);
  EXPECT_EQ(parse_jwk(std::string(100000, ' ')).error(), failure::too_large);
  EXPECT_EQ(parse_jwk(std::string(40, '[') + std::string(40, ']')).error(), failure::too_deep);
}

// PyJWT before 2.8 writes P-256 integers without their leading zero bytes; the same key results.
TEST(jwk, p256_integers_written_without_leading_zeros_are_the_same_key) {
  std::optional<key> k;
  std::array<byte_vector, 3> members;  // x, y, d
  for (int tries = 0; tries < 20000 && !k; ++tries) {
    auto candidate = key::generate_p256();
    auto point = candidate.p256_public();
    auto d = candidate.p256_private();
    ASSERT_TRUE(point && d);
    members = {point->x, point->y, *d};
    for (auto& m : members)
      if (m.front() == 0) k = std::move(candidate);
  }
  ASSERT_TRUE(k) << "no P-256 key with a leading zero byte in 20000 tries";
  auto trimmed = [](byte_vector v) {
    while (!v.empty() && v.front() == 0)
      v.erase(v.begin());
    return base64url_encode(v);
  };
  auto text = R"({"kty":"EC","crv":"P-256","x":")" + trimmed(members[0]) + R"(","y":")" +
              trimmed(members[1]) + R"(","d":")" + trimmed(members[2]) + R"("})";
  auto read = parse_jwk(text);
  ASSERT_TRUE(read) << text;
  EXPECT_TRUE(read->same_material(*k));
  EXPECT_EQ(*thumbprint(*read), *thumbprint(*k));

  // A 33-byte coordinate, even a zero-led one, is not a P-256 integer; nor is an empty "d".
  byte_vector long_x{0};
  long_x.insert(long_x.end(), members[0].begin(), members[0].end());
  auto too_long = R"({"kty":"EC","crv":"P-256","x":")" + base64url_encode(long_x) + R"(","y":")" +
                  base64url_encode(members[1]) + R"("})";
  EXPECT_EQ(parse_jwk(too_long).error(), failure::bad_key);
  auto empty_d = R"({"kty":"EC","crv":"P-256","x":")" + base64url_encode(members[0]) +
                 R"(","y":")" + base64url_encode(members[1]) + R"(","d":""})";
  EXPECT_EQ(parse_jwk(empty_d).error(), failure::bad_key);
}

TEST(jwk_set, parse_find_and_skip_unknown_types) {
  auto a = key::generate_ed25519();
  a.set_kid(to_bytes("a"));
  auto b = key::generate_p256();
  b.set_kid(to_bytes("b"));
  auto set_json = to_jwk_set(jwk_set({a, b}), jwk_content::public_only);
  ASSERT_TRUE(set_json);
  auto keys = (*set_json)["keys"].as_array();
  keys.emplace_back(boost::json::object{{"kty", "future-kty"}, {"kid", "c"}});
  (*set_json)["keys"] = keys;
  auto parsed = parse_jwk_set(serialize(*set_json));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->keys().size(), 2u);
  auto found = parsed->find(as_bytes("b"));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(found[0]->same_material(b));
  EXPECT_TRUE(parsed->find(as_bytes("c")).empty());

  EXPECT_EQ(parse_jwk_set(serialize(*set_json), {}, 2).error(), failure::too_large);
  EXPECT_EQ(parse_jwk_set(R"({"keys":{}})").error(), failure::bad_encoding);
  EXPECT_EQ(parse_jwk_set(R"({"keys":[1]})").error(), failure::bad_encoding);
  EXPECT_EQ(parse_jwk_set(R"({"keys":[{"kty":"EC","crv":"P-256"}]})").error(), failure::bad_key);
}

}  // namespace
}  // namespace acemq::token::jose
