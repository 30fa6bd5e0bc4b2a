// AUTH (MQTT 5.0 3.15): the enhanced authentication exchange ACE uses for challenge/response.

#include <acemq/mqtt/auth.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_as;
using test::decode_failure;
using test::encoded;

using test::v5;

TEST(auth, success_short_form) {
  // MQTT 5.0 3.15.2.1: Remaining Length 0 means Success with no properties.
  EXPECT_EQ(encoded(auth{}, v5), bytes({0xF0, 0x00}));
  EXPECT_EQ(decode_as<auth>(bytes({0xF0, 0x00}), v5), auth{});
}

TEST(auth, continue_with_method_and_data_byte_exact) {
  auth a{reason_code::continue_authentication, {}};
  a.properties.authentication_method = "ace";
  a.properties.authentication_data = bytes({0x01, 0x02});
  const byte_vector wire = bytes({
      0xF0, 0x0D,                       // AUTH, Remaining Length 13
      0x18,                             // Continue authentication
      0x0B,                             // Property Length 11
      0x15, 0x00, 0x03, 'a', 'c', 'e',  // Authentication Method "ace"
      0x16, 0x00, 0x02, 0x01, 0x02,     // Authentication Data
  });
  EXPECT_EQ(encoded(a, v5), wire);
  EXPECT_EQ(decode_as<auth>(wire, v5), a);
}

TEST(auth, reauthenticate_round_trip) {
  auth a{reason_code::reauthenticate, {}};
  a.properties.authentication_method = "ace";
  a.properties.authentication_data = byte_vector(300, 0x7E);
  a.properties.reason_string = "token refresh";
  a.properties.user_properties = {{"a", "b"}};
  test::expect_round_trip(a, v5);
}

TEST(auth, success_with_properties_round_trip) {
  auth a{reason_code::success, {}};
  a.properties.authentication_method = "ace";
  test::expect_round_trip(a, v5);
}

TEST(auth, reason_code_without_properties_is_accepted) {
  EXPECT_EQ(decode_as<auth>(bytes({0xF0, 0x01, 0x19}), v5).reason_code,
            reason_code::reauthenticate);
  EXPECT_EQ(encoded(auth{reason_code::reauthenticate, {}}, v5), bytes({0xF0, 0x02, 0x19, 0x00}));
}

TEST(auth, codes_outside_table_are_malformed) {
  // [MQTT-3.15.2-1]
  for (const unsigned code : {0x01U, 0x80U, 0x87U, 0x8CU}) {
    EXPECT_EQ(decode_failure(bytes({0xF0, 0x02, code, 0x00}), v5), reason_code::malformed_packet)
        << "code " << code;
  }
}

TEST(auth, does_not_exist_in_v311) {
  // MQTT 3.1.1 2.2.1: packet type 15 is reserved.
  EXPECT_EQ(decode_failure(bytes({0xF0, 0x00}), protocol_version::v311),
            reason_code::malformed_packet);
}

TEST(auth, fixed_header_flags_are_malformed) {
  // [MQTT-3.15.1-1]
  EXPECT_EQ(decode_failure(bytes({0xF1, 0x00}), v5), reason_code::malformed_packet);
}

TEST(auth, property_not_allowed_is_protocol_error) {
  // Session Expiry Interval is not an AUTH property.
  EXPECT_EQ(decode_failure(bytes({0xF0, 0x07, 0x18, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01}), v5),
            reason_code::protocol_error);
}

TEST(auth, duplicate_authentication_method_is_protocol_error) {
  EXPECT_EQ(decode_failure(
                bytes({0xF0, 0x0A, 0x18, 0x08, 0x15, 0x00, 0x01, 'a', 0x15, 0x00, 0x01, 'b'}), v5),
            reason_code::protocol_error);
}

TEST(auth, bytes_after_properties_are_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xF0, 0x03, 0x18, 0x00, 0x00}), v5),
            reason_code::malformed_packet);
}

}  // namespace
}  // namespace acemq::mqtt
