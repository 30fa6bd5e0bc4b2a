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

TEST(per_address_key, ipv4_address_is_its_own_key) {
  EXPECT_EQ(per_address_key("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(per_address_key("192.0.2.7:50000"), "192.0.2.7");
  EXPECT_NE(per_address_key("192.0.2.7"), per_address_key("192.0.2.8"));
}

TEST(per_address_key, ipv6_addresses_of_one_slash64_share_a_key) {
  // An attacker holding 2001:db8:1:2::/64 picks a new source address per connection.
  const std::string key = per_address_key("2001:db8:1:2::1");
  EXPECT_EQ(key, "2001:db8:1:2::/64");
  EXPECT_EQ(per_address_key("2001:db8:1:2:ffff:ffff:ffff:ffff"), key);
  EXPECT_EQ(per_address_key("[2001:db8:1:2:a:b:c:d]:8883"), key);
  EXPECT_EQ(per_address_key("2001:0DB8:0001:0002:0000:0000:0000:0009"), key);  // canonical text
}

TEST(per_address_key, neighbouring_slash64s_are_counted_apart) {
  EXPECT_NE(per_address_key("2001:db8:1:2::1"), per_address_key("2001:db8:1:3::1"));
  EXPECT_NE(per_address_key("2001:db8:1:2::1"), per_address_key("2001:db9:1:2::1"));
  EXPECT_EQ(per_address_key("2001:db8:1:2:8000::1"), "2001:db8:1:2::/64");  // bit 64 is host
}

TEST(per_address_key, ipv4_mapped_ipv6_is_counted_as_ipv4) {
  // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d: one key per IPv4 address, the same
  // as on an IPv4 listener, not one /64 (::ffff:0:0/96) for every IPv4 host.
  EXPECT_EQ(per_address_key("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(per_address_key("[::ffff:192.0.2.7]:1883"), "192.0.2.7");
  EXPECT_EQ(per_address_key("::ffff:c000:207"), "192.0.2.7");
  EXPECT_NE(per_address_key("::ffff:192.0.2.7"), per_address_key("::ffff:192.0.2.8"));
}

TEST(per_address_key, loopback_and_scoped_addresses) {
  EXPECT_EQ(per_address_key("::1"), "::/64");
  EXPECT_EQ(per_address_key("[::1]:1883"), "::/64");
  // A link-local address's zone names an interface, not a host: the prefix is the key.
  EXPECT_EQ(per_address_key("fe80::1%1"), "fe80::/64");
  EXPECT_EQ(per_address_key("[fe80::1%eth0]:1883"), "fe80::/64");
}

TEST(per_address_key, text_that_is_no_address_is_its_own_key) {
  EXPECT_EQ(per_address_key("not an address"), "not an address");
  EXPECT_EQ(per_address_key("local:7"), "local");  // host_of's host part
  EXPECT_EQ(per_address_key(""), "");
  EXPECT_EQ(per_address_key("2001:db8::1::2"), "2001:db8::1::2");
  EXPECT_EQ(per_address_key("192.0.2.7%1"), "192.0.2.7%1");
  const std::string long_text(100, '1');
  EXPECT_EQ(per_address_key(long_text), long_text);
}

}  // namespace
}  // namespace acemq
