// Authentication chain, enhanced authentication (AUTH 0x18 / 0x19), authorization on publish,
// subscribe, delivery and the Will, credential expiry.

#include <string>
#include <vector>

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

/// Accepts clients without a method with a test_principal (optionally expiring).
class principal_provider final : public authenticator {
 public:
  std::string_view name() const override { return "principal"; }
  void start(const authentication_request& request, completion done) override {
    if (request.method) {
      done(auth_step::pass());
      return;
    }
    auto who = std::make_shared<test_principal>();
    who->expires_at = expires_at;
    done(auth_step::succeed(who));
  }
  void continue_auth(const authentication_request&, completion done) override {
    done(auth_step::fail(reason_code::protocol_error));
  }
  void reauthenticate(const authentication_request&, completion done) override {
    done(auth_step::fail(reason_code::not_authorized));
  }
  std::optional<std::int64_t> expires_at;
};

/// Method "TEST": challenge "challenge", answer "good". Can complete later (asynchronously).
class challenge_provider final : public authenticator {
 public:
  std::string_view name() const override { return "challenge"; }
  void start(const authentication_request& request, completion done) override {
    if (request.method != "TEST") {
      done(auth_step::pass());
      return;
    }
    ++starts;
    auto step = auth_step::continue_exchange(to_bytes("challenge"));
    step.user_properties = {{"hint", "x"}};
    finish(std::move(done), std::move(step));
  }
  void continue_auth(const authentication_request& request, completion done) override {
    if (request.data == to_bytes("good")) {
      auto who = std::make_shared<test_principal>();
      who->expires_at = expires_at;
      finish(std::move(done), auth_step::succeed(who, to_bytes("welcome")));
    } else {
      finish(std::move(done), auth_step::fail(reason_code::not_authorized));
    }
  }
  void reauthenticate(const authentication_request&, completion done) override {
    finish(std::move(done), auth_step::continue_exchange(to_bytes("again")));
  }
  void finish(completion done, auth_step step) {
    if (asynchronous) {
      pending.emplace_back(std::move(done), std::move(step));
    } else {
      done(std::move(step));
    }
  }
  void complete_pending() {
    auto work = std::move(pending);
    pending.clear();
    for (auto& [done, step] : work)
      done(std::move(step));
  }

  bool asynchronous = false;
  int starts = 0;
  std::optional<std::int64_t> expires_at;
  std::vector<std::pair<completion, auth_step>> pending;
};

class auth_test : public broker_test {
 protected:
  void SetUp() override {
    challenge = std::make_shared<challenge_provider>();
    plain = std::make_shared<principal_provider>();
    providers = {challenge, plain};
  }
  // A provider holding a completion keeps the chain alive through it (the completion must run
  // exactly once); tests that leave exchanges unfinished release them here.
  void TearDown() override { challenge->pending.clear(); }
  mqtt::connect method_connect(std::string client_id) {
    mqtt::connect packet = connect_packet(std::move(client_id));
    packet.properties.authentication_method = "TEST";
    return packet;
  }
  static mqtt::auth auth_packet(reason_code code, std::string data, std::string method = "TEST") {
    mqtt::auth packet;
    packet.reason_code = code;
    packet.properties.authentication_method = std::move(method);
    packet.properties.authentication_data = to_bytes(data);
    return packet;
  }
  client& enhanced(std::string client_id) {
    client& c = make_client();
    c.send(method_connect(std::move(client_id)));
    settle();
    c.send(auth_packet(reason_code::continue_authentication, "good"));
    settle();
    const auto acks = c.received_of<mqtt::connack>();
    EXPECT_EQ(acks.size(), 1u);
    return c;
  }

  std::shared_ptr<challenge_provider> challenge;
  std::shared_ptr<principal_provider> plain;
};

TEST_F(auth_test, deny_all_refuses_v5_with_0x87) {
  providers = {std::make_shared<deny_all>()};
  client& c = make_client();
  c.send(connect_packet("x"));
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::not_authorized);
  EXPECT_TRUE(c.io().close_requested);
}

