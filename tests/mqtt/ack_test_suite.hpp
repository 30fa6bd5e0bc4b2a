#pragma once
// Shared cases for PUBACK, PUBREC, PUBREL and PUBCOMP (MQTT 5.0 3.4-3.7, 3.1.1 3.4-3.7), which
// have one layout. Each packet's test file instantiates the suite with its traits: the first
// byte of the fixed header, a reason code the packet allows and one it does not.

#include "test_util.hpp"

namespace acemq::mqtt::test {

template <typename Ack>
class ack_test : public ::testing::Test {};

TYPED_TEST_SUITE_P(ack_test);

constexpr auto ack_v311 = protocol_version::v311;
constexpr auto ack_v5 = protocol_version::v5;

TYPED_TEST_P(ack_test, v311_byte_exact) {
  using ack = typename TypeParam::packet;
  const byte_vector wire = bytes({TypeParam::first_byte, 0x02, 0x00, 0x01});
  EXPECT_EQ(decode_as<ack>(wire, ack_v311), (ack{1, reason_code::success, {}}));
  EXPECT_EQ(encoded(ack{1, reason_code::success, {}}, ack_v311), wire);
}

TYPED_TEST_P(ack_test, v311_leaves_reason_code_and_properties_out) {
  using ack = typename TypeParam::packet;
  ack a{0x1234, TypeParam::allowed, {}};
  a.properties.reason_string = "ignored";
  EXPECT_EQ(encoded(a, ack_v311), bytes({TypeParam::first_byte, 0x02, 0x12, 0x34}));
}

TYPED_TEST_P(ack_test, v311_extra_byte_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({TypeParam::first_byte, 0x03, 0x00, 0x01, 0x00}), ack_v311),
            reason_code::malformed_packet);
}

TYPED_TEST_P(ack_test, v5_success_short_form) {
  // Reason Code and Property Length left out: Remaining Length 2.
  using ack = typename TypeParam::packet;
  const byte_vector wire = bytes({TypeParam::first_byte, 0x02, 0xFF, 0xFF});
  EXPECT_EQ(encoded(ack{0xFFFF, reason_code::success, {}}, ack_v5), wire);
  EXPECT_EQ(decode_as<ack>(wire, ack_v5), (ack{0xFFFF, reason_code::success, {}}));
}

TYPED_TEST_P(ack_test, v5_reason_code_only_form) {
  // Property Length left out: Remaining Length 3.
  using ack = typename TypeParam::packet;
  const auto code = static_cast<unsigned>(TypeParam::allowed);
  const byte_vector wire = bytes({TypeParam::first_byte, 0x03, 0x00, 0x07, code});
  EXPECT_EQ(encoded(ack{7, TypeParam::allowed, {}}, ack_v5), wire);
  EXPECT_EQ(decode_as<ack>(wire, ack_v5), (ack{7, TypeParam::allowed, {}}));
}

TYPED_TEST_P(ack_test, v5_with_properties_byte_exact) {
  using ack = typename TypeParam::packet;
  ack a{1, TypeParam::allowed, {}};
  a.properties.reason_string = "no";
  const byte_vector wire = bytes({
      TypeParam::first_byte, 0x09,                // Remaining Length 9
      0x00, 0x01,                                 // Packet Identifier
      static_cast<unsigned>(TypeParam::allowed),  // Reason Code
      0x05, 0x1F, 0x00, 0x02, 'n', 'o',           // Properties: Reason String "no"
  });
  EXPECT_EQ(encoded(a, ack_v5), wire);
  EXPECT_EQ(decode_as<ack>(wire, ack_v5), a);
}

TYPED_TEST_P(ack_test, v5_success_with_empty_properties_decodes_as_short_form) {
  using ack = typename TypeParam::packet;
  EXPECT_EQ(decode_as<ack>(bytes({TypeParam::first_byte, 0x04, 0x00, 0x01, 0x00, 0x00}), ack_v5),
            (ack{1, reason_code::success, {}}));
}

TYPED_TEST_P(ack_test, v5_user_properties_with_success_round_trip) {
  using ack = typename TypeParam::packet;
  ack a{42, reason_code::success, {}};
  a.properties.user_properties = {{"k", "v"}};
  const byte_vector wire = encoded(a, ack_v5);
  EXPECT_EQ(wire.size(), 2U + 2U + 1U + 1U + 7U);
  EXPECT_EQ(decode_as<ack>(wire, ack_v5), a);
}

TYPED_TEST_P(ack_test, packet_id_zero_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({TypeParam::first_byte, 0x02, 0x00, 0x00}), ack_v311),
            reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({TypeParam::first_byte, 0x02, 0x00, 0x00}), ack_v5),
            reason_code::malformed_packet);
}

TYPED_TEST_P(ack_test, missing_packet_id_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({TypeParam::first_byte, 0x01, 0x01}), ack_v5),
            reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({TypeParam::first_byte, 0x00}), ack_v311),
            reason_code::malformed_packet);
}

TYPED_TEST_P(ack_test, wrong_fixed_header_flags_are_malformed) {
  // [MQTT-2.1.3-1]
  const auto wrong = TypeParam::first_byte ^ 0x02U;
  EXPECT_EQ(decode_failure(bytes({wrong, 0x02, 0x00, 0x01}), ack_v311),
            reason_code::malformed_packet);
  EXPECT_EQ(decode_failure(bytes({TypeParam::first_byte | 0x08U, 0x02, 0x00, 0x01}), ack_v5),
            reason_code::malformed_packet);
}

TYPED_TEST_P(ack_test, v5_reason_code_not_allowed_is_malformed) {
  const auto code = static_cast<unsigned>(TypeParam::not_allowed);
  EXPECT_EQ(decode_failure(bytes({TypeParam::first_byte, 0x03, 0x00, 0x01, code}), ack_v5),
            reason_code::malformed_packet);
}

TYPED_TEST_P(ack_test, v5_bytes_after_properties_are_malformed) {
  EXPECT_EQ(
      decode_failure(bytes({TypeParam::first_byte, 0x05, 0x00, 0x01, 0x00, 0x00, 0xAA}), ack_v5),
      reason_code::malformed_packet);
}

TYPED_TEST_P(ack_test, v5_property_not_allowed_is_protocol_error) {
  // Topic Alias is a PUBLISH property.
  EXPECT_EQ(
      decode_failure(bytes({TypeParam::first_byte, 0x07, 0x00, 0x01, 0x00, 0x03, 0x23, 0x00, 0x01}),
                     ack_v5),
      reason_code::protocol_error);
}

TYPED_TEST_P(ack_test, v5_property_length_beyond_packet_is_malformed) {
  EXPECT_EQ(decode_failure(bytes({TypeParam::first_byte, 0x04, 0x00, 0x01, 0x00, 0x09}), ack_v5),
            reason_code::malformed_packet);
}

REGISTER_TYPED_TEST_SUITE_P(ack_test, v311_byte_exact, v311_leaves_reason_code_and_properties_out,
                            v311_extra_byte_is_malformed, v5_success_short_form,
                            v5_reason_code_only_form, v5_with_properties_byte_exact,
                            v5_success_with_empty_properties_decodes_as_short_form,
                            v5_user_properties_with_success_round_trip, packet_id_zero_is_malformed,
                            missing_packet_id_is_malformed, wrong_fixed_header_flags_are_malformed,
                            v5_reason_code_not_allowed_is_malformed,
                            v5_bytes_after_properties_are_malformed,
                            v5_property_not_allowed_is_protocol_error,
                            v5_property_length_beyond_packet_is_malformed);

}  // namespace acemq::mqtt::test
