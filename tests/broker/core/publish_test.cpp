// PUBLISH in both directions: QoS 0/1/2 flows, exactly once, in-flight window, packet
// identifiers, topic aliases, maximum packet size, properties carried, message expiry.

#include <set>

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

class publish_test : public broker_test {};

TEST_F(publish_test, qos0_round_trip_v5) {
  client& sub = connected("sub");
  subscribe(sub, "a/b");
  client& pub = connected("pub");
  pub.send(publish_packet("a/b", "hello"));
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "a/b");
  EXPECT_EQ(payload_of(got[0]), "hello");
  EXPECT_EQ(got[0].qos, 0);
  EXPECT_FALSE(got[0].retain);
  EXPECT_TRUE(pub.received().empty());
}

TEST_F(publish_test, qos0_round_trip_v311) {
  client& sub = connected("sub", protocol_version::v311);
  subscribe(sub, "a/+");
  client& pub = connected("pub", protocol_version::v311);
  pub.send(publish_packet("a/x", "v311"));
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(payload_of(got[0]), "v311");
}

TEST_F(publish_test, mixed_versions_deliver_to_each_other) {
  client& sub311 = connected("old", protocol_version::v311);
  subscribe(sub311, "mix");
  client& sub5 = connected("new");
  subscribe(sub5, "mix");
  client& pub = connected("pub");
  pub.send(publish_packet("mix", "both"));
  settle();
  EXPECT_EQ(sub311.received_of<mqtt::publish>().size(), 1u);
  EXPECT_EQ(sub5.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(publish_test, qos1_inbound_gets_puback) {
  client& sub = connected("sub");
  subscribe(sub, "q1", 1);
  client& pub = connected("pub");
  pub.send(publish_packet("q1", "x", 1, 7));
  settle();
  const auto acks = pub.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 7);
  EXPECT_EQ(acks[0].reason_code, reason_code::success);
}

TEST_F(publish_test, qos1_without_subscribers_reports_no_matching_subscribers) {
  client& pub = connected("pub");
  pub.send(publish_packet("nobody", "x", 1, 1));
  const auto acks = pub.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::no_matching_subscribers);
}

TEST_F(publish_test, qos1_v311_puback) {
  client& pub = connected("pub", protocol_version::v311);
  pub.send(publish_packet("nobody", "x", 1, 3));
  const auto acks = pub.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 3);
}

TEST_F(publish_test, qos1_outbound_waits_for_puback) {
  client& sub = connected("sub");
  subscribe(sub, "q1", 1);
  client& pub = connected("pub");
  pub.send(publish_packet("q1", "m", 1, 1));
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 1);
  EXPECT_NE(got[0].packet_id, 0);
  auto s = engine().find_session("sub");
  {
    auto held = s->lock();
    EXPECT_EQ(held->traffic_view().inflight.size(), 1u);
  }
  sub.send(mqtt::puback{got[0].packet_id, reason_code::success, {}});
  auto held = s->lock();
  EXPECT_TRUE(held->traffic_view().inflight.empty());
}