TEST_F(auth_test, deny_all_refuses_v311_with_return_code_5) {
  providers = {std::make_shared<deny_all>()};
  client& c = make_client(protocol_version::v311);
  c.send(connect_packet("x", protocol_version::v311));
  ASSERT_EQ(c.io().wire.size(), 4u);
  EXPECT_EQ(c.io().wire[3], 0x05);
}

/// Refuses with a reason code CONNACK does not allow.
class odd_refusal final : public authenticator {
 public:
  std::string_view name() const override { return "odd"; }
  void start(const authentication_request&, completion done) override {
    done(auth_step::fail(reason_code::session_taken_over));
  }
  void continue_auth(const authentication_request&, completion done) override {
    done(auth_step::fail(reason_code::session_taken_over));
  }
  void reauthenticate(const authentication_request&, completion done) override {
    done(auth_step::fail(reason_code::session_taken_over));
  }
};

TEST_F(auth_test, refusal_code_not_allowed_in_connack_becomes_0x80) {
  providers = {std::make_shared<odd_refusal>()};
  client& c = make_client();
  c.send(connect_packet("x"));
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::unspecified_error);
}

/// Records what it is asked, then accepts.
class recording_provider final : public authenticator {
 public:
  std::string_view name() const override { return "recording"; }
  void start(const authentication_request& request, completion done) override {
    seen.push_back(request);
    done(auth_step::succeed(std::make_shared<test_principal>()));
  }
  void continue_auth(const authentication_request& request, completion done) override {
    seen.push_back(request);
    done(auth_step::succeed(std::make_shared<test_principal>()));
  }
  void reauthenticate(const authentication_request& request, completion done) override {
    seen.push_back(request);
    done(auth_step::succeed(std::make_shared<test_principal>()));
  }
  std::vector<authentication_request> seen;
};

TEST_F(auth_test, provider_sees_the_connect) {
  auto recorder = std::make_shared<recording_provider>();
  providers = {recorder};
  listener.name = "edge";
  client& c = make_client();
  mqtt::connect packet = connect_packet("seen");
  packet.username = "alice";
  packet.password = to_bytes("secret");
  packet.properties.user_properties = {{"k", "v"}};
  packet.will = mqtt::will_message{"wills/seen", to_bytes("x"), 0, false, {}};
  c.send(packet);
  ASSERT_EQ(recorder->seen.size(), 1u);
  const authentication_request& request = recorder->seen[0];
  EXPECT_EQ(request.version, protocol_version::v5);
  EXPECT_EQ(request.client_id, "seen");
  EXPECT_EQ(request.username, "alice");
  EXPECT_EQ(request.password, to_bytes("secret"));
  EXPECT_EQ(request.will_topic, "wills/seen");
  EXPECT_EQ(request.remote_address, "192.0.2.1:50000");
  EXPECT_EQ(request.listener_name, "edge");
  EXPECT_EQ(request.tls, nullptr);
  EXPECT_EQ(request.user_properties.size(), 1u);
}

TEST_F(auth_test, reauthentication_request_carries_the_auth_data_but_no_password) {
  auto recorder = std::make_shared<recording_provider>();
  providers = {recorder};
  client& c = make_client();
  mqtt::connect packet = method_connect("re");
  packet.username = "bob";
  packet.password = to_bytes("secret");
  c.send(packet);
  c.send(auth_packet(reason_code::reauthenticate, "fresh-token"));
  ASSERT_EQ(recorder->seen.size(), 2u);
  EXPECT_EQ(recorder->seen[1].username, "bob");
  EXPECT_EQ(recorder->seen[1].data, to_bytes("fresh-token"));
  EXPECT_FALSE(recorder->seen[1].password);
  EXPECT_EQ(c.received_of<mqtt::auth>().at(0).reason_code, reason_code::success);
}

TEST_F(auth_test, unknown_method_is_0x8c) {
  providers = {std::make_shared<allow_anonymous>()};
  client& c = make_client();
  mqtt::connect packet = connect_packet("x");
  packet.properties.authentication_method = "SCRAM-SHA-1";
  c.send(packet);
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code,
            reason_code::bad_authentication_method);
}

