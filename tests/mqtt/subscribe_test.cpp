// SUBSCRIBE (MQTT 5.0 3.8, MQTT 3.1.1 3.8).

#include <acemq/mqtt/subscribe.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_as;
using test::decode_failure;
using test::encoded;

using test::v311;
using test::v5;

subscription_options qos(std::uint8_t maximum_qos) {
  subscription_options options;
  options.maximum_qos = maximum_qos;
  return options;
}

TEST(subscribe, v311_byte_exact) {
  const byte_vector wire = bytes({
      0x82, 0x08,                 // SUBSCRIBE (flags 0b0010), Remaining Length 8
      0x00, 0x0A,                 // Packet Identifier 10
      0x00, 0x03, 'a', '/', 'b',  // Topic Filter
      0x01,                       // Requested QoS 1
  });
  const subscribe expected{10, {}, {subscription{"a/b", qos(1)}}};
  EXPECT_EQ(decode_as<subscribe>(wire, v311), expected);
  EXPECT_EQ(encoded(expected, v311), wire);
}

TEST(subscribe, v5_byte_exact_with_all_options) {
  subscription_options options;
  options.maximum_qos = 2;
  options.no_local = true;
  options.retain_as_published = true;
  options.retain_handling = retain_handling::do_not_send;
  subscribe expected{2, {}, {subscription{"x", options}}};
  expected.properties.subscription_identifiers = {5};
  const byte_vector wire = bytes({
      0x82, 0x09,        // SUBSCRIBE, Remaining Length 9
      0x00, 0x02,        // Packet Identifier 2
      0x02, 0x0B, 0x05,  // Properties: Subscription Identifier 5
      0x00, 0x01, 'x',   // Topic Filter
      0x2E,              // Retain Handling 2, RAP, No Local, QoS 2
  });
  EXPECT_EQ(decode_as<subscribe>(wire, v5), expected);
  EXPECT_EQ(encoded(expected, v5), wire);
}

TEST(subscribe, v311_several_filters_round_trip) {
  const subscribe s{65535, {}, {{"a/+", qos(0)}, {"#", qos(2)}, {"$SYS/x", qos(1)}}};
  test::expect_round_trip(s, v311);
}

TEST(subscribe, v5_several_filters_round_trip) {
  subscribe s{1, {}, {}};
  s.properties.user_properties = {{"u", "p"}};
  for (unsigned handling = 0; handling <= 2; ++handling) {
    subscription_options options;
    options.maximum_qos = static_cast<std::uint8_t>(handling);
    options.retain_handling = static_cast<retain_handling>(handling);
    options.retain_as_published = handling == 1;
    s.subscriptions.push_back({"f/" + std::to_string(handling), options});
  }
  s.subscriptions.push_back({"$share/group/a/b", qos(1)});
  test::expect_round_trip(s, v5);
}

TEST(subscribe, v311_encode_writes_only_qos) {
  subscription_options options;
  options.maximum_qos = 1;
  options.no_local = true;
  options.retain_handling = retain_handling::do_not_send;
  const byte_vector wire = encoded(subscribe{1, {}, {{"t", options}}}, v311);
  EXPECT_EQ(wire.back(), 0x01);
}

TEST(subscribe, wrong_fixed_header_flags_are_malformed) {
  // [MQTT-3.8.1-1]
  EXPECT_EQ(decode_failure(bytes({0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 't', 0x00}), v311),
            reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({0x83, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 't', 0x00}), v5),
            reason_code::malformed_packet);
}

TEST(subscribe, no_filter_is_protocol_error) {
  // [MQTT-3.8.3-3]
  EXPECT_EQ(decode_failure(bytes({0x82, 0x02, 0x00, 0x01}), v311), reason_code::protocol_error);
  EXPECT_EQ(decode_failure(bytes({0x82, 0x03, 0x00, 0x01, 0x00}), v5), reason_code::protocol_error);
}

TEST(subscribe, packet_id_zero_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 't', 0x00}), v311),
            reason_code::malformed_packet);
}

TEST(subscribe, v311_reserved_option_bits_are_malformed) {
  // MQTT 3.1.1 [MQTT-3.8.3-4]: bits 7-2 are reserved (No Local does not exist in 3.1.1).
  for (const unsigned option : {0x04U, 0x10U, 0x80U}) {
    EXPECT_EQ(decode_failure(bytes({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 't', option}), v311),
              reason_code::malformed_packet)
        << "option " << option;
  }
}

TEST(subscribe, v311_qos3_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 't', 0x03}), v311),
            reason_code::malformed_packet);
}

TEST(subscribe, v5_reserved_option_bits_are_malformed) {
  // [MQTT-3.8.3-5]
  for (const unsigned option : {0x40U, 0x80U}) {
    EXPECT_EQ(decode_failure(bytes({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 't', option}), v5),
              reason_code::malformed_packet)
        << "option " << option;
  }
}

TEST(subscribe, v5_qos3_is_protocol_error) {
  // MQTT 5.0 3.8.3.1
  EXPECT_EQ(decode_failure(bytes({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 't', 0x03}), v5),
            reason_code::protocol_error);
}

TEST(subscribe, v5_retain_handling_3_is_protocol_error) {
  EXPECT_EQ(decode_failure(bytes({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 't', 0x30}), v5),
            reason_code::protocol_error);
}

TEST(subscribe, v5_no_local_on_shared_subscription_is_protocol_error) {
  // [MQTT-3.8.3-4]
  const byte_vector wire = bytes({
      0x82, 0x10,  // SUBSCRIBE, Remaining Length 16
      0x00, 0x01,  // Packet Identifier
      0x00,        // Properties: none
      0x00, 0x0A, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 't',  // "$share/g/t"
      0x04,                                                          // No Local, QoS 0
  });
  EXPECT_EQ(decode_failure(wire, v5), reason_code::protocol_error);
}

TEST(subscribe, v5_no_local_on_ordinary_filter_is_accepted) {
  const subscribe s =
      decode_as<subscribe>(bytes({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 't', 0x04}), v5);
  ASSERT_EQ(s.subscriptions.size(), 1U);
  EXPECT_TRUE(s.subscriptions[0].options.no_local);
}

TEST(subscribe, missing_options_byte_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 't'}), v311),
            reason_code::malformed_packet);
}

TEST(subscribe, invalid_utf8_filter_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0xFE, 0x00}), v311),
            reason_code::malformed_packet);
}

TEST(subscribe, invalid_topic_filter_is_left_to_the_broker) {
  // MQTT 5.0 3.9.3: answered with SUBACK 0x8F per filter, so the decoder accepts it.
  const subscribe s = decode_as<subscribe>(
      bytes({0x82, 0x0B, 0x00, 0x01, 0x00, 0x00, 0x05, 'a', '/', '#', '/', 'b', 0x00}), v5);
  ASSERT_EQ(s.subscriptions.size(), 1U);
  EXPECT_EQ(s.subscriptions[0].filter, "a/#/b");
}

TEST(subscribe, v5_property_not_allowed_is_protocol_error) {
  // Reason String is not a SUBSCRIBE property.
  EXPECT_EQ(
      decode_failure(
          bytes({0x82, 0x0B, 0x00, 0x01, 0x04, 0x1F, 0x00, 0x01, 'r', 0x00, 0x01, 't', 0x00}), v5),
      reason_code::protocol_error);
}

TEST(subscribe, v5_two_subscription_identifiers_are_protocol_error) {
  EXPECT_EQ(
      decode_failure(
          bytes({0x82, 0x0B, 0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01, 't', 0x00}), v5),
      reason_code::protocol_error);
}

}  // namespace
}  // namespace acemq::mqtt
