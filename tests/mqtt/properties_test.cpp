// MQTT 5.0 properties (2.2.2): encoding, which packets allow which property, duplicates, value
// ranges and malformed encodings.

#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/properties.hpp>

#include <vector>

#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

using detail::property_context;
using test::bytes;

result<properties, reason_code> read(const byte_vector& wire, property_context context) {
  detail::reader in(wire);
  auto decoded = detail::read_properties(in, context);
  if (decoded && !in.empty()) ADD_FAILURE() << "property reader left bytes";
  return decoded;
}

reason_code failure(const byte_vector& wire, property_context context) {
  auto decoded = read(wire, context);
  if (decoded) {
    ADD_FAILURE() << "properties unexpectedly decoded";
    return reason_code::success;
  }
  return decoded.error();
}

byte_vector written(const properties& props) {
  byte_vector out;
  detail::write_properties(props, out);
  EXPECT_EQ(out.size(), detail::properties_size(props));
  return out;
}

TEST(properties, empty_is_a_single_zero_length) {
  EXPECT_EQ(written(properties{}), bytes({0x00}));
  EXPECT_TRUE(properties{}.empty());
  auto decoded = read(bytes({0x00}), property_context::connect);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->empty());
}

// empty() lists every member (it is on the path of every PUBLISH): any one property set makes
// the set non-empty and gives more than the single zero byte.
TEST(properties, any_one_property_makes_them_non_empty) {
  const std::vector<void (*)(properties&)> each = {
      [](properties& p) { p.payload_format_indicator = 1; },
      [](properties& p) { p.message_expiry_interval = 1; },
      [](properties& p) { p.content_type = "c"; },
      [](properties& p) { p.response_topic = "r"; },
      [](properties& p) { p.correlation_data = byte_vector{1}; },
      [](properties& p) { p.subscription_identifiers = {1}; },
      [](properties& p) { p.session_expiry_interval = 1; },
      [](properties& p) { p.assigned_client_identifier = "a"; },
      [](properties& p) { p.server_keep_alive = 1; },
      [](properties& p) { p.authentication_method = "m"; },
      [](properties& p) { p.authentication_data = byte_vector{1}; },
      [](properties& p) { p.request_problem_information = 1; },
      [](properties& p) { p.will_delay_interval = 1; },
      [](properties& p) { p.request_response_information = 1; },
      [](properties& p) { p.response_information = "i"; },
      [](properties& p) { p.server_reference = "s"; },
      [](properties& p) { p.reason_string = "why"; },
      [](properties& p) { p.receive_maximum = 1; },
      [](properties& p) { p.topic_alias_maximum = 1; },
      [](properties& p) { p.topic_alias = 1; },
      [](properties& p) { p.maximum_qos = 1; },
      [](properties& p) { p.retain_available = 1; },
      [](properties& p) {
        p.user_properties = {{"k", "v"}};
      },
      [](properties& p) { p.maximum_packet_size = 1; },
      [](properties& p) { p.wildcard_subscription_available = 1; },
      [](properties& p) { p.subscription_identifier_available = 1; },
      [](properties& p) { p.shared_subscription_available = 1; },
  };
  // A member added to mqtt::properties changes its size: add it above and to empty().
  static_assert(sizeof(properties) == 472);
  for (std::size_t i = 0; i < each.size(); ++i) {
    properties props;
    each[i](props);
    EXPECT_FALSE(props.empty()) << i;
    EXPECT_GT(written(props).size(), 1U) << i;
  }
}

TEST(properties, byte_exact_connect_properties) {
  properties props;
  props.session_expiry_interval = 10;
  props.receive_maximum = 20;
  props.user_properties = {{"k", "v"}};
  const byte_vector expected = bytes({
      0x0F,                                    // Property Length 15
      0x11, 0x00, 0x00, 0x00, 0x0A,            // Session Expiry Interval 10
      0x21, 0x00, 0x14,                        // Receive Maximum 20
      0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',  // User Property ("k", "v")
  });
  EXPECT_EQ(written(props), expected);
  auto decoded = read(expected, property_context::connect);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, props);
}

TEST(properties, any_order_is_accepted) {
  // MQTT 5.0 2.2.2.2 sets no order; the encoder writes identifiers in ascending order.
  auto decoded =
      read(bytes({0x07, 0x18, 0x00, 0x00, 0x00, 0x05, 0x01, 0x01}), property_context::will);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->will_delay_interval, 5U);
  EXPECT_EQ(decoded->payload_format_indicator, 1);
  EXPECT_EQ(written(*decoded), bytes({0x07, 0x01, 0x01, 0x18, 0x00, 0x00, 0x00, 0x05}));
}

