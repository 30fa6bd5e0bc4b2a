// The AuthData the client sends must be what the broker's parsers accept and what verify_pop
// verifies (RFC 9431 2.2.4), for each PoP key type.
#include <gtest/gtest.h>

#include <algorithm>

#include "acemq/ace_client/ace_authentication.hpp"
#include "acemq/ace_client/authentication_data.hpp"
#include "acemq/common/random.hpp"
#include "acemq/token/pop/auth_data.hpp"
#include "acemq/token/pop/proof.hpp"

namespace acemq::ace_client {
namespace {

namespace pop = token::pop;
using token::crypto::key;

pop_credentials credentials_with(key pop_key) {
  return pop_credentials{.token = to_bytes("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJkZXZpY2UifQ.c2ln"),
                         .pop_key = std::move(pop_key),
                         .expires_at = 1'700'003'600,
                         .scope = R"([["demo/#",["pub","sub"]]])",
                         .audience = "acemq-broker",
                         .as_url = "https://127.0.0.1:8443",
                         .rs_cnf_key = std::nullopt};
}

class proof_by_key : public ::testing::TestWithParam<int> {
 protected:
  key make_key() {
    deterministic_random random(7);
    switch (GetParam()) {
      case 0:
        return key::generate_symmetric(32, random);
      case 1:
        return key::generate_ed25519();
      default:
        return key::generate_p256();
    }
  }
};

TEST_P(proof_by_key, exporter_connect_data_parses_and_verifies) {
  const pop_credentials creds = credentials_with(make_key());
  deterministic_random random(1);
  const byte_vector exporter = random.bytes(pop::exporter_length);
  auto data = exporter_connect_data(creds, exporter);
  ASSERT_TRUE(data);
  auto parsed = pop::parse_connect_exporter(*data);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(byte_vector(parsed->token.begin(), parsed->token.end()), creds.token);
  EXPECT_TRUE(pop::verify_pop(creds.pop_key, exporter, parsed->pop));
  // A PoP for another TLS session (another exporter value) must not verify.
  const byte_vector other = random.bytes(pop::exporter_length);
  EXPECT_FALSE(pop::verify_pop(creds.pop_key, other, parsed->pop));
}

TEST_P(proof_by_key, challenge_answer_verifies_over_both_nonces) {
  const pop_credentials creds = credentials_with(make_key());
  deterministic_random random(2);
  const pop::nonce rs_nonce{1, 2, 3, 4, 5, 6, 7, 8};
  auto answer = answer_challenge(creds, pop::build_broker_challenge(rs_nonce), random);
  ASSERT_TRUE(answer);
  auto parsed = pop::parse_client_response(*answer);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->client_nonce.size(), pop::nonce_size);
  EXPECT_TRUE(pop::verify_pop(creds.pop_key, pop::challenge_bytes(rs_nonce, parsed->client_nonce),
                              parsed->pop));
  // Another broker nonce: the same answer is refused (no replay across challenges).
  const pop::nonce other_nonce{8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_FALSE(pop::verify_pop(
      creds.pop_key, pop::challenge_bytes(other_nonce, parsed->client_nonce), parsed->pop));
}

TEST_P(proof_by_key, mqtt311_username_and_password) {
  const pop_credentials creds = credentials_with(make_key());
  deterministic_random random(3);
  const byte_vector exporter = random.bytes(pop::exporter_length);
  auto login = mqtt311_connect_credentials(creds, exporter);
  ASSERT_TRUE(login);
  auto token = pop::parse_username(login->username);
  ASSERT_TRUE(token);
  EXPECT_EQ(*token, creds.token);
  EXPECT_TRUE(pop::verify_pop(creds.pop_key, exporter, login->password));
}

INSTANTIATE_TEST_SUITE_P(keys, proof_by_key, ::testing::Values(0, 1, 2));

TEST(proof, exporter_of_wrong_length_is_refused) {
  const pop_credentials creds = credentials_with(key::generate_ed25519());
  EXPECT_EQ(exporter_connect_data(creds, byte_vector(31, 0)).error(), token::failure::bad_encoding);
  EXPECT_EQ(exporter_connect_data(creds, byte_vector(33, 0)).error(), token::failure::bad_encoding);
  EXPECT_FALSE(mqtt311_connect_credentials(creds, byte_vector{}));
}

TEST(proof, public_only_key_cannot_prove) {
  auto public_key = key::generate_ed25519().public_key();
  ASSERT_TRUE(public_key);
  const pop_credentials creds = credentials_with(*public_key);
  EXPECT_FALSE(exporter_connect_data(creds, byte_vector(32, 0)));
}

TEST(proof, challenge_connect_and_reauthentication_carry_only_the_token) {
  const pop_credentials creds = credentials_with(key::generate_ed25519());
  auto connect = challenge_connect_data(creds);
  ASSERT_TRUE(connect);
  auto parsed = pop::parse_connect_challenge(*connect);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->token);
  EXPECT_EQ(byte_vector(parsed->token->begin(), parsed->token->end()), creds.token);
  auto reauth = reauthentication_data(creds);
  ASSERT_TRUE(reauth);
  auto token = pop::parse_token_only(*reauth);
  ASSERT_TRUE(token);
  EXPECT_EQ(byte_vector(token->begin(), token->end()), creds.token);
}

TEST(proof, every_malformed_broker_nonce_is_refused) {
  const pop_credentials creds = credentials_with(key::generate_ed25519());
  deterministic_random random(4);
  for (std::size_t size = 0; size <= 16; ++size) {
    if (size == pop::nonce_size) continue;
    EXPECT_EQ(answer_challenge(creds, byte_vector(size, 0xAB), random).error(),
              token::failure::bad_encoding)
        << size;
  }
}

TEST(proof, client_nonces_are_fresh) {
  const pop_credentials creds = credentials_with(key::generate_ed25519());
  const pop::nonce rs_nonce{9, 9, 9, 9, 9, 9, 9, 9};
  auto first =
      answer_challenge(creds, pop::build_broker_challenge(rs_nonce), system_random::instance());
  auto second =
      answer_challenge(creds, pop::build_broker_challenge(rs_nonce), system_random::instance());
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  ASSERT_TRUE(pop::parse_client_response(*first));
  EXPECT_FALSE(std::equal(first->begin(), first->begin() + 8, second->begin()));
}

TEST(proof, draft06_answer_is_length_prefixed) {
  const pop_credentials creds = credentials_with(key::generate_ed25519());
  deterministic_random random(5);
  const pop::nonce rs_nonce{1, 1, 2, 3, 5, 8, 13, 21};
  auto answer = answer_challenge(creds, pop::build_broker_challenge(rs_nonce), random, true);
  ASSERT_TRUE(answer);
  auto parsed = pop::parse_client_response(*answer, true);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(pop::verify_pop(creds.pop_key, pop::challenge_bytes(rs_nonce, parsed->client_nonce),
                              parsed->pop));
  EXPECT_FALSE(pop::parse_client_response(*answer, false));
}

// --- ace_authentication ---

TEST(ace_authentication, challenge_needs_mqtt5) {
  auto made = ace_authentication::create(
      credentials_with(key::generate_ed25519()),
      connect_settings{.method = pop_method::challenge, .version = mqtt::protocol_version::v311},
      system_random::instance());
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error(), settings_error::challenge_needs_v5);
}

