// Fixed header framing and the Variable Byte Integer (MQTT 5.0 1.5.5, 2.1; 3.1.1 2.2).

#include <acemq/mqtt/frame.hpp>

#include "test_util.hpp"

#include <limits>

namespace acemq::mqtt {
namespace {

using test::bytes;
using test::encoded;

constexpr std::uint32_t no_limit = std::numeric_limits<std::uint32_t>::max();

struct vbi_case {
  std::uint32_t value;
  byte_vector encoding;
};

class variable_byte_integer_test : public ::testing::TestWithParam<vbi_case> {};

// MQTT 5.0 table 1-1: the boundaries of each encoded length.
INSTANTIATE_TEST_SUITE_P(boundaries, variable_byte_integer_test,
                         ::testing::Values(vbi_case{0, bytes({0x00})}, vbi_case{127, bytes({0x7F})},
                                           vbi_case{128, bytes({0x80, 0x01})},
                                           vbi_case{16'383, bytes({0xFF, 0x7F})},
                                           vbi_case{16'384, bytes({0x80, 0x80, 0x01})},
                                           vbi_case{2'097'151, bytes({0xFF, 0xFF, 0x7F})},
                                           vbi_case{2'097'152, bytes({0x80, 0x80, 0x80, 0x01})},
                                           vbi_case{268'435'455, bytes({0xFF, 0xFF, 0xFF, 0x7F})}));

TEST_P(variable_byte_integer_test, encodes_minimally) {
  byte_vector out;
  write_variable_byte_integer(GetParam().value, out);
  EXPECT_EQ(out, GetParam().encoding);
  EXPECT_EQ(variable_byte_integer_size(GetParam().value), GetParam().encoding.size());
}

TEST_P(variable_byte_integer_test, peek_frame_reads_remaining_length) {
  const byte_vector header = bytes({0x30}) + GetParam().encoding;
  auto peeked = peek_frame(header, no_limit);
  ASSERT_TRUE(peeked);
  ASSERT_TRUE(peeked->has_value());
  EXPECT_EQ((*peeked)->remaining_length, GetParam().value);
  EXPECT_EQ((*peeked)->header_size, header.size());
  EXPECT_EQ((*peeked)->total_size(), header.size() + GetParam().value);
}

TEST_P(variable_byte_integer_test, peek_frame_needs_every_length_byte) {
  const byte_vector header = bytes({0x30}) + GetParam().encoding;
  for (std::size_t size = 0; size < header.size(); ++size) {
    auto peeked = peek_frame(byte_view(header).first(size), no_limit);
    ASSERT_TRUE(peeked) << "prefix " << size;
    EXPECT_FALSE(peeked->has_value()) << "prefix " << size;
  }
}

TEST(frame, five_byte_remaining_length_is_malformed) {
  // MQTT 5.0 1.5.5: at most four bytes.
  auto peeked = peek_frame(bytes({0x30, 0x80, 0x80, 0x80, 0x80, 0x01}), no_limit);
  ASSERT_FALSE(peeked);
  EXPECT_EQ(peeked.error(), reason_code::malformed_packet);
}

TEST(frame, fourth_length_byte_with_continuation_is_malformed_without_fifth_byte) {
  auto peeked = peek_frame(bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF}), no_limit);
  ASSERT_FALSE(peeked);
  EXPECT_EQ(peeked.error(), reason_code::malformed_packet);
}

TEST(frame, non_minimal_remaining_length_is_malformed) {
  // [MQTT-1.5.5-1] 0 encoded in two bytes.
  auto peeked = peek_frame(bytes({0xC0, 0x80, 0x00}), no_limit);
  ASSERT_FALSE(peeked);
  EXPECT_EQ(peeked.error(), reason_code::malformed_packet);
}

TEST(frame, reserved_packet_type_zero_is_malformed) {
  auto peeked = peek_frame(bytes({0x00, 0x00}), no_limit);
  ASSERT_FALSE(peeked);
  EXPECT_EQ(peeked.error(), reason_code::malformed_packet);
}

TEST(frame, empty_buffer_needs_more) {
  auto peeked = peek_frame(byte_view(), no_limit);
  ASSERT_TRUE(peeked);
  EXPECT_FALSE(peeked->has_value());
}

TEST(frame, reports_type_and_flags) {
  auto peeked = peek_frame(bytes({0x62, 0x02, 0x00, 0x01}), no_limit);
  ASSERT_TRUE(peeked);
  ASSERT_TRUE(peeked->has_value());
  EXPECT_EQ((*peeked)->type, packet_type::pubrel);
  EXPECT_EQ((*peeked)->flags, 0x02);
  EXPECT_EQ((*peeked)->header_size, 2U);
  EXPECT_EQ((*peeked)->remaining_length, 2U);
}

TEST(frame, packet_of_exactly_the_maximum_is_accepted) {
  // 2-byte header + 10 bytes = 12.
  auto peeked = peek_frame(bytes({0x30, 0x0A}), 12);
  ASSERT_TRUE(peeked);
  ASSERT_TRUE(peeked->has_value());
  EXPECT_EQ((*peeked)->total_size(), 12U);
}

TEST(frame, packet_one_byte_over_the_maximum_is_too_large) {
  auto peeked = peek_frame(bytes({0x30, 0x0A}), 11);
  ASSERT_FALSE(peeked);
  EXPECT_EQ(peeked.error(), reason_code::packet_too_large);
}

TEST(frame, too_large_is_reported_from_the_fixed_header_alone) {
  // Only the fixed header of a 2 MB PUBLISH has arrived: refuse before reading the body.
  auto peeked = peek_frame(bytes({0x30, 0xFF, 0xFF, 0x7F}), 1024);
  ASSERT_FALSE(peeked);
  EXPECT_EQ(peeked.error(), reason_code::packet_too_large);
}

TEST(frame, largest_remaining_length_with_no_limit) {
  auto peeked = peek_frame(bytes({0x30, 0xFF, 0xFF, 0xFF, 0x7F}), no_limit);
  ASSERT_TRUE(peeked);
  ASSERT_TRUE(peeked->has_value());
  EXPECT_EQ((*peeked)->remaining_length, max_remaining_length);
  EXPECT_EQ((*peeked)->total_size(), 268'435'460U);
}

TEST(frame, splits_a_stream_of_packets) {
  publish message;
  message.topic = "a/b";
  message.payload = std::make_shared<const byte_vector>(300, 0x5A);
  byte_vector stream;
  encode(pingreq{}, protocol_version::v5, stream);
  encode(message, protocol_version::v5, stream);
  encode(puback{7, reason_code::success, {}}, protocol_version::v5, stream);

  std::vector<packet_type> types;
  byte_view rest(stream);
  while (!rest.empty()) {
    auto peeked = peek_frame(rest, no_limit);
    ASSERT_TRUE(peeked);
    ASSERT_TRUE(peeked->has_value());
    const std::size_t size = (*peeked)->total_size();
    ASSERT_LE(size, rest.size());
    auto decoded = decode(rest.first(size), protocol_version::v5);
    ASSERT_TRUE(decoded);
    types.push_back(type_of(*decoded));
    rest = rest.subspan(size);
  }
  EXPECT_EQ(types, (std::vector<packet_type>{packet_type::pingreq, packet_type::publish,
                                             packet_type::puback}));
}

// Every packet type, split at every point: before the fixed header is complete peek_frame asks
// for more; from then on it reports the full size, whether or not the body has arrived.
class split_point_test : public ::testing::TestWithParam<packet> {};

INSTANTIATE_TEST_SUITE_P(
    every_type, split_point_test,
    ::testing::Values(
        packet{connect{protocol_version::v5,
                       true,
                       30,
                       "client",
                       std::nullopt,
                       "user",
                       to_bytes("secret"),
                       {}}},
        packet{connack{true, reason_code::success, {}}},
        packet{publish{
            false, 1, false, "sensors/1", 9, {}, std::make_shared<const byte_vector>(200, 0x11)}},
        packet{puback{1, reason_code::no_matching_subscribers, {}}},
        packet{pubrec{2, reason_code::success, {}}}, packet{pubrel{3, reason_code::success, {}}},
        packet{pubcomp{4, reason_code::success, {}}},
        packet{subscribe{5, {}, {subscription{"a/+", {1, false, false, {}}}}}},
        packet{suback{5, {}, {reason_code::granted_qos_1}}}, packet{unsubscribe{6, {}, {"a/+"}}},
        packet{unsuback{6, {}, {reason_code::success}}}, packet{pingreq{}}, packet{pingresp{}},
        packet{disconnect{reason_code::server_shutting_down, {}}},
        packet{auth{reason_code::continue_authentication, {}}}));

TEST_P(split_point_test, peek_at_every_prefix) {
  const byte_vector wire = encoded(GetParam(), protocol_version::v5);
  auto whole = peek_frame(wire, no_limit);
  ASSERT_TRUE(whole);
  ASSERT_TRUE(whole->has_value());
  const frame_header header = **whole;
  EXPECT_EQ(header.total_size(), wire.size());
  EXPECT_EQ(header.type, type_of(GetParam()));
  for (std::size_t size = 0; size <= wire.size(); ++size) {
    auto peeked = peek_frame(byte_view(wire).first(size), no_limit);
    ASSERT_TRUE(peeked) << "prefix " << size;
    if (size < header.header_size) {
      EXPECT_FALSE(peeked->has_value()) << "prefix " << size;
    } else {
      ASSERT_TRUE(peeked->has_value()) << "prefix " << size;
      EXPECT_EQ(**peeked, header) << "prefix " << size;
    }
  }
}

TEST_P(split_point_test, decode_rejects_every_truncation) {
  const byte_vector wire = encoded(GetParam(), protocol_version::v5);
  for (std::size_t size = 0; size < wire.size(); ++size) {
    auto decoded = decode(byte_view(wire).first(size), protocol_version::v5);
    ASSERT_FALSE(decoded) << "prefix " << size;
    EXPECT_EQ(decoded.error(), reason_code::malformed_packet) << "prefix " << size;
  }
}

TEST(frame, decode_rejects_bytes_after_the_packet) {
  EXPECT_EQ(test::decode_failure(bytes({0xC0, 0x00, 0x00}), protocol_version::v5),
            reason_code::malformed_packet);
}

TEST(frame, decode_rejects_a_remaining_length_longer_than_the_buffer) {
  EXPECT_EQ(test::decode_failure(bytes({0x40, 0x03, 0x00, 0x01}), protocol_version::v5),
            reason_code::malformed_packet);
}

}  // namespace
}  // namespace acemq::mqtt
