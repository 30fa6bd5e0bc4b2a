// Memory per identity: sessions per principal and in total, the queued bytes of one principal,
// the bytes of the retained messages and the packets a client may send before it is
// authenticated - each at its bound and one past it (docs/operations.md, "Limits").

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

/// A client sending a user name is the test principal of that name; one sending none is passed
/// on (to allow_anonymous: the anonymous principal).
class user_provider final : public authenticator {
 public:
  std::string_view name() const override { return "users"; }
  void start(const authentication_request& request, completion done) override {
    if (!request.username) {
      done(auth_step::pass());
      return;
    }
    auto who = std::make_shared<test_principal>();
    who->subject = *request.username;
    done(auth_step::succeed(who));
  }
  void continue_auth(const authentication_request&, completion done) override {
    done(auth_step::fail(reason_code::protocol_error));
  }
  void reauthenticate(const authentication_request&, completion done) override {
    done(auth_step::fail(reason_code::not_authorized));
  }
};

class memory_bounds_test : public broker_test {
 protected:
  memory_bounds_test() {
    providers = {std::make_shared<user_provider>(), std::make_shared<allow_anonymous>()};
  }

  static principal_identity user(std::string_view name) { return {"test", {}, name}; }
  static principal_identity anonymous() { return {"anonymous", {}, {}}; }

  /// Sends CONNECT (a persistent session, optionally as `user_name`) and returns the client and
  /// its CONNACK.
  std::pair<client*, mqtt::connack> attempt(std::string client_id,
                                            std::optional<std::string> user_name,
                                            protocol_version version = protocol_version::v5,
                                            bool clean_start = true) {
    client& c = make_client(version);
    mqtt::connect packet = connect_packet(std::move(client_id), version, clean_start);
    if (version == protocol_version::v5) {
      packet.properties.session_expiry_interval = 3600;
    } else {
      packet.clean_start = false;  // 3.1.1: Clean Session 0 is a persistent session
    }
    packet.username = std::move(user_name);
    c.send(packet);
    settle();
    const auto acks = c.received_of<mqtt::connack>();
    EXPECT_EQ(acks.size(), 1u);
    return {&c, acks.empty() ? mqtt::connack{} : acks[0]};
  }

  /// A session of `user_name` (null: anonymous) that must be accepted, left offline.
  void offline_session(std::string client_id, std::optional<std::string> user_name,
                       std::string filter = {}) {
    auto [c, ack] = attempt(client_id, std::move(user_name));
    ASSERT_EQ(ack.reason_code, reason_code::success) << client_id;
    if (!filter.empty()) subscribe(*c, filter, 1);
    c->send(mqtt::disconnect{});
    settle();
  }

  void publish_qos1(client& from, std::string topic, std::string payload, bool retain = false) {
    from.send(publish_packet(std::move(topic), std::move(payload), 1, next_packet_id_++, retain));
    settle();
  }

  std::uint16_t next_packet_id_ = 1;
};

// ---- sessions ----

TEST_F(memory_bounds_test, sessions_per_principal_at_the_bound) {
  settings.max_sessions_per_principal = 2;
  offline_session("alice-1", "alice");
  offline_session("alice-2", "alice");
  EXPECT_EQ(engine().session_count_of(user("alice")), 2u);
  for (const protocol_version version : {protocol_version::v5, protocol_version::v311}) {
    auto [c, ack] = attempt("alice-3", "alice", version);
    // MQTT 5: 0x97 Quota exceeded; 3.1.1: return code 3, server unavailable.
    EXPECT_EQ(ack.reason_code, version == protocol_version::v5 ? reason_code::quota_exceeded
                                                               : reason_code::server_unavailable);
    EXPECT_TRUE(c->io().close_requested);
  }
  EXPECT_EQ(engine().find_session("alice-3"), nullptr);
  EXPECT_EQ(engine().counters().sessions_refused.load(), 2u);
  // Another principal is not affected; alice resumes and replaces (Clean Start) her own.
  EXPECT_EQ(attempt("bob-1", "bob").second.reason_code, reason_code::success);
  auto resumed = attempt("alice-1", "alice", protocol_version::v5, false).second;
  EXPECT_EQ(resumed.reason_code, reason_code::success);
  EXPECT_TRUE(resumed.session_present);
  EXPECT_EQ(attempt("alice-2", "alice").second.reason_code, reason_code::success);
  EXPECT_EQ(engine().session_count_of(user("alice")), 2u);
}

