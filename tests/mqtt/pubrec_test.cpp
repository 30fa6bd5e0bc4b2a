// PUBREC (MQTT 5.0 3.5, MQTT 3.1.1 3.5).

#include <acemq/mqtt/acknowledgement.hpp>

#include "ack_test_suite.hpp"

namespace acemq::mqtt::test {

struct pubrec_traits {
  using packet = mqtt::pubrec;
  static constexpr unsigned first_byte = 0x50;
  static constexpr reason_code allowed = reason_code::quota_exceeded;
  // 0x92 belongs to PUBREL/PUBCOMP.
  static constexpr reason_code not_allowed = reason_code::packet_identifier_not_found;
};

INSTANTIATE_TYPED_TEST_SUITE_P(pubrec, ack_test, pubrec_traits);

}  // namespace acemq::mqtt::test

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_failure;

TEST(pubrec, error_reason_round_trip) {
  // MQTT 5.0 3.5.2.1: an error code ends the QoS 2 exchange.
  pubrec p{99, reason_code::payload_format_invalid, {}};
  p.properties.reason_string = "not UTF-8";
  test::expect_round_trip(p, protocol_version::v5);
}

TEST(pubrec, reauthenticate_is_not_a_pubrec_code) {
  EXPECT_EQ(decode_failure(bytes({0x50, 0x03, 0x00, 0x01, 0x19}), protocol_version::v5),
            reason_code::malformed_packet);
}

}  // namespace
}  // namespace acemq::mqtt
