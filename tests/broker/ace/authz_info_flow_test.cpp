// The broker core and the ACE provider together, in virtual time: a TLS:Anon,MQTT:None client
// uploads its token to authz-info (RFC 9431 2.2.1, 2.2.2) through the broker's publish
// interceptor, then reconnects with the `ace` method and no token and passes the broker challenge
// against the stored token; its scope is enforced, a refused delivery and a revocation close the
// connection with 0x87 (RFC 9431 3.2).

#include <algorithm>

#include "../core/harness.hpp"
#include "acemq/ace/authz_info.hpp"
#include "acemq/ace/principal.hpp"
#include "fixture.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

class ace_flow_test : public broker_test {
 protected:
  void SetUp() override {
    handler = std::make_unique<ace::authz_info_handler>(*w.validator, w.store);
    listener.tls = true;
    listener.interceptor = std::make_shared<ace::authz_info_interceptor>(*handler);
    providers = {w.provider, std::make_shared<allow_named>(),
                 std::make_shared<public_topics_only>()};
  }

  /// "admin" publishes anything (the other side of the scope tests).
  class allow_named final : public authenticator {
   public:
    std::string_view name() const override { return "named"; }
    void start(const authentication_request& request, completion done) override {
      if (!request.method && request.username == "admin") {
        done(auth_step::succeed(std::make_shared<unrestricted_principal>("admin")));
      } else {
        done(auth_step::pass());
      }
    }
    void continue_auth(const authentication_request&, completion done) override {
      done(auth_step::fail(reason_code::not_authorized));
    }
    void reauthenticate(const authentication_request&, completion done) override {
      done(auth_step::fail(reason_code::not_authorized));
    }
  };

  client& anonymous(std::string client_id) {
    client& c = make_client();
    c.io().tls_facts_of = &tls;
    c.send(connect_packet(std::move(client_id)));
    settle();
    const auto acks = c.received_of<mqtt::connack>();
    EXPECT_EQ(acks.size(), 1u);
    if (!acks.empty()) {
      EXPECT_EQ(acks[0].reason_code, reason_code::success);
    }
    return c;
  }

  /// CONNECT with method "ace" and no token, then the answer to the broker's challenge.
  client& with_stored_token(std::string client_id) {
    client& c = make_client();
    c.io().tls_facts_of = &tls;
    auto packet = connect_packet(std::move(client_id));
    packet.properties.authentication_method = "ace";
    c.send(packet);
    settle();
    const auto challenges = c.received_of<mqtt::auth>();
    EXPECT_EQ(challenges.size(), 1u);
    if (challenges.empty() || !challenges[0].properties.authentication_data) return c;
    mqtt::auth answer;
    answer.reason_code = reason_code::continue_authentication;
    answer.properties.authentication_method = "ace";
    answer.properties.authentication_data = ace::testing::challenge_answer(
        *challenges[0].properties.authentication_data, w.pop_ed25519);
    c.send(answer);
    settle();
    return c;
  }

  ace::testing::world w;
  ace::testing::fake_tls tls{0x42};
  std::unique_ptr<ace::authz_info_handler> handler;
};

TEST_F(ace_flow_test, UploadThenConnectWithTheStoredToken) {
  client& device = anonymous("device");
  device.send(publish_packet("authz-info", w.token(), 1, 1));
  settle();
  const auto acks = device.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::success);
  ASSERT_NE(w.store.find_for_client("device"), nullptr);
  device.send(mqtt::disconnect{});
  settle();

  client& again = with_stored_token("device");
  const auto connacks = again.received_of<mqtt::connack>();
  ASSERT_EQ(connacks.size(), 1u);
  EXPECT_EQ(connacks[0].reason_code, reason_code::success);
  // The scope allows publishing sensors/+/temp and subscribing cmd/#, nothing else.
  again.send(publish_packet("sensors/1/temp", "21", 1, 2));
  again.send(publish_packet("cmd/x", "no", 1, 3));
  settle();
  const auto published = again.received_of<mqtt::puback>();
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].reason_code, reason_code::no_matching_subscribers);
  EXPECT_EQ(published[1].reason_code, reason_code::not_authorized);
}

TEST_F(ace_flow_test, UploadVerdictsFollowRfc9431) {
  client& device = anonymous("device");
  device.send(publish_packet("authz-info", "hello", 1, 1));
  auto c = w.claims();
  c["aud"] = "another";
  device.send(publish_packet("authz-info", w.sign(c), 2, 2));
  settle();
  const auto packets = device.received();
  ASSERT_EQ(packets.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<mqtt::puback>(packets[0]));
  EXPECT_EQ(std::get<mqtt::puback>(packets[0]).reason_code, reason_code::payload_format_invalid);
  ASSERT_TRUE(std::holds_alternative<mqtt::pubrec>(packets[1]));
  EXPECT_EQ(std::get<mqtt::pubrec>(packets[1]).reason_code, reason_code::not_authorized);
  // QoS 0 with an invalid token: DISCONNECT 0x87.
  device.send(publish_packet("authz-info", w.sign(c), 0));
  settle();
  const auto notices = device.received_of<mqtt::disconnect>();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].reason_code, reason_code::not_authorized);
  EXPECT_TRUE(device.transport_closed());
  EXPECT_EQ(w.store.size(), 0u);
}

TEST_F(ace_flow_test, AuthzInfoIsPublishOnly) {
  client& admin = make_client();
  auto packet = connect_packet("admin");
  packet.username = "admin";
  admin.send(packet);
  settle();
  ASSERT_EQ(admin.received_of<mqtt::connack>().size(), 1u);
  subscribe(admin, "#");
  admin.send(subscribe_packet(2, "authz-info"));
  settle();
  const auto acks = admin.received_of<mqtt::suback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_codes[0], reason_code::not_authorized);
  client& device = anonymous("device");
  device.send(publish_packet("authz-info", w.token(), 1, 1, true));
  settle();
  EXPECT_TRUE(admin.received_of<mqtt::publish>().empty());
  EXPECT_EQ(engine().retained_count(), 0u);
}

TEST_F(ace_flow_test, RefusedDeliveryAndRevocationDisconnect) {
  client& device = anonymous("device");
  device.send(publish_packet("authz-info", w.token(), 1, 1));
  settle();
  device.send(mqtt::disconnect{});
  settle();
  client& subscriber = with_stored_token("device");
  ASSERT_EQ(subscriber.received_of<mqtt::connack>().size(), 1u);
  subscribe(subscriber, "cmd/#");

  // Revocation: the listener wakes the connections holding the token; they end with 0x87.
  const auto held = w.store.find_for_client("device");
  ASSERT_NE(held, nullptr);
  w.revocations.set_listener([this](const ace::validated_token_ptr& token) {
    engine().wake_if([&token](const principal& who) {
      const auto* ace_who = dynamic_cast<const ace::ace_principal*>(&who);
      return ace_who != nullptr && ace_who->shared_token() == token;
    });
  });
  ace::revocation_page page;
  page.cursor = 1;
  page.revoked.push_back({held->hash_text, held->expires_at, w.time.unix_seconds()});
  EXPECT_EQ(w.revocations.apply(page), 1u);
  settle();
  const auto notices = subscriber.received_of<mqtt::disconnect>();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].reason_code, reason_code::not_authorized);
  EXPECT_TRUE(subscriber.transport_closed());
}

}  // namespace
}  // namespace acemq::broker::testing
