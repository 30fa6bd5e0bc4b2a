// Reason codes (MQTT 5.0 2.4) and the 3.1.1 CONNACK return code mapping.

#include <acemq/mqtt/packet_type.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

TEST(reason_code, names_follow_the_specification) {
  EXPECT_EQ(to_string(reason_code::success), "success");
  EXPECT_EQ(to_string(normal_disconnection), "success");
  EXPECT_EQ(to_string(reason_code::malformed_packet), "malformed_packet");
  EXPECT_EQ(to_string(reason_code::packet_too_large), "packet_too_large");
  EXPECT_EQ(to_string(reason_code::wildcard_subscriptions_not_supported),
            "wildcard_subscriptions_not_supported");
  EXPECT_EQ(to_string(static_cast<reason_code>(0x03)), "unknown");
}

TEST(reason_code, values_match_the_specification) {
  EXPECT_EQ(static_cast<unsigned>(reason_code::disconnect_with_will), 0x04U);
  EXPECT_EQ(static_cast<unsigned>(reason_code::continue_authentication), 0x18U);
  EXPECT_EQ(static_cast<unsigned>(reason_code::bad_authentication_method), 0x8CU);
  EXPECT_EQ(static_cast<unsigned>(reason_code::topic_name_invalid), 0x90U);
  EXPECT_EQ(static_cast<unsigned>(reason_code::wildcard_subscriptions_not_supported), 0xA2U);
  EXPECT_EQ(granted_qos_0, reason_code::success);
}

TEST(reason_code, exactly_the_43_defined_values_are_known) {
  // MQTT 5.0 table 2-6 lists 43 distinct values.
  int known = 0;
  for (unsigned value = 0; value < 256; ++value) {
    if (is_known_reason_code(static_cast<std::uint8_t>(value))) ++known;
  }
  EXPECT_EQ(known, 43);
  EXPECT_FALSE(is_known_reason_code(0x03));
  EXPECT_FALSE(is_known_reason_code(0xA3));
  EXPECT_TRUE(is_known_reason_code(0x19));
}

TEST(reason_code, errors_start_at_0x80) {
  EXPECT_FALSE(is_error(reason_code::success));
  EXPECT_FALSE(is_error(reason_code::reauthenticate));
  EXPECT_TRUE(is_error(reason_code::unspecified_error));
  EXPECT_TRUE(is_error(reason_code::wildcard_subscriptions_not_supported));
}

TEST(reason_code, v311_return_codes_round_trip) {
  for (unsigned value = 0; value <= 5; ++value) {
    const auto code = static_cast<connect_return_code_v311>(value);
    EXPECT_EQ(to_connect_return_code_v311(from_connect_return_code_v311(code)), code);
  }
}

TEST(reason_code, v5_connack_codes_map_to_closest_v311_code) {
  EXPECT_EQ(to_connect_return_code_v311(reason_code::success), connect_return_code_v311::accepted);
  EXPECT_EQ(to_connect_return_code_v311(reason_code::unsupported_protocol_version),
            connect_return_code_v311::unacceptable_protocol_version);
  EXPECT_EQ(to_connect_return_code_v311(reason_code::client_identifier_not_valid),
            connect_return_code_v311::identifier_rejected);
  EXPECT_EQ(to_connect_return_code_v311(reason_code::bad_user_name_or_password),
            connect_return_code_v311::bad_user_name_or_password);
  EXPECT_EQ(to_connect_return_code_v311(reason_code::not_authorized),
            connect_return_code_v311::not_authorized);
  EXPECT_EQ(to_connect_return_code_v311(reason_code::banned),
            connect_return_code_v311::not_authorized);
  EXPECT_EQ(to_connect_return_code_v311(reason_code::bad_authentication_method),
            connect_return_code_v311::not_authorized);
  EXPECT_EQ(to_connect_return_code_v311(reason_code::server_busy),
            connect_return_code_v311::server_unavailable);
  EXPECT_EQ(to_connect_return_code_v311(reason_code::malformed_packet),
            connect_return_code_v311::server_unavailable);
}

TEST(reason_code, each_packet_allows_the_codes_of_table_2_6) {
  // MQTT 5.0 2.4, table 2-6: a sample of each row.
  EXPECT_TRUE(is_allowed_reason_code(packet_type::connack, reason_code::banned));
  EXPECT_FALSE(is_allowed_reason_code(packet_type::connack, reason_code::session_taken_over));
  EXPECT_TRUE(is_allowed_reason_code(packet_type::puback, reason_code::no_matching_subscribers));
  EXPECT_TRUE(is_allowed_reason_code(packet_type::pubrec, reason_code::quota_exceeded));
  EXPECT_FALSE(is_allowed_reason_code(packet_type::puback, reason_code::topic_filter_invalid));
  EXPECT_TRUE(
      is_allowed_reason_code(packet_type::pubcomp, reason_code::packet_identifier_not_found));
  EXPECT_TRUE(is_allowed_reason_code(packet_type::suback, reason_code::granted_qos_2));
  EXPECT_FALSE(is_allowed_reason_code(packet_type::suback, reason_code::topic_name_invalid));
  EXPECT_TRUE(is_allowed_reason_code(packet_type::disconnect, reason_code::keep_alive_timeout));
  EXPECT_FALSE(is_allowed_reason_code(packet_type::disconnect, reason_code::banned));
  EXPECT_FALSE(is_allowed_reason_code(packet_type::publish, reason_code::success));
}

TEST(reason_code, a_refusal_becomes_a_code_the_packet_allows) {
  // An error the packet allows stays; one it does not becomes Unspecified error; a code that is
  // not an error (a provider's mistake) must still refuse: Not authorized.
  EXPECT_EQ(refusal_for(packet_type::connack, reason_code::banned), reason_code::banned);
  EXPECT_EQ(refusal_for(packet_type::connack, reason_code::keep_alive_timeout),
            reason_code::unspecified_error);
  EXPECT_EQ(refusal_for(packet_type::puback, reason_code::success), reason_code::not_authorized);
  EXPECT_EQ(refusal_for(packet_type::suback, reason_code::granted_qos_1),
            reason_code::not_authorized);
  EXPECT_EQ(refusal_for(packet_type::suback, reason_code::quota_exceeded),
            reason_code::quota_exceeded);
  EXPECT_EQ(refusal_for(packet_type::disconnect, reason_code::bad_authentication_method),
            reason_code::unspecified_error);
}

TEST(reason_code, v311_return_code_names) {
  EXPECT_EQ(to_string(connect_return_code_v311::identifier_rejected), "identifier_rejected");
  EXPECT_EQ(to_string(static_cast<connect_return_code_v311>(9)), "unknown");
}

TEST(packet_type, names) {
  EXPECT_EQ(to_string(packet_type::connect), "CONNECT");
  EXPECT_EQ(to_string(packet_type::unsuback), "UNSUBACK");
  EXPECT_EQ(to_string(packet_type::auth), "AUTH");
  EXPECT_EQ(to_string(static_cast<packet_type>(0)), "RESERVED");
}

TEST(packet_type, variant_order_matches_wire_values) {
  EXPECT_EQ(type_of(packet{connect{}}), packet_type::connect);
  EXPECT_EQ(type_of(packet{pubcomp{}}), packet_type::pubcomp);
  EXPECT_EQ(type_of(packet{unsuback{}}), packet_type::unsuback);
  EXPECT_EQ(type_of(packet{auth{}}), packet_type::auth);
}

}  // namespace
}  // namespace acemq::mqtt
