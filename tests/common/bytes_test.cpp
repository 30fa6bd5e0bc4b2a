#include "acemq/common/bytes.hpp"

#include <gtest/gtest.h>

#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"

namespace acemq {
namespace {

TEST(Bytes, HexRoundTrip) {
  byte_vector out;
  ASSERT_TRUE(from_hex("00 ff 10 Ab", out));
  EXPECT_EQ(out, (byte_vector{0x00, 0xff, 0x10, 0xab}));
  EXPECT_EQ(to_hex(out), "00ff10ab");
  EXPECT_FALSE(from_hex("abc", out));
  EXPECT_FALSE(from_hex("zz", out));
}

TEST(Bytes, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal(as_bytes("secret"), as_bytes("secret")));
  EXPECT_FALSE(constant_time_equal(as_bytes("secret"), as_bytes("secreT")));
  EXPECT_FALSE(constant_time_equal(as_bytes("secret"), as_bytes("secrets")));
  EXPECT_TRUE(constant_time_equal(as_bytes(""), as_bytes("")));
}

TEST(Clock, ManualClockMovesOnlyWhenAdvanced) {
  manual_clock clock(1000);
  const auto start = clock.now();
  EXPECT_EQ(clock.unix_seconds(), 1000);
  clock.advance(std::chrono::seconds(90));
  EXPECT_EQ(clock.now() - start, std::chrono::seconds(90));
  EXPECT_EQ(clock.unix_seconds(), 1090);
}

TEST(Random, SystemRandomProducesDistinctValues) {
  auto a = system_random::instance().bytes(16);
  auto b = system_random::instance().bytes(16);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, b);
  deterministic_random d1(7), d2(7);
  EXPECT_EQ(d1.bytes(32), d2.bytes(32));
}

}  // namespace
}  // namespace acemq
