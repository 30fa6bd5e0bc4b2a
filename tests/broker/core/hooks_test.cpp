// The hooks an authorization profile such as ACE (RFC 9431) needs from the core: the publish
// interceptor (authz-info) with TLS:Anon,MQTT:None clients, the refusing step's User Properties in
// CONNACK, disconnect on a refused delivery, expiry and revocation re-read on wake / timer /
// packet, re-authentication that narrows subscriptions, and the 3.1.1 unauthorized PUBLISH.

#include <algorithm>
#include <thread>

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

constexpr std::int64_t start_unix = 1'700'000'000;  // manual_clock's default start

/// Intercepts "authz-info"; answers synchronously with `answer`, or later (complete()).
class fake_interceptor final : public publish_interceptor {
 public:
  bool intercepts(std::string_view topic) const override { return topic == "authz-info"; }
  bool refuses_subscription(std::string_view filter) const override {
    return filter == "authz-info";
  }
  void on_publish(const intercepted_publish& upload, completion done) override {
    uploads.emplace_back(as_string_view(upload.payload));
    last_client_id = std::string(upload.client_id);
    last_qos = upload.qos;
    saw_tls = upload.tls != nullptr;
    if (asynchronous) {
      pending.push_back(std::move(done));
    } else {
      done(answer);
    }
  }
  void complete(intercept_verdict verdict) {
    auto work = std::move(pending);
    pending.clear();
    for (auto& done : work)
      done(verdict);
  }

  intercept_verdict answer;
  bool asynchronous = false;
  std::vector<std::string> uploads;
  std::string last_client_id;
  std::uint8_t last_qos = 0;
  bool saw_tls = false;
  std::vector<completion> pending;
};

/// User name "full": unrestricted; "strict"/"plain": a test_principal (strict or not) that the
/// test can reach through `issued`; method "TEST": success, and AUTH 0x19 succeeds at once with
/// `next` (the re-authenticated principal). Anything else: next provider.
class scripted_provider final : public authenticator {
 public:
  std::string_view name() const override { return "scripted"; }
  void start(const authentication_request& request, completion done) override {
    if (request.method == "TEST") {
      done(auth_step::succeed(make(true)));
      return;
    }
    if (request.method) {
      done(auth_step::pass());
      return;
    }
    if (request.username == "full") {
      done(auth_step::succeed(std::make_shared<unrestricted_principal>("full")));
    } else if (request.username == "strict" || request.username == "plain") {
      done(auth_step::succeed(make(request.username == "strict")));
    } else if (request.username == "refused") {
      auto step = auth_step::fail(reason_code::not_authorized);
      step.user_properties = {{"ace_as_hint", R"({"AS":"https://as.example"})"}};
      done(std::move(step));
    } else {
      done(auth_step::pass());
    }
  }
  void continue_auth(const authentication_request&, completion done) override {
    done(auth_step::fail(reason_code::protocol_error));
  }
  void reauthenticate(const authentication_request&, completion done) override {
    if (!next) {
      done(auth_step::fail(reason_code::not_authorized));
      return;
    }
    issued.push_back(next);
    done(auth_step::succeed(next));
  }

  std::shared_ptr<test_principal> make(bool strict) {
    auto who = std::make_shared<test_principal>();
    who->strict = strict;
    who->expires_at = expires_at;
    issued.push_back(who);
    return who;
  }

  std::optional<std::int64_t> expires_at;
  std::shared_ptr<test_principal> next;
  std::vector<std::shared_ptr<test_principal>> issued;
};

class hooks_test : public broker_test {
 protected:
  void SetUp() override {
    providers = {scripted, std::make_shared<public_topics_only>()};
    interceptor = std::make_shared<fake_interceptor>();
    listener.interceptor = interceptor;
    listener.tls = true;
  }

  client& connect_as(std::string client_id, std::optional<std::string> username,
                     protocol_version version = protocol_version::v5, bool tls = true) {
    client& c = make_client(version);
    if (tls) c.io().tls_facts_of = &tls_session;
    auto packet = connect_packet(std::move(client_id), version);
    packet.username = std::move(username);
    c.send(packet);
    settle();
    return c;
  }

  client& connected_as(std::string client_id, std::optional<std::string> username,
                       protocol_version version = protocol_version::v5) {
    client& c = connect_as(std::move(client_id), std::move(username), version);
    const auto acks = c.received_of<mqtt::connack>();
    EXPECT_EQ(acks.size(), 1u);
    if (!acks.empty()) {
      EXPECT_EQ(acks[0].reason_code, reason_code::success);
    }
    return c;
  }

  static std::optional<reason_code> disconnect_reason(client& c) {
    const auto notices = c.received_of<mqtt::disconnect>();
    if (notices.empty()) return std::nullopt;
    return notices.back().reason_code;
  }

  std::shared_ptr<scripted_provider> scripted = std::make_shared<scripted_provider>();
  std::shared_ptr<fake_interceptor> interceptor;
  anonymous_tls tls_session;
};

// ---- item 1: publish interceptor and TLS:Anon,MQTT:None ----

TEST_F(hooks_test, AnonymousTlsClientUploadsToAuthzInfoAtQos1) {
  client& sub = connected_as("sub", "full");
  subscribe(sub, "#");
  client& device = connected_as("device", std::nullopt);
  device.send(publish_packet("authz-info", "token-bytes", 1, 7));
  settle();
  ASSERT_EQ(interceptor->uploads.size(), 1u);
  EXPECT_EQ(interceptor->uploads[0], "token-bytes");
  EXPECT_EQ(interceptor->last_client_id, "device");
  EXPECT_EQ(interceptor->last_qos, 1);
  EXPECT_TRUE(interceptor->saw_tls);
  const auto acks = device.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 7);
  EXPECT_EQ(acks[0].reason_code, reason_code::success);
  // Consumed, never routed.
  EXPECT_TRUE(sub.received_of<mqtt::publish>().empty());
}

TEST_F(hooks_test, PublicOnlyClientMayDoNothingElse) {
  client& device = connected_as("device", std::nullopt);
  device.send(publish_packet("sensors/t", "x", 1, 1));
  settle();
  const auto acks = device.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::not_authorized);
  device.send(subscribe_packet(2, "#"));
  settle();
  const auto subacks = device.received_of<mqtt::suback>();
  ASSERT_EQ(subacks.size(), 1u);
  EXPECT_EQ(subacks[0].reason_codes[0], reason_code::not_authorized);
}

