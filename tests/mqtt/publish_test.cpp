// PUBLISH (MQTT 5.0 3.3, MQTT 3.1.1 3.3).

#include <acemq/mqtt/decode.hpp>
#include <acemq/mqtt/publish.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_as;
using test::decode_failure;
using test::encoded;
using test::shared_bytes;

using test::v311;
using test::v5;

const byte_vector v311_qos0 = bytes({
    0x30, 0x07,                 // PUBLISH QoS 0, Remaining Length 7
    0x00, 0x03, 'a', '/', 'b',  // Topic Name
    'h', 'i',                   // Payload
});

TEST(publish, v311_qos0_byte_exact) {
  const publish p = decode_as<publish>(v311_qos0, v311);
  EXPECT_FALSE(p.dup);
  EXPECT_EQ(p.qos, 0);
  EXPECT_FALSE(p.retain);
  EXPECT_EQ(p.topic, "a/b");
  EXPECT_EQ(p.packet_id, 0);
  ASSERT_TRUE(p.payload);
  EXPECT_EQ(*p.payload, to_bytes("hi"));
  EXPECT_EQ(encoded(p, v311), v311_qos0);
}

TEST(publish, v311_qos1_dup_retain_byte_exact) {
  const byte_vector wire = bytes({
      0x3B, 0x09,                 // PUBLISH DUP, QoS 1, RETAIN; Remaining Length 9
      0x00, 0x03, 'a', '/', 'b',  // Topic Name
      0x00, 0x0A,                 // Packet Identifier 10
      'h', 'i',                   // Payload
  });
  const publish expected{true, 1, true, "a/b", 10, {}, shared_bytes("hi")};
  EXPECT_EQ(decode_as<publish>(wire, v311), expected);
  EXPECT_EQ(encoded(expected, v311), wire);
}

TEST(publish, v5_qos2_with_properties_byte_exact) {
  const byte_vector wire = bytes({
      0x34, 0x11,                    // PUBLISH QoS 2, Remaining Length 17
      0x00, 0x01, 't',               // Topic Name
      0x00, 0x01,                    // Packet Identifier 1
      0x0A,                          // Property Length 10
      0x01, 0x01,                    // Payload Format Indicator: UTF-8
      0x02, 0x00, 0x00, 0x00, 0x3C,  // Message Expiry Interval 60
      0x23, 0x00, 0x03,              // Topic Alias 3
      'x',                           // Payload
  });
  publish expected{false, 2, false, "t", 1, {}, shared_bytes("x")};
  expected.properties.payload_format_indicator = 1;
  expected.properties.message_expiry_interval = 60;
  expected.properties.topic_alias = 3;
  EXPECT_EQ(decode_as<publish>(wire, v5), expected);
  EXPECT_EQ(encoded(expected, v5), wire);
}

TEST(publish, v5_qos0_without_properties_byte_exact) {
  const byte_vector wire = bytes({0x30, 0x05, 0x00, 0x01, 't', 0x00, 'x'});
  const publish expected{false, 0, false, "t", 0, {}, shared_bytes("x")};
  EXPECT_EQ(decode_as<publish>(wire, v5), expected);
  EXPECT_EQ(encoded(expected, v5), wire);
}

TEST(publish, v5_empty_topic_with_alias_is_accepted) {
  // MQTT 5.0 3.3.2.3.4: the alias stands for the topic.
  const byte_vector wire = bytes({0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, 'x'});
  const publish p = decode_as<publish>(wire, v5);
  EXPECT_EQ(p.topic, "");
  EXPECT_EQ(p.properties.topic_alias, 1);
}

TEST(publish, v5_empty_topic_without_alias_is_protocol_error) {
  EXPECT_EQ(decode_failure(bytes({0x30, 0x04, 0x00, 0x00, 0x00, 'x'}), v5),
            reason_code::protocol_error);
}

TEST(publish, v311_empty_topic_is_topic_name_invalid) {
  // [MQTT-4.7.3-1]
  EXPECT_EQ(decode_failure(bytes({0x30, 0x03, 0x00, 0x00, 'x'}), v311),
            reason_code::topic_name_invalid);
}

TEST(publish, qos3_is_malformed) {
  // [MQTT-3.3.1-4]
  EXPECT_EQ(decode_failure(bytes({0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}), v311),
            reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({0x36, 0x06, 0x00, 0x01, 't', 0x00, 0x01, 0x00}), v5),
            reason_code::malformed_packet);
}

TEST(publish, dup_at_qos0_is_malformed) {
  // [MQTT-3.3.1-2]
  EXPECT_EQ(decode_failure(bytes({0x38, 0x03, 0x00, 0x01, 't'}), v311),
            reason_code::malformed_packet);
}

