// UNSUBACK (MQTT 5.0 3.11, MQTT 3.1.1 3.11).

#include <acemq/mqtt/unsuback.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_as;
using test::decode_failure;
using test::encoded;

using test::v311;
using test::v5;

TEST(unsuback, v311_byte_exact) {
  const byte_vector wire = bytes({0xB0, 0x02, 0x00, 0x0B});
  EXPECT_EQ(decode_as<unsuback>(wire, v311), (unsuback{11, {}, {}}));
  EXPECT_EQ(encoded(unsuback{11, {}, {}}, v311), wire);
}

TEST(unsuback, v311_encode_leaves_reason_codes_out) {
  // MQTT 3.1.1 3.11.3: no payload.
  EXPECT_EQ(encoded(unsuback{11, {}, {reason_code::success}}, v311),
            bytes({0xB0, 0x02, 0x00, 0x0B}));
}

TEST(unsuback, v311_payload_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xB0, 0x03, 0x00, 0x0B, 0x00}), v311),
            reason_code::malformed_packet);
}

TEST(unsuback, v5_byte_exact) {
  const byte_vector wire = bytes({
      0xB0, 0x05,  // UNSUBACK, Remaining Length 5
      0x00, 0x0B,  // Packet Identifier 11
      0x00,        // Properties: none
      0x00, 0x11,  // Success, No subscription existed
  });
  const unsuback expected{11, {}, {reason_code::success, reason_code::no_subscription_existed}};
  EXPECT_EQ(decode_as<unsuback>(wire, v5), expected);
  EXPECT_EQ(encoded(expected, v5), wire);
}

TEST(unsuback, v5_every_allowed_code_round_trips) {
  // MQTT 5.0 3.11.3, table 3-9.
  unsuback u{2, {}, {}};
  for (const unsigned code : {0x00U, 0x11U, 0x80U, 0x83U, 0x87U, 0x8FU, 0x91U}) {
    u.reason_codes.push_back(static_cast<reason_code>(code));
  }
  u.properties.reason_string = "r";
  u.properties.user_properties = {{"a", "b"}};
  test::expect_round_trip(u, v5);
}

TEST(unsuback, v5_no_reason_codes_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xB0, 0x03, 0x00, 0x01, 0x00}), v5),
            reason_code::malformed_packet);
}

TEST(unsuback, v5_code_outside_table_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xB0, 0x04, 0x00, 0x01, 0x00, 0x01}), v5),
            reason_code::malformed_packet);
}

TEST(unsuback, packet_id_zero_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xB0, 0x02, 0x00, 0x00}), v311), reason_code::malformed_packet);
}

TEST(unsuback, fixed_header_flags_are_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xB2, 0x02, 0x00, 0x01}), v311), reason_code::malformed_packet);
}

}  // namespace
}  // namespace acemq::mqtt