TEST_F(hooks_test, NoCredentialsOverPlainTcpIsRefused) {
  client& c = connect_as("device", std::nullopt, protocol_version::v5, false);
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::not_authorized);
}

TEST_F(hooks_test, CredentialsNeverFallBackToPublicOnly) {
  // A user name nobody accepts is refused, not downgraded to the public-only principal.
  client& c = connect_as("device", "stranger");
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::not_authorized);
}

TEST_F(hooks_test, SubscriptionToInterceptedTopicIsRefused) {
  client& sub = connected_as("sub", "full");
  mqtt::subscribe packet;
  packet.packet_id = 3;
  packet.subscriptions = {{"authz-info", {}}, {"other", {}}};
  sub.send(packet);
  settle();
  const auto acks = sub.received_of<mqtt::suback>();
  ASSERT_EQ(acks.size(), 1u);
  ASSERT_EQ(acks[0].reason_codes.size(), 2u);
  EXPECT_EQ(acks[0].reason_codes[0], reason_code::not_authorized);
  EXPECT_EQ(acks[0].reason_codes[1], reason_code::success);
}

TEST_F(hooks_test, SubscriptionToInterceptedTopicIs0x80InV311) {
  client& sub = connected_as("sub", "full", protocol_version::v311);
  sub.send(subscribe_packet(3, "authz-info"));
  settle();
  const auto acks = sub.received_of<mqtt::suback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_codes[0], reason_code::unspecified_error);
}

TEST_F(hooks_test, RefusedUploadAtQos1CarriesTheReason) {
  interceptor->answer = {reason_code::payload_format_invalid, false};
  client& device = connected_as("device", std::nullopt);
  device.send(publish_packet("authz-info", "not a token", 1, 4));
  settle();
  const auto acks = device.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::payload_format_invalid);
  EXPECT_FALSE(device.transport_closed());
}

TEST_F(hooks_test, RefusedUploadAtQos0Disconnects) {
  interceptor->answer = {reason_code::not_authorized, true};
  client& device = connected_as("device", std::nullopt);
  device.send(publish_packet("authz-info", "bad token", 0));
  settle();
  EXPECT_EQ(disconnect_reason(device), reason_code::not_authorized);
  EXPECT_TRUE(device.transport_closed());
}