TEST(ace_authentication, oversized_token_is_refused) {
  pop_credentials creds = credentials_with(key::generate_ed25519());
  creds.token.assign(0x10000, 'a');
  EXPECT_EQ(ace_authentication::create(creds, {}, system_random::instance()).error(),
            settings_error::token_too_large);
}

TEST(ace_authentication, challenge_connect_packet_and_exchange) {
  const pop_credentials creds = credentials_with(key::generate_p256());
  deterministic_random random(6);
  auto made = ace_authentication::create(
      creds, connect_settings{.method = pop_method::challenge, .client_id = "dev-1"}, random);
  ASSERT_TRUE(made);
  const mqtt::connect packet = made->connect_packet();
  EXPECT_EQ(packet.client_id, "dev-1");
  EXPECT_EQ(packet.properties.authentication_method, std::string("ace"));
  ASSERT_TRUE(packet.properties.authentication_data);
  EXPECT_TRUE(pop::parse_connect_challenge(*packet.properties.authentication_data));

  const pop::nonce rs_nonce{4, 4, 4, 4, 4, 4, 4, 4};
  mqtt::auth challenge;
  challenge.reason_code = mqtt::reason_code::continue_authentication;
  challenge.properties.authentication_method = "ace";
  challenge.properties.authentication_data = pop::build_broker_challenge(rs_nonce);
  auto answer = made->authentication_exchange()(challenge);
  ASSERT_TRUE(answer);
  auto parsed = pop::parse_client_response(*answer);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(pop::verify_pop(creds.pop_key, pop::challenge_bytes(rs_nonce, parsed->client_nonce),
                              parsed->pop));

  challenge.properties.authentication_method = "other";
  EXPECT_EQ(made->authentication_exchange()(challenge).error(),
            mqtt::reason_code::bad_authentication_method);
  challenge.properties.authentication_method = "ace";
  challenge.properties.authentication_data = byte_vector(3, 0);
  EXPECT_EQ(made->authentication_exchange()(challenge).error(), mqtt::reason_code::not_authorized);
}

