// CONNECT (MQTT 5.0 3.1, MQTT 3.1.1 3.1).

#include <acemq/mqtt/connect.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::encoded;

connect decoded_connect(const byte_vector& wire) {
  auto decoded = decode_connect(wire);
  if (!decoded) {
    ADD_FAILURE() << "decode_connect failed: " << to_string(decoded.error());
    return {};
  }
  return *decoded;
}

reason_code connect_failure(const byte_vector& wire) {
  auto decoded = decode_connect(wire);
  if (decoded) {
    ADD_FAILURE() << "decode_connect unexpectedly succeeded";
    return reason_code::success;
  }
  return decoded.error();
}

// A 3.1.1 CONNECT: client "abc", Clean Session, Keep Alive 60.
const byte_vector v311_minimal = bytes({
    0x10, 0x0F,                      // CONNECT, Remaining Length 15
    0x00, 0x04, 'M', 'Q', 'T', 'T',  // Protocol Name
    0x04,                            // Protocol Level 4
    0x02,                            // Connect Flags: Clean Session
    0x00, 0x3C,                      // Keep Alive 60
    0x00, 0x03, 'a', 'b', 'c',       // Client Identifier
});

// A 5.0 CONNECT with a user name, password and Session Expiry Interval.
const byte_vector v5_with_credentials = bytes({
    0x10, 0x1A,                          // CONNECT, Remaining Length 26
    0x00, 0x04, 'M',  'Q',  'T',  'T',   // Protocol Name
    0x05,                                // Protocol Level 5
    0xC2,                                // User Name, Password, Clean Start
    0x00, 0x0A,                          // Keep Alive 10
    0x05, 0x11, 0x00, 0x00, 0x00, 0x78,  // Properties: Session Expiry Interval 120
    0x00, 0x02, 'c',  '1',               // Client Identifier
    0x00, 0x01, 'u',                     // User Name
    0x00, 0x01, 0x70,                    // Password
});

// A 5.0 CONNECT with a QoS 1 retained Will.
const byte_vector v5_with_will = bytes({
    0x10, 0x20,                         // CONNECT, Remaining Length 32
    0x00, 0x04, 'M',  'Q',  'T',  'T',  // Protocol Name
    0x05,                               // Protocol Level 5
    0x2E,                               // Will Retain, Will QoS 1, Will Flag, Clean Start
    0x00, 0x00,                         // Keep Alive 0
    0x00,                               // Properties: none
    0x00, 0x01, 'x',                    // Client Identifier
    0x07, 0x01, 0x01, 0x18, 0x00, 0x00, 0x00, 0x05,  // Will Properties: UTF-8 payload, delay 5
    0x00, 0x03, 'w',  '/',  't',                     // Will Topic
    0x00, 0x03, 'b',  'y',  'e',                     // Will Payload
});

// Builds a CONNECT whose variable header after the protocol level is `rest`.
byte_vector connect_with(unsigned level, unsigned connect_flags, const byte_vector& rest) {
  const byte_vector body =
      bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', level, connect_flags, 0x00, 0x00}) + rest;
  return bytes({0x10, static_cast<unsigned>(body.size())}) + body;
}

TEST(connect, v311_minimal_decodes) {
  const connect c = decoded_connect(v311_minimal);
  EXPECT_EQ(c.protocol_version, protocol_version::v311);
  EXPECT_TRUE(c.clean_start);
  EXPECT_EQ(c.keep_alive, 60);
  EXPECT_EQ(c.client_id, "abc");
  EXPECT_FALSE(c.will);
  EXPECT_FALSE(c.username);
  EXPECT_FALSE(c.password);
  EXPECT_TRUE(c.properties.empty());
}

TEST(connect, v311_minimal_encodes_byte_exact) {
  connect c;
  c.protocol_version = protocol_version::v311;
  c.keep_alive = 60;
  c.client_id = "abc";
  EXPECT_EQ(encoded(c, protocol_version::v311), v311_minimal);
  // The packet's own version wins over the argument.
  EXPECT_EQ(encoded(c, protocol_version::v5), v311_minimal);
}

TEST(connect, v5_with_credentials_byte_exact) {
  connect c;
  c.keep_alive = 10;
  c.client_id = "c1";
  c.properties.session_expiry_interval = 120;
  c.username = "u";
  c.password = bytes({0x70});
  EXPECT_EQ(encoded(c, protocol_version::v5), v5_with_credentials);
  EXPECT_EQ(decoded_connect(v5_with_credentials), c);
}

TEST(connect, v5_with_will_byte_exact) {
  connect c;
  c.client_id = "x";
  will_message will;
  will.topic = "w/t";
  will.payload = to_bytes("bye");
  will.qos = 1;
  will.retain = true;
  will.properties.will_delay_interval = 5;
  will.properties.payload_format_indicator = 1;
  c.will = will;
  EXPECT_EQ(encoded(c, protocol_version::v5), v5_with_will);
  EXPECT_EQ(decoded_connect(v5_with_will), c);
}