TEST_F(publish_test, qos2_inbound_exactly_once) {
  client& sub = connected("sub");
  subscribe(sub, "q2", 2);
  client& pub = connected("pub");
  pub.send(publish_packet("q2", "once", 2, 9));
  settle();
  EXPECT_EQ(pub.received_of<mqtt::pubrec>().at(0).packet_id, 9);
  // A retransmission before PUBREL is acknowledged but not routed again (MQTT 5.0 4.3.3).
  mqtt::publish again = publish_packet("q2", "once", 2, 9);
  again.dup = true;
  pub.send(again);
  settle();
  EXPECT_EQ(pub.received_of<mqtt::pubrec>().size(), 1u);
  pub.send(mqtt::pubrel{9, reason_code::success, {}});
  const auto completes = pub.received_of<mqtt::pubcomp>();
  ASSERT_EQ(completes.size(), 1u);
  EXPECT_EQ(completes[0].reason_code, reason_code::success);
  EXPECT_EQ(sub.received_of<mqtt::publish>().size(), 1u);
  // After PUBCOMP the identifier is free: a new message with it is a new message.
  pub.send(publish_packet("q2", "twice", 2, 9));
  settle();
  EXPECT_EQ(sub.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(publish_test, pubrel_for_unknown_id_gets_0x92) {
  client& pub = connected("pub");
  pub.send(mqtt::pubrel{42, reason_code::success, {}});
  const auto completes = pub.received_of<mqtt::pubcomp>();
  ASSERT_EQ(completes.size(), 1u);
  EXPECT_EQ(completes[0].reason_code, reason_code::packet_identifier_not_found);
}

TEST_F(publish_test, qos2_outbound_full_flow) {
  client& sub = connected("sub");
  subscribe(sub, "q2", 2);
  client& pub = connected("pub");
  pub.send(publish_packet("q2", "m", 2, 1));
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 2);
  sub.send(mqtt::pubrec{got[0].packet_id, reason_code::success, {}});
  const auto releases = sub.received_of<mqtt::pubrel>();
  ASSERT_EQ(releases.size(), 1u);
  EXPECT_EQ(releases[0].packet_id, got[0].packet_id);
  sub.send(mqtt::pubcomp{got[0].packet_id, reason_code::success, {}});
  auto held = engine().find_session("sub")->lock();
  EXPECT_TRUE(held->traffic_view().inflight.empty());
}

TEST_F(publish_test, pubrec_error_ends_the_qos2_exchange) {
  client& sub = connected("sub");
  subscribe(sub, "q2", 2);
  client& pub = connected("pub");
  pub.send(publish_packet("q2", "m", 2, 1));
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  sub.send(mqtt::pubrec{got[0].packet_id, reason_code::unspecified_error, {}});
  EXPECT_TRUE(sub.received_of<mqtt::pubrel>().empty());
  auto held = engine().find_session("sub")->lock();
  EXPECT_TRUE(held->traffic_view().inflight.empty());
}

TEST_F(publish_test, qos_downgraded_to_subscription_maximum) {
  client& sub = connected("sub");
  subscribe(sub, "down", 1);
  client& pub = connected("pub");
  pub.send(publish_packet("down", "m", 2, 1));
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 1);
}

TEST_F(publish_test, qos_not_upgraded_above_publish) {
  client& sub = connected("sub");
  subscribe(sub, "up", 2);
  client& pub = connected("pub");
  pub.send(publish_packet("up", "m", 0));
  settle();
  EXPECT_EQ(sub.received_of<mqtt::publish>().at(0).qos, 0);
}

TEST_F(publish_test, publish_above_maximum_qos_is_0x9b) {
  settings.maximum_qos = 1;
  client& pub = connected("pub");
  pub.send(publish_packet("t", "m", 2, 1));
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::qos_not_supported);
  EXPECT_TRUE(pub.transport_closed());
}

TEST_F(publish_test, retain_when_unavailable_is_0x9a) {
  settings.retain_available = false;
  client& pub = connected("pub");
  pub.send(publish_packet("t", "m", 0, 0, true));
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code,
            reason_code::retain_not_supported);
}

TEST_F(publish_test, outbound_packet_ids_are_distinct_while_in_flight) {
  client& sub = connected("sub");
  subscribe(sub, "ids", 1);
  client& pub = connected("pub");
  for (std::uint16_t i = 1; i <= 20; ++i)
    pub.send(publish_packet("ids", "m", 1, i));
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 20u);
  std::set<std::uint16_t> ids;
  for (const auto& p : got)
    ids.insert(p.packet_id);
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_FALSE(ids.contains(0));
}

TEST_F(publish_test, outbound_window_is_the_client_receive_maximum) {
  client& sub = make_client();
  mqtt::connect packet = connect_packet("slow");
  packet.properties.receive_maximum = 2;
  sub.send(packet);
  settle();
  sub.received();
  subscribe(sub, "w", 1);
  client& pub = connected("pub");
  for (std::uint16_t i = 1; i <= 5; ++i)
    pub.send(publish_packet("w", std::to_string(i), 1, i));
  settle();
  auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 2u);  // [MQTT-3.3.4-9]
  EXPECT_EQ(payload_of(got[0]), "1");
  sub.send(mqtt::puback{got[0].packet_id, reason_code::success, {}});
  settle();
  auto more = sub.received_of<mqtt::publish>();
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(payload_of(more[0]), "3");
}