TEST(properties, every_publish_property_round_trips) {
  properties props;
  props.payload_format_indicator = 1;
  props.message_expiry_interval = 3600;
  props.content_type = "application/cbor";
  props.response_topic = "reply/here";
  props.correlation_data = bytes({0x00, 0xFF, 0x10});
  props.subscription_identifiers = {1, 268'435'455, 128};
  props.topic_alias = 7;
  props.user_properties = {{"b", "2"}, {"a", "1"}, {"b", "3"}};
  auto decoded = read(written(props), property_context::publish);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, props);
}

TEST(properties, every_connack_property_round_trips) {
  properties props;
  props.session_expiry_interval = 0xFFFFFFFF;
  props.assigned_client_identifier = "auto-1";
  props.server_keep_alive = 0;
  props.authentication_method = "ace";
  props.authentication_data = bytes({1, 2, 3});
  props.response_information = "info";
  props.server_reference = "other:1883";
  props.reason_string = "fine";
  props.receive_maximum = 65535;
  props.topic_alias_maximum = 0;
  props.maximum_qos = 1;
  props.retain_available = 0;
  props.user_properties = {{"x", ""}};
  props.maximum_packet_size = 1;
  props.wildcard_subscription_available = 1;
  props.subscription_identifier_available = 0;
  props.shared_subscription_available = 1;
  auto decoded = read(written(props), property_context::connack);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, props);
}

TEST(properties, every_connect_and_will_property_round_trips) {
  properties connect_props;
  connect_props.session_expiry_interval = 60;
  connect_props.authentication_method = "ace";
  connect_props.authentication_data = bytes({9});
  connect_props.request_problem_information = 0;
  connect_props.request_response_information = 1;
  connect_props.receive_maximum = 1;
  connect_props.topic_alias_maximum = 10;
  connect_props.maximum_packet_size = 1'000'000;
  auto decoded = read(written(connect_props), property_context::connect);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, connect_props);

  properties will_props;
  will_props.will_delay_interval = 5;
  will_props.payload_format_indicator = 0;
  will_props.message_expiry_interval = 10;
  will_props.content_type = "text/plain";
  will_props.response_topic = "r";
  will_props.correlation_data = bytes({});
  auto will_decoded = read(written(will_props), property_context::will);
  ASSERT_TRUE(will_decoded);
  EXPECT_EQ(*will_decoded, will_props);
}

struct placement_case {
  const char* name;
  byte_vector property;  // one property, without the Property Length
  property_context context;
};

class property_not_allowed_test : public ::testing::TestWithParam<placement_case> {};

// MQTT 5.0 table 2-4: a property outside the packets listed for it is a Protocol Error.
INSTANTIATE_TEST_SUITE_P(
    table_2_4, property_not_allowed_test,
    ::testing::Values(
        placement_case{"topic_alias_in_connect", bytes({0x23, 0x00, 0x01}),
                       property_context::connect},
        placement_case{"will_delay_in_publish", bytes({0x18, 0, 0, 0, 1}),
                       property_context::publish},
        placement_case{"will_delay_in_connect", bytes({0x18, 0, 0, 0, 1}),
                       property_context::connect},
        placement_case{"request_problem_information_in_connack", bytes({0x17, 0x01}),
                       property_context::connack},
        placement_case{"reason_string_in_connect", bytes({0x1F, 0x00, 0x01, 'r'}),
                       property_context::connect},
        placement_case{"reason_string_in_publish", bytes({0x1F, 0x00, 0x01, 'r'}),
                       property_context::publish},
        placement_case{"server_reference_in_auth", bytes({0x1C, 0x00, 0x01, 's'}),
                       property_context::auth},
        placement_case{"session_expiry_in_publish", bytes({0x11, 0, 0, 0, 1}),
                       property_context::publish},
        placement_case{"session_expiry_in_will", bytes({0x11, 0, 0, 0, 1}), property_context::will},
        placement_case{"subscription_identifier_in_connack", bytes({0x0B, 0x01}),
                       property_context::connack},
        placement_case{"subscription_identifier_in_unsubscribe", bytes({0x0B, 0x01}),
                       property_context::unsubscribe},
        placement_case{"maximum_qos_in_connect", bytes({0x24, 0x00}), property_context::connect},
        placement_case{"authentication_method_in_disconnect", bytes({0x15, 0x00, 0x01, 'a'}),
                       property_context::disconnect},
        placement_case{"content_type_in_puback", bytes({0x03, 0x00, 0x01, 'c'}),
                       property_context::puback},
        placement_case{"receive_maximum_in_subscribe", bytes({0x21, 0x00, 0x01}),
                       property_context::subscribe},
        placement_case{"assigned_client_identifier_in_connect", bytes({0x12, 0x00, 0x01, 'i'}),
                       property_context::connect}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST_P(property_not_allowed_test, is_protocol_error) {
  const byte_vector& property = GetParam().property;
  const byte_vector wire = bytes({static_cast<unsigned>(property.size())}) + property;
  EXPECT_EQ(failure(wire, GetParam().context), reason_code::protocol_error);
}

TEST(properties, user_property_allowed_everywhere) {
  const byte_vector wire = bytes({0x05, 0x26, 0x00, 0x00, 0x00, 0x00});
  for (unsigned context = 0; context <= static_cast<unsigned>(property_context::auth); ++context) {
    auto decoded = read(wire, static_cast<property_context>(context));
    ASSERT_TRUE(decoded) << "context " << context;
    ASSERT_EQ(decoded->user_properties.size(), 1U);
  }
}

TEST(properties, reason_string_allowed_in_every_acknowledgement) {
  const byte_vector wire = bytes({0x04, 0x1F, 0x00, 0x01, 'r'});
  for (const property_context context :
       {property_context::connack, property_context::puback, property_context::pubrec,
        property_context::pubrel, property_context::pubcomp, property_context::suback,
        property_context::unsuback, property_context::disconnect, property_context::auth}) {
    auto decoded = read(wire, context);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->reason_string, "r");
  }
}

TEST(properties, duplicate_session_expiry_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x0A, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2}), property_context::connect),
            reason_code::protocol_error);
}

