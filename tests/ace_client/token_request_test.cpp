// The /token request encoder and response decoder (RFC 6749 4.4, RFC 9200 5.8, RFC 9201 3.1) and
// the credentials file.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "acemq/ace_client/credentials.hpp"
#include "acemq/ace_client/token_request.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/common/random.hpp"
#include "acemq/token/jose/jwk.hpp"

namespace acemq::ace_client {
namespace {

using token::crypto::key;
namespace json = boost::json;

std::string symmetric_cnf_response() {
  deterministic_random random(11);
  const key secret = key::generate_symmetric(32, random);
  json::object jwk = *token::jose::to_jwk(secret, token::jose::jwk_content::with_private);
  json::object body{{"access_token", "aaa.bbb.ccc"},
                    {"token_type", "PoP"},
                    {"expires_in", 3600},
                    {"scope", R"([["demo/#",["pub"]]])"},
                    {"ace_profile", "mqtt_tls"},
                    {"cnf", json::object{{"jwk", jwk}}}};
  return json::serialize(body);
}

TEST(encode_token_request, form_with_req_cnf_sends_only_the_public_key) {
  token_request request{.client_id = "demo-device",
                        .client_secret = "s3cr:t&",
                        .audience = "acemq-broker",
                        .scope = R"([["demo/#",["pub","sub"]]])",
                        .own_key = key::generate_ed25519()};
  auto encoded = encode_token_request(request);
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->content_type, "application/x-www-form-urlencoded");
  EXPECT_NE(encoded->body.find("grant_type=client_credentials"), std::string::npos);
  EXPECT_NE(encoded->body.find("audience=acemq-broker"), std::string::npos);
  EXPECT_NE(encoded->body.find("req_cnf=%7B%22jwk%22"), std::string::npos);
  // No private member "d" anywhere (RFC 9201 3.1).
  EXPECT_EQ(encoded->body.find("%22d%22"), std::string::npos);
  // RFC 6749 2.3.1: id and secret are form-encoded before base64.
  EXPECT_EQ(encoded->authorization,
            "Basic " + base64_encode(as_bytes(std::string_view("demo-device:s3cr%3At%26"))));
}

TEST(encode_token_request, ace_json_body) {
  token_request request{.client_id = "c",
                        .audience = "a",
                        .scope = R"([["t",["sub"]]])",
                        .cnonce = "AQID",
                        .format = request_format::ace_json};
  auto encoded = encode_token_request(request);
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->content_type, "application/ace+json");
  const json::value body = json::parse(encoded->body);
  EXPECT_EQ(body.at("grant_type").as_string(), "client_credentials");
  EXPECT_TRUE(body.at("scope").is_array());
  EXPECT_EQ(body.at("cnonce").as_string(), "AQID");
  EXPECT_FALSE(body.as_object().contains("req_cnf"));
}

TEST(encode_token_request, refuses_bad_arguments) {
  EXPECT_EQ(encode_token_request({.client_id = "", .audience = "a"}).error().error,
            token_error::invalid_argument);
  EXPECT_EQ(
      encode_token_request({.client_id = "c", .audience = "a", .scope = "demo/#"}).error().error,
      token_error::invalid_argument);
  EXPECT_EQ(
      encode_token_request({.client_id = "c", .audience = "a", .own_key = key::generate_rsa()})
          .error()
          .error,
      token_error::invalid_argument);
}

TEST(parse_token_response, symmetric_cnf) {
  auto response = parse_token_response(200, symmetric_cnf_response());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->access_token, "aaa.bbb.ccc");
  EXPECT_EQ(response->expires_in, 3600);
  EXPECT_EQ(response->scope, R"([["demo/#",["pub"]]])");
  ASSERT_TRUE(response->cnf_key);
  EXPECT_EQ(response->cnf_key->type(), token::crypto::key_type::symmetric);
  EXPECT_FALSE(response->rs_cnf_key);
}

TEST(parse_token_response, oauth_error_and_http_error) {
  auto refused = parse_token_response(
      400, R"({"error":"invalid_scope","error_description":"nothing granted"})");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().error, token_error::oauth_error);
  EXPECT_EQ(refused.error().oauth_error, "invalid_scope");
  EXPECT_EQ(refused.error().http_status, 400U);
  EXPECT_EQ(describe(refused.error()), "oauth_error (400 invalid_scope: nothing granted)");
  EXPECT_EQ(parse_token_response(502, "<html>").error().error, token_error::http_error);
}

