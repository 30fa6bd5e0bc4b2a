#pragma once
// A bounded least-recently-used map, the one eviction policy of the provider's caches.
// Not thread-safe: owners lock around it.

#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

namespace acemq {

template <typename Key, typename Value>
class lru_cache {
 public:
  explicit lru_cache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  /// The value for `key`, marked as most recently used; nullptr when absent.
  Value* find(const Key& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  /// Inserts or replaces; evicts the least recently used entry when full and returns it.
  std::optional<std::pair<Key, Value>> put(const Key& key, Value value) {
    if (const auto it = index_.find(key); it != index_.end()) {
      it->second->second = std::move(value);
      order_.splice(order_.begin(), order_, it->second);
      return std::nullopt;
    }
    std::optional<std::pair<Key, Value>> evicted;
    if (index_.size() >= capacity_) {
      evicted = std::move(order_.back());
      index_.erase(evicted->first);
      order_.pop_back();
    }
    order_.emplace_front(key, std::move(value));
    index_.emplace(key, order_.begin());
    return evicted;
  }

  bool erase(const Key& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }

  /// Removes every entry for which `predicate(key, value)` is true; returns how many.
  template <typename Predicate>
  std::size_t erase_if(Predicate predicate) {
    std::size_t removed = 0;
    for (auto it = order_.begin(); it != order_.end();) {
      if (predicate(it->first, it->second)) {
        index_.erase(it->first);
        it = order_.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
    return removed;
  }

  /// The least recently used entry, or nullptr.
  std::pair<Key, Value>* oldest() { return order_.empty() ? nullptr : &order_.back(); }

  std::size_t size() const noexcept { return index_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  std::size_t capacity_;
  std::list<std::pair<Key, Value>> order_;
  std::unordered_map<Key, typename std::list<std::pair<Key, Value>>::iterator> index_;
};

}  // namespace acemq
