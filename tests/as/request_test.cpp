// Request body parsing for the three content formats, and every malformed-input refusal.
#include <gtest/gtest.h>

#include "acemq/as/request.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/common/form.hpp"
#include "acemq/token/cbor/codec.hpp"

namespace acemq::as {
namespace {

namespace cbor = token::cbor;

std::string cbor_body(const cbor::value& map) {
  auto bytes = cbor::encode(map);
  return std::string(bytes.begin(), bytes.end());
}

TEST(ContentFormat, MediaTypes) {
  EXPECT_EQ(content_format_from_media_type("application/x-www-form-urlencoded; charset=UTF-8"),
            content_format::form);
  EXPECT_EQ(content_format_from_media_type("Application/ACE+JSON"), content_format::json);
  EXPECT_EQ(content_format_from_media_type("application/json"), content_format::json);
  EXPECT_EQ(content_format_from_media_type("application/ace+cbor"), content_format::cbor);
  EXPECT_EQ(content_format_from_media_type("text/plain"), std::nullopt);
  EXPECT_EQ(content_format_from_media_type(""), std::nullopt);
}

TEST(ParseForm, DecodesPlusAndPercent) {
  auto pairs = parse_form("a=b+c&d=%2F%3D&e", 8);
  ASSERT_TRUE(pairs);
  ASSERT_EQ(pairs->size(), 3u);
  EXPECT_EQ((*pairs)[0].second, "b c");
  EXPECT_EQ((*pairs)[1].second, "/=");
  EXPECT_EQ((*pairs)[2].second, "");
  EXPECT_FALSE(parse_form("a=%zz", 8));
  EXPECT_FALSE(parse_form("a=%ff", 8));  // not UTF-8
  EXPECT_FALSE(parse_form("a=1&b=2&c=3", 2));
}

TEST(ParseForm, StopsAtTheEndOfANonTerminatedView) {
  // Found by fuzz_as_request (clang build): the body view must not be read past its end.
  const std::string buffer = "a=b&c=d";
  auto pairs = parse_form(std::string_view(buffer).substr(0, 3), 8);
  ASSERT_TRUE(pairs);
  ASSERT_EQ(pairs->size(), 1u);
  EXPECT_EQ((*pairs)[0].second, "b");
}

TEST(ParseBasic, UndoesFormEncoding) {
  // "my%20client:p%3Ass" -> id "my client", secret "p:ss" (RFC 6749 2.3.1).
  auto creds = parse_basic_authorization("Basic " + base64_encode(as_bytes("my%20client:p%3Ass")));
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->client_id, "my client");
  EXPECT_EQ(creds->client_secret, "p:ss");
  EXPECT_FALSE(parse_basic_authorization("Bearer abc"));
  EXPECT_FALSE(parse_basic_authorization("Basic !!!"));
  EXPECT_FALSE(parse_basic_authorization("Basic " + base64_encode(as_bytes("nocolon"))));
  EXPECT_FALSE(parse_basic_authorization("Basic " + base64_encode(as_bytes(":secret"))));
}

// The clients' encoder (acemq/common/form.hpp) and this decoder agree on every byte a UTF-8 name
// or value may hold, and on Basic credentials (RFC 6749 2.3.1).
TEST(ParseForm, ReadsBackWhatTheSharedEncoderWrites) {
  const std::string value = "a b+c&d=e%f/g#h?i~j*k'l\"m{n}\xC3\xA9\xF0\x9F\x98\x80\x01\x7F";
  auto pairs = parse_form("x=" + form_encode(value) + "&" + form_encode("n&m") + "=", 8);
  ASSERT_TRUE(pairs);
  ASSERT_EQ(pairs->size(), 2U);
  EXPECT_EQ((*pairs)[0].second, value);
  EXPECT_EQ((*pairs)[1].first, "n&m");
  auto creds = parse_basic_authorization(basic_authorization("id:with space", value));
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->client_id, "id:with space");
  EXPECT_EQ(creds->client_secret, value);
}

// The broker's introspection client and the CLI send basic_authorization(): a secret holding
// "%", "+", ":" and a space reaches the AS unchanged. Sent raw, the AS reads another secret.
TEST(ParseBasic, ReadsBackTheSharedBasicCredentials) {
  const std::string secret = "p%41ss+w:rd 100%";
  auto creds = parse_basic_authorization(basic_authorization("form-secret-broker", secret));
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->client_id, "form-secret-broker");
  EXPECT_EQ(creds->client_secret, secret);
  auto raw = parse_basic_authorization(
      "Basic " + base64_encode(as_bytes(std::string("form-secret-broker:") + secret)));
  EXPECT_TRUE(!raw || raw->client_secret != secret);
}

TEST(TokenRequest, FormClientCredentials) {
  auto request = parse_token_request(
      content_format::form,
      "grant_type=client_credentials&client_id=c1&client_secret=s&audience=broker&"
      "scope=%5B%5B%22a%2F%2B%22%2C%5B%22pub%22%5D%5D%5D&cnonce=AQID&ace_profile=");
  ASSERT_TRUE(request) << request.error().description;
  EXPECT_EQ(request->grant, grant_type::client_credentials);
  EXPECT_EQ(request->client_id, "c1");
  EXPECT_EQ(request->client_secret, "s");
  EXPECT_EQ(request->audience, "broker");
  ASSERT_TRUE(request->scope);
  ASSERT_EQ(request->scope->size(), 1u);
  EXPECT_EQ((*request->scope)[0].filter, "a/+");
  EXPECT_TRUE((*request->scope)[0].publish);
  EXPECT_EQ(request->cnonce, (byte_vector{1, 2, 3}));
  EXPECT_TRUE(request->ace_profile_requested);
}

