#include "acemq/token/pop/auth_data.hpp"

#include <gtest/gtest.h>

#include <string>

#include "acemq/common/base64.hpp"

namespace acemq::token::pop {
namespace {

byte_vector filled(std::size_t size, std::uint8_t value) {
  return byte_vector(size, value);
}

template <typename T>
void expect_bad_encoding(const result<T, failure>& parsed, const std::string& what) {
  ASSERT_FALSE(parsed.has_value()) << what;
  EXPECT_EQ(parsed.error(), failure::bad_encoding) << what;
}

TEST(AuthDataConstants, ExporterParameters) {
  // RFC 9431 2.2.4.1.
  EXPECT_EQ(exporter_label, "EXPORTER-ACE-MQTT-Sign-Challenge");
  EXPECT_TRUE(exporter_context.empty());
  EXPECT_EQ(exporter_length, 32u);
  EXPECT_EQ(nonce_size, 8u);
}

TEST(ConnectExporter, RoundTripBothPopSizes) {
  const byte_vector token = filled(300, 0xAB);
  for (std::size_t pop_size : {hmac_pop_size, signature_pop_size}) {
    const byte_vector pop = filled(pop_size, 0x5C);
    auto built = build_connect_exporter(token, pop);
    ASSERT_TRUE(built.has_value());
    ASSERT_EQ(built->size(), 2 + token.size() + pop_size);
    EXPECT_EQ((*built)[0], 0x01);  // 300 = 0x012C, big-endian
    EXPECT_EQ((*built)[1], 0x2C);
    auto parsed = parse_connect_exporter(*built);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(byte_vector(parsed->token.begin(), parsed->token.end()), token);
    EXPECT_EQ(byte_vector(parsed->pop.begin(), parsed->pop.end()), pop);
  }
}

TEST(ConnectExporter, EveryTruncationAndExtensionRejected) {
  const byte_vector token = filled(40, 0x11);
  const byte_vector pop = filled(hmac_pop_size, 0x22);
  const byte_vector good = *build_connect_exporter(token, pop);
  for (std::size_t length = 0; length < good.size(); ++length) {
    expect_bad_encoding(parse_connect_exporter(byte_view(good).first(length)),
                        "truncated to " + std::to_string(length));
  }
  byte_vector longer = good;
  longer.push_back(0);
  expect_bad_encoding(parse_connect_exporter(longer), "one byte extra");
  // A length that claims more than is present.
  byte_vector overlong = good;
  overlong[0] = 0xFF;
  expect_bad_encoding(parse_connect_exporter(overlong), "length beyond the data");
  // A zero-length token.
  byte_vector empty_token = {0x00, 0x00};
  empty_token.insert(empty_token.end(), pop.begin(), pop.end());
  expect_bad_encoding(parse_connect_exporter(empty_token), "empty token");
}

TEST(ConnectExporter, BuildRefusesBadParts) {
  expect_bad_encoding(build_connect_exporter({}, filled(32, 1)), "empty token");
  expect_bad_encoding(build_connect_exporter(filled(65536, 1), filled(32, 1)), "token > u16");
  expect_bad_encoding(build_connect_exporter(filled(10, 1), filled(31, 1)), "pop 31");
  expect_bad_encoding(build_connect_exporter(filled(10, 1), filled(33, 1)), "pop 33");
  EXPECT_TRUE(build_connect_exporter(filled(65535, 1), filled(64, 1)).has_value());
}

TEST(ConnectChallenge, TokenOrNothing) {
  auto none = parse_connect_challenge({});
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->token.has_value());

  const byte_vector token = filled(5, 0x42);
  const byte_vector built = *build_connect_challenge(token);
  EXPECT_EQ(built, (byte_vector{0x00, 0x05, 0x42, 0x42, 0x42, 0x42, 0x42}));
  auto parsed = parse_connect_challenge(built);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_TRUE(parsed->token.has_value());
  EXPECT_EQ(parsed->token->size(), 5u);

  for (std::size_t length = 1; length < built.size(); ++length) {
    expect_bad_encoding(parse_connect_challenge(byte_view(built).first(length)),
                        "truncated to " + std::to_string(length));
  }
  byte_vector trailing = built;
  trailing.push_back(0x00);
  expect_bad_encoding(parse_connect_challenge(trailing), "byte after the token");
  expect_bad_encoding(parse_connect_challenge(byte_vector{0x00, 0x00}), "zero-length token");
  expect_bad_encoding(build_connect_challenge({}), "empty token");
  expect_bad_encoding(build_connect_challenge(filled(65536, 1)), "token > u16");
  expect_bad_encoding(parse_token_only({}), "reauthentication needs a token");
}

TEST(BrokerChallenge, ExactlyEightBytes) {
  const nonce rs_nonce = {1, 2, 3, 4, 5, 6, 7, 8};
  const byte_vector built = build_broker_challenge(rs_nonce);
  auto parsed = parse_broker_challenge(built);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, rs_nonce);
  for (std::size_t size : {0, 1, 7, 9, 16}) {
    expect_bad_encoding(parse_broker_challenge(filled(size, 9)), "size " + std::to_string(size));
  }
}

