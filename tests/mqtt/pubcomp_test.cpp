// PUBCOMP (MQTT 5.0 3.7, MQTT 3.1.1 3.7).

#include <acemq/mqtt/acknowledgement.hpp>

#include "ack_test_suite.hpp"

namespace acemq::mqtt::test {

struct pubcomp_traits {
  using packet = mqtt::pubcomp;
  static constexpr unsigned first_byte = 0x70;
  static constexpr reason_code allowed = reason_code::packet_identifier_not_found;
  // 0x87 belongs to PUBACK/PUBREC.
  static constexpr reason_code not_allowed = reason_code::not_authorized;
};

INSTANTIATE_TYPED_TEST_SUITE_P(pubcomp, ack_test, pubcomp_traits);

}  // namespace acemq::mqtt::test

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_failure;

TEST(pubcomp, only_success_and_not_found) {
  // MQTT 5.0 3.7.2.1, table 3-7.
  EXPECT_TRUE(
      test::decode_as<pubcomp>(bytes({0x70, 0x03, 0x00, 0x01, 0x92}), protocol_version::v5) ==
      (pubcomp{1, reason_code::packet_identifier_not_found, {}}));
  EXPECT_EQ(decode_failure(bytes({0x70, 0x03, 0x00, 0x01, 0x80}), protocol_version::v5),
            reason_code::malformed_packet);
}

}  // namespace
}  // namespace acemq::mqtt