TEST_F(auth_test, unknown_method_is_0x8c_in_a_chain_that_ends_in_deny_all) {
  // [MQTT-4.12.0-1]: the broker's chains always end in deny_all; it must not turn an
  // unsupported method into 0x87.
  providers = {std::make_shared<allow_anonymous>(), std::make_shared<deny_all>()};
  client& c = make_client();
  mqtt::connect packet = connect_packet("x");
  packet.properties.authentication_method = "SCRAM-SHA-1";
  c.send(packet);
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code,
            reason_code::bad_authentication_method);
  EXPECT_TRUE(c.io().close_requested);
}

TEST_F(auth_test, client_id_must_match_identity_when_the_policy_is_on) {
  settings.client_id_must_match_identity = true;
  providers = {plain};  // principals of subject "tester"
  client& own = make_client();
  own.send(connect_packet("tester"));
  settle();
  EXPECT_EQ(own.received_of<mqtt::connack>().at(0).reason_code, reason_code::success);
  for (const char* other : {"someone-else", ""}) {
    client& c = make_client();
    c.send(connect_packet(other));
    settle();
    EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code,
              reason_code::client_identifier_not_valid)
        << other;
  }
  client& old = make_client(mqtt::protocol_version::v311);
  old.send(connect_packet("someone-else", mqtt::protocol_version::v311));
  settle();
  // 3.1.1 return code 2, Identifier rejected: the codec maps 0x85 to it.
  EXPECT_EQ(old.received_of<mqtt::connack>().at(0).reason_code,
            reason_code::client_identifier_not_valid);
}

TEST(allow_anonymous_provider, every_anonymous_client_is_one_principal_whatever_its_user_name) {
  allow_anonymous provider;
  std::vector<auth_step> steps;
  const auto keep = [&steps](auth_step step) { steps.push_back(std::move(step)); };
  authentication_request request;
  request.client_id = "a";
  provider.start(request, keep);
  request.client_id = "b";
  provider.start(request, keep);
  request.username = "alice";
  provider.start(request, keep);
  ASSERT_EQ(steps.size(), 3u);
  for (const auto& step : steps) {
    ASSERT_EQ(step.what, auth_step::kind::success);
    ASSERT_NE(step.who, nullptr);
    EXPECT_TRUE(step.who->may_receive("any/topic"));
  }
  EXPECT_EQ(steps[0].who->name(), "anonymous");
  EXPECT_EQ(steps[0].who, steps[1].who);
  // A user name without a password proves nothing: not the password-checked alice.
  EXPECT_EQ(steps[2].who, steps[0].who);
  EXPECT_EQ(steps[2].who->identity(), (principal_identity{"anonymous", {}, {}}));
}

TEST(allow_anonymous_provider, confines_anonymous_clients_to_their_topics) {
  allow_anonymous provider(std::vector<std::string>{"public/#"});
  std::optional<auth_step> step;
  provider.start(authentication_request{}, [&step](auth_step s) { step = std::move(s); });
  ASSERT_TRUE(step && step->who);
  const principal& who = *step->who;
  EXPECT_EQ(who.may_publish("public/hello"), reason_code::success);
  EXPECT_EQ(who.may_publish("demo/hello"), reason_code::not_authorized);
  EXPECT_EQ(who.may_subscribe("public/#"), reason_code::success);
  EXPECT_EQ(who.may_subscribe("public/+/x"), reason_code::success);
  EXPECT_EQ(who.may_subscribe("$share/g/public/x"), reason_code::success);
  EXPECT_EQ(who.may_subscribe("#"), reason_code::not_authorized);
  EXPECT_EQ(who.may_subscribe("$share/g/#"), reason_code::not_authorized);
  EXPECT_TRUE(who.may_receive("public/a/b"));
  EXPECT_FALSE(who.may_receive("private/a"));
  EXPECT_FALSE(who.may_receive("$SYS/broker/uptime"));
}

TEST_F(auth_test, empty_chain_refuses) {
  providers = {};
  // broker_test treats an empty list as allow_anonymous; build an explicitly empty chain.
  auto chain = std::make_shared<const auth_chain>(std::vector<std::shared_ptr<authenticator>>{});
  listener.auth = chain;
  client& c = make_client();
  c.send(connect_packet("x"));
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::not_authorized);
}

TEST_F(auth_test, chain_passes_to_the_next_provider) {
  client& c = make_client();
  c.send(connect_packet("plain"));
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::success);
  EXPECT_EQ(challenge->starts, 0);
}

