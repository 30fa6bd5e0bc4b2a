#pragma once
// The broker's subscription index: a trie keyed by topic filter levels (MQTT 5.0 section 4.7),
// with shared subscriptions (section 4.8.2) stored per group at the node of their inner filter.
// Not thread-safe: the broker wraps it in a shared_mutex. match() only reads the trie; the
// round-robin cursors of shared groups are atomics, so concurrent match() calls under a shared
// lock are safe.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "acemq/broker/topic_levels.hpp"
#include "acemq/broker/topic_limits.hpp"
#include "acemq/common/result.hpp"

namespace acemq::broker {

/// The broker's handle for a session; the tree never interprets it.
using subscriber_id = std::uint64_t;

/// The SUBSCRIBE options kept with each subscription (MQTT 5.0 3.8.3.1) plus the Subscription
/// Identifier (3.8.2.1.2).
struct subscription_options {
  std::uint8_t maximum_qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  std::uint8_t retain_handling = 0;
  std::uint32_t identifier = 0;  // 0 = none
};

/// A topic trie of subscriptions. Every filter passed to subscribe() must pass
/// check_filter(filter, limits()); the depth of the trie is therefore bounded by
/// limits().max_levels, which bounds the recursion in match().
class subscription_tree {
 public:
  explicit subscription_tree(topic_limits limits = {});
  ~subscription_tree();
  subscription_tree(const subscription_tree&) = delete;
  subscription_tree& operator=(const subscription_tree&) = delete;
  subscription_tree(subscription_tree&&) noexcept;
  subscription_tree& operator=(subscription_tree&&) noexcept;

  /// Adds a subscription, or replaces the one with the same subscriber and the same full filter
  /// string (including any `$share/{group}/` prefix) [MQTT-3.8.4-3]. Returns true when it replaced
  /// an existing one, so the caller can apply Retain Handling 1 [MQTT-3.3.1-10].
  /// Throws std::invalid_argument when the filter fails check_filter(): that is a caller bug,
  /// because SUBSCRIBE filters are validated where the packet is decoded. Use try_subscribe()
  /// to get the reason as a value instead.
  bool subscribe(std::string_view filter, subscriber_id subscriber,
                 const subscription_options& options);

  /// As subscribe(), but a filter that fails check_filter() is returned as an error.
  result<bool, topic_error> try_subscribe(std::string_view filter, subscriber_id subscriber,
                                          const subscription_options& options);

  /// Removes one subscription; false when it did not exist [MQTT-3.10.4-5]. Empty trie nodes are
  /// pruned so memory does not grow with subscribe/unsubscribe churn.
  bool unsubscribe(std::string_view filter, subscriber_id subscriber);

  /// Removes every subscription of `subscriber` (session end) in time proportional to its own
  /// subscriptions, not to the tree. Returns how many were removed.
  std::size_t remove_subscriber(subscriber_id subscriber);

  /// Visits every non-shared subscription whose filter matches `topic`, and for each shared
  /// subscription (group and filter) that matches, exactly one member chosen by round robin
  /// [MQTT-4.8.2-3]. `visit(subscriber_id, const subscription_options&, bool shared)`.
  /// A subscriber with several matching subscriptions is visited once per subscription; merging
  /// them is the caller's choice [MQTT-3.3.4-2]. Allocation-free.
  template <typename Visitor>
  void match(std::string_view topic, Visitor&& visit) const;

  /// As match(), but a shared group member is only chosen when `accept_member(subscriber_id)`
  /// returns true (e.g. the session is connected). A group with no accepted member is skipped.
  /// Non-shared subscriptions are always visited. `accept_member` may be called more than once
  /// per member, so it must be a cheap predicate without side effects.
  template <typename Visitor, typename Accept>
  void match_with_filter(std::string_view topic, Visitor&& visit, Accept&& accept_member) const;

  /// As match_with_filter(), but a shared group with no accepted member is not skipped: one of
  /// its members, taken in turn (the group's round robin over all members), is passed to
  /// `fallback(subscriber_id, const subscription_options&)`. The broker uses it to queue the
  /// message in an offline member's session, so a group whose members are all disconnected for a
  /// while does not lose messages. Allocation-free.
  template <typename Visitor, typename Accept, typename Fallback>
  void match_with_fallback(std::string_view topic, Visitor&& visit, Accept&& accept_member,
                           Fallback&& fallback) const;