TEST_F(hooks_test, Qos2UploadCompletesTheExchangeAndIsNotRetained) {
  client& device = connected_as("device", std::nullopt);
  device.send(publish_packet("authz-info", "token", 2, 9, true));
  settle();
  const auto recs = device.received_of<mqtt::pubrec>();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].reason_code, reason_code::success);
  mqtt::pubrel release;
  release.packet_id = 9;
  device.send(release);
  settle();
  const auto comps = device.received_of<mqtt::pubcomp>();
  ASSERT_EQ(comps.size(), 1u);
  EXPECT_EQ(comps[0].reason_code, reason_code::success);
  EXPECT_EQ(engine().retained_count(), 0u);
}

TEST_F(hooks_test, LaterPacketsWaitForAnAsynchronousVerdict) {
  interceptor->asynchronous = true;
  client& device = connected_as("device", std::nullopt);
  byte_vector both;
  mqtt::encode(publish_packet("authz-info", "token", 1, 1), protocol_version::v5, both);
  mqtt::encode(mqtt::pingreq{}, protocol_version::v5, both);
  device.send_bytes(both);
  settle();
  // Neither the PUBACK nor the PINGRESP before the verdict.
  EXPECT_TRUE(device.received().empty());
  ASSERT_EQ(interceptor->pending.size(), 1u);
  // The verdict comes from another thread and is posted back to the connection's thread.
  std::thread worker([this] { interceptor->complete({reason_code::not_authorized, false}); });
  worker.join();
  settle();
  const auto packets = device.received();
  ASSERT_EQ(packets.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<mqtt::puback>(packets[0]));
  EXPECT_EQ(std::get<mqtt::puback>(packets[0]).reason_code, reason_code::not_authorized);
  EXPECT_TRUE(std::holds_alternative<mqtt::pingresp>(packets[1]));
}

TEST_F(hooks_test, VerdictAfterTheConnectionIsGoneIsDropped) {
  interceptor->asynchronous = true;
  client& device = connected_as("device", std::nullopt);
  device.send(publish_packet("authz-info", "token", 1, 1));
  settle();
  device.drop();
  interceptor->complete({});
  settle();
  EXPECT_TRUE(device.received_of<mqtt::puback>().empty());
}

TEST_F(hooks_test, V311UploadIsAcknowledgedNormally) {
  // RFC 9431 6.1: 3.1.1 cannot carry the result.
  interceptor->answer = {reason_code::success, false};
  client& device = connected_as("device", std::nullopt, protocol_version::v311);
  device.send(publish_packet("authz-info", "token", 1, 2));
  settle();
  const auto acks = device.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 2);
}

// ---- item 2: the refusing step's User Properties ----

TEST_F(hooks_test, RefusedConnackCarriesTheProvidersUserProperties) {
  client& c = connect_as("c", "refused");
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::not_authorized);
  ASSERT_EQ(acks[0].properties.user_properties.size(), 1u);
  EXPECT_EQ(acks[0].properties.user_properties[0].first, "ace_as_hint");
}

TEST_F(hooks_test, RefusedConnackInV311HasNoProperties) {
  client& c = connect_as("c", "refused", protocol_version::v311);
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::not_authorized);
  EXPECT_TRUE(c.transport_closed() || c.io().close_requested);
}

// ---- item 3: a refused delivery disconnects principals that ask for it ----

TEST_F(hooks_test, RefusedDeliveryDisconnectsAStrictSubscriber) {
  client& sub = connected_as("sub", "strict");
  subscribe(sub, "hidden/#");
  client& pub = connected_as("pub", "full");
  pub.send(publish_packet("hidden/x", "secret"));
  settle();
  const auto packets = sub.received();
  ASSERT_EQ(packets.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<mqtt::disconnect>(packets[0]));
  EXPECT_EQ(std::get<mqtt::disconnect>(packets[0]).reason_code, reason_code::not_authorized);
  EXPECT_TRUE(sub.transport_closed());
  // The exact bytes: explicit empty property length (Paho 1.6 compatibility).
  const byte_vector expected{0xE0, 0x02, 0x87, 0x00};
  ASSERT_GE(sub.io().wire.size(), expected.size());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), sub.io().wire.end() - 4));
}

