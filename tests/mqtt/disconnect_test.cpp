// DISCONNECT (MQTT 5.0 3.14, MQTT 3.1.1 3.14).

#include <acemq/mqtt/disconnect.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_as;
using test::decode_failure;
using test::encoded;

using test::v311;
using test::v5;

TEST(disconnect, v311_byte_exact) {
  EXPECT_EQ(encoded(disconnect{}, v311), bytes({0xE0, 0x00}));
  EXPECT_EQ(decode_as<disconnect>(bytes({0xE0, 0x00}), v311), disconnect{});
}

TEST(disconnect, v311_encode_leaves_reason_out) {
  EXPECT_EQ(encoded(disconnect{reason_code::session_taken_over, {}}, v311), bytes({0xE0, 0x00}));
}

TEST(disconnect, v311_body_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xE0, 0x01, 0x00}), v311), reason_code::malformed_packet);
}

TEST(disconnect, v5_normal_short_form) {
  // MQTT 5.0 3.14.2.1: Remaining Length 0 means Normal disconnection.
  EXPECT_EQ(encoded(disconnect{}, v5), bytes({0xE0, 0x00}));
  EXPECT_EQ(decode_as<disconnect>(bytes({0xE0, 0x00}), v5).reason_code, normal_disconnection);
}

TEST(disconnect, v5_reason_code_only) {
  // Encoded with an explicit empty Property Length (Paho 1.6 ignores the reason code of a
  // DISCONNECT whose Remaining Length is 1); the short form still decodes.
  const byte_vector wire = bytes({0xE0, 0x02, 0x8E, 0x00});
  const disconnect expected{reason_code::session_taken_over, {}};
  EXPECT_EQ(encoded(expected, v5), wire);
  EXPECT_EQ(decode_as<disconnect>(wire, v5), expected);
  EXPECT_EQ(decode_as<disconnect>(bytes({0xE0, 0x01, 0x8E}), v5), expected);
}

TEST(disconnect, v5_not_authorized_has_explicit_property_length) {
  EXPECT_EQ(encoded(disconnect{reason_code::not_authorized, {}}, v5),
            bytes({0xE0, 0x02, 0x87, 0x00}));
  EXPECT_EQ(encoded(disconnect{reason_code::disconnect_with_will, {}}, v5),
            bytes({0xE0, 0x02, 0x04, 0x00}));
}

TEST(disconnect, v5_with_will_reason) {
  EXPECT_EQ(decode_as<disconnect>(bytes({0xE0, 0x01, 0x04}), v5).reason_code,
            reason_code::disconnect_with_will);
}

TEST(disconnect, v5_with_properties_byte_exact) {
  disconnect d{reason_code::server_shutting_down, {}};
  d.properties.reason_string = "bye";
  d.properties.session_expiry_interval = 0;
  const byte_vector wire = bytes({
      0xE0, 0x0D,                       // DISCONNECT, Remaining Length 13
      0x8B,                             // Server shutting down
      0x0B,                             // Property Length 11
      0x11, 0x00, 0x00, 0x00, 0x00,     // Session Expiry Interval 0
      0x1F, 0x00, 0x03, 'b', 'y', 'e',  // Reason String
  });
  EXPECT_EQ(encoded(d, v5), wire);
  EXPECT_EQ(decode_as<disconnect>(wire, v5), d);
}

TEST(disconnect, v5_empty_property_length_is_accepted) {
  EXPECT_EQ(decode_as<disconnect>(bytes({0xE0, 0x02, 0x00, 0x00}), v5), disconnect{});
}

TEST(disconnect, v5_server_reference_round_trip) {
  disconnect d{reason_code::use_another_server, {}};
  d.properties.server_reference = "broker2:8883";
  d.properties.user_properties = {{"k", "v"}};
  test::expect_round_trip(d, v5);
}

TEST(disconnect, v5_code_outside_table_is_malformed) {
  for (const unsigned code : {0x01U, 0x18U, 0x84U, 0x86U, 0x91U}) {
    EXPECT_EQ(decode_failure(bytes({0xE0, 0x01, code}), v5), reason_code::malformed_packet)
        << "code " << code;
  }
}

TEST(disconnect, v5_property_not_allowed_is_protocol_error) {
  EXPECT_EQ(decode_failure(bytes({0xE0, 0x05, 0x00, 0x03, 0x23, 0x00, 0x01}), v5),
            reason_code::protocol_error);
}

TEST(disconnect, v5_bytes_after_properties_are_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xE0, 0x03, 0x00, 0x00, 0x00}), v5),
            reason_code::malformed_packet);
}

TEST(disconnect, fixed_header_flags_are_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xE1, 0x00}), v311), reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({0xE8, 0x00}), v5), reason_code::malformed_packet);
}

}  // namespace
}  // namespace acemq::mqtt
