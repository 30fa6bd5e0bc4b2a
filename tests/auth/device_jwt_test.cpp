// Device-signed JWTs in virtual time, including the attacks of seed 004 ("JWT back to the
// future": tokens pre-minted with a future iat, and tokens replayed from another connection)
// under each replay policy.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "acemq/auth/device_jwt_provider.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/token/jose/jwk.hpp"
#include "acemq/token/jose/jwt.hpp"
#include "fakes.hpp"

namespace acemq::auth {
namespace {

using namespace std::chrono_literals;
using testing::fake_tls_facts;
using testing::run_step;
using token::crypto::key;

constexpr std::int64_t year = 365 * 24 * 3600;
constexpr std::string_view audience = "mqtts://broker.example";

class device_jwt_test : public ::testing::Test {
 protected:
  device_jwt_test() {
    registry = std::move(*device_registry::open(":memory:"));
    settings.audience = std::string(audience);
    acl = std::make_shared<acl_store>(*acl::parse("pattern readwrite devices/%u/#\n"));
    provider = std::make_unique<device_jwt_provider>(registry, acl, settings, time, random);
    device_key = key::generate_ed25519();
  }

  /// Registers "dev-1" with `policy` and the device key; returns the key id.
  std::string register_device(replay_policy policy, const std::string& id = "dev-1") {
    EXPECT_TRUE(registry->add_device(id, policy, time.unix_seconds()));
    auto key_id = registry->add_key(id, *device_key.public_pem(), time.unix_seconds());
    EXPECT_TRUE(key_id);
    return key_id ? *key_id : std::string{};
  }

  boost::json::object claims(std::int64_t iat, std::int64_t lifetime = 3600) {
    return {{"aud", audience}, {"iat", iat}, {"exp", iat + lifetime}};
  }

  std::string mint(const boost::json::object& body, const key* signer = nullptr) {
    key k = signer ? *signer : device_key;
    k.clear_kid();  // no "kid": the broker tries each of the device's keys
    auto token = token::jose::sign_jwt(body, k);
    EXPECT_TRUE(token);
    return token ? *token : std::string{};
  }

  broker::authentication_request password_request(std::string token,
                                                  const fake_tls_facts* facts = nullptr,
                                                  std::string address = "192.0.2.1:40000") {
    broker::authentication_request r;
    r.version = mqtt::protocol_version::v311;
    r.client_id = "dev-1";
    r.username = "unused";
    r.password = to_bytes(token);
    r.tls = facts;
    r.remote_address = std::move(address);
    r.listener_name = "tls";
    return r;
  }

  broker::authentication_request method_request(std::string address = "192.0.2.1:40000",
                                                std::optional<std::string> data = std::nullopt) {
    broker::authentication_request r;
    r.client_id = "dev-1";
    r.method = std::string(device_jwt_method);
    if (data) r.data = to_bytes(*data);
    r.tls = &tls;
    r.remote_address = std::move(address);
    r.listener_name = "tls";
    return r;
  }

  broker::auth_step connect_with_password(const std::string& token,
                                          const fake_tls_facts* facts = nullptr) {
    return run_step([&](auto done) { provider->start(password_request(token, facts), done); });
  }

  /// The MQTT 5 exchange: CONNECT with the method, AUTH challenge, AUTH with the JWT that
  /// `sign(nonce)` produces.
  template <typename Sign>
  broker::auth_step challenge_exchange(Sign&& sign, std::string address = "192.0.2.1:40000") {
    auto challenge = run_step([&](auto done) { provider->start(method_request(address), done); });
    EXPECT_EQ(challenge.what, broker::auth_step::kind::continue_with);
    if (challenge.what != broker::auth_step::kind::continue_with || !challenge.data) {
      return challenge;
    }
    const std::string nonce(as_string_view(*challenge.data));
    auto reply = method_request(address, sign(nonce));
    return run_step([&](auto done) { provider->continue_auth(reply, done); });
  }

  std::string exporter_claim(const fake_tls_facts& facts) {
    return base64url_encode(*facts.export_keying_material(device_jwt_exporter_label, {}, false,
                                                          device_jwt_exporter_length));
  }