TEST(properties, duplicate_content_type_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x08, 0x03, 0x00, 0x01, 'a', 0x03, 0x00, 0x01, 'b'}),
                    property_context::publish),
            reason_code::protocol_error);
}

TEST(properties, duplicate_authentication_data_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x06, 0x16, 0x00, 0x00, 0x16, 0x00, 0x00}), property_context::auth),
            reason_code::protocol_error);
}

TEST(properties, duplicate_maximum_qos_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x04, 0x24, 0x00, 0x24, 0x01}), property_context::connack),
            reason_code::protocol_error);
}

TEST(properties, response_topic_with_wildcard_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x06, 0x08, 0x00, 0x03, 'a', '/', '#'}), property_context::publish),
            reason_code::protocol_error);
  EXPECT_EQ(failure(bytes({0x04, 0x08, 0x00, 0x01, '+'}), property_context::will),
            reason_code::protocol_error);
}

TEST(properties, empty_response_topic_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x03, 0x08, 0x00, 0x00}), property_context::publish),
            reason_code::protocol_error);
}

TEST(properties, user_properties_repeat_in_order) {
  auto decoded = read(
      bytes({0x0E, 0x26, 0x00, 0x01, 'b', 0x00, 0x01, '1', 0x26, 0x00, 0x01, 'a', 0x00, 0x01, '2'}),
      property_context::publish);
  ASSERT_TRUE(decoded);
  const std::vector<std::pair<std::string, std::string>> expected{{"b", "1"}, {"a", "2"}};
  EXPECT_EQ(decoded->user_properties, expected);
}

TEST(properties, subscription_identifier_repeats_in_publish) {
  auto decoded = read(bytes({0x05, 0x0B, 0x01, 0x0B, 0x80, 0x01}), property_context::publish);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->subscription_identifiers, (std::vector<std::uint32_t>{1, 128}));
}

TEST(properties, subscription_identifier_repeated_in_subscribe_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x04, 0x0B, 0x01, 0x0B, 0x02}), property_context::subscribe),
            reason_code::protocol_error);
}

TEST(properties, subscription_identifier_zero_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x02, 0x0B, 0x00}), property_context::subscribe),
            reason_code::protocol_error);
}

TEST(properties, subscription_identifier_maximum_is_accepted) {
  auto decoded = read(bytes({0x05, 0x0B, 0xFF, 0xFF, 0xFF, 0x7F}), property_context::subscribe);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->subscription_identifiers,
            (std::vector<std::uint32_t>{max_subscription_identifier}));
}

TEST(properties, subscription_identifier_longer_than_four_bytes_is_malformed) {
  EXPECT_EQ(failure(bytes({0x06, 0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), property_context::publish),
            reason_code::malformed_packet);
}

TEST(properties, receive_maximum_zero_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x03, 0x21, 0x00, 0x00}), property_context::connect),
            reason_code::protocol_error);
}

TEST(properties, maximum_packet_size_zero_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x05, 0x27, 0, 0, 0, 0}), property_context::connack),
            reason_code::protocol_error);
}

TEST(properties, topic_alias_zero_is_protocol_error) {
  // MQTT 5.0 3.3.2.3.4: a Topic Alias of 0 is not permitted.
  EXPECT_EQ(failure(bytes({0x03, 0x23, 0x00, 0x00}), property_context::publish),
            reason_code::protocol_error);
}

TEST(properties, payload_format_indicator_two_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x02, 0x01, 0x02}), property_context::publish),
            reason_code::protocol_error);
}

