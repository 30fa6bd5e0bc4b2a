// Property tests: the trie and the retained store against the brute-force reference
// acemq::topic::matches over random topics and filters, with a fixed seed so failures reproduce.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "acemq/broker/retained_store.hpp"
#include "acemq/broker/subscription_tree.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/topic.hpp"

namespace acemq::broker {
namespace {

class generator {
 public:
  explicit generator(std::uint64_t seed) : random_(seed) {}

  std::size_t below(std::size_t bound) {
    std::array<std::uint8_t, 8> bytes{};
    random_.fill(bytes);
    std::uint64_t value = 0;
    for (const std::uint8_t b : bytes)
      value = (value << 8) | b;
    return static_cast<std::size_t>(value % bound);
  }

  // A small alphabet of levels so that random filters and topics collide often, including empty
  // levels and '$'-prefixed first levels.
  std::string level() {
    static constexpr std::array<std::string_view, 6> levels{"a", "b", "", "$s", "c", "ab"};
    return std::string(levels[below(levels.size())]);
  }

  std::string topic() {
    const std::size_t count = 1 + below(5);
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
      if (i) out += '/';
      out += level();
    }
    // A topic name must not be empty [MQTT-4.7.3-1].
    return out.empty() ? "c" : out;
  }

  std::string filter() {
    const std::size_t count = 1 + below(5);
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
      if (i) out += '/';
      const std::size_t pick = below(10);
      if (pick < 2) {
        out += '+';
      } else if (pick == 2 && i + 1 == count) {
        out += '#';
      } else {
        out += level();
      }
    }
    // A topic filter must not be empty [MQTT-4.7.3-1].
    return out.empty() ? "c" : out;
  }

 private:
  deterministic_random random_;
};

struct reference_subscription {
  std::string filter;
  subscriber_id subscriber;
  std::uint32_t identifier;
};

