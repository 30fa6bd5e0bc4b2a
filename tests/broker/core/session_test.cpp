// Sessions: clean start vs resume, Session Present, take-over, redelivery, session expiry, Wills.

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

class session_test : public broker_test {
 protected:
  client& persistent(std::string client_id, std::uint32_t expiry = 3600, bool clean = false) {
    client& c = make_client();
    mqtt::connect packet = connect_packet(std::move(client_id), protocol_version::v5, clean);
    packet.properties.session_expiry_interval = expiry;
    c.send(packet);
    settle();
    return c;
  }

  client& with_will(std::string client_id, std::uint32_t delay, std::uint32_t expiry = 3600) {
    client& c = make_client();
    mqtt::connect packet = connect_packet(std::move(client_id), protocol_version::v5, false);
    packet.properties.session_expiry_interval = expiry;
    mqtt::will_message will{"wills/" + packet.client_id, to_bytes("gone"), 0, false, {}};
    will.properties.will_delay_interval = delay;
    will.properties.user_properties = {{"why", "test"}};
    packet.will = std::move(will);
    c.send(packet);
    settle();
    EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::success);
    return c;
  }
};

TEST_F(session_test, clean_start_gives_no_session_present) {
  client& first = persistent("p");
  EXPECT_FALSE(first.received_of<mqtt::connack>().at(0).session_present);
  first.send(mqtt::disconnect{});
  settle();
  client& clean = persistent("p", 3600, true);
  EXPECT_FALSE(clean.received_of<mqtt::connack>().at(0).session_present);
}

TEST_F(session_test, resume_gives_session_present_and_keeps_subscriptions) {
  client& first = persistent("p");
  first.received();
  subscribe(first, "keep/#", 1);
  first.send(mqtt::disconnect{});
  settle();
  client& again = persistent("p");
  EXPECT_TRUE(again.received_of<mqtt::connack>().at(0).session_present);  // [MQTT-3.2.2-3]
  client& pub = connected("pub");
  pub.send(publish_packet("keep/x", "m", 1, 1));
  settle();
  EXPECT_EQ(again.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(session_test, idle_sessions_hold_no_traffic_state_until_messages_flow) {
  // A subscribed, woken, pinging client with nothing delivered allocates no queue, in-flight or
  // inbound QoS 2 state; the first delivery does, and a QoS 1 PUBLISH from the client does not.
  client& sub = persistent("idle");
  subscribe(sub, "idle/#", 1);
  sub.send(mqtt::pingreq{});
  sub.machine().on_wake();
  client& pub = connected("pub");
  pub.send(publish_packet("elsewhere", "m", 1, 1));
  settle();
  EXPECT_EQ(engine().find_session("idle")->lock()->traffic_if_any(), nullptr);
  EXPECT_EQ(engine().find_session("pub")->lock()->traffic_if_any(), nullptr);
  pub.send(publish_packet("idle/x", "m", 1, 2));
  settle();
  ASSERT_EQ(sub.received_of<mqtt::publish>().size(), 1u);
  auto held = engine().find_session("idle")->lock();
  ASSERT_NE(held->traffic_if_any(), nullptr);
  EXPECT_EQ(held->traffic_view().inflight.size(), 1u);
}

TEST_F(session_test, acknowledgements_for_unknown_identifiers_allocate_no_traffic_state) {
  // Bad input from an idle client: PUBACK, PUBREC, PUBCOMP and PUBREL for identifiers never
  // used. Each is answered as for any unknown identifier (MQTT 5.0 3.6.2.1 and 3.7.2.1: PUBREC
  // gets PUBREL 0x92, PUBREL gets PUBCOMP 0x92, the others are ignored), and the session still
  // holds no traffic state.
  client& c = persistent("stray");
  c.received();
  c.send(mqtt::puback{7, reason_code::success, {}});
  c.send(mqtt::pubcomp{9, reason_code::success, {}});
  c.send(mqtt::pubrec{8, reason_code::success, {}});
  settle();
  // The one answer received (received_of takes all of them), for `packet_id`, with 0x92.
  const auto expect_not_found = [](const auto& answers, std::uint16_t packet_id) {
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].packet_id, packet_id);
    EXPECT_EQ(answers[0].reason_code, reason_code::packet_identifier_not_found);
  };
  expect_not_found(c.received_of<mqtt::pubrel>(), 8);
  c.send(mqtt::pubrel{10, reason_code::success, {}});
  settle();
  expect_not_found(c.received_of<mqtt::pubcomp>(), 10);
  EXPECT_FALSE(c.io().close_requested);
  EXPECT_EQ(engine().find_session("stray")->lock()->traffic_if_any(), nullptr);
}