TEST_F(hooks_test, RefusedDeliveryClosesAStrictV311Subscriber) {
  client& sub = connected_as("sub", "strict", protocol_version::v311);
  subscribe(sub, "hidden/#");
  client& pub = connected_as("pub", "full");
  pub.send(publish_packet("hidden/x", "secret"));
  settle();
  EXPECT_TRUE(sub.received().empty());
  EXPECT_TRUE(sub.transport_closed());
}

TEST_F(hooks_test, RefusedDeliveryIsDroppedSilentlyForOtherPrincipals) {
  client& sub = connected_as("sub", "plain");
  subscribe(sub, "hidden/#");
  client& pub = connected_as("pub", "full");
  pub.send(publish_packet("hidden/x", "secret"));
  settle();
  EXPECT_TRUE(sub.received().empty());
  EXPECT_FALSE(sub.transport_closed());
  EXPECT_EQ(engine().counters().deliveries_denied.load(), 1u);
}

TEST_F(hooks_test, QueuedDeliveryRefusedAtDequeueDisconnects) {
  // The grant narrows after the message was queued: the dequeue check closes the connection.
  client& sub = connected_as("sub", "strict");
  subscribe(sub, "news/#");
  client& pub = connected_as("pub", "full");
  scripted->issued.back()->hidden_prefix = "news/";
  auto held = engine().find_session("sub");
  ASSERT_TRUE(held);
  {
    // Queue directly, as routing would have before the grant changed.
    auto state = held->lock();
    delivery item;
    auto content = std::make_shared<message>();
    content->topic = "news/a";
    content->payload = std::make_shared<const byte_vector>(to_bytes("x"));
    item.msg = content;
    state->traffic().queue.push_back(item);
    state->traffic().queued_bytes += 1;
    ++state->traffic().queued_qos0;
  }
  (void)pub;
  sub.machine().on_wake();
  settle();
  EXPECT_TRUE(sub.received_of<mqtt::publish>().empty());
  EXPECT_TRUE(sub.transport_closed());
}

// ---- item 4: expiry and revocation ----

TEST_F(hooks_test, ExpiryMovedEarlierIsPickedUpOnWake) {
  scripted->expires_at = start_unix + 100;
  client& c = connected_as("c", "strict");
  auto who = scripted->issued.back();
  who->expires_at = start_unix + 10;
  EXPECT_EQ(engine().wake_all(), 1u);
  settle();
  EXPECT_FALSE(c.transport_closed());
  advance(std::chrono::seconds(10));
  EXPECT_EQ(disconnect_reason(c), reason_code::not_authorized);
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(hooks_test, RevocationWakesOnlyTheHolder) {
  client& a = connected_as("a", "strict");
  auto revoked = scripted->issued.back();
  client& b = connected_as("b", "strict");
  revoked->is_revoked = true;
  const principal* target = revoked.get();
  EXPECT_EQ(engine().wake_if([target](const principal& p) { return &p == target; }), 1u);
  settle();
  EXPECT_EQ(disconnect_reason(a), reason_code::not_authorized);
  EXPECT_TRUE(a.transport_closed());
  EXPECT_FALSE(b.transport_closed());
}

TEST_F(hooks_test, RevokedPrincipalIsRefusedAtConnect) {
  scripted->next = nullptr;
  auto who = std::make_shared<test_principal>();
  who->is_revoked = true;
  class revoked_provider final : public authenticator {
   public:
    explicit revoked_provider(std::shared_ptr<test_principal> who) : who_(std::move(who)) {}
    std::string_view name() const override { return "revoked"; }
    void start(const authentication_request&, completion done) override {
      done(auth_step::succeed(who_));
    }
    void continue_auth(const authentication_request&, completion done) override {
      done(auth_step::fail(reason_code::not_authorized));
    }
    void reauthenticate(const authentication_request&, completion done) override {
      done(auth_step::fail(reason_code::not_authorized));
    }

   private:
    std::shared_ptr<test_principal> who_;
  };
  providers = {std::make_shared<revoked_provider>(who)};
  client& c = connect_as("c", std::nullopt);
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::not_authorized);
}

class expiry_on_packet_test : public hooks_test,
                              public ::testing::WithParamInterface<protocol_version> {};