TEST(parse_token_response, malformed_bodies) {
  for (const char* body :
       {"", "[]", "{}", R"({"access_token":""})", R"({"access_token":1})",
        R"({"access_token":"t","expires_in":-1})", R"({"access_token":"t","expires_in":"1"})",
        R"({"access_token":"t","scope":7})", R"({"access_token":"t","ace_profile":5})"}) {
    EXPECT_EQ(parse_token_response(200, body).error().error, token_error::bad_response) << body;
  }
  EXPECT_EQ(
      parse_token_response(200, R"({"access_token":"t","ace_profile":"coap_dtls"})").error().error,
      token_error::wrong_profile);
  EXPECT_EQ(parse_token_response(200, R"({"access_token":"t","cnf":{"kid":"abc"}})").error().error,
            token_error::bad_key);
  // An asymmetric public key is not something the client can prove possession of.
  const json::object public_jwk = *token::jose::to_jwk(*key::generate_ed25519().public_key(),
                                                       token::jose::jwk_content::public_only);
  const std::string body = json::serialize(
      json::object{{"access_token", "t"}, {"cnf", json::object{{"jwk", public_jwk}}}});
  EXPECT_EQ(parse_token_response(200, body).error().error, token_error::bad_key);
}

TEST(parse_token_response, rs_cnf_must_be_public) {
  const key broker = key::generate_p256();
  const json::object public_jwk =
      *token::jose::to_jwk(*broker.public_key(), token::jose::jwk_content::public_only);
  auto ok = parse_token_response(
      200, json::serialize(
               json::object{{"access_token", "t"}, {"rs_cnf", json::object{{"jwk", public_jwk}}}}));
  ASSERT_TRUE(ok);
  ASSERT_TRUE(ok->rs_cnf_key);
  EXPECT_TRUE(ok->rs_cnf_key->same_material(broker));
  const json::object private_jwk =
      *token::jose::to_jwk(broker, token::jose::jwk_content::with_private);
  EXPECT_FALSE(parse_token_response(
      200, json::serialize(json::object{{"access_token", "t"},
                                        {"rs_cnf", json::object{{"jwk", private_jwk}}}})));
}

TEST(token_bytes_from_text, jwt_reference_and_cwt) {
  EXPECT_EQ(token_bytes_from_text("a.b.c"), to_bytes("a.b.c"));
  EXPECT_EQ(token_bytes_from_text("handle-123"), to_bytes("handle-123"));
  const byte_vector cwt{0xD8, 0x3D, 0xD2, 0x84, 0x43, 0xA1, 0x01, 0x27};
  EXPECT_EQ(token_bytes_from_text(base64url_encode(cwt)), cwt);
}

TEST(credentials, from_a_symmetric_cnf_response_and_back_through_json) {
  auto response = parse_token_response(200, symmetric_cnf_response());
  ASSERT_TRUE(response);
  auto creds = make_credentials(*response, std::nullopt, "acemq-broker", "https://as", 1000);
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->expires_at, 4600);
  EXPECT_EQ(creds->token, to_bytes("aaa.bbb.ccc"));
  auto again = credentials_from_json(to_json(*creds));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->token, creds->token);
  EXPECT_TRUE(again->pop_key.same_material(creds->pop_key));
  EXPECT_EQ(again->expires_at, 4600);
  EXPECT_EQ(again->audience, "acemq-broker");
  EXPECT_EQ(again->as_url, "https://as");
  EXPECT_EQ(seconds_left(*again, 4000), 600);
}

TEST(credentials, own_key_and_rs_cnf_round_trip) {
  const key own = key::generate_ed25519();
  token_response response{.access_token = "x.y.z",
                          .rs_cnf_key = *key::generate_p256().public_key()};
  auto creds = make_credentials(response, own, "aud", "https://as", 0);
  ASSERT_TRUE(creds);
  EXPECT_TRUE(creds->pop_key.same_material(own));
  auto again = credentials_from_json(to_json(*creds));
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->rs_cnf_key);
  EXPECT_TRUE(again->rs_cnf_key->same_material(*response.rs_cnf_key));
}

TEST(credentials, key_mismatches_are_refused) {
  auto response = parse_token_response(200, symmetric_cnf_response());
  ASSERT_TRUE(response);
  EXPECT_EQ(make_credentials(*response, key::generate_ed25519(), "a", "u", 0).error().error,
            token_error::bad_key);
  token_response no_cnf{.access_token = "t"};
  EXPECT_EQ(make_credentials(no_cnf, std::nullopt, "a", "u", 0).error().error,
            token_error::bad_key);
}

TEST(credentials, malformed_files) {
  for (const char* text : {"", "[]", "{}", R"({"token":"!!"})", R"({"token":"YQ"})",
                           R"({"token":"YQ","pop_key":{"kty":"OKP"}})"}) {
    EXPECT_FALSE(credentials_from_json(text)) << text;
  }
  EXPECT_FALSE(credentials_from_json(std::string(300 * 1024, ' ')));
}

}  // namespace
}  // namespace acemq::ace_client