TEST(TokenRequest, JsonWithReqCnfAndArrayScope) {
  auto request = parse_token_request(content_format::json,
                                     R"({"grant_type":"client_credentials","audience":"broker",
          "scope":[["x/#",["sub"]]],
          "req_cnf":{"jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}})");
  ASSERT_TRUE(request) << request.error().description;
  ASSERT_TRUE(request->req_cnf);
  EXPECT_NE(request->req_cnf->jwk_json.find("Ed25519"), std::string::npos);
  ASSERT_TRUE(request->scope);
  EXPECT_TRUE((*request->scope)[0].subscribe);
}

TEST(TokenRequest, CborAbbreviations) {
  auto map = cbor::value::map();
  map.insert(33, cbor::value::unsigned_integer(2));  // grant_type client_credentials
  map.insert(5, cbor::value::text("broker"));
  map.insert(24, cbor::value::text("c1"));
  map.insert(25, cbor::value::bytes(as_bytes("secret")));
  auto aif = cbor::value::array();
  auto entry = cbor::value::array();
  entry.push_back(cbor::value::text("a/b"));
  auto perms = cbor::value::array();
  perms.push_back(cbor::value::text("pub"));
  entry.push_back(perms);
  aif.push_back(entry);
  map.insert(9, aif);
  auto req_cnf = cbor::value::map();
  req_cnf.insert(3, cbor::value::bytes(as_bytes("kid-1")));
  map.insert(4, req_cnf);
  map.insert(38, cbor::value::null());
  map.insert(39, cbor::value::bytes(byte_vector{9, 9}));
  auto request = parse_token_request(content_format::cbor, cbor_body(map));
  ASSERT_TRUE(request) << request.error().description;
  EXPECT_EQ(request->grant, grant_type::client_credentials);
  EXPECT_EQ(request->client_secret, "secret");
  ASSERT_TRUE(request->req_cnf && request->req_cnf->kid);
  EXPECT_EQ(as_string_view(*request->req_cnf->kid), "kid-1");
  EXPECT_TRUE(request->ace_profile_requested);
  EXPECT_EQ(request->cnonce, (byte_vector{9, 9}));
  ASSERT_TRUE(request->scope);
  EXPECT_EQ((*request->scope)[0].filter, "a/b");
}

void expect_error(result<token_request, request_error> outcome, oauth_error code) {
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, code) << outcome.error().description;
}

TEST(TokenRequest, Refusals) {
  expect_error(parse_token_request(content_format::form, "audience=x"),
               oauth_error::invalid_request);  // no grant_type
  expect_error(parse_token_request(content_format::form,
                                   "grant_type=client_credentials&grant_type=refresh_token"),
               oauth_error::invalid_request);  // repeated
  expect_error(parse_token_request(content_format::json, "{not json"),
               oauth_error::invalid_request);
  expect_error(parse_token_request(content_format::json, "[1,2]"), oauth_error::invalid_request);
  expect_error(parse_token_request(content_format::json, R"({"grant_type":5})"),
               oauth_error::invalid_request);
  expect_error(parse_token_request(content_format::cbor, "\xff\x00"), oauth_error::invalid_request);
  expect_error(
      parse_token_request(content_format::form, "grant_type=client_credentials&scope=nope"),
      oauth_error::invalid_scope);
  expect_error(
      parse_token_request(content_format::form, "grant_type=client_credentials&scope=%5B%5D"),
      oauth_error::invalid_scope);
  expect_error(
      parse_token_request(content_format::form, "grant_type=client_credentials&cnonce=***"),
      oauth_error::invalid_request);
  expect_error(parse_token_request(content_format::form,
                                   "grant_type=client_credentials&ace_profile=coap_dtls"),
               oauth_error::invalid_request);
  expect_error(
      parse_token_request(content_format::form,
                          "grant_type=client_credentials&req_cnf=%7B%22jwe%22%3A%22x%22%7D"),
      oauth_error::unsupported_pop_key);
  expect_error(
      parse_token_request(content_format::form, "grant_type=client_credentials&req_cnf=%7B%7D"),
      oauth_error::invalid_request);
  std::string deep(100, '[');
  expect_error(parse_token_request(content_format::json, deep), oauth_error::invalid_request);
  request_limits small;
  small.max_body = 10;
  expect_error(parse_token_request(content_format::form, "grant_type=client_credentials", small),
               oauth_error::invalid_request);
}

TEST(TokenRequest, UnknownGrantTypeIsKeptForTheHandler) {
  auto request = parse_token_request(content_format::form, "grant_type=urn%3Aexample");
  ASSERT_TRUE(request);
  EXPECT_FALSE(request->grant);
  EXPECT_EQ(request->grant_type_text, "urn:example");
}

TEST(TokenReferenceRequest, AllFormats) {
  auto form =
      parse_token_reference_request(content_format::form, "token=abc&token_type_hint=access_token");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->token, "abc");
  EXPECT_EQ(form->token_type_hint, "access_token");
  auto json = parse_token_reference_request(content_format::json, R"({"token":"abc"})");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->token, "abc");
  auto map = cbor::value::map();
  map.insert(11, cbor::value::bytes(byte_vector{1, 2, 3}));
  auto cbor_request = parse_token_reference_request(content_format::cbor, cbor_body(map));
  ASSERT_TRUE(cbor_request);
  EXPECT_EQ(cbor_request->token_bytes, (byte_vector{1, 2, 3}));
  EXPECT_FALSE(parse_token_reference_request(content_format::form, "token_type_hint=x"));
  EXPECT_FALSE(parse_token_reference_request(content_format::json, R"({"token":7})"));
}

}  // namespace
}  // namespace acemq::as