TEST_P(expiry_on_packet_test, PingreqAfterExpiryEndsTheConnection) {
  client& c = connected_as("c", "strict", GetParam());
  scripted->issued.back()->expires_at = start_unix;  // ended, no wake, no timer yet
  c.send(mqtt::pingreq{});
  settle();
  EXPECT_TRUE(c.received_of<mqtt::pingresp>().empty());
  EXPECT_TRUE(c.transport_closed());
}

TEST_P(expiry_on_packet_test, PublishAfterExpiryEndsTheConnection) {
  client& sub = connected_as("sub", "full");
  subscribe(sub, "t");
  client& c = connected_as("c", "strict", GetParam());
  scripted->issued.back()->expires_at = start_unix;
  c.send(publish_packet("t", "x", 1, 1));
  settle();
  EXPECT_TRUE(c.received_of<mqtt::puback>().empty());
  EXPECT_TRUE(c.transport_closed());
  EXPECT_TRUE(sub.received_of<mqtt::publish>().empty());
}

TEST_P(expiry_on_packet_test, SubscribeAfterExpiryEndsTheConnection) {
  client& c = connected_as("c", "strict", GetParam());
  scripted->issued.back()->is_revoked = true;
  c.send(subscribe_packet(1, "t"));
  settle();
  EXPECT_TRUE(c.received_of<mqtt::suback>().empty());
  EXPECT_TRUE(c.transport_closed());
}

INSTANTIATE_TEST_SUITE_P(versions, expiry_on_packet_test,
                         ::testing::Values(protocol_version::v5, protocol_version::v311));

TEST_F(hooks_test, V5ExpiryDisconnectsWith0x87AndV311Closes) {
  scripted->expires_at = start_unix + 30;
  client& v5 = connected_as("five", "strict");
  client& v311 = connected_as("three", "strict", protocol_version::v311);
  advance(std::chrono::seconds(30));
  EXPECT_EQ(disconnect_reason(v5), reason_code::not_authorized);
  EXPECT_TRUE(v5.transport_closed());
  EXPECT_TRUE(v311.received().empty());
  EXPECT_TRUE(v311.transport_closed());
}

// ---- item 5: re-authentication narrows the grant at once ----

class reauth_test : public hooks_test {
 protected:
  client& connected_with_method(std::string client_id) {
    client& c = make_client();
    auto packet = connect_packet(std::move(client_id));
    packet.properties.authentication_method = "TEST";
    c.send(packet);
    settle();
    const auto acks = c.received_of<mqtt::connack>();
    EXPECT_EQ(acks.size(), 1u);
    return c;
  }
  static mqtt::auth reauth() {
    mqtt::auth packet;
    packet.reason_code = reason_code::reauthenticate;
    packet.properties.authentication_method = "TEST";
    return packet;
  }
};

TEST_F(reauth_test, SubscriptionsTheNewScopeRefusesAreRemoved) {
  client& c = connected_with_method("c");
  subscribe(c, "a/1");
  subscribe(c, "b/1");
  const auto session_of = engine().find_session("c");
  ASSERT_TRUE(session_of);
  EXPECT_EQ(engine().counters().subscriptions.load(), 2u);
  auto narrower = std::make_shared<test_principal>();
  narrower->denied_prefix = "a/";
  scripted->next = narrower;
  c.send(reauth());
  settle();
  const auto auths = c.received_of<mqtt::auth>();
  ASSERT_EQ(auths.size(), 1u);
  EXPECT_EQ(auths[0].reason_code, reason_code::success);
  EXPECT_EQ(engine().counters().subscriptions.load(), 1u);

  client& pub = connected_as("pub", "full");
  pub.send(publish_packet("a/1", "old scope"));
  pub.send(publish_packet("b/1", "still allowed"));
  settle();
  const auto got = c.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "b/1");
  EXPECT_FALSE(c.transport_closed());
}

