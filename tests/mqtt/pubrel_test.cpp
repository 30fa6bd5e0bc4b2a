// PUBREL (MQTT 5.0 3.6, MQTT 3.1.1 3.6).

#include <acemq/mqtt/acknowledgement.hpp>

#include "ack_test_suite.hpp"

namespace acemq::mqtt::test {

struct pubrel_traits {
  using packet = mqtt::pubrel;
  static constexpr unsigned first_byte = 0x62;
  static constexpr reason_code allowed = reason_code::packet_identifier_not_found;
  // 0x10 belongs to PUBACK/PUBREC.
  static constexpr reason_code not_allowed = reason_code::no_matching_subscribers;
};

INSTANTIATE_TYPED_TEST_SUITE_P(pubrel, ack_test, pubrel_traits);

}  // namespace acemq::mqtt::test

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_failure;

TEST(pubrel, flags_zero_are_malformed) {
  // [MQTT-3.6.1-1] PUBREL fixed header flags are 0b0010.
  EXPECT_EQ(decode_failure(bytes({0x60, 0x02, 0x00, 0x01}), protocol_version::v311),
            reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({0x60, 0x02, 0x00, 0x01}), protocol_version::v5),
            reason_code::malformed_packet);
}

TEST(pubrel, encode_sets_required_flags) {
  EXPECT_EQ(test::encoded(pubrel{5, reason_code::success, {}}, protocol_version::v5)[0], 0x62);
}

}  // namespace
}  // namespace acemq::mqtt