TEST(publish, packet_id_zero_at_qos1_is_malformed) {
  // [MQTT-2.2.1-3]
  EXPECT_EQ(decode_failure(bytes({0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}), v311),
            reason_code::malformed_packet);
}

TEST(publish, missing_packet_id_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x32, 0x04, 0x00, 0x01, 't', 0x00}), v311),
            reason_code::malformed_packet);
}

TEST(publish, wildcards_in_topic_are_topic_name_invalid) {
  // [MQTT-3.3.2-2]
  EXPECT_EQ(decode_failure(bytes({0x30, 0x05, 0x00, 0x03, 'a', '/', '+'}), v311),
            reason_code::topic_name_invalid);
  EXPECT_EQ(decode_failure(bytes({0x30, 0x04, 0x00, 0x01, '#', 0x00}), v5),
            reason_code::topic_name_invalid);
}

TEST(publish, invalid_utf8_topic_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x30, 0x04, 0x00, 0x02, 0xFF, 'a'}), v311),
            reason_code::malformed_packet);
}

TEST(publish, null_in_topic_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x30, 0x04, 0x00, 0x02, 'a', 0x00}), v311),
            reason_code::malformed_packet);
}

TEST(publish, topic_length_beyond_packet_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x30, 0x04, 0x00, 0x10, 'a', 'b'}), v311),
            reason_code::malformed_packet);
}

TEST(publish, v5_missing_property_length_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x30, 0x03, 0x00, 0x01, 't'}), v5),
            reason_code::malformed_packet);
}

TEST(publish, v5_property_not_allowed_is_protocol_error) {
  // Session Expiry Interval is not a PUBLISH property.
  EXPECT_EQ(decode_failure(bytes({0x30, 0x09, 0x00, 0x01, 't', 0x05, 0x11, 0, 0, 0, 1}), v5),
            reason_code::protocol_error);
}

TEST(publish, v5_several_subscription_identifiers_round_trip) {
  // MQTT 5.0 3.3.2.3.8: one per matching subscription.
  publish p{false, 1, false, "a/b", 4, {}, shared_bytes("payload")};
  p.properties.subscription_identifiers = {3, 1000, 2};
  test::expect_round_trip(p, v5);
}

TEST(publish, v5_request_response_round_trip) {
  publish p{false, 0, true, "req", 0, {}, shared_bytes("{}")};
  p.properties.response_topic = "resp/1";
  p.properties.correlation_data = bytes({0xDE, 0xAD});
  p.properties.content_type = "application/json";
  p.properties.user_properties = {{"trace", "1"}, {"trace", "2"}};
  test::expect_round_trip(p, v5);
}

TEST(publish, empty_payload_round_trips) {
  const publish p{false, 0, false, "t", 0, {}, nullptr};
  const byte_vector wire = encoded(p, v311);
  EXPECT_EQ(wire, bytes({0x30, 0x03, 0x00, 0x01, 't'}));
  const publish decoded = decode_as<publish>(wire, v311);
  EXPECT_EQ(decoded.payload_view().size(), 0U);
  EXPECT_EQ(decoded, p);
}

TEST(publish, payload_with_nul_and_invalid_utf8_is_opaque) {
  const publish p{
      false, 0, false, "t", 0, {}, std::make_shared<const byte_vector>(bytes({0x00, 0xFF, 0xC0}))};
  test::expect_round_trip(p, v311);
  test::expect_round_trip(p, v5);
}