TEST(TopicsProperty, TrieMatchesBruteForce) {
  generator gen(0x5eed'7091c5ull);
  subscription_tree tree;
  // Reference: (full filter, subscriber) -> identifier (unique per subscription version).
  std::map<std::pair<std::string, subscriber_id>, std::uint32_t> reference;
  std::uint32_t next_identifier = 1;
  // Guards against a generator that stops producing matches, which would make the test vacuous.
  std::size_t plain_matches = 0;
  std::size_t shared_matches = 0;

  for (int round = 0; round < 40; ++round) {
    // Mutate: subscribe, replace, unsubscribe, remove a subscriber.
    for (int op = 0; op < 50; ++op) {
      const std::size_t kind = gen.below(10);
      const subscriber_id subscriber = gen.below(12);
      std::string filter = gen.filter();
      if (gen.below(4) == 0) filter = "$share/g" + std::to_string(gen.below(3)) + "/" + filter;
      if (kind < 6) {
        const std::uint32_t identifier = next_identifier++;
        const bool existed = reference.contains({filter, subscriber});
        EXPECT_EQ(tree.subscribe(filter, subscriber, {.identifier = identifier}), existed);
        reference[{filter, subscriber}] = identifier;
      } else if (kind < 9) {
        // Unsubscribe an existing one most of the time, a random one otherwise.
        if (!reference.empty() && gen.below(4) != 0) {
          auto it = reference.begin();
          std::advance(it, static_cast<std::ptrdiff_t>(gen.below(reference.size())));
          filter = it->first.first;
        }
        const bool existed = reference.erase({filter, subscriber}) == 1;
        EXPECT_EQ(tree.unsubscribe(filter, subscriber), existed) << filter;
      } else {
        std::size_t expected = 0;
        for (auto it = reference.begin(); it != reference.end();) {
          if (it->first.second == subscriber) {
            it = reference.erase(it);
            ++expected;
          } else {
            ++it;
          }
        }
        EXPECT_EQ(tree.remove_subscriber(subscriber), expected);
      }
    }
    std::size_t per_subscriber_total = 0;
    for (subscriber_id s = 0; s < 12; ++s)
      per_subscriber_total += tree.count_for(s);
    ASSERT_EQ(per_subscriber_total, reference.size());
    ASSERT_EQ(tree.size(), reference.size());

    for (int probe = 0; probe < 60; ++probe) {
      const std::string topic = gen.topic();
      std::multiset<std::uint32_t> expected_plain;
      std::map<std::pair<std::string, std::string>, std::set<std::uint32_t>> expected_groups;
      for (const auto& [key, identifier] : reference) {
        const topic::shared_parse shared = topic::parse_shared(key.first);
        if (shared.is_shared) {
          if (topic::matches(shared.parts.filter, topic)) {
            expected_groups[{std::string(shared.parts.group), std::string(shared.parts.filter)}]
                .insert(identifier);
          }
        } else if (topic::matches(key.first, topic)) {
          expected_plain.insert(identifier);
        }
      }
      std::multiset<std::uint32_t> got_plain;
      std::vector<std::uint32_t> got_shared;
      tree.match(topic, [&](subscriber_id, const subscription_options& options, bool shared) {
        (shared ? got_shared.push_back(options.identifier)
                : static_cast<void>(got_plain.insert(options.identifier)));
      });
      EXPECT_EQ(got_plain, expected_plain) << "topic '" << topic << "'";
      plain_matches += got_plain.size();
      shared_matches += got_shared.size();
      // Exactly one delivery per matching group, each from a member of a distinct group.
      ASSERT_EQ(got_shared.size(), expected_groups.size()) << "topic '" << topic << "'";
      std::set<std::pair<std::string, std::string>> groups_hit;
      for (const std::uint32_t identifier : got_shared) {
        for (const auto& [group, members] : expected_groups) {
          if (members.contains(identifier)) groups_hit.insert(group);
        }
      }
      EXPECT_EQ(groups_hit.size(), expected_groups.size()) << "topic '" << topic << "'";
    }
  }
  EXPECT_GT(plain_matches, 500u);
  EXPECT_GT(shared_matches, 100u);
  // Tear everything down: the trie must return to no nodes.
  for (subscriber_id s = 0; s < 12; ++s)
    tree.remove_subscriber(s);
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(tree.node_count(), 0u);
}

TEST(TopicsProperty, RetainedMatchesBruteForce) {
  generator gen(0xbadc0ffeeull);
  retained_store<std::string> retained;
  std::set<std::string> reference;
  std::size_t total_matches = 0;
  for (int round = 0; round < 40; ++round) {
    for (int op = 0; op < 40; ++op) {
      const std::string topic = gen.topic();
      if (gen.below(3) != 0) {
        ASSERT_TRUE(retained.set(topic, topic));
        reference.insert(topic);
      } else {
        EXPECT_EQ(retained.erase(topic), reference.erase(topic) == 1) << topic;
      }
    }
    ASSERT_EQ(retained.size(), reference.size());
    for (int probe = 0; probe < 40; ++probe) {
      const std::string filter = gen.filter();
      std::vector<std::string> expected;
      for (const std::string& topic : reference) {
        if (topic::matches(filter, topic)) expected.push_back(topic);
      }
      std::vector<std::string> got;
      retained.match(filter, [&](std::string_view topic, const std::string& value) {
        EXPECT_EQ(topic, value);
        got.emplace_back(topic);
      });
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, expected) << "filter '" << filter << "'";
      total_matches += got.size();
    }
    // An expiry-style sweep of a random slice keeps the two in step.
    const std::string doomed_prefix = gen.level();
    const std::size_t swept = retained.erase_if([&](std::string_view topic, const std::string&) {
      return topic.starts_with(doomed_prefix + "/");
    });
    std::size_t expected_swept = 0;
    for (auto it = reference.begin(); it != reference.end();) {
      if (it->starts_with(doomed_prefix + "/")) {
        it = reference.erase(it);
        ++expected_swept;
      } else {
        ++it;
      }
    }
    EXPECT_EQ(swept, expected_swept);
  }
  EXPECT_GT(total_matches, 500u);
  for (const std::string& topic : reference)
    ASSERT_TRUE(retained.erase(topic));
  EXPECT_EQ(retained.size(), 0u);
  EXPECT_EQ(retained.node_count(), 0u);
}

}  // namespace
}  // namespace acemq::broker
