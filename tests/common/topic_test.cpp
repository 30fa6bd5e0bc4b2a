#include "acemq/common/topic.hpp"

#include <gtest/gtest.h>

#include <string>

namespace acemq::topic {
namespace {

TEST(TopicRules, Names) {
  EXPECT_TRUE(is_valid_name("a"));
  EXPECT_TRUE(is_valid_name("/"));
  EXPECT_TRUE(is_valid_name("a//b"));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name("a/+"));
  EXPECT_FALSE(is_valid_name("a/#"));
  EXPECT_FALSE(is_valid_name(std::string("a\0b", 3)));
  EXPECT_TRUE(is_valid_name(std::string(65535, 'x')));
  EXPECT_FALSE(is_valid_name(std::string(65536, 'x')));
}

TEST(TopicRules, AWildcardAnywhereInALongNameIsRefused) {
  for (std::size_t length = 1; length <= 40; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (const char wildcard : {'+', '#'}) {
        std::string name(length, 'n');
        EXPECT_TRUE(is_valid_name(name));
        name[at] = wildcard;
        EXPECT_FALSE(is_valid_name(name)) << length << " " << at;
        name[at] = '\xC3';
        EXPECT_FALSE(is_valid_name(name)) << length << " " << at;  // truncated UTF-8
      }
    }
  }
  EXPECT_FALSE(is_valid_name("caf\xC3\xA9/+"));
  EXPECT_TRUE(is_valid_name("caf\xC3\xA9/temp\xC3\xA9rature/x"));
}

TEST(TopicRules, Filters) {
  for (const char* ok :
       {"#", "+", "+/+", "/+", "a/#", "a/+/b", "sport/tennis/#", "+/#", "$SYS/#"}) {
    EXPECT_TRUE(is_valid_filter(ok)) << ok;
  }
  for (const char* bad :
       {"", "sport+", "sport/tennis#", "sport/tennis/#/ranking", "a/b+", "#/a", "++"}) {
    EXPECT_FALSE(is_valid_filter(bad)) << bad;
  }
}

TEST(TopicRules, SharedSubscriptions) {
  auto parsed = parse_shared("$share/group/a/+");
  EXPECT_TRUE(parsed.is_shared);
  EXPECT_TRUE(parsed.valid);
  EXPECT_EQ(parsed.parts.group, "group");
  EXPECT_EQ(parsed.parts.filter, "a/+");
  EXPECT_FALSE(parse_shared("a/b").is_shared);
  EXPECT_FALSE(parse_shared("$share/group").valid);
  EXPECT_FALSE(parse_shared("$share//a").valid);
  EXPECT_FALSE(parse_shared("$share/g+/a").valid);
  EXPECT_FALSE(parse_shared("$share/g/").valid);
}

// The examples of MQTT 5.0 section 4.7.1.2, 4.7.1.3 and 4.7.2.
TEST(TopicRules, MatchingSpecExamples) {
  EXPECT_TRUE(matches("sport/tennis/player1/#", "sport/tennis/player1"));
  EXPECT_TRUE(matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
  EXPECT_TRUE(matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
  EXPECT_TRUE(matches("sport/#", "sport"));
  EXPECT_TRUE(matches("#", "a/b/c"));
  EXPECT_TRUE(matches("sport/tennis/+", "sport/tennis/player1"));
  EXPECT_FALSE(matches("sport/tennis/+", "sport/tennis/player1/ranking"));
  EXPECT_TRUE(matches("sport/+", "sport/"));
  EXPECT_FALSE(matches("sport/+", "sport"));
  EXPECT_TRUE(matches("+/+", "/finance"));
  EXPECT_TRUE(matches("/+", "/finance"));
  EXPECT_FALSE(matches("+", "/finance"));
  EXPECT_FALSE(matches("#", "$SYS/uptime"));
  EXPECT_FALSE(matches("+/monitor/Clients", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matches("$SYS/#", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matches("a//b", "a//b"));
  EXPECT_TRUE(matches("a/+/b", "a//b"));
  EXPECT_FALSE(matches("a/b", "a/b/c"));
  EXPECT_FALSE(matches("a/b/c", "a/b"));
}

TEST(TopicRules, LevelCount) {
  EXPECT_EQ(level_count("a"), 1u);
  EXPECT_EQ(level_count("/"), 2u);
  EXPECT_EQ(level_count("a/b/c"), 3u);
}

TEST(Topic, CoversTable) {
  EXPECT_TRUE(covers("#", "a/b"));
  EXPECT_TRUE(covers("#", "#"));
  EXPECT_FALSE(covers("#", "$SYS/x"));
  EXPECT_FALSE(covers("+/x", "$SYS/x"));
  EXPECT_TRUE(covers("$SYS/#", "$SYS/x"));
  EXPECT_TRUE(covers("a/#", "a"));
  EXPECT_FALSE(covers("a/+", "a"));
  EXPECT_FALSE(covers("a", "a/b"));
  EXPECT_FALSE(covers("a/b", "a"));
  EXPECT_TRUE(covers("a//c", "a//c"));
  EXPECT_FALSE(covers("a/b", "+/b"));
  EXPECT_TRUE(covers("+/+", "+/b"));
}

}  // namespace
}  // namespace acemq::topic