TEST_F(reauth_test, NewExpiryAppliesImmediately) {
  scripted->expires_at = start_unix + 100;
  client& c = connected_with_method("c");
  auto sooner = std::make_shared<test_principal>();
  sooner->expires_at = start_unix + 20;
  scripted->next = sooner;
  c.send(reauth());
  settle();
  advance(std::chrono::seconds(20));
  EXPECT_EQ(disconnect_reason(c), reason_code::not_authorized);
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(reauth_test, LaterExpiryKeepsTheConnectionPastTheOldOne) {
  scripted->expires_at = start_unix + 20;
  client& c = connected_with_method("c");
  auto later = std::make_shared<test_principal>();
  later->expires_at = start_unix + 200;
  scripted->next = later;
  c.send(reauth());
  settle();
  advance(std::chrono::seconds(30));
  c.send(mqtt::pingreq{});
  settle();
  EXPECT_FALSE(c.transport_closed());
  EXPECT_EQ(c.received_of<mqtt::pingresp>().size(), 1u);
}

TEST_F(reauth_test, AlreadyEndedGrantFailsTheReauthentication) {
  client& c = connected_with_method("c");
  auto ended = std::make_shared<test_principal>();
  ended->expires_at = start_unix - 1;
  scripted->next = ended;
  c.send(reauth());
  settle();
  EXPECT_EQ(disconnect_reason(c), reason_code::not_authorized);
  EXPECT_TRUE(c.transport_closed());
}

// ---- item 7: MQTT 3.1.1 unauthorized PUBLISH ----

TEST_F(hooks_test, StrictV311PrincipalIsDisconnectedOnUnauthorizedPublish) {
  client& c = connected_as("c", "strict", protocol_version::v311);
  c.send(publish_packet("denied/x", "m", 1, 1));
  settle();
  EXPECT_TRUE(c.received_of<mqtt::puback>().empty());
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(hooks_test, PlainV311PrincipalFollowsTheDropPolicy) {
  client& c = connected_as("c", "plain", protocol_version::v311);
  c.send(publish_packet("denied/x", "m", 1, 1));
  settle();
  EXPECT_EQ(c.received_of<mqtt::puback>().size(), 1u);
  EXPECT_FALSE(c.transport_closed());
}

TEST_F(hooks_test, StrictV311DeniedFilterGets0x80) {
  client& c = connected_as("c", "strict", protocol_version::v311);
  c.send(subscribe_packet(1, "denied/a"));
  settle();
  const auto acks = c.received_of<mqtt::suback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_codes[0], reason_code::unspecified_error);
}

// ---- item 6: retained messages end with the publisher's grant ----

TEST_F(hooks_test, RetainedMessageIsDroppedWhenThePublishersGrantEnds) {
  scripted->expires_at = start_unix + 50;
  client& pub = connected_as("pub", "plain");
  mqtt::publish retained = publish_packet("r/1", "kept while the token lives", 1, 1, true);
  retained.properties.message_expiry_interval = 3600;
  pub.send(retained);
  settle();
  EXPECT_EQ(engine().retained_count(), 1u);
  scripted->expires_at.reset();
  client& early = connected_as("early", "full");
  early.send(subscribe_packet(1, "r/#"));
  settle();
  EXPECT_EQ(early.received_of<mqtt::publish>().size(), 1u);
  // The publisher is disconnected at its expiry; the retained copy goes at the same time.
  advance(std::chrono::seconds(50));
  EXPECT_EQ(engine().retained_count(), 0u);
  client& late = connected_as("late", "full");
  late.send(subscribe_packet(1, "r/#"));
  settle();
  EXPECT_TRUE(late.received_of<mqtt::publish>().empty());
}

TEST_F(hooks_test, MessageExpiryBeforeTheGrantStillApplies) {
  scripted->expires_at = start_unix + 500;
  client& pub = connected_as("pub", "plain");
  mqtt::publish retained = publish_packet("r/1", "short", 0, 0, true);
  retained.properties.message_expiry_interval = 10;
  pub.send(retained);
  settle();
  advance(std::chrono::seconds(10));
  EXPECT_EQ(engine().retained_count(), 0u);
}

TEST_F(hooks_test, RetainedMessageWithoutGrantExpiryStays) {
  client& pub = connected_as("pub", "full");
  pub.send(publish_packet("r/1", "forever", 0, 0, true));
  settle();
  advance(std::chrono::seconds(3600));
  EXPECT_EQ(engine().retained_count(), 1u);
}

// RFC 9431 5: a retained Will is a retained message of its client: it ends with the client's
// grant. Before, broker::publish_will set no bound and such a Will stayed retained for ever.

/// A CONNECT of `client_id` with a retained Will on `topic`; `method` "TEST" or user name "plain"
/// (scripted->expires_at is the grant's end either way).
mqtt::connect connect_with_retained_will(std::string client_id, std::string topic,
                                         bool with_method = false) {
  mqtt::connect packet;
  packet.protocol_version = protocol_version::v5;
  packet.client_id = std::move(client_id);
  packet.clean_start = true;
  packet.keep_alive = 60;
  if (with_method) {
    packet.properties.authentication_method = "TEST";
  } else {
    packet.username = "plain";
  }
  packet.will = mqtt::will_message{std::move(topic), to_bytes("gone"), 0, true, {}};
  return packet;
}

TEST_F(hooks_test, RetainedWillOfAnEndedGrantIsDeliveredButNotRetained) {
  client& keeper = connected_as("keeper", "full");
  keeper.send(publish_packet("w/dying", "online", 0, 0, true));
  scripted->expires_at = start_unix + 50;
  client& dying = make_client();
  dying.send(connect_with_retained_will("dying", "w/dying"));
  settle();
  ASSERT_EQ(dying.received_of<mqtt::connack>().size(), 1u);
  scripted->expires_at.reset();
  client& watcher = connected_as("watcher", "full");
  subscribe(watcher, "w/#");  // reads the retained "online" with the SUBACK
  advance(std::chrono::seconds(50));
  EXPECT_EQ(disconnect_reason(dying), reason_code::not_authorized);
  // Published although the token expired (RFC 9431 5) ...
  const auto live = watcher.received_of<mqtt::publish>();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].topic, "w/dying");
  EXPECT_EQ(payload_of(live[0]), "gone");
  // ... but its retained copy ends with the token, which has ended: it replaced the topic's
  // retained message and is gone with it.
  EXPECT_EQ(engine().retained_count(), 0u);
  client& late = connected_as("late", "full");
  late.send(subscribe_packet(1, "w/#"));
  settle();
  EXPECT_TRUE(late.received_of<mqtt::publish>().empty());
}

