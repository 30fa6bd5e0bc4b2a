#pragma once
// Retained messages (MQTT 5.0 3.3.1.3): at most one value per topic name, found by topic filter
// when a subscription is made [MQTT-3.3.1-9]. A trie keyed by topic levels, so matching a filter
// walks only the branches the filter can reach instead of scanning every retained topic.
// Not thread-safe: the broker serialises access. Traversals use explicit stacks, so the depth of
// a topic never becomes the depth of the call stack.

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "acemq/broker/topic_levels.hpp"
#include "acemq/broker/topic_limits.hpp"
#include "acemq/common/topic.hpp"

namespace acemq::broker {

/// Retained values by topic name. `Value` is typically `std::shared_ptr<const message>`.
template <typename Value>
class retained_store {
 public:
  explicit retained_store(topic_limits limits = {})
      : limits_(limits), root_(std::make_unique<node>()) {}

  /// Stores `value` for `topic`, replacing any previous one [MQTT-3.3.1-5]. Returns false and
  /// stores nothing when `topic` is not a valid topic name within limits() (check_name()).
  /// Deleting a retained message on an empty payload [MQTT-3.3.1-6] is the caller's erase().
  bool set(std::string_view topic, Value value);

  /// Removes the value of `topic`; false when there was none. Prunes emptied trie nodes.
  bool erase(std::string_view topic);

  /// The value retained for exactly `topic`, or nullptr.
  const Value* find(std::string_view topic) const;

  /// Calls `visit(std::string_view topic, const Value&)` for every retained topic that `filter`
  /// matches, with the same rules as acemq::topic::matches, including the '$' rule
  /// [MQTT-4.7.2-1]. `filter` is a plain filter: the store does not interpret `$share/`, since
  /// whether retained messages go to a shared subscription (MQTT 5.0 4.8.2) is the broker's
  /// decision. An invalid filter matches nothing.
  template <typename Visitor>
  void match(std::string_view filter, Visitor&& visit) const;

  /// Removes every value for which `pred(topic, value)` (or `pred(value)`) returns true, e.g. an
  /// expiry sweep (MQTT 5.0 3.3.2.3.3), pruning emptied nodes. Returns how many were removed.
  template <typename Pred>
  std::size_t erase_if(Pred pred);

  /// Number of retained topics.
  std::size_t size() const noexcept { return size_; }
  /// Number of trie nodes below the root; zero when the store is empty.
  std::size_t node_count() const noexcept { return node_count_; }
  const topic_limits& limits() const noexcept { return limits_; }

 private:
  struct node {
    node() = default;
    node(const node&) = delete;
    node& operator=(const node&) = delete;
    // Iterative teardown: a 32768-level topic must not become 32768 nested destructor calls.
    ~node() {
      std::vector<std::unique_ptr<node>> doomed;
      // Children already moved out are null, so a node emptied here destroys trivially.
      for (auto& [level, child] : children) {
        if (child) doomed.push_back(std::move(child));
      }
      while (!doomed.empty()) {
        std::unique_ptr<node> last = std::move(doomed.back());
        doomed.pop_back();
        for (auto& [level, child] : last->children) {
          if (child) doomed.push_back(std::move(child));
        }
      }
    }

    std::map<std::string, std::unique_ptr<node>, std::less<>> children;
    // The full topic is kept with the value so visitors get it without rebuilding it.
    std::optional<std::pair<std::string, Value>> retained;
  };
  using child_iterator =
      typename std::map<std::string, std::unique_ptr<node>, std::less<>>::iterator;

  template <typename Visitor>
  static void visit_subtree(const node& top, bool skip_dollar_children, Visitor& visit);