TEST_F(publish_test, server_max_inflight_caps_the_window) {
  settings.max_inflight = 3;
  client& sub = connected("sub");
  subscribe(sub, "w", 1);
  client& pub = connected("pub");
  for (std::uint16_t i = 1; i <= 6; ++i)
    pub.send(publish_packet("w", "m", 1, i));
  settle();
  EXPECT_EQ(sub.received_of<mqtt::publish>().size(), 3u);
}

TEST_F(publish_test, inbound_receive_maximum_exceeded_is_0x93) {
  settings.receive_maximum = 2;
  client& pub = connected("pub");
  pub.send(publish_packet("t", "1", 2, 1));
  pub.send(publish_packet("t", "2", 2, 2));
  EXPECT_FALSE(pub.io().close_requested);
  pub.send(publish_packet("t", "3", 2, 3));
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code,
            reason_code::receive_maximum_exceeded);
}

TEST_F(publish_test, inbound_receive_maximum_at_the_bound_is_fine) {
  settings.receive_maximum = 2;
  client& pub = connected("pub");
  pub.send(publish_packet("t", "1", 2, 1));
  pub.send(publish_packet("t", "2", 2, 2));
  pub.send(mqtt::pubrel{1, reason_code::success, {}});
  pub.send(publish_packet("t", "3", 2, 3));
  settle();
  EXPECT_TRUE(pub.received_of<mqtt::disconnect>().empty());
  EXPECT_FALSE(pub.transport_closed());
}

TEST_F(publish_test, inbound_topic_alias_sets_and_uses) {
  client& sub = connected("sub");
  subscribe(sub, "long/topic/name");
  client& pub = connected("pub");
  mqtt::publish first = publish_packet("long/topic/name", "1");
  first.properties.topic_alias = 3;
  pub.send(first);
  mqtt::publish second = publish_packet("", "2");
  second.properties.topic_alias = 3;
  pub.send(second);
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].topic, "long/topic/name");
  EXPECT_EQ(payload_of(got[1]), "2");
  EXPECT_FALSE(got[1].properties.topic_alias);
}

TEST_F(publish_test, inbound_topic_alias_above_maximum_is_0x94) {
  settings.topic_alias_maximum = 4;
  client& pub = connected("pub");
  mqtt::publish packet = publish_packet("t", "1");
  packet.properties.topic_alias = 5;
  pub.send(packet);
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code,
            reason_code::topic_alias_invalid);
}

TEST_F(publish_test, inbound_topic_alias_at_maximum_is_fine) {
  settings.topic_alias_maximum = 4;
  client& pub = connected("pub");
  mqtt::publish packet = publish_packet("t", "1");
  packet.properties.topic_alias = 4;
  pub.send(packet);
  settle();
  EXPECT_FALSE(pub.transport_closed());
}

TEST_F(publish_test, inbound_topic_alias_when_none_allowed_is_0x94) {
  settings.topic_alias_maximum = 0;
  client& pub = connected("pub");
  mqtt::publish packet = publish_packet("t", "1");
  packet.properties.topic_alias = 1;
  pub.send(packet);
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code,
            reason_code::topic_alias_invalid);
}

TEST_F(publish_test, unknown_inbound_alias_is_a_protocol_error) {
  client& pub = connected("pub");
  mqtt::publish packet = publish_packet("", "1");
  packet.properties.topic_alias = 2;
  pub.send(packet);
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::protocol_error);
}

TEST_F(publish_test, outbound_topic_aliases_assigned_and_reused) {
  client& sub = make_client();
  mqtt::connect packet = connect_packet("sub");
  packet.properties.topic_alias_maximum = 1;
  sub.send(packet);
  settle();
  sub.received();
  subscribe(sub, "#");
  client& pub = connected("pub");
  pub.send(publish_packet("first/topic", "1"));
  pub.send(publish_packet("first/topic", "2"));
  pub.send(publish_packet("second/topic", "3"));
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].topic, "first/topic");
  EXPECT_EQ(got[0].properties.topic_alias, 1);
  EXPECT_EQ(got[1].topic, "");
  EXPECT_EQ(got[1].properties.topic_alias, 1);
  // Only one alias allowed: the second topic goes out in full, without alias.
  EXPECT_EQ(got[2].topic, "second/topic");
  EXPECT_FALSE(got[2].properties.topic_alias);
}

