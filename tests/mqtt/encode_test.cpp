// encode(), encoded_size() and decode() over packets of every type in both versions.

#include <acemq/mqtt/decode.hpp>
#include <acemq/mqtt/encode.hpp>

#include "sample_packets.hpp"
#include "test_util.hpp"

namespace acemq::mqtt {
namespace {

TEST(encode, every_sample_round_trips_and_reports_its_size) {
  for (const test::sample_packet& sample : test::sample_packets()) {
    SCOPED_TRACE(sample.name);
    const byte_vector wire = test::encoded(sample.value, sample.version);
    EXPECT_EQ(wire.size(), encoded_size(sample.value, sample.version));
    auto decoded = decode(wire, sample.version);
    ASSERT_TRUE(decoded);
    EXPECT_TRUE(*decoded == sample.value);
  }
}

TEST(encode, appends_to_existing_bytes) {
  byte_vector out = test::bytes({0xAA});
  encode(pingreq{}, protocol_version::v5, out);
  encode(pingresp{}, protocol_version::v5, out);
  EXPECT_EQ(out, test::bytes({0xAA, 0xC0, 0x00, 0xD0, 0x00}));
}

TEST(encode, reused_buffer_does_not_reallocate) {
  const auto samples = test::sample_packets();
  byte_vector out;
  out.reserve(4096);
  const std::uint8_t* storage = out.data();
  for (const test::sample_packet& sample : samples) {
    out.clear();
    encode(sample.value, sample.version, out);
    EXPECT_EQ(out.data(), storage) << sample.name;
  }
}

TEST(encode, many_packets_into_one_buffer) {
  byte_vector out;
  for (std::uint16_t id = 1; id <= 1000; ++id) {
    encode(puback{id, reason_code::success, {}}, protocol_version::v5, out);
  }
  ASSERT_EQ(out.size(), 4000U);
  auto last = decode(byte_view(out).last(4), protocol_version::v5);
  ASSERT_TRUE(last);
  EXPECT_EQ(std::get<puback>(*last).packet_id, 1000);
}

TEST(encode, v5_only_packets_differ_from_v311_by_properties) {
  // The same PUBLISH costs exactly one Property Length byte more in v5 when it has none.
  const publish p{false, 1, false, "t", 1, {}, test::shared_bytes("x")};
  EXPECT_EQ(encoded_size(p, protocol_version::v5), encoded_size(p, protocol_version::v311) + 1);
}

TEST(decode, empty_buffer_is_malformed) {
  EXPECT_EQ(test::decode_failure(byte_vector{}, protocol_version::v5),
            reason_code::malformed_packet);
}

TEST(decode, reserved_packet_type_is_malformed) {
  EXPECT_EQ(test::decode_failure(test::bytes({0x00, 0x00}), protocol_version::v311),
            reason_code::malformed_packet);
}

TEST(decode, samples_in_the_other_version_never_crash) {
  // A packet read with the wrong version either decodes to something or fails with a value.
  for (const test::sample_packet& sample : test::sample_packets()) {
    const auto other =
        sample.version == protocol_version::v5 ? protocol_version::v311 : protocol_version::v5;
    const byte_vector wire = test::encoded(sample.value, sample.version);
    auto decoded = decode(wire, other);
    if (!decoded) {
      EXPECT_TRUE(is_error(decoded.error())) << sample.name;
    }
  }
}

}  // namespace
}  // namespace acemq::mqtt