TEST_F(auth_test, enhanced_authentication_success) {
  client& c = make_client();
  c.send(method_connect("e"));
  settle();
  const auto challenges = c.received_of<mqtt::auth>();
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].reason_code, reason_code::continue_authentication);
  EXPECT_EQ(challenges[0].properties.authentication_method, "TEST");
  EXPECT_EQ(challenges[0].properties.authentication_data, to_bytes("challenge"));
  EXPECT_EQ(challenges[0].properties.user_properties.size(), 1u);
  c.send(auth_packet(reason_code::continue_authentication, "good"));
  settle();
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::success);
  EXPECT_EQ(acks[0].properties.authentication_method, "TEST");
  EXPECT_EQ(acks[0].properties.authentication_data, to_bytes("welcome"));
}

TEST_F(auth_test, enhanced_authentication_failure_is_0x87) {
  client& c = make_client();
  c.send(method_connect("e"));
  settle();
  c.send(auth_packet(reason_code::continue_authentication, "bad"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::not_authorized);
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(auth_test, auth_with_another_method_is_a_protocol_error) {
  client& c = make_client();
  c.send(method_connect("e"));
  settle();
  c.send(auth_packet(reason_code::continue_authentication, "good", "OTHER"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::protocol_error);
}

TEST_F(auth_test, auth_without_method_at_connect_is_a_protocol_error) {
  client& c = connected("plain");
  c.send(auth_packet(reason_code::reauthenticate, "x"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::protocol_error);
}

TEST_F(auth_test, asynchronous_completion_is_posted_to_the_connection) {
  challenge->asynchronous = true;
  client& c = make_client();
  c.send(method_connect("async"));
  EXPECT_TRUE(c.received().empty());
  challenge->complete_pending();
  ASSERT_EQ(c.io().tasks.size(), 1u);
  settle();
  EXPECT_EQ(c.received_of<mqtt::auth>().size(), 1u);
  c.send(auth_packet(reason_code::continue_authentication, "good"));
  challenge->complete_pending();
  settle();
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::success);
}

TEST_F(auth_test, completion_after_the_connection_is_gone_is_dropped) {
  challenge->asynchronous = true;
  client& c = make_client();
  c.send(method_connect("async"));
  c.drop();
  challenge->complete_pending();
  EXPECT_TRUE(c.io().tasks.empty());
}

TEST_F(auth_test, a_completion_called_again_after_connack_is_ignored) {
  challenge->asynchronous = true;
  client& c = make_client();
  c.send(method_connect("twice"));
  challenge->complete_pending();
  settle();
  ASSERT_EQ(c.received_of<mqtt::auth>().size(), 1u);
  c.send(auth_packet(reason_code::continue_authentication, "good"));
  ASSERT_EQ(challenge->pending.size(), 1u);
  auto again = challenge->pending.front();  // a provider that will complete twice
  challenge->complete_pending();
  settle();
  ASSERT_EQ(c.received_of<mqtt::connack>().size(), 1u);
  // Nothing awaits a completion any more: the second one is dropped where it is called, before
  // anything is posted to the connection, and the connection carries on.
  again.first(std::move(again.second));
  EXPECT_TRUE(c.io().tasks.empty());
  settle();
  EXPECT_TRUE(c.received().empty());
  EXPECT_FALSE(c.io().close_requested);
  // A new exchange on the same connection still completes.
  c.send(auth_packet(reason_code::reauthenticate, "x"));
  challenge->complete_pending();
  settle();
  ASSERT_EQ(c.received_of<mqtt::auth>().size(), 1u);
  c.send(auth_packet(reason_code::continue_authentication, "good"));
  challenge->complete_pending();
  settle();
  const auto done = c.received_of<mqtt::auth>();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].reason_code, reason_code::success);
}

TEST_F(auth_test, packets_during_authentication_wait_for_connack) {
  challenge->asynchronous = true;
  client& c = make_client();
  byte_vector bytes;
  mqtt::encode(method_connect("early"), protocol_version::v5, bytes);
  mqtt::encode(mqtt::pingreq{}, protocol_version::v5, bytes);
  c.send_bytes(bytes);
  EXPECT_TRUE(c.received().empty());
  challenge->complete_pending();
  settle();
  c.received();
  c.send(auth_packet(reason_code::continue_authentication, "good"));
  challenge->complete_pending();
  settle();
  const auto packets = c.received();
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<mqtt::connack>(packets[0]));
  EXPECT_TRUE(std::holds_alternative<mqtt::pingresp>(packets[1]));
}

