// Differential fuzz target for acemq_broker_topics: the input is a script of lines, each an
// operation on a subscription_tree and a retained_store, and every match is checked against the
// brute-force reference acemq::topic::matches. Filters and topics come straight from the input,
// so invalid UTF-8, wildcards in odd places and limit violations are exercised too.
//
// Line format: <op byte><subscriber byte><text>. The op byte modulo 7 selects:
//   0 subscribe, 1 unsubscribe, 2 remove subscriber, 3 match topic,
//   4 retain topic, 5 erase retained topic, 6 match retained by filter.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acemq/broker/retained_store.hpp"
#include "acemq/broker/subscription_tree.hpp"
#include "acemq/common/topic.hpp"

namespace {

using acemq::broker::subscriber_id;
using acemq::broker::subscription_options;

void require(bool condition) {
  if (!condition) std::abort();
}

struct harness {
  // Small limits so that the level bound is reachable with short inputs.
  acemq::broker::topic_limits limits{.max_length = 512, .max_levels = 8};
  acemq::broker::subscription_tree tree{limits};
  acemq::broker::retained_store<std::uint32_t> retained{limits};
  std::map<std::pair<std::string, subscriber_id>, std::uint32_t> subscriptions;
  std::map<std::string, std::uint32_t, std::less<>> retained_reference;
  std::uint32_t next_identifier = 1;

  void subscribe(std::string_view filter, subscriber_id subscriber) {
    const bool acceptable = static_cast<bool>(acemq::broker::check_filter(filter, limits));
    const std::uint32_t identifier = next_identifier++;
    const auto outcome = tree.try_subscribe(filter, subscriber, {.identifier = identifier});
    require(static_cast<bool>(outcome) == acceptable);
    if (!outcome) return;
    const auto key = std::make_pair(std::string(filter), subscriber);
    require(*outcome == subscriptions.contains(key));
    subscriptions[key] = identifier;
  }

  void unsubscribe(std::string_view filter, subscriber_id subscriber) {
    const bool existed = subscriptions.erase({std::string(filter), subscriber}) == 1;
    require(tree.unsubscribe(filter, subscriber) == existed);
  }

  void remove_subscriber(subscriber_id subscriber) {
    std::size_t expected = 0;
    for (auto it = subscriptions.begin(); it != subscriptions.end();) {
      if (it->first.second == subscriber) {
        it = subscriptions.erase(it);
        ++expected;
      } else {
        ++it;
      }
    }
    require(tree.remove_subscriber(subscriber) == expected);
    require(tree.count_for(subscriber) == 0);
  }

  void match(std::string_view topic) {
    if (!acemq::topic::is_valid_name(topic)) {
      // Still must not crash or misbehave on names the codec would have refused.
      tree.match(topic, [](subscriber_id, const subscription_options&, bool) {});
      return;
    }
    std::multiset<std::uint32_t> expected_plain;
    std::map<std::pair<std::string, std::string>, std::set<std::uint32_t>> expected_groups;
    for (const auto& [key, identifier] : subscriptions) {
      const auto shared = acemq::topic::parse_shared(key.first);
      if (shared.is_shared) {
        if (acemq::topic::matches(shared.parts.filter, topic)) {
          expected_groups[{std::string(shared.parts.group), std::string(shared.parts.filter)}]
              .insert(identifier);
        }
      } else if (acemq::topic::matches(key.first, topic)) {
        expected_plain.insert(identifier);
      }
    }
    std::multiset<std::uint32_t> got_plain;
    std::vector<std::uint32_t> got_shared;
    tree.match(topic, [&](subscriber_id, const subscription_options& options, bool shared) {
      if (shared) {
        got_shared.push_back(options.identifier);
      } else {
        got_plain.insert(options.identifier);
      }
    });
    require(got_plain == expected_plain);
    require(got_shared.size() == expected_groups.size());
    std::set<std::pair<std::string, std::string>> hit;
    for (const std::uint32_t identifier : got_shared) {
      for (const auto& [group, members] : expected_groups) {
        if (members.contains(identifier)) hit.insert(group);
      }
    }
    require(hit.size() == expected_groups.size());
  }

  void retain(std::string_view topic) {
    const bool acceptable = static_cast<bool>(acemq::broker::check_name(topic, limits));
    const std::uint32_t value = next_identifier++;
    require(retained.set(topic, value) == acceptable);
    if (acceptable) retained_reference[std::string(topic)] = value;
    const std::uint32_t* found = retained.find(topic);
    // A refused topic was never stored, so it cannot be found either.
    require(acceptable ? (found != nullptr && *found == value) : found == nullptr);
  }

  void erase_retained(std::string_view topic) {
    const auto it = retained_reference.find(topic);
    const bool existed = it != retained_reference.end();
    if (existed) retained_reference.erase(it);
    require(retained.erase(topic) == existed);
  }

  void match_retained(std::string_view filter) {
    std::map<std::string, std::uint32_t, std::less<>> got;
    retained.match(filter, [&](std::string_view topic, std::uint32_t value) {
      require(got.emplace(std::string(topic), value).second);
    });
    std::map<std::string, std::uint32_t, std::less<>> expected;
    if (acemq::topic::is_valid_filter(filter)) {
      for (const auto& [topic, value] : retained_reference) {
        if (acemq::topic::matches(filter, topic)) expected.emplace(topic, value);
      }
    }
    require(got == expected);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  harness h;
  std::size_t position = 0;
  while (position < input.size()) {
    const std::size_t newline = input.find('\n', position);
    const std::size_t end = newline == std::string_view::npos ? input.size() : newline;
    const std::string_view line = input.substr(position, end - position);
    position = end + 1;
    if (line.size() < 2) continue;
    const auto op = static_cast<unsigned char>(line[0]) % 7;
    const subscriber_id subscriber = static_cast<unsigned char>(line[1]) % 4;
    const std::string_view text = line.substr(2);
    switch (op) {
      case 0:
        h.subscribe(text, subscriber);
        break;
      case 1:
        h.unsubscribe(text, subscriber);
        break;
      case 2:
        h.remove_subscriber(subscriber);
        break;
      case 3:
        h.match(text);
        break;
      case 4:
        h.retain(text);
        break;
      case 5:
        h.erase_retained(text);
        break;
      default:
        h.match_retained(text);
        break;
    }
    require(h.tree.size() == h.subscriptions.size());
    require(h.retained.size() == h.retained_reference.size());
  }
  // Tearing everything down must leave no trie nodes behind.
  for (subscriber_id subscriber = 0; subscriber < 4; ++subscriber) {
    h.remove_subscriber(subscriber);
  }
  require(h.tree.node_count() == 0);
  h.retained.erase_if([](std::uint32_t) { return true; });
  require(h.retained.node_count() == 0 && h.retained.size() == 0);
  return 0;
}