TEST_F(memory_bounds_test, an_ended_session_frees_its_place) {
  settings.max_sessions_per_principal = 1;
  offline_session("alice-a", "alice");
  // A session with expiry 0 is a session too, while its connection lasts.
  mqtt::connect brief = connect_packet("alice-b");
  brief.username = "alice";
  client& refused = make_client();
  refused.send(brief);
  settle();
  EXPECT_EQ(refused.received_of<mqtt::connack>().at(0).reason_code, reason_code::quota_exceeded);
  // alice's session ends (Clean Start 1 with expiry 0, then DISCONNECT): her place is free.
  mqtt::connect ending = connect_packet("alice-a");
  ending.username = "alice";
  client& last = make_client();
  last.send(ending);
  settle();
  ASSERT_EQ(last.received_of<mqtt::connack>().at(0).reason_code, reason_code::success);
  last.send(mqtt::disconnect{});
  settle();
  EXPECT_EQ(engine().session_count_of(user("alice")), 0u);
  EXPECT_EQ(attempt("alice-b", "alice").second.reason_code, reason_code::success);
}

TEST_F(memory_bounds_test, anonymous_principal_has_its_own_bound) {
  settings.max_sessions_per_principal = 5;
  settings.max_sessions_anonymous = 2;
  offline_session("anon-1", std::nullopt);
  offline_session("anon-2", std::nullopt);
  EXPECT_EQ(engine().session_count_of(anonymous()), 2u);
  EXPECT_EQ(attempt("anon-3", std::nullopt).second.reason_code, reason_code::quota_exceeded);
  for (int n = 1; n <= 5; ++n)
    offline_session("carol-" + std::to_string(n), "carol");
  EXPECT_EQ(attempt("carol-6", "carol").second.reason_code, reason_code::quota_exceeded);
}

TEST_F(memory_bounds_test, sessions_in_total_at_the_bound) {
  settings.max_sessions = 3;
  offline_session("a", "alice");
  offline_session("b", "bob");
  offline_session("c", std::nullopt);
  EXPECT_EQ(engine().session_count(), 3u);
  EXPECT_EQ(attempt("d", "dave").second.reason_code, reason_code::quota_exceeded);
  EXPECT_EQ(engine().session_count(), 3u);
  // Resuming is not creating.
  EXPECT_TRUE(attempt("a", "alice", protocol_version::v5, false).second.session_present);
}

// ---- queued bytes per principal ----

TEST_F(memory_bounds_test, one_principal_holds_its_share_of_the_queued_memory) {
  settings.max_queued_memory = 1000;
  settings.max_queued_memory_per_principal = 100;
  offline_session("hog-1", "mallory", "t");
  offline_session("hog-2", "mallory", "t");
  offline_session("victim", "alice", "t");
  client& publisher = connected("pub");
  // 10-byte payloads: mallory's two sessions take 5 each (100 bytes), then nothing more.
  for (int i = 0; i < 8; ++i)
    publish_qos1(publisher, "t", "0123456789");
  EXPECT_EQ(engine().queued_bytes_of(user("mallory")), 100u);
  EXPECT_EQ(engine().queued_bytes_of(user("alice")), 80u);
  EXPECT_EQ(engine().counters().messages_dropped.load(), 6u);
  publish_qos1(publisher, "t", "0123456789");
  publish_qos1(publisher, "t", "0123456789");
  EXPECT_EQ(engine().queued_bytes_of(user("alice")), 100u);
  EXPECT_EQ(engine().queued_bytes_of(user("mallory")), 100u);
  EXPECT_EQ(engine().counters().queued_bytes.load(), 200u);
  // A session that ends gives its bytes back to its principal's share.
  auto [c, ack] = attempt("hog-1", "mallory");  // Clean Start: ends the old session
  ASSERT_EQ(ack.reason_code, reason_code::success);
  EXPECT_EQ(engine().queued_bytes_of(user("mallory")), 50u);
  EXPECT_EQ(engine().counters().queued_bytes.load(), 150u);
}

TEST_F(memory_bounds_test, bytes_sent_in_one_batch_leave_the_shares_and_the_total) {
  settings.max_queued_memory = 1000;
  settings.max_queued_memory_per_principal = 100;
  offline_session("alice-1", "alice", "t");
  offline_session("bob-1", "bob", "t");
  client& publisher = connected("pub");
  for (int i = 0; i < 10; ++i)
    publish_qos1(publisher, "t", "0123456789");
  EXPECT_EQ(engine().queued_bytes_of(user("alice")), 100u);
  EXPECT_EQ(engine().counters().queued_bytes.load(), 200u);
  // Alice comes back: her ten messages leave the queue in one batch, and their bytes leave her
  // share and the broker-wide total (settled once for the batch).
  client& alice = make_client(protocol_version::v5);
  mqtt::connect again = connect_packet("alice-1", protocol_version::v5, false);
  again.properties.session_expiry_interval = 3600;
  again.username = "alice";
  alice.send(again);
  settle();
  EXPECT_EQ(alice.received_of<mqtt::publish>().size(), 10u);
  EXPECT_EQ(engine().queued_bytes_of(user("alice")), 0u);
  EXPECT_EQ(engine().queued_bytes_of(user("bob")), 100u);
  EXPECT_EQ(engine().counters().queued_bytes.load(), 100u);
  // Her share has room again; Bob's has none.
  alice.send(mqtt::disconnect{});
  settle();
  publish_qos1(publisher, "t", "0123456789");
  EXPECT_EQ(engine().queued_bytes_of(user("alice")), 10u);
  EXPECT_EQ(engine().counters().queued_bytes.load(), 110u);
}