TEST_F(session_test, session_with_expiry_zero_ends_at_disconnect) {
  client& first = persistent("gone", 0);
  first.send(mqtt::disconnect{});
  settle();
  EXPECT_EQ(engine().find_session("gone"), nullptr);
  client& again = persistent("gone", 0);
  EXPECT_FALSE(again.received_of<mqtt::connack>().at(0).session_present);
}

TEST_F(session_test, v311_persistent_session_resumes) {
  client& first = make_client(protocol_version::v311);
  first.send(connect_packet("old", protocol_version::v311, false));
  first.received();
  subscribe(first, "o", 1);
  first.drop();
  client& again = make_client(protocol_version::v311);
  again.send(connect_packet("old", protocol_version::v311, false));
  EXPECT_TRUE(again.received_of<mqtt::connack>().at(0).session_present);
}

TEST_F(session_test, v311_clean_session_discards) {
  client& first = make_client(protocol_version::v311);
  first.send(connect_packet("old", protocol_version::v311, true));
  first.drop();
  EXPECT_EQ(engine().find_session("old"), nullptr);
}

TEST_F(session_test, queued_messages_delivered_on_resume) {
  client& first = persistent("q");
  first.received();
  subscribe(first, "q", 1);
  first.drop();
  client& pub = connected("pub");
  pub.send(publish_packet("q", "while-away", 1, 1));
  pub.send(publish_packet("q", "qos0-not-kept", 0));
  settle();
  client& again = persistent("q");
  const auto got = again.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(payload_of(got[0]), "while-away");
}