TEST(connect, decode_also_accepts_connect) {
  // decode() reads CONNECT with its own version whatever the connection's version.
  EXPECT_EQ(test::decode_as<connect>(v5_with_will, protocol_version::v311).protocol_version,
            protocol_version::v5);
  EXPECT_EQ(test::decode_as<connect>(v311_minimal, protocol_version::v5).protocol_version,
            protocol_version::v311);
}

TEST(connect, v311_full_round_trip) {
  connect c;
  c.protocol_version = protocol_version::v311;
  c.clean_start = false;
  c.keep_alive = 65535;
  c.client_id = "client-\xC3\xA9";
  c.will = will_message{"status/offline", to_bytes("gone"), 2, false, {}};
  c.username = "ace";
  c.password = bytes({0x00, 0x01, 0xFF});
  test::expect_round_trip(c, protocol_version::v311);
}

TEST(connect, v5_full_round_trip) {
  connect c;
  c.clean_start = false;
  c.keep_alive = 300;
  c.client_id = "";
  c.properties.authentication_method = "ace";
  c.properties.authentication_data = bytes({0xA1, 0x01, 0x02});
  c.properties.receive_maximum = 100;
  c.properties.maximum_packet_size = 65536;
  c.properties.topic_alias_maximum = 5;
  c.properties.request_problem_information = 0;
  c.properties.user_properties = {{"a", "b"}};
  will_message will;
  will.topic = "t";
  will.qos = 2;
  will.properties.message_expiry_interval = 30;
  will.properties.correlation_data = bytes({1});
  will.properties.response_topic = "r";
  will.properties.content_type = "c";
  c.will = will;
  c.password = bytes({0x01});  // MQTT 5.0 allows a password without a user name
  test::expect_round_trip(c, protocol_version::v5);
}

TEST(connect, empty_client_id_is_accepted) {
  // [MQTT-3.1.3-6] a zero-length ClientID is allowed; the broker decides what to do.
  EXPECT_EQ(decoded_connect(connect_with(4, 0x02, bytes({0x00, 0x00}))).client_id, "");
}

TEST(connect, old_protocol_name_is_unsupported_version) {
  // MQTT 3.1: "MQIsdp", level 3.
  const byte_vector wire = bytes({0x10, 0x10, 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03, 0x02,
                                  0x00, 0x3C, 0x00, 0x02, 'i', 'd'});
  EXPECT_EQ(connect_failure(wire), reason_code::unsupported_protocol_version);
}

TEST(connect, unknown_protocol_name_is_unsupported_version) {
  const byte_vector wire =
      bytes({0x10, 0x0C, 0x00, 0x04, 'M', 'Q', 'T', 'X', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x00});
  EXPECT_EQ(connect_failure(wire), reason_code::unsupported_protocol_version);
}

TEST(connect, unknown_protocol_levels_are_unsupported_version) {
  for (const unsigned level : {0U, 3U, 6U, 0x84U, 0xFFU}) {
    EXPECT_EQ(connect_failure(connect_with(level, 0x02, bytes({0x00, 0x00}))),
              reason_code::unsupported_protocol_version)
        << "level " << level;
  }
}

TEST(connect, reserved_connect_flag_is_malformed) {
  // [MQTT-3.1.2-3]
  EXPECT_EQ(connect_failure(connect_with(4, 0x03, bytes({0x00, 0x00}))),
            reason_code::malformed_packet);
  EXPECT_EQ(connect_failure(connect_with(5, 0x01, bytes({0x00, 0x00, 0x00}))),
            reason_code::malformed_packet);
}

TEST(connect, will_qos_three_is_malformed) {
  // [MQTT-3.1.2-12] Will Flag with Will QoS 3.
  EXPECT_EQ(
      connect_failure(connect_with(4, 0x1E, bytes({0x00, 0x00, 0x00, 0x01, 't', 0x00, 0x00}))),
      reason_code::malformed_packet);
}

TEST(connect, will_qos_without_will_flag_is_malformed) {
  // [MQTT-3.1.2-11] / [MQTT-3.1.2-13]
  EXPECT_EQ(connect_failure(connect_with(4, 0x0A, bytes({0x00, 0x00}))),
            reason_code::malformed_packet);
  EXPECT_EQ(connect_failure(connect_with(5, 0x12, bytes({0x00, 0x00, 0x00}))),
            reason_code::malformed_packet);
}

TEST(connect, will_retain_without_will_flag_is_malformed) {
  // [MQTT-3.1.2-15]
  EXPECT_EQ(connect_failure(connect_with(4, 0x22, bytes({0x00, 0x00}))),
            reason_code::malformed_packet);
}

TEST(connect, v311_password_without_user_name_is_malformed) {
  // [MQTT-3.1.2-22]
  EXPECT_EQ(connect_failure(connect_with(4, 0x42, bytes({0x00, 0x00, 0x00, 0x01, 'p'}))),
            reason_code::malformed_packet);
}