TEST(ClientResponse, Rfc9431Layout) {
  const byte_vector client_nonce = filled(8, 0x0C);
  for (std::size_t pop_size : {hmac_pop_size, signature_pop_size}) {
    const byte_vector pop = filled(pop_size, 0x0D);
    const byte_vector built = *build_client_response(client_nonce, pop);
    ASSERT_EQ(built.size(), 8 + pop_size);
    auto parsed = parse_client_response(built);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(byte_vector(parsed->client_nonce.begin(), parsed->client_nonce.end()), client_nonce);
    EXPECT_EQ(byte_vector(parsed->pop.begin(), parsed->pop.end()), pop);
    for (std::size_t length = 0; length < built.size(); ++length) {
      // A 64-byte PoP cut to 32 bytes is a well-formed HMAC layout; the PoP check refuses it.
      if (length == 8 + hmac_pop_size) continue;
      expect_bad_encoding(parse_client_response(byte_view(built).first(length)),
                          "truncated to " + std::to_string(length));
    }
    byte_vector longer = built;
    longer.push_back(0);
    expect_bad_encoding(parse_client_response(longer), "one byte extra");
  }
  expect_bad_encoding(build_client_response(filled(7, 1), filled(32, 1)), "nonce 7");
  expect_bad_encoding(build_client_response(filled(9, 1), filled(32, 1)), "nonce 9");
  expect_bad_encoding(build_client_response(filled(8, 1), filled(40, 1)), "pop 40");
}

TEST(ClientResponse, Draft06LengthPrefixedNonce) {
  const byte_vector client_nonce = filled(16, 0x0C);
  const byte_vector pop = filled(hmac_pop_size, 0x0D);
  const byte_vector built = *build_client_response(client_nonce, pop, true);
  ASSERT_EQ(built.size(), 2 + 16 + 32u);
  EXPECT_EQ(built[0], 0x00);
  EXPECT_EQ(built[1], 16);
  auto parsed = parse_client_response(built, true);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->client_nonce.size(), 16u);
  EXPECT_EQ(parsed->pop.size(), 32u);
  // The RFC 9431 parser does not accept the draft-06 layout, and vice versa.
  expect_bad_encoding(parse_client_response(built), "draft-06 bytes without the flag");
  const byte_vector rfc = *build_client_response(filled(8, 1), pop);
  expect_bad_encoding(parse_client_response(rfc, true), "RFC 9431 bytes with the flag");
  for (std::size_t length = 0; length < built.size(); ++length) {
    expect_bad_encoding(parse_client_response(byte_view(built).first(length), true),
                        "truncated to " + std::to_string(length));
  }
  byte_vector huge_nonce = {0x00, 65};
  huge_nonce.resize(2 + 65 + 32, 0x01);
  expect_bad_encoding(parse_client_response(huge_nonce, true), "nonce above the bound");
  expect_bad_encoding(build_client_response({}, pop, true), "empty nonce");
  expect_bad_encoding(build_client_response(filled(65, 1), pop, true), "nonce above the bound");
}

TEST(Challenge, Concatenation) {
  const byte_vector rs = {1, 2, 3, 4, 5, 6, 7, 8};
  const byte_vector client = {9, 10, 11, 12, 13, 14, 15, 16};
  EXPECT_EQ(challenge_bytes(rs, client),
            (byte_vector{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}));
}

TEST(Username, RoundTripAndRejections) {
  const byte_vector token = {0xFB, 0xFF, 0x00, 0x10};
  const std::string username = build_username(token);
  EXPECT_EQ(username, "ace" + base64url_encode(token));
  EXPECT_EQ(username, "ace-_8AEA");
  auto parsed = parse_username(username);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, token);
  for (const char* bad : {"", "ac", "ace", "ACE-_8AEA", "xyz-_8AEA", "ace+/8AEA",
                          "ace-_8AEA=", "ace-_8A EA", "ace-_8AEB"}) {
    expect_bad_encoding(parse_username(bad), bad);
  }
}

}  // namespace
}  // namespace acemq::token::pop
