// JWS: published examples (RFC 7515 A.1, A.3; RFC 8037 A.4), round trips for every algorithm,
// and a negative test for every failure verify_jws returns.

#include "acemq/token/jose/jws.hpp"

#include <gtest/gtest.h>

#include "acemq/common/base64.hpp"
#include "acemq/token/crypto/sign.hpp"

namespace acemq::token::jose {
namespace {

using crypto::algorithm;
using crypto::key;

std::string b64(std::string_view text) {
  return base64url_encode(as_bytes(text));
}

// RFC 7515 A.1.
constexpr std::string_view a1_token =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view a1_key =
    R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})";
constexpr std::string_view a1_payload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

// RFC 8037 A.4.
constexpr std::string_view rfc8037_token =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
constexpr std::string_view rfc8037_key = R"({"kty":"OKP","crv":"Ed25519",)"
                                         R"("d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",)"
                                         R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";

TEST(jws_vectors, rfc7515_a1_hs256) {
  auto k = parse_jwk(a1_key);
  ASSERT_TRUE(k);
  auto verified = verify_jws(a1_token, *k);
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->alg, algorithm::hs256);
  EXPECT_EQ(as_string_view(verified->payload), a1_payload);
  EXPECT_EQ(verified->header.at("typ").as_string(), "JWT");
}

// RFC 7515 A.2: the RSA key and RS256 signature (PKCS#1 v1.5 is deterministic).
constexpr std::string_view a2_key =
    R"({"kty":"RSA",)"
    R"("n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx)"
    R"(HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs)"
    R"(D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH)"
    R"(SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV)"
    R"(MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8)"
    R"(NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",)"
    R"("e":"AQAB",)"
    R"("d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97I)"
    R"(jlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0)"
    R"(BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn)"
    R"(439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYT)"
    R"(CBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLh)"
    R"(BOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",)"
    R"("p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdi)"
    R"(YrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPG)"
    R"(BY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",)"
    R"("q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxa)"
    R"(ewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA)"
    R"(-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",)"
    R"("dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3Q)"
    R"(CLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb)"
    R"(34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",)"
    R"("dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa)"
    R"(7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-ky)"
    R"(NlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",)"
    R"("qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2o)"
    R"(y26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLU)"
    R"(W0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"})";
constexpr std::string_view a2_signature =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZ"
    "mh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjb"
    "KBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHl"
    "b1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZES"
    "c6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AX"
    "LIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

TEST(jws_vectors, rfc7515_a2_rs256) {
  auto k = parse_jwk(a2_key);
  ASSERT_TRUE(k);
  EXPECT_TRUE(k->is_private());
  const std::string signing_input =
      "eyJhbGciOiJSUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ";
  const std::string token = signing_input + "." + std::string(a2_signature);
  auto verified = verify_jws(token, *k->public_key());
  ASSERT_TRUE(verified);
  EXPECT_EQ(as_string_view(verified->payload), a1_payload);
  auto signature = crypto::sign(algorithm::rs256, *k, as_bytes(signing_input));
  ASSERT_TRUE(signature);
  EXPECT_EQ(base64url_encode(*signature), a2_signature);
}

TEST(jws_vectors, rfc7515_a3_es256_verify) {
  auto k = parse_jwk(
      R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
  ASSERT_TRUE(k);
  constexpr std::string_view token =
      "eyJhbGciOiJFUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ."
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
  auto verified = verify_jws(token, *k);
  ASSERT_TRUE(verified);
  EXPECT_EQ(as_string_view(verified->payload), a1_payload);
}

TEST(jws_vectors, rfc8037_a4_eddsa_sign_and_verify) {
  auto k = parse_jwk(rfc8037_key);
  ASSERT_TRUE(k);
  auto signed_token = sign_jws(*k, as_bytes("Example of Ed25519 signing"));
  ASSERT_TRUE(signed_token);
  EXPECT_EQ(*signed_token, rfc8037_token);  // Ed25519 is deterministic
  auto verified = verify_jws(rfc8037_token, *k->public_key());
  ASSERT_TRUE(verified);
  EXPECT_EQ(as_string_view(verified->payload), "Example of Ed25519 signing");
}

TEST(jws_vectors, rfc7520_4_4_hs256_byte_exact) {
  auto k = parse_jwk(
      R"({"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","use":"sig","alg":"HS256",)"
      R"("k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"})");
  ASSERT_TRUE(k);
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9."
      "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250"
      "byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hl"
      "cmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4."
      "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";
  auto verified = verify_jws(token, *k);
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->kid, "018c0ae5-4d9b-471b-bfd6-eef314bc7037");
  // Our header serialisation ({"alg","kid"} in that order, no whitespace) matches the cookbook.
  auto signed_again = sign_jws(*k, verified->payload);
  ASSERT_TRUE(signed_again);
  EXPECT_EQ(*signed_again, token);
}

