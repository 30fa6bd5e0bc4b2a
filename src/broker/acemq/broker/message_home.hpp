#pragma once
// Where a message is freed or built again: on the I/O thread that allocated it (its home), not on
// the subscriber's thread that delivered it last.
//
// Why: a message is built on its publisher's thread (the message, its topic, its payload) and,
// once delivered, released by its subscriber's. glibc gives a freed chunk back to the arena it
// came from, under that arena's lock, the lock the publisher's thread takes for its next
// message: on a stream from one thread to another the two threads spent half the broker's time
// waking each other on that lock (docs/performance.md, "Across two I/O threads"). Instead, a
// subscriber's thread holding the last reference to another home's message hands it back, one
// lock per batch of deliveries, and the home frees (or keeps, below) what it was given when it
// next publishes.
//
// Reuse: of what it is given (and what its own thread releases last), a home keeps up to
// `spare_capacity` messages and builds the next ones in them: the message, the capacity of its
// topic and, when no write still holds it, its payload buffer, which the PUBLISH decoder refills
// (mqtt::decode_publish). A stream of small messages then allocates nothing per message. A
// message is kept only after an atomic increment of its count that follows the observation that
// its holder was the last (std::const_pointer_cast copies): every earlier holder's release
// happens before the reuse. Messages and payload buffers a home builds are mutable objects shared
// as const, so the reuse writes to objects that are not const.
//
// Bounds: a home holds at most `capacity` messages given back, each holding at most `size_limit`
// bytes of topic, payload and publisher's client identifier (their capacities, which reuse keeps)
// and no forwarded properties; anything
// else (a home that is full, a larger message) is freed where it is released, as before. A home
// whose thread stops publishing keeps what it was given until its thread publishes again or ends
// (then the next thread takes the home over): at most capacity x (size_limit + the message's own
// ~250 bytes), about 800 KiB, and at most `spare_capacity` kept for reuse (about 200 KiB). Nothing
// counts against a session's queue, and holding a message never delays a delivery (messages are
// immutable while they are shared).

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
  /// Messages kept to be built again (the rest of what collect() is given is freed).
  static constexpr std::size_t spare_capacity = 256;

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
  /// Messages kept for reuse.
  std::size_t spare() const noexcept { return spare_.size(); }

  /// A message to build on the home's thread, its `home` set: a kept one, emptied (its topic's
  /// capacity kept), or a new one. Collects what was given back first when none is kept.
  std::shared_ptr<message> make();
  /// The payload buffer of the message make() returns next, when nothing else holds it, for the
  /// PUBLISH decoder to refill; null otherwise. Collects what was given back first when due.
  std::shared_ptr<byte_vector> spare_payload() noexcept;

  /// Hands each message of `items` (`message_ptr item.*field`, moved from) that is released for
  /// the last time here back to its home: kept at once when that is this thread's, else one lock
  /// per home met in a row. The others stay in `items`, released where they are, as before.
  template <typename Item, typename Field>
  static void give_back(std::vector<Item>& items, Field field) noexcept {
    message_home* here = this_threads;
    message_home* to = nullptr;
    std::vector<message_ptr>& staged = staging();
    for (Item& item : items) {
      message_ptr& msg = field(item);
      message_home* home = returnable_home(msg);
      if (home == nullptr) continue;
      if (home == here) {
        here->keep(msg);
        continue;
      }
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

  /// What `text` counts against size_limit: its capacity once on the heap, else its length.
  static std::size_t string_bytes(const std::string& text) noexcept {
    static const std::size_t inline_capacity = std::string().capacity();
    return text.capacity() > inline_capacity ? text.capacity() : text.size();
  }

  /// The home to give `msg` back to, or null to release it here.
  static message_home* returnable_home(const message_ptr& msg) noexcept {
    if (msg == nullptr || msg->home == nullptr) return nullptr;
    // The only reference: nobody else can take another, so this release is the last.
    if (msg.use_count() != 1) return nullptr;
    // Every variable part a message may own: its topic, payload and stored publisher's client
    // identifier (up to 65,535 bytes each), counted by the memory they hold - a kept message's
    // topic string has passed through the thread's PUBLISH, whose capacity is the longest topic
    // it decoded; forwarded properties are never held.
    const std::size_t held = string_bytes(msg->topic) +
                             (msg->payload ? msg->payload->capacity() : 0) +
                             string_bytes(msg->publisher_client_id);
    if (msg->forwarded != nullptr || held > size_limit) return nullptr;
    return msg->home;  // take() keeps within the home's capacity
  }

  /// Keeps `msg` (released, the only reference) for reuse while there is room, else frees it.
  void keep(message_ptr& msg) noexcept;
  /// Takes what fits of `staged` (emptied: what does not fit is released by the caller's thread).
  void take(std::vector<message_ptr>& staged) noexcept;
  /// The calling thread's staging vector (its capacity kept between batches).
  static std::vector<message_ptr>& staging() noexcept;

  static thread_local message_home* this_threads;

  small_mutex mutex_;
  std::vector<message_ptr> given_;               // guarded by mutex_
  std::vector<message_ptr> freeing_;             // collect()'s, empty between calls
  std::vector<std::shared_ptr<message>> spare_;  // the home's thread only
  std::atomic<std::size_t> waiting_{0};
};

}  // namespace acemq::broker