  topic_limits limits_;
  std::unique_ptr<node> root_;
  std::size_t size_ = 0;
  std::size_t node_count_ = 0;
};

template <typename Value>
bool retained_store<Value>::set(std::string_view topic, Value value) {
  if (!check_name(topic, limits_)) return false;
  node* at = root_.get();
  std::size_t position = 0;
  while (position <= topic.size()) {
    const auto [level, next] = level_at(topic, position);
    at = &child_for(*at, level, node_count_);
    position = next;
  }
  if (at->retained) {
    at->retained->second = std::move(value);
  } else {
    at->retained.emplace(std::string(topic), std::move(value));
    ++size_;
  }
  return true;
}

template <typename Value>
bool retained_store<Value>::erase(std::string_view topic) {
  // Walk down remembering the deepest node that must survive (the root, a node holding a value
  // or a node with other children): everything below it on this path is pruned when the target
  // ends up empty. No allocation, no recursion.
  node* at = root_.get();
  node* keep = at;
  child_iterator cut{};
  std::size_t depth = 0;
  std::size_t keep_depth = 0;
  std::size_t position = 0;
  while (position <= topic.size()) {
    const auto [level, next] = level_at(topic, position);
    const auto child = at->children.find(level);
    if (child == at->children.end()) return false;
    if (at == root_.get() || at->retained || at->children.size() > 1) {
      keep = at;
      cut = child;
      keep_depth = depth;
    }
    at = child->second.get();
    ++depth;
    position = next;
  }
  if (!at->retained) return false;
  at->retained.reset();
  --size_;
  if (at->children.empty()) {
    keep->children.erase(cut);
    node_count_ -= depth - keep_depth;
  }
  return true;
}

template <typename Value>
const Value* retained_store<Value>::find(std::string_view topic) const {
  const node* at = root_.get();
  std::size_t position = 0;
  while (position <= topic.size()) {
    const auto [level, next] = level_at(topic, position);
    const auto child = at->children.find(level);
    if (child == at->children.end()) return nullptr;
    at = child->second.get();
    position = next;
  }
  return at->retained ? &at->retained->second : nullptr;
}

template <typename Value>
template <typename Visitor>
void retained_store<Value>::visit_subtree(const node& top, bool skip_dollar_children,
                                          Visitor& visit) {
  std::vector<const node*> pending;
  if (top.retained) visit(std::string_view(top.retained->first), top.retained->second);
  for (const auto& [level, child] : top.children) {
    if (skip_dollar_children && !level.empty() && level.front() == '$') continue;
    pending.push_back(child.get());
  }
  while (!pending.empty()) {
    const node* at = pending.back();
    pending.pop_back();
    if (at->retained) visit(std::string_view(at->retained->first), at->retained->second);
    for (const auto& [level, child] : at->children)
      pending.push_back(child.get());
  }
}

template <typename Value>
template <typename Visitor>
void retained_store<Value>::match(std::string_view filter, Visitor&& visit) const {
  if (!topic::is_valid_filter(filter)) return;
  struct frame {
    const node* at;
    std::size_t position;  // start of the next filter level; filter.size() + 1 when consumed
  };
  std::vector<frame> pending{{root_.get(), 0}};
  while (!pending.empty()) {
    const frame current = pending.back();
    pending.pop_back();
    const node& at = *current.at;
    if (current.position > filter.size()) {
      if (at.retained) visit(std::string_view(at.retained->first), at.retained->second);
      continue;
    }
    // [MQTT-4.7.2-1]: a wildcard as the first filter level does not match '$' topics.
    const bool at_root = current.at == root_.get();
    const auto [level, next] = level_at(filter, current.position);
    if (level == "#") {
      // [MQTT-4.7.1-2]: "#" matches the parent level and every level below it.
      visit_subtree(at, at_root, visit);
    } else if (level == "+") {
      for (const auto& [name, child] : at.children) {
        if (at_root && !name.empty() && name.front() == '$') continue;
        pending.push_back({child.get(), next});
      }
    } else if (const auto child = at.children.find(level); child != at.children.end()) {
      pending.push_back({child->second.get(), next});
    }
  }
}

template <typename Value>
template <typename Pred>
std::size_t retained_store<Value>::erase_if(Pred pred) {
  const auto should_erase = [&pred](const std::pair<std::string, Value>& retained) -> bool {
    if constexpr (std::is_invocable_v<Pred&, std::string_view, const Value&>) {
      return pred(std::string_view(retained.first), retained.second);
    } else {
      return pred(retained.second);
    }
  };
  // Post-order walk with an explicit stack: a child is pruned after its own subtree was swept.
  struct frame {
    node* at;
    child_iterator next_child;
  };
  std::size_t removed = 0;
  std::vector<frame> pending{{root_.get(), root_->children.begin()}};
  while (!pending.empty()) {
    frame& top = pending.back();
    if (top.next_child != top.at->children.end()) {
      node* child = top.next_child->second.get();
      if (child->retained && should_erase(*child->retained)) {
        child->retained.reset();
        ++removed;
      }
      pending.push_back({child, child->children.begin()});
      continue;
    }
    pending.pop_back();
    if (pending.empty()) break;
    frame& parent = pending.back();
    const node& finished = *parent.next_child->second;
    if (!finished.retained && finished.children.empty()) {
      parent.next_child = parent.at->children.erase(parent.next_child);
      --node_count_;
    } else {
      ++parent.next_child;
    }
  }
  size_ -= removed;
  return removed;
}

}  // namespace acemq::broker
