#pragma once
// A mutex in four bytes, for objects that exist by the hundred thousand and are each locked for
// a moment: a session (std::mutex takes 40 bytes, a fifth of an idle session). Three states, as
// in Drepper's "Futexes Are Tricky" (mutex 2): free, locked, locked with waiters. Waiting uses
// C++20 atomic wait, a futex on Linux, so a contended lock sleeps instead of spinning, like the
// default pthread mutex; unlocking wakes one waiter only when some may be asleep.

#include <atomic>
#include <cstdint>

namespace acemq {

/// Meets Lockable: use it with std::lock_guard, std::unique_lock, std::scoped_lock.
class small_mutex {
 public:
  small_mutex() = default;
  small_mutex(const small_mutex&) = delete;
  small_mutex& operator=(const small_mutex&) = delete;

  void lock() noexcept {
    if (try_lock()) return;
    // Contended: announce a waiter, then sleep until an unlock; whoever takes the lock from here
    // leaves it marked contended, so its unlock wakes the next sleeper (at worst one spurious
    // wake-up).
    while (state_.exchange(contended, std::memory_order_acquire) != free) {
      state_.wait(contended, std::memory_order_relaxed);
    }
  }

  bool try_lock() noexcept {
    std::uint32_t expected = free;
    return state_.compare_exchange_strong(expected, locked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  void unlock() noexcept {
    if (state_.exchange(free, std::memory_order_release) == contended) state_.notify_one();
  }

 private:
  static constexpr std::uint32_t free = 0;
  static constexpr std::uint32_t locked = 1;
  static constexpr std::uint32_t contended = 2;
  std::atomic<std::uint32_t> state_{free};
};

}  // namespace acemq
