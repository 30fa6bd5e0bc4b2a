// ace_authenticator: every RFC 9431 flow and its negative cases, in virtual time.
#include "acemq/ace/authenticator.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"

namespace acemq::ace::testing {
namespace {

using kind = broker::auth_step::kind;
using mqtt::reason_code;

broker::auth_step run_start(world& w, const broker::authentication_request& r) {
  captured c;
  w.provider->start(r, c.sink());
  EXPECT_TRUE(c.step.has_value());
  return c.step ? *c.step : broker::auth_step::fail(reason_code::unspecified_error);
}

broker::auth_step run_continue(world& w, const broker::authentication_request& r) {
  captured c;
  w.provider->continue_auth(r, c.sink());
  EXPECT_TRUE(c.step.has_value());
  return c.step ? *c.step : broker::auth_step::fail(reason_code::unspecified_error);
}

broker::auth_step run_reauth(world& w, const broker::authentication_request& r) {
  captured c;
  w.provider->reauthenticate(r, c.sink());
  EXPECT_TRUE(c.step.has_value());
  return c.step ? *c.step : broker::auth_step::fail(reason_code::unspecified_error);
}

void expect_refused(const broker::auth_step& step,
                    reason_code reason = reason_code::not_authorized) {
  EXPECT_EQ(step.what, kind::failure);
  EXPECT_EQ(step.reason, reason);
  EXPECT_EQ(step.who, nullptr);
}

class ExporterFlow : public ::testing::TestWithParam<pop_kind> {};

// RFC 9431 2.2.4.2.1, with each PoP key kind (HS256 and Ed25519 mandatory, ES256 too).
TEST_P(ExporterFlow, TokenAndPopOverExporterConnects) {
  world w;
  fake_tls tls(0xA1);
  const std::string token = w.token(GetParam());
  const auto step =
      run_start(w, connect_request(&tls, exporter_data(token, w.pop_key(GetParam()), tls)));
  ASSERT_EQ(step.what, kind::success) << static_cast<int>(step.reason);
  const broker::principal& who = principal_of(step);
  EXPECT_EQ(who.may_publish("sensors/kitchen/temp"), reason_code::success);
  EXPECT_EQ(who.may_publish("cmd/reboot"), reason_code::not_authorized);
  EXPECT_EQ(who.may_subscribe("cmd/+/x"), reason_code::success);
  EXPECT_EQ(who.may_subscribe("sensors/#"), reason_code::not_authorized);
  EXPECT_TRUE(who.may_receive("cmd/a"));
  EXPECT_FALSE(who.may_receive("sensors/a/temp"));
  EXPECT_EQ(who.expires_at_unix(), w.time.unix_seconds() + 3600);
  EXPECT_EQ(who.name().find(token), std::string_view::npos) << "the token must not be logged";
}

// RFC 9431 2.2.4.2.2 with each PoP key kind.
TEST_P(ExporterFlow, ChallengeResponseConnects) {
  world w;
  fake_tls tls(0xA2);
  const std::string token = w.token(GetParam());
  const auto challenge =
      run_start(w, connect_request(&tls, *pop::build_connect_challenge(as_bytes(token))));
  ASSERT_EQ(challenge.what, kind::continue_with);
  ASSERT_TRUE(challenge.data.has_value());
  ASSERT_EQ(challenge.data->size(), 8u) << "RFC 9431 2.2.4.2.2: an 8-byte rs_nonce";
  const auto done = run_continue(
      w, connect_request(&tls, challenge_answer(*challenge.data, w.pop_key(GetParam()))));
  ASSERT_EQ(done.what, kind::success);
  EXPECT_EQ(w.provider->pending_challenges(), 0u);
}

INSTANTIATE_TEST_SUITE_P(PopKeys, ExporterFlow,
                         ::testing::Values(pop_kind::ed25519, pop_kind::p256, pop_kind::hs256));

TEST(AceAuthenticator, OtherMethodIsPassedOn) {
  world w;
  fake_tls tls(1);
  auto r = connect_request(&tls, std::nullopt);
  r.method = "SCRAM-SHA-256";
  EXPECT_EQ(run_start(w, r).what, kind::next_provider);
}

TEST(AceAuthenticator, ChainAnswersBadAuthenticationMethodWhenNobodyKnowsIt) {
  world w;
  broker::auth_chain chain({w.provider});
  fake_tls tls(1);
  auto r = connect_request(&tls, std::nullopt);
  r.method = "kerberos";
  std::optional<broker::auth_step> result;
  chain.start(r, [&](broker::auth_step s, std::size_t) { result = std::move(s); });
  ASSERT_TRUE(result);
  expect_refused(*result, reason_code::bad_authentication_method);
}

TEST(AceAuthenticator, WrongPopIsRefused) {
  world w;
  fake_tls tls(2);
  const std::string token = w.token();
  const auto other = crypto::key::generate_ed25519();
  expect_refused(run_start(w, connect_request(&tls, exporter_data(token, other, tls))));
}

TEST(AceAuthenticator, PopForAnotherTlsSessionIsRefused) {
  // A CONNECT replayed on another TLS session carries the PoP of the first session's exporter.
  world w;
  fake_tls first(3);
  fake_tls second(4);
  const std::string token = w.token();
  const byte_vector data = exporter_data(token, w.pop_ed25519, first);
  ASSERT_EQ(run_start(w, connect_request(&first, data)).what, kind::success);
  expect_refused(run_start(w, connect_request(&second, data)));
}

TEST(AceAuthenticator, ExporterFlowNeedsTls) {
  world w;
  fake_tls tls(5);
  const std::string token = w.token();
  expect_refused(run_start(w, connect_request(nullptr, exporter_data(token, w.pop_ed25519, tls))));
}

TEST(AceAuthenticator, ReplayedChallengeResponseIsRefused) {
  world w;
  fake_tls tls(6);
  const std::string token = w.token();
  const auto r = connect_request(&tls, *pop::build_connect_challenge(as_bytes(token)));
  const auto challenge = run_start(w, r);
  ASSERT_EQ(challenge.what, kind::continue_with);
  const byte_vector answer = challenge_answer(*challenge.data, w.pop_ed25519);
  ASSERT_EQ(run_continue(w, connect_request(&tls, answer)).what, kind::success);
  // The same answer again: the challenge was single use.
  expect_refused(run_continue(w, connect_request(&tls, answer)));
  // And against a fresh challenge (new rs_nonce) it does not verify.
  const auto again = run_start(w, r);
  ASSERT_EQ(again.what, kind::continue_with);
  EXPECT_NE(*again.data, *challenge.data);
  expect_refused(run_continue(w, connect_request(&tls, answer)));
}

TEST(AceAuthenticator, ChallengeAnswerWithWrongKeyIsRefused) {
  world w;
  fake_tls tls(7);
  const auto challenge =
      run_start(w, connect_request(&tls, *pop::build_connect_challenge(as_bytes(w.token()))));
  ASSERT_EQ(challenge.what, kind::continue_with);
  expect_refused(run_continue(
      w,
      connect_request(&tls, challenge_answer(*challenge.data, crypto::key::generate_ed25519()))));
}

TEST(AceAuthenticator, ChallengeTimesOut) {
  world w;
  fake_tls tls(8);
  const auto challenge =
      run_start(w, connect_request(&tls, *pop::build_connect_challenge(as_bytes(w.token()))));
  ASSERT_EQ(challenge.what, kind::continue_with);
  w.time.advance(w.settings.challenge_timeout + std::chrono::seconds(1));
  expect_refused(
      run_continue(w, connect_request(&tls, challenge_answer(*challenge.data, w.pop_ed25519))));
}

TEST(AceAuthenticator, ContinueWithoutChallengeIsRefused) {
  world w;
  fake_tls tls(9);
  expect_refused(run_continue(w, connect_request(&tls, byte_vector(40, 1))));
}

broker::authentication_request from(broker::authentication_request request,
                                    std::string remote_address) {
  request.remote_address = std::move(remote_address);
  return request;
}

TEST(AceAuthenticator, PendingChallengesAreBounded) {
  ace_settings base;
  base.max_pending_challenges = 2;
  world w(false, base);
  fake_tls tls(10);
  const byte_vector data = *pop::build_connect_challenge(as_bytes(w.token()));
  for (int i = 0; i < 2; ++i) {
    const std::string host = "192.0.2." + std::to_string(i + 1) + ":5000";
    EXPECT_EQ(run_start(w, from(connect_request(&tls, data), host)).what, kind::continue_with);
  }
  expect_refused(run_start(w, from(connect_request(&tls, data), "192.0.2.9:5000")),
                 reason_code::server_busy);
  EXPECT_EQ(w.provider->pending_challenges(), 2U);
}

TEST(AceAuthenticator, OneHostHoldsAtMostHalfTheChallenges) {
  ace_settings base;
  base.max_pending_challenges = 8;
  base.max_pending_challenges_per_address = 100;  // capped at half the table
  world w(false, base);
  fake_tls tls(12);
  const byte_vector data = *pop::build_connect_challenge(as_bytes(w.token()));
  for (int port = 0; port < 4; ++port) {
    const std::string socket = "198.51.100.7:" + std::to_string(4000 + port);
    EXPECT_EQ(run_start(w, from(connect_request(&tls, data), socket)).what, kind::continue_with);
  }
  expect_refused(run_start(w, from(connect_request(&tls, data), "198.51.100.7:4999")),
                 reason_code::server_busy);
  EXPECT_EQ(run_start(w, from(connect_request(&tls, data), "203.0.113.1:4000")).what,
            kind::continue_with);
}

TEST(AceAuthenticator, OneIpv6Slash64HoldsAtMostHalfTheChallenges) {
  // A new source address per connection, all in 2001:db8:1:2::/64: one host (per_address_key).
  ace_settings base;
  base.max_pending_challenges = 8;
  base.max_pending_challenges_per_address = 100;  // capped at half the table
  world w(false, base);
  fake_tls tls(15);
  const byte_vector data = *pop::build_connect_challenge(as_bytes(w.token()));
  for (int i = 1; i <= 4; ++i) {
    const std::string socket = "[2001:db8:1:2::" + std::to_string(i) + "]:4000";
    EXPECT_EQ(run_start(w, from(connect_request(&tls, data), socket)).what, kind::continue_with);
  }
  expect_refused(run_start(w, from(connect_request(&tls, data), "[2001:db8:1:2:a:b:c:d]:4000")),
                 reason_code::server_busy);
  EXPECT_EQ(run_start(w, from(connect_request(&tls, data), "[2001:db8:1:3::1]:4000")).what,
            kind::continue_with);
}

TEST(AceAuthenticator, ReferenceTokensOverTheSlash64sIntrospectionBudgetAreRefusedWith0x9F) {
  ace_settings base;
  base.introspection_address_burst = 2;
  base.introspection_address_rate = 0;
  world w(true, base);
  fake_tls tls(16);
  for (int i = 0; i < 3; ++i) {
    const std::string token = std::string(42, 'S') + static_cast<char>('a' + i);
    const auto data = *pop::build_connect_challenge(as_bytes(token));
    captured c;
    w.provider->start(
        from(connect_request(&tls, data), "[2001:db8:1:2::" + std::to_string(i + 1) + "]:5000"),
        c.sink());
    if (i < 2) {
      ASSERT_EQ(w.as.calls.size(), 1u) << i;
      w.as.answer(std::string(R"({"active":false})"));
      ASSERT_TRUE(c.step.has_value());
      expect_refused(*c.step);
    } else {
      EXPECT_TRUE(w.as.calls.empty()) << i;
      ASSERT_TRUE(c.step.has_value());
      expect_refused(*c.step, reason_code::connection_rate_exceeded);
    }
  }
}

TEST(AceAuthenticator, ReferenceTokensOverTheHostsIntrospectionBudgetAreRefusedWith0x9F) {
  // RFC 9431 8: made-up reference tokens must not make the broker call the AS at will. From one
  // host (any port) only introspection_address_burst calls; beyond, 0x9F at once, no call.
  ace_settings base;
  base.introspection_address_burst = 2;
  base.introspection_address_rate = 0;
  world w(true, base);
  fake_tls tls(14);
  for (int i = 0; i < 5; ++i) {
    const std::string token = std::string(42, 'R') + static_cast<char>('a' + i);
    const auto data = *pop::build_connect_challenge(as_bytes(token));
    captured c;
    w.provider->start(from(connect_request(&tls, data), "192.0.2.1:" + std::to_string(5000 + i)),
                      c.sink());
    if (i < 2) {
      ASSERT_EQ(w.as.calls.size(), 1u) << i;
      w.as.answer(std::string(R"({"active":false})"));
      ASSERT_TRUE(c.step.has_value());
      expect_refused(*c.step);
    } else {
      EXPECT_TRUE(w.as.calls.empty()) << i;
      ASSERT_TRUE(c.step.has_value());
      expect_refused(*c.step, reason_code::connection_rate_exceeded);
    }
  }
}

TEST(AceAuthenticator, AChallengeGoesWithItsConnection) {
  ace_settings base;
  base.max_pending_challenges = 2;
  world w(false, base);
  fake_tls tls(13);
  const byte_vector data = *pop::build_connect_challenge(as_bytes(w.token()));
  const auto request = from(connect_request(&tls, data), "192.0.2.1:5000");
  ASSERT_EQ(run_start(w, request).what, kind::continue_with);
  // One challenge per connection: a second one replaces the first.
  ASSERT_EQ(run_start(w, request).what, kind::continue_with);
  EXPECT_EQ(w.provider->pending_challenges(), 1U);
  w.provider->connection_closed(request.listener_name, request.remote_address);
  EXPECT_EQ(w.provider->pending_challenges(), 0U);
  // The answer of a closed connection's challenge finds nothing.
  expect_refused(
      run_continue(w, from(connect_request(&tls, byte_vector(40, 1)), "192.0.2.1:5000")));
}

TEST(AceAuthenticator, DraftSixClientNonceLengthPrefix) {
  ace_settings base;
  base.draft06 = true;
  world w(false, base);
  fake_tls tls(11);
  const auto challenge =
      run_start(w, connect_request(&tls, *pop::build_connect_challenge(as_bytes(w.token()))));
  ASSERT_EQ(challenge.what, kind::continue_with);
  EXPECT_EQ(
      run_continue(w, connect_request(&tls, challenge_answer(*challenge.data, w.pop_ed25519, true)))
          .what,
      kind::success);
  // RFC 9431 layout (no prefix) is then malformed.
  const auto second =
      run_start(w, connect_request(&tls, *pop::build_connect_challenge(as_bytes(w.token()))));
  expect_refused(
      run_continue(w, connect_request(&tls, challenge_answer(*second.data, w.pop_ed25519))));
}

TEST(AceAuthenticator, TokenlessConnectUsesTheTokenHeldForTheClient) {
  world w;
  fake_tls tls(12);
  // An earlier connection (or authz-info) left the token in the store.
  const std::string token = w.token();
  ASSERT_EQ(run_start(w, connect_request(&tls, exporter_data(token, w.pop_ed25519, tls))).what,
            kind::success);
  fake_tls later(13);
  const auto challenge = run_start(w, connect_request(&later, std::nullopt));
  ASSERT_EQ(challenge.what, kind::continue_with);
  EXPECT_EQ(
      run_continue(w, connect_request(&later, challenge_answer(*challenge.data, w.pop_ed25519)))
          .what,
      kind::success);
}

TEST(AceAuthenticator, TokenlessConnectWithoutStoredTokenIsRefused) {
  world w;
  fake_tls tls(14);
  const auto step = run_start(w, connect_request(&tls, std::nullopt));
  expect_refused(step);
  EXPECT_TRUE(step.user_properties.empty()) << "no discovery configured";
}

TEST(AceAuthenticator, DiscoveryHintOnTokenlessConnect) {
  ace_settings base;
  discovery_settings discovery;
  discovery.as_uri = "https://as.example";
  discovery.scope = R"([["a",["pub"]]])";
  discovery.issue_cnonce = true;
  base.discovery = discovery;
  world w(false, base);
  fake_tls tls(15);
  const auto step = run_start(w, connect_request(&tls, byte_vector{}));
  expect_refused(step);
  ASSERT_EQ(step.user_properties.size(), 1u);
  EXPECT_EQ(step.user_properties[0].first, "ace_as_hint");
  const auto hint = boost::json::parse(step.user_properties[0].second).as_object();
  EXPECT_EQ(hint.at("AS").as_string(), "https://as.example");
  EXPECT_EQ(hint.at("audience").as_string(), "broker");
  EXPECT_EQ(hint.at("scope").as_string(), R"([["a",["pub"]]])");
  ASSERT_TRUE(hint.contains("cnonce"));
  EXPECT_EQ(w.cnonces.size(), 1u);

  // A token carrying that cnonce is accepted once; the cnonce is single use.
  auto c = w.claims();
  c["cnonce"] = hint.at("cnonce");
  const std::string token = w.sign(c);
  EXPECT_EQ(run_start(w, connect_request(&tls, exporter_data(token, w.pop_ed25519, tls))).what,
            kind::success);
  EXPECT_EQ(w.cnonces.size(), 0u);
  // A token with a cnonce the broker never issued is refused.
  c["cnonce"] = base64url_encode(byte_vector(16, 9));
  const std::string forged = w.sign(c);
  const auto refused =
      run_start(w, connect_request(&tls, exporter_data(forged, w.pop_ed25519, tls)));
  expect_refused(refused);
  EXPECT_TRUE(refused.user_properties.empty()) << "hint only on tokenless CONNECT by default";
}

TEST(AceAuthenticator, RequireCnonceRefusesTokensWithoutOne) {
  ace_settings base;
  base.require_cnonce = true;
  world w(false, base);
  fake_tls tls(16);
  expect_refused(run_start(w, connect_request(&tls, exporter_data(w.token(), w.pop_ed25519, tls))));
}

TEST(AceAuthenticator, DraftSixHintOnEveryFailure) {
  ace_settings base;
  base.draft06 = true;
  base.discovery = discovery_settings{"https://as.example", "", "", false, false};
  world w(false, base);
  fake_tls tls(17);
  const auto step = run_start(
      w, connect_request(&tls, exporter_data(w.token(), crypto::key::generate_ed25519(), tls)));
  expect_refused(step);
  ASSERT_EQ(step.user_properties.size(), 1u);
  EXPECT_EQ(step.user_properties[0].first, "ace_as_hint");
}

TEST(AceAuthenticator, TokenForAnotherAudienceIsRefused) {
  world w;
  fake_tls tls(18);
  auto c = w.claims();
  c["aud"] = "other-broker";
  expect_refused(run_start(w, connect_request(&tls, exporter_data(w.sign(c), w.pop_ed25519, tls))));
}

TEST(AceAuthenticator, ExpiredTokenIsRefused) {
  world w;
  fake_tls tls(19);
  auto c = w.claims();
  c["iat"] = w.time.unix_seconds() - 100;
  c["exp"] = w.time.unix_seconds() - 1;  // within verify()'s leeway, still refused exactly
  expect_refused(run_start(w, connect_request(&tls, exporter_data(w.sign(c), w.pop_ed25519, tls))));
}

TEST(AceAuthenticator, NotYetValidTokenIsRefused) {
  world w;
  fake_tls tls(20);
  auto c = w.claims();
  c["nbf"] = w.time.unix_seconds() + 600;
  expect_refused(run_start(w, connect_request(&tls, exporter_data(w.sign(c), w.pop_ed25519, tls))));
}

TEST(AceAuthenticator, AlgNoneIsRefused) {
  world w;
  fake_tls tls(21);
  const std::string header = base64url_encode(as_bytes(R"({"alg":"none","typ":"JWT"})"));
  const std::string payload = base64url_encode(as_bytes(boost::json::serialize(w.claims())));
  const std::string unsecured = header + "." + payload + ".";
  expect_refused(run_start(w, connect_request(&tls, exporter_data(unsecured, w.pop_ed25519, tls))));
}

TEST(AceAuthenticator, UnknownSigningKeyIsRefused) {
  world w;
  fake_tls tls(22);
  auto stranger = crypto::key::generate_ed25519();
  stranger.set_kid(to_bytes("stranger"));
  expect_refused(run_start(
      w, connect_request(&tls, exporter_data(w.sign(w.claims(), &stranger), w.pop_ed25519, tls))));
}

TEST(AceAuthenticator, WillTopicOutsideScopeIsRefusedWith0x87) {
  ace_settings base;
  base.hide_topic_names = true;  // even then the Will refusal is 0x87 (RFC 9431 2.4.1)
  world w(false, base);
  fake_tls tls(23);
  auto r = connect_request(&tls, exporter_data(w.token(), w.pop_ed25519, tls));
  r.will_topic = "not/allowed";
  expect_refused(run_start(w, r));
  r.will_topic = "will/me";
  EXPECT_EQ(run_start(w, r).what, kind::success);
}

TEST(AceAuthenticator, WillCheckedAfterChallenge) {
  world w;
  fake_tls tls(24);
  auto r = connect_request(&tls, *pop::build_connect_challenge(as_bytes(w.token())));
  r.will_topic = "cmd/x";  // subscribe-only in the scope
  const auto challenge = run_start(w, r);
  ASSERT_EQ(challenge.what, kind::continue_with);
  expect_refused(
      run_continue(w, connect_request(&tls, challenge_answer(*challenge.data, w.pop_ed25519))));
}

TEST(AceAuthenticator, HiddenTopicNamesAnswer0x80) {
  ace_settings base;
  base.hide_topic_names = true;
  world w(false, base);
  fake_tls tls(25);
  const auto step =
      run_start(w, connect_request(&tls, exporter_data(w.token(), w.pop_ed25519, tls)));
  const broker::principal& who = principal_of(step);
  EXPECT_EQ(who.may_publish("secret/topic"), reason_code::unspecified_error);
  EXPECT_EQ(who.may_subscribe("secret/#"), reason_code::unspecified_error);
  EXPECT_EQ(who.may_publish("sensors/x/temp"), reason_code::success);
}

TEST(AceAuthenticator, PrincipalEndsAtExpiry) {
  world w;
  fake_tls tls(26);
  const auto step =
      run_start(w, connect_request(&tls, exporter_data(w.token(), w.pop_ed25519, tls)));
  const broker::principal& who = principal_of(step);
  EXPECT_EQ(who.may_publish("sensors/x/temp"), reason_code::success);
  w.time.advance(std::chrono::seconds(3600));
  // RFC 9431 4: expiry checked on PUBLISH, SUBSCRIBE and delivery.
  EXPECT_EQ(who.may_publish("sensors/x/temp"), reason_code::not_authorized);
  EXPECT_EQ(who.may_subscribe("cmd/a"), reason_code::not_authorized);
  EXPECT_FALSE(who.may_receive("cmd/a"));
}

// Every truncation of each Authentication Data layout is refused without a crash.
TEST(AceAuthenticator, MalformedAuthDataEveryTruncation) {
  world w;
  fake_tls tls(27);
  const byte_vector full = exporter_data(w.token(), w.pop_ed25519, tls);
  for (std::size_t size = 1; size < full.size(); ++size) {
    const byte_vector cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(size));
    const auto step = run_start(w, connect_request(&tls, cut));
    // A cut exactly after the token is the challenge layout: a challenge, not a refusal.
    if (step.what == kind::continue_with) {
      EXPECT_EQ(size, full.size() - 64);
      continue;
    }
    EXPECT_EQ(step.what, kind::failure) << "size " << size;
  }
  // Client answer: every truncation of client_nonce || pop.
  const auto challenge =
      run_start(w, connect_request(&tls, *pop::build_connect_challenge(as_bytes(w.token()))));
  ASSERT_EQ(challenge.what, kind::continue_with);
  const byte_vector answer = challenge_answer(*challenge.data, w.pop_ed25519);
  for (std::size_t size = 0; size < answer.size(); ++size) {
    // Each attempt consumes the challenge; start a fresh one for the next.
    const auto fresh =
        run_start(w, connect_request(&tls, *pop::build_connect_challenge(as_bytes(w.token()))));
    ASSERT_EQ(fresh.what, kind::continue_with);
    const byte_vector cut(answer.begin(), answer.begin() + static_cast<std::ptrdiff_t>(size));
    expect_refused(run_continue(w, connect_request(&tls, cut)));
  }
  // A token length that runs past the end.
  expect_refused(run_start(w, connect_request(&tls, byte_vector{0xFF, 0xFF, 'a'})));
}

// RFC 9431 4: re-authentication with a new token, by challenge/response only.
TEST(AceAuthenticator, ReauthenticationWithNewTokenChangesScope) {
  world w;
  fake_tls tls(28);
  ASSERT_EQ(run_start(w, connect_request(&tls, exporter_data(w.token(), w.pop_ed25519, tls))).what,
            kind::success);
  const std::string narrower = w.token(pop_kind::ed25519, R"([["cmd/only",["sub"]]])");
  const auto challenge =
      run_reauth(w, connect_request(&tls, *pop::build_connect_challenge(as_bytes(narrower))));
  ASSERT_EQ(challenge.what, kind::continue_with);
  const auto done =
      run_continue(w, connect_request(&tls, challenge_answer(*challenge.data, w.pop_ed25519)));
  const broker::principal& who = principal_of(done);
  EXPECT_EQ(who.may_subscribe("cmd/only"), reason_code::success);
  EXPECT_EQ(who.may_subscribe("cmd/other"), reason_code::not_authorized);
  EXPECT_FALSE(who.may_receive("cmd/other"));
}

TEST(AceAuthenticator, ReauthenticationWithWorseTokenFails) {
  world w;
  fake_tls tls(29);
  ASSERT_EQ(run_start(w, connect_request(&tls, exporter_data(w.token(), w.pop_ed25519, tls))).what,
            kind::success);
  auto expired = w.claims();
  expired["exp"] = w.time.unix_seconds() - 5;
  expect_refused(run_reauth(
      w, connect_request(&tls, *pop::build_connect_challenge(as_bytes(w.sign(expired))))));
  auto foreign = w.claims();
  foreign["aud"] = "elsewhere";
  expect_refused(run_reauth(
      w, connect_request(&tls, *pop::build_connect_challenge(as_bytes(w.sign(foreign))))));
}

TEST(AceAuthenticator, ReauthenticationNeverUsesTheExporter) {
  world w;
  fake_tls tls(30);
  const std::string token = w.token();
  ASSERT_EQ(run_start(w, connect_request(&tls, exporter_data(token, w.pop_ed25519, tls))).what,
            kind::success);
  // The exporter layout (token followed by a PoP) inside the same TLS session is refused.
  expect_refused(run_reauth(w, connect_request(&tls, exporter_data(token, w.pop_ed25519, tls))));
  // And an empty one too: the new token is mandatory.
  expect_refused(run_reauth(w, connect_request(&tls, byte_vector{})));
}

// RFC 9431 6: MQTT 3.1.1 with the token in the username and the PoP in the password.
TEST(AceAuthenticator, Mqtt311UsernameAndPassword) {
  world w;
  fake_tls tls(31);
  const std::string token = w.token(pop_kind::hs256);
  broker::authentication_request r;
  r.version = mqtt::protocol_version::v311;
  r.client_id = "legacy";
  r.username = pop::build_username(as_bytes(token));
  r.password = *pop::compute_pop(w.pop_hs256, tls.exporter());
  r.tls = &tls;
  r.remote_address = "192.0.2.9:1";
  EXPECT_EQ(run_start(w, r).what, kind::success);
  // Wrong PoP, and no password at all (RFC 9431 6.2: the CONNECT fails).
  r.password = byte_vector(32, 0);
  expect_refused(run_start(w, r));
  r.password.reset();
  expect_refused(run_start(w, r));
  // A username without the prefix is somebody else's.
  r.username = "alice";
  EXPECT_EQ(run_start(w, r).what, kind::next_provider);
}

TEST(AceAuthenticator, Mqtt311CanBeDisabled) {
  ace_settings base;
  base.allow_v311 = false;
  world w(false, base);
  fake_tls tls(32);
  broker::authentication_request r;
  r.version = mqtt::protocol_version::v311;
  r.username = pop::build_username(as_bytes(w.token()));
  r.password = *pop::compute_pop(w.pop_ed25519, tls.exporter());
  r.tls = &tls;
  EXPECT_EQ(run_start(w, r).what, kind::next_provider);
}

// RFC 9431 2.2.3.2: TLS-PSK with the token as identity, or a cnf kid of an uploaded token.
TEST(AceAuthenticator, PskIdentityTokenOrKid) {
  world w;
  const std::string token = w.token(pop_kind::hs256);
  const auto psk = w.provider->psk_for_identity(token);
  ASSERT_TRUE(psk.has_value());
  EXPECT_TRUE(constant_time_equal(*psk, w.pop_hs256.symmetric_bytes()));
  fake_tls tls(33, token);
  broker::authentication_request r;
  r.version = mqtt::protocol_version::v311;
  r.client_id = "psk-client";
  r.tls = &tls;
  EXPECT_EQ(run_start(w, r).what, kind::success);

  // The kid form names the token stored above.
  const std::string by_kid = R"({"cnf":{"kid":"pop-hs"}})";
  ASSERT_TRUE(w.provider->psk_for_identity(by_kid).has_value());
  EXPECT_TRUE(w.provider->psk_for_identity(R"({"cnf":{"jwk":{"kty":"oct","kid":"pop-hs"}}})"));
  EXPECT_FALSE(w.provider->psk_for_identity(R"({"cnf":{"kid":"nobody"}})"));
  EXPECT_FALSE(w.provider->psk_for_identity("garbage"));
  // An asymmetric PoP key cannot be a PSK.
  EXPECT_FALSE(w.provider->psk_for_identity(w.token(pop_kind::ed25519)));
}

// Point 6 of the identity-binding issue: the PSK lookup runs in the handshake, before the binder
// proves the client holds the key.
TEST(AceAuthenticator, PskLookupStoresNothingAndRemembersRefusals) {
  world w;
  const std::string token = w.token(pop_kind::hs256);
  ASSERT_TRUE(w.provider->psk_for_identity(token).has_value());
  // Not stored before the handshake completes: the kid form does not find it yet.
  EXPECT_EQ(w.store.size(), 0U);
  EXPECT_FALSE(w.provider->psk_for_identity(R"({"cnf":{"kid":"pop-hs"}})"));
  // The CONNECT on the finished handshake stores it.
  fake_tls tls(34, token);
  broker::authentication_request r;
  r.version = mqtt::protocol_version::v311;
  r.client_id = "psk-client";
  r.tls = &tls;
  ASSERT_EQ(run_start(w, r).what, kind::success);
  EXPECT_EQ(w.store.size(), 1U);

  // A token that fails (signed by an unknown key) is validated once, then refused from memory.
  const std::uint64_t before = w.validator->verifications();
  auto forged = w.claims(pop_kind::hs256);
  forged["sub"] = "forged";
  const std::string bad = w.sign(forged, &w.pop_ed25519);
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(w.provider->psk_for_identity(bad));
  EXPECT_EQ(w.validator->verifications() - before, 1U);
}

TEST(AceAuthenticator, ReconnectWithSameTokenHitsTheCache) {
  world w;
  const std::string token = w.token();
  for (std::uint8_t session = 40; session < 45; ++session) {
    fake_tls tls(session);
    ASSERT_EQ(run_start(w, connect_request(&tls, exporter_data(token, w.pop_ed25519, tls))).what,
              kind::success);
  }
  EXPECT_EQ(w.validator->verifications(), 1u);
}

TEST(AceAuthenticator, RevokedTokenEndsThePrincipalAndIsRefusedLater) {
  world w;
  fake_tls tls(46);
  const std::string token = w.token();
  const auto step = run_start(w, connect_request(&tls, exporter_data(token, w.pop_ed25519, tls)));
  const broker::principal& who = principal_of(step);
  std::size_t notified = 0;
  w.revocations.set_listener([&](const validated_token_ptr&) { ++notified; });
  revocation_page page;
  page.cursor = 5;
  page.revoked.push_back({base64url_encode(token_hash(as_bytes(token))),
                          w.time.unix_seconds() + 3600, w.time.unix_seconds(), std::nullopt});
  EXPECT_EQ(w.revocations.apply(page), 1u);
  EXPECT_EQ(notified, 1u);
  EXPECT_EQ(who.expires_at_unix(), w.time.unix_seconds());
  EXPECT_EQ(who.may_publish("sensors/x/temp"), reason_code::not_authorized);
  EXPECT_FALSE(who.may_receive("cmd/a"));
  expect_refused(run_start(w, connect_request(&tls, exporter_data(token, w.pop_ed25519, tls))));
}

}  // namespace
}  // namespace acemq::ace::testing