TEST_F(session_test, qos0_kept_offline_when_configured) {
  settings.queue_qos0_when_offline = true;
  client& first = persistent("q");
  first.received();
  subscribe(first, "q");
  first.drop();
  client& pub = connected("pub");
  pub.send(publish_packet("q", "kept"));
  settle();
  client& again = persistent("q");
  EXPECT_EQ(again.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(session_test, unacknowledged_publish_is_redelivered_with_dup) {
  client& first = persistent("r");
  first.received();
  subscribe(first, "r", 1);
  client& pub = connected("pub");
  pub.send(publish_packet("r", "m", 1, 1));
  settle();
  const auto original = first.received_of<mqtt::publish>();
  ASSERT_EQ(original.size(), 1u);
  EXPECT_FALSE(original[0].dup);
  first.drop();
  client& again = persistent("r");
  const auto redelivered = again.received_of<mqtt::publish>();
  ASSERT_EQ(redelivered.size(), 1u);  // [MQTT-4.4.0-1]
  EXPECT_TRUE(redelivered[0].dup);
  EXPECT_EQ(redelivered[0].packet_id, original[0].packet_id);
  EXPECT_EQ(payload_of(redelivered[0]), "m");
}

TEST_F(session_test, redelivery_respects_the_new_receive_maximum) {
  client& first = persistent("window");
  first.received();
  subscribe(first, "w", 1);
  client& pub = connected("pub");
  for (std::uint16_t i = 1; i <= 4; ++i)
    pub.send(publish_packet("w", std::to_string(i), 1, i));
  settle();
  ASSERT_EQ(first.received_of<mqtt::publish>().size(), 4u);
  first.drop();
  client& again = make_client();
  mqtt::connect packet = connect_packet("window", protocol_version::v5, false);
  packet.properties.session_expiry_interval = 3600;
  packet.properties.receive_maximum = 2;
  again.send(packet);
  settle();
  auto resent = again.received_of<mqtt::publish>();
  ASSERT_EQ(resent.size(), 2u);  // [MQTT-3.3.4-9]
  EXPECT_TRUE(resent[0].dup);
  EXPECT_EQ(payload_of(resent[0]), "1");
  EXPECT_EQ(payload_of(resent[1]), "2");
  again.send(mqtt::puback{resent[0].packet_id, reason_code::success, {}});
  settle();
  auto next = again.received_of<mqtt::publish>();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_TRUE(next[0].dup);
  EXPECT_EQ(payload_of(next[0]), "3");
}

TEST_F(session_test, acknowledgement_before_retransmission_is_accepted) {
  client& first = persistent("early");
  first.received();
  subscribe(first, "e", 1);
  client& pub = connected("pub");
  pub.send(publish_packet("e", "1", 1, 1));
  pub.send(publish_packet("e", "2", 1, 2));
  settle();
  const auto original = first.received_of<mqtt::publish>();
  ASSERT_EQ(original.size(), 2u);
  first.drop();
  client& again = make_client();
  mqtt::connect packet = connect_packet("early", protocol_version::v5, false);
  packet.properties.session_expiry_interval = 3600;
  packet.properties.receive_maximum = 1;
  again.send(packet);
  settle();
  ASSERT_EQ(again.received_of<mqtt::publish>().size(), 1u);  // "1" again; "2" waits
  // The client acknowledges "2", which it received before reconnecting.
  again.send(mqtt::puback{original[1].packet_id, reason_code::success, {}});
  settle();
  EXPECT_TRUE(again.received_of<mqtt::publish>().empty());
  auto held = engine().find_session("early")->lock();
  EXPECT_EQ(held->traffic_view().inflight.size(), 1u);
  EXPECT_EQ(held->traffic_view().awaiting_resend, 0u);
}

TEST_F(session_test, pubrel_is_resent_on_resume) {
  client& first = persistent("r2");
  first.received();
  subscribe(first, "r", 2);
  client& pub = connected("pub");
  pub.send(publish_packet("r", "m", 2, 1));
  settle();
  const auto original = first.received_of<mqtt::publish>();
  ASSERT_EQ(original.size(), 1u);
  first.send(mqtt::pubrec{original[0].packet_id, reason_code::success, {}});
  EXPECT_EQ(first.received_of<mqtt::pubrel>().size(), 1u);
  first.drop();
  client& again = persistent("r2");
  const auto packets = again.received();
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<mqtt::connack>(packets[0]));
  ASSERT_TRUE(std::holds_alternative<mqtt::pubrel>(packets[1]));
  EXPECT_EQ(std::get<mqtt::pubrel>(packets[1]).packet_id, original[0].packet_id);
}

TEST_F(session_test, inbound_qos2_state_survives_reconnect) {
  client& sub = connected("sub");
  subscribe(sub, "x", 2);
  client& pub = persistent("pub");
  pub.send(publish_packet("x", "once", 2, 5));
  settle();
  pub.drop();
  client& again = persistent("pub");
  mqtt::publish retry = publish_packet("x", "once", 2, 5);
  retry.dup = true;
  again.send(retry);
  again.send(mqtt::pubrel{5, reason_code::success, {}});
  settle();
  EXPECT_EQ(again.received_of<mqtt::pubcomp>().at(0).reason_code, reason_code::success);
  EXPECT_EQ(sub.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(session_test, take_over_disconnects_the_first_with_0x8e) {
  client& first = connected("same");
  client& second = connected("same");
  settle();
  const auto notices = first.received_of<mqtt::disconnect>();
  ASSERT_EQ(notices.size(), 1u);  // [MQTT-3.1.4-3]
  EXPECT_EQ(notices[0].reason_code, reason_code::session_taken_over);
  EXPECT_TRUE(first.transport_closed());
  EXPECT_FALSE(second.transport_closed());
  second.send(mqtt::pingreq{});
  EXPECT_EQ(second.received_of<mqtt::pingresp>().size(), 1u);
}

TEST_F(session_test, take_over_keeps_the_session_without_clean_start) {
  client& first = persistent("same");
  first.received();
  subscribe(first, "t");
  client& second = persistent("same");
  EXPECT_TRUE(second.received_of<mqtt::connack>().at(0).session_present);
  EXPECT_TRUE(first.transport_closed());
  client& pub = connected("pub");
  pub.send(publish_packet("t", "to-second"));
  settle();
  EXPECT_EQ(second.received_of<mqtt::publish>().size(), 1u);
  EXPECT_TRUE(first.received_of<mqtt::publish>().empty());
}

TEST_F(session_test, take_over_in_v311_closes_the_first) {
  client& first = connected("same", protocol_version::v311);
  connected("same", protocol_version::v311);
  settle();
  EXPECT_TRUE(first.received().empty());
  EXPECT_TRUE(first.transport_closed());
}

TEST_F(session_test, session_expires_after_its_interval) {
  client& first = persistent("short", 10);
  first.received();
  subscribe(first, "t", 1);
  first.drop();
  advance(std::chrono::seconds(9));
  EXPECT_NE(engine().find_session("short"), nullptr);
  advance(std::chrono::seconds(2));
  EXPECT_EQ(engine().find_session("short"), nullptr);
  EXPECT_EQ(engine().counters().subscriptions.load(), 0u);
}

TEST_F(session_test, session_expiry_changed_at_disconnect) {
  client& first = persistent("change", 10);
  mqtt::disconnect bye;
  bye.properties.session_expiry_interval = 1000;
  first.send(bye);
  settle();
  advance(std::chrono::seconds(20));
  EXPECT_NE(engine().find_session("change"), nullptr);
}

TEST_F(session_test, session_expiry_from_zero_to_nonzero_is_a_protocol_error) {
  client& first = persistent("zero", 0);
  first.received();
  mqtt::disconnect bye;
  bye.properties.session_expiry_interval = 10;
  first.send(bye);
  settle();
  EXPECT_EQ(first.received_of<mqtt::disconnect>().at(0).reason_code,
            reason_code::protocol_error);  // [MQTT-3.14.2-2]
}

TEST_F(session_test, will_published_on_abnormal_close) {
  client& watcher = connected("watcher");
  subscribe(watcher, "wills/#");
  client& dying = with_will("dying", 0);
  dying.drop();
  settle();
  const auto got = watcher.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "wills/dying");
  EXPECT_EQ(payload_of(got[0]), "gone");
  const std::vector<std::pair<std::string, std::string>> expected{{"why", "test"}};
  EXPECT_EQ(got[0].properties.user_properties, expected);
}

TEST_F(session_test, will_not_published_on_normal_disconnect) {
  client& watcher = connected("watcher");
  subscribe(watcher, "wills/#");
  client& leaving = with_will("leaving", 0);
  leaving.send(mqtt::disconnect{});
  settle();
  EXPECT_TRUE(watcher.received_of<mqtt::publish>().empty());  // [MQTT-3.14.4-3]
}

TEST_F(session_test, will_published_on_disconnect_with_will) {
  client& watcher = connected("watcher");
  subscribe(watcher, "wills/#");
  client& leaving = with_will("leaving", 0);
  mqtt::disconnect bye;
  bye.reason_code = reason_code::disconnect_with_will;
  leaving.send(bye);
  settle();
  EXPECT_EQ(watcher.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(session_test, will_published_on_protocol_violation) {
  client& watcher = connected("watcher");
  subscribe(watcher, "wills/#");
  client& bad = with_will("bad", 0);
  bad.send(mqtt::pingresp{});
  settle();
  EXPECT_EQ(watcher.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(session_test, delayed_will_fires_after_the_delay) {
  client& watcher = connected("watcher");
  subscribe(watcher, "wills/#");
  client& dying = with_will("delayed", 30);
  dying.drop();
  advance(std::chrono::seconds(29));
  EXPECT_TRUE(watcher.received_of<mqtt::publish>().empty());
  advance(std::chrono::seconds(2));
  EXPECT_EQ(watcher.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(session_test, delayed_will_cancelled_by_reconnect) {
  client& watcher = connected("watcher");
  subscribe(watcher, "wills/#");
  client& dying = with_will("flaky", 30);
  dying.drop();
  advance(std::chrono::seconds(10));
  persistent("flaky");
  advance(std::chrono::seconds(60));
  EXPECT_TRUE(watcher.received_of<mqtt::publish>().empty());
}

TEST_F(session_test, delayed_will_fires_at_session_end_if_sooner) {
  client& watcher = connected("watcher");
  subscribe(watcher, "wills/#");
  client& dying = with_will("brief", 100, 5);
  dying.drop();
  advance(std::chrono::seconds(6));
  EXPECT_EQ(watcher.received_of<mqtt::publish>().size(), 1u);  // [MQTT-3.1.3-9]
}

TEST_F(session_test, will_of_taken_over_connection_with_clean_start_is_published) {
  client& watcher = connected("watcher");
  subscribe(watcher, "wills/#");
  with_will("twin", 30);
  persistent("twin", 3600, true);
  settle();
  EXPECT_EQ(watcher.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(session_test, will_of_taken_over_connection_resumed_with_delay_is_not_published) {
  client& watcher = connected("watcher");
  subscribe(watcher, "wills/#");
  with_will("twin", 30);
  persistent("twin");
  advance(std::chrono::seconds(60));
  EXPECT_TRUE(watcher.received_of<mqtt::publish>().empty());
}

TEST_F(session_test, retained_will) {
  client& dying = make_client();
  mqtt::connect packet = connect_packet("rw");
  packet.will = mqtt::will_message{"wills/rw", to_bytes("last"), 1, true, {}};
  dying.send(packet);
  dying.drop();
  settle();
  EXPECT_EQ(engine().retained_count(), 1u);
}

TEST_F(session_test, queue_bound_drops_and_counts) {
  settings.max_queued_messages = 3;
  client& first = persistent("full");
  first.received();
  subscribe(first, "f", 1);
  first.drop();
  client& pub = connected("pub");
  for (std::uint16_t i = 1; i <= 5; ++i)
    pub.send(publish_packet("f", std::to_string(i), 1, i));
  settle();
  EXPECT_EQ(engine().counters().messages_dropped.load(), 2u);
  client& again = persistent("full");
  const auto got = again.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(payload_of(got[0]), "1");
  EXPECT_EQ(payload_of(got[2]), "3");
}

TEST_F(session_test, queue_bound_evicts_qos0_first) {
  settings.max_queued_messages = 2;
  settings.queue_qos0_when_offline = true;
  client& first = persistent("mixed");
  first.received();
  subscribe(first, "m", 1);
  first.drop();
  client& pub = connected("pub");
  pub.send(publish_packet("m", "zero-a", 0));
  pub.send(publish_packet("m", "one-a", 1, 1));
  pub.send(publish_packet("m", "one-b", 1, 2));
  settle();
  client& again = persistent("mixed");
  const auto got = again.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(payload_of(got[0]), "one-a");
  EXPECT_EQ(payload_of(got[1]), "one-b");
  EXPECT_EQ(engine().counters().messages_dropped.load(), 1u);
}

TEST_F(session_test, queue_byte_bound) {
  settings.max_queued_bytes = 10;
  client& first = persistent("bytes");
  first.received();
  subscribe(first, "b", 1);
  first.drop();
  client& pub = connected("pub");
  pub.send(publish_packet("b", "12345", 1, 1));
  pub.send(publish_packet("b", "67890", 1, 2));
  pub.send(publish_packet("b", "x", 1, 3));
  settle();
  EXPECT_EQ(engine().counters().messages_dropped.load(), 1u);
}

}  // namespace
}  // namespace acemq::broker::testing
