// PINGREQ (MQTT 5.0 3.12, MQTT 3.1.1 3.12): a fixed header and nothing else.

#include <acemq/mqtt/pingreq.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_failure;

class pingreq_test : public ::testing::TestWithParam<protocol_version> {};

INSTANTIATE_TEST_SUITE_P(both_versions, pingreq_test,
                         ::testing::Values(protocol_version::v311, protocol_version::v5));

TEST_P(pingreq_test, byte_exact) {
  EXPECT_EQ(test::encoded(pingreq{}, GetParam()), bytes({0xC0, 0x00}));
  EXPECT_EQ(test::decode_as<pingreq>(bytes({0xC0, 0x00}), GetParam()), pingreq{});
  EXPECT_EQ(encoded_size(pingreq{}, GetParam()), 2U);
}

TEST_P(pingreq_test, body_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xC0, 0x01, 0x00}), GetParam()), reason_code::malformed_packet);
}

TEST_P(pingreq_test, fixed_header_flags_are_malformed) {
  // [MQTT-2.1.3-1]
  EXPECT_EQ(decode_failure(bytes({0xC0 | 0x01U, 0x00}), GetParam()), reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({0xC0 | 0x02U, 0x00}), GetParam()), reason_code::malformed_packet);
}

}  // namespace
}  // namespace acemq::mqtt