TEST_F(memory_bounds_test, the_default_share_is_a_quarter_of_the_ceiling) {
  EXPECT_EQ(queued_memory_share(broker_settings{}), broker_settings{}.max_queued_memory / 4);
  settings.max_queued_memory = 400;
  settings.max_queued_memory_per_principal = 0;
  offline_session("hog", "mallory", "t");
  client& publisher = connected("pub");
  for (int i = 0; i < 11; ++i)
    publish_qos1(publisher, "t", "0123456789");
  EXPECT_EQ(engine().queued_bytes_of(user("mallory")), 100u);
  // Never more than the ceiling itself.
  broker_settings larger;
  larger.max_queued_memory = 10;
  larger.max_queued_memory_per_principal = 50;
  EXPECT_EQ(queued_memory_share(larger), 10u);
}

// ---- retained messages ----

TEST_F(memory_bounds_test, retained_bytes_at_the_bound) {
  // "a" + 10 bytes = 11 bytes a message; two fit exactly.
  settings.max_retained_memory = 22;
  client& watcher = connected("watcher");
  subscribe(watcher, "#", 1);
  client& publisher = connected("pub");
  publish_qos1(publisher, "a", "0123456789", true);
  publish_qos1(publisher, "b", "0123456789", true);
  EXPECT_EQ(engine().retained_bytes(), 22u);
  publish_qos1(publisher, "c", "0123456789", true);
  auto acks = publisher.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[0].reason_code, reason_code::success);
  EXPECT_EQ(acks[1].reason_code, reason_code::success);
  EXPECT_EQ(acks[2].reason_code, reason_code::quota_exceeded);
  EXPECT_EQ(engine().retained_count(), 2u);
  EXPECT_EQ(engine().counters().retained_refused.load(), 1u);
  // Refused as a whole: not delivered either.
  EXPECT_EQ(watcher.received_of<mqtt::publish>().size(), 2u);

  // QoS 2: PUBREC 0x97, and the packet identifier is not held.
  publisher.send(publish_packet("c", "0123456789", 2, 77, true));
  settle();
  const auto recs = publisher.received_of<mqtt::pubrec>();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].reason_code, reason_code::quota_exceeded);

  // Replacing within the bound is fine; growing past it is refused and keeps the old one.
  publish_qos1(publisher, "a", "9876543210", true);
  publish_qos1(publisher, "a", "0123456789x", true);
  acks = publisher.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0].reason_code, reason_code::success);
  EXPECT_EQ(acks[1].reason_code, reason_code::quota_exceeded);
  EXPECT_EQ(engine().retained_bytes(), 22u);

  // Deleting (empty payload) frees its bytes: "c" fits now.
  publish_qos1(publisher, "b", "", true);
  publish_qos1(publisher, "c", "0123456789", true);
  acks = publisher.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[1].reason_code, reason_code::success);
  EXPECT_EQ(engine().retained_bytes(), 22u);
  EXPECT_EQ(engine().counters().retained_bytes.load(), 22u);
}

TEST_F(memory_bounds_test, retained_count_refuses_with_quota_exceeded) {
  settings.max_retained_messages = 1;
  client& publisher = connected("pub");
  publish_qos1(publisher, "a", "1", true);
  publish_qos1(publisher, "b", "2", true);
  const auto acks = publisher.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[1].reason_code, reason_code::quota_exceeded);
  EXPECT_EQ(engine().retained_count(), 1u);
}

TEST_F(memory_bounds_test, refused_retained_qos0_and_v311_are_dropped) {
  settings.max_retained_memory = 11;
  client& watcher = connected("watcher");
  subscribe(watcher, "#", 1);
  client& publisher = connected("pub");
  publish_qos1(publisher, "a", "0123456789", true);
  publisher.send(publish_packet("b", "0123456789", 0, 0, true));
  settle();
  client& old = connected("old", protocol_version::v311);
  old.send(publish_packet("c", "0123456789", 1, 5, true));
  settle();
  // 3.1.1 has no reason codes: acknowledged, neither stored nor delivered.
  EXPECT_EQ(old.received_of<mqtt::puback>().size(), 1u);
  EXPECT_EQ(watcher.received_of<mqtt::publish>().size(), 1u);
  EXPECT_EQ(engine().retained_count(), 1u);
  EXPECT_EQ(engine().counters().retained_refused.load(), 2u);
}