TEST_F(publish_test, no_outbound_alias_unless_client_allows) {
  client& sub = connected("sub");
  subscribe(sub, "t");
  client& pub = connected("pub");
  pub.send(publish_packet("t", "1"));
  pub.send(publish_packet("t", "2"));
  settle();
  for (const auto& p : sub.received_of<mqtt::publish>()) {
    EXPECT_EQ(p.topic, "t");
    EXPECT_FALSE(p.properties.topic_alias);
  }
}

TEST_F(publish_test, inbound_packet_too_large_is_0x95_before_the_body) {
  settings.maximum_packet_size = 128;
  client& pub = connected("pub");
  // Only the fixed header of a 200-byte PUBLISH: refused before the body arrives.
  const byte_vector header{0x30, 0xC5, 0x01};
  pub.send_bytes(header);
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::packet_too_large);
}

TEST_F(publish_test, inbound_packet_at_the_size_bound_is_accepted) {
  settings.maximum_packet_size = 128;
  client& sub = connected("sub");
  subscribe(sub, "t");
  client& pub = connected("pub");
  // Fixed header 2 + topic 3 + property length 1 + payload = 128.
  pub.send(publish_packet("t", std::string(122, 'x')));
  settle();
  EXPECT_FALSE(pub.transport_closed());
  EXPECT_EQ(sub.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(publish_test, outbound_larger_than_client_maximum_is_dropped_and_counted) {
  client& sub = make_client();
  mqtt::connect packet = connect_packet("small");
  packet.properties.maximum_packet_size = 64;
  sub.send(packet);
  settle();
  sub.received();
  subscribe(sub, "t", 1);
  client& pub = connected("pub");
  pub.send(publish_packet("t", std::string(100, 'x'), 1, 1));
  pub.send(publish_packet("t", "fits", 1, 2));
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);  // [MQTT-3.1.2-25]
  EXPECT_EQ(payload_of(got[0]), "fits");
  EXPECT_EQ(engine().counters().messages_dropped.load(), 1u);
  auto held = engine().find_session("small")->lock();
  EXPECT_EQ(held->traffic_view().inflight.size(), 1u);  // only "fits" awaits its PUBACK
}

TEST_F(publish_test, properties_are_forwarded_unchanged) {
  client& sub = connected("sub");
  subscribe(sub, "req");
  client& pub = connected("pub");
  mqtt::publish packet = publish_packet("req", "{}");
  packet.properties.payload_format_indicator = 1;
  packet.properties.content_type = "application/json";
  packet.properties.response_topic = "resp/pub";
  packet.properties.correlation_data = to_bytes("corr-1");
  packet.properties.user_properties = {{"k", "v"}, {"k", "w"}, {"a", "b"}};
  pub.send(packet);
  settle();
  const auto got = sub.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].properties.payload_format_indicator, 1);
  EXPECT_EQ(got[0].properties.content_type, "application/json");
  EXPECT_EQ(got[0].properties.response_topic, "resp/pub");
  EXPECT_EQ(got[0].properties.correlation_data, to_bytes("corr-1"));
  // [MQTT-3.3.2-18]: order preserved, duplicates kept.
  EXPECT_EQ(got[0].properties.user_properties, packet.properties.user_properties);
}

TEST_F(publish_test, invalid_utf8_payload_with_format_indicator_qos1_is_0x99) {
  client& pub = connected("pub");
  mqtt::publish packet = publish_packet("t", "\xff\xfe", 1, 5);
  packet.properties.payload_format_indicator = 1;
  pub.send(packet);
  const auto acks = pub.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::payload_format_invalid);
  EXPECT_FALSE(pub.io().close_requested);
}

TEST_F(publish_test, invalid_utf8_payload_with_format_indicator_qos0_disconnects) {
  client& pub = connected("pub");
  mqtt::publish packet = publish_packet("t", "\xc0\x80");
  packet.properties.payload_format_indicator = 1;
  pub.send(packet);
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code,
            reason_code::payload_format_invalid);
}