TEST(connect, v5_password_without_user_name_is_accepted) {
  const connect c =
      decoded_connect(connect_with(5, 0x42, bytes({0x00, 0x00, 0x00, 0x00, 0x01, 'p'})));
  EXPECT_FALSE(c.username);
  EXPECT_EQ(c.password, to_bytes("p"));
}

TEST(connect, user_name_flag_without_user_name_is_malformed) {
  EXPECT_EQ(connect_failure(connect_with(4, 0x82, bytes({0x00, 0x00}))),
            reason_code::malformed_packet);
}

TEST(connect, will_flag_without_will_fields_is_malformed) {
  EXPECT_EQ(connect_failure(connect_with(4, 0x06, bytes({0x00, 0x00}))),
            reason_code::malformed_packet);
}

TEST(connect, trailing_bytes_are_malformed) {
  EXPECT_EQ(connect_failure(connect_with(4, 0x02, bytes({0x00, 0x00, 0xAA}))),
            reason_code::malformed_packet);
}

TEST(connect, client_id_beyond_packet_is_malformed) {
  EXPECT_EQ(connect_failure(connect_with(4, 0x02, bytes({0x00, 0x09, 'a'}))),
            reason_code::malformed_packet);
}

TEST(connect, protocol_name_length_beyond_packet_is_malformed) {
  EXPECT_EQ(connect_failure(bytes({0x10, 0x03, 0x00, 0x40, 'M'})), reason_code::malformed_packet);
}

TEST(connect, invalid_utf8_client_id_is_malformed) {
  // [MQTT-1.5.4-1] a lone continuation byte.
  EXPECT_EQ(connect_failure(connect_with(4, 0x02, bytes({0x00, 0x01, 0x80}))),
            reason_code::malformed_packet);
}

TEST(connect, surrogate_in_client_id_is_malformed) {
  // [MQTT-1.5.4-1] U+D800 encoded as UTF-8 is not allowed.
  EXPECT_EQ(connect_failure(connect_with(4, 0x02, bytes({0x00, 0x03, 0xED, 0xA0, 0x80}))),
            reason_code::malformed_packet);
}

TEST(connect, null_character_in_user_name_is_malformed) {
  // [MQTT-1.5.4-2]
  EXPECT_EQ(connect_failure(connect_with(4, 0x82, bytes({0x00, 0x00, 0x00, 0x01, 0x00}))),
            reason_code::malformed_packet);
}

TEST(connect, will_topic_with_wildcard_is_topic_name_invalid) {
  EXPECT_EQ(connect_failure(
                connect_with(4, 0x06, bytes({0x00, 0x00, 0x00, 0x03, 'a', '/', '#', 0x00, 0x00}))),
            reason_code::topic_name_invalid);
}

TEST(connect, fixed_header_flags_are_malformed) {
  byte_vector wire = v311_minimal;
  wire[0] = 0x11;  // [MQTT-2.1.3-1]
  EXPECT_EQ(connect_failure(wire), reason_code::malformed_packet);
}

TEST(connect, first_packet_not_connect_is_protocol_error) {
  // [MQTT-3.1.0-1]
  EXPECT_EQ(connect_failure(bytes({0xC0, 0x00})), reason_code::protocol_error);
}

TEST(connect, truncated_is_malformed) {
  const byte_vector wire(v5_with_will.begin(), v5_with_will.end() - 1);
  EXPECT_EQ(connect_failure(wire), reason_code::malformed_packet);
}

TEST(connect, property_not_allowed_in_connect_is_protocol_error) {
  // Topic Alias (0x23) in CONNECT.
  EXPECT_EQ(connect_failure(connect_with(5, 0x02, bytes({0x03, 0x23, 0x00, 0x01, 0x00, 0x00}))),
            reason_code::protocol_error);
}

TEST(connect, property_not_allowed_in_will_is_protocol_error) {
  // Session Expiry Interval in the Will Properties.
  EXPECT_EQ(connect_failure(connect_with(5, 0x06,
                                         bytes({0x00, 0x00, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00,
                                                0x01, 0x00, 0x01, 't', 0x00, 0x00}))),
            reason_code::protocol_error);
}

TEST(connect, authentication_data_without_method_is_protocol_error) {
  // MQTT 5.0 3.1.2.11.10
  EXPECT_EQ(
      connect_failure(connect_with(5, 0x02, bytes({0x04, 0x16, 0x00, 0x01, 0xAB, 0x00, 0x00}))),
      reason_code::protocol_error);
}

TEST(connect, v311_has_no_properties) {
  // In 3.1.1 the byte after Keep Alive starts the Client Identifier, so a v5-style property
  // length byte would be read as part of the client identifier length.
  connect c;
  c.protocol_version = protocol_version::v311;
  c.client_id = "id";
  c.properties.session_expiry_interval = 5;  // ignored for v311
  const byte_vector wire = encoded(c, protocol_version::v311);
  EXPECT_EQ(wire.size(), 16U);
  EXPECT_TRUE(decoded_connect(wire).properties.empty());
}

}  // namespace
}  // namespace acemq::mqtt
