// CONNECT / CONNACK, both versions: validation, client identifiers, session present, the
// properties of CONNACK, take-over, timeouts.

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

class connect_test : public broker_test {};

TEST_F(connect_test, v5_connack_advertises_the_bounds) {
  settings.receive_maximum = 10;
  settings.maximum_packet_size = 4096;
  settings.topic_alias_maximum = 5;
  settings.maximum_qos = 1;
  settings.retain_available = false;
  settings.wildcard_subscription_available = false;
  settings.shared_subscription_available = false;
  settings.subscription_identifier_available = false;
  client& c = make_client();
  c.send(connect_packet("alpha"));
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  const mqtt::properties& p = acks[0].properties;
  EXPECT_EQ(acks[0].reason_code, reason_code::success);
  EXPECT_FALSE(acks[0].session_present);
  EXPECT_EQ(p.receive_maximum, 10);
  EXPECT_EQ(p.maximum_packet_size, 4096u);
  EXPECT_EQ(p.topic_alias_maximum, 5);
  EXPECT_EQ(p.maximum_qos, 1);
  EXPECT_EQ(p.retain_available, 0);
  EXPECT_EQ(p.wildcard_subscription_available, 0);
  EXPECT_EQ(p.shared_subscription_available, 0);
  EXPECT_EQ(p.subscription_identifier_available, 0);
  EXPECT_FALSE(p.assigned_client_identifier);
  EXPECT_FALSE(c.io().close_requested);
}

TEST_F(connect_test, v5_connack_omits_defaults_that_need_no_mention) {
  client& c = make_client();
  c.send(connect_packet("alpha"));
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_FALSE(acks[0].properties.maximum_qos);
  EXPECT_FALSE(acks[0].properties.retain_available);
  EXPECT_FALSE(acks[0].properties.server_keep_alive);
  EXPECT_FALSE(acks[0].properties.session_expiry_interval);
}

TEST_F(connect_test, v311_connack_accepted) {
  client& c = make_client(protocol_version::v311);
  c.send(connect_packet("old", protocol_version::v311));
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::success);
  EXPECT_FALSE(acks[0].session_present);
}

TEST_F(connect_test, empty_client_id_is_assigned_in_v5) {
  client& c = make_client();
  c.send(connect_packet(""));
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  ASSERT_TRUE(acks[0].properties.assigned_client_identifier);
  EXPECT_TRUE(acks[0].properties.assigned_client_identifier->starts_with("auto-"));
  EXPECT_EQ(c.machine().client_id(), *acks[0].properties.assigned_client_identifier);
}

TEST_F(connect_test, the_client_identifier_is_known_before_during_and_after_the_session) {
  // The connection keeps its own copy only until the session is attached, and again once the
  // transport is closed: the identifier reads the same throughout.
  client& c = make_client();
  c.send(connect_packet("a-client-identifier-longer-than-sso"));
  ASSERT_EQ(c.received_of<mqtt::connack>().size(), 1u);
  EXPECT_EQ(c.machine().client_id(), "a-client-identifier-longer-than-sso");
  c.drop();
  settle();
  EXPECT_EQ(c.machine().client_id(), "a-client-identifier-longer-than-sso");
  EXPECT_EQ(engine().find_session("a-client-identifier-longer-than-sso"), nullptr);
}

TEST_F(connect_test, empty_client_id_refused_when_not_allowed) {
  settings.allow_empty_client_id = false;
  client& c = make_client();
  c.send(connect_packet(""));
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::client_identifier_not_valid);
  EXPECT_TRUE(c.io().close_requested);
}

TEST_F(connect_test, v311_empty_client_id_with_clean_session_is_assigned) {
  client& c = make_client(protocol_version::v311);
  c.send(connect_packet("", protocol_version::v311, true));
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::success);
  EXPECT_TRUE(c.machine().client_id().starts_with("auto-"));
}

TEST_F(connect_test, v311_empty_client_id_without_clean_session_is_rejected) {
  // [MQTT-3.1.3-8]: return code 0x02 Identifier rejected.
  client& c = make_client(protocol_version::v311);
  c.send(connect_packet("", protocol_version::v311, false));
  ASSERT_GE(c.io().wire.size(), 4u);
  EXPECT_EQ(c.io().wire[0], 0x20);
  EXPECT_EQ(c.io().wire[3], 0x02);
  EXPECT_TRUE(c.io().close_requested);
}