TEST_F(auth_test, connect_timeout_covers_authentication) {
  settings.connect_timeout = std::chrono::seconds(3);
  challenge->asynchronous = true;
  client& c = make_client();
  c.send(method_connect("slow"));
  advance(std::chrono::seconds(4));
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(auth_test, reauthentication_success) {
  client& c = enhanced("re");
  c.send(auth_packet(reason_code::reauthenticate, "x"));
  const auto challenges = c.received_of<mqtt::auth>();
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].reason_code, reason_code::continue_authentication);
  EXPECT_EQ(challenges[0].properties.authentication_data, to_bytes("again"));
  c.send(auth_packet(reason_code::continue_authentication, "good"));
  const auto done = c.received_of<mqtt::auth>();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].reason_code, reason_code::success);
  EXPECT_FALSE(c.io().close_requested);
}

TEST_F(auth_test, reauthentication_failure_is_0x87) {
  client& c = enhanced("re");
  c.send(auth_packet(reason_code::reauthenticate, "x"));
  c.send(auth_packet(reason_code::continue_authentication, "bad"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::not_authorized);
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(auth_test, reauthentication_with_another_method_is_a_protocol_error) {
  client& c = enhanced("re");
  c.send(auth_packet(reason_code::reauthenticate, "x", "OTHER"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::disconnect>().at(0).reason_code,
            reason_code::protocol_error);  // [MQTT-4.12.1-1]
}

TEST_F(auth_test, no_user_properties_on_auth_without_problem_information) {
  client& c = make_client();
  mqtt::connect packet = method_connect("quiet");
  packet.properties.request_problem_information = 0;
  c.send(packet);
  settle();
  EXPECT_TRUE(c.received_of<mqtt::auth>().at(0).properties.user_properties.empty());
}

TEST_F(auth_test, publish_denied_qos1_is_puback_0x87) {
  client& sub = connected("sub");
  subscribe(sub, "#");
  client& c = connected("pub");
  c.send(publish_packet("denied/x", "m", 1, 1));
  settle();
  EXPECT_EQ(c.received_of<mqtt::puback>().at(0).reason_code, reason_code::not_authorized);
  EXPECT_TRUE(sub.received_of<mqtt::publish>().empty());
}

TEST_F(auth_test, publish_denied_qos2_is_pubrec_0x87) {
  client& c = connected("pub");
  c.send(publish_packet("denied/x", "m", 2, 1));
  EXPECT_EQ(c.received_of<mqtt::pubrec>().at(0).reason_code, reason_code::not_authorized);
}

TEST_F(auth_test, publish_denied_qos0_is_dropped) {
  client& sub = connected("sub");
  subscribe(sub, "#");
  client& c = connected("pub");
  c.send(publish_packet("denied/x", "m"));
  settle();
  EXPECT_TRUE(sub.received_of<mqtt::publish>().empty());
  EXPECT_FALSE(c.transport_closed());
}

TEST_F(auth_test, publish_denied_v311_drop_policy_acknowledges) {
  client& sub = connected("sub");
  subscribe(sub, "#");
  client& c = connected("pub", protocol_version::v311);
  c.send(publish_packet("denied/x", "m", 1, 1));
  settle();
  EXPECT_EQ(c.received_of<mqtt::puback>().size(), 1u);
  EXPECT_TRUE(sub.received_of<mqtt::publish>().empty());
}

TEST_F(auth_test, publish_denied_v311_disconnect_policy_closes) {
  settings.v311_denied_publish = v311_denied_publish_policy::disconnect;
  client& c = connected("pub", protocol_version::v311);
  c.send(publish_packet("denied/x", "m", 1, 1));
  settle();
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(auth_test, subscribe_denied_is_0x87_per_filter) {
  client& c = connected("s");
  mqtt::subscribe packet;
  packet.packet_id = 1;
  packet.subscriptions = {{"denied/a", {0}}, {"ok", {0}}};
  c.send(packet);
  const std::vector<reason_code> expected{reason_code::not_authorized, reason_code::success};
  EXPECT_EQ(c.received_of<mqtt::suback>().at(0).reason_codes, expected);
}

TEST_F(auth_test, subscribe_denied_v311_is_0x80) {
  client& c = connected("s", protocol_version::v311);
  c.send(subscribe_packet(1, "denied/a"));
  EXPECT_EQ(c.received_of<mqtt::suback>().at(0).reason_codes.at(0), reason_code::unspecified_error);
}

TEST_F(auth_test, delivery_is_authorized_per_message) {
  client& c = connected("s");
  subscribe(c, "#");
  client& pub = connected("pub");
  pub.send(publish_packet("hidden/x", "secret"));
  pub.send(publish_packet("open/x", "fine"));
  settle();
  const auto got = c.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "open/x");
  EXPECT_EQ(engine().counters().deliveries_denied.load(), 1u);
}

TEST_F(auth_test, delivery_is_authorized_per_message_of_one_read) {
  // The QoS 0 messages of one read are routed together (broker::route_batch), each authorized.
  client& c = connected("s");
  subscribe(c, "#");
  client& pub = connected("pub");
  byte_vector read;
  for (int i = 0; i < 6; ++i) {
    mqtt::encode(publish_packet(i % 2 == 0 ? "open/x" : "hidden/x", std::to_string(i)),
                 protocol_version::v5, read);
  }
  pub.send_bytes(read);
  settle();
  std::vector<std::string> got;
  for (const auto& packet : c.received_of<mqtt::publish>())
    got.push_back(payload_of(packet));
  EXPECT_EQ(got, (std::vector<std::string>{"0", "2", "4"}));
  EXPECT_EQ(engine().counters().deliveries_denied.load(), 3u);
}

TEST_F(auth_test, will_topic_denied_is_connack_0x87) {
  client& c = make_client();
  mqtt::connect packet = connect_packet("w");
  packet.will = mqtt::will_message{"denied/will", to_bytes("x"), 0, false, {}};
  c.send(packet);
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::not_authorized);
}

TEST_F(auth_test, expired_credentials_disconnect_v5_with_0x87) {
  plain->expires_at = time.unix_seconds() + 60;
  client& c = make_client();
  mqtt::connect packet = connect_packet("exp");
  packet.keep_alive = 0;
  c.send(packet);
  c.received();
  advance(std::chrono::seconds(59));
  EXPECT_FALSE(c.transport_closed());
  advance(std::chrono::seconds(2));
  EXPECT_EQ(c.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::not_authorized);
}

TEST_F(auth_test, expired_credentials_close_v311) {
  plain->expires_at = time.unix_seconds() + 60;
  client& c = make_client(protocol_version::v311);
  mqtt::connect packet = connect_packet("exp", protocol_version::v311);
  packet.keep_alive = 0;
  c.send(packet);
  c.received();
  advance(std::chrono::seconds(61));
  EXPECT_TRUE(c.received().empty());
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(auth_test, already_expired_credentials_are_refused) {
  plain->expires_at = time.unix_seconds() - 1;
  client& c = make_client();
  c.send(connect_packet("late"));
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::not_authorized);
}

TEST_F(auth_test, reauthentication_extends_the_credentials) {
  challenge->expires_at = time.unix_seconds() + 60;
  client& c = make_client();
  mqtt::connect packet = method_connect("renew");
  packet.keep_alive = 0;
  c.send(packet);
  settle();
  c.send(auth_packet(reason_code::continue_authentication, "good"));
  settle();
  c.received();
  advance(std::chrono::seconds(50));
  challenge->expires_at = time.unix_seconds() + 600;
  c.send(auth_packet(reason_code::reauthenticate, "x"));
  c.send(auth_packet(reason_code::continue_authentication, "good"));
  advance(std::chrono::seconds(100));
  EXPECT_FALSE(c.transport_closed());
  advance(std::chrono::seconds(500));
  EXPECT_TRUE(c.transport_closed());
}

}  // namespace
}  // namespace acemq::broker::testing