TEST(jws, round_trip_every_algorithm) {
  deterministic_random random(4);
  struct case_t {
    key k;
    algorithm alg;
  };
  const key rsa = key::generate_rsa();
  case_t cases[] = {{key::generate_symmetric(32, random), algorithm::hs256},
                    {key::generate_symmetric(64, random), algorithm::hs512},
                    {key::generate_ed25519(), algorithm::eddsa},
                    {key::generate_p256(), algorithm::es256},
                    {rsa, algorithm::rs256},
                    {rsa, algorithm::ps256}};
  for (auto& c : cases) {
    c.k.set_kid(to_bytes("k1"));
    auto token = sign_jws(c.k, as_bytes(R"({"sub":"x"})"), {.alg = c.alg, .typ = "JWT"});
    ASSERT_TRUE(token) << crypto::jose_name(c.alg);
    const key verifier = c.k.type() == crypto::key_type::symmetric ? c.k : *c.k.public_key();
    auto verified = verify_jws(*token, verifier);
    ASSERT_TRUE(verified) << crypto::jose_name(c.alg);
    EXPECT_EQ(verified->alg, c.alg);
    EXPECT_EQ(verified->kid, "k1");
    EXPECT_EQ(as_string_view(verified->payload), R"({"sub":"x"})");
  }
}

class jws_negative : public ::testing::Test {
 protected:
  key ed = key::generate_ed25519();
  key ed_public = *ed.public_key();
  std::string token = *sign_jws(ed, as_bytes(R"({"iss":"as"})"));
  std::vector<std::string> parts() const {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (auto dot = token.find('.'); dot != std::string::npos; dot = token.find('.', start)) {
      out.push_back(token.substr(start, dot - start));
      start = dot + 1;
    }
    out.push_back(token.substr(start));
    return out;
  }
  std::string with_header(std::string_view header_json) const {
    auto p = parts();
    return b64(header_json) + "." + p[1] + "." + p[2];
  }
};

TEST_F(jws_negative, alg_none_is_refused) {
  const auto unsecured = b64(R"({"alg":"none"})") + "." + b64(R"({"iss":"as"})") + ".";
  EXPECT_EQ(verify_jws(unsecured, ed_public).error(), failure::alg_none);
  EXPECT_EQ(verify_jws(with_header(R"({"alg":"none"})"), ed_public).error(), failure::alg_none);
}

TEST_F(jws_negative, hs256_with_the_public_key_as_secret_is_not_allowed) {
  // The attacker's HMAC secret is the verifier's Ed25519 public key bytes.
  auto secret = key::symmetric_from_bytes(*ed.ed25519_public());
  ASSERT_TRUE(secret);
  auto forged = sign_jws(*secret, as_bytes(R"({"iss":"as"})"), {.alg = algorithm::hs256});
  ASSERT_TRUE(forged);
  EXPECT_EQ(verify_jws(*forged, ed_public).error(), failure::algorithm_not_allowed);
  const key set[] = {ed_public};
  EXPECT_EQ(verify_jws(*forged, set).error(), failure::algorithm_not_allowed);
}

