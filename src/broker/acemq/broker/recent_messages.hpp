#pragma once
// The last small messages an I/O thread published, each held for a while after routing so that
// the last reference to it - and so the freeing of the message, its topic and its payload - is
// usually dropped on the thread that allocated them.
//
// Why: a message is built on its publisher's I/O thread and, without this, freed on its
// subscriber's once delivered. glibc returns a chunk to the arena it came from, under that arena's
// lock, which the publisher's thread takes for its next message: on a stream from one thread to
// another the two threads spent half the broker's time waking each other on that lock
// (docs/performance.md, "Across two I/O threads"). Held here, a message is released by its
// subscriber first and by this ring `capacity` publishes later, on its own thread.
//
// Bounds: `capacity` messages per I/O thread, each with a payload of at most `payload_limit`
// bytes (a larger payload costs its copy, not its free, and is not held). A message stays in the
// ring until the thread publishes `capacity` more; holding one never delays or changes a delivery
// (messages are immutable), and nothing counts it against a session's queue.

#include <cstddef>
#include <vector>

#include "acemq/broker/message.hpp"

namespace acemq::broker {

class recent_messages {
 public:
  recent_messages(std::size_t capacity, std::size_t payload_limit)
      : slots_(capacity), payload_limit_(payload_limit) {}

  /// Holds `msg` in place of the oldest held message, which is released here.
  void keep(message_ptr msg) noexcept {
    if (slots_.empty() || msg->payload_size() > payload_limit_) return;
    slots_[next_] = std::move(msg);
    next_ = next_ + 1 == slots_.size() ? 0 : next_ + 1;
  }

  /// Messages held now.
  std::size_t held() const noexcept {
    std::size_t count = 0;
    for (const message_ptr& slot : slots_)
      count += slot != nullptr ? 1 : 0;
    return count;
  }

 private:
  std::vector<message_ptr> slots_;
  std::size_t next_ = 0;
  std::size_t payload_limit_;
};

}  // namespace acemq::broker