TEST_F(hooks_test, RetainedWillIsDroppedWhenThePublishersGrantEnds) {
  scripted->expires_at = start_unix + 50;
  client& dying = make_client();
  dying.send(connect_with_retained_will("dying", "w/dying"));
  settle();
  ASSERT_EQ(dying.received_of<mqtt::connack>().size(), 1u);
  scripted->expires_at.reset();
  advance(std::chrono::seconds(10));
  dying.drop();
  settle();
  EXPECT_EQ(engine().retained_count(), 1u);
  client& early = connected_as("early", "full");
  early.send(subscribe_packet(1, "w/#"));
  settle();
  EXPECT_EQ(early.received_of<mqtt::publish>().size(), 1u);
  advance(std::chrono::seconds(40));  // the grant's end
  EXPECT_EQ(engine().retained_count(), 0u);
  client& late = connected_as("late", "full");
  late.send(subscribe_packet(1, "w/#"));
  settle();
  EXPECT_TRUE(late.received_of<mqtt::publish>().empty());
}

TEST_F(hooks_test, RetainedWillWithoutGrantExpiryStays) {
  client& dying = make_client();
  dying.send(connect_with_retained_will("dying", "w/dying"));
  settle();
  dying.drop();
  settle();
  advance(std::chrono::seconds(3600));
  EXPECT_EQ(engine().retained_count(), 1u);
}

TEST_F(reauth_test, RetainedWillEndsWithTheReauthenticatedGrant) {
  scripted->expires_at = start_unix + 50;
  client& c = make_client();
  c.send(connect_with_retained_will("c", "w/c", true));
  settle();
  ASSERT_EQ(c.received_of<mqtt::connack>().size(), 1u);
  auto longer = std::make_shared<test_principal>();
  longer->expires_at = start_unix + 200;
  scripted->next = longer;
  c.send(reauth());
  settle();
  const auto auths = c.received_of<mqtt::auth>();
  ASSERT_EQ(auths.size(), 1u);
  EXPECT_EQ(auths[0].reason_code, reason_code::success);
  advance(std::chrono::seconds(10));
  c.drop();
  settle();
  advance(std::chrono::seconds(60));  // past the first token's end: the new one holds
  EXPECT_EQ(engine().retained_count(), 1u);
  advance(std::chrono::seconds(130));  // the new token's end
  EXPECT_EQ(engine().retained_count(), 0u);
}

}  // namespace
}  // namespace acemq::broker::testing