  /// Calls `visit(std::string_view filter, const subscription_options&)` for every subscription of
  /// `subscriber` (full filter strings, including `$share/{group}/`), in filter order.
  template <typename Visitor>
  void for_each_subscription_of(subscriber_id subscriber, Visitor&& visit) const;

  /// The options stored for one subscription, or nullptr when it does not exist.
  const subscription_options* find(std::string_view filter, subscriber_id subscriber) const;

  /// Number of subscriptions (shared memberships included).
  std::size_t size() const noexcept { return size_; }
  /// Number of subscriptions of one subscriber, e.g. to enforce a per-session bound.
  std::size_t count_for(subscriber_id subscriber) const;
  /// Number of trie nodes below the root; zero when the tree is empty.
  std::size_t node_count() const noexcept { return node_count_; }
  const topic_limits& limits() const noexcept { return limits_; }

 private:
  struct entry {
    subscriber_id subscriber;
    subscription_options options;
  };

  // Subscribers of one filter: contiguous for matching, indexed for O(1) replace and removal.
  class subscriber_set {
   public:
    bool upsert(subscriber_id subscriber, const subscription_options& options);
    bool erase(subscriber_id subscriber);
    const subscription_options* find(subscriber_id subscriber) const;
    std::span<const entry> entries() const noexcept { return entries_; }
    bool empty() const noexcept { return entries_.empty(); }

   private:
    std::vector<entry> entries_;
    std::unordered_map<subscriber_id, std::size_t> positions_;
  };

  struct shared_group {
    subscriber_set members;
    // Round-robin position; advanced by match(), which is const and may run concurrently.
    mutable std::atomic<std::size_t> cursor{0};
  };

  // Ordered maps: the keys are client-chosen strings, so no hash-flooding worst case.
  struct node {
    node() = default;
    node(const node&) = delete;
    node& operator=(const node&) = delete;
    ~node();

    std::map<std::string, std::unique_ptr<node>, std::less<>> children;  // literal levels
    std::unique_ptr<node> plus_child;                                    // "+"
    std::unique_ptr<node> hash_child;                                    // "#"
    subscriber_set subscribers;
    std::map<std::string, std::unique_ptr<shared_group>, std::less<>> groups;

    bool has_subscriptions() const noexcept { return !subscribers.empty() || !groups.empty(); }
    std::size_t child_count() const noexcept {
      return children.size() + (plus_child ? 1u : 0u) + (hash_child ? 1u : 0u);
    }
  };

  struct always_accept {
    bool operator()(subscriber_id) const noexcept { return true; }
  };
  // The fallback of match_with_filter(): a group with no accepted member is skipped.
  struct no_fallback {
    void operator()(subscriber_id, const subscription_options&) const noexcept {}
  };

  template <typename Visitor, typename Accept, typename Fallback>
  void visit_node(const node& at, Visitor& visit, Accept& accept, Fallback& fallback) const;
  template <typename Visitor, typename Accept, typename Fallback>
  void walk(const node& at, std::string_view topic, std::size_t position, Visitor& visit,
            Accept& accept, Fallback& fallback) const;
  template <typename Accept>
  static const entry* pick_member(const shared_group& group, Accept& accept);

  bool remove_one(std::string_view filter, subscriber_id subscriber);