TEST_F(connect_test, client_id_at_the_length_bound) {
  settings.max_client_id_length = 23;
  client& ok = make_client();
  ok.send(connect_packet(std::string(23, 'a')));
  EXPECT_EQ(ok.received_of<mqtt::connack>().at(0).reason_code, reason_code::success);
  client& too_long = make_client();
  too_long.send(connect_packet(std::string(24, 'b')));
  EXPECT_EQ(too_long.received_of<mqtt::connack>().at(0).reason_code,
            reason_code::client_identifier_not_valid);
}

TEST_F(connect_test, unsupported_protocol_level_gets_v311_return_code_1) {
  // CONNECT with protocol level 3 ("MQIsdp" would be 3.1; here "MQTT" level 3).
  const byte_vector bytes{0x10, 0x0C, 0x00, 0x04, 'M',  'Q',  'T',
                          'T',  0x03, 0x02, 0x00, 0x3C, 0x00, 0x00};
  client& c = make_client(protocol_version::v311);
  c.send_bytes(bytes);
  ASSERT_EQ(c.io().wire.size(), 4u);
  EXPECT_EQ(c.io().wire[0], 0x20);
  EXPECT_EQ(c.io().wire[3], 0x01);
  EXPECT_TRUE(c.io().close_requested);
}

TEST_F(connect_test, unsupported_newer_protocol_level_gets_0x84) {
  const byte_vector bytes{0x10, 0x0D, 0x00, 0x04, 'M',  'Q',  'T', 'T',
                          0x06, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x00};
  client& c = make_client();
  c.send_bytes(bytes);
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::unsupported_protocol_version);
  EXPECT_TRUE(c.io().close_requested);
}

TEST_F(connect_test, first_packet_not_connect_closes_without_reply) {
  // [MQTT-3.1.0-1]
  client& c = make_client();
  c.send(mqtt::pingreq{});
  EXPECT_TRUE(c.io().wire.empty());
  EXPECT_TRUE(c.io().close_requested);
}

TEST_F(connect_test, second_connect_is_a_protocol_error) {
  // [MQTT-3.1.0-2]
  client& c = connected("twice");
  c.send(connect_packet("twice"));
  settle();
  const auto notices = c.received_of<mqtt::disconnect>();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].reason_code, reason_code::protocol_error);
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(connect_test, malformed_second_connect_is_still_a_protocol_error) {
  // Found by fuzz_broker_core_connection: the decoder's reason for a broken CONNECT (e.g.
  // unsupported_protocol_version) is not a DISCONNECT reason code.
  client& c = connected("twice");
  const byte_vector bytes{0x10, 0x06, 0x00, 0x00, 0x01, 0x3b, 0x00, 0x68};
  c.send_bytes(bytes);
  settle();
  const auto notices = c.received_of<mqtt::disconnect>();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].reason_code, reason_code::protocol_error);
}

TEST_F(connect_test, second_connect_in_v311_just_closes) {
  client& c = connected("twice", protocol_version::v311);
  c.send(connect_packet("twice", protocol_version::v311));
  settle();
  EXPECT_TRUE(c.received().empty());
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(connect_test, malformed_v5_connect_gets_connack_with_reason) {
  // Reserved CONNECT flag bit set [MQTT-3.1.2-3].
  const byte_vector bytes{0x10, 0x0D, 0x00, 0x04, 'M',  'Q',  'T', 'T',
                          0x05, 0x03, 0x00, 0x3C, 0x00, 0x00, 0x00};
  client& c = make_client();
  c.send_bytes(bytes);
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::malformed_packet);
  EXPECT_TRUE(c.io().close_requested);
}

TEST_F(connect_test, connect_split_into_single_bytes) {
  mqtt::connect packet = connect_packet("bytewise");
  byte_vector bytes;
  mqtt::encode(packet, protocol_version::v5, bytes);
  client& c = make_client();
  for (const std::uint8_t b : bytes)
    c.send_bytes(byte_view(&b, 1));
  EXPECT_EQ(c.received_of<mqtt::connack>().size(), 1u);
}