TEST_F(jws_negative, bad_signatures) {
  auto p = parts();
  auto signature = *base64url_decode(p[2]);
  auto truncated = signature;
  truncated.pop_back();
  EXPECT_EQ(verify_jws(p[0] + "." + p[1] + "." + base64url_encode(truncated), ed_public).error(),
            failure::bad_signature);
  auto flipped = signature;
  flipped[3] ^= 0x10;
  EXPECT_EQ(verify_jws(p[0] + "." + p[1] + "." + base64url_encode(flipped), ed_public).error(),
            failure::bad_signature);
  EXPECT_EQ(verify_jws(p[0] + "." + b64(R"({"iss":"evil"})") + "." + p[2], ed_public).error(),
            failure::bad_signature);
  EXPECT_EQ(verify_jws(token, *key::generate_ed25519().public_key()).error(),
            failure::bad_signature);
}

TEST_F(jws_negative, size_and_depth_limits) {
  std::string huge = token;
  huge.insert(huge.find('.') + 1, std::string(1024 * 1024, 'A'));
  EXPECT_EQ(verify_jws(huge, ed_public).error(), failure::too_large);
  EXPECT_EQ(verify_jws(token, ed_public, limits{.max_size = 20, .max_depth = 32}).error(),
            failure::too_large);
  const std::string deep =
      R"({"alg":"EdDSA","x":)" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(verify_jws(with_header(deep), ed_public).error(), failure::too_deep);
}

TEST_F(jws_negative, critical_headers) {
  EXPECT_EQ(verify_jws(with_header(R"({"alg":"EdDSA","crit":["exp"],"exp":1})"), ed_public).error(),
            failure::unknown_critical_header);
  EXPECT_EQ(
      verify_jws(with_header(R"({"alg":"EdDSA","b64":false,"crit":["b64"]})"), ed_public).error(),
      failure::unknown_critical_header);
  EXPECT_EQ(verify_jws(with_header(R"({"alg":"EdDSA","b64":false})"), ed_public).error(),
            failure::unknown_critical_header);
  // Malformed crit values are encoding errors (RFC 7515 4.1.11).
  for (auto header : {R"({"alg":"EdDSA","crit":[]})", R"({"alg":"EdDSA","crit":"exp"})",
                      R"({"alg":"EdDSA","crit":["exp"]})", R"({"alg":"EdDSA","crit":["alg"]})",
                      R"({"alg":"EdDSA","crit":[1]})"}) {
    EXPECT_EQ(verify_jws(with_header(header), ed_public).error(), failure::bad_encoding) << header;
  }
}

TEST_F(jws_negative, malformed_structure) {
  auto p = parts();
  const std::string cases[] = {
      "",
      p[0] + "." + p[1],
      token + ".",
      p[0] + "." + p[1] + "." + p[2] + "." + p[2],
      "!!!." + p[1] + "." + p[2],
      p[0] + ".a+b." + p[2],
      p[0] + "." + p[1] + ".x=",
      with_header(R"(["alg","EdDSA"])"),
      with_header(R"({"alg":5})"),
      with_header(R"({"typ":"JWT"})"),
      with_header(R"({"alg":"EdDSA","kid":7})"),
      with_header("{\"alg\":\"EdDSA\",\"x\":\"\xff\"}"),
      with_header(R"({"alg":"EdDSA"} trailing)"),
  };
  for (const auto& c : cases) {
    auto result = verify_jws(c, ed_public);
    ASSERT_FALSE(result) << c;
    EXPECT_EQ(result.error(), failure::bad_encoding) << c;
  }
  EXPECT_EQ(verify_jws(with_header(R"({"alg":"ES512"})"), ed_public).error(),
            failure::unsupported_algorithm);
  EXPECT_EQ(verify_jws(with_header(R"({"alg":"A128GCM"})"), ed_public).error(),
            failure::unsupported_algorithm);
  EXPECT_EQ(verify_jws(with_header(R"({"alg":"eddsa"})"), ed_public).error(),
            failure::unsupported_algorithm);
}

