// SUBACK (MQTT 5.0 3.9, MQTT 3.1.1 3.9).

#include <acemq/mqtt/suback.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_as;
using test::decode_failure;
using test::encoded;

using test::v311;
using test::v5;

TEST(suback, v311_byte_exact) {
  const byte_vector wire = bytes({
      0x90, 0x05,        // SUBACK, Remaining Length 5
      0x00, 0x0A,        // Packet Identifier 10
      0x00, 0x01, 0x80,  // granted QoS 0, granted QoS 1, failure
  });
  const suback expected{
      10, {}, {granted_qos_0, reason_code::granted_qos_1, reason_code::unspecified_error}};
  EXPECT_EQ(decode_as<suback>(wire, v311), expected);
  EXPECT_EQ(encoded(expected, v311), wire);
}

TEST(suback, v311_encode_maps_every_error_to_0x80) {
  const suback s{1,
                 {},
                 {reason_code::not_authorized, reason_code::topic_filter_invalid,
                  reason_code::granted_qos_2, reason_code::wildcard_subscriptions_not_supported}};
  EXPECT_EQ(encoded(s, v311), bytes({0x90, 0x06, 0x00, 0x01, 0x80, 0x80, 0x02, 0x80}));
}

TEST(suback, v5_byte_exact) {
  const byte_vector wire = bytes({
      0x90, 0x08,                    // SUBACK, Remaining Length 8
      0x00, 0x0A,                    // Packet Identifier 10
      0x00,                          // Properties: none
      0x00, 0x01, 0x02, 0x87, 0x8F,  // Reason Codes
  });
  const suback expected{10,
                        {},
                        {granted_qos_0, reason_code::granted_qos_1, reason_code::granted_qos_2,
                         reason_code::not_authorized, reason_code::topic_filter_invalid}};
  EXPECT_EQ(decode_as<suback>(wire, v5), expected);
  EXPECT_EQ(encoded(expected, v5), wire);
}

TEST(suback, v5_every_allowed_code_round_trips) {
  // MQTT 5.0 3.9.3, table 3-8.
  suback s{7, {}, {}};
  for (const unsigned code :
       {0x00U, 0x01U, 0x02U, 0x80U, 0x83U, 0x87U, 0x8FU, 0x91U, 0x97U, 0x9EU, 0xA1U, 0xA2U}) {
    s.reason_codes.push_back(static_cast<reason_code>(code));
  }
  s.properties.reason_string = "mixed";
  test::expect_round_trip(s, v5);
}

TEST(suback, v311_undefined_codes_are_malformed) {
  for (const unsigned code : {0x03U, 0x87U, 0x8FU, 0xFFU}) {
    EXPECT_EQ(decode_failure(bytes({0x90, 0x03, 0x00, 0x01, code}), v311),
              reason_code::malformed_packet)
        << "code " << code;
  }
}

TEST(suback, v5_codes_outside_table_are_malformed) {
  for (const unsigned code : {0x03U, 0x04U, 0x11U, 0x81U, 0x8EU}) {
    EXPECT_EQ(decode_failure(bytes({0x90, 0x04, 0x00, 0x01, 0x00, code}), v5),
              reason_code::malformed_packet)
        << "code " << code;
  }
}

TEST(suback, no_reason_codes_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x90, 0x02, 0x00, 0x01}), v311), reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({0x90, 0x03, 0x00, 0x01, 0x00}), v5),
            reason_code::malformed_packet);
}

TEST(suback, fixed_header_flags_are_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x92, 0x03, 0x00, 0x01, 0x00}), v311),
            reason_code::malformed_packet);
}

TEST(suback, packet_id_zero_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0x90, 0x03, 0x00, 0x00, 0x00}), v311),
            reason_code::malformed_packet);
}

TEST(suback, v5_property_not_allowed_is_protocol_error) {
  EXPECT_EQ(decode_failure(bytes({0x90, 0x06, 0x00, 0x01, 0x02, 0x0B, 0x01, 0x00}), v5),
            reason_code::protocol_error);
}

}  // namespace
}  // namespace acemq::mqtt
