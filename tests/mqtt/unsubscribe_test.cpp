// UNSUBSCRIBE (MQTT 5.0 3.10, MQTT 3.1.1 3.10).

#include <acemq/mqtt/unsubscribe.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_as;
using test::decode_failure;
using test::encoded;

using test::v311;
using test::v5;

TEST(unsubscribe, v311_byte_exact) {
  const byte_vector wire = bytes({
      0xA2, 0x07,                 // UNSUBSCRIBE (flags 0b0010), Remaining Length 7
      0x00, 0x0B,                 // Packet Identifier 11
      0x00, 0x03, 'a', '/', 'b',  // Topic Filter
  });
  const unsubscribe expected{11, {}, {"a/b"}};
  EXPECT_EQ(decode_as<unsubscribe>(wire, v311), expected);
  EXPECT_EQ(encoded(expected, v311), wire);
}

TEST(unsubscribe, v5_byte_exact) {
  const byte_vector wire = bytes({
      0xA2, 0x0B,                 // UNSUBSCRIBE, Remaining Length 11
      0x00, 0x0B,                 // Packet Identifier 11
      0x00,                       // Properties: none
      0x00, 0x01, '#',            // Topic Filter "#"
      0x00, 0x03, '+', '/', 'x',  // Topic Filter "+/x"
  });
  const unsubscribe expected{11, {}, {"#", "+/x"}};
  EXPECT_EQ(decode_as<unsubscribe>(wire, v5), expected);
  EXPECT_EQ(encoded(expected, v5), wire);
}

TEST(unsubscribe, v5_user_properties_round_trip) {
  unsubscribe u{300, {}, {"a", "b/c", "$share/g/d"}};
  u.properties.user_properties = {{"why", "done"}};
  test::expect_round_trip(u, v5);
}

TEST(unsubscribe, wrong_fixed_header_flags_are_malformed) {
  // [MQTT-3.10.1-1]
  EXPECT_EQ(decode_failure(bytes({0xA0, 0x05, 0x00, 0x01, 0x00, 0x01, 't'}), v311),
            reason_code::malformed_packet);
}

TEST(unsubscribe, no_filter_is_protocol_error) {
  // [MQTT-3.10.3-2]
  EXPECT_EQ(decode_failure(bytes({0xA2, 0x02, 0x00, 0x01}), v311), reason_code::protocol_error);
  EXPECT_EQ(decode_failure(bytes({0xA2, 0x03, 0x00, 0x01, 0x00}), v5), reason_code::protocol_error);
}

TEST(unsubscribe, packet_id_zero_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xA2, 0x05, 0x00, 0x00, 0x00, 0x01, 't'}), v311),
            reason_code::malformed_packet);
}

TEST(unsubscribe, truncated_filter_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xA2, 0x05, 0x00, 0x01, 0x00, 0x02, 't'}), v311),
            reason_code::malformed_packet);
}

TEST(unsubscribe, invalid_utf8_filter_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xA2, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0xC1}), v5),
            reason_code::malformed_packet);
}

TEST(unsubscribe, v5_property_not_allowed_is_protocol_error) {
  // Subscription Identifier is not an UNSUBSCRIBE property.
  EXPECT_EQ(decode_failure(bytes({0xA2, 0x08, 0x00, 0x01, 0x02, 0x0B, 0x01, 0x00, 0x01, 't'}), v5),
            reason_code::protocol_error);
}

}  // namespace
}  // namespace acemq::mqtt
