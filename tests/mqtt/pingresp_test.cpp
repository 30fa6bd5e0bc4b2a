// PINGRESP (MQTT 5.0 3.13, MQTT 3.1.1 3.13): a fixed header and nothing else.

#include <acemq/mqtt/pingresp.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_failure;

class pingresp_test : public ::testing::TestWithParam<protocol_version> {};

INSTANTIATE_TEST_SUITE_P(both_versions, pingresp_test,
                         ::testing::Values(protocol_version::v311, protocol_version::v5));

TEST_P(pingresp_test, byte_exact) {
  EXPECT_EQ(test::encoded(pingresp{}, GetParam()), bytes({0xD0, 0x00}));
  EXPECT_EQ(test::decode_as<pingresp>(bytes({0xD0, 0x00}), GetParam()), pingresp{});
  EXPECT_EQ(encoded_size(pingresp{}, GetParam()), 2U);
}

TEST_P(pingresp_test, body_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({0xD0, 0x01, 0x00}), GetParam()), reason_code::malformed_packet);
}

TEST_P(pingresp_test, fixed_header_flags_are_malformed) {
  // [MQTT-2.1.3-1]
  EXPECT_EQ(decode_failure(bytes({0xD0 | 0x01U, 0x00}), GetParam()), reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({0xD0 | 0x02U, 0x00}), GetParam()), reason_code::malformed_packet);
}

}  // namespace
}  // namespace acemq::mqtt