TEST(ace_authentication, exporter_connect_packet_waits_for_the_hook) {
  auto made = ace_authentication::create(credentials_with(key::generate_ed25519()), {},
                                         system_random::instance());
  ASSERT_TRUE(made);
  const mqtt::connect packet = made->connect_packet();
  EXPECT_EQ(packet.properties.authentication_method, std::string("ace"));
  EXPECT_FALSE(packet.properties.authentication_data);
  auto v311 = ace_authentication::create(credentials_with(key::generate_ed25519()),
                                         connect_settings{.version = mqtt::protocol_version::v311},
                                         system_random::instance());
  ASSERT_TRUE(v311);
  EXPECT_FALSE(v311->connect_packet().properties.authentication_method);
}

TEST(ace_authentication, held_token_connect_has_no_data_and_answers_the_challenge) {
  // RFC 9431 2.2.4.2.2: the broker holds the token (authz-info), so CONNECT names only the method.
  const pop_credentials creds = credentials_with(key::generate_ed25519());
  deterministic_random random(9);
  auto made = ace_authentication::create(
      creds, connect_settings{.method = pop_method::challenge, .token_in_connect = false}, random);
  ASSERT_TRUE(made);
  const mqtt::connect packet = made->connect_packet();
  EXPECT_EQ(packet.properties.authentication_method, std::string("ace"));
  EXPECT_FALSE(packet.properties.authentication_data);

  const pop::nonce rs_nonce{7, 7, 7, 7, 7, 7, 7, 7};
  mqtt::auth challenge;
  challenge.reason_code = mqtt::reason_code::continue_authentication;
  challenge.properties.authentication_method = "ace";
  challenge.properties.authentication_data = pop::build_broker_challenge(rs_nonce);
  auto answer = made->authentication_exchange()(challenge);
  ASSERT_TRUE(answer);
  auto parsed = pop::parse_client_response(*answer);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(pop::verify_pop(creds.pop_key, pop::challenge_bytes(rs_nonce, parsed->client_nonce),
                              parsed->pop));
}

TEST(ace_authentication, held_token_needs_the_challenge_in_mqtt5) {
  for (const connect_settings& settings :
       {connect_settings{.method = pop_method::exporter, .token_in_connect = false},
        connect_settings{.method = pop_method::exporter,
        .version = mqtt::protocol_version::v311,
        .token_in_connect = false}}) {
    auto made = ace_authentication::create(credentials_with(key::generate_ed25519()), settings,
                                           system_random::instance());
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error(), settings_error::held_token_needs_challenge);
    EXPECT_FALSE(describe(made.error()).empty());
  }
}

TEST(reauthentication_delay, before_expiry_with_a_floor) {
  pop_credentials creds = credentials_with(key::generate_ed25519());
  creds.expires_at = 1000;
  using std::chrono::seconds;
  EXPECT_EQ(reauthentication_delay(creds, 900, seconds{30}), seconds{70});
  EXPECT_EQ(reauthentication_delay(creds, 990, seconds{30}), seconds{1});
  EXPECT_EQ(reauthentication_delay(creds, 2000, seconds{30}, seconds{5}), seconds{5});
  creds.expires_at = 0;
  EXPECT_FALSE(reauthentication_delay(creds, 900, seconds{30}));
}

}  // namespace
}  // namespace acemq::ace_client