TEST_F(memory_bounds_test, a_retained_will_beyond_the_bound_is_delivered_not_stored) {
  settings.max_retained_memory = 11;
  client& watcher = connected("watcher");
  subscribe(watcher, "#", 1);
  client& publisher = connected("pub");
  publish_qos1(publisher, "a", "0123456789", true);
  mqtt::connect with_will = connect_packet("dying");
  with_will.will = mqtt::will_message{"w", to_bytes("0123456789"), 1, true, {}};
  client& dying = make_client();
  dying.send(with_will);
  settle();
  dying.drop();
  settle();
  const auto delivered = watcher.received_of<mqtt::publish>();
  ASSERT_EQ(delivered.size(), 2u);
  EXPECT_EQ(delivered[1].topic, "w");
  EXPECT_EQ(engine().retained_count(), 1u);
}

// ---- packets before authentication ----

/// A CONNECT of exactly `total` bytes (a User Property pads it).
byte_vector connect_of_size(std::size_t total, protocol_version version) {
  mqtt::connect packet;
  packet.protocol_version = version;
  packet.client_id = "sized";
  packet.keep_alive = 60;
  std::size_t padding = 0;
  byte_vector bytes;
  for (int round = 0; round < 8; ++round) {
    if (version == protocol_version::v5) {
      packet.properties.user_properties = {{"p", std::string(padding, 'x')}};
    } else {
      packet.username = std::string(padding, 'x');
    }
    bytes.clear();
    mqtt::encode(packet, version, bytes);
    if (bytes.size() == total) break;
    padding = padding + total - bytes.size();
  }
  EXPECT_EQ(bytes.size(), total);
  return bytes;
}

class pre_authentication_test : public broker_test,
                                public ::testing::WithParamInterface<protocol_version> {};

TEST_P(pre_authentication_test, connect_at_the_bound_is_accepted) {
  settings.max_packet_size_before_authentication = 300;
  client& c = make_client(GetParam());
  c.send_bytes(connect_of_size(300, GetParam()));
  settle();
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::success);
  // Once authenticated, maximum_packet_size applies.
  c.send(publish_packet("t", std::string(1000, 'p'), 1, 1));
  settle();
  EXPECT_EQ(c.received_of<mqtt::puback>().size(), 1u);
  EXPECT_FALSE(c.io().close_requested);
}

TEST_P(pre_authentication_test, connect_past_the_bound_is_refused_from_its_header) {
  settings.max_packet_size_before_authentication = 300;
  const byte_vector whole = connect_of_size(301, GetParam());
  client& c = make_client(GetParam());
  // Only the first bytes (fixed header, protocol name and level): refused before the body.
  c.send_bytes(byte_view(whole).first(12));
  settle();
  EXPECT_TRUE(c.transport_closed());
  const auto acks = c.received_of<mqtt::connack>();
  if (GetParam() == protocol_version::v5) {
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].reason_code, reason_code::packet_too_large);
  } else {
    EXPECT_TRUE(acks.empty());
  }
}

TEST_P(pre_authentication_test, header_split_across_reads_is_refused_too) {
  settings.max_packet_size_before_authentication = 300;
  const byte_vector whole = connect_of_size(1000, GetParam());
  client& c = make_client(GetParam());
  c.send_bytes(byte_view(whole).first(2));  // type and the first Remaining Length byte
  settle();
  EXPECT_FALSE(c.transport_closed());
  c.send_bytes(byte_view(whole).subspan(2, 12));
  settle();
  EXPECT_TRUE(c.transport_closed());
  EXPECT_EQ(c.received_of<mqtt::connack>().size(), GetParam() == protocol_version::v5 ? 1u : 0u);
}

TEST_P(pre_authentication_test, never_more_than_the_maximum_packet_size) {
  settings.maximum_packet_size = 200;
  settings.max_packet_size_before_authentication = 64 * 1024;
  client& c = make_client(GetParam());
  c.send_bytes(byte_view(connect_of_size(201, GetParam())).first(12));
  settle();
  EXPECT_TRUE(c.transport_closed());
}

INSTANTIATE_TEST_SUITE_P(versions, pre_authentication_test,
                         ::testing::Values(protocol_version::v5, protocol_version::v311));

}  // namespace
}  // namespace acemq::broker::testing
