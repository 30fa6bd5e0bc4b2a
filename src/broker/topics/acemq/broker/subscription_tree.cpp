#include "acemq/broker/subscription_tree.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "acemq/common/topic.hpp"

namespace acemq::broker {

namespace {

// Where a filter lives in the trie: the levels of the (inner) filter, and the share group name
// when it is a shared subscription.
struct filter_location {
  std::string_view levels;
  std::string_view group;
  bool shared = false;
};

filter_location locate(std::string_view filter) noexcept {
  const topic::shared_parse shared = topic::parse_shared(filter);
  if (shared.is_shared && shared.valid) return {shared.parts.filter, shared.parts.group, true};
  return {filter, {}, false};
}

}  // namespace

// ---- subscriber_set ----

bool subscription_tree::subscriber_set::upsert(subscriber_id subscriber,
                                               const subscription_options& options) {
  const auto [position, inserted] = positions_.try_emplace(subscriber, entries_.size());
  if (!inserted) {
    entries_[position->second].options = options;
    return true;
  }
  entries_.push_back({subscriber, options});
  return false;
}

bool subscription_tree::subscriber_set::erase(subscriber_id subscriber) {
  const auto position = positions_.find(subscriber);
  if (position == positions_.end()) return false;
  const std::size_t index = position->second;
  positions_.erase(position);
  // Swap-remove keeps the vector contiguous; the moved entry's index is updated.
  if (index + 1 != entries_.size()) {
    entries_[index] = entries_.back();
    positions_[entries_[index].subscriber] = index;
  }
  entries_.pop_back();
  return true;
}

const subscription_options* subscription_tree::subscriber_set::find(
    subscriber_id subscriber) const {
  const auto position = positions_.find(subscriber);
  return position == positions_.end() ? nullptr : &entries_[position->second].options;
}

// Iterative teardown, so even a tree configured with very deep limits never nests one destructor
// call per level.
subscription_tree::node::~node() {
  std::vector<std::unique_ptr<node>> doomed;
  const auto adopt_children = [&doomed](node& from) {
    // Children already moved out are null, so a node emptied here destroys trivially.
    for (auto& [level, child] : from.children) {
      if (child) doomed.push_back(std::move(child));
    }
    if (from.plus_child) doomed.push_back(std::move(from.plus_child));
    if (from.hash_child) doomed.push_back(std::move(from.hash_child));
  };
  adopt_children(*this);
  while (!doomed.empty()) {
    std::unique_ptr<node> last = std::move(doomed.back());
    doomed.pop_back();
    adopt_children(*last);
  }
}

// ---- subscription_tree ----

subscription_tree::subscription_tree(topic_limits limits)
    : limits_(limits), root_(std::make_unique<node>()) {}

subscription_tree::~subscription_tree() = default;
subscription_tree::subscription_tree(subscription_tree&&) noexcept = default;
subscription_tree& subscription_tree::operator=(subscription_tree&&) noexcept = default;

bool subscription_tree::subscribe(std::string_view filter, subscriber_id subscriber,
                                  const subscription_options& options) {
  const result<bool, topic_error> outcome = try_subscribe(filter, subscriber, options);
  if (!outcome) {
    throw std::invalid_argument("subscription_tree::subscribe: filter refused (" +
                                std::string(to_string(outcome.error())) + ")");
  }
  return *outcome;
}

result<bool, topic_error> subscription_tree::try_subscribe(std::string_view filter,
                                                           subscriber_id subscriber,
                                                           const subscription_options& options) {
  if (const auto checked = check_filter(filter, limits_); !checked) {
    return unexpected{checked.error()};
  }
  const filter_location location = locate(filter);
  node* at = root_.get();
  std::size_t position = 0;
  while (position <= location.levels.size()) {
    const auto [level, next] = level_at(location.levels, position);
    if (level == "+" || level == "#") {
      std::unique_ptr<node>& slot = level == "+" ? at->plus_child : at->hash_child;
      if (!slot) {
        slot = std::make_unique<node>();
        ++node_count_;
      }
      at = slot.get();
    } else {
      at = &child_for(*at, level, node_count_);
    }
    position = next;
  }

  bool replaced = false;
  if (location.shared) {
    auto group = at->groups.find(location.group);
    if (group == at->groups.end()) {
      group =
          at->groups.emplace(std::string(location.group), std::make_unique<shared_group>()).first;
    }
    replaced = group->second->members.upsert(subscriber, options);
  } else {
    replaced = at->subscribers.upsert(subscriber, options);
  }
  if (!replaced) {
    ++size_;
    by_subscriber_[subscriber].emplace(filter);
  }
  return replaced;
}

bool subscription_tree::unsubscribe(std::string_view filter, subscriber_id subscriber) {
  if (!remove_one(filter, subscriber)) return false;
  const auto filters = by_subscriber_.find(subscriber);
  if (filters != by_subscriber_.end()) {
    if (const auto it = filters->second.find(filter); it != filters->second.end()) {
      filters->second.erase(it);
    }
    if (filters->second.empty()) by_subscriber_.erase(filters);
  }
  return true;
}

std::size_t subscription_tree::remove_subscriber(subscriber_id subscriber) {
  const auto filters = by_subscriber_.find(subscriber);
  if (filters == by_subscriber_.end()) return 0;
  std::size_t removed = 0;
  for (const std::string& filter : filters->second) {
    if (remove_one(filter, subscriber)) ++removed;
  }
  by_subscriber_.erase(filters);
  return removed;
}

const subscription_options* subscription_tree::find(std::string_view filter,
                                                    subscriber_id subscriber) const {
  const filter_location location = locate(filter);
  const node* at = root_.get();
  std::size_t position = 0;
  while (position <= location.levels.size()) {
    const auto [level, next] = level_at(location.levels, position);
    if (level == "+") {
      at = at->plus_child.get();
    } else if (level == "#") {
      at = at->hash_child.get();
    } else {
      const auto child = at->children.find(level);
      at = child == at->children.end() ? nullptr : child->second.get();
    }
    if (at == nullptr) return nullptr;
    position = next;
  }
  if (!location.shared) return at->subscribers.find(subscriber);
  const auto group = at->groups.find(location.group);
  return group == at->groups.end() ? nullptr : group->second->members.find(subscriber);
}

std::size_t subscription_tree::count_for(subscriber_id subscriber) const {
  const auto filters = by_subscriber_.find(subscriber);
  return filters == by_subscriber_.end() ? 0 : filters->second.size();
}

// Removes the subscription from the trie (not from by_subscriber_) and prunes the nodes it leaves
// empty. Walking down, it remembers the deepest node that must survive in any case (the root, a
// node with subscriptions, or one with other children); if the target node ends up empty, the
// chain below that node is cut off in one step. No recursion, no allocation.
bool subscription_tree::remove_one(std::string_view filter, subscriber_id subscriber) {
  if (!check_filter(filter, limits_)) return false;
  const filter_location location = locate(filter);

  node* at = root_.get();
  std::unique_ptr<node>* keep_slot = nullptr;  // owner of the first node that may be pruned
  node* keep = nullptr;
  decltype(node::children)::iterator keep_literal{};
  std::size_t depth = 0;
  std::size_t keep_depth = 0;
  std::size_t position = 0;
  while (position <= location.levels.size()) {
    const auto [level, next] = level_at(location.levels, position);
    std::unique_ptr<node>* slot = nullptr;
    decltype(node::children)::iterator literal = at->children.end();
    if (level == "+") {
      slot = &at->plus_child;
    } else if (level == "#") {
      slot = &at->hash_child;
    } else {
      literal = at->children.find(level);
      if (literal != at->children.end()) slot = &literal->second;
    }
    if (slot == nullptr || !*slot) return false;
    if (at == root_.get() || at->has_subscriptions() || at->child_count() > 1) {
      keep = at;
      keep_slot = slot;
      keep_literal = literal;
      keep_depth = depth;
    }
    at = slot->get();
    ++depth;
    position = next;
  }

  if (location.shared) {
    const auto group = at->groups.find(location.group);
    if (group == at->groups.end() || !group->second->members.erase(subscriber)) return false;
    if (group->second->members.empty()) at->groups.erase(group);
  } else if (!at->subscribers.erase(subscriber)) {
    return false;
  }
  --size_;

  if (!at->has_subscriptions() && at->child_count() == 0) {
    if (keep_literal != keep->children.end()) {
      keep->children.erase(keep_literal);
    } else {
      keep_slot->reset();
    }
    node_count_ -= depth - keep_depth;
  }
  return true;
}

}  // namespace acemq::broker
