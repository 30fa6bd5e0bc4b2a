#pragma once
// Where a message is freed: on the I/O thread that allocated it (its home), not on the
// subscriber's thread that delivered it last.
//
// Why: a message is built on its publisher's thread (the message, its topic, its payload) and,
// once delivered, released by its subscriber's. glibc gives a freed chunk back to the arena it
// came from, under that arena's lock, the lock the publisher's thread takes for its next
// message: on a stream from one thread to another the two threads spent half the broker's time
// waking each other on that lock (docs/performance.md, "Across two I/O threads"). Instead, a
// subscriber's thread holding the last reference to another home's message hands it back, one
// lock per batch of deliveries, and the home frees what it was given when it next publishes.
//
// Bounds: a home holds at most `capacity` messages given back, each with at most `size_limit`
// bytes of topic, payload and publisher's client identifier and no forwarded properties; anything
// else (a home that is full, a larger message) is freed where it is released, as before. A home
// whose thread stops publishing keeps what it was given until its thread publishes again or ends
// (then the next thread takes the home over): at most capacity x (size_limit + the message's own
// ~250 bytes), about 800 KiB. Nothing counts against a session's queue, and holding a message never
// delays a delivery (messages are immutable).

#include <atomic>
#include <cstddef>
#include <vector>

#include "acemq/broker/message.hpp"
#include "acemq/common/small_mutex.hpp"

namespace acemq::broker {

class message_home {
 public:
  static constexpr std::size_t capacity = 1024;
  static constexpr std::size_t size_limit = 512;
  /// The home frees what it was given once this many wait (or when its thread ends).
  static constexpr std::size_t collect_at = 32;

  message_home(const message_home&) = delete;
  message_home& operator=(const message_home&) = delete;

  /// The calling thread's home, for the messages it builds. Homes live as long as the process:
  /// when a thread ends, its home (with what it holds, freed then) goes to the next thread
  /// that asks, so there are never more homes than threads that publish at once.
  static message_home& of_this_thread();

  /// Frees the messages given back, if at least `collect_at` wait: the home's thread calls it
  /// before it builds a message.
  void collect_if_due() noexcept {
    if (waiting_.load(std::memory_order_relaxed) >= collect_at) collect();
  }
  /// Frees every message given back. Only the thread that holds the home calls it (or any
  /// thread once none does).
  void collect() noexcept;

  /// Messages given back and not yet freed.
  std::size_t waiting() const noexcept { return waiting_.load(std::memory_order_relaxed); }

  /// Hands each message of `items` (`message_ptr item.*field`, moved from) that is released for
  /// the last time here, on a thread other than its home's, back to its home: one lock per home
  /// met in a row. The others stay in `items`, released where they are, as before.
  template <typename Item, typename Field>
  static void give_back(std::vector<Item>& items, Field field) noexcept {
    message_home* here = this_threads;
    message_home* to = nullptr;
    std::vector<message_ptr>& staged = staging();
    for (Item& item : items) {
      message_ptr& msg = field(item);
      message_home* home = returnable_home(msg, here);
      if (home == nullptr) continue;
      if (home != to) {
        if (to != nullptr) to->take(staged);
        to = home;
      }
      staged.push_back(std::move(msg));
    }
    if (to != nullptr) to->take(staged);
  }

 private:
  message_home() = default;
  friend struct home_registry;
  friend struct home_holder;

  /// The home to give `msg` back to, or null to release it here.
  static message_home* returnable_home(const message_ptr& msg, const message_home* here) noexcept {
    if (msg == nullptr || msg->home == nullptr || msg->home == here) return nullptr;
    // The only reference: nobody else can take another, so this release is the last.
    if (msg.use_count() != 1) return nullptr;
    // Every variable part a message may own: its topic, payload and stored publisher's client
    // identifier (up to 65,535 bytes each); forwarded properties are never held.
    if (msg->forwarded != nullptr ||
        msg->topic.size() + msg->payload_size() + msg->publisher_client_id.size() > size_limit) {
      return nullptr;
    }
    return msg->home;  // take() keeps within the home's capacity
  }

  /// Takes what fits of `staged` (emptied: what does not fit is released by the caller's thread).
  void take(std::vector<message_ptr>& staged) noexcept;
  /// The calling thread's staging vector (its capacity kept between batches).
  static std::vector<message_ptr>& staging() noexcept;

  static thread_local message_home* this_threads;

  small_mutex mutex_;
  std::vector<message_ptr> given_;    // guarded by mutex_
  std::vector<message_ptr> freeing_;  // collect()'s, empty between calls
  std::atomic<std::size_t> waiting_{0};
};

}  // namespace acemq::broker
