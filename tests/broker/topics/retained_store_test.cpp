#include "acemq/broker/retained_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace acemq::broker {
namespace {

using store = retained_store<std::string>;

std::vector<std::string> matching(const store& retained, std::string_view filter) {
  std::vector<std::string> out;
  retained.match(filter, [&](std::string_view topic, const std::string& value) {
    EXPECT_EQ(value, "v:" + std::string(topic));
    out.emplace_back(topic);
  });
  std::sort(out.begin(), out.end());
  return out;
}

store sample() {
  store retained;
  for (const char* topic :
       {"sport", "sport/tennis", "sport/tennis/player1", "sport/tennis/player1/ranking",
        "sport/tennis/player1/score/wimbledon", "sport/tennis/player2", "/finance", "finance",
        "sport/", "a//b", "$SYS/broker/clients", "$SYS/monitor/Clients", "a/$b"}) {
    EXPECT_TRUE(retained.set(topic, "v:" + std::string(topic)));
  }
  return retained;
}

using topics = std::vector<std::string>;

TEST(RetainedStore, SetFindEraseReplace) {
  store retained;
  EXPECT_EQ(retained.find("a/b"), nullptr);
  EXPECT_TRUE(retained.set("a/b", "one"));
  ASSERT_NE(retained.find("a/b"), nullptr);
  EXPECT_EQ(*retained.find("a/b"), "one");
  EXPECT_EQ(retained.find("a"), nullptr);
  EXPECT_EQ(retained.find("a/b/c"), nullptr);
  // [MQTT-3.3.1-5]: a new retained message replaces the previous one for that topic.
  EXPECT_TRUE(retained.set("a/b", "two"));
  EXPECT_EQ(*retained.find("a/b"), "two");
  EXPECT_EQ(retained.size(), 1u);
  EXPECT_FALSE(retained.erase("a"));
  EXPECT_FALSE(retained.erase("a/b/c"));
  EXPECT_TRUE(retained.erase("a/b"));
  EXPECT_FALSE(retained.erase("a/b"));
  EXPECT_EQ(retained.size(), 0u);
  EXPECT_EQ(retained.node_count(), 0u);
}

TEST(RetainedStore, RefusesInvalidNamesAndTopicsBeyondLimits) {
  retained_store<int> retained(topic_limits{.max_length = 16, .max_levels = 3});
  EXPECT_FALSE(retained.set("", 1));
  EXPECT_FALSE(retained.set("a/+", 1));
  EXPECT_FALSE(retained.set("a/#", 1));
  EXPECT_FALSE(retained.set(std::string("a\0b", 3), 1));
  EXPECT_TRUE(retained.set("a/b/c", 1));     // exactly max_levels
  EXPECT_FALSE(retained.set("a/b/c/d", 1));  // one more
  EXPECT_TRUE(retained.set(std::string(16, 'x'), 1));
  EXPECT_FALSE(retained.set(std::string(17, 'x'), 1));
  EXPECT_EQ(retained.size(), 2u);
}

TEST(RetainedStore, MatchSpecWildcardExamples) {
  const store retained = sample();
  EXPECT_EQ(matching(retained, "sport/tennis/player1/#"),
            (topics{"sport/tennis/player1", "sport/tennis/player1/ranking",
                    "sport/tennis/player1/score/wimbledon"}));
  EXPECT_EQ(matching(retained, "sport/#"),
            (topics{"sport", "sport/", "sport/tennis", "sport/tennis/player1",
                    "sport/tennis/player1/ranking", "sport/tennis/player1/score/wimbledon",
                    "sport/tennis/player2"}));
  EXPECT_EQ(matching(retained, "sport/tennis/+"),
            (topics{"sport/tennis/player1", "sport/tennis/player2"}));
  EXPECT_EQ(matching(retained, "sport/+"), (topics{"sport/", "sport/tennis"}));
  EXPECT_EQ(matching(retained, "+/+"), (topics{"/finance", "a/$b", "sport/", "sport/tennis"}));
  EXPECT_EQ(matching(retained, "/+"), (topics{"/finance"}));
  EXPECT_EQ(matching(retained, "+"), (topics{"finance", "sport"}));
  EXPECT_EQ(matching(retained, "a/+/b"), (topics{"a//b"}));
  EXPECT_EQ(matching(retained, "finance"), (topics{"finance"}));
  EXPECT_EQ(matching(retained, "nothing/#"), topics{});
}

// [MQTT-4.7.2-1]
TEST(RetainedStore, DollarTopicsOnlyForLiteralFirstLevel) {
  const store retained = sample();
  const topics all = matching(retained, "#");
  EXPECT_EQ(all.size(), retained.size() - 2);
  EXPECT_TRUE(
      std::none_of(all.begin(), all.end(), [](const std::string& t) { return t.front() == '$'; }));
  EXPECT_EQ(matching(retained, "+/monitor/Clients"), topics{});
  EXPECT_EQ(matching(retained, "$SYS/#"), (topics{"$SYS/broker/clients", "$SYS/monitor/Clients"}));
  EXPECT_EQ(matching(retained, "$SYS/+/Clients"), (topics{"$SYS/monitor/Clients"}));
  EXPECT_EQ(matching(retained, "a/#"), (topics{"a/$b", "a//b"}));
}

TEST(RetainedStore, InvalidFilterMatchesNothing) {
  const store retained = sample();
  EXPECT_EQ(matching(retained, "sport+"), topics{});
  EXPECT_EQ(matching(retained, "sport/#/x"), topics{});
  EXPECT_EQ(matching(retained, ""), topics{});
}

TEST(RetainedStore, EraseIfSweepsAndPrunes) {
  store retained = sample();
  const std::size_t before = retained.size();
  // Value-only predicate.
  EXPECT_EQ(retained.erase_if([](const std::string& v) { return v.find("player") != v.npos; }), 4u);
  EXPECT_EQ(retained.size(), before - 4);
  EXPECT_EQ(matching(retained, "sport/tennis/#"), (topics{"sport/tennis"}));
  // Topic-and-value predicate.
  EXPECT_EQ(retained.erase_if(
                [](std::string_view topic, const std::string&) { return topic.starts_with("$"); }),
            2u);
  EXPECT_EQ(matching(retained, "$SYS/#"), topics{});
  EXPECT_EQ(retained.erase_if([](const std::string&) { return false; }), 0u);
  EXPECT_EQ(retained.erase_if([](const std::string&) { return true; }), retained.size() + 0);
  EXPECT_EQ(retained.size(), 0u);
  EXPECT_EQ(retained.node_count(), 0u);
}

TEST(RetainedStore, ErasePrunesOnlyEmptyBranches) {
  store retained;
  retained.set("a/b/c/d", "x");
  retained.set("a/b", "y");
  retained.set("a/b/e", "z");
  EXPECT_EQ(retained.node_count(), 5u);  // a, b, c, d, e
  EXPECT_TRUE(retained.erase("a/b/c/d"));
  EXPECT_EQ(retained.node_count(), 3u);
  EXPECT_TRUE(retained.erase("a/b"));
  EXPECT_EQ(retained.node_count(), 3u);  // b still leads to e
  EXPECT_EQ(*retained.find("a/b/e"), "z");
  EXPECT_TRUE(retained.erase("a/b/e"));
  EXPECT_EQ(retained.node_count(), 0u);
}

TEST(RetainedStore, SharedPointerValuesAndChurn) {
  retained_store<std::shared_ptr<const std::string>> retained;
  for (int i = 0; i < 20000; ++i) {
    retained.set("t/" + std::to_string(i % 100) + "/" + std::to_string(i),
                 std::make_shared<const std::string>(std::to_string(i)));
  }
  EXPECT_EQ(retained.size(), 20000u);
  std::size_t seen = 0;
  retained.match("t/7/+",
                 [&](std::string_view topic, const std::shared_ptr<const std::string>& value) {
                   EXPECT_TRUE(topic.ends_with("/" + *value));
                   ++seen;
                 });
  EXPECT_EQ(seen, 200u);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(retained.erase("t/" + std::to_string(i % 100) + "/" + std::to_string(i)));
  }
  EXPECT_EQ(retained.node_count(), 0u);
}

TEST(RetainedStore, DeepTopicsDoNotRecurse) {
  // The full MQTT length allows 32768 levels; traversals must not use the call stack per level.
  retained_store<int> retained(topic_limits{.max_length = 65535, .max_levels = 40000});
  std::string deep = "x";
  for (int i = 0; i < 30000; ++i)
    deep += "/x";
  ASSERT_TRUE(retained.set(deep, 1));
  int seen = 0;
  retained.match("#", [&](std::string_view topic, int) {
    EXPECT_EQ(topic, deep);
    ++seen;
  });
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(retained.erase_if([](int) { return true; }), 1u);
  EXPECT_EQ(retained.node_count(), 0u);
}

}  // namespace
}  // namespace acemq::broker