  topic_limits limits_;
  std::unique_ptr<node> root_;
  std::size_t size_ = 0;
  std::size_t node_count_ = 0;
  // Per-subscriber index of full filter strings, for remove_subscriber() and count_for().
  std::unordered_map<subscriber_id, std::set<std::string, std::less<>>> by_subscriber_;
};

// ---- template implementation ----

template <typename Accept>
const subscription_tree::entry* subscription_tree::pick_member(const shared_group& group,
                                                               Accept& accept) {
  const std::span<const entry> members = group.members.entries();
  const std::size_t count = members.size();
  if (count == 0) return nullptr;
  std::size_t cursor = group.cursor.load(std::memory_order_relaxed);
  while (true) {
    std::size_t offset = 0;
    while (offset < count && !accept(members[(cursor + offset) % count].subscriber))
      ++offset;
    if (offset == count) return nullptr;
    // Claim the chosen slot; if another reader advanced the cursor meanwhile, choose again from
    // its position so members keep taking turns under concurrent matching.
    if (group.cursor.compare_exchange_weak(cursor, cursor + offset + 1,
                                           std::memory_order_relaxed)) {
      return &members[(cursor + offset) % count];
    }
  }
}

template <typename Visitor, typename Accept, typename Fallback>
void subscription_tree::visit_node(const node& at, Visitor& visit, Accept& accept,
                                   Fallback& fallback) const {
  for (const entry& subscription : at.subscribers.entries()) {
    visit(subscription.subscriber, subscription.options, false);
  }
  for (const auto& [name, group] : at.groups) {
    // [MQTT-4.8.2-3]: each message of a shared subscription goes to only one member.
    if (const entry* chosen = pick_member(*group, accept)) {
      visit(chosen->subscriber, chosen->options, true);
    } else if constexpr (!std::is_same_v<std::remove_cvref_t<Fallback>, no_fallback>) {
      always_accept any;
      if (const entry* taken = pick_member(*group, any))
        fallback(taken->subscriber, taken->options);
    }
  }
}

// `position` is where the next topic level starts, or topic.size() + 1 once every level has been
// consumed (a topic ending in '/' has a final empty level, so "consumed" cannot be size()).
template <typename Visitor, typename Accept, typename Fallback>
void subscription_tree::walk(const node& at, std::string_view topic, std::size_t position,
                             Visitor& visit, Accept& accept, Fallback& fallback) const {
  if (position > topic.size()) {
    visit_node(at, visit, accept, fallback);
    // [MQTT-4.7.1-2]: "sport/#" also matches "sport", the parent level.
    if (at.hash_child) visit_node(*at.hash_child, visit, accept, fallback);
    return;
  }
  // "#" matches any number of remaining levels.
  if (at.hash_child) visit_node(*at.hash_child, visit, accept, fallback);
  const auto [level, next] = level_at(topic, position);
  // "+" matches exactly one level, including an empty one [MQTT-4.7.1-3].
  if (at.plus_child) walk(*at.plus_child, topic, next, visit, accept, fallback);
  if (const auto child = at.children.find(level); child != at.children.end()) {
    walk(*child->second, topic, next, visit, accept, fallback);
  }
}

template <typename Visitor, typename Accept, typename Fallback>
void subscription_tree::match_with_fallback(std::string_view topic, Visitor&& visit,
                                            Accept&& accept_member, Fallback&& fallback) const {
  const node& root = *root_;
  // [MQTT-4.7.2-1]: a filter starting with a wildcard does not match a topic starting with '$'.
  if (topic.empty() || topic.front() != '$') {
    if (root.hash_child) visit_node(*root.hash_child, visit, accept_member, fallback);
  }
  const std::size_t slash = topic.find('/');
  const std::size_t level_end = slash == std::string_view::npos ? topic.size() : slash;
  const std::size_t next = level_end + 1;
  if (root.plus_child && (topic.empty() || topic.front() != '$')) {
    walk(*root.plus_child, topic, next, visit, accept_member, fallback);
  }
  if (const auto child = root.children.find(topic.substr(0, level_end));
      child != root.children.end()) {
    walk(*child->second, topic, next, visit, accept_member, fallback);
  }
}

template <typename Visitor, typename Accept>
void subscription_tree::match_with_filter(std::string_view topic, Visitor&& visit,
                                          Accept&& accept_member) const {
  no_fallback skip;
  match_with_fallback(topic, visit, accept_member, skip);
}

template <typename Visitor>
void subscription_tree::match(std::string_view topic, Visitor&& visit) const {
  always_accept accept;
  match_with_filter(topic, visit, accept);
}

template <typename Visitor>
void subscription_tree::for_each_subscription_of(subscriber_id subscriber, Visitor&& visit) const {
  const auto filters = by_subscriber_.find(subscriber);
  if (filters == by_subscriber_.end()) return;
  for (const std::string& filter : filters->second) {
    if (const subscription_options* options = find(filter, subscriber)) visit(filter, *options);
  }
}

}  // namespace acemq::broker
