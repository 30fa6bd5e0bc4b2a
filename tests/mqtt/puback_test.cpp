// PUBACK (MQTT 5.0 3.4, MQTT 3.1.1 3.4).

#include <acemq/mqtt/acknowledgement.hpp>

#include "ack_test_suite.hpp"

namespace acemq::mqtt::test {

struct puback_traits {
  using packet = mqtt::puback;
  static constexpr unsigned first_byte = 0x40;
  static constexpr reason_code allowed = reason_code::no_matching_subscribers;
  // 0x92 belongs to PUBREL/PUBCOMP.
  static constexpr reason_code not_allowed = reason_code::packet_identifier_not_found;
};

INSTANTIATE_TYPED_TEST_SUITE_P(puback, ack_test, puback_traits);

}  // namespace acemq::mqtt::test

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::decode_failure;

TEST(puback, every_allowed_reason_code_decodes) {
  // MQTT 5.0 3.4.2.1, table 3-4.
  for (const unsigned code : {0x00U, 0x10U, 0x80U, 0x83U, 0x87U, 0x90U, 0x91U, 0x97U, 0x99U}) {
    const auto decoded =
        test::decode_as<puback>(bytes({0x40, 0x03, 0x00, 0x01, code}), protocol_version::v5);
    EXPECT_EQ(static_cast<unsigned>(decoded.reason_code), code);
  }
}

TEST(puback, publish_reason_codes_outside_table_are_malformed) {
  for (const unsigned code : {0x01U, 0x11U, 0x81U, 0x92U, 0xFFU}) {
    EXPECT_EQ(decode_failure(bytes({0x40, 0x03, 0x00, 0x01, code}), protocol_version::v5),
              reason_code::malformed_packet)
        << "code " << code;
  }
}

}  // namespace
}  // namespace acemq::mqtt