TEST_F(jws_negative, key_selection_by_kid) {
  auto a = key::generate_ed25519();
  a.set_kid(to_bytes("a"));
  auto b = key::generate_p256();
  b.set_kid(to_bytes("b"));
  const jwk_set set({*a.public_key(), *b.public_key()});
  auto by_a = sign_jws(a, as_bytes("{}"));
  auto by_b = sign_jws(b, as_bytes("{}"));
  EXPECT_EQ(verify_jws(*by_a, set)->alg, algorithm::eddsa);
  EXPECT_EQ(verify_jws(*by_b, set)->alg, algorithm::es256);
  auto unknown = sign_jws(a, as_bytes("{}"), {.kid = "zzz"});
  EXPECT_EQ(verify_jws(*unknown, set).error(), failure::unknown_key);
  // No kid: every key that allows the algorithm is tried.
  auto anonymous = sign_jws(a, as_bytes("{}"), {.kid = ""});
  ASSERT_TRUE(anonymous);
  EXPECT_FALSE(parse_jws(*anonymous)->kid);
  EXPECT_TRUE(verify_jws(*anonymous, set));
  auto stranger = sign_jws(key::generate_ed25519(), as_bytes("{}"));
  EXPECT_EQ(verify_jws(*stranger, set).error(), failure::bad_signature);
  auto hmac = sign_jws(*key::symmetric_from_bytes(byte_vector(32, 7)), as_bytes("{}"));
  EXPECT_EQ(verify_jws(*hmac, set).error(), failure::algorithm_not_allowed);
  // A kid that names a key of another type: the key decides, so it is not allowed.
  auto mislabelled = sign_jws(key::generate_ed25519(), as_bytes("{}"), {.kid = "b"});
  EXPECT_EQ(verify_jws(*mislabelled, set).error(), failure::algorithm_not_allowed);
}

TEST_F(jws_negative, keys_named_in_the_header_are_never_trusted) {
  // The attacker embeds their own public key as "jwk" and signs with its private half.
  const auto attacker = key::generate_ed25519();
  const std::string header =
      R"({"alg":"EdDSA","jwk":)" + serialize(*to_jwk(attacker, jwk_content::public_only)) + "}";
  const std::string signing_input = b64(header) + "." + b64(R"({"iss":"as"})");
  auto signature = crypto::sign(algorithm::eddsa, attacker, as_bytes(signing_input));
  ASSERT_TRUE(signature);
  const std::string forged = signing_input + "." + base64url_encode(*signature);
  EXPECT_EQ(verify_jws(forged, ed_public).error(), failure::bad_signature);
  EXPECT_TRUE(verify_jws(forged, *attacker.public_key()));  // only the caller's key decides
}

TEST_F(jws_negative, duplicate_header_names_keep_the_last) {
  // RFC 7515 4: either reject or use the lexically last member; "none" first cannot downgrade.
  auto p = parts();
  const std::string header = b64(R"({"alg":"none","alg":"EdDSA"})");
  const std::string signing_input = header + "." + p[1];
  auto signature = crypto::sign(algorithm::eddsa, ed, as_bytes(signing_input));
  auto verified = verify_jws(signing_input + "." + base64url_encode(*signature), ed_public);
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->alg, algorithm::eddsa);
  const std::string reversed = b64(R"({"alg":"EdDSA","alg":"none"})") + "." + p[1] + "." + p[2];
  EXPECT_EQ(verify_jws(reversed, ed_public).error(), failure::alg_none);
}

TEST_F(jws_negative, algorithm_bound_key_refuses_other_algorithms) {
  auto rsa = key::generate_rsa();
  rsa.bind_algorithm(algorithm::ps256);
  auto rs256 = sign_jws(rsa, as_bytes("{}"), {.alg = algorithm::rs256});
  EXPECT_EQ(rs256.error(), failure::algorithm_not_allowed);
  auto unbound = rsa;
  unbound.clear_algorithm();
  auto token_rs = sign_jws(unbound, as_bytes("{}"), {.alg = algorithm::rs256});
  ASSERT_TRUE(token_rs);
  EXPECT_EQ(verify_jws(*token_rs, *rsa.public_key()).error(), failure::algorithm_not_allowed);
  auto token_ps = sign_jws(rsa, as_bytes("{}"));
  EXPECT_TRUE(verify_jws(*token_ps, *rsa.public_key()));
}

}  // namespace
}  // namespace acemq::token::jose