TEST_F(publish_test, message_expiry_is_decremented_by_the_wait) {
  client& sub = connected("sub", protocol_version::v5, false);
  subscribe(sub, "exp", 1);
  // Keep the session while offline.
  auto s = engine().find_session("sub");
  {
    auto held = s->lock();
    held->expiry_interval = 3600;
  }
  sub.drop();
  client& pub = connected("pub");
  mqtt::publish packet = publish_packet("exp", "m", 1, 1);
  packet.properties.message_expiry_interval = 100;
  pub.send(packet);
  advance(std::chrono::seconds(30));
  client& back = make_client();
  back.send(connect_packet("sub", protocol_version::v5, false));
  settle();
  const auto got = back.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].properties.message_expiry_interval, 70u);  // [MQTT-3.3.2-6]
}

TEST_F(publish_test, expired_message_is_not_delivered) {
  client& sub = connected("sub", protocol_version::v5, false);
  subscribe(sub, "exp", 1);
  {
    auto held = engine().find_session("sub")->lock();
    held->expiry_interval = 3600;
  }
  sub.drop();
  client& pub = connected("pub");
  mqtt::publish packet = publish_packet("exp", "m", 1, 1);
  packet.properties.message_expiry_interval = 10;
  pub.send(packet);
  advance(std::chrono::seconds(11));
  client& back = make_client();
  back.send(connect_packet("sub", protocol_version::v5, false));
  settle();
  EXPECT_TRUE(back.received_of<mqtt::publish>().empty());  // [MQTT-3.3.2-5]
  EXPECT_GE(engine().counters().messages_expired.load(), 1u);
}

TEST_F(publish_test, invalid_topic_name_is_0x90) {
  client& pub = connected("pub");
  // PUBLISH with topic "a/+" (wildcard in a topic name): 0x30, len, 00 03 'a' '/' '+', props 0.
  const byte_vector bytes{0x30, 0x06, 0x00, 0x03, 'a', '/', '+', 0x00};
  pub.send_bytes(bytes);
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::topic_name_invalid);
}

TEST_F(publish_test, topic_longer_than_the_bound_is_0x90) {
  settings.max_topic_length = 16;
  client& pub = connected("pub");
  pub.send(publish_packet(std::string(17, 't'), "m"));
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::topic_name_invalid);
}

TEST_F(publish_test, topic_at_the_length_bound_is_accepted) {
  settings.max_topic_length = 16;
  client& pub = connected("pub");
  pub.send(publish_packet(std::string(16, 't'), "m"));
  settle();
  EXPECT_FALSE(pub.transport_closed());
}

TEST_F(publish_test, topic_levels_bound) {
  settings.max_topic_levels = 3;
  client& pub = connected("pub");
  pub.send(publish_packet("a/b/c", "m"));
  settle();
  EXPECT_FALSE(pub.transport_closed());
  pub.send(publish_packet("a/b/c/d", "m"));
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::topic_name_invalid);
}

TEST_F(publish_test, malformed_packet_is_0x81) {
  client& pub = connected("pub");
  // PUBACK with a remaining length of 1 (packet identifier cut short).
  const byte_vector bytes{0x40, 0x01, 0x00};
  pub.send_bytes(bytes);
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::malformed_packet);
}

TEST_F(publish_test, malformed_in_v311_closes_silently) {
  client& pub = connected("pub", protocol_version::v311);
  const byte_vector bytes{0x40, 0x01, 0x00};
  pub.send_bytes(bytes);
  settle();
  EXPECT_TRUE(pub.received().empty());
  EXPECT_TRUE(pub.transport_closed());
}

TEST_F(publish_test, server_only_packet_from_client_is_a_protocol_error) {
  client& pub = connected("pub");
  pub.send(mqtt::pingresp{});
  settle();
  EXPECT_EQ(pub.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::protocol_error);
}

TEST_F(publish_test, fan_out_shares_one_payload_buffer) {
  client& a = connected("a");
  subscribe(a, "fan");
  client& b = connected("b");
  subscribe(b, "fan");
  client& pub = connected("pub");
  pub.send(publish_packet("fan", std::string(1000, 'p')));
  settle();
  EXPECT_EQ(a.received_of<mqtt::publish>().size(), 1u);
  EXPECT_EQ(b.received_of<mqtt::publish>().size(), 1u);
  EXPECT_EQ(engine().counters().messages_out.load(), 2u);
  ASSERT_EQ(a.io().payloads.size(), 1u);
  ASSERT_EQ(b.io().payloads.size(), 1u);
  EXPECT_EQ(a.io().payloads[0].get(), b.io().payloads[0].get());
}

}  // namespace
}  // namespace acemq::broker::testing
