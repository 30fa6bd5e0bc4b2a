// CONNACK (MQTT 5.0 3.2, MQTT 3.1.1 3.2).

#include <acemq/mqtt/connack.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_as;
using test::decode_failure;
using test::encoded;

using test::v311;
using test::v5;

TEST(connack, v311_accepted_byte_exact) {
  const byte_vector wire = bytes({0x20, 0x02, 0x00, 0x00});
  EXPECT_EQ(encoded(connack{}, v311), wire);
  EXPECT_EQ(decode_as<connack>(wire, v311), connack{});
}

TEST(connack, v311_session_present) {
  const byte_vector wire = bytes({0x20, 0x02, 0x01, 0x00});
  const connack c = decode_as<connack>(wire, v311);
  EXPECT_TRUE(c.session_present);
  EXPECT_EQ(encoded(c, v311), wire);
}

TEST(connack, v311_return_codes_map_to_reason_codes) {
  EXPECT_EQ(decode_as<connack>(bytes({0x20, 0x02, 0x00, 0x01}), v311).reason_code,
            reason_code::unsupported_protocol_version);
  EXPECT_EQ(decode_as<connack>(bytes({0x20, 0x02, 0x00, 0x02}), v311).reason_code,
            reason_code::client_identifier_not_valid);
  EXPECT_EQ(decode_as<connack>(bytes({0x20, 0x02, 0x00, 0x03}), v311).reason_code,
            reason_code::server_unavailable);
  EXPECT_EQ(decode_as<connack>(bytes({0x20, 0x02, 0x00, 0x04}), v311).reason_code,
            reason_code::bad_user_name_or_password);
  EXPECT_EQ(decode_as<connack>(bytes({0x20, 0x02, 0x00, 0x05}), v311).reason_code,
            reason_code::not_authorized);
}

TEST(connack, v311_encode_maps_v5_reason_codes) {
  EXPECT_EQ(encoded(connack{false, reason_code::unsupported_protocol_version, {}}, v311),
            bytes({0x20, 0x02, 0x00, 0x01}));
  EXPECT_EQ(encoded(connack{false, reason_code::bad_authentication_method, {}}, v311),
            bytes({0x20, 0x02, 0x00, 0x05}));
  EXPECT_EQ(encoded(connack{false, reason_code::server_busy, {}}, v311),
            bytes({0x20, 0x02, 0x00, 0x03}));
}

TEST(connack, v311_encode_leaves_properties_out) {
  connack c;
  c.properties.assigned_client_identifier = "abc";
  EXPECT_EQ(encoded(c, v311), bytes({0x20, 0x02, 0x00, 0x00}));
}

TEST(connack, v311_reserved_return_code_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x20, 0x02, 0x00, 0x06}), v311), reason_code::malformed_packet);
}

TEST(connack, v311_extra_byte_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x20, 0x03, 0x00, 0x00, 0x00}), v311),
            reason_code::malformed_packet);
}

TEST(connack, v5_success_byte_exact) {
  const byte_vector wire = bytes({0x20, 0x03, 0x00, 0x00, 0x00});
  EXPECT_EQ(encoded(connack{}, v5), wire);
  EXPECT_EQ(decode_as<connack>(wire, v5), connack{});
}

TEST(connack, v5_with_properties_byte_exact) {
  connack c;
  c.session_present = true;
  c.properties.receive_maximum = 5;
  c.properties.assigned_client_identifier = "id";
  c.properties.topic_alias_maximum = 10;
  const byte_vector wire = bytes({
      0x20, 0x0E,                  // CONNACK, Remaining Length 14
      0x01,                        // Session Present
      0x00,                        // Success
      0x0B,                        // Property Length 11
      0x12, 0x00, 0x02, 'i', 'd',  // Assigned Client Identifier
      0x21, 0x00, 0x05,            // Receive Maximum 5
      0x22, 0x00, 0x0A,            // Topic Alias Maximum 10
  });
  EXPECT_EQ(encoded(c, v5), wire);
  EXPECT_EQ(decode_as<connack>(wire, v5), c);
}

TEST(connack, v5_error_round_trip) {
  connack c;
  c.reason_code = reason_code::bad_authentication_method;
  c.properties.reason_string = "use ace";
  c.properties.server_reference = "other";
  test::expect_round_trip(c, v5);
}

TEST(connack, v5_authentication_round_trip) {
  connack c;
  c.properties.authentication_method = "ace";
  c.properties.authentication_data = bytes({0x01, 0x02});
  c.properties.server_keep_alive = 30;
  c.properties.maximum_qos = 1;
  c.properties.retain_available = 0;
  c.properties.maximum_packet_size = 1024;
  c.properties.wildcard_subscription_available = 1;
  c.properties.subscription_identifier_available = 1;
  c.properties.shared_subscription_available = 0;
  c.properties.session_expiry_interval = 0;
  c.properties.response_information = "resp/";
  test::expect_round_trip(c, v5);
}

TEST(connack, reserved_acknowledge_flags_are_malformed) {
  // [MQTT-3.2.2-1]
  EXPECT_EQ(decode_failure(bytes({0x20, 0x02, 0x02, 0x00}), v311), reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({0x20, 0x03, 0x80, 0x00, 0x00}), v5),
            reason_code::malformed_packet);
}

TEST(connack, fixed_header_flags_are_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x21, 0x02, 0x00, 0x00}), v311), reason_code::malformed_packet);
}

TEST(connack, v5_reason_code_not_for_connack_is_malformed) {
  // 0x10 No matching subscribers is a PUBACK code.
  EXPECT_EQ(decode_failure(bytes({0x20, 0x03, 0x00, 0x10, 0x00}), v5),
            reason_code::malformed_packet);
  // 0x8E Session taken over is a DISCONNECT code.
  EXPECT_EQ(decode_failure(bytes({0x20, 0x03, 0x00, 0x8E, 0x00}), v5),
            reason_code::malformed_packet);
}

TEST(connack, v5_missing_property_length_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x20, 0x02, 0x00, 0x00}), v5), reason_code::malformed_packet);
}

TEST(connack, v5_property_not_allowed_is_protocol_error) {
  // Topic Alias is a PUBLISH property.
  EXPECT_EQ(decode_failure(bytes({0x20, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01}), v5),
            reason_code::protocol_error);
}

TEST(connack, empty_body_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x20, 0x00}), v311), reason_code::malformed_packet);
}

}  // namespace
}  // namespace acemq::mqtt