  manual_clock time;
  deterministic_random random{42};
  std::shared_ptr<device_registry> registry;
  device_jwt_settings settings;
  std::shared_ptr<acl_store> acl;
  std::unique_ptr<device_jwt_provider> provider;
  key device_key = key::generate_ed25519();
  fake_tls_facts tls;
};

// --- claim checks ---

TEST_F(device_jwt_test, valid_jwt_gives_a_principal_that_expires_with_the_token) {
  register_device(replay_policy::legacy);
  const auto now = time.unix_seconds();
  auto step = connect_with_password(mint(claims(now, 600)));
  ASSERT_EQ(step.what, broker::auth_step::kind::success);
  EXPECT_EQ(step.who->name(), "dev-1");
  EXPECT_EQ(step.who->expires_at_unix(), now + 600);
  EXPECT_EQ(step.who->may_publish("devices/dev-1/temp"), mqtt::reason_code::success);
  EXPECT_EQ(step.who->may_publish("devices/dev-2/temp"), mqtt::reason_code::not_authorized);
}

TEST_F(device_jwt_test, expired_jwt_is_refused) {
  register_device(replay_policy::legacy);
  const auto now = time.unix_seconds();
  const std::string token = mint(claims(now, 600));
  time.advance(std::chrono::seconds(600 + settings.clock_skew.count() - 1));
  EXPECT_EQ(connect_with_password(token).what, broker::auth_step::kind::success);
  time.advance(1s);
  EXPECT_EQ(connect_with_password(token).what, broker::auth_step::kind::failure);
}

TEST_F(device_jwt_test, claim_failures_each_have_a_reason) {
  auto record = device_record{"dev-1", replay_policy::legacy, {}, 0};
  register_device(replay_policy::legacy);
  record = **registry->find("dev-1");
  const auto now = time.unix_seconds();
  device_jwt_context context{now, std::nullopt, std::nullopt};
  auto verify = [&](const boost::json::object& body) {
    return verify_device_jwt(mint(body), record, settings, context, *registry);
  };
  EXPECT_TRUE(verify(claims(now)));
  auto wrong_aud = claims(now);
  wrong_aud["aud"] = "other-broker";
  EXPECT_EQ(verify(wrong_aud).error(), device_jwt_failure::wrong_audience);
  auto aud_list = claims(now);
  aud_list["aud"] = boost::json::array{"x", audience};
  EXPECT_TRUE(verify(aud_list));
  auto no_aud = claims(now);
  no_aud.erase("aud");
  EXPECT_EQ(verify(no_aud).error(), device_jwt_failure::missing_claim);
  auto no_exp = claims(now);
  no_exp.erase("exp");
  EXPECT_EQ(verify(no_exp).error(), device_jwt_failure::missing_claim);
  auto no_iat = claims(now);
  no_iat.erase("iat");
  EXPECT_EQ(verify(no_iat).error(), device_jwt_failure::missing_claim);
  auto text_exp = claims(now);
  text_exp["exp"] = "tomorrow";
  EXPECT_EQ(verify(text_exp).error(), device_jwt_failure::malformed);
  EXPECT_EQ(verify(claims(now + 3600)).error(), device_jwt_failure::issued_in_future);
  EXPECT_EQ(verify(claims(now, 25 * 3600)).error(), device_jwt_failure::lifetime_too_long);
  auto huge = claims(now);
  huge["exp"] = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(verify(huge).error(), device_jwt_failure::lifetime_too_long);
  auto extremes = claims(now);
  extremes["iat"] = std::numeric_limits<std::int64_t>::min();
  extremes["exp"] = now + 600;
  EXPECT_EQ(verify(extremes).error(), device_jwt_failure::lifetime_too_long);
  auto huge_unsigned = claims(now);
  huge_unsigned["exp"] = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(verify(huge_unsigned).error(), device_jwt_failure::malformed);
  auto backwards = claims(now);
  backwards["exp"] = now - 1;
  backwards["iat"] = now;
  EXPECT_EQ(verify(backwards).error(), device_jwt_failure::malformed);  // exp before iat
  auto expired = claims(now - 700, 600);
  EXPECT_EQ(verify(expired).error(), device_jwt_failure::expired);
  auto nbf = claims(now);
  nbf["nbf"] = now + 600;
  EXPECT_EQ(verify(nbf).error(), device_jwt_failure::not_yet_valid);
  auto sub = claims(now);
  sub["sub"] = "dev-2";
  EXPECT_EQ(verify(sub).error(), device_jwt_failure::wrong_subject);
  sub["sub"] = "dev-1";
  EXPECT_TRUE(verify(sub));
  auto fractional = claims(now);
  fractional["iat"] = static_cast<double>(now) + 0.5;
  EXPECT_TRUE(verify(fractional));

  EXPECT_EQ(verify_device_jwt("not.a.jwt", record, settings, context, *registry).error(),
            device_jwt_failure::malformed);
  const key stranger = key::generate_ed25519();
  EXPECT_EQ(
      verify_device_jwt(mint(claims(now), &stranger), record, settings, context, *registry).error(),
      device_jwt_failure::bad_signature);
  key with_kid = stranger;
  with_kid.set_kid(to_bytes("unknown-kid"));
  EXPECT_EQ(verify_device_jwt(*token::jose::sign_jwt(claims(now), with_kid), record, settings,
                              context, *registry)
                .error(),
            device_jwt_failure::unknown_key);
  settings.max_token_size = 16;
  EXPECT_EQ(verify(claims(now)).error(), device_jwt_failure::malformed);
}

TEST_F(device_jwt_test, kid_selects_the_registered_key) {
  const std::string key_id = register_device(replay_policy::legacy);
  key signer = device_key;
  signer.set_kid(to_bytes(key_id));
  auto token = token::jose::sign_jwt(claims(time.unix_seconds()), signer);
  ASSERT_TRUE(token);
  EXPECT_EQ(connect_with_password(*token).what, broker::auth_step::kind::success);
}

TEST_F(device_jwt_test, es256_and_rs256_device_keys) {
  for (const key& k : {key::generate_p256(), key::generate_rsa(2048)}) {
    auto registry_local = std::move(*device_registry::open(":memory:"));
    ASSERT_TRUE(registry_local->add_device("dev-1", replay_policy::legacy, 0));
    ASSERT_TRUE(registry_local->add_key("dev-1", *k.public_pem(), 0));
    const auto record = **registry_local->find("dev-1");
    device_jwt_context context{time.unix_seconds(), std::nullopt, std::nullopt};
    EXPECT_TRUE(verify_device_jwt(mint(claims(time.unix_seconds()), &k), record, settings, context,
                                  *registry_local));
  }
}

TEST_F(device_jwt_test, key_rotation_old_key_accepted_until_removed) {
  const std::string old_id = register_device(replay_policy::legacy);
  const key new_key = key::generate_p256();
  auto new_id = registry->add_key("dev-1", *new_key.public_pem(), time.unix_seconds());
  ASSERT_TRUE(new_id);
  const auto now = time.unix_seconds();
  EXPECT_EQ(connect_with_password(mint(claims(now))).what, broker::auth_step::kind::success);
  EXPECT_EQ(connect_with_password(mint(claims(now), &new_key)).what,
            broker::auth_step::kind::success);
  ASSERT_TRUE(registry->remove_key("dev-1", old_id));
  EXPECT_EQ(connect_with_password(mint(claims(now))).what, broker::auth_step::kind::failure);
  EXPECT_EQ(connect_with_password(mint(claims(now), &new_key)).what,
            broker::auth_step::kind::success);
}

TEST_F(device_jwt_test, unknown_device_is_left_to_the_chain_which_refuses_it) {
  const std::string token = mint(claims(time.unix_seconds()));
  EXPECT_EQ(connect_with_password(token).what, broker::auth_step::kind::next_provider);
  broker::auth_chain chain({std::shared_ptr<broker::authenticator>(provider.get(), [](auto*) {}),
                            std::make_shared<broker::deny_all>()});
  std::optional<broker::auth_step> result;
  chain.start(password_request(token), [&](broker::auth_step step, std::size_t) { result = step; });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->what, broker::auth_step::kind::failure);
  // Naming our method for an unknown device is refused by this provider itself.
  EXPECT_EQ(run_step([&](auto done) { provider->start(method_request(), done); }).reason,
            mqtt::reason_code::not_authorized);
}

TEST_F(device_jwt_test, passwords_that_are_not_jws_and_other_methods_are_passed_on) {
  register_device(replay_policy::legacy);
  EXPECT_EQ(connect_with_password("hunter2").what, broker::auth_step::kind::next_provider);
  EXPECT_EQ(connect_with_password("a.b.c.d.e").what, broker::auth_step::kind::next_provider);
  auto other = method_request();
  other.method = "ace";
  EXPECT_EQ(run_step([&](auto done) { provider->start(other, done); }).what,
            broker::auth_step::kind::next_provider);
}

// --- seed 004: back to the future (a JWT signed today with iat years ahead) ---

TEST_F(device_jwt_test, future_iat_attack_succeeds_under_legacy_as_documented) {
  register_device(replay_policy::legacy);
  const auto minted_at = time.unix_seconds();
  const std::string premined = mint(claims(minted_at + 3 * year));
  EXPECT_EQ(connect_with_password(premined).what, broker::auth_step::kind::failure);  // today
  time.advance(std::chrono::seconds(3 * year));
  // Residual risk of `legacy`: three years later the pre-minted token is indistinguishable.
  EXPECT_EQ(connect_with_password(premined).what, broker::auth_step::kind::success);
}

TEST_F(device_jwt_test, future_iat_attack_is_refused_under_counter) {
  register_device(replay_policy::counter);
  const auto minted_at = time.unix_seconds();
  // In the factory the attacker has the device sign tokens while its counter is at 1..10.
  std::vector<std::string> premined;
  for (int ctr = 1; ctr <= 10; ++ctr) {
    auto body = claims(minted_at + 3 * year);
    body["ctr"] = ctr;
    premined.push_back(mint(body));
  }
  // In the field the device connects with its next counter values.
  for (int ctr = 11; ctr <= 12; ++ctr) {
    auto body = claims(time.unix_seconds());
    body["ctr"] = ctr;
    EXPECT_EQ(connect_with_password(mint(body)).what, broker::auth_step::kind::success);
    time.advance(std::chrono::seconds(year));
  }
  time.advance(std::chrono::seconds(year));
  for (const auto& token : premined) {
    EXPECT_EQ(connect_with_password(token).what, broker::auth_step::kind::failure);
  }
  // Counters must increase strictly, and the claim is required.
  auto same = claims(time.unix_seconds());
  same["ctr"] = 12;
  EXPECT_EQ(connect_with_password(mint(same)).what, broker::auth_step::kind::failure);
  EXPECT_EQ(connect_with_password(mint(claims(time.unix_seconds()))).what,
            broker::auth_step::kind::failure);
  auto negative = claims(time.unix_seconds());
  negative["ctr"] = -1;
  EXPECT_EQ(connect_with_password(mint(negative)).what, broker::auth_step::kind::failure);
}

TEST_F(device_jwt_test, future_iat_attack_is_refused_under_nonce_in_mqtt5) {
  register_device(replay_policy::nonce);
  const std::string premined = mint(claims(time.unix_seconds() + 3 * year));
  time.advance(std::chrono::seconds(3 * year));
  // The pre-minted token cannot carry a nonce the broker draws only now.
  auto step = challenge_exchange([&](const std::string&) { return premined; });
  EXPECT_EQ(step.what, broker::auth_step::kind::failure);
  // A token minted now with the broker's nonce is accepted.
  step = challenge_exchange([&](const std::string& nonce) {
    auto body = claims(time.unix_seconds());
    body["nonce"] = nonce;
    return mint(body);
  });
  EXPECT_EQ(step.what, broker::auth_step::kind::success);
}

TEST_F(device_jwt_test, future_iat_attack_is_refused_under_nonce_in_mqtt311) {
  register_device(replay_policy::nonce);
  const std::string premined = mint(claims(time.unix_seconds() + 3 * year));
  time.advance(std::chrono::seconds(3 * year));
  EXPECT_EQ(connect_with_password(premined, &tls).what, broker::auth_step::kind::failure);
  auto bound = claims(time.unix_seconds());
  bound[device_jwt_exporter_claim] = exporter_claim(tls);
  EXPECT_EQ(connect_with_password(mint(bound), &tls).what, broker::auth_step::kind::success);
}

TEST_F(device_jwt_test, future_iat_attack_is_not_stopped_by_jti_as_documented) {
  register_device(replay_policy::jti);
  auto body = claims(time.unix_seconds() + 3 * year);
  body["jti"] = "premined-1";
  const std::string premined = mint(body);
  EXPECT_EQ(connect_with_password(premined).what, broker::auth_step::kind::failure);  // today
  time.advance(std::chrono::seconds(3 * year));
  // Residual risk of `jti`: an unused pre-minted token is accepted once, when it comes due.
  EXPECT_EQ(connect_with_password(premined).what, broker::auth_step::kind::success);
  EXPECT_EQ(connect_with_password(premined).what, broker::auth_step::kind::failure);
}

TEST_F(device_jwt_test, counter_residual_risk_before_the_device_connects_as_documented) {
  register_device(replay_policy::counter);
  auto body = claims(time.unix_seconds() + year);
  body["ctr"] = 5;
  const std::string premined = mint(body);
  time.advance(std::chrono::seconds(year));
  // The genuine device never connected with a higher counter: the pre-minted token passes once.
  EXPECT_EQ(connect_with_password(premined).what, broker::auth_step::kind::success);
  EXPECT_EQ(connect_with_password(premined).what, broker::auth_step::kind::failure);
}

// --- seed 004: a JWT captured on one connection and replayed on another ---

TEST_F(device_jwt_test, replay_succeeds_under_legacy_as_documented) {
  register_device(replay_policy::legacy);
  const std::string captured = mint(claims(time.unix_seconds()));
  EXPECT_EQ(connect_with_password(captured).what, broker::auth_step::kind::success);
  EXPECT_EQ(connect_with_password(captured).what, broker::auth_step::kind::success);
}

TEST_F(device_jwt_test, replay_is_refused_under_jti_even_after_a_restart) {
  const auto dir = testing::scratch_directory("device_jwt");
  registry = std::move(*device_registry::open((dir / "devices.db").string()));
  provider = std::make_unique<device_jwt_provider>(registry, acl, settings, time, random);
  register_device(replay_policy::jti);
  auto body = claims(time.unix_seconds());
  body["jti"] = "a1b2c3";
  const std::string captured = mint(body);
  EXPECT_EQ(connect_with_password(captured).what, broker::auth_step::kind::success);
  EXPECT_EQ(connect_with_password(captured).what, broker::auth_step::kind::failure);
  // The broker restarts: the used jti is still known.
  provider.reset();
  registry.reset();
  registry = std::move(*device_registry::open((dir / "devices.db").string()));
  provider = std::make_unique<device_jwt_provider>(registry, acl, settings, time, random);
  EXPECT_EQ(connect_with_password(captured).what, broker::auth_step::kind::failure);
  // A fresh jti is fine; a token without jti is refused.
  body["jti"] = "d4e5f6";
  EXPECT_EQ(connect_with_password(mint(body)).what, broker::auth_step::kind::success);
  EXPECT_EQ(connect_with_password(mint(claims(time.unix_seconds()))).what,
            broker::auth_step::kind::failure);
  body["jti"] = std::string(257, 'j');
  EXPECT_EQ(connect_with_password(mint(body)).what, broker::auth_step::kind::failure);
  body["jti"] = 42;
  EXPECT_EQ(connect_with_password(mint(body)).what, broker::auth_step::kind::failure);
}

TEST_F(device_jwt_test, jti_store_full_refuses_with_server_busy) {
  registry_limits limits;
  limits.max_jti_per_device = 1;
  registry = std::move(*device_registry::open(":memory:", limits));
  provider = std::make_unique<device_jwt_provider>(registry, acl, settings, time, random);
  register_device(replay_policy::jti);
  auto body = claims(time.unix_seconds());
  body["jti"] = "one";
  EXPECT_EQ(connect_with_password(mint(body)).what, broker::auth_step::kind::success);
  body["jti"] = "two";
  auto full = connect_with_password(mint(body));
  EXPECT_EQ(full.what, broker::auth_step::kind::failure);
  EXPECT_EQ(full.reason, mqtt::reason_code::server_busy);
}

TEST_F(device_jwt_test, replay_is_refused_under_nonce_in_mqtt5) {
  register_device(replay_policy::nonce);
  std::string captured;
  auto first = challenge_exchange(
      [&](const std::string& nonce) {
        auto body = claims(time.unix_seconds());
        body["nonce"] = nonce;
        captured = mint(body);
        return captured;
      },
      "192.0.2.1:40000");
  ASSERT_EQ(first.what, broker::auth_step::kind::success);
  // The attacker opens another connection and answers its challenge with the captured token.
  auto replayed =
      challenge_exchange([&](const std::string&) { return captured; }, "203.0.113.9:50000");
  EXPECT_EQ(replayed.what, broker::auth_step::kind::failure);
  // Answering the first connection's exchange again finds no outstanding nonce.
  auto again = method_request("192.0.2.1:40000", captured);
  EXPECT_EQ(run_step([&](auto done) { provider->continue_auth(again, done); }).what,
            broker::auth_step::kind::failure);
}

TEST_F(device_jwt_test, replay_is_refused_under_nonce_in_mqtt311) {
  register_device(replay_policy::nonce);
  auto body = claims(time.unix_seconds());
  body[device_jwt_exporter_claim] = exporter_claim(tls);
  const std::string captured = mint(body);
  EXPECT_EQ(connect_with_password(captured, &tls).what, broker::auth_step::kind::success);
  fake_tls_facts other_session;
  other_session.session_secret = to_bytes("session-two");
  EXPECT_EQ(connect_with_password(captured, &other_session).what, broker::auth_step::kind::failure);
  // Without TLS there is no channel to bind to; without an exporter neither.
  EXPECT_EQ(connect_with_password(captured, nullptr).what, broker::auth_step::kind::failure);
  other_session.exporter_fails = true;
  EXPECT_EQ(connect_with_password(captured, &other_session).what, broker::auth_step::kind::failure);
}

// --- the MQTT 5 exchange ---

TEST_F(device_jwt_test, challenge_is_fresh_single_use_and_times_out) {
  register_device(replay_policy::nonce);
  auto first = run_step([&](auto done) { provider->start(method_request("a:1"), done); });
  auto second = run_step([&](auto done) { provider->start(method_request("a:2"), done); });
  ASSERT_TRUE(first.data && second.data);
  EXPECT_EQ(first.data->size(), 22u);  // base64url of 16 bytes
  EXPECT_NE(*first.data, *second.data);
  EXPECT_EQ(provider->pending_challenges(), 2u);
  time.advance(settings.challenge_timeout + 1s);
  auto body = claims(time.unix_seconds());
  body["nonce"] = std::string(as_string_view(*first.data));
  auto late = method_request("a:1", mint(body));
  EXPECT_EQ(run_step([&](auto done) { provider->continue_auth(late, done); }).what,
            broker::auth_step::kind::failure);
  EXPECT_EQ(provider->pending_challenges(), 1u);
}

TEST_F(device_jwt_test, pending_challenges_are_bounded) {
  settings.max_pending_challenges = 2;
  provider = std::make_unique<device_jwt_provider>(registry, acl, settings, time, random);
  register_device(replay_policy::nonce);
  for (const char* address : {"a:1", "b:1"}) {
    EXPECT_EQ(run_step([&](auto done) { provider->start(method_request(address), done); }).what,
              broker::auth_step::kind::continue_with);
  }
  auto busy = run_step([&](auto done) { provider->start(method_request("c:1"), done); });
  EXPECT_EQ(busy.reason, mqtt::reason_code::server_busy);
  time.advance(settings.challenge_timeout + 1s);  // expired ones make room
  EXPECT_EQ(run_step([&](auto done) { provider->start(method_request("c:1"), done); }).what,
            broker::auth_step::kind::continue_with);
}

TEST_F(device_jwt_test, one_host_holds_at_most_half_the_challenges_and_a_closed_connection_none) {
  settings.max_pending_challenges = 4;
  provider = std::make_unique<device_jwt_provider>(registry, acl, settings, time, random);
  register_device(replay_policy::nonce);
  for (const char* address : {"a:1", "a:2"}) {
    EXPECT_EQ(run_step([&](auto done) { provider->start(method_request(address), done); }).what,
              broker::auth_step::kind::continue_with);
  }
  EXPECT_EQ(run_step([&](auto done) { provider->start(method_request("a:3"), done); }).reason,
            mqtt::reason_code::server_busy);
  // The connection a:1 closes: its challenge goes, and a:3 gets one.
  const auto closing = method_request("a:1");
  provider->connection_closed(closing.listener_name, closing.remote_address);
  EXPECT_EQ(provider->pending_challenges(), 1u);
  EXPECT_EQ(run_step([&](auto done) { provider->start(method_request("a:3"), done); }).what,
            broker::auth_step::kind::continue_with);
}

TEST_F(device_jwt_test, reauthentication_refreshes_the_token_and_the_expiry) {
  register_device(replay_policy::nonce);
  auto sign = [&](const std::string& nonce) {
    auto body = claims(time.unix_seconds(), 600);
    body["nonce"] = nonce;
    return mint(body);
  };
  auto first = challenge_exchange(sign);
  ASSERT_EQ(first.what, broker::auth_step::kind::success);
  const auto first_expiry = *first.who->expires_at_unix();
  time.advance(500s);
  auto challenge = run_step([&](auto done) { provider->reauthenticate(method_request(), done); });
  ASSERT_EQ(challenge.what, broker::auth_step::kind::continue_with);
  auto reply =
      method_request("192.0.2.1:40000", sign(std::string(as_string_view(*challenge.data))));
  auto refreshed = run_step([&](auto done) { provider->continue_auth(reply, done); });
  ASSERT_EQ(refreshed.what, broker::auth_step::kind::success);
  EXPECT_EQ(*refreshed.who->expires_at_unix(), first_expiry + 500);
  auto other = method_request();
  other.method = "SCRAM-SHA-1";
  EXPECT_EQ(run_step([&](auto done) { provider->reauthenticate(other, done); }).reason,
            mqtt::reason_code::bad_authentication_method);
}

TEST_F(device_jwt_test, jwt_in_connect_authentication_data_needs_the_channel_binding) {
  register_device(replay_policy::nonce);
  auto unbound = method_request("192.0.2.1:40000", mint(claims(time.unix_seconds())));
  EXPECT_EQ(run_step([&](auto done) { provider->start(unbound, done); }).what,
            broker::auth_step::kind::failure);
  auto body = claims(time.unix_seconds());
  body[device_jwt_exporter_claim] = exporter_claim(tls);
  auto bound = method_request("192.0.2.1:40000", mint(body));
  EXPECT_EQ(run_step([&](auto done) { provider->start(bound, done); }).what,
            broker::auth_step::kind::success);
}

TEST(device_jwt_failure_names, are_stable) {
  EXPECT_EQ(to_string(device_jwt_failure::issued_in_future), "issued_in_future");
  EXPECT_EQ(to_string(device_jwt_failure::replayed), "replayed");
  EXPECT_EQ(to_string(device_jwt_failure::counter_not_increasing), "counter_not_increasing");
  EXPECT_EQ(to_string(replay_policy::nonce), "nonce");
  EXPECT_EQ(parse_replay_policy("counter"), replay_policy::counter);
  EXPECT_EQ(parse_replay_policy("none"), std::nullopt);
}

}  // namespace
}  // namespace acemq::auth