TEST(publish, large_payloads_round_trip) {
  // Remaining Lengths needing 2 and 3 bytes.
  for (const std::size_t size : {200U, 20'000U}) {
    publish p{false, 1, false, "big", 77, {}, std::make_shared<const byte_vector>(size, 0xA5)};
    const byte_vector wire = encoded(p, v5);
    EXPECT_EQ(wire.size(), encoded_size(p, v5));
    EXPECT_EQ(decode_as<publish>(wire, v5), p);
  }
}

TEST(publish, header_plus_payload_equals_whole_packet) {
  publish p{false, 2, false, "fan/out", 300, {}, std::make_shared<const byte_vector>(1000, 0x42)};
  p.properties.subscription_identifiers = {9};
  for (const auto version : {v311, v5}) {
    byte_vector header;
    encode_publish_header(p, version, header);
    EXPECT_EQ(header.size() + p.payload->size(), encoded_size(p, version));
    EXPECT_EQ(header + *p.payload, encoded(p, version));
  }
}

TEST(publish, header_only_for_empty_payload) {
  const publish p{false, 0, false, "t", 0, {}, nullptr};
  byte_vector header;
  encode_publish_header(p, v311, header);
  EXPECT_EQ(header, encoded(p, v311));
}

TEST(publish, equality_compares_payload_contents) {
  const publish a{false, 0, false, "t", 0, {}, shared_bytes("x")};
  const publish b{false, 0, false, "t", 0, {}, shared_bytes("x")};
  const publish c{false, 0, false, "t", 0, {}, shared_bytes("y")};
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  const publish empty_pointer{false, 0, false, "t", 0, {}, nullptr};
  const publish empty_buffer{false, 0, false, "t", 0, {}, shared_bytes("")};
  EXPECT_EQ(empty_pointer, empty_buffer);
}

TEST(publish, fan_out_shares_the_payload_buffer) {
  const publish original{false, 1, false, "t", 1, {}, shared_bytes("shared")};
  publish copy = original;
  copy.packet_id = 2;
  EXPECT_EQ(copy.payload.get(), original.payload.get());
}

TEST(publish, v311_encode_leaves_properties_out) {
  publish p{false, 0, false, "t", 0, {}, shared_bytes("x")};
  p.properties.message_expiry_interval = 10;
  EXPECT_EQ(encoded(p, v311), bytes({0x30, 0x04, 0x00, 0x01, 't', 'x'}));
}

// The broker decodes every PUBLISH into one object per thread: whatever the previous packet
// left in it (properties, a packet identifier, a longer topic) must not survive the next.
TEST(publish, decoding_into_a_reused_publish_sets_every_field) {
  const byte_vector v5_qos1 = bytes({
      0x3B, 0x0E,                           // PUBLISH DUP, QoS 1, RETAIN; Remaining Length 14
      0x00, 0x05, 'l', 'o', 'n', 'g', 't',  // Topic Name
      0x00, 0x07,                           // Packet Identifier 7
      0x03,                                 // Property Length 3
      0x23, 0x00, 0x02,                     // Topic Alias 2
      'h',                                  // Payload
  });
  publish reused;
  ASSERT_TRUE(decode_publish(v5_qos1, v5, reused).has_value());
  EXPECT_EQ(reused.packet_id, 7);
  EXPECT_EQ(reused.properties.topic_alias, 2);
  ASSERT_TRUE(decode_publish(v311_qos0, v311, reused).has_value());
  EXPECT_EQ(reused, decode_as<publish>(v311_qos0, v311));
  EXPECT_TRUE(reused.properties.empty());
  EXPECT_EQ(reused.packet_id, 0);
  EXPECT_FALSE(reused.dup);
  EXPECT_FALSE(reused.retain);
}

// The broker hands the decoder the payload buffer of a message it builds again: the payload is
// written into that buffer (its capacity kept), whatever it held before.
TEST(publish, decoding_into_a_given_payload_buffer_refills_it) {
  auto buffer = std::make_shared<byte_vector>(bytes({'o', 'l', 'd', ' ', 'p', 'a', 'y', 'l'}));
  const byte_vector* const storage_before = buffer.get();
  const std::size_t capacity_before = buffer->capacity();
  publish reused;
  ASSERT_TRUE(decode_publish(v311_qos0, v311, reused, buffer).has_value());
  EXPECT_EQ(reused.payload.get(), storage_before);
  EXPECT_EQ(reused, decode_as<publish>(v311_qos0, v311));
  EXPECT_EQ(reused.payload->capacity(), capacity_before);
  // Without one, a new buffer: the previous packet's payload is left to whoever holds it.
  const std::shared_ptr<const byte_vector> kept = reused.payload;
  ASSERT_TRUE(decode_publish(v311_qos0, v311, reused).has_value());
  EXPECT_NE(reused.payload.get(), kept.get());
  EXPECT_EQ(*reused.payload, *kept);
}

TEST(publish, decoding_into_a_publish_fails_as_decode_does) {
  publish reused;
  // A wildcard in the Topic Name [MQTT-3.3.2-2].
  const byte_vector wildcard = bytes({0x30, 0x05, 0x00, 0x03, 'a', '/', '+'});
  EXPECT_EQ(decode_publish(wildcard, v311, reused).error(), reason_code::topic_name_invalid);
  EXPECT_EQ(decode_failure(wildcard, v311), reason_code::topic_name_invalid);
  // Not a PUBLISH at all.
  const byte_vector pingreq = bytes({0xC0, 0x00});
  EXPECT_EQ(decode_publish(pingreq, v311, reused).error(), reason_code::protocol_error);
}

}  // namespace
}  // namespace acemq::mqtt
