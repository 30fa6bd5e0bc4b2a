// message_home: the homes of the threads that publish, kept for the life of the process.

#include "acemq/broker/message_home.hpp"

#include <algorithm>
#include <iterator>
#include <mutex>

namespace acemq::broker {

thread_local message_home* message_home::this_threads = nullptr;

/// The homes no thread holds now. Homes are never destroyed (a message names its home, and a
/// home outlives the thread it was made for): each is always held by a thread or listed here.
struct home_registry {
  std::mutex mutex;
  std::vector<message_home*> idle;

  static home_registry& get() {
    static home_registry* const registry = new home_registry;  // never destroyed, see above
    return *registry;
  }

  message_home* adopt() {
    std::lock_guard lock(mutex);
    if (!idle.empty()) {
      message_home* home = idle.back();
      idle.pop_back();
      return home;
    }
    auto* home = new message_home;
    // take() never allocates under the lock (collect() swaps the two).
    home->given_.reserve(message_home::capacity);
    home->freeing_.reserve(message_home::capacity);
    home->spare_.reserve(message_home::spare_capacity);
    return home;
  }

  void release(message_home* home) {
    std::lock_guard lock(mutex);
    idle.push_back(home);
  }
};

/// A thread's hold on its home, given up when the thread ends.
struct home_holder {
  message_home* home = home_registry::get().adopt();
  home_holder() { message_home::this_threads = home; }
  ~home_holder() {
    message_home::this_threads = nullptr;
    home->collect();
    home_registry::get().release(home);
  }
  home_holder(const home_holder&) = delete;
  home_holder& operator=(const home_holder&) = delete;
};

message_home& message_home::of_this_thread() {
  thread_local home_holder holder;
  return *holder.home;
}

void message_home::collect() noexcept {
  {
    std::lock_guard lock(mutex_);
    // freeing_ is empty and holds the capacity given_ had before the last collect: no
    // allocation, and both buffers stay this home's.
    freeing_.swap(given_);
    waiting_.store(0, std::memory_order_relaxed);
  }
  // Here, on the home's thread, outside the lock.
  for (message_ptr& msg : freeing_)
    keep(msg);
  freeing_.clear();
}

void message_home::keep(message_ptr& msg) noexcept {
  if (spare_.size() < spare_capacity) {
    // A copy: its acq_rel increment follows the observation (returnable_home) that `msg` was the
    // last reference, so every earlier holder's release happens before the message is rebuilt.
    // Not const: the home built it (make()).
    spare_.push_back(std::const_pointer_cast<message>(msg));
  }
  msg.reset();
}

std::shared_ptr<message> message_home::make() {
  if (spare_.empty()) collect_if_due();
  if (spare_.empty()) {
    auto fresh = std::make_shared<message>();
    fresh->home = this;
    return fresh;
  }
  std::shared_ptr<message> reused = std::move(spare_.back());
  spare_.pop_back();
  std::string topic = std::move(reused->topic);
  topic.clear();
  *reused = message{};
  reused->topic = std::move(topic);
  reused->home = this;
  return reused;
}

std::shared_ptr<byte_vector> message_home::spare_payload() noexcept {
  collect_if_due();
  if (spare_.empty()) return nullptr;
  std::shared_ptr<const byte_vector>& payload = spare_.back()->payload;
  // Only the kept message holds it: no write of a subscriber's still does.
  if (payload.use_count() != 1) return nullptr;
  // As in keep(): the copy's increment orders every earlier holder's release before the refill.
  // Not const: the decoder made it (mqtt::decode_publish).
  auto buffer = std::const_pointer_cast<byte_vector>(payload);
  payload.reset();
  return buffer;
}

void message_home::take(std::vector<message_ptr>& staged) noexcept {
  {
    std::lock_guard lock(mutex_);
    const std::size_t room = capacity - std::min(capacity, given_.size());
    const auto taking = static_cast<std::ptrdiff_t>(std::min(room, staged.size()));
    given_.insert(given_.end(), std::make_move_iterator(staged.begin()),
                  std::make_move_iterator(staged.begin() + taking));
    waiting_.store(given_.size(), std::memory_order_relaxed);
  }
  staged.clear();  // what did not fit is released here, as it would have been
}

std::vector<message_ptr>& message_home::staging() noexcept {
  thread_local std::vector<message_ptr> staged;
  return staged;
}

}  // namespace acemq::broker