TEST(properties, maximum_qos_two_is_protocol_error) {
  EXPECT_EQ(failure(bytes({0x02, 0x24, 0x02}), property_context::connack),
            reason_code::protocol_error);
}

TEST(properties, boolean_properties_accept_only_zero_and_one) {
  for (const unsigned id : {0x17U, 0x19U}) {
    EXPECT_TRUE(read(bytes({0x02, id, 0x01}), property_context::connect));
    EXPECT_EQ(failure(bytes({0x02, id, 0x02}), property_context::connect),
              reason_code::protocol_error);
  }
  for (const unsigned id : {0x25U, 0x28U, 0x29U, 0x2AU}) {
    EXPECT_TRUE(read(bytes({0x02, id, 0x00}), property_context::connack));
    EXPECT_EQ(failure(bytes({0x02, id, 0xFF}), property_context::connack),
              reason_code::protocol_error);
  }
}

TEST(properties, unknown_identifier_is_malformed) {
  for (const unsigned id : {0x00U, 0x04U, 0x0AU, 0x14U, 0x2BU, 0x7FU}) {
    EXPECT_EQ(failure(bytes({0x02, id, 0x00}), property_context::publish),
              reason_code::malformed_packet)
        << "identifier " << id;
  }
}

TEST(properties, multi_byte_identifier_is_malformed) {
  // 0x81 0x00 would be 0x01 in a non-minimal encoding; 0x81 0x02 is 257, which wraps to 0x01 in
  // a byte and must not be taken for Payload Format Indicator.
  EXPECT_EQ(failure(bytes({0x03, 0x81, 0x00, 0x01}), property_context::publish),
            reason_code::malformed_packet);
  EXPECT_EQ(failure(bytes({0x03, 0x81, 0x02, 0x01}), property_context::publish),
            reason_code::malformed_packet);
}

TEST(properties, property_length_beyond_packet_is_malformed) {
  EXPECT_EQ(failure(bytes({0x05, 0x01, 0x01}), property_context::publish),
            reason_code::malformed_packet);
}

TEST(properties, truncated_value_is_malformed) {
  EXPECT_EQ(failure(bytes({0x03, 0x02, 0x00, 0x00}), property_context::publish),
            reason_code::malformed_packet);
}

TEST(properties, string_longer_than_property_length_is_malformed) {
  EXPECT_EQ(
      failure(bytes({0x04, 0x03, 0x00, 0x05, 'a', 'b', 'c', 'd', 'e'}), property_context::publish),
      reason_code::malformed_packet);
}

TEST(properties, missing_property_length_is_malformed) {
  EXPECT_EQ(failure(bytes({}), property_context::publish), reason_code::malformed_packet);
}

TEST(properties, invalid_utf8_string_is_malformed) {
  // [MQTT-1.5.4-1] 0xC0 0x80 is an overlong encoding.
  EXPECT_EQ(failure(bytes({0x05, 0x03, 0x00, 0x02, 0xC0, 0x80}), property_context::publish),
            reason_code::malformed_packet);
}

TEST(properties, null_character_in_string_is_malformed) {
  // [MQTT-1.5.4-2]
  EXPECT_EQ(failure(bytes({0x05, 0x1F, 0x00, 0x02, 'a', 0x00}), property_context::puback),
            reason_code::malformed_packet);
}

TEST(properties, null_character_in_user_property_is_malformed) {
  EXPECT_EQ(failure(bytes({0x06, 0x26, 0x00, 0x00, 0x00, 0x01, 0x00}), property_context::publish),
            reason_code::malformed_packet);
}

TEST(properties, binary_data_may_contain_any_byte) {
  auto decoded = read(bytes({0x05, 0x09, 0x00, 0x02, 0x00, 0xFF}), property_context::publish);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->correlation_data, bytes({0x00, 0xFF}));
}

TEST(properties, utf8_multibyte_string_round_trips) {
  properties props;
  props.content_type =
      "temp\xC2\xB0"
      "C \xF0\x9F\x8C\xA1";
  auto decoded = read(written(props), property_context::publish);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->content_type, props.content_type);
}

TEST(properties, two_byte_property_length_is_read) {
  properties props;
  props.reason_string = std::string(200, 'r');
  const byte_vector wire = written(props);
  EXPECT_EQ(wire[0], 0xCB);  // 203 = 0xCB 0x01
  EXPECT_EQ(wire[1], 0x01);
  auto decoded = read(wire, property_context::disconnect);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->reason_string, props.reason_string);
}

TEST(properties, empty_reports_any_set_property) {
  properties props;
  EXPECT_TRUE(props.empty());
  props.user_properties.emplace_back("a", "b");
  EXPECT_FALSE(props.empty());
  properties other;
  other.topic_alias = 1;
  EXPECT_FALSE(other.empty());
}

}  // namespace
}  // namespace acemq::mqtt