TEST_F(connect_test, a_stream_split_at_every_position_is_handled_as_when_whole) {
  // CONNECT, SUBSCRIBE, three QoS 1 PUBLISH (one larger than the rest) and PINGREQ, delivered
  // in two reads split at each position in turn: a packet split across reads waits for its last
  // byte, then the rest of the read goes on, and the answers are the same as for one read.
  const auto stream_for = [](const std::string& client_id) {
    byte_vector bytes;
    mqtt::encode(connect_packet(client_id), protocol_version::v5, bytes);
    // Topics of its own: no client receives another's messages (or is slowed by them).
    mqtt::encode(subscribe_packet(1, client_id + "/#", 1), protocol_version::v5, bytes);
    mqtt::encode(publish_packet(client_id + "/a", "one", 1, 10), protocol_version::v5, bytes);
    mqtt::encode(publish_packet(client_id + "/b", std::string(300, 'x'), 1, 11),
                 protocol_version::v5, bytes);
    mqtt::encode(publish_packet(client_id + "/c", "three", 1, 12), protocol_version::v5, bytes);
    mqtt::encode(mqtt::pingreq{}, protocol_version::v5, bytes);
    return bytes;
  };
  const auto kinds_of = [](std::vector<mqtt::packet> packets) {
    std::vector<std::size_t> kinds;
    for (const auto& packet : packets)
      kinds.push_back(packet.index());
    return kinds;
  };
  client& whole = make_client();
  whole.send_bytes(stream_for("split-000"));
  settle();
  const std::vector<std::size_t> expected = kinds_of(whole.received());
  ASSERT_EQ(expected.size(), 9u);  // CONNACK, SUBACK, 3 PUBACK, 3 deliveries, PINGRESP
  const std::size_t length = stream_for("split-000").size();
  for (std::size_t at = 1; at < length; ++at) {
    const std::string id = "split-" + std::string(3 - std::to_string(at % 1000).size(), '0') +
                           std::to_string(at % 1000);
    const byte_vector bytes = stream_for(id);
    ASSERT_EQ(bytes.size(), length);
    client& c = make_client();
    c.send_bytes(byte_view(bytes).first(at));
    c.send_bytes(byte_view(bytes).subspan(at));
    settle();
    EXPECT_EQ(kinds_of(c.received()), expected) << "split at byte " << at;
    EXPECT_FALSE(c.io().close_requested) << "split at byte " << at;
  }
}

TEST_F(connect_test, two_packets_in_one_read) {
  byte_vector bytes;
  mqtt::encode(connect_packet("batch"), protocol_version::v5, bytes);
  mqtt::encode(mqtt::pingreq{}, protocol_version::v5, bytes);
  client& c = make_client();
  c.send_bytes(bytes);
  const auto packets = c.received();
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<mqtt::connack>(packets[0]));
  EXPECT_TRUE(std::holds_alternative<mqtt::pingresp>(packets[1]));
}

TEST_F(connect_test, server_keep_alive_overrides_v5_client) {
  settings.server_keep_alive = 30;
  client& c = make_client();
  c.send(connect_packet("ka"));
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].properties.server_keep_alive, 30);
  advance(std::chrono::seconds(44));
  EXPECT_FALSE(c.transport_closed());
  advance(std::chrono::seconds(2));
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(connect_test, keep_alive_timeout_after_one_and_a_half_periods) {
  // [MQTT-3.1.2-22]: 60 s keep alive -> closed after 90 s of silence with DISCONNECT 0x8D.
  client& c = connected("sleepy");
  advance(std::chrono::seconds(89));
  EXPECT_FALSE(c.transport_closed());
  advance(std::chrono::seconds(2));
  const auto notices = c.received_of<mqtt::disconnect>();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].reason_code, reason_code::keep_alive_timeout);
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(connect_test, keep_alive_is_extended_by_any_packet) {
  client& c = connected("busy");
  for (int i = 0; i < 5; ++i) {
    advance(std::chrono::seconds(60));
    c.send(mqtt::pingreq{});
  }
  EXPECT_FALSE(c.transport_closed());
  EXPECT_EQ(c.received_of<mqtt::pingresp>().size(), 5u);
}

