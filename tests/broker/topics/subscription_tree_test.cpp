#include "acemq/broker/subscription_tree.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace acemq::broker {
namespace {

struct delivery {
  subscriber_id subscriber;
  bool shared;
  std::uint32_t identifier;
  friend bool operator==(const delivery&, const delivery&) = default;
  friend auto operator<=>(const delivery&, const delivery&) = default;
};

std::vector<delivery> deliveries(const subscription_tree& tree, std::string_view topic) {
  std::vector<delivery> out;
  tree.match(topic,
             [&](subscriber_id subscriber, const subscription_options& options, bool shared) {
               out.push_back({subscriber, shared, options.identifier});
             });
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<subscriber_id> subscribers(const subscription_tree& tree, std::string_view topic) {
  std::vector<subscriber_id> out;
  for (const delivery& d : deliveries(tree, topic))
    out.push_back(d.subscriber);
  return out;
}

bool matched(std::string_view filter, std::string_view topic) {
  subscription_tree tree;
  tree.subscribe(filter, 1, {});
  return !deliveries(tree, topic).empty();
}

// OASIS MQTT 5.0 section 4.7.1.2, multi-level wildcard examples.
TEST(SubscriptionTree, SpecMultiLevelWildcard) {
  EXPECT_TRUE(matched("sport/tennis/player1/#", "sport/tennis/player1"));
  EXPECT_TRUE(matched("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
  EXPECT_TRUE(matched("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
  EXPECT_FALSE(matched("sport/tennis/player1/#", "sport/tennis/player2"));
  EXPECT_FALSE(matched("sport/tennis/player1/#", "sport/tennis"));
  // [MQTT-4.7.1-2]: "sport/#" also matches the parent level "sport".
  EXPECT_TRUE(matched("sport/#", "sport"));
  EXPECT_TRUE(matched("sport/#", "sport/"));
  EXPECT_TRUE(matched("#", "sport"));
  EXPECT_TRUE(matched("#", "/"));
}

// OASIS MQTT 5.0 section 4.7.1.3, single-level wildcard examples.
TEST(SubscriptionTree, SpecSingleLevelWildcard) {
  EXPECT_TRUE(matched("sport/tennis/+", "sport/tennis/player1"));
  EXPECT_TRUE(matched("sport/tennis/+", "sport/tennis/player2"));
  EXPECT_FALSE(matched("sport/tennis/+", "sport/tennis/player1/ranking"));
  EXPECT_FALSE(matched("sport/+", "sport"));
  EXPECT_TRUE(matched("sport/+", "sport/"));
  EXPECT_TRUE(matched("+/+", "/finance"));
  EXPECT_TRUE(matched("/+", "/finance"));
  EXPECT_FALSE(matched("+", "/finance"));
  EXPECT_TRUE(matched("+/tennis/#", "sport/tennis/player1"));
  EXPECT_TRUE(matched("+/#", "sport"));
  EXPECT_FALSE(matched("+/+/#", "sport"));
}

TEST(SubscriptionTree, EmptyLevels) {
  EXPECT_TRUE(matched("a//b", "a//b"));
  EXPECT_FALSE(matched("a//b", "a/b"));
  EXPECT_TRUE(matched("a/+/b", "a//b"));
  EXPECT_TRUE(matched("/", "/"));
  EXPECT_FALSE(matched("/", "a/"));
  EXPECT_TRUE(matched("+/", "a/"));
  EXPECT_TRUE(matched("/#", "/"));
  EXPECT_TRUE(matched("/#", "/a/b"));
  EXPECT_FALSE(matched("/#", "a"));
}

// [MQTT-4.7.2-1]: wildcards at the first level do not match topics starting with '$'.
TEST(SubscriptionTree, DollarTopics) {
  EXPECT_FALSE(matched("#", "$SYS/broker/clients"));
  EXPECT_FALSE(matched("+/monitor/Clients", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matched("$SYS/#", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matched("$SYS/monitor/+", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matched("$SYS/#", "$SYS"));
  // Only the first level is special.
  EXPECT_TRUE(matched("a/+", "a/$b"));
  EXPECT_TRUE(matched("a/#", "a/$b/c"));
  // Shared subscriptions apply the rule to their inner filter.
  EXPECT_FALSE(matched("$share/g/#", "$SYS/x"));
  EXPECT_TRUE(matched("$share/g/$SYS/#", "$SYS/x"));
}

TEST(SubscriptionTree, InvalidFiltersAreRefused) {
  subscription_tree tree;
  EXPECT_THROW(tree.subscribe("sport+", 1, {}), std::invalid_argument);
  EXPECT_THROW(tree.subscribe("", 1, {}), std::invalid_argument);
  EXPECT_THROW(tree.subscribe("a/#/b", 1, {}), std::invalid_argument);
  EXPECT_THROW(tree.subscribe("$share/g", 1, {}), std::invalid_argument);

  const auto refused = tree.try_subscribe("sport/tennis#", 1, {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), topic_error::invalid_filter);
  const auto bad_share = tree.try_subscribe("$share/g+/a", 1, {});
  ASSERT_FALSE(bad_share);
  EXPECT_EQ(bad_share.error(), topic_error::invalid_shared_filter);
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(tree.node_count(), 0u);
  EXPECT_FALSE(tree.unsubscribe("sport+", 1));
}

TEST(SubscriptionTree, ReplaceKeepsOneSubscriptionWithNewOptions) {
  subscription_tree tree;
  EXPECT_FALSE(tree.subscribe("a/+", 7, {.maximum_qos = 0, .identifier = 1}));
  EXPECT_TRUE(tree.subscribe("a/+", 7, {.maximum_qos = 2, .identifier = 2}));
  EXPECT_EQ(tree.size(), 1u);
  EXPECT_EQ(tree.count_for(7), 1u);
  std::vector<std::uint8_t> qos;
  tree.match("a/b", [&](subscriber_id, const subscription_options& options, bool) {
    qos.push_back(options.maximum_qos);
  });
  EXPECT_EQ(qos, std::vector<std::uint8_t>{2});
  ASSERT_NE(tree.find("a/+", 7), nullptr);
  EXPECT_EQ(tree.find("a/+", 7)->identifier, 2u);

  // A shared subscription with the same inner filter is a different subscription.
  EXPECT_FALSE(tree.subscribe("$share/g/a/+", 7, {.identifier = 3}));
  EXPECT_TRUE(tree.subscribe("$share/g/a/+", 7, {.identifier = 4}));
  EXPECT_EQ(tree.size(), 2u);
  EXPECT_EQ(tree.count_for(7), 2u);
  EXPECT_EQ(deliveries(tree, "a/b"), (std::vector<delivery>{{7, false, 2}, {7, true, 4}}));
}

TEST(SubscriptionTree, OverlappingSubscriptionsAreEachVisited) {
  subscription_tree tree;
  tree.subscribe("a/b", 1, {.identifier = 1});
  tree.subscribe("a/+", 1, {.identifier = 2});
  tree.subscribe("a/#", 1, {.identifier = 3});
  tree.subscribe("#", 2, {.identifier = 4});
  tree.subscribe("+/b", 3, {.identifier = 5});
  tree.subscribe("a/c", 4, {.identifier = 6});
  EXPECT_EQ(deliveries(tree, "a/b"),
            (std::vector<delivery>{
                {1, false, 1}, {1, false, 2}, {1, false, 3}, {2, false, 4}, {3, false, 5}}));
  EXPECT_EQ(subscribers(tree, "a"), (std::vector<subscriber_id>{1, 2}));
  EXPECT_EQ(subscribers(tree, "x/y"), (std::vector<subscriber_id>{2}));
}

TEST(SubscriptionTree, UnsubscribeRemovesOnlyThatSubscription) {
  subscription_tree tree;
  tree.subscribe("a/b", 1, {});
  tree.subscribe("a/b", 2, {});
  tree.subscribe("a/#", 1, {});
  EXPECT_FALSE(tree.unsubscribe("a/c", 1));
  EXPECT_FALSE(tree.unsubscribe("a/b", 3));
  EXPECT_FALSE(tree.unsubscribe("a/+", 1));
  EXPECT_TRUE(tree.unsubscribe("a/b", 1));
  EXPECT_FALSE(tree.unsubscribe("a/b", 1));
  EXPECT_EQ(subscribers(tree, "a/b"), (std::vector<subscriber_id>{1, 2}));
  EXPECT_EQ(tree.size(), 2u);
  EXPECT_EQ(tree.count_for(1), 1u);
  EXPECT_TRUE(tree.unsubscribe("a/#", 1));
  EXPECT_EQ(tree.count_for(1), 0u);
  EXPECT_TRUE(tree.unsubscribe("a/b", 2));
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(tree.node_count(), 0u);
}

TEST(SubscriptionTree, PruningKeepsNodesStillInUse) {
  subscription_tree tree;
  tree.subscribe("a", 1, {});
  tree.subscribe("a/b/c/d", 1, {});
  tree.subscribe("a/b/x", 2, {});
  EXPECT_EQ(tree.node_count(), 5u);  // a, b, c, d, x
  EXPECT_TRUE(tree.unsubscribe("a/b/c/d", 1));
  EXPECT_EQ(tree.node_count(), 3u);  // a, b, x
  EXPECT_EQ(subscribers(tree, "a/b/x"), (std::vector<subscriber_id>{2}));
  EXPECT_EQ(subscribers(tree, "a"), (std::vector<subscriber_id>{1}));
  EXPECT_TRUE(tree.unsubscribe("a/b/x", 2));
  EXPECT_EQ(tree.node_count(), 1u);  // a keeps its own subscription
  EXPECT_TRUE(tree.unsubscribe("a", 1));
  EXPECT_EQ(tree.node_count(), 0u);

  // A node with a wildcard child and a literal child keeps the other one.
  tree.subscribe("a/+/c", 1, {});
  tree.subscribe("a/b/c", 1, {});
  tree.subscribe("a/#", 1, {});
  EXPECT_TRUE(tree.unsubscribe("a/+/c", 1));
  EXPECT_EQ(subscribers(tree, "a/b/c"), (std::vector<subscriber_id>{1, 1}));
  EXPECT_TRUE(tree.unsubscribe("a/#", 1));
  EXPECT_EQ(subscribers(tree, "a/b/c"), (std::vector<subscriber_id>{1}));
  EXPECT_EQ(tree.node_count(), 3u);
  EXPECT_EQ(tree.remove_subscriber(1), 1u);
  EXPECT_EQ(tree.node_count(), 0u);
}

TEST(SubscriptionTree, RemoveSubscriberRemovesEverySubscriptionOfThatSubscriberOnly) {
  subscription_tree tree;
  tree.subscribe("a/b", 1, {});
  tree.subscribe("a/#", 1, {});
  tree.subscribe("$share/g/a/b", 1, {});
  tree.subscribe("+/b", 1, {});
  tree.subscribe("a/b", 2, {});
  tree.subscribe("$share/g/a/b", 2, {});
  EXPECT_EQ(tree.count_for(1), 4u);
  EXPECT_EQ(tree.remove_subscriber(1), 4u);
  EXPECT_EQ(tree.count_for(1), 0u);
  EXPECT_EQ(tree.size(), 2u);
  EXPECT_EQ(tree.remove_subscriber(1), 0u);
  EXPECT_EQ(deliveries(tree, "a/b"), (std::vector<delivery>{{2, false, 0}, {2, true, 0}}));
  tree.remove_subscriber(2);
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(tree.node_count(), 0u);
  EXPECT_TRUE(deliveries(tree, "a/b").empty());
}

TEST(SubscriptionTree, ForEachSubscriptionOfListsFullFilters) {
  subscription_tree tree;
  tree.subscribe("b/#", 1, {.identifier = 2});
  tree.subscribe("$share/g/a", 1, {.identifier = 1});
  tree.subscribe("c", 2, {});
  std::vector<std::pair<std::string, std::uint32_t>> seen;
  tree.for_each_subscription_of(1, [&](std::string_view filter, const subscription_options& o) {
    seen.emplace_back(std::string(filter), o.identifier);
  });
  EXPECT_EQ(seen,
            (std::vector<std::pair<std::string, std::uint32_t>>{{"$share/g/a", 1}, {"b/#", 2}}));
  seen.clear();
  tree.for_each_subscription_of(9, [&](std::string_view filter, const subscription_options& o) {
    seen.emplace_back(std::string(filter), o.identifier);
  });
  EXPECT_TRUE(seen.empty());
}

// [MQTT-4.8.2-3]: each message to exactly one member of a shared group; members take turns.
TEST(SubscriptionTree, SharedGroupRoundRobin) {
  subscription_tree tree;
  tree.subscribe("$share/workers/jobs/+", 1, {});
  tree.subscribe("$share/workers/jobs/+", 2, {});
  tree.subscribe("$share/workers/jobs/+", 3, {});
  tree.subscribe("$share/audit/jobs/#", 4, {});
  tree.subscribe("jobs/+", 5, {});

  std::map<subscriber_id, int> received;
  std::vector<subscriber_id> worker_order;
  constexpr int messages = 30;
  for (int i = 0; i < messages; ++i) {
    const std::vector<delivery> got = deliveries(tree, "jobs/" + std::to_string(i));
    int workers = 0;
    for (const delivery& d : got) {
      ++received[d.subscriber];
      if (d.subscriber <= 3) {
        ++workers;
        EXPECT_TRUE(d.shared);
        worker_order.push_back(d.subscriber);
      }
    }
    EXPECT_EQ(workers, 1) << "message " << i;
    EXPECT_EQ(got.size(), 3u);  // one worker, the audit group's only member, the plain subscriber
  }
  EXPECT_EQ(received[1], messages / 3);
  EXPECT_EQ(received[2], messages / 3);
  EXPECT_EQ(received[3], messages / 3);
  EXPECT_EQ(received[4], messages);
  EXPECT_EQ(received[5], messages);
  // Strict turns: no member gets two in a row.
  for (std::size_t i = 1; i < worker_order.size(); ++i) {
    EXPECT_NE(worker_order[i], worker_order[i - 1]);
  }
}

TEST(SubscriptionTree, SameGroupNameWithDifferentFiltersAreDifferentSharedSubscriptions) {
  subscription_tree tree;
  tree.subscribe("$share/g/a/b", 1, {});
  tree.subscribe("$share/g/a/+", 2, {});
  EXPECT_EQ(deliveries(tree, "a/b"), (std::vector<delivery>{{1, true, 0}, {2, true, 0}}));
}

TEST(SubscriptionTree, SharedGroupSurvivesMemberRemoval) {
  subscription_tree tree;
  for (subscriber_id id = 1; id <= 4; ++id)
    tree.subscribe("$share/g/t", id, {});
  EXPECT_TRUE(tree.unsubscribe("$share/g/t", 2));
  EXPECT_FALSE(tree.unsubscribe("$share/g/t", 2));
  EXPECT_FALSE(tree.unsubscribe("$share/h/t", 1));
  std::map<subscriber_id, int> received;
  for (int i = 0; i < 9; ++i) {
    const auto got = subscribers(tree, "t");
    ASSERT_EQ(got.size(), 1u);
    ++received[got.front()];
  }
  EXPECT_EQ(received, (std::map<subscriber_id, int>{{1, 3}, {3, 3}, {4, 3}}));
  tree.remove_subscriber(1);
  tree.remove_subscriber(3);
  tree.remove_subscriber(4);
  EXPECT_TRUE(subscribers(tree, "t").empty());
  EXPECT_EQ(tree.node_count(), 0u);
}

TEST(SubscriptionTree, MatchWithFilterSkipsMembersNotAccepted) {
  subscription_tree tree;
  for (subscriber_id id = 1; id <= 3; ++id)
    tree.subscribe("$share/g/t", id, {});
  tree.subscribe("t", 9, {});
  const auto run = [&](auto accept) {
    std::vector<subscriber_id> got;
    tree.match_with_filter(
        "t", [&](subscriber_id s, const subscription_options&, bool) { got.push_back(s); }, accept);
    std::sort(got.begin(), got.end());
    return got;
  };
  // Member 2 is offline: 1 and 3 take turns and the plain subscriber is always visited.
  std::map<subscriber_id, int> received;
  for (int i = 0; i < 10; ++i) {
    const auto got = run([](subscriber_id s) { return s != 2; });
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got.back(), 9u);
    ++received[got.front()];
  }
  EXPECT_EQ(received, (std::map<subscriber_id, int>{{1, 5}, {3, 5}}));
  // Nobody in the group can take it: the group is skipped, not given to a rejected member.
  EXPECT_EQ(run([](subscriber_id) { return false; }), std::vector<subscriber_id>{9});
}

// A group with no accepted member (all offline) goes to the fallback: one member per message,
// members taking turns; a group with an accepted member never reaches the fallback.
TEST(SubscriptionTree, MatchWithFallbackHandsAGroupWithNoAcceptedMemberToOneMember) {
  subscription_tree tree;
  for (subscriber_id id = 1; id <= 3; ++id)
    tree.subscribe("$share/g/t", id,
                   {.maximum_qos = 1, .identifier = static_cast<std::uint32_t>(id)});
  tree.subscribe("$share/h/#", 7, {.identifier = 7});
  tree.subscribe("t", 9, {});
  struct outcome {
    std::vector<subscriber_id> visited;
    std::vector<subscriber_id> fallen_back;
  };
  const auto run = [&](auto accept) {
    outcome result;
    tree.match_with_fallback(
        "t",
        [&](subscriber_id s, const subscription_options&, bool) { result.visited.push_back(s); },
        accept,
        [&](subscriber_id s, const subscription_options& options) {
          EXPECT_EQ(options.identifier, s);  // the options of that member's subscription
          result.fallen_back.push_back(s);
        });
    std::sort(result.visited.begin(), result.visited.end());
    std::sort(result.fallen_back.begin(), result.fallen_back.end());
    return result;
  };
  // Nobody accepted: the plain subscriber is visited; each group gives one member to the fallback.
  std::map<subscriber_id, int> taken;
  for (int i = 0; i < 9; ++i) {
    const outcome got = run([](subscriber_id) { return false; });
    EXPECT_EQ(got.visited, std::vector<subscriber_id>{9});
    ASSERT_EQ(got.fallen_back.size(), 2u);
    EXPECT_EQ(got.fallen_back.back(), 7u);
    ++taken[got.fallen_back.front()];
  }
  EXPECT_EQ(taken, (std::map<subscriber_id, int>{{1, 3}, {2, 3}, {3, 3}}));
  // Member 2 accepted: it gets every message of group g, and only group h (member 7 not
  // accepted) falls back.
  for (int i = 0; i < 4; ++i) {
    const outcome got = run([](subscriber_id s) { return s == 2; });
    EXPECT_EQ(got.visited, (std::vector<subscriber_id>{2, 9}));
    EXPECT_EQ(got.fallen_back, std::vector<subscriber_id>{7});
  }
  // match_with_filter() keeps skipping such groups.
  std::vector<subscriber_id> plain;
  tree.match_with_filter(
      "t", [&](subscriber_id s, const subscription_options&, bool) { plain.push_back(s); },
      [](subscriber_id) { return false; });
  EXPECT_EQ(plain, std::vector<subscriber_id>{9});
}

// The broker runs match() under a shared lock from several threads: the only state it changes is
// the atomic round-robin cursor, so each message still goes to exactly one member of the group.
TEST(SubscriptionTree, ConcurrentMatchesDeliverEachMessageToOneMember) {
  subscription_tree tree;
  constexpr subscriber_id members = 4;
  for (subscriber_id id = 0; id < members; ++id)
    tree.subscribe("$share/g/load/+", id, {});
  tree.subscribe("load/#", 100, {});
  constexpr int threads = 4;
  constexpr int messages_per_thread = 5000;
  // Per thread: deliveries per member, then plain deliveries, then messages not given to exactly
  // one member.
  std::vector<std::vector<int>> received(threads, std::vector<int>(members + 2, 0));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&tree, &received, t] {
      for (int i = 0; i < messages_per_thread; ++i) {
        int shared_deliveries = 0;
        tree.match("load/x", [&](subscriber_id id, const subscription_options&, bool shared) {
          if (shared) {
            ++shared_deliveries;
            ++received[static_cast<std::size_t>(t)][id];
          } else {
            ++received[static_cast<std::size_t>(t)][members];
          }
        });
        if (shared_deliveries != 1) ++received[static_cast<std::size_t>(t)][members + 1];
      }
    });
  }
  for (std::thread& worker : workers)
    worker.join();
  std::vector<int> totals(members + 2, 0);
  for (const auto& per_thread : received) {
    for (std::size_t i = 0; i < per_thread.size(); ++i)
      totals[i] += per_thread[i];
  }
  int shared_total = 0;
  for (subscriber_id id = 0; id < members; ++id) {
    shared_total += totals[id];
    EXPECT_GT(totals[id], 0) << "member " << id << " never got a turn";
  }
  // Every message reached exactly one member, and the plain subscriber exactly once per message.
  EXPECT_EQ(shared_total, threads * messages_per_thread);
  EXPECT_EQ(totals[members], threads * messages_per_thread);
  EXPECT_EQ(totals[members + 1], 0);
}

TEST(SubscriptionTree, LimitsAtTheBound) {
  subscription_tree tree(topic_limits{.max_length = 64, .max_levels = 4});
  EXPECT_TRUE(tree.try_subscribe("a/b/c/d", 1, {}));
  const auto deep = tree.try_subscribe("a/b/c/d/e", 1, {});
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error(), topic_error::too_many_levels);
  EXPECT_TRUE(tree.try_subscribe(std::string(64, 'x'), 1, {}));
  const auto long_filter = tree.try_subscribe(std::string(65, 'x'), 1, {});
  ASSERT_FALSE(long_filter);
  EXPECT_EQ(long_filter.error(), topic_error::too_long);
  // The limits apply to the whole shared filter string.
  EXPECT_TRUE(tree.try_subscribe("$share/g/a/b", 1, {}));
  EXPECT_FALSE(tree.try_subscribe("$share/g/a/b/c", 1, {}));
  EXPECT_EQ(tree.size(), 3u);
  // Topics deeper than the trie still match its filters.
  tree.subscribe("a/#", 2, {});
  EXPECT_EQ(subscribers(tree, "a/b/c/d/e/f/g/h"), std::vector<subscriber_id>{2});
}

TEST(SubscriptionTree, ChurnOf100kDistinctFiltersLeavesNoNodes) {
  subscription_tree tree;
  constexpr int count = 100000;
  const auto filter_for = [](int i) {
    switch (i % 4) {
      case 0:
        return "devices/" + std::to_string(i) + "/telemetry";
      case 1:
        return "devices/+/" + std::to_string(i) + "/#";
      case 2:
        return "$share/g" + std::to_string(i % 7) + "/x/" + std::to_string(i);
      default:
        return std::to_string(i) + "//" + std::to_string(i / 3);
    }
  };
  for (int i = 0; i < count; ++i) {
    tree.subscribe(filter_for(i), static_cast<subscriber_id>(i % 97), {});
  }
  EXPECT_EQ(tree.size(), static_cast<std::size_t>(count));
  EXPECT_GT(tree.node_count(), static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(tree.unsubscribe(filter_for(i), static_cast<subscriber_id>(i % 97))) << i;
  }
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(tree.node_count(), 0u);
  for (subscriber_id id = 0; id < 97; ++id)
    EXPECT_EQ(tree.count_for(id), 0u);
}

TEST(SubscriptionTree, MovedTreeKeepsSubscriptions) {
  subscription_tree tree;
  tree.subscribe("a/#", 1, {});
  subscription_tree moved = std::move(tree);
  EXPECT_EQ(subscribers(moved, "a/b"), std::vector<subscriber_id>{1});
  EXPECT_EQ(moved.size(), 1u);
}

}  // namespace
}  // namespace acemq::broker
