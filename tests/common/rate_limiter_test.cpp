#include "acemq/common/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace acemq {
namespace {

using namespace std::chrono_literals;

TEST(rate_limiter, bucket_empties_and_refills_in_virtual_time) {
  manual_clock time;
  rate_limiter limiter(time, {.burst = 3, .refill_per_second = 0.5, .max_entries = 10});
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.allowed("k"));
    limiter.take("k");
  }
  EXPECT_FALSE(limiter.allowed("k"));
  EXPECT_EQ(limiter.seconds_until_allowed("k"), 2);
  EXPECT_TRUE(limiter.allowed("other"));
  time.advance(1s);
  EXPECT_FALSE(limiter.allowed("k"));
  time.advance(1s);
  EXPECT_TRUE(limiter.allowed("k"));
  EXPECT_EQ(limiter.seconds_until_allowed("k"), 0);
  limiter.forget("k");
  EXPECT_EQ(limiter.size(), 0u);  // looking at "other" made no entry; "k" is forgotten
}

TEST(rate_limiter, try_take_takes_only_a_whole_token) {
  manual_clock time;
  rate_limiter limiter(time, {.burst = 2, .refill_per_second = 1, .max_entries = 10});
  EXPECT_TRUE(limiter.try_take("a"));
  EXPECT_TRUE(limiter.try_take("a"));
  EXPECT_FALSE(limiter.try_take("a"));
  time.advance(500ms);
  EXPECT_FALSE(limiter.try_take("a"));
  EXPECT_EQ(limiter.seconds_until_allowed("a"), 1);
  time.advance(500ms);
  EXPECT_TRUE(limiter.try_take("a"));
}

TEST(rate_limiter, without_refill_an_empty_bucket_stays_empty) {
  manual_clock time;
  rate_limiter limiter(time, {.burst = 1, .refill_per_second = 0, .max_entries = 10});
  limiter.take("a");
  time.advance(3600s);
  EXPECT_FALSE(limiter.allowed("a"));
  EXPECT_GT(limiter.seconds_until_allowed("a"), 3600);
}

TEST(rate_limiter, table_is_bounded_and_evicts_the_least_recent) {
  manual_clock time;
  rate_limiter limiter(time, {.burst = 1, .refill_per_second = 0.001, .max_entries = 2});
  limiter.take("a");
  limiter.take("b");
  EXPECT_FALSE(limiter.allowed("a"));
  limiter.take("c");  // evicts "b", the least recently touched ("a" was just looked at)
  EXPECT_EQ(limiter.size(), 2u);
  EXPECT_TRUE(limiter.allowed("b"));
  EXPECT_FALSE(limiter.allowed("a"));
  EXPECT_FALSE(limiter.allowed("c"));
}

TEST(host_of, strips_the_port) {
  EXPECT_EQ(host_of("192.0.2.1:80"), "192.0.2.1");
  EXPECT_EQ(host_of("[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(host_of("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(host_of("local"), "local");
}

}  // namespace
}  // namespace acemq
