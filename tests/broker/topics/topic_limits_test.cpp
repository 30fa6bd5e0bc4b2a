#include "acemq/broker/topic_limits.hpp"

#include <gtest/gtest.h>

#include <string>

namespace acemq::broker {
namespace {

std::string levels(std::size_t count) {
  std::string out = "l";
  for (std::size_t i = 1; i < count; ++i)
    out += "/l";
  return out;
}

TEST(TopicLimits, LevelsAtTheBound) {
  const topic_limits limits{};
  EXPECT_EQ(limits.max_levels, 128u);
  EXPECT_EQ(limits.max_length, 65535u);
  EXPECT_TRUE(within_limits(levels(128), limits));
  EXPECT_FALSE(within_limits(levels(129), limits));
  EXPECT_TRUE(within_limits(std::string(127, '/'), limits));  // 128 empty levels
  EXPECT_FALSE(within_limits(std::string(128, '/'), limits));
  EXPECT_FALSE(within_limits(std::string(65535, '/'), limits));
}

TEST(TopicLimits, LengthAtTheBound) {
  const topic_limits limits{.max_length = 10, .max_levels = 128};
  EXPECT_TRUE(within_limits("0123456789", limits));
  EXPECT_FALSE(within_limits("0123456789a", limits));
  EXPECT_TRUE(within_limits(std::string(65535, 'x'), topic_limits{}));
  EXPECT_FALSE(within_limits(std::string(65536, 'x'), topic_limits{}));
}

TEST(TopicLimits, CheckName) {
  const topic_limits limits{.max_length = 16, .max_levels = 3};
  EXPECT_TRUE(check_name("a/b/c", limits));
  EXPECT_EQ(check_name("a/b/c/d", limits).error(), topic_error::too_many_levels);
  EXPECT_EQ(check_name(std::string(17, 'x'), limits).error(), topic_error::too_long);
  EXPECT_EQ(check_name("a/+", limits).error(), topic_error::invalid_name);
  EXPECT_EQ(check_name("", limits).error(), topic_error::invalid_name);
  EXPECT_EQ(check_name("a/#", limits).error(), topic_error::invalid_name);
  EXPECT_EQ(check_name("\xff", limits).error(), topic_error::invalid_name);
}

TEST(TopicLimits, CheckFilter) {
  const topic_limits limits{.max_length = 32, .max_levels = 4};
  EXPECT_TRUE(check_filter("a/+/#", limits));
  EXPECT_TRUE(check_filter("$share/g/a/#", limits));
  EXPECT_EQ(check_filter("sport+", limits).error(), topic_error::invalid_filter);
  EXPECT_EQ(check_filter("a/#/b", limits).error(), topic_error::invalid_filter);
  EXPECT_EQ(check_filter("$share/g", limits).error(), topic_error::invalid_shared_filter);
  EXPECT_EQ(check_filter("$share//a", limits).error(), topic_error::invalid_shared_filter);
  EXPECT_EQ(check_filter("$share/g/a+", limits).error(), topic_error::invalid_shared_filter);
  EXPECT_EQ(check_filter("$share/g/a/b/c", limits).error(), topic_error::too_many_levels);
  EXPECT_EQ(check_filter(std::string(33, 'x'), limits).error(), topic_error::too_long);
  // "$shared/..." is not a shared subscription, just a '$' filter.
  EXPECT_TRUE(check_filter("$shared/a", limits));
}

TEST(TopicLimits, ErrorNames) {
  EXPECT_EQ(to_string(topic_error::invalid_name), "invalid_name");
  EXPECT_EQ(to_string(topic_error::invalid_filter), "invalid_filter");
  EXPECT_EQ(to_string(topic_error::invalid_shared_filter), "invalid_shared_filter");
  EXPECT_EQ(to_string(topic_error::too_long), "too_long");
  EXPECT_EQ(to_string(topic_error::too_many_levels), "too_many_levels");
}

}  // namespace
}  // namespace acemq::broker