TEST_F(connect_test, keep_alive_zero_never_times_out) {
  client& c = make_client();
  mqtt::connect packet = connect_packet("forever");
  packet.keep_alive = 0;
  c.send(packet);
  advance(std::chrono::seconds(100000));
  EXPECT_FALSE(c.transport_closed());
}

TEST_F(connect_test, keep_alive_timeout_v311_closes_without_disconnect) {
  client& c = connected("sleepy311", protocol_version::v311);
  advance(std::chrono::seconds(91));
  EXPECT_TRUE(c.received().empty());
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(connect_test, connect_timeout_closes_a_silent_transport) {
  settings.connect_timeout = std::chrono::seconds(5);
  client& c = make_client();
  ASSERT_TRUE(c.io().armed);
  advance(std::chrono::seconds(4));
  EXPECT_FALSE(c.transport_closed());
  advance(std::chrono::seconds(1));
  EXPECT_TRUE(c.transport_closed());
  EXPECT_TRUE(c.io().wire.empty());
}

TEST_F(connect_test, session_expiry_is_capped_and_reported) {
  settings.maximum_session_expiry = 100;
  client& c = make_client();
  mqtt::connect packet = connect_packet("capped", protocol_version::v5, false);
  packet.properties.session_expiry_interval = 1000;
  c.send(packet);
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].properties.session_expiry_interval, 100u);
}

TEST_F(connect_test, response_information_when_requested) {
  client& c = make_client();
  mqtt::connect packet = connect_packet("asker");
  packet.properties.request_response_information = 1;
  c.send(packet);
  const auto acks = c.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].properties.response_information, "response/asker");
}

TEST_F(connect_test, no_response_information_unless_requested) {
  client& c = make_client();
  c.send(connect_packet("quiet"));
  EXPECT_FALSE(c.received_of<mqtt::connack>().at(0).properties.response_information);
}

TEST_F(connect_test, will_qos_above_maximum_is_refused) {
  settings.maximum_qos = 1;
  client& c = make_client();
  mqtt::connect packet = connect_packet("willful");
  packet.will = mqtt::will_message{"wills/x", to_bytes("bye"), 2, false, {}};
  c.send(packet);
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::qos_not_supported);
}

TEST_F(connect_test, will_retain_without_retain_available_is_refused) {
  settings.retain_available = false;
  client& c = make_client();
  mqtt::connect packet = connect_packet("willful");
  packet.will = mqtt::will_message{"wills/x", to_bytes("bye"), 0, true, {}};
  c.send(packet);
  EXPECT_EQ(c.received_of<mqtt::connack>().at(0).reason_code, reason_code::retain_not_supported);
}

TEST_F(connect_test, pingreq_gets_pingresp) {
  client& c = connected("pinger");
  c.send(mqtt::pingreq{});
  EXPECT_EQ(c.received_of<mqtt::pingresp>().size(), 1u);
}

TEST_F(connect_test, connection_counters) {
  client& a = connected("one");
  connected("two");
  EXPECT_EQ(engine().counters().connections_current.load(), 2u);
  EXPECT_EQ(engine().counters().connections_total.load(), 2u);
  a.send(mqtt::disconnect{});
  settle();
  EXPECT_TRUE(a.transport_closed());
}

TEST_F(connect_test, shutdown_sends_server_shutting_down) {
  client& c = connected("bye");
  c.machine().shutdown(reason_code::server_shutting_down);
  settle();
  const auto notices = c.received_of<mqtt::disconnect>();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].reason_code, reason_code::server_shutting_down);
  EXPECT_TRUE(c.transport_closed());
  EXPECT_TRUE(c.machine().closed());
}

TEST_F(connect_test, bytes_after_close_are_ignored) {
  client& c = connected("closed");
  c.machine().shutdown(reason_code::server_shutting_down);
  const std::size_t before = c.io().wire.size();
  c.send(mqtt::pingreq{});
  EXPECT_EQ(c.io().wire.size(), before);
}

}  // namespace
}  // namespace acemq::broker::testing
